"""Fashion-MNIST (chapters 2.2 and 2.3.1): find it, download it once, read it, load it.

Fashion-MNIST is looked for where :mod:`linbook.datadirs` says data lives (the ``data_dir``
argument, ``$LINBOOK_DATA``, linbook's cache folder), then in Debian's package
``dataset-fashion-mnist`` (:data:`DEBIAN_FASHION_MNIST_DIR`). Inside each folder the four
IDX files (``train-images-idx3-ubyte`` ... , gzip-compressed or not) may lie directly, under
``fashion-mnist/`` or under ``FashionMNIST/raw/`` (torchvision's layout). When they are found
nowhere and ``download=True``, the missing archives are downloaded once into
``<download_root>/fashion-mnist/`` (:func:`linbook.datadirs.download_root`), each checked
against the official data's checksum before it is renamed into place; the next call finds
them there.

The whole set is decoded once into tensors and kept in memory: no per-sample PIL transform
and no worker processes, which is what makes the loader fast on a laptop. The names
:func:`load_data_fashion_mnist` and :func:`get_fashion_mnist_labels` are d2l's.

The files are described once, in :data:`FASHION_MNIST_FILES` (the same
:class:`linbook.datadirs.FileSpec` records as the competitions'). Importing this module needs
only the standard library (numpy and torch are imported when data is read), so that
``tools/preflight.py`` asks :func:`find_fashion_mnist` itself whether the data is here.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from . import datadirs
from .checks import check_int, check_value
from .datadirs import FileSpec

if TYPE_CHECKING:  # imported where data is read: finding the files needs no numpy or torch
    import numpy as np
    import torch

    from .data import TensorLoader

__all__ = [
    "FashionMNISTNotFoundError",
    "CorruptDataError",
    "FASHION_MNIST_LABELS",
    "FASHION_MNIST_URLS",
    "FASHION_MNIST_FILES",
    "BENCHMARK_LOGISTIC_ACCURACY",
    "DEBIAN_FASHION_MNIST_DIR",
    "fashion_mnist_search_path",
    "find_fashion_mnist",
    "fashion_mnist_source",
    "read_fashion_mnist",
    "load_data_fashion_mnist",
    "get_fashion_mnist_labels",
]

FASHION_MNIST_LABELS: tuple[str, ...] = (
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)

#: The test accuracy of the best linear classifier in the data set's own benchmark, logistic
#: regression (Xiao et al. 2017, Table 3), quoted and not computed here. Chapters compare
#: softmax regression, a linear model too, with it.
BENCHMARK_LOGISTIC_ACCURACY = 0.842

#: The four files, by stem (``.gz`` or not). ``sha256`` is the checksum of the decompressed IDX
#: bytes, which also holds for re-compressed copies such as Debian's and for mirrors that
#: compress anew; ``rows`` is the number of examples.
FASHION_MNIST_FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "train-images-idx3-ubyte",
        "idx",
        rows=60000,
        columns=None,
        sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    FileSpec(
        "train-labels-idx1-ubyte",
        "idx",
        rows=60000,
        columns=None,
        sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    FileSpec(
        "t10k-images-idx3-ubyte",
        "idx",
        rows=10000,
        columns=None,
        sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    FileSpec(
        "t10k-labels-idx1-ubyte",
        "idx",
        rows=10000,
        columns=None,
        sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
)
_SPECS: dict[str, FileSpec] = {spec.name: spec for spec in FASHION_MNIST_FILES}

#: Debian's package ``dataset-fashion-mnist`` installs the files here.
DEBIAN_FASHION_MNIST_DIR = datadirs.DEBIAN_DATASETS / "fashion-mnist"

#: Where the four archives are downloaded from, tried in this order. First the mirror torchvision uses,
#: then the data folder of the Fashion-MNIST repository on GitHub.
FASHION_MNIST_URLS: tuple[str, ...] = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
#: The sub-folder of a data root that a download fills.
FASHION_MNIST_DIRNAME = "fashion-mnist"


class FashionMNISTNotFoundError(FileNotFoundError):
    """Raised when Fashion-MNIST is in none of the places linbook looks."""


class CorruptDataError(ValueError):
    """Raised when a data file is truncated or does not match its checksum."""


def fashion_mnist_search_path(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Return the folders searched for Fashion-MNIST, in order.

    Those of :func:`linbook.datadirs.search_roots` (``data_dir``, ``$LINBOOK_DATA``, the
    cache), then Debian's folder (:data:`DEBIAN_FASHION_MNIST_DIR`).

    Examples
    --------
    >>> fashion_mnist_search_path()[-1] == DEBIAN_FASHION_MNIST_DIR
    True
    """
    return [*datadirs.search_roots(data_dir), DEBIAN_FASHION_MNIST_DIR]


def _candidate_dirs(root: Path) -> list[Path]:
    return [root, root / FASHION_MNIST_DIRNAME, root / "FashionMNIST" / "raw"]


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _complete_dir(folder: Path) -> bool:
    return all(_file_in(folder, stem) is not None for stem in _SPECS)


def find_fashion_mnist(data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the first folder of :func:`fashion_mnist_search_path` that holds all four
    Fashion-MNIST files (directly, in ``fashion-mnist/`` or in ``FashionMNIST/raw/``), or
    ``None``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for spec in FASHION_MNIST_FILES:
    ...     _ = (folder / "fashion-mnist" / spec.name).parent.mkdir(exist_ok=True)
    ...     _ = (folder / "fashion-mnist" / spec.name).write_bytes(b"")
    >>> find_fashion_mnist(folder) == folder / "fashion-mnist"
    True
    """
    for root in fashion_mnist_search_path(data_dir):
        for folder in _candidate_dirs(root):
            if _complete_dir(folder):
                return folder
    return None


def _read_idx(path: Path, stem: str | None = None, official: bool = False) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed), checking its header against its size.

    ``stem`` names the Fashion-MNIST file it should be (default: from the file name). A
    full-size file, and any file when ``official`` (a download), must decode to the official
    data byte for byte.
    """
    import numpy as np

    try:
        raw = path.read_bytes()
        raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    except (OSError, EOFError, zlib.error) as err:
        raise CorruptDataError(
            f"{path}: cannot be decompressed ({err}); the file is truncated or corrupt. "
            "Delete it and install/download Fashion-MNIST again."
        ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise CorruptDataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptDataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise CorruptDataError(
            f"{path}: size mismatch, header announces shape {shape} ({expected} bytes) but the "
            f"file holds {len(raw)} bytes; the file is truncated or corrupt. Delete it and "
            "install/download Fashion-MNIST again."
        )
    stem = stem or path.name.removesuffix(".gz")
    spec = _SPECS.get(stem)
    if spec is not None:
        sha256, count = spec.sha256, spec.rows
        # A full-size file must be the real data set, byte for byte. (Smaller files with
        # the same names, such as the ones the tests write, are checked structurally only.)
        if (official or shape[0] == count) and hashlib.sha256(raw).hexdigest() != sha256:
            raise CorruptDataError(
                f"{path}: checksum mismatch (sha256 of the decompressed data differs from the "
                "official Fashion-MNIST file); the file is corrupt. Delete it and "
                "install/download Fashion-MNIST again."
            )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@lru_cache(maxsize=4)
def _read_split(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np
    import torch

    prefix = "train" if train else "t10k"
    images_path = _file_in(folder, f"{prefix}-images-idx3-ubyte")
    labels_path = _file_in(folder, f"{prefix}-labels-idx1-ubyte")
    assert images_path is not None and labels_path is not None
    images = _read_idx(images_path)
    labels = _read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1:
        raise CorruptDataError(
            f"{images_path} / {labels_path}: expected images (n, 28, 28) and labels (n,), "
            f"got {images.shape} and {labels.shape}"
        )
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels"
        )
    if labels.size and labels.max() >= len(FASHION_MNIST_LABELS):
        raise CorruptDataError(f"{labels_path}: label {labels.max()} is out of range 0..9")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def _verify_archive(stem: str) -> Callable[[Path], None]:
    """The check of one downloaded archive: it must decode to the official file, byte for byte."""

    def verify(path: Path) -> None:
        _read_idx(path, stem=stem, official=True)

    return verify


def _download_fashion_mnist(target_root: Path, quiet: bool) -> Path:
    """Download the archives missing from ``target_root/fashion-mnist/``; return that folder."""
    target = target_root / FASHION_MNIST_DIRNAME
    for stem in _SPECS:
        if _file_in(target, stem) is None:
            datadirs.download_file(
                [base + stem + ".gz" for base in FASHION_MNIST_URLS],
                target / (stem + ".gz"),
                verify=_verify_archive(stem),
                quiet=quiet,
            )
    return target


def _not_found_message(roots: Sequence[Path]) -> str:
    places = "\n".join(f"  - {r}" for r in roots)
    return (
        "Fashion-MNIST not found. linbook looked in:\n"
        f"{places}\n"
        "Do one of the following:\n"
        "  - install Debian's package: sudo apt-get install dataset-fashion-mnist\n"
        f"  - put the four *-idx*-ubyte(.gz) files in a folder and set {datadirs.ENV_DATA} to it\n"
        "  - allow the download (download=True, needs internet; about 30 MB, fetched once)"
    )


def read_fashion_mnist(
    train: bool = True,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    quiet: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return Fashion-MNIST images (uint8, (n, 28, 28)) and labels (int64, (n,)).

    Parameters
    ----------
    train
        the 60 000 training images when true, else the 10 000 test images.
    data_dir
        a folder searched first (see :func:`fashion_mnist_search_path`), and the one a
        download goes into.
    download
        download the files when they are found nowhere (once: the next call finds them).
    quiet
        do not print download progress.

    Examples
    --------
    >>> images, labels = read_fashion_mnist(train=False)  # doctest: +SKIP
    >>> images.shape, labels[:3]                          # doctest: +SKIP
    (torch.Size([10000, 28, 28]), tensor([9, 2, 1]))
    """
    folder = fashion_mnist_source(data_dir=data_dir, download=download, quiet=quiet)
    return _read_split(folder, bool(train))


def fashion_mnist_source(
    data_dir: str | os.PathLike | None = None, download: bool = True, quiet: bool = False
) -> Path:
    """Return the folder Fashion-MNIST is read from, downloading it if allowed and needed.

    :func:`linbook.datadirs.describe_location` says in words where that is.

    Raises
    ------
    FashionMNISTNotFoundError
        the files are nowhere and ``download`` is false, or the download failed (the
        message says what to do instead).
    CorruptDataError
        a downloaded archive does not match the official data.
    """
    folder = find_fashion_mnist(data_dir)
    if folder is not None:
        return folder
    roots = fashion_mnist_search_path(data_dir)
    if not download:
        raise FashionMNISTNotFoundError(_not_found_message(roots))
    try:
        return _download_fashion_mnist(datadirs.download_root(data_dir), quiet)
    except datadirs.DownloadError as err:
        raise FashionMNISTNotFoundError(
            _not_found_message(roots) + f"\n(the download failed: {err})"
        ) from None


def _check_resize(resize) -> tuple[int, int] | None:
    if resize is None:
        return None
    pair = (resize, resize) if not isinstance(resize, (tuple, list)) else tuple(resize)
    check_value("resize", resize, len(pair) == 2, "None, a positive int or a pair (height, width)")
    return check_int("resize[0]", pair[0], minimum=1), check_int("resize[1]", pair[1], minimum=1)


@dataclass(frozen=True)
class _Resize:
    size: tuple[int, int]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.interpolate(
            images, size=self.size, mode="bilinear", align_corners=False, antialias=True
        )


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | tuple[int, int] | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    seed: int | None = None,
    quiet: bool = False,
) -> tuple[TensorLoader, TensorLoader]:
    """Load Fashion-MNIST into memory and return ``(train_iter, test_iter)``.

    Batches are ``(X, y)`` with ``X`` float32 of shape (B, 1, 28, 28) (or the ``resize``
    size) scaled to [0, 1], and ``y`` int64 class indices. The training iterator is
    reshuffled every epoch; the test iterator keeps the file order.

    Parameters
    ----------
    batch_size
        examples per minibatch (> 0).
    resize
        None, a positive int or an (height, width) pair; images are resized per batch.
    data_dir
        a folder searched first (see :func:`fashion_mnist_search_path`), and the one a
        download goes into.
    download
        download the files when they are found nowhere (once: the next call finds them).
    seed
        seed of the shuffling generator (None: torch's global generator).
    quiet
        do not print download progress.

    Examples
    --------
    >>> train_iter, test_iter = load_data_fashion_mnist(256)  # doctest: +SKIP
    >>> X, y = next(iter(train_iter))                         # doctest: +SKIP
    >>> X.shape, y.dtype                                      # doctest: +SKIP
    (torch.Size([256, 1, 28, 28]), torch.int64)
    """
    from . import claims
    from .data import TensorLoader

    check_int("batch_size", batch_size, minimum=1)
    size = _check_resize(resize)
    transform = _Resize(size) if size is not None and size != (28, 28) else None
    generator = claims.generator(seed) if seed is not None else None
    loaders = []
    for train in (True, False):
        images, labels = read_fashion_mnist(
            train=train, data_dir=data_dir, download=download, quiet=quiet
        )
        X = images.unsqueeze(1).float().div_(255)
        loaders.append(
            TensorLoader(
                (X, labels),
                batch_size,
                shuffle=train,
                transform=transform,
                generator=generator if train else None,
            )
        )
    return loaders[0], loaders[1]


def get_fashion_mnist_labels(labels) -> list[str]:
    """Return the text labels of Fashion-MNIST class indices.

    Examples
    --------
    >>> get_fashion_mnist_labels([0, 9])
    ['t-shirt', 'ankle boot']
    """
    values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
    if isinstance(values, int):
        values = [values]
    out = []
    for v in values:
        i = check_int("labels", int(v), minimum=0, maximum=len(FASHION_MNIST_LABELS) - 1)
        out.append(FASHION_MNIST_LABELS[i])
    return out
