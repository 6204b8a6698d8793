"""tools/preflight.py: what a fresh machine is told when something is missing, in seconds."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_fake_fashion_mnist

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))
import preflight  # noqa: E402


@pytest.fixture
def bare_machine(monkeypatch, tmp_path):
    """No data anywhere (conftest's data_locations: empty temporary folders), no chromium, no
    TeX, no network, no root: only report."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
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


def test_a_set_up_machine_passes(bare_machine, data_locations, monkeypatch, capsys):
    """Fashion-MNIST where the book finds it, the network for the competition's files, the
    tools on PATH: nothing to install, exit 0."""
    write_fake_fashion_mnist(data_locations.data / "fashion-mnist")
    monkeypatch.setattr(preflight, "_reachable", lambda host, port=443: True)
    monkeypatch.setattr(preflight, "_cjk_font", lambda: True)
    monkeypatch.setattr(preflight.shutil, "which", lambda name: f"/usr/bin/{name}")
    chromium = bare_machine / "chromium"
    chromium.touch()
    monkeypatch.setattr(preflight, "CHROMIUM", (str(chromium),))
    for target in ("book", "test", "pdf"):
        code, text = run(monkeypatch, capsys, target, "--no-install")
        assert (code, text.strip()) == (0, f"preflight ({target}): everything needed is here")


def test_preflight_finds_the_data_where_the_book_does(data_locations):
    """One search: what preflight reports is what linbook.fashion_mnist and linbook.kaggle
    find, including Debian's folder (conftest points it at a temporary one)."""
    assert not preflight._fashion_mnist_here() and not preflight._hw1_here()
    write_fake_fashion_mnist(data_locations.debian)
    assert preflight._fashion_mnist_here()
    broken = data_locations.data / "ml2021spring-hw1"
    broken.mkdir(parents=True)
    for name in ("covid.train.csv", "covid.test.csv"):
        (broken / name).write_text("id\n1\n")  # present, but not the competition's files
    assert not preflight._hw1_here()


def test_the_real_machine_gets_an_answer_in_seconds_without_installing():
    """On any machine (this one, CI, a laptop) preflight answers quickly, either way: exit 0
    with "everything needed is here", or exit 1 with the list of what to do."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "preflight.py"), "book", "--no-install"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert time.perf_counter() - start < 20
    if result.returncode == 0:
        assert result.stdout.strip() == "preflight (book): everything needed is here"
    else:
        assert result.returncode == 1 and "preflight: cannot continue" in result.stderr
        assert all(line.startswith("  - ") for line in result.stderr.splitlines()[1:])
