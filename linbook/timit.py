"""TIMIT framewise phoneme classification (Kaggle ``ml2021spring-hw2``): data, models, post-processing.

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
(:func:`memory_estimate` gives the numbers for the full set).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import datadirs
from .checks import check_choice, check_int, check_number, check_type
from .data import MemmapLoader
from .train import (
    SCHEDULES,
    History,
    KeepBest,
    evaluate_accuracy,
    make_optimizer,
    make_scheduler,
    model_device,
    set_seed,
    train_epoch_ch3,
    try_gpu,
)

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
    "TrainConfig",
    "CONFIGS",
    "CenterFrames",
    "load_timit",
    "open_competition_data",
    "labels_to_int",
    "sample_model",
    "improved_model",
    "build_model",
    "configs_for",
    "fit",
    "predict_proba",
    "utterance_starts",
    "smooth_proba",
    "majority_filter",
    "memory_estimate",
    "matmul_flops",
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
        check_number("val_ratio", val_ratio, minimum=0, maximum=1)
        if val_ratio == 1:
            raise ValueError("val_ratio must be < 1 (some rows must remain for training)")
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
# Models and training
# ---------------------------------------------------------------------------


def sample_model(hidden: tuple[int, int, int] = (1024, 512, 128)) -> nn.Sequential:
    """The course's sample model: 429 → 1024 → 512 → 128 → 39, sigmoid activations.

    ``hidden`` changes the three widths (e.g. a tiny copy with the same layers, for timing
    the per-step overhead that does not depend on the amount of arithmetic).

    Examples
    --------
    >>> [m.out_features for m in sample_model() if isinstance(m, nn.Linear)]
    [1024, 512, 128, 39]
    """
    hidden = tuple(hidden)
    if len(hidden) != 3:
        raise ValueError(f"hidden must hold three widths, got {hidden!r}")
    for width in hidden:
        check_int("hidden width", width, minimum=1)
    widths = (N_FEATURES, *hidden)
    layers: list[nn.Module] = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    layers.append(nn.Linear(widths[-1], N_CLASSES))
    return nn.Sequential(*layers)


def _check_frames(frames: int) -> int:
    frames = check_int("frames", frames, minimum=1, maximum=N_CONTEXT)
    if frames % 2 == 0:
        raise ValueError(
            f"frames must be odd (the centre frame and as many on each side), got {frames}"
        )
    return frames


class CenterFrames(nn.Module):
    """Keep the features of the ``frames`` centre frames of each 11-frame row (``frames`` odd).

    A row holds frames ``t - 5 … t + 5``, 39 features each; ``CenterFrames(3)`` keeps frames
    ``t - 1 … t + 1``, i.e. columns ``4*39 … 7*39 - 1``.

    Examples
    --------
    >>> CenterFrames(3)(torch.arange(429.0).unsqueeze(0))[0, [0, -1]]
    tensor([156., 272.])
    """

    def __init__(self, frames: int = N_CONTEXT) -> None:
        super().__init__()
        self.frames = _check_frames(frames)
        self.start = (N_CONTEXT - self.frames) // 2 * FRAME_DIM
        self.stop = self.start + self.frames * FRAME_DIM

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X[:, self.start : self.stop]

    def extra_repr(self) -> str:
        return f"frames={self.frames}"


def improved_model(
    hidden: int = 1024,
    depth: int = 4,
    dropout: float = 0.3,
    batch_norm: bool = True,
    frames: int = N_CONTEXT,
) -> nn.Sequential:
    """``depth`` blocks of Linear → BatchNorm → ReLU → Dropout of width ``hidden``, then a linear output.

    ``batch_norm=False`` leaves out the BatchNorm layers; ``frames`` (odd, at most 11) feeds
    the network only the centre frames of each row (:class:`CenterFrames`). Both exist for
    the chapter's ablation study.

    Examples
    --------
    >>> improved_model(hidden=64, depth=2)(torch.zeros(8, 429)).shape
    torch.Size([8, 39])
    >>> improved_model(hidden=64, depth=2, frames=5)[1].in_features
    195
    """
    check_int("hidden", hidden, minimum=1)
    check_int("depth", depth, minimum=1)
    check_number("dropout", dropout, minimum=0, maximum=0.99)
    check_type("batch_norm", batch_norm, bool)
    frames = _check_frames(frames)
    layers: list[nn.Module] = []
    width = N_FEATURES
    if frames < N_CONTEXT:
        layers.append(CenterFrames(frames))
        width = frames * FRAME_DIM
    for _ in range(depth):
        layers.append(nn.Linear(width, hidden))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers += [nn.ReLU(), nn.Dropout(dropout)]
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
    batch_norm: bool = True  # improved model only
    frames: int = N_CONTEXT  # improved model only: the centre frames it sees (odd)
    optimizer: str = "adam"  # "adam" or "adamw"
    lr: float = 1e-4
    weight_decay: float = 0.0
    batch_size: int = 64
    num_epochs: int = 20
    schedule: str = "constant"  # one of linbook.train.SCHEDULES, stepped once per epoch
    val_ratio: float = 0.2

    def __post_init__(self) -> None:
        check_choice("model", self.model, ("sample", "improved"))
        check_choice("optimizer", self.optimizer, ("adam", "adamw"))
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("lr", self.lr, minimum=0, strict_minimum=True)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("dropout", self.dropout, minimum=0, maximum=0.99)
        check_type("batch_norm", self.batch_norm, bool)
        _check_frames(self.frames)
        for name in ("hidden", "depth", "batch_size", "num_epochs"):
            check_int(name, getattr(self, name), minimum=1)
        check_number("val_ratio", self.val_ratio, minimum=0, maximum=1)
        if self.val_ratio == 1:
            raise ValueError("val_ratio must be < 1 (some rows must remain for training)")

    def as_dict(self) -> dict:
        return asdict(self)


#: The settings the chapter uses. "real": a full run on the real data on a GPU (Colab);
#: "stand-in": the same models and optimizers, sized for 2 CPU cores in CI.
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
            model="sample", optimizer="adam", lr=1e-4, batch_size=64, num_epochs=2
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
    return improved_model(
        config.hidden, config.depth, config.dropout, config.batch_norm, config.frames
    )


def configs_for(source: str, max_epochs: int | None = None) -> dict[str, TrainConfig]:
    """The chapter's settings for data of ``source`` (``"real"`` or ``"stand-in"``).

    ``max_epochs`` caps every run's number of epochs: a quick first run on the real data
    (the chapter reads it from the environment variable ``LINBOOK_TIMIT_EPOCHS``).

    Examples
    --------
    >>> configs_for("real", max_epochs=2)["sample"].num_epochs
    2
    """
    check_choice("source", source, tuple(CONFIGS))
    configs = CONFIGS[source]
    if max_epochs is None:
        return dict(configs)
    max_epochs = check_int("max_epochs", max_epochs, minimum=1)
    return {
        name: replace(cfg, num_epochs=min(cfg.num_epochs, max_epochs))
        for name, cfg in configs.items()
    }


def fit(
    data: TimitData,
    config: TrainConfig,
    seed: int = 0,
    device: torch.device | str | None = None,
    verbose: bool = False,
) -> tuple[nn.Module, History]:
    """Train the model of ``config`` on ``data`` (val = last ``val_ratio`` of the rows).

    As the course's code does, the validation accuracy is measured after every epoch and
    the weights of the best epoch are kept (the course saves them to ``model.ckpt``). With
    ``config.val_ratio == 0`` every row is trained on, ``val_acc`` is NaN and the last
    epoch's weights are kept (the course's code does the same with ``VAL_RATIO = 0``): the
    final run once the settings are chosen. ``device`` defaults to the GPU when there is
    one; ``verbose`` prints one line per epoch.

    Returns
    -------
    tuple
        ``(net, history)``: the network with the weights of the best epoch, and a
        :class:`linbook.train.History` of ``train_loss``, ``train_acc`` (measured while
        training, dropout on) and ``val_acc`` per epoch, with ``best_epoch`` (1-based).
    """
    device = torch.device(device) if device is not None else try_gpu()
    set_seed(seed)
    net = build_model(config).to(device)
    train_rows, val_rows = data.split(config.val_ratio)
    train_iter = MemmapLoader(
        data.train_x, data.train_y, train_rows, config.batch_size, shuffle=True, seed=seed,
        device=device,
    )  # fmt: skip
    validate = val_rows.stop > val_rows.start
    val_iter = (
        MemmapLoader(data.train_x, data.train_y, val_rows, 4096, device=device)
        if validate
        else None
    )
    optimizer = make_optimizer(
        net.parameters(), config.optimizer, lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = make_scheduler(optimizer, config.schedule, total_steps=config.num_epochs)
    loss = nn.CrossEntropyLoss()
    history = History("train_loss", "train_acc", "val_acc")
    keep = KeepBest(mode="max")
    for epoch in range(1, config.num_epochs + 1):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, optimizer)
        scheduler.step()
        val_acc = evaluate_accuracy(net, val_iter) if validate else math.nan
        history.append(
            time.perf_counter() - start, train_loss=train_loss, train_acc=train_acc, val_acc=val_acc
        )
        if validate:
            keep.update(net, val_acc, epoch)
        if verbose:
            print(
                f"[{epoch:03d}/{config.num_epochs:03d}] train loss {train_loss:.4f}, "
                f"train acc {train_acc:.4f} | val acc {val_acc:.4f} ({history.seconds[-1]:.1f} s)"
            )
    if validate:
        keep.restore(net)
    history.best_epoch = keep.best_epoch if validate else config.num_epochs
    net.eval()
    return net, history


def predict_proba(
    net: nn.Module,
    x: np.ndarray,
    rows: slice | np.ndarray | None = None,
    batch_size: int = 4096,
    device: torch.device | str | None = None,
) -> np.ndarray:
    """Class probabilities ``(n, 39)`` float32 of ``net`` for the rows of ``x`` (read batch by batch)."""
    device = torch.device(device) if device is not None else model_device(net)
    net.eval()
    loader = MemmapLoader(x, None, rows, batch_size)
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
    if check_int("window", window, minimum=1) % 2 == 0:
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
    * ``gpu_copy``: what :class:`linbook.data.MemmapLoader` copies onto a GPU (the train and val rows);
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


def matmul_flops(config: TrainConfig, batch_size: int | None = None, train: bool = True) -> int:
    """Floating-point operations of the matrix products of one step of the model of ``config``.

    Each ``nn.Linear(a, b)`` multiplies a batch of ``B`` rows by an ``a × b`` matrix:
    ``2 B a b`` operations (a multiply and an add per term). A training step (``train=True``)
    does this three times per layer — the forward pass, the gradient of the weights and the
    gradient of the layer's input — except that the first layer needs no input gradient (the
    data are not trained). ``train=False`` counts the forward pass only (validation,
    prediction). Activations, BatchNorm, the loss and the optimizer add a few operations per
    number, not per product, and are not counted. ``batch_size`` defaults to the config's.

    Examples
    --------
    >>> matmul_flops(TrainConfig(model="sample"), batch_size=1, train=False)
    2068224
    >>> matmul_flops(TrainConfig(model="sample"), batch_size=1) == 3 * 2068224 - 2 * 429 * 1024
    True
    """
    batch_size = (
        config.batch_size if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    )
    check_type("train", train, bool)
    if config.model == "sample":
        widths = [N_FEATURES, 1024, 512, 128, N_CLASSES]
    else:
        widths = [config.frames * FRAME_DIM] + [config.hidden] * config.depth + [N_CLASSES]
    products = [a * b for a, b in zip(widths, widths[1:])]  # one per nn.Linear, without building it
    forward = 2 * batch_size * sum(products)
    if not train:
        return forward
    return 3 * forward - 2 * batch_size * products[0]
