"""The built book in a real browser (chromium, driven by Playwright).

Run after the book is built (``make browser`` builds it first): serves ``_build/html`` on
localhost and checks, on every page, that nothing fails or is fetched from another host.
Uses Debian's chromium, or the one ``python -m playwright install chromium`` downloaded;
never downloads a browser itself. Without a built site or a browser the tests are skipped
with the command that fixes it — or fail, under ``LINBOOK_REQUIRE_BROWSER=1`` (``make test``).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "_build" / "html"
SCREENSHOTS = REPO / "_build" / "screenshots"
CHROMIUM = next(
    (c for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(c).exists()), None
)
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))


def _missing(reason: str) -> None:
    if os.environ.get("LINBOOK_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def _prerequisites():
    if not (SITE / "index.html").exists():
        _missing(f"{SITE}/index.html is missing: build the book first (make html)")


PAGES = sorted(
    str(p.relative_to(SITE))
    for p in SITE.rglob("*.html")
    if not {"_static", "_sources", "_images"} & set(p.relative_to(SITE).parts)
)
NOTEBOOK_PAGES = sorted(
    f"chapters/{md.stem}.html"
    for md in (REPO / "chapters").glob("*.md")
    if md.read_text(encoding="utf-8").startswith("---\njupytext:")
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,  # None: Playwright's own download, if any
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
        except Error as err:
            _missing(
                "no chromium to run: sudo apt-get install chromium (Debian/Ubuntu), or "
                f".venv/bin/python -m playwright install chromium ({str(err).splitlines()[0]})"
            )
        yield browser
        browser.close()


def _open(browser, server, page_path, width=1366, height=900):
    """Open a page; record console errors and every request that leaves localhost."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors, foreign = [], []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def guard(route):
        url = route.request.url
        if url.startswith(server) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            foreign.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{server}/{page_path}", wait_until="networkidle")
    return context, page, errors, foreign


def test_the_site_has_the_expected_pages():
    assert "index.html" in PAGES and "search.html" in PAGES
    for name in NOTEBOOK_PAGES:
        assert name in PAGES, f"{name} was not built"


@pytest.mark.parametrize("page_path", PAGES)
def test_page_loads_cleanly_from_localhost_only(browser, server, page_path):
    context, page, errors, foreign = _open(browser, server, page_path)
    try:
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_load_state("networkidle")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        assert errors == [], f"console errors on {page_path}: {errors}"
        assert foreign == [], f"{page_path} requested other hosts: {foreign}"
        assert broken == [], f"images that did not load on {page_path}: {broken}"
    finally:
        context.close()


@pytest.mark.parametrize(
    "page_path", ["chapters/linear-regression.html", "chapters/softmax-regression.html"]
)
def test_formulas_are_rendered_by_mathjax(browser, server, page_path):
    if page_path not in PAGES:
        pytest.fail(f"{page_path} was not built")
    context, page, errors, _ = _open(browser, server, page_path)
    try:
        page.wait_for_selector("mjx-container", timeout=20_000)
        count = page.evaluate("document.querySelectorAll('mjx-container').length")
        text = page.inner_text("article")
        assert count >= 5, f"only {count} formulas rendered on {page_path}"
        assert "$$" not in text and "\\frac" not in text, "raw TeX left on the page"
        if page_path.endswith("softmax-regression.html"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "softmax-regression.png"), full_page=False)
    finally:
        context.close()


@pytest.mark.parametrize(
    "query, expected",
    [
        ("梯度", "linear-regression"),
        ("交叉熵", "softmax-regression"),
        ("批量标准化", "training-tips"),
    ],
)
def test_chinese_search_finds_the_right_chapter(browser, server, query, expected):
    context, page, errors, _ = _open(browser, server, f"search.html?q={query}")
    try:
        page.wait_for_selector("#search-results ul.search li", timeout=30_000)
        links = page.eval_on_selector_all(
            "#search-results ul.search li a", "els => els.map(e => e.href)"
        )
        assert any(expected in link for link in links), f"searching {query} found {links}"
    finally:
        context.close()


@pytest.mark.parametrize("page_path", NOTEBOOK_PAGES)
def test_colab_button_opens_the_paired_notebook(browser, server, page_path):
    url = CONFIG["repository"]["url"].rstrip("/")
    owner_repo = urlparse(url).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    context, page, _, _ = _open(browser, server, page_path)
    try:
        links = page.eval_on_selector_all(
            "a[href*='colab.research.google.com']", "els => els.map(e => e.href)"
        )
        assert links, f"no Colab launch link on {page_path}"
        for link in links:
            match = re.fullmatch(
                rf"https://colab\.research\.google\.com/github/{owner_repo}/blob/{branch}/(.+\.ipynb)",
                link,
            )
            assert match, f"unexpected Colab link {link}"
            assert (REPO / unquote(match.group(1))).exists(), (
                f"{link} points to a notebook not in the repo"
            )
        downloads = page.eval_on_selector_all(
            "a[href$='.ipynb'], a[href$='.md']", "els => els.map(e => e.href)"
        )
        for link in downloads:
            if link.startswith(server):
                response = page.request.get(link)
                assert response.ok, f"download button {link} is broken"
    finally:
        context.close()


def test_a_numref_link_lands_on_its_figure(browser, server):
    """A numbered reference in the text ("图 3") leads to that figure, image and caption."""
    for page_path in NOTEBOOK_PAGES:
        context, page, _, _ = _open(browser, server, page_path)
        try:
            links = page.eval_on_selector_all(
                "article a.reference.internal",
                "els => els.filter(e => /^图\\s*\\d/.test(e.textContent.trim()))"
                ".map(e => [e.textContent.trim(), e.getAttribute('href')])",
            )
            local = [(text, href) for text, href in links if href.startswith("#")]
            if not local:
                continue
            text, href = local[0]
            page.click(f"article a.reference.internal[href='{href}']")
            page.wait_for_timeout(300)
            landed = page.evaluate(
                """(id) => {
                    const target = document.getElementById(id);
                    if (!target) return null;
                    const figure = target.closest('figure') || target.querySelector('figure')
                        || (target.tagName === 'FIGURE' ? target : null);
                    if (!figure) return {figure: false};
                    const box = figure.getBoundingClientRect();
                    return {
                        figure: true,
                        image: !!figure.querySelector('img, svg'),
                        caption: (figure.querySelector('figcaption') || {}).textContent || '',
                        visible: box.bottom > 0 && box.top < window.innerHeight,
                    };
                }""",
                href[1:],
            )
            assert landed and landed["figure"], f"{page_path}: {text} ({href}) is not a figure"
            assert landed["image"], f"{page_path}: the figure of {text} has no image"
            number = text.split()[-1] if " " in text else text[1:]
            assert number in landed["caption"], f"{page_path}: caption {landed['caption']!r}"
            assert landed["visible"], f"{page_path}: clicking {text} did not scroll to it"
            return
        finally:
            context.close()
    pytest.fail("no page has a {numref} link to a figure on the same page")


def test_the_intro_links_to_the_pdf_edition(browser, server):
    if not (SITE / "linbook.pdf").exists():
        if os.environ.get("LINBOOK_REQUIRE_PDF"):
            pytest.fail("_build/html/linbook.pdf is missing: make pdf copies it there")
        pytest.skip("no PDF next to the site: run make pdf")
    context, page, _, _ = _open(browser, server, "index.html")
    try:
        href = page.get_attribute("a[href$='linbook.pdf']", "href")
        assert href, "intro.md has no link to linbook.pdf"
        response = page.request.get(f"{server}/{href.lstrip('./')}")
        assert response.ok and response.body()[:5] == b"%PDF-", response.status
    finally:
        context.close()
