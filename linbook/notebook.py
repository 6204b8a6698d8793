"""Notebook helpers: ``glue`` that also works where myst-nb is not installed (e.g. Colab)."""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


def glue(name: str, value: Any, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's text (myst-nb ``glue``), or just show it.

    When the book is built, myst-nb's ``glue`` stores the value in the cell's output so that
    ``{glue:text}`name``` in the prose shows the computed number. In Colab or a plain Jupyter
    without myst-nb the value is simply displayed (when ``display``) and nothing else happens,
    so the chapters run everywhere.

    Parameters
    ----------
    name
        key used in the text, e.g. ``"test_acc"``.
    value
        the object to insert (a number, a string, a figure ...).
    display
        also show the value in the notebook's output.

    Examples
    --------
    >>> glue("answer", 42, display=False)
    """
    if not isinstance(name, str) or not name:
        raise ValueError("glue name must be a non-empty string")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
