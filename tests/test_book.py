"""Book-level checks: table of contents, chapter conventions, and one repository URL everywhere."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import jupytext
import pytest
import yaml

import linbook

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
    # the linbook that matches the book: the release tag of linbook.__version__, not a branch
    # head that may have moved on (d2l's readers' most common complaint)
    pinned = f"{url}@v{linbook.__version__}"
    assert urls == [pinned], (
        f"{md.name}: install URL {urls} must be {pinned} (_config.yml repository.url at the "
        "tag of linbook.__version__)"
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


# --- the Makefile: `make book` then `make test` still builds strictly, once ------------------

needs_make = pytest.mark.skipif(
    os.name == "nt" or shutil.which("make") is None,
    reason="the Makefile is for Linux and macOS (Windows readers use pip and pytest: README.md)",
)


def _make(tmp_path, *args):
    """Run make in the repository with the build folder and the install stamp in ``tmp_path``
    (the stamp dated an hour ahead, so that .venv is never reinstalled)."""
    stamp = tmp_path / "installed"
    stamp.touch()
    later = time.time() + 3600
    os.utime(stamp, (later, later))
    command = ["make", "--no-print-directory", f"BUILD={tmp_path / '_build'}", f"STAMP={stamp}"]
    return subprocess.run([*command, *args], cwd=REPO, capture_output=True, text=True, timeout=120)


@needs_make
def test_make_test_after_make_book_still_runs_the_strict_build_from_an_empty_cache(tmp_path):
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("what `make book` leaves")  # newer than every source
    plan = _make(tmp_path, "-n", "strict").stdout
    build = plan.index("jupyter-book build . -n -W --keep-going")
    assert plan.index(f"rm -rf {tmp_path / '_build'}/.jupyter_cache") < build
    assert plan.count("jupyter-book build") == 1  # every chapter executed once, in one build
    assert "strict build: {n} notebooks executed" in plan  # the log says how many


@needs_make
def test_a_failed_strict_build_leaves_neither_stamp_nor_html_and_runs_again(tmp_path):
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("an earlier build")
    failed = _make(tmp_path, "strict", "JB=false")  # `false` stands in for a -W failure
    assert failed.returncode != 0
    assert not html.exists() and not (tmp_path / "_build" / ".strict-build-ok").exists()
    assert "jupyter-book" not in failed.stdout and "false build . -n -W" in failed.stdout
    again = _make(tmp_path, "-n", "strict", "JB=false").stdout
    assert "false build . -n -W" in again  # nothing is taken as already built


@needs_make
def test_a_successful_strict_build_is_not_repeated(tmp_path):
    result = _make(tmp_path, "strict", "JB=true", "BIN=/nonexistent")
    # `true` builds nothing; the log line needs jupyter_cache, which BIN hides: the stamp must
    # then not be written either.
    assert result.returncode != 0 and not (tmp_path / "_build" / ".strict-build-ok").exists()
    (tmp_path / "_build").mkdir(exist_ok=True)
    ok = tmp_path / "_build" / ".strict-build-ok"
    ok.touch()
    later = time.time() + 7200  # after every source and the install stamp
    os.utime(ok, (later, later))
    assert "build . -n -W" not in _make(tmp_path, "-n", "strict").stdout
