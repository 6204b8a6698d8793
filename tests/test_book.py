"""Book-level checks: table of contents, chapter conventions, and one repository URL everywhere."""

import re
from pathlib import Path

import jupytext
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
TOC = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))


def _toc_files(entries):
    for entry in entries:
        if "file" in entry:
            yield entry["file"]
        yield from _toc_files(entry.get("sections", []))


TOC_FILES = [TOC["root"], *_toc_files(TOC["chapters"])]
NOTEBOOKS = sorted(
    p
    for p in (REPO / "chapters").glob("*.md")
    if p.read_text(encoding="utf-8").startswith("---\njupytext:")
)


def test_every_toc_entry_exists_and_every_page_is_in_the_toc():
    for name in TOC_FILES:
        assert (REPO / f"{name}.md").exists(), f"_toc.yml lists {name} but {name}.md is missing"
    pages = {f"chapters/{p.stem}" for p in (REPO / "chapters").glob("*.md")}
    assert pages <= set(TOC_FILES), f"pages missing from _toc.yml: {pages - set(TOC_FILES)}"


def test_chapter_titles_carry_the_seed_numbering():
    titles = []
    for name in TOC_FILES[1:]:
        text = (REPO / f"{name}.md").read_text(encoding="utf-8")
        match = re.search(r"^# (.+)$", text, flags=re.M)
        assert match, f"{name}.md has no top-level title"
        titles.append(match.group(1))
    numbered = [t.split()[0] for t in titles if re.match(r"^2(\.\d+)+ ", t)]
    assert numbered[:3] == ["2.1", "2.2", "2.3"], titles


def test_book_is_configured_for_chinese_offline_and_strict_execution():
    assert CONFIG["title"] == "线性神经网络"
    assert CONFIG["sphinx"]["config"]["language"] == "zh_CN"
    assert CONFIG["execute"]["raise_on_error"] is True
    assert "**.ipynb" in CONFIG["exclude_patterns"]
    assert "sphinx-mathjax-offline" in CONFIG["sphinx"]["extra_extensions"]
    assert CONFIG["launch_buttons"]["thebe"] is False


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_installs_linbook_from_the_configured_repository_only_in_colab(md):
    url = CONFIG["repository"]["url"].rstrip("/")
    cells = [c for c in jupytext.read(md).cells if c.cell_type == "code"]
    assert cells, f"{md.name} has no code cell"
    first = cells[0].source
    assert 'if "google.colab" in sys.modules:' in first, (
        f"{md.name}: first code cell must detect Colab"
    )
    urls = re.findall(r"git\+(https://\S+?)[\"'\s]", first)
    assert urls == [url], (
        f"{md.name}: install URL {urls} differs from _config.yml repository.url {url}"
    )
    for cell in cells[1:]:
        assert "git+https://" not in cell.source, (
            f"{md.name}: only the first cell may install linbook"
        )


def test_repository_url_is_written_in_one_place():
    url = CONFIG["repository"]["url"].rstrip("/")
    owner_repo = url.split("github.com/")[1]
    offenders = []
    for path in [
        *REPO.glob("*.md"),
        *REPO.glob("*.toml"),
        *REPO.glob("linbook/*.py"),
        *REPO.glob(".github/**/*.yml"),
    ]:
        if owner_repo in path.read_text(encoding="utf-8"):
            offenders.append(path.name)
    # chapters reference it in their install cell (checked above); nothing else hard-codes it
    assert offenders == [], offenders
