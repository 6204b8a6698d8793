"""Each chapter's .md (the source) and its paired .ipynb (for Colab and nbmake) hold the same cells."""

from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_SOURCES = sorted(
    md
    for md in (REPO / "chapters").glob("*.md")
    if md.read_text(encoding="utf-8").startswith("---\njupytext:")
)


def _cells(path: Path):
    notebook = jupytext.read(path)
    return [
        (c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in notebook.cells
    ]


def test_there_are_notebook_chapters():
    assert NOTEBOOK_SOURCES, "no MyST notebook found under chapters/"


@pytest.mark.parametrize("md", NOTEBOOK_SOURCES, ids=lambda p: p.name)
def test_md_and_ipynb_hold_the_same_cells(md):
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    assert _cells(md) == _cells(ipynb), f"{md.name} and {ipynb.name} differ: run `make sync`"


@pytest.mark.parametrize("md", NOTEBOOK_SOURCES, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(md):
    notebook = jupytext.read(md.with_suffix(".ipynb"))
    dirty = [
        i
        for i, c in enumerate(notebook.cells)
        if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, (
        f"{md.with_suffix('.ipynb').name}: cells {dirty} hold outputs; commit it without outputs"
    )


def test_a_difference_is_detected(tmp_path):
    """The comparison above really fails on a changed cell."""
    md = tmp_path / "x.md"
    md.write_text(
        "---\njupytext:\n  formats: ipynb,md:myst\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\nkernelspec:\n  display_name: Python 3\n  language: python\n"
        "  name: python3\n---\n\n# t\n\n```{code-cell} ipython3\nx = 1\n```\n",
        encoding="utf-8",
    )
    jupytext.write(jupytext.read(md), tmp_path / "x.ipynb")
    assert _cells(md) == _cells(tmp_path / "x.ipynb")
    md.write_text(md.read_text(encoding="utf-8").replace("x = 1", "x = 2"), encoding="utf-8")
    assert _cells(md) != _cells(tmp_path / "x.ipynb")
