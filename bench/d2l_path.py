"""Run d2l 0.17.6's own Fashion-MNIST pipeline offline, for the benchmark and the parity test.

d2l is installed with ``pip install --no-deps --target bench/.d2l d2l==0.17.6`` (``make setup``),
never into the book's environment. Its ``load_data_fashion_mnist`` builds
``torchvision.datasets.FashionMNIST(root="../data", download=True)``, a path relative to the
working directory. Offline, we give it a ``../data`` that already holds the four decompressed
IDX files in torchvision's layout (``FashionMNIST/raw/<name>``): torchvision then finds them,
skips the download and the md5 check of the ``.gz`` archives, and reads exactly these bytes.
The files are the ones linbook reads (found by :func:`linbook.fashion_mnist_source`, which
checks the sha256 of the decompressed data), so both pipelines see the same data set.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
D2L_DIR = BENCH_DIR / ".d2l"
D2L_VERSION = "0.17.6"
INSTALL_HINT = (
    "d2l 0.17.6 is not installed; `make bench` (or `make unit`) installs it into bench/.d2l "
    "(pip install --no-deps --target bench/.d2l d2l==0.17.6)"
)

_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def import_d2l():
    """Return the module ``d2l.torch`` of d2l 0.17.6, from ``bench/.d2l`` if needed.

    Raises ``ImportError`` (with the install command) when d2l is missing or another version.
    """
    if str(D2L_DIR) not in sys.path and D2L_DIR.is_dir():
        sys.path.append(str(D2L_DIR))
    try:
        import d2l
        from d2l import torch as d2l_torch
    except ImportError as err:
        raise ImportError(f"{INSTALL_HINT} ({err})") from None
    if getattr(d2l, "__version__", None) != D2L_VERSION:
        raise ImportError(f"found d2l {getattr(d2l, '__version__', '?')}; {INSTALL_HINT}")
    return d2l_torch


def prepare_torchvision_root(root: str | os.PathLike) -> Path:
    """Lay out Fashion-MNIST under ``root/data/FashionMNIST/raw/`` as torchvision expects.

    The four IDX files are taken from the folder linbook reads (decompressed when they are
    ``.gz``; Debian's archives differ byte-wise from the official ones, so torchvision's md5
    check of the archives would fail, while its check of the decompressed files only asks
    that they exist). Returns ``root / "data"``.
    """
    from linbook.fashion_mnist import fashion_mnist_source

    source = fashion_mnist_source(download=False)
    raw = Path(root) / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for stem in _STEMS:
        target = raw / stem
        if target.is_file():
            continue
        if (source / stem).is_file():
            shutil.copyfile(source / stem, target)
        else:
            with gzip.open(source / (stem + ".gz"), "rb") as fin, open(target, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
    return Path(root) / "data"


@contextlib.contextmanager
def _working_dir(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def d2l_load_data_fashion_mnist(d2l, batch_size: int, root: str | os.PathLike, resize=None):
    """Call d2l's own ``load_data_fashion_mnist`` with its ``"../data"`` = ``root/data``.

    ``root`` must have been prepared by :func:`prepare_torchvision_root`. The datasets are
    read into memory during the call, so the working directory is restored right after.
    """
    cwd = Path(root) / "cwd"
    cwd.mkdir(parents=True, exist_ok=True)
    with _working_dir(cwd):
        return d2l.load_data_fashion_mnist(batch_size, resize=resize)
