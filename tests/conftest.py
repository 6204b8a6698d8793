"""Shared fixtures: small Fashion-MNIST-shaped IDX files written by the tests themselves, and a
headless matplotlib (the Agg backend, every figure closed after each test)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew, so that they do not pile up over the session."""
    yield
    plt.close("all")


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when ``compress``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    raw = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_fake_fashion_mnist(
    folder: Path, n_train: int = 12, n_test: int = 5, fill: int = 7, compress: bool = True
) -> Path:
    """Write the four Fashion-MNIST files with tiny, recognisable contents into ``folder``."""
    rng = np.random.default_rng(fill)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.full((n, 28, 28), fill, dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return folder


@pytest.fixture
def isolated_search(monkeypatch, tmp_path):
    """Point every Fashion-MNIST search location at empty temp folders."""
    from linbook import data

    monkeypatch.delenv("LINBOOK_DATA", raising=False)
    monkeypatch.setattr(data, "_REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    data._read_split.cache_clear()
    yield tmp_path
    data._read_split.cache_clear()
