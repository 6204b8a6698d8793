"""Notebook helpers: ``glue`` that also works where myst-nb is not installed (e.g. Colab),
``glue_table`` for numbered tables computed by a cell, and ``show_source`` for the code the
chapters teach. The chapters' claims are checked with :mod:`linbook.claims`
(:func:`~linbook.claims.measured`, :func:`~linbook.claims.build_fact`)."""

from __future__ import annotations

from typing import Any

from .checks import check_type, check_value

__all__ = ["glue", "markdown_table", "glue_table", "show_source"]


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
    check_type("name", name, str)
    check_value("name", name, bool(name), "a non-empty string")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def _cell_text(value: Any, floatfmt: str) -> str:
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, float) or type(value).__name__.startswith("float"):
        text = format(float(value), floatfmt)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Any, floatfmt: str = ".3f", index: bool = True) -> str:
    """Return a pandas DataFrame as a Markdown (pipe) table, floats formatted with ``floatfmt``.

    Parameters
    ----------
    table
        a ``pandas.DataFrame``.
    floatfmt
        a format spec for every float cell, e.g. ``".3f"`` or ``".1%"``.
    index
        include the index as the first column (its name, if any, heads it).

    Examples
    --------
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"acc": [0.8123]}, index=["sgd"]), ".2f"))
    |  | acc |
    | --- | --- |
    | sgd | 0.81 |
    """
    import pandas as pd

    check_type("table", table, pd.DataFrame)
    header = ([str(table.index.name or "")] if index else []) + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
    for row in table.itertuples(index=index):
        lines.append("| " + " | ".join(_cell_text(v, floatfmt) for v in row) + " |")
    return "\n".join(lines)


def glue_table(name: str, table: Any, floatfmt: str = ".3f", index: bool = True) -> None:
    """Glue a DataFrame as a Markdown table, for a numbered ``{table}`` in the text.

    The cell that calls this is tagged ``remove-output``; the text holds::

        ````{table} Caption of the table.
        :name: tab-some-name

        ```{glue:md} name
        :format: myst
        ```
        ````

    In Colab or Jupyter the table is shown as the cell's output.
    """
    from IPython.display import Markdown

    glue(name, Markdown(markdown_table(table, floatfmt, index)), display=True)


def show_source(obj: Any) -> Any:
    """Return the source code of a function, class or method as a Markdown Python block.

    The chapters use it to show the code of the linbook helpers they teach, so that the
    text and the code that runs cannot drift apart. As a cell's last expression it is
    displayed; in a plain Python session, ``.data`` holds the Markdown text.

    Examples
    --------
    >>> print(show_source(show_source).data.splitlines()[0])
    ```python
    """
    import inspect

    from IPython.display import Markdown

    return Markdown(f"```python\n{inspect.getsource(obj)}```")
