"""Data helpers shared by the chapters: synthetic regression data and minibatch iterators.

* :func:`synthetic_data` — ``y = Xw + b + noise`` for linear regression (d2l's name);
* :func:`load_array` — tensors wrapped in a PyTorch ``DataLoader`` (d2l's name);
* :class:`TensorLoader` — the same for in-memory tensors, faster, with a seeded order;
* :class:`MemmapLoader` — minibatches copied one at a time out of an array too large to
  copy whole (a memory map).

Fashion-MNIST lives in :mod:`linbook.fashion_mnist`, the competitions' data in
:mod:`linbook.kaggle`, :mod:`linbook.covid` and :mod:`linbook.timit`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils import data

from . import claims
from .checks import check_int, check_number, check_same_length, check_tensor, check_value

__all__ = ["synthetic_data", "load_array", "TensorLoader", "MemmapLoader"]


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
    w = check_tensor("w", torch.as_tensor(w, dtype=torch.float32), ndim=1)
    num_examples = check_int("num_examples", num_examples, minimum=1)
    noise_std = check_number("noise_std", noise_std, minimum=0)
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = X @ w + b
    y += torch.normal(0, noise_std, y.shape) if noise_std > 0 else 0
    return X, y.reshape((-1, 1))


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
        check_int("batch_size", batch_size, minimum=1)
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
    check_int("batch_size", batch_size, minimum=1)
    check_value(
        "data_arrays", data_arrays, len(data_arrays) > 0, "tensors, e.g. (features, labels)"
    )
    arrays = [torch.as_tensor(a) for a in data_arrays]
    lengths = [len(a) for a in arrays]
    check_value(
        "data_arrays",
        data_arrays,
        len(set(lengths)) == 1,
        "arrays of the same length (first dimension)",
        got=f"lengths {lengths}",
    )
    dataset = data.TensorDataset(*arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


class MemmapLoader:
    """Minibatches ``(X, y)`` of rows of a (memory-mapped) matrix, copied out one batch at a time.

    For data too large to hold in memory twice, such as the 2 GB training set of the TIMIT
    competition opened with ``np.load(path, mmap_mode="r")``: only the rows of one batch are
    ever copied into the process.

    ``len(loader)`` is the number of batches. Rows within a batch are read in ascending
    order (faster on a memory map); the batch's composition is what is random.

    Parameters
    ----------
    x
        (n, d) array, typically an ``np.memmap`` (e.g. of :class:`linbook.timit.TimitData`).
    y
        (n,) int64 labels, or ``None`` (batches are then ``X`` alone).
    rows
        the rows to use, a ``slice`` (e.g. from :meth:`linbook.timit.TimitData.split`) or an index array.
    batch_size
        rows per batch.
    shuffle
        draw a new order every pass (from ``seed`` and the pass number: reproducible).
    seed
        seed of the shuffling.
    device
        with a CUDA device, the rows are first copied onto it, 16k rows at a time (so
        there is never a second copy in host memory), and batches are cut there; otherwise
        batches are read from ``x`` as they are needed.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None,
        rows: slice | np.ndarray | None = None,
        batch_size: int = 64,
        shuffle: bool = False,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        check_int("batch_size", batch_size, minimum=1)
        check_value("x", x, x.ndim == 2, "2-D (rows x features)", got=f"shape {x.shape}")
        if y is not None:
            check_same_length("x", x, "y", y)
        if rows is None:
            rows = slice(0, len(x))
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(x))
            check_value("rows", rows, step == 1, "a slice with step 1 or an index array")
            self._range: tuple[int, int] | None = (start, stop)
            self._index = None
        else:
            index = np.asarray(rows, dtype=np.int64)
            inside = index.ndim == 1 and (
                not len(index) or 0 <= index.min() <= index.max() < len(x)
            )
            check_value("rows", rows, bool(inside), f"1-D indices into x (0 … {len(x) - 1})")
            self._range, self._index = None, index
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self._epoch = 0
        self._on_device: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if self.device.type == "cuda":
            self._on_device = self._copy_to_device()

    def __len__(self) -> int:
        return math.ceil(self.num_rows / self.batch_size)

    @property
    def num_rows(self) -> int:
        return self._range[1] - self._range[0] if self._range else len(self._index)

    def _rows(self) -> np.ndarray:
        return np.arange(*self._range) if self._range else self._index

    def _copy_to_device(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        rows = self._rows()
        xd = torch.empty((len(rows), self.x.shape[1]), dtype=torch.float32, device=self.device)
        chunk = 16384  # 28 MB of host memory at a time
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            block = self.x[part[0] : part[-1] + 1] if self._range else self.x[part]
            xd[i : i + len(part)] = torch.from_numpy(np.array(block, dtype=np.float32)).to(
                self.device
            )
        yd = None
        if self.y is not None:
            yd = torch.from_numpy(np.asarray(self.y[rows], dtype=np.int64)).to(self.device)
        return xd, yd

    def __iter__(self) -> Iterator:
        n = self.num_rows
        if self.shuffle:
            order = np.random.default_rng([claims.seed(self.seed), self._epoch]).permutation(n)
            self._epoch += 1
        else:
            order = None
        rows = None if self._on_device is not None else self._rows()
        for i in range(0, n, self.batch_size):
            if order is None:
                pos = np.arange(i, min(i + self.batch_size, n))
            else:
                pos = np.sort(order[i : i + self.batch_size])
            if self._on_device is not None:
                index = torch.from_numpy(pos).to(self.device)
                X = self._on_device[0][index]
                y = self._on_device[1][index] if self._on_device[1] is not None else None
            else:
                if order is None and self._range is not None:
                    a = self._range[0] + i
                    X = torch.from_numpy(np.array(self.x[a : a + len(pos)], dtype=np.float32))
                    picked = np.arange(a, a + len(pos))
                else:
                    picked = rows[pos]
                    X = torch.from_numpy(np.asarray(self.x[picked], dtype=np.float32))
                y = (
                    torch.from_numpy(np.asarray(self.y[picked], dtype=np.int64))
                    if self.y is not None
                    else None
                )
            yield (X, y) if y is not None else X
