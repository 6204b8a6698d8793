import os
import subprocess
import sys


def test_import_is_light_and_needs_no_network_display_or_credentials():
    code = (
        "import sys, time\n"
        "t = time.perf_counter()\n"
        "import linbook\n"
        "elapsed = time.perf_counter() - t\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'kaggle', 'gdown', 'pandas') if m in sys.modules]\n"
        "print(elapsed, heavy)\n"
        "assert not heavy, heavy\n"
        "assert elapsed < 0.5, elapsed\n"
    )
    # no DISPLAY, no KAGGLE_* or LINBOOK_* variables, a home folder that does not exist
    env = {k: os.environ[k] for k in ("PATH", "SYSTEMROOT") if k in os.environ}
    env["HOME"] = env["USERPROFILE"] = os.path.join(os.sep, "nonexistent")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_exported_name_resolves():
    import linbook

    for name in linbook.__all__:
        assert getattr(linbook, name) is not None, name
    assert "train_ch3" in dir(linbook)


def test_unknown_name_is_a_clear_attribute_error():
    import pytest

    import linbook

    with pytest.raises(AttributeError, match="no attribute 'train_ch4'"):
        linbook.train_ch4  # noqa: B018


def test_package_exports_match_the_modules_all():
    """Every name of a top-level module's __all__ is exported, and nothing else."""
    import importlib

    import linbook

    expected = {}
    for module_name in linbook.TOP_LEVEL_MODULES:
        module = importlib.import_module(f"linbook.{module_name}")
        for name in module.__all__:
            assert name not in expected, f"{name} is in two modules' __all__"
            expected[name] = module_name
            assert hasattr(module, name), f"linbook.{module_name}.__all__ names missing {name}"
    assert linbook._EXPORTS == expected
    assert linbook.__all__ == sorted(expected)


def test_every_module_all_names_exist():
    import importlib
    import pkgutil

    import linbook

    for info in pkgutil.iter_modules(linbook.__path__):
        module = importlib.import_module(f"linbook.{info.name}")
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"linbook.{info.name}.__all__ names missing {name}"


def test_the_version_is_written_once_in_the_package():
    """pyproject.toml reads the version from linbook.__version__ (not a second copy)."""
    import re
    from pathlib import Path

    import linbook

    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r"^version\s*=\s*\"", text, re.M) is None  # no version written here
    assert 'dynamic = ["version"]' in text
    assert 'version = { attr = "linbook.__version__" }' in text
    assert re.fullmatch(r"\d+\.\d+\.\d+", linbook.__version__)


def test_contributing_maps_every_module_and_top_level_folder():
    """CONTRIBUTING.md's module map names every linbook module and every folder of the tree."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    text = (repo / "CONTRIBUTING.md").read_text(encoding="utf-8")
    modules = [p.stem for p in (repo / "linbook").glob("*.py") if p.stem != "__init__"]
    missing = [m for m in modules if f"| `{m}` |" not in text]
    folders = ["_ext/", "tools/", "bench/", "tests/", "tests/reader/", "tests/browser/", ".ci/run"]
    missing += [f for f in folders if f"| `{f}` |" not in text]
    assert missing == []
