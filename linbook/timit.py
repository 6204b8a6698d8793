"""TIMIT framewise phoneme classification (Kaggle ``ml2021spring-hw2``): data, models, post-processing.

The competition gives three NumPy files (``timit_11/`` in the course's ``data.zip``):

* ``train_11.npy``: (1229932, 429) float32, one row per 10 ms frame (11 frames × 39 MFCC);
* ``train_label_11.npy``: (1229932,) strings, the frame's phoneme class ``'0'`` … ``'38'``;
* ``test_11.npy``: (451552, 429) float32, the test frames, same layout, no labels.

A row holds the frame ``t`` and its five neighbours on each side, frame-major:
``row[39*k : 39*(k+1)]`` is frame ``t - 5 + k``; rows follow each other in time inside an
utterance, and utterances follow each other.

The real files cannot be downloaded everywhere (they need a Kaggle account or Google Drive),
so :func:`make_standin` writes a deterministic **stand-in** with the same file names, per-row
shape and dtypes: a Markov chain over 39 phoneme classes with per-class durations,
class-dependent 13-dim cepstra with speaker offsets, coarticulation and correlated noise,
plus Δ and ΔΔ (39 per frame), stacked into 11-frame windows. Its numbers are **not** TIMIT
results; a ``STANDIN.json`` file in its folder says so, and :func:`load_timit` reports
``source == "stand-in"``.

Everything reads the big arrays through ``np.load(mmap_mode="r")``: training batches are
copied out of the memory map one at a time, so the data is never held twice
(:func:`memory_estimate` gives the numbers for the full set).
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

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
    "STANDIN_TRAIN_ROWS",
    "STANDIN_TEST_ROWS",
    "TimitData",
    "TimitDataError",
    "TrainConfig",
    "CONFIGS",
    "make_standin",
    "default_standin_dir",
    "load_timit",
    "open_competition_data",
    "labels_to_int",
    "FrameLoader",
    "sample_model",
    "improved_model",
    "build_model",
    "fit",
    "FitResult",
    "predict_proba",
    "utterance_starts",
    "smooth_proba",
    "majority_filter",
    "write_prediction",
    "validate_prediction",
    "memory_estimate",
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
# Quoted from the course (ML 2021 Spring HW2), not computed here: public-leaderboard accuracy
# of the simple and strong baselines, and the best validation accuracy that the course's
# sample code prints on the real data (last 20 % of the training rows).
COURSE_BASELINES: dict[str, float] = {"simple": 0.68334, "strong": 0.76023}
COURSE_SAMPLE_VAL_ACC = 0.702

STANDIN_MARKER = "STANDIN.json"
STANDIN_VERSION = 1
# Default stand-in size: small enough that the chapter trains on 2 CPU cores in about a minute.
STANDIN_TRAIN_ROWS = 30_000
STANDIN_TEST_ROWS = 8_000


class TimitDataError(ValueError):
    """Raised when the TIMIT files are missing, truncated or not in the expected format."""


# ---------------------------------------------------------------------------
# The stand-in generator
# ---------------------------------------------------------------------------

_N_CEPSTRA = 13
_SILENCE = 0  # the stand-in's silence class (utterances begin and end with it)
_GROUP_SIZES = (1, 6, 6, 5, 5, 4, 4, 4, 4)  # broad classes: silence, vowels, stops, ... (39 in all)
_WITHIN_GROUP_SD = 0.45  # spread of the class means inside a broad class
_VARIANT_SD = 1.0  # two variants (allophones) per class
_STATE_SD = 0.8  # three states per phone (begin, middle, end)
_SPEAKER_SD = 0.6  # per-speaker offset of the cepstra
_NOISE_SD, _NOISE_AR = 1.7, 0.4  # frame noise: AR(1), stationary standard deviation and coefficient


@dataclass(frozen=True)
class _World:
    """The stand-in's phone inventory: state means, durations and transitions."""

    means: (
        np.ndarray
    )  # (39, 2, 3, 13): class, variant (allophone), state (begin/middle/end), cepstra
    durations: np.ndarray  # (39,) mean frames per phone
    transitions: np.ndarray  # (39, 39) next-phone probabilities, zero diagonal


def _make_world(seed: int) -> _World:
    rng = np.random.default_rng([seed, 7919])
    group = np.repeat(np.arange(len(_GROUP_SIZES)), _GROUP_SIZES)
    centers = rng.normal(0.0, 1.0, (len(_GROUP_SIZES), _N_CEPSTRA))
    # classes of one broad class lie close together: confusable from a single frame
    class_means = centers[group] + rng.normal(0.0, _WITHIN_GROUP_SD, (N_CLASSES, _N_CEPSTRA))
    # each class has 2 variants and moves through 3 states: its frames are not one Gaussian
    means = (
        class_means[:, None, None, :]
        + rng.normal(0.0, _VARIANT_SD, (N_CLASSES, 2, 1, _N_CEPSTRA))
        + rng.normal(0.0, _STATE_SD, (N_CLASSES, 1, 3, _N_CEPSTRA))
    )
    durations = rng.uniform(3.0, 13.0, N_CLASSES)
    durations[_SILENCE] = 18.0
    transitions = np.zeros((N_CLASSES, N_CLASSES))
    for c in range(N_CLASSES):
        others = np.setdiff1d(np.arange(1, N_CLASSES), [c])
        successors = rng.choice(others, size=8, replace=False)
        transitions[c, successors] = rng.dirichlet(np.full(8, 0.7))
        transitions[c, others] += 0.02 / len(others)  # any phone may follow, rarely
        transitions[c] /= transitions[c].sum()
    return _World(means=means, durations=durations, transitions=transitions)


def _utterance_labels(world: _World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Frame labels of one utterance (silence, a Markov chain of phones, silence) and frame means."""
    n_phones = int(rng.integers(22, 44))
    phones = [_SILENCE]
    current = int(rng.integers(1, N_CLASSES))
    for _ in range(n_phones):
        phones.append(current)
        current = int(rng.choice(N_CLASSES, p=world.transitions[current]))
        if current == _SILENCE:  # no pauses inside an utterance
            current = int(rng.integers(1, N_CLASSES))
    phones.append(_SILENCE)
    phones = np.asarray(phones)
    lengths = 1 + rng.poisson(world.durations[phones] - 1.0)
    variants = rng.integers(0, 2, len(phones))
    labels = np.repeat(phones, lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    state = 3 * (np.arange(len(labels)) - starts) // np.repeat(lengths, lengths)
    return labels, world.means[labels, np.repeat(variants, lengths), state]


def _deltas(c: np.ndarray, n: int = 2) -> np.ndarray:
    """HTK-style regression deltas along time (axis 0), edges repeated."""
    padded = np.pad(c, ((n, n), (0, 0)), mode="edge")
    t = len(c)
    num = sum(k * (padded[n + k : n + k + t] - padded[n - k : n - k + t]) for k in range(1, n + 1))
    return num / (2.0 * sum(k * k for k in range(1, n + 1)))


def _utterance_frames(
    means: np.ndarray, speaker: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The (T, 39) frames of one utterance from its (T, 13) frame means: cepstra + Δ + ΔΔ."""
    clean = means + speaker
    # coarticulation: each frame blends into its neighbours (triangular kernel, 5 frames)
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0])
    kernel /= kernel.sum()
    padded = np.pad(clean, ((2, 2), (0, 0)), mode="edge")
    smooth = sum(w * padded[k : k + len(clean)] for k, w in enumerate(kernel))
    # temporally correlated noise, AR(1) with stationary standard deviation 1.0
    a, sigma = _NOISE_AR, _NOISE_SD
    innovations = rng.normal(0.0, sigma * math.sqrt(1 - a * a), clean.shape)
    noise = np.empty_like(clean)
    noise[0] = rng.normal(0.0, sigma, _N_CEPSTRA)
    for t in range(1, len(clean)):
        noise[t] = a * noise[t - 1] + innovations[t]
    c = smooth + noise
    d = _deltas(c)
    return np.concatenate([c, d, _deltas(d)], axis=1)


def _stack_context(frames: np.ndarray) -> np.ndarray:
    """(T, 39) frames -> (T, 429) rows of 11 frames (edge frames repeated)."""
    half = N_CONTEXT // 2
    padded = np.pad(frames, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_CONTEXT, axis=0)  # (T, 39, 11)
    return windows.transpose(0, 2, 1).reshape(len(frames), N_FEATURES)


def _generate(
    n_rows: int,
    world: _World,
    rng: np.random.Generator,
    scale: tuple[np.ndarray, np.ndarray],
    x_out: np.ndarray,
    y_out: np.ndarray | None,
) -> int:
    """Fill ``x_out`` (and ``y_out``) with utterances of 8 per speaker; return the utterance count."""
    mean, std = scale
    row, n_utt, speaker = 0, 0, np.zeros(_N_CEPSTRA)
    while row < n_rows:
        if n_utt % 8 == 0:
            speaker = rng.normal(0.0, _SPEAKER_SD, _N_CEPSTRA)
        labels, means = _utterance_labels(world, rng)
        frames = (_utterance_frames(means, speaker, rng) - mean) / std
        rows = _stack_context(frames)
        take = min(len(rows), n_rows - row)
        x_out[row : row + take] = rows[:take]
        if y_out is not None:
            y_out[row : row + take] = labels[:take]
        row += take
        n_utt += 1
    return n_utt


def _frame_scale(world: _World, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per frame feature, from a fixed pilot sample (so that rows are ~standardised)."""
    rng = np.random.default_rng([seed, 104729])
    frames = [
        _utterance_frames(
            _utterance_labels(world, rng)[1], rng.normal(0.0, _SPEAKER_SD, _N_CEPSTRA), rng
        )
        for _ in range(40)
    ]
    stacked = np.concatenate(frames)
    return stacked.mean(axis=0), stacked.std(axis=0)


def _check_rows(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 100:
        raise ValueError(f"{name} must be at least 100 rows, got {value}")


def make_standin(
    folder: str | os.PathLike | None = None,
    n_train: int = STANDIN_TRAIN_ROWS,
    n_test: int = STANDIN_TEST_ROWS,
    seed: int = 0,
) -> Path:
    """Write (or reuse) a deterministic stand-in for the TIMIT files; return its folder.

    The folder gets ``train_11.npy`` (``(n_train, 429)`` float32), ``train_label_11.npy``
    (``(n_train,)``, class ids as strings ``'0'`` … ``'38'``, like the real file),
    ``test_11.npy`` (``(n_test, 429)`` float32) and ``STANDIN.json`` (the parameters, and a
    warning that these are not TIMIT data). Same ``(n_train, n_test, seed)``, same bytes.
    The files are written into a temporary sibling folder and renamed into place, so an
    interrupted run never leaves a half-written set; an existing folder with the same
    parameters is reused.

    Parameters
    ----------
    folder
        where to write; default ``default_standin_dir(n_train, n_test, seed)``.
    n_train
        training rows (the real set has 1,229,932).
    n_test
        test rows (the real set has 451,552).
    seed
        the generator's seed.

    Returns
    -------
    Path
        the folder holding the four files.

    Examples
    --------
    >>> folder = make_standin(tmp_path / "standin", n_train=2000, n_test=500)  # doctest: +SKIP
    >>> load_timit(folder).source  # doctest: +SKIP
    'stand-in'
    """
    _check_rows("n_train", n_train)
    _check_rows("n_test", n_test)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    folder = Path(folder) if folder is not None else default_standin_dir(n_train, n_test, seed)
    params = {"n_train": n_train, "n_test": n_test, "seed": seed, "version": STANDIN_VERSION}
    marker = folder / STANDIN_MARKER
    if marker.is_file():
        try:
            found = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = {}
        if found.get("params") == params and all((folder / name).is_file() for name in FILES):
            return folder
        raise FileExistsError(
            f"{folder} holds a stand-in with other parameters ({found.get('params')}); "
            "delete the folder or pass another one"
        )
    if folder.exists() and any(folder.iterdir()):
        raise FileExistsError(
            f"{folder} exists and is not a stand-in folder; pass an empty or new folder"
        )

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        world = _make_world(seed)
        scale = _frame_scale(world, seed)
        train_rng, test_rng = (np.random.default_rng([seed, k]) for k in (1, 2))
        x = np.lib.format.open_memmap(
            tmp / "train_11.npy", mode="w+", dtype=np.float32, shape=(n_train, N_FEATURES)
        )
        y = np.empty(n_train, dtype=np.int64)
        n_utt_train = _generate(n_train, world, train_rng, scale, x, y)
        x.flush()
        del x
        np.save(tmp / "train_label_11.npy", y.astype("<U2"))
        x = np.lib.format.open_memmap(
            tmp / "test_11.npy", mode="w+", dtype=np.float32, shape=(n_test, N_FEATURES)
        )
        n_utt_test = _generate(n_test, world, test_rng, scale, x, None)
        x.flush()
        del x
        info = {
            "WARNING": "synthetic stand-in generated by linbook.timit.make_standin; NOT TIMIT data",
            "params": params,
            "utterances": {"train": n_utt_train, "test": n_utt_test},
            "real_shapes": {k: list(v) for k, v in REAL_SHAPES.items()},
        }
        (tmp / STANDIN_MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
        try:
            if folder.exists():
                folder.rmdir()  # empty (checked above)
            os.replace(tmp, folder)
        except OSError:
            if (folder / STANDIN_MARKER).is_file():  # another process finished first
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def default_standin_dir(
    n_train: int = STANDIN_TRAIN_ROWS, n_test: int = STANDIN_TEST_ROWS, seed: int = 0
) -> Path:
    """Return the cache folder of a stand-in: ``$LINBOOK_CACHE`` or ``~/.cache/linbook``, else the temp dir.

    The folder name encodes the parameters and the generator version, so different sizes
    never share a folder.
    """
    name = f"timit-standin-v{STANDIN_VERSION}-{n_train}-{n_test}-{seed}"
    candidates = []
    if os.environ.get("LINBOOK_CACHE"):
        candidates.append(Path(os.environ["LINBOOK_CACHE"]).expanduser())
    candidates.append(Path.home() / ".cache" / "linbook")
    candidates.append(Path(tempfile.gettempdir()) / "linbook")
    for root in candidates:
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(root, os.W_OK):
            return root / name
    raise OSError("no writable cache folder; set LINBOOK_CACHE to one")


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass
class TimitData:
    """The three arrays of the competition, memory-mapped, and where they came from.

    ``train_x`` and ``test_x`` are read-only ``np.memmap`` (nothing is read until used);
    ``train_y`` holds the labels as int64 class indices (1 % of the size of ``train_x``).
    ``source`` is ``"real"`` or ``"stand-in"``; ``note`` says why the real data was not used.
    """

    folder: Path
    source: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    note: str = ""

    @property
    def is_standin(self) -> bool:
        return self.source != "real"

    def split(self, val_ratio: float = 0.2) -> tuple[slice, slice]:
        """Return the row ranges ``(train, val)``: as the course, val = the last ``val_ratio`` of the rows."""
        if not 0.0 < val_ratio < 1.0:
            raise ValueError(f"val_ratio must lie in (0, 1), got {val_ratio}")
        cut = int(len(self.train_x) * (1 - val_ratio))
        return slice(0, cut), slice(cut, len(self.train_x))

    def describe(self) -> str:
        """One line that says which data this is (loudly, for a stand-in)."""
        shapes = f"train {self.train_x.shape}, test {self.test_x.shape}"
        if self.is_standin:
            return (
                f"STAND-IN DATA (synthetic, NOT TIMIT): {shapes}; the real set has "
                f"train {REAL_SHAPES['train_11.npy']}, test {REAL_SHAPES['test_11.npy']}. "
                f"Folder: {self.folder}"
            )
        return f"REAL TIMIT DATA (Kaggle {COMPETITION}): {shapes}. Folder: {self.folder}"


def labels_to_int(labels: np.ndarray) -> np.ndarray:
    """Convert class ids stored as strings (``'0'`` … ``'38'``) or ints to an int64 array.

    Raises ``ValueError`` for anything that is not a class id in ``0 … 38``.

    Examples
    --------
    >>> labels_to_int(np.array(["0", "38", "7"]))
    array([ 0, 38,  7])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.dtype.kind in "US":
        try:
            out = labels.astype(np.int64)
        except ValueError as err:
            raise ValueError(f"labels must be class ids '0' … '38': {err}") from None
    elif labels.dtype.kind in "iu":
        out = labels.astype(np.int64)
    else:
        raise ValueError(f"labels must be strings or integers, got dtype {labels.dtype}")
    if len(out) and (out.min() < 0 or out.max() >= N_CLASSES):
        raise ValueError(f"labels must lie in 0 … {N_CLASSES - 1}, found {out.min()} … {out.max()}")
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

    The source is ``"stand-in"`` when the folder holds ``STANDIN.json`` or its shapes are
    not the real ones, else ``"real"``. Raises :class:`TimitDataError` for missing,
    truncated or malformed files.
    """
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
    real = (
        not (folder / STANDIN_MARKER).exists()
        and train_x.shape == REAL_SHAPES["train_11.npy"]
        and test_x.shape == REAL_SHAPES["test_11.npy"]
    )
    return TimitData(
        folder=folder,
        source="real" if real else "stand-in",
        train_x=train_x,
        train_y=train_y,
        test_x=test_x,
    )


def open_competition_data(
    data_dir: str | os.PathLike | None = None,
    standin_dir: str | os.PathLike | None = None,
    download: bool = False,
) -> TimitData:
    """Open the real competition files if they can be found, else the stand-in.

    Calls ``linbook.kaggle.fetch_competition("ml2021spring-hw2", data_dir, download)``. When
    that reports that the files are nowhere (``CompetitionDataNotFoundError``, and
    ``download`` is false), opens the stand-in in ``standin_dir`` (any stand-in already
    there, else a new one of the default size; default folder :func:`default_standin_dir`)
    and keeps the reason in ``data.note``. Any other error (files present but malformed,
    a download that failed) is raised: real data that is broken is never replaced silently.
    Check ``data.source`` / ``data.is_standin`` before you quote a number.
    """
    from .kaggle import CompetitionDataNotFoundError, fetch_competition

    try:
        folder = fetch_competition(COMPETITION, data_dir=data_dir, download=download)
    except CompetitionDataNotFoundError as err:
        if download:
            raise
        if standin_dir is not None and (Path(standin_dir) / STANDIN_MARKER).is_file():
            data = load_timit(standin_dir)
        else:
            data = load_timit(make_standin(standin_dir))
        data.note = f"real data not found: {err}"
        return data
    return load_timit(folder)


# ---------------------------------------------------------------------------
# Minibatches straight from the memory map
# ---------------------------------------------------------------------------


class FrameLoader:
    """Minibatches ``(X, y)`` of rows of a memory-mapped matrix, copied out one batch at a time.

    ``len(loader)`` is the number of batches. Rows within a batch are read in ascending
    order (faster on a memory map); the batch's composition is what is random.

    Parameters
    ----------
    x
        (n, 429) array, typically the ``np.memmap`` of :class:`TimitData`.
    y
        (n,) int64 labels, or ``None`` (batches are then ``X`` alone).
    rows
        the rows to use, a ``slice`` (e.g. from :meth:`TimitData.split`) or an index array.
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
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if x.ndim != 2:
            raise ValueError(f"x must be 2-D, got shape {x.shape}")
        if y is not None and len(y) != len(x):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
        if rows is None:
            rows = slice(0, len(x))
        if isinstance(rows, slice):
            start, stop, step = rows.indices(len(x))
            if step != 1:
                raise ValueError("rows must be a slice with step 1 or an index array")
            self._range: tuple[int, int] | None = (start, stop)
            self._index = None
        else:
            index = np.asarray(rows, dtype=np.int64)
            if index.ndim != 1 or (len(index) and (index.min() < 0 or index.max() >= len(x))):
                raise ValueError("rows must be 1-D indices into x")
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
            order = np.random.default_rng([self.seed, self._epoch]).permutation(n)
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


# ---------------------------------------------------------------------------
# Models and training
# ---------------------------------------------------------------------------


def sample_model() -> nn.Sequential:
    """The course's sample model: 429 → 1024 → 512 → 128 → 39, sigmoid activations."""
    return nn.Sequential(
        nn.Linear(N_FEATURES, 1024),
        nn.Sigmoid(),
        nn.Linear(1024, 512),
        nn.Sigmoid(),
        nn.Linear(512, 128),
        nn.Sigmoid(),
        nn.Linear(128, N_CLASSES),
    )


def improved_model(hidden: int = 1024, depth: int = 4, dropout: float = 0.3) -> nn.Sequential:
    """``depth`` blocks of Linear → BatchNorm → ReLU → Dropout of width ``hidden``, then a linear output.

    Examples
    --------
    >>> improved_model(hidden=64, depth=2)(torch.zeros(8, 429)).shape
    torch.Size([8, 39])
    """
    if not isinstance(hidden, int) or hidden <= 0 or not isinstance(depth, int) or depth <= 0:
        raise ValueError(f"hidden and depth must be positive ints, got {hidden!r}, {depth!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
    layers: list[nn.Module] = []
    width = N_FEATURES
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    layers.append(nn.Linear(width, N_CLASSES))
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines one training run (see ``CONFIGS``)."""

    model: str = "sample"  # "sample" (the course's) or "improved"
    hidden: int = 1024  # improved model only
    depth: int = 4  # improved model only
    dropout: float = 0.3  # improved model only
    optimizer: str = "adam"  # "adam" or "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 64
    num_epochs: int = 20
    schedule: str = "constant"  # "constant" or "cosine" (per epoch)
    val_ratio: float = 0.2

    def __post_init__(self) -> None:
        if self.model not in ("sample", "improved"):
            raise ValueError(f"model must be 'sample' or 'improved', got {self.model!r}")
        if self.optimizer not in ("adam", "adamw"):
            raise ValueError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.schedule not in ("constant", "cosine"):
            raise ValueError(f"schedule must be 'constant' or 'cosine', got {self.schedule!r}")
        if self.lr <= 0 or self.weight_decay < 0 or self.batch_size <= 0 or self.num_epochs <= 0:
            raise ValueError("lr, batch_size and num_epochs must be > 0 and weight_decay >= 0")

    def as_dict(self) -> dict:
        return asdict(self)


# The settings the chapter uses. "real": a full run on the real data on a GPU (Colab);
# "stand-in": the same models and optimizers, sized for 2 CPU cores in CI.
CONFIGS: dict[str, dict[str, TrainConfig]] = {
    "real": {
        # the course's sample code, unchanged
        "sample": TrainConfig(
            model="sample", optimizer="adam", lr=1e-4, batch_size=64, num_epochs=20
        ),
        "improved": TrainConfig(
            model="improved",
            hidden=1024,
            depth=4,
            dropout=0.3,
            optimizer="adamw",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=512,
            num_epochs=30,
            schedule="cosine",
        ),
    },
    "stand-in": {
        "sample": TrainConfig(
            model="sample", optimizer="adam", lr=1e-4, batch_size=64, num_epochs=3
        ),
        "improved": TrainConfig(
            model="improved",
            hidden=512,
            depth=3,
            dropout=0.3,
            optimizer="adamw",
            lr=1e-3,
            weight_decay=1e-4,
            batch_size=256,
            num_epochs=6,
            schedule="cosine",
        ),
    },
}


def build_model(config: TrainConfig) -> nn.Sequential:
    """The untrained model that ``config`` names."""
    if config.model == "sample":
        return sample_model()
    return improved_model(config.hidden, config.depth, config.dropout)


@dataclass
class FitResult:
    """What :func:`fit` returns; ``net`` holds the weights of the best validation epoch."""

    net: nn.Module
    config: TrainConfig
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the best validation accuracy."""
        return int(np.argmax(self.val_acc)) + 1

    @property
    def best_val_acc(self) -> float:
        return float(max(self.val_acc))


def fit(
    data: TimitData,
    config: TrainConfig,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = False,
) -> FitResult:
    """Train the model of ``config`` on ``data`` (val = last ``val_ratio`` of the rows); keep the best epoch.

    As the course's code does, the validation accuracy is measured after every epoch and the
    weights of the best epoch are kept (the course saves them to ``model.ckpt``). ``device``
    defaults to the GPU when there is one; ``verbose`` prints one line per epoch.
    """
    from .train import evaluate_accuracy, set_seed, train_epoch_ch3, try_gpu

    device = torch.device(device) if device is not None else try_gpu()
    set_seed(seed)
    net = build_model(config).to(device)
    train_rows, val_rows = data.split(config.val_ratio)
    train_iter = FrameLoader(
        data.train_x,
        data.train_y,
        train_rows,
        config.batch_size,
        shuffle=True,
        seed=seed,
        device=device,
    )
    val_iter = FrameLoader(data.train_x, data.train_y, val_rows, 4096, device=device)
    opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    optimizer = opt_cls(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = (
        torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.num_epochs)
        if config.schedule == "cosine"
        else None
    )
    loss = nn.CrossEntropyLoss()
    result = FitResult(net=net, config=config)
    best_state, best_acc = None, -1.0
    for epoch in range(config.num_epochs):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, optimizer)
        if scheduler is not None:
            scheduler.step()
        val_acc = evaluate_accuracy(net, val_iter)
        result.seconds.append(time.perf_counter() - start)
        result.train_loss.append(train_loss)
        result.train_acc.append(train_acc)
        result.val_acc.append(val_acc)
        if val_acc > best_acc:
            best_acc, best_state = val_acc, copy.deepcopy(net.state_dict())
        if verbose:
            print(
                f"[{epoch + 1:03d}/{config.num_epochs:03d}] train loss {train_loss:.4f}, "
                f"train acc {train_acc:.4f} | val acc {val_acc:.4f} ({result.seconds[-1]:.1f} s)"
            )
    net.load_state_dict(best_state)
    net.eval()
    return result


def predict_proba(
    net: nn.Module,
    x: np.ndarray,
    rows: slice | np.ndarray | None = None,
    batch_size: int = 4096,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Class probabilities ``(n, 39)`` float32 of ``net`` for the rows of ``x`` (read batch by batch)."""
    if device is None:
        params = list(net.parameters())
        device = params[0].device if params else torch.device("cpu")
    net.eval()
    loader = FrameLoader(x, None, rows, batch_size)
    out = np.empty((loader.num_rows, N_CLASSES), dtype=np.float32)
    i = 0
    with torch.no_grad():
        for X in loader:
            p = torch.softmax(net(X.to(device)), dim=1).cpu().numpy()
            out[i : i + len(p)] = p
            i += len(p)
    return out


# ---------------------------------------------------------------------------
# Post-processing: neighbouring frames should agree
# ---------------------------------------------------------------------------


def utterance_starts(x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Indices of the rows that begin an utterance, found from the overlap of the windows.

    Inside an utterance, row ``t + 1`` holds frames ``t - 4 … t + 6`` and row ``t`` frames
    ``t - 5 … t + 5``: the first 10 frames of one equal the last 10 of the other. Where they
    differ, a new utterance begins. Row 0 always starts one. Reads ``x`` in chunks.
    """
    if x.ndim != 2 or x.shape[1] != N_FEATURES:
        raise ValueError(f"x must have shape (n, {N_FEATURES}), got {x.shape}")
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
    if starts.max() >= n and n > 0:
        raise ValueError(f"utterance starts must be < {n}")
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
    if proba.ndim != 2:
        raise ValueError(f"proba must be 2-D (rows, classes), got shape {proba.shape}")
    if not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd int, got {window!r}")
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
    if pred.ndim != 1 or pred.dtype.kind not in "iu":
        raise ValueError("pred must be a 1-D array of integer class indices")
    if len(pred) and (pred.min() < 0 or pred.max() >= N_CLASSES):
        raise ValueError(f"pred must lie in 0 … {N_CLASSES - 1}")
    one_hot = np.eye(N_CLASSES, dtype=np.float32)[pred]
    return smooth_proba(one_hot, window, starts).argmax(axis=1)


# ---------------------------------------------------------------------------
# Submission file
# ---------------------------------------------------------------------------


def write_prediction(path: str | os.PathLike, pred: Sequence[int] | np.ndarray) -> Path:
    """Write Kaggle's submission format: header ``Id,Class``, then ``i,class`` for i = 0, 1, …

    The file is written to a temporary name and renamed, so it is complete or absent.
    """
    pred = np.asarray(pred)
    if pred.ndim != 1 or pred.dtype.kind not in "iu":
        raise ValueError("pred must be a 1-D array of integer class indices")
    if len(pred) and (pred.min() < 0 or pred.max() >= N_CLASSES):
        raise ValueError(f"classes must lie in 0 … {N_CLASSES - 1}")
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="ascii") as f:
        f.write("Id,Class\n")
        f.writelines(f"{i},{c}\n" for i, c in enumerate(pred.tolist()))
    os.replace(tmp, path)
    return path


def validate_prediction(path: str | os.PathLike, n_rows: int) -> np.ndarray:
    """Check a submission file and return its classes; raise ``ValueError`` saying what is wrong.

    Checks: header ``Id,Class``; exactly ``n_rows`` rows; ids ``0 … n_rows-1`` in order;
    every class an integer in ``0 … 38``.
    """
    path = Path(path)
    with open(path, newline="", encoding="ascii") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["Id", "Class"]:
            raise ValueError(f"{path}: header must be 'Id,Class', got {header}")
        classes = np.empty(n_rows, dtype=np.int64)
        count = 0
        for line_no, row in enumerate(reader, start=2):
            if len(row) != 2:
                raise ValueError(f"{path}:{line_no}: expected 2 fields, got {row}")
            if count >= n_rows:
                raise ValueError(f"{path}: more than {n_rows} rows")
            try:
                i, c = int(row[0]), int(row[1])
            except ValueError:
                raise ValueError(
                    f"{path}:{line_no}: Id and Class must be integers, got {row}"
                ) from None
            if i != count:
                raise ValueError(f"{path}:{line_no}: Id must be {count}, got {i}")
            if not 0 <= c < N_CLASSES:
                raise ValueError(
                    f"{path}:{line_no}: Class must lie in 0 … {N_CLASSES - 1}, got {c}"
                )
            classes[count] = c
            count += 1
    if count != n_rows:
        raise ValueError(f"{path}: {count} rows, expected {n_rows}")
    return classes


# ---------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------


def memory_estimate(
    n_train: int = REAL_SHAPES["train_11.npy"][0],
    n_test: int = REAL_SHAPES["test_11.npy"][0],
    config: TrainConfig | None = None,
) -> dict[str, int]:
    """Bytes that a run needs, by item (defaults: the real data set and the real improved model).

    Returns a dict with

    * ``train_x``, ``test_x``: the two float32 files. Memory-mapped, they are read into the
      operating system's page cache as needed, not copied into the process;
    * ``labels``: the labels as int64 (in the process);
    * ``proba``: the val and test class probabilities, float32 (in the process);
    * ``model``: weights, gradients and Adam's two moments, float32;
    * ``batch``: one training batch;
    * ``gpu_copy``: what :class:`FrameLoader` copies onto a GPU (the train and val rows);
    * ``second_copy``: what a second copy of ``train_x`` would add (``np.load`` without
      ``mmap_mode`` followed by ``torch.tensor(x)`` or ``x.astype(...)`` holds two).

    Examples
    --------
    >>> memory_estimate()["train_x"]
    2110563312
    """
    config = config or CONFIGS["real"]["improved"]
    n_params = sum(p.numel() for p in build_model(config).parameters())
    val_rows = n_train - int(n_train * (1 - config.val_ratio))
    row_bytes = N_FEATURES * 4
    return {
        "train_x": n_train * row_bytes,
        "test_x": n_test * row_bytes,
        "labels": n_train * 8,
        "proba": (val_rows + n_test) * N_CLASSES * 4,
        "model": n_params * 4 * 4,
        "batch": config.batch_size * row_bytes,
        "gpu_copy": n_train * (row_bytes + 8),
        "second_copy": n_train * row_bytes,
    }
