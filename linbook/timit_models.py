"""TIMIT framewise phoneme classification: the models, their settings and their training.

* :func:`sample_model` (the course's), :func:`improved_model` and :class:`CenterFrames`;
* :class:`TrainConfig`, :data:`CONFIGS` and :func:`configs_for` (the chapter's settings for
  the real data and for the stand-in), :func:`build_model`;
* :func:`fit` (the course's training loop, keeping the best validation epoch) and
  :func:`predict_proba`;
* :func:`memory_estimate` and :func:`matmul_flops`: what a run needs in memory and compute.

The data and the post-processing are in :mod:`linbook.timit`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from .checks import check_choice, check_int, check_number, check_type, check_value
from .data import MemmapLoader
from .timit import FRAME_DIM, N_CLASSES, N_CONTEXT, N_FEATURES, REAL_SHAPES, TimitData
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
    "TrainConfig",
    "CONFIGS",
    "SAMPLE_HIDDEN",
    "CenterFrames",
    "sample_model",
    "improved_model",
    "build_model",
    "configs_for",
    "fit",
    "predict_proba",
    "memory_estimate",
    "matmul_flops",
]


# ---------------------------------------------------------------------------
# Models and training
# ---------------------------------------------------------------------------


#: The hidden widths of the course's sample model (429 → 1024 → 512 → 128 → 39).
SAMPLE_HIDDEN: tuple[int, int, int] = (1024, 512, 128)


def sample_model(hidden: tuple[int, int, int] = SAMPLE_HIDDEN) -> nn.Sequential:
    """The course's sample model: 429 → 1024 → 512 → 128 → 39, sigmoid activations.

    ``hidden`` changes the three widths (e.g. a tiny copy with the same layers, for timing
    the per-step overhead that does not depend on the amount of arithmetic).

    Examples
    --------
    >>> [m.out_features for m in sample_model() if isinstance(m, nn.Linear)]
    [1024, 512, 128, 39]
    """
    hidden = tuple(hidden)
    check_value("hidden", hidden, len(hidden) == 3, "three widths")
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
    return check_value(
        "frames", frames, frames % 2 == 1, "odd (the centre frame and as many on each side)"
    )


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
        # < 1: some rows must remain for training
        check_number("val_ratio", self.val_ratio, minimum=0, maximum=1, strict_maximum=True)

    def as_dict(self) -> dict:
        return asdict(self)


#: The settings the chapter uses. ``"real"`` is a full run on the real data on a GPU
#: (Colab); ``"stand-in"`` has the same models and optimizers, sized for 2 CPU cores in CI.
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
        widths = [N_FEATURES, *SAMPLE_HIDDEN, N_CLASSES]
    else:
        widths = [config.frames * FRAME_DIM] + [config.hidden] * config.depth + [N_CLASSES]
    products = [a * b for a, b in zip(widths, widths[1:])]  # one per nn.Linear, without building it
    forward = 2 * batch_size * sum(products)
    if not train:
        return forward
    return 3 * forward - 2 * batch_size * products[0]
