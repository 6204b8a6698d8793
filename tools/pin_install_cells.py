"""Point every chapter's Colab install cell at the release tag of linbook's version.

The first code cell of each chapter installs ``linbook[kaggle] @ git+<repository.url>@v<version>``
(``repository.url`` from ``_config.yml``, the version from ``linbook/__init__.py``), so a reader
gets the linbook the book was built with. Run after bumping ``linbook.__version__``; it edits the
``.md`` sources and re-pairs the ``.ipynb`` with jupytext. ``tests/test_book.py`` checks the result.

Usage::

    .venv/bin/python tools/pin_install_cells.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import linbook  # noqa: E402


def main() -> int:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"].rstrip("/")
    pinned = f"git+{url}@v{linbook.__version__}"
    pattern = re.compile(r"git\+" + re.escape(url) + r"(@[^\"'\s]*)?")
    changed = []
    for md in sorted((REPO / "chapters").glob("*.md")):
        text = md.read_text(encoding="utf-8")
        if not text.startswith("---\njupytext:"):
            continue
        new = pattern.sub(pinned, text)
        if new != text:
            md.write_text(new, encoding="utf-8")
            changed.append(md)
    if changed:
        jupytext = Path(sys.executable).with_name("jupytext")
        subprocess.run([str(jupytext), "--sync", *map(str, changed)], check=True)
    print(f"install cells: {pinned} ({len(changed)} chapters changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
