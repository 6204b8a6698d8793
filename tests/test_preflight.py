"""tools/preflight.py: what a fresh machine is told when something is missing, in seconds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import preflight  # noqa: E402


@pytest.fixture
def bare_machine(monkeypatch, tmp_path):
    """No data anywhere, no chromium, no TeX, no network, no root: only report."""
    monkeypatch.delenv("LINBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(preflight, "DEBIAN_FASHION", tmp_path / "no-debian")
    monkeypatch.setattr(preflight, "CHROMIUM", (str(tmp_path / "no-chromium"),))
    monkeypatch.setattr(preflight, "_reachable", lambda host, port=443: False)
    monkeypatch.setattr(preflight, "_cjk_font", lambda: False)
    monkeypatch.setattr(preflight, "_sudo", lambda: None)
    real_which = preflight.shutil.which
    missing = {"xelatex", "latexmk", "pdffonts"}
    monkeypatch.setattr(
        preflight.shutil, "which", lambda name: None if name in missing else real_which(name)
    )
    return tmp_path


def run(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["preflight.py", *args])
    code = preflight.main()
    out, err = capsys.readouterr()
    return code, out + err


def test_a_debian_machine_without_root_is_told_the_one_apt_command(
    bare_machine, monkeypatch, capsys
):
    monkeypatch.setattr(
        preflight.shutil,
        "which",
        lambda name, w=preflight.shutil.which: "/usr/bin/apt-get" if name == "apt-get" else w(name),
    )
    code, text = run(monkeypatch, capsys, "test")
    assert code == 1
    command = next(line for line in text.splitlines() if "run: sudo apt-get" in line)
    for package in (
        "dataset-fashion-mnist",
        "chromium",
        "fonts-noto-cjk",
        "texlive-xetex",
        "latexmk",
    ):
        assert package in command, package
    assert "ml2021spring-hw1" in text and "LINBOOK_DATA" in text  # no data, no network


def test_without_apt_and_offline_the_data_message_says_what_to_do(
    bare_machine, monkeypatch, capsys
):
    real_which = preflight.shutil.which
    monkeypatch.setattr(
        preflight.shutil,
        "which",
        lambda name: None if name in ("apt-get", "xelatex") else real_which(name),
    )
    code, text = run(monkeypatch, capsys, "book")
    assert code == 1
    assert "Fashion-MNIST is not on this machine" in text and "LINBOOK_DATA" in text
    assert "chromium" not in text  # `make book` needs no browser


def test_the_build_machine_passes_quickly():
    """Here (CI, or a developer's machine after set-up) nothing is missing."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "preflight.py"), "book", "--no-install"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        pytest.skip(f"this machine is not set up: {result.stderr.strip()}")
    assert "everything needed is here" in result.stdout
    assert time.perf_counter() - start < 20
