"""TIMIT framewise phoneme classification (Kaggle ``ml2021spring-hw2``): the data and post-processing.

The models, their settings and their training are in :mod:`linbook.timit_models`.

The competition gives three NumPy files (``timit_11/`` in the course's ``data.zip``):

* ``train_11.npy``: (1229932, 429) float32, one row per 10 ms frame (11 frames × 39 MFCC);
* ``train_label_11.npy``: (1229932,) strings, the frame's phoneme class ``'0'`` … ``'38'``;
* ``test_11.npy``: (451552, 429) float32, the test frames, same layout, no labels.

A row holds the frame ``t`` and its five neighbours on each side, frame-major:
``row[39*k : 39*(k+1)]`` is frame ``t - 5 + k``; rows follow each other in time inside an
utterance, and utterances follow each other.

The real files cannot be downloaded everywhere (they need a Kaggle account or Google
Drive); :func:`open_competition_data` then opens the deterministic **stand-in** that
:mod:`linbook.timit_standin` writes, and reports ``source == "stand-in"``. Its numbers are
**not** TIMIT results.

Everything reads the big arrays through ``np.load(mmap_mode="r")``: training batches are
copied out of the memory map one at a time, so the data is never held twice
(:func:`linbook.timit_models.memory_estimate` gives the numbers for the full set).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import datadirs
from .checks import check_int, check_number, check_value

__all__ = [
    "COMPETITION",
    "FILES",
    "N_CLASSES",
    "N_CONTEXT",
    "N_FEATURES",
    "FRAME_DIM",
    "REAL_SHAPES",
    "COURSE_BASELINES",
    "COURSE_SAMPLE_VAL_ACC",
    "STANDIN_MARKER",
    "TimitData",
    "TimitDataError",
    "load_timit",
    "open_competition_data",
    "labels_to_int",
    "utterance_starts",
    "smooth_proba",
    "majority_filter",
]

COMPETITION = "ml2021spring-hw2"
N_CLASSES = 39
N_CONTEXT = 11  # frames per row: the frame and 5 neighbours on each side
FRAME_DIM = 39  # 13 MFCC + 13 Δ + 13 ΔΔ
N_FEATURES = N_CONTEXT * FRAME_DIM  # 429
FILES = ("train_11.npy", "train_label_11.npy", "test_11.npy")
REAL_SHAPES: dict[str, tuple[int, ...]] = {
    "train_11.npy": (1_229_932, N_FEATURES),
    "train_label_11.npy": (1_229_932,),
    "test_11.npy": (451_552, N_FEATURES),
}
# Quoted from the course (ML 2021 Spring HW2), not computed here: the accuracy of the simple and
# strong baselines on the competition's public and private leaderboards, and the best
# validation accuracy that the course's sample notebook prints on the real data (last 20 % of
# the training rows).
COURSE_BASELINES: dict[str, dict[str, float]] = {
    "simple": {"public": 0.68334, "private": 0.68561},
    "strong": {"public": 0.76023, "private": 0.76118},
}
COURSE_SAMPLE_VAL_ACC = 0.702

#: The file that marks a folder as the stand-in of :mod:`linbook.timit_standin`.
STANDIN_MARKER = "STANDIN.json"


class TimitDataError(ValueError):
    """Raised when the TIMIT files are missing, truncated or not in the expected format."""


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass
class TimitData:
    """The three arrays of the competition, memory-mapped, and where they came from.

    ``train_x`` and ``test_x`` are read-only ``np.memmap`` (nothing is read until used);
    ``train_y`` holds the labels as int64 class indices (1 % of the size of ``train_x``).
    ``source`` is ``"stand-in"`` for a folder written by :mod:`linbook.timit_standin` (it
    holds ``STANDIN.json``) and ``"real"`` for any other — what matters is where the files
    came from, not how many rows they have. ``origin`` says where they are in words without
    local paths (e.g. "downloaded from the Kaggle API into linbook's cache folder");
    ``note`` says why the real data was not used.
    """

    folder: Path
    source: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    origin: str = ""
    note: str = ""

    @property
    def is_standin(self) -> bool:
        return self.source != "real"

    def split(self, val_ratio: float = 0.2) -> tuple[slice, slice]:
        """Return the row ranges ``(train, val)``: as the course, val = the last ``val_ratio`` of the rows.

        ``val_ratio=0`` gives every row to training and an empty val range (a final run).
        """
        # < 1: some rows must remain for training
        check_number("val_ratio", val_ratio, minimum=0, maximum=1, strict_maximum=True)
        cut = int(len(self.train_x) * (1 - val_ratio))
        return slice(0, cut), slice(cut, len(self.train_x))

    def describe(self) -> str:
        """One line that says which data this is (loudly, for a stand-in)."""
        shapes = f"train {self.train_x.shape}, test {self.test_x.shape}"
        if self.is_standin:
            return (
                f"STAND-IN DATA (synthetic, NOT TIMIT): {shapes}; the real set has "
                f"train {REAL_SHAPES['train_11.npy']}, test {REAL_SHAPES['test_11.npy']}. "
                f"Generated by linbook.timit_standin in {self.origin}."
            )
        return f"REAL TIMIT DATA (Kaggle {COMPETITION}): {shapes}; {self.origin}."


def labels_to_int(labels: np.ndarray) -> np.ndarray:
    """Convert class ids stored as strings (``'0'`` … ``'38'``) or ints to an int64 array.

    Raises ``ValueError`` for anything that is not a class id in ``0 … 38``.

    Examples
    --------
    >>> labels_to_int(np.array(["0", "38", "7"]))
    array([ 0, 38,  7])
    """
    labels = np.asarray(labels)
    check_value("labels", labels, labels.ndim == 1, "1-D", got=f"shape {labels.shape}")
    kind = labels.dtype.kind
    check_value(
        "labels", labels, kind in "USiu", "strings or integers", got=f"dtype {labels.dtype}"
    )
    problem = ""
    try:
        out = labels.astype(np.int64)
    except ValueError as err:  # a string that is not an integer
        out, problem = np.zeros(0, dtype=np.int64), str(err)
    check_value("labels", labels, not problem, f"class ids '0' … '{N_CLASSES - 1}'", got=problem)
    in_range = len(out) == 0 or (out.min() >= 0 and out.max() < N_CLASSES)
    check_value(
        "labels",
        labels,
        in_range,
        f"class ids in 0 … {N_CLASSES - 1}",
        got="" if in_range else f"values {out.min()} … {out.max()}",
    )
    return out


def _open_npy(path: Path) -> np.ndarray:
    """Memory-map one .npy file, turning a missing or unreadable file into TimitDataError."""
    if not path.is_file():
        raise TimitDataError(f"{path} is missing: the folder must hold {', '.join(FILES)}")
    try:
        return np.load(path, mmap_mode="r")
    except (ValueError, OSError) as err:
        raise TimitDataError(
            f"{path} is not a readable .npy file ({err}); delete it and fetch it again"
        ) from None


def _load_matrix(path: Path) -> np.ndarray:
    x = _open_npy(path)
    if x.ndim != 2 or x.shape[1] != N_FEATURES or x.dtype != np.float32:
        raise TimitDataError(
            f"{path} must be a float32 array of shape (n, {N_FEATURES}), got {x.dtype} {x.shape}"
        )
    return x


def load_timit(folder: str | os.PathLike) -> TimitData:
    """Memory-map the three files in ``folder`` and check their shapes and dtypes.

    The source is ``"stand-in"`` when the folder holds ``STANDIN.json`` (written by
    :func:`linbook.timit_standin.make_standin`), else ``"real"``, whatever the number of
    rows. Raises :class:`TimitDataError` for missing, truncated or malformed files.
    """
    from .kaggle import data_source

    folder = Path(folder)
    train_x = _load_matrix(folder / "train_11.npy")
    test_x = _load_matrix(folder / "test_11.npy")
    label_path = folder / "train_label_11.npy"
    raw = _open_npy(label_path)
    if raw.shape != (len(train_x),):
        raise TimitDataError(f"{label_path} has shape {raw.shape}, expected ({len(train_x)},)")
    try:
        train_y = labels_to_int(raw)
    except ValueError as err:
        raise TimitDataError(f"{label_path}: {err}") from None
    standin = (folder / STANDIN_MARKER).exists()
    return TimitData(
        folder=folder,
        source="stand-in" if standin else "real",
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
        origin=datadirs.describe_location(folder) if standin else data_source(folder),
    )


def open_competition_data(
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    standin_dir: str | os.PathLike | None = None,
    quiet: bool = False,
) -> TimitData:
    """Open the real competition files — found on this machine or downloaded — else the stand-in.

    1. Files already here (:func:`linbook.kaggle.find_competition`: ``data_dir``,
       ``$LINBOOK_DATA``, linbook's cache) are used; a present but broken file raises
       (real data that is broken is never replaced silently).
    2. Else, when ``download``, :func:`linbook.kaggle.fetch_competition` tries the Kaggle API
       and the course's Google Drive copy (372 MB, fetched once per machine).
    3. If that is not allowed or fails (offline, no account, Drive's daily limit), the
       stand-in in ``standin_dir`` (default :func:`linbook.timit_standin.default_standin_dir`)
       is opened — generated on first use — and ``data.note`` says why.

    Check ``data.source`` / ``data.is_standin`` before you quote a number.
    """
    from .kaggle import KaggleDataError, fetch_competition, find_competition
    from .timit_standin import make_standin

    folder = find_competition(COMPETITION, data_dir)
    note = ""
    if folder is None and download:
        try:
            folder = fetch_competition(COMPETITION, data_dir=data_dir, quiet=quiet)
        except KaggleDataError as err:
            note = f"the real data could not be downloaded ({type(err).__name__}): {err}"
    elif folder is None:
        note = "the real data is not on this machine and download=False"
    if folder is not None:
        return load_timit(folder)
    if standin_dir is not None and (Path(standin_dir) / STANDIN_MARKER).is_file():
        data = load_timit(standin_dir)
    else:
        data = load_timit(make_standin(standin_dir))
    data.note = note
    return data


# ---------------------------------------------------------------------------
# Post-processing: neighbouring frames should agree
# ---------------------------------------------------------------------------


def utterance_starts(x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Indices of the rows that begin an utterance, found from the overlap of the windows.

    Inside an utterance, row ``t + 1`` holds frames ``t - 4 … t + 6`` and row ``t`` frames
    ``t - 5 … t + 5``: the first 10 frames of one equal the last 10 of the other. Where they
    differ, a new utterance begins. Row 0 always starts one. Reads ``x`` in chunks.
    """
    check_value(
        "x",
        x,
        x.ndim == 2 and x.shape[1] == N_FEATURES,
        f"an array of shape (n, {N_FEATURES})",
        got=f"shape {x.shape}",
    )
    starts = [np.array([0])] if len(x) else []
    for a in range(0, len(x) - 1, chunk):
        b = min(a + chunk + 1, len(x))
        block = np.asarray(x[a:b])
        same = np.all(block[1:, : N_FEATURES - FRAME_DIM] == block[:-1, FRAME_DIM:], axis=1)
        starts.append(a + 1 + np.flatnonzero(~same))
    return np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)


def _segments(n: int, starts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the first row of its utterance and the row after its last."""
    if starts is None:
        starts = np.array([0])
    starts = np.unique(np.concatenate([[0], np.asarray(starts, dtype=np.int64)]))
    check_value(
        "starts",
        starts,
        n == 0 or starts.max() < n,
        f"row indices < {n} (the number of rows)",
        got=f"{starts.max()} among them",
    )
    ends = np.append(starts[1:], n)
    seg = np.searchsorted(starts, np.arange(n), side="right") - 1
    return starts[seg], ends[seg]


def smooth_proba(proba: np.ndarray, window: int, starts: np.ndarray | None = None) -> np.ndarray:
    """Average each row's class probabilities with its neighbours within one utterance.

    Row ``t`` gets the mean of rows ``t - window//2 … t + window//2`` that lie in its
    utterance (``starts`` from :func:`utterance_starts`; ``None``: one utterance). ``window``
    must be odd; ``window=1`` returns a copy.

    Examples
    --------
    >>> p = np.eye(3, dtype=np.float32)[[0, 0, 1, 0, 0]]
    >>> smooth_proba(p, 3).argmax(1)
    array([0, 0, 0, 0, 0])
    """
    proba = np.asarray(proba, dtype=np.float64)
    check_value("proba", proba, proba.ndim == 2, "2-D (rows, classes)", got=f"shape {proba.shape}")
    check_value(
        "window", window, check_int("window", window, minimum=1) % 2 == 1, "a positive odd int"
    )
    n = len(proba)
    if window == 1 or n == 0:
        return proba.astype(np.float32)
    seg_start, seg_end = _segments(n, starts)
    half = window // 2
    idx = np.arange(n)
    lo = np.maximum(idx - half, seg_start)
    hi = np.minimum(idx + half + 1, seg_end)
    cum = np.zeros((n + 1, proba.shape[1]))
    np.cumsum(proba, axis=0, out=cum[1:])
    return ((cum[hi] - cum[lo]) / (hi - lo)[:, None]).astype(np.float32)


def majority_filter(pred: np.ndarray, window: int, starts: np.ndarray | None = None) -> np.ndarray:
    """Replace each predicted label by the most frequent label among its ``window`` neighbours.

    Neighbours are taken within the row's utterance (see :func:`smooth_proba`); ties go to
    the smaller class index.

    Examples
    --------
    >>> majority_filter(np.array([3, 3, 5, 3, 3]), 3)
    array([3, 3, 3, 3, 3])
    """
    pred = np.asarray(pred)
    check_value(
        "pred",
        pred,
        pred.ndim == 1 and pred.dtype.kind in "iu",
        "a 1-D array of integer class indices",
        got=f"shape {pred.shape} and dtype {pred.dtype}",
    )
    in_range = len(pred) == 0 or (pred.min() >= 0 and pred.max() < N_CLASSES)
    check_value(
        "pred",
        pred,
        in_range,
        f"class indices in 0 … {N_CLASSES - 1}",
        got="" if in_range else f"values {pred.min()} … {pred.max()}",
    )
    one_hot = np.eye(N_CLASSES, dtype=np.float32)[pred]
    return smooth_proba(one_hot, window, starts).argmax(axis=1)
