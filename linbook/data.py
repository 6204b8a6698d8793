"""Data helpers: synthetic regression data, minibatch iterators and Fashion-MNIST.

Fashion-MNIST is searched for, in this order:

1. the folder named by the environment variable ``LINBOOK_DATA``;
2. the ``data/`` folder of the linbook repository (when linbook runs from a checkout);
3. Debian's ``dataset-fashion-mnist`` package, ``/usr/share/datasets/fashion-mnist``;
4. torchvision's download (only when ``download=True``, the default), into the first
   writable of ``LINBOOK_DATA``, the repository's ``data/`` or ``~/.cache/linbook``.

Inside each folder the four IDX files (``train-images-idx3-ubyte`` ... , gzip-compressed or
not) may lie directly, under ``fashion-mnist/`` or under ``FashionMNIST/raw/`` (torchvision's
layout). The whole set is decoded once into tensors and kept in memory: no per-sample PIL
transform and no worker processes, which is what makes the loader fast on a laptop.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils import data

__all__ = [
    "synthetic_data",
    "load_array",
    "TensorLoader",
    "FashionMNISTNotFoundError",
    "CorruptDataError",
    "FASHION_MNIST_LABELS",
    "fashion_mnist_search_path",
    "find_fashion_mnist",
    "fashion_mnist_source",
    "read_fashion_mnist",
    "load_data_fashion_mnist",
    "get_fashion_mnist_labels",
    "default_download_dir",
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

# File stem -> (md5 of the official .gz archive as torchvision downloads it,
#               sha256 of the decompressed IDX bytes, number of examples).
# The decompressed checksum also holds for re-compressed copies such as Debian's.
_FASHION_FILES: dict[str, tuple[str, str, int]] = {
    "train-images-idx3-ubyte": (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        60000,
    ),
    "train-labels-idx1-ubyte": (
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60000,
    ),
    "t10k-images-idx3-ubyte": (
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        10000,
    ),
    "t10k-labels-idx1-ubyte": (
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10000,
    ),
}

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_REPO_ROOT = Path(__file__).resolve().parent.parent


class FashionMNISTNotFoundError(FileNotFoundError):
    """Raised when Fashion-MNIST is in none of the places linbook looks."""


class CorruptDataError(ValueError):
    """Raised when a data file is truncated or does not match its checksum."""


# ---------------------------------------------------------------------------
# Synthetic data and minibatches
# ---------------------------------------------------------------------------


def synthetic_data(
    w: torch.Tensor, b: float, num_examples: int, noise_std: float = 0.01
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate ``y = Xw + b + noise`` with ``X ~ N(0, 1)`` and ``noise ~ N(0, noise_std²)``.

    Parameters
    ----------
    w
        1-D tensor of true weights (length d).
    b
        true bias.
    num_examples
        number of rows n (> 0).
    noise_std
        standard deviation of the additive Gaussian noise (>= 0).

    Returns
    -------
    features
        float32 tensor of shape (n, d).
    labels
        float32 tensor of shape (n, 1).

    Examples
    --------
    >>> X, y = synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 5)
    >>> tuple(X.shape), tuple(y.shape)
    ((5, 2), (5, 1))
    """
    w = torch.as_tensor(w, dtype=torch.float32)
    if w.ndim != 1:
        raise ValueError(f"w must be a 1-D tensor of weights, got shape {tuple(w.shape)}")
    if not isinstance(num_examples, int) or isinstance(num_examples, bool) or num_examples <= 0:
        raise ValueError(f"num_examples must be a positive int, got {num_examples!r}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = X @ w + b
    y += torch.normal(0, noise_std, y.shape) if noise_std > 0 else 0
    return X, y.reshape((-1, 1))


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")


class TensorLoader:
    """Iterate over in-memory tensors in minibatches (a light ``DataLoader``).

    Every pass draws a fresh random order when ``shuffle`` is true, using ``generator`` when
    one is given (so runs are reproducible) or torch's global generator otherwise.
    ``transform`` is applied to the first tensor of each batch (e.g. resizing images).
    ``len(loader)`` is the number of batches; ``loader.dataset`` is a ``TensorDataset``.
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        batch_size: int,
        shuffle: bool = False,
        transform=None,
        generator: torch.Generator | None = None,
    ) -> None:
        _check_batch_size(batch_size)
        self.tensors = tuple(tensors)
        self.dataset = data.TensorDataset(*self.tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.transform = transform
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                batch = [t[start : start + self.batch_size] for t in self.tensors]
            else:
                index = order[start : start + self.batch_size]
                # index_select on dim 0 is ~3x faster than advanced indexing t[index].
                batch = [t.index_select(0, index) for t in self.tensors]
            if self.transform is not None:
                batch[0] = self.transform(batch[0])
            yield tuple(batch)


def load_array(
    data_arrays: Sequence[torch.Tensor], batch_size: int, is_train: bool = True
) -> data.DataLoader:
    """Wrap tensors in a PyTorch ``DataLoader`` (shuffled when ``is_train``), as d2l does.

    Parameters
    ----------
    data_arrays
        tensors with the same first dimension, e.g. ``(features, labels)``.
    batch_size
        examples per minibatch (> 0).
    is_train
        shuffle each epoch when true.

    Returns
    -------
    DataLoader
        yields tuples of tensors, one minibatch each.

    Examples
    --------
    >>> X, y = torch.arange(10.).reshape(5, 2), torch.arange(5.)
    >>> [len(b[0]) for b in load_array((X, y), 2, is_train=False)]
    [2, 2, 1]
    """
    _check_batch_size(batch_size)
    if len(data_arrays) == 0:
        raise ValueError("data_arrays must hold at least one tensor, e.g. (features, labels)")
    arrays = [torch.as_tensor(a) for a in data_arrays]
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(
            f"all arrays must have the same length (first dimension); got lengths {lengths}"
        )
    dataset = data.TensorDataset(*arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


# ---------------------------------------------------------------------------
# Fashion-MNIST: finding, verifying and reading the IDX files
# ---------------------------------------------------------------------------


def default_download_dir() -> Path:
    """Return where a download of Fashion-MNIST goes: ``$LINBOOK_DATA``, the repo's ``data/``
    (when running from a checkout) or ``~/.cache/linbook``."""
    if os.environ.get("LINBOOK_DATA"):
        return Path(os.environ["LINBOOK_DATA"]).expanduser()
    if (_REPO_ROOT / "_config.yml").exists():
        return _REPO_ROOT / "data"
    return Path.home() / ".cache" / "linbook"


def fashion_mnist_search_path() -> list[Path]:
    """Return the folders searched for Fashion-MNIST, in order (see the module docstring)."""
    roots: list[Path] = []
    if os.environ.get("LINBOOK_DATA"):
        roots.append(Path(os.environ["LINBOOK_DATA"]).expanduser())
    roots.append(_REPO_ROOT / "data")
    roots.append(DEBIAN_FASHION_MNIST_DIR)
    return roots


def _candidate_dirs(root: Path) -> list[Path]:
    return [root, root / "fashion-mnist", root / "FashionMNIST" / "raw"]


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def _complete_dir(folder: Path) -> bool:
    return all(_file_in(folder, stem) is not None for stem in _FASHION_FILES)


def find_fashion_mnist(root: str | os.PathLike | None = None) -> Path | None:
    """Return the first folder that holds all four Fashion-MNIST files, or ``None``.

    Parameters
    ----------
    root
        look only here (and its ``fashion-mnist/`` and ``FashionMNIST/raw/`` subfolders)
        instead of the default search path.
    """
    roots = [Path(root).expanduser()] if root is not None else fashion_mnist_search_path()
    for r in roots:
        for folder in _candidate_dirs(r):
            if _complete_dir(folder):
                return folder
    return None


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed), checking its header against its size."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
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
    stem = path.name.removesuffix(".gz")
    if stem in _FASHION_FILES:
        _, sha256, count = _FASHION_FILES[stem]
        # A full-size file must be the real data set, byte for byte. (Smaller files with
        # the same names, such as the ones the tests write, are checked structurally only.)
        if shape[0] == count and hashlib.sha256(raw).hexdigest() != sha256:
            raise CorruptDataError(
                f"{path}: checksum mismatch (sha256 of the decompressed data differs from the "
                "official Fashion-MNIST file); the file is corrupt. Delete it and "
                "install/download Fashion-MNIST again."
            )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@lru_cache(maxsize=4)
def _read_split(folder: Path, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
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


def _download_fashion_mnist(target_root: Path) -> Path:
    """Download with torchvision into a temporary folder, verify, then move into place."""
    import torchvision  # local import: only needed by online readers

    target = target_root / "FashionMNIST" / "raw"
    target_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_root, prefix=".download-") as tmp:
        # torchvision checks each archive's md5 before extracting it.
        for train in (True, False):
            torchvision.datasets.FashionMNIST(tmp, train=train, download=True)
        raw = Path(tmp) / "FashionMNIST" / "raw"
        for stem, (md5, _, _) in _FASHION_FILES.items():
            gz = raw / (stem + ".gz")
            if not gz.is_file() or _md5(gz) != md5:
                raise CorruptDataError(f"{gz}: download incomplete or checksum mismatch")
        target.mkdir(parents=True, exist_ok=True)
        for stem in _FASHION_FILES:
            os.replace(raw / (stem + ".gz"), target / (stem + ".gz"))
    return target


def _not_found_message(roots: Sequence[Path]) -> str:
    places = "\n".join(f"  - {r}" for r in roots)
    return (
        "Fashion-MNIST not found. linbook looked in:\n"
        f"{places}\n"
        "Do one of the following:\n"
        "  - install Debian's package: sudo apt-get install dataset-fashion-mnist\n"
        "  - put the four *-idx*-ubyte(.gz) files in a folder and set LINBOOK_DATA to it\n"
        "  - allow the download (download=True, needs internet)"
    )


def read_fashion_mnist(
    train: bool = True, root: str | os.PathLike | None = None, download: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return Fashion-MNIST images (uint8, (n, 28, 28)) and labels (int64, (n,)).

    Parameters
    ----------
    train
        the 60 000 training images when true, else the 10 000 test images.
    root
        a folder to use instead of the default search path.
    download
        allow torchvision's download when the files are found nowhere.
    """
    folder = fashion_mnist_source(root=root, download=download)
    return _read_split(folder, bool(train))


def fashion_mnist_source(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Return the folder Fashion-MNIST is read from, downloading it if allowed and needed."""
    folder = find_fashion_mnist(root)
    if folder is not None:
        return folder
    if download:
        target_root = Path(root).expanduser() if root is not None else default_download_dir()
        try:
            return _download_fashion_mnist(target_root)
        except CorruptDataError:
            raise
        except Exception as err:  # network errors come in many types
            roots = [Path(root)] if root is not None else fashion_mnist_search_path()
            raise FashionMNISTNotFoundError(
                _not_found_message(roots) + f"\n(the download failed: {type(err).__name__}: {err})"
            ) from None
    roots = [Path(root)] if root is not None else fashion_mnist_search_path()
    raise FashionMNISTNotFoundError(_not_found_message(roots))


def _check_resize(resize) -> tuple[int, int] | None:
    if resize is None:
        return None
    if isinstance(resize, bool):
        raise TypeError(
            "resize must be None, a positive int or a pair of positive ints, got a bool"
        )
    if isinstance(resize, int):
        pair = (resize, resize)
    elif isinstance(resize, (tuple, list)) and len(resize) == 2:
        pair = tuple(resize)
    else:
        raise TypeError(
            f"resize must be None, a positive int or a pair of positive ints, got {resize!r}"
        )
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair):
        raise ValueError(f"resize must hold positive ints, got {resize!r}")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class _Resize:
    size: tuple[int, int]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(
            images, size=self.size, mode="bilinear", align_corners=False, antialias=True
        )


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | tuple[int, int] | None = None,
    root: str | os.PathLike | None = None,
    download: bool = True,
    seed: int | None = None,
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
    root
        a folder to use instead of the default search path.
    download
        allow torchvision's download when the files are found nowhere.
    seed
        seed of the shuffling generator (None: torch's global generator).

    Examples
    --------
    >>> train_iter, test_iter = load_data_fashion_mnist(256)  # doctest: +SKIP
    >>> X, y = next(iter(train_iter))                         # doctest: +SKIP
    >>> X.shape, y.dtype                                      # doctest: +SKIP
    (torch.Size([256, 1, 28, 28]), torch.int64)
    """
    _check_batch_size(batch_size)
    size = _check_resize(resize)
    transform = _Resize(size) if size is not None and size != (28, 28) else None
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    loaders = []
    for train in (True, False):
        images, labels = read_fashion_mnist(train=train, root=root, download=download)
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
        i = int(v)
        if not 0 <= i < len(FASHION_MNIST_LABELS):
            raise ValueError(f"Fashion-MNIST labels are 0..9, got {v!r}")
        out.append(FASHION_MNIST_LABELS[i])
    return out
