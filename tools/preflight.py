"""Check, in seconds, what `make book` / `make test` / `make pdf` need from the machine.

Run by the Makefile before any long work. For each missing piece it either installs it (the
Debian/Ubuntu packages, when it runs as root or sudo works without a password) or stops with
one message that names the exact command to run — never a failure after minutes of work.

    python3 tools/preflight.py book|test|pdf [--no-install]

Uses the standard library only (it runs before the virtual environment exists).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# These three modules import only the standard library (numpy and torch come later, when data
# is read), so this script asks the book's own search functions where the data is.
from linbook import datadirs, fashion_mnist, kaggle  # noqa: E402

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
TEX = {"xelatex": "texlive-xetex", "latexmk": "latexmk"}
TEX_PACKAGES = ["texlive-xetex", "texlive-lang-chinese", "texlive-latex-recommended",
                "texlive-latex-extra", "texlive-fonts-recommended", "latexmk", "fonts-noto-cjk",
                "fonts-dejavu-core", "poppler-utils"]  # fmt: skip


def _fashion_mnist_here() -> bool:
    """Whether the book finds Fashion-MNIST (the same search: linbook.fashion_mnist)."""
    return fashion_mnist.find_fashion_mnist() is not None


def _hw1_here() -> bool:
    """Whether the book finds the COVID-19 competition's files, checked as the chapter checks
    them (linbook.kaggle.find_competition); damaged files count as missing."""
    try:
        return kaggle.find_competition("ml2021spring-hw1") is not None
    except kaggle.KaggleDataError:
        return False


def _reachable(host: str, port: int = 443) -> bool:
    try:
        with socket.create_connection((host, port), timeout=4):
            return True
    except OSError:
        return False


def _sudo() -> list[str] | None:
    """The prefix that runs apt-get as root, or None when that is not possible."""
    if not shutil.which("apt-get"):
        return None
    if os.name == "posix" and os.geteuid() == 0:
        return []
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0
    ):
        return ["sudo", "-n"]
    return None


def _playwright_chromium() -> bool:
    """Whether Playwright has downloaded its own chromium (``playwright install chromium``)."""
    caches = [
        Path.home() / ".cache" / "ms-playwright",
        Path.home() / "Library" / "Caches" / "ms-playwright",
    ]
    return any(any(c.glob("chromium*")) for c in caches if c.is_dir())


def _cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return "Noto" in fonts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=("book", "test", "pdf"))
    parser.add_argument("--no-install", action="store_true", help="only report")
    args = parser.parse_args()

    packages: list[str] = []  # Debian packages that would fix what is missing
    stops: list[str] = []  # what cannot be fixed here, with the command that fixes it
    if subprocess.run([sys.executable, "-m", "venv", "--help"], capture_output=True).returncode:
        packages.append("python3-venv")
    if not shutil.which("git"):
        packages.append("git")
    if not _fashion_mnist_here():
        if shutil.which("apt-get"):
            packages.append("dataset-fashion-mnist")
        elif not _reachable("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80):
            stops.append(
                "Fashion-MNIST is not on this machine and its mirror cannot be reached: put the "
                "four *-ubyte.gz files in a folder and set LINBOOK_DATA to it, or connect to the "
                "internet (linbook downloads them once, about 30 MB)"
            )
    if not _hw1_here() and not _reachable("drive.google.com"):
        stops.append(
            "the COVID-19 competition files (ml2021spring-hw1) are not on this machine and Google "
            "Drive cannot be reached: put covid.train.csv, covid.test.csv (and "
            "sampleSubmission.csv) in <folder>/ml2021spring-hw1/ and set LINBOOK_DATA=<folder>"
        )
    if args.target == "test":
        if not any(Path(c).exists() for c in CHROMIUM):
            if shutil.which("apt-get"):
                packages.append("chromium")
            elif not _playwright_chromium():  # macOS and others: Playwright's own download
                stops.append(
                    "no chromium for the browser test: run `make setup`, then "
                    ".venv/bin/python -m playwright install chromium"
                )
        if shutil.which("apt-get") and not _cjk_font():
            packages.append("fonts-noto-cjk")  # Chinese text in the browser's screenshots
        if datadirs.DEBIAN_DATASETS.is_dir() and not shutil.which("unshare"):
            packages.append("util-linux")  # the reader suite hides Debian's data sets
    if args.target in ("test", "pdf"):
        if (
            any(not shutil.which(tool) for tool in TEX)
            or not _cjk_font()
            or not shutil.which("pdffonts")
        ):
            packages += [p for p in TEX_PACKAGES if p not in packages]
    packages = list(dict.fromkeys(packages))

    if packages:
        sudo = None if args.no_install else _sudo()
        command = (
            "sudo apt-get update && sudo apt-get install -y --no-install-recommends "
            + " ".join(packages)
        )
        if sudo is None:
            stops.append(f"missing Debian packages; run: {command}")
        else:
            print(f"preflight: installing {' '.join(packages)} ...", flush=True)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            ok = subprocess.run([*sudo, "apt-get", "update", "-q"], env=env).returncode == 0
            ok = (
                ok
                and subprocess.run(
                    [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                    env=env,
                ).returncode
                == 0
            )
            if not ok:
                stops.append(f"installing the Debian packages failed; run: {command}")
    if stops:
        print("preflight: cannot continue", file=sys.stderr)
        for stop in stops:
            print(f"  - {stop}", file=sys.stderr)
        return 1
    print(f"preflight ({args.target}): everything needed is here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
