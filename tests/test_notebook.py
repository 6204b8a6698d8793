import builtins
import sys

import pytest

from linbook import glue


def test_glue_uses_myst_nb_when_installed(monkeypatch):
    calls = []
    import myst_nb

    monkeypatch.setattr(
        myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display))
    )
    glue("acc", 0.5, display=False)
    assert calls == [("acc", 0.5, False)]


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


def test_glue_rejects_an_empty_name():
    with pytest.raises(ValueError, match="non-empty"):
        glue("", 1)
