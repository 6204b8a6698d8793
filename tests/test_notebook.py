import builtins
import sys

import pandas as pd
import pytest

from linbook import glue, notebook


def test_glue_records_the_value_for_the_book_through_myst_nb(monkeypatch):
    """What myst-nb's build reads: a display record named after the glue key (the real
    myst_nb.glue runs; only IPython's display at its end is captured)."""
    from myst_nb.ext import glue as myst_glue

    shown = []
    monkeypatch.setattr(
        myst_glue, "ipy_display", lambda bundle, raw, metadata: shown.append((bundle, metadata))
    )
    glue("acc", 0.5, display=False)
    glue("loss", 1.25)
    (hidden, hidden_meta), (visible, visible_meta) = shown
    assert hidden_meta["scrapbook"] == {"name": "acc", "mime_prefix": myst_glue.GLUE_PREFIX}
    assert hidden == {myst_glue.GLUE_PREFIX + "text/plain": "0.5"}
    assert visible_meta["scrapbook"] == {"name": "loss", "mime_prefix": ""}
    assert visible == {"text/plain": "1.25"}


def test_glue_without_myst_nb_just_displays(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("No module named 'myst_nb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    monkeypatch.delitem(sys.modules, "myst_nb", raising=False)
    glue("acc", 0.25)
    glue("hidden", 0.75, display=False)
    assert capsys.readouterr().out.strip() == "0.25"


def test_glue_rejects_an_empty_name_and_a_name_that_is_not_a_string():
    with pytest.raises(ValueError, match="name must be a non-empty string, got ''"):
        glue("", 1)
    with pytest.raises(TypeError, match="name must be a str, got int"):
        glue(3, 1)


def test_markdown_table_needs_a_dataframe():
    frame = pd.DataFrame({"acc": [0.8125]}, index=pd.Index(["sgd"], name="optimizer"))
    assert notebook.markdown_table(frame).splitlines() == [
        "| optimizer | acc |",
        "| --- | --- |",
        "| sgd | 0.812 |",
    ]
    with pytest.raises(TypeError, match="table must be a DataFrame, got dict"):
        notebook.markdown_table({"acc": [0.8]})
