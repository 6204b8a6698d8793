"""Notebook helpers: ``glue`` that also works where myst-nb is not installed (e.g. Colab),
``glue_table`` for numbered tables computed by a cell, and ``check_claim`` for the claims of the
text that hold for the book's own data but may not on a reader's.

``check_claim`` was first called ``check``; that name still works (chapters call it) but reads
too much like the module :mod:`linbook.checks` (argument checks, a different thing): new code
uses ``check_claim``, or :func:`linbook.measured` / :func:`linbook.build_fact`
(:mod:`linbook.claims`)."""

from __future__ import annotations

from typing import Any

from .checks import check_type, check_value

__all__ = ["glue", "markdown_table", "glue_table", "show_source", "check_claim", "check"]


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


def check_claim(condition: bool, claim: str, *, strict: bool = True) -> bool:
    """Check a claim of the text about a measured result; return whether it held.

    With ``strict`` (where the book is built, on the data the text describes) a claim that
    does not hold stops the notebook, like ``assert``. Without it (a reader's run on other
    data, e.g. the real TIMIT files) the notebook goes on and prints a visible note, so that
    an hour of training is never lost to a claim about the stand-in data.

    Examples
    --------
    >>> check_claim(2 > 1, "two exceeds one")
    True
    >>> check_claim(1 > 2, "one exceeds two", strict=False)
    Note: on this run the text's claim "one exceeds two" did not hold (the text describes the book's own data).
    False
    """
    if condition:
        return True
    if strict:
        raise AssertionError(f"the text claims that {claim}, but on this run it does not hold")
    print(
        f'Note: on this run the text\'s claim "{claim}" did not hold '
        "(the text describes the book's own data)."
    )
    return False


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


#: The former name of :func:`check_claim`, kept so that chapters written with it run.
check = check_claim
