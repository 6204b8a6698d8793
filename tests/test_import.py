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
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}  # no DISPLAY, no KAGGLE_* variables
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
