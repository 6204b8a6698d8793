"""A deterministic stand-in for the TIMIT files of Kaggle ``ml2021spring-hw2``.

The real files need a Kaggle account or Google Drive, which the book's build machine has
not; :func:`make_standin` writes files with the same names, per-row shape and dtypes: a
Markov chain over 39 phoneme classes with per-class durations, class-dependent 13-dim
cepstra with speaker offsets, coarticulation and correlated noise, plus Δ and ΔΔ (39 per
frame), stacked into 11-frame windows like the real rows. Its numbers are **not** TIMIT
results: a ``STANDIN.json`` file in its folder says so, and :func:`linbook.timit.load_timit`
reports ``source == "stand-in"`` for such a folder (and only for such a folder).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .checks import check_int
from .datadirs import cache_dir
from .timit_format import FILES, N_CLASSES, N_CONTEXT, N_FEATURES, REAL_SHAPES, STANDIN_MARKER

__all__ = [
    "STANDIN_TRAIN_ROWS",
    "STANDIN_TEST_ROWS",
    "make_standin",
    "default_standin_dir",
]

STANDIN_VERSION = 1
#: The default stand-in size, small enough that the chapter trains on 2 CPU cores in a minute.
STANDIN_TRAIN_ROWS = 30_000
STANDIN_TEST_ROWS = 8_000

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
    check_int("n_train", n_train, minimum=100)
    check_int("n_test", n_test, minimum=100)
    check_int("seed", seed, minimum=0)
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
            "WARNING": "synthetic stand-in generated by linbook.timit_standin.make_standin; NOT TIMIT data",
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
    """Return the folder of a stand-in in linbook's cache (:func:`linbook.datadirs.cache_dir`).

    The folder name encodes the parameters and the generator version, so different sizes
    never share a folder. A stand-in is generated, not downloaded: it never goes into
    ``LINBOOK_DATA``, which holds real data.

    Examples
    --------
    >>> default_standin_dir(2000, 500).name
    'timit-standin-v1-2000-500-0'
    """
    return cache_dir() / f"timit-standin-v{STANDIN_VERSION}-{n_train}-{n_test}-{seed}"
