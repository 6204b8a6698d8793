"""Training helpers, call-compatible with d2l 0.17.6, and the plumbing every recipe shares.

d2l's names, for chapter 2.2 on: :func:`~linbook.claims.set_seed`, :func:`try_gpu`, :class:`Accumulator`,
:func:`accuracy`, :func:`evaluate_accuracy`, :func:`train_epoch_ch3`, :func:`train_ch3`,
:func:`sgd`. Differences from d2l, on purpose:

* the reported training loss is the mean loss per example whether the loss function
  uses ``reduction='mean'`` (``nn.CrossEntropyLoss()``) or ``reduction='none'``;
* no ``assert`` on the final accuracy: the per-epoch :class:`History` is returned instead;
* ``nn.Module`` models run on a GPU when one is present (:func:`try_gpu`).

Shared by :mod:`linbook.covid` and :mod:`linbook.timit` (and usable on their own):
:class:`History` (one run's per-epoch metrics), :func:`make_optimizer`,
:func:`make_scheduler` / :func:`lr_factor` (learning-rate schedules), :class:`KeepBest`
(keep the weights of the best epoch, stop early) and :func:`model_device`.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn

from .checks import (
    check_choice,
    check_int,
    check_number,
    check_same_length,
    check_tensor,
    check_type,
    check_value,
)
from .claims import set_seed  # noqa: F401  (d2l's name; the seeds' one helper lives in claims)

__all__ = [
    "try_gpu",
    "model_device",
    "Accumulator",
    "accuracy",
    "evaluate_accuracy",
    "train_epoch_ch3",
    "train_ch3",
    "sgd",
    "History",
    "KeepBest",
    "OPTIMIZERS",
    "SCHEDULES",
    "make_optimizer",
    "lr_factor",
    "make_scheduler",
]


def try_gpu(i: int = 0) -> torch.device:
    """Return ``cuda:i`` if that GPU exists, else the CPU.

    Examples
    --------
    >>> try_gpu().type in ("cpu", "cuda")
    True
    """
    if torch.cuda.is_available() and torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def model_device(net) -> torch.device:
    """Return the device of ``net``'s first parameter (the CPU for plain functions).

    Examples
    --------
    >>> model_device(nn.Linear(2, 1))
    device(type='cpu')
    >>> model_device(lambda X: X)
    device(type='cpu')
    """
    if isinstance(net, nn.Module):
        for param in net.parameters():
            return param.device
    return torch.device("cpu")


class Accumulator:
    """Accumulate sums over ``n`` variables.

    Examples
    --------
    >>> metric = Accumulator(2)
    >>> metric.add(1, 2); metric.add(3, 4)
    >>> metric[0], metric[1]
    (4.0, 6.0)
    """

    def __init__(self, n: int) -> None:
        self.data = [0.0] * check_int("n", n, minimum=1)

    def add(self, *args: float) -> None:
        """Add one value to each of the ``n`` sums."""
        if len(args) != len(self.data):
            raise ValueError(f"expected {len(self.data)} values, got {len(args)}")
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        """Set every sum back to zero."""
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Return the **number** of correct predictions (as d2l; divide by ``len(y)`` for a ratio).

    ``y_hat`` holds either one score per class per example (shape (n, q)) or predicted
    class indices (shape (n,) or (n, 1)); ``y`` the labels, shape (n,) or (n, 1). A column is
    compared row by row, never broadcast against a row into n x n comparisons.

    Examples
    --------
    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1.0
    >>> accuracy(torch.tensor([[1], [0], [1]]), torch.tensor([1, 1, 1]))
    2.0
    """
    check_tensor("y_hat", y_hat, ndim=(1, 2))
    check_tensor("y", y, ndim=(1, 2))
    if y_hat.ndim == 2 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    column = f"shape {tuple(y.shape)}"
    check_value(
        "y", y, y.ndim == 1 or y.shape[1] == 1, "labels of shape (n,) or (n, 1)", got=column
    )
    y_hat, y = y_hat.reshape(-1), y.reshape(-1)
    check_same_length("y_hat", y_hat, "y", y)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter: Iterable, device: torch.device | str | None = None) -> float:
    """Return the accuracy (a ratio in [0, 1]) of ``net`` on ``data_iter``.

    ``device`` defaults to the device of the model's parameters (CPU for plain functions).

    Examples
    --------
    >>> net = nn.Linear(2, 2)
    >>> data_iter = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]
    >>> 0.0 <= evaluate_accuracy(net, data_iter) <= 1.0
    True
    """
    if isinstance(net, nn.Module):
        net.eval()  # evaluation mode: no dropout, BatchNorm uses its running statistics
    device = torch.device(device) if device is not None else model_device(net)
    metric = Accumulator(2)  # number of correct predictions, number of examples
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    check_value("data_iter", data_iter, metric[1] > 0, "an iterable of (X, y) batches", got="none")
    return metric[0] / metric[1]


def _summed_loss(l: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Sum of the per-example losses, for ``reduction='none'``, ``'mean'`` or ``'sum'``.

    A scalar loss is taken to be a mean (PyTorch's default); for ``reduction='sum'`` pass a
    loss object, whose ``reduction`` attribute is read in :func:`train_epoch_ch3`.
    """
    return l.sum() if l.ndim > 0 else l * batch_size


def train_epoch_ch3(net, train_iter: Iterable, loss, updater) -> tuple[float, float]:
    """Train ``net`` for one epoch; return (mean training loss, training accuracy).

    Parameters
    ----------
    net
        an ``nn.Module`` or a function mapping a batch ``X`` to scores.
    train_iter
        iterable of ``(X, y)`` minibatches.
    loss
        a loss with any ``reduction`` (``'none'``, ``'mean'`` or ``'sum'``).
    updater
        a ``torch.optim.Optimizer``, or a function ``updater(batch_size)`` that
        updates the parameters from gradients of the **summed** loss (d2l's ``sgd`` style).

    Returns
    -------
    tuple
        the mean loss per example and the accuracy, both over the epoch's batches as the
        parameters changed (training mode: dropout on).

    Examples
    --------
    >>> net = nn.Linear(2, 2)
    >>> batches = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]
    >>> loss_value, acc = train_epoch_ch3(net, batches, nn.CrossEntropyLoss(),
    ...                                   torch.optim.SGD(net.parameters(), lr=0.1))
    >>> loss_value > 0 and 0 <= acc <= 1
    True
    """
    if isinstance(net, nn.Module):
        net.train()
    device = model_device(net)
    reduction = getattr(loss, "reduction", None)
    metric = Accumulator(3)  # summed loss, number of correct predictions, number of examples
    for X, y in train_iter:
        X, y = X.to(device), y.to(device)
        y_hat = net(X)
        l = loss(y_hat, y)
        batch_size = y.shape[0]
        total = l if reduction == "sum" else _summed_loss(l, batch_size)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            (total / batch_size).backward()
            updater.step()
        else:
            total.backward()
            updater(batch_size)
        metric.add(float(total.detach()), accuracy(y_hat.detach(), y), batch_size)
    check_value(
        "train_iter", train_iter, metric[2] > 0, "an iterable of (X, y) batches", got="none"
    )
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(
    net,
    train_iter: Iterable,
    test_iter: Iterable,
    loss,
    num_epochs: int,
    updater,
    device: torch.device | str | None = None,
    animate: bool = True,
) -> History:
    """Train and evaluate ``net`` for ``num_epochs`` epochs; return the :class:`History`.

    The history holds ``train_loss``, ``train_acc`` and ``test_acc`` per epoch and the
    seconds each epoch took. ``nn.Module`` models are moved to ``device`` (default:
    :func:`try_gpu`); plain functions stay where their parameters are. With ``animate`` the
    curves are drawn by an :class:`~linbook.plotting.Animator` (one final figure in a
    notebook).

    Examples
    --------
    >>> from linbook.data import TensorLoader
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> data_iter = TensorLoader((X, y), batch_size=16)
    >>> net = nn.Linear(4, 3)
    >>> history = train_ch3(net, data_iter, data_iter, nn.CrossEntropyLoss(), 2,
    ...                     torch.optim.SGD(net.parameters(), lr=0.1), animate=False)
    >>> len(history), sorted(history.metrics)
    (2, ['test_acc', 'train_acc', 'train_loss'])
    """
    num_epochs = check_int("num_epochs", num_epochs, minimum=0)
    check_type(
        "updater",
        updater,
        (torch.optim.Optimizer, Callable),
        hint="pass an optimizer or a function updater(batch_size)",
    )
    if isinstance(net, nn.Module):
        net.to(torch.device(device) if device is not None else try_gpu())
    animator = None
    if animate:
        from .plotting import Animator

        animator = Animator(
            xlabel="epoch",
            xlim=[1, max(num_epochs, 1)],
            legend=["train loss", "train acc", "test acc"],
        )
    history = History("train_loss", "train_acc", "test_acc")
    for epoch in range(num_epochs):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.append(
            time.perf_counter() - start,
            train_loss=train_loss,
            train_acc=train_acc,
            test_acc=test_acc,
        )
        if animator is not None:
            animator.add(epoch + 1, (train_loss, train_acc, test_acc))
    return history


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """Minibatch SGD step from gradients of a **summed** loss, then zero the gradients.

    Examples
    --------
    >>> w = torch.ones(2, requires_grad=True)
    >>> (w * 3).sum().backward()
    >>> sgd([w], lr=0.1, batch_size=3)
    >>> w
    tensor([0.9000, 0.9000], requires_grad=True)
    """
    check_int("batch_size", batch_size, minimum=1)
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


# ---------------------------------------------------------------------------
# Shared by the recipes of chapter 2.3: results, optimizers, schedules, best epoch
# ---------------------------------------------------------------------------


class History:
    """The per-epoch results of one training run.

    Each metric named at construction is a list with one value per epoch, read as an
    attribute (``history.train_loss``); ``seconds`` holds each epoch's duration and
    ``best_epoch`` the 1-based epoch whose weights the model was left with (``None`` when
    the run kept its last weights).

    Examples
    --------
    >>> h = History("train_loss", "val_acc")
    >>> h.append(0.5, train_loss=1.2, val_acc=0.60)
    >>> h.append(0.5, train_loss=0.9, val_acc=0.70)
    >>> h.val_acc, len(h), h.best("val_acc")
    ([0.6, 0.7], 2, (2, 0.7))
    """

    def __init__(self, *metrics: str) -> None:
        names = bool(metrics) and all(isinstance(m, str) and m.isidentifier() for m in metrics)
        check_value("metrics", metrics, names, "one or more names such as 'train_loss'")
        self.metrics: dict[str, list[float]] = {name: [] for name in metrics}
        self.seconds: list[float] = []
        self.best_epoch: int | None = None

    def __getattr__(self, name: str) -> list[float]:
        metrics = self.__dict__.get("metrics", {})
        if name in metrics:
            return metrics[name]
        raise AttributeError(
            f"History has no metric {name!r}; it holds {', '.join(metrics) or 'none'}"
        )

    def append(self, seconds: float, **values: float) -> None:
        """Record one epoch: its duration and one value for every metric."""
        wanted = f"exactly one value for each of {sorted(self.metrics)}"
        check_value(
            "values", values, set(values) == set(self.metrics), wanted, got=f"{sorted(values)}"
        )
        self.seconds.append(float(seconds))
        for name, value in values.items():
            self.metrics[name].append(float(value))

    def __len__(self) -> int:
        return len(self.seconds)

    def best(self, metric: str, mode: str = "max") -> tuple[int, float]:
        """Return ``(epoch, value)`` of the best epoch by ``metric`` (1-based; first on ties)."""
        values = getattr(self, metric)
        if not values:
            raise ValueError("the history is empty")
        check_choice("mode", mode, ("max", "min"))
        index = int(np.argmax(values) if mode == "max" else np.argmin(values))
        return index + 1, values[index]

    def at(self, epoch: int, metric: str) -> float:
        """Return ``metric`` at the 1-based ``epoch`` (e.g. ``history.best_epoch``)."""
        epoch = check_int("epoch", epoch, minimum=1, maximum=len(self))
        return getattr(self, metric)[epoch - 1]

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.metrics.items() if v)
        return f"History({len(self)} epochs{': ' + last if last else ''})"


class KeepBest:
    """Remember the weights of the best epoch so far, and say when to stop early.

    Call :meth:`update` after every epoch with the model and its validation score;
    ``should_stop`` turns true after ``patience`` epochs without improvement
    (never when ``patience`` is ``None``); :meth:`restore` loads the best weights back.

    Examples
    --------
    >>> net = nn.Linear(1, 1)
    >>> keep = KeepBest(mode="min", patience=2)
    >>> for epoch, dev_mse in enumerate([3.0, 2.0, 2.5, 2.7], start=1):
    ...     _ = keep.update(net, dev_mse, epoch)
    >>> keep.best_epoch, keep.best_value, keep.should_stop
    (2, 2.0, True)
    """

    def __init__(self, mode: str = "min", patience: int | None = None) -> None:
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.patience = None if patience is None else check_int("patience", patience, minimum=1)
        self.best_value = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self._state: dict | None = None
        self._waited = 0

    def update(self, model: nn.Module, value: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s score; keep a copy of the weights if it is the best so far.

        Returns whether it improved on every earlier epoch.
        """
        value = float(value)
        better = value < self.best_value if self.mode == "min" else value > self.best_value
        if better:
            self.best_value, self.best_epoch, self._waited = value, epoch, 0
            self._state = copy.deepcopy(model.state_dict())
        else:
            self._waited += 1
        return better

    @property
    def should_stop(self) -> bool:
        """Whether ``patience`` epochs have passed without improvement."""
        return self.patience is not None and self._waited >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the best epoch's weights into ``model``."""
        if self._state is None:
            raise ValueError("no epoch was recorded: call update() after each epoch first")
        model.load_state_dict(self._state)


#: The optimizers :func:`make_optimizer` builds.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw")


def make_optimizer(
    params: Iterable,
    name: str = "sgd",
    lr: float = 0.1,
    weight_decay: float = 0.0,
    momentum: float = 0.0,
) -> torch.optim.Optimizer:
    """Build one of ``torch.optim``'s SGD, Adam or AdamW.

    ``"adam"`` adds the L2 penalty ``weight_decay * θ`` to the gradient (before Adam's
    scaling); ``"adamw"`` decays the weights directly (decoupled weight decay, Loshchilov &
    Hutter). ``momentum`` is SGD's only. Where PyTorch has a fused kernel for the
    parameters' device (CPU kernels since PyTorch 2.4) it is used: the same update in one
    call, about twice as fast for small networks.

    Examples
    --------
    >>> opt = make_optimizer(nn.Linear(2, 1).parameters(), "adamw", lr=1e-3, weight_decay=0.1)
    >>> type(opt).__name__, opt.defaults["weight_decay"]
    ('AdamW', 0.1)
    """
    check_choice("name", name, OPTIMIZERS)
    params = list(params)
    check_number("lr", lr, minimum=0, strict_minimum=True)
    check_number("weight_decay", weight_decay, minimum=0)
    check_number("momentum", momentum, minimum=0, maximum=1)
    if name == "sgd":
        cls, kwargs = torch.optim.SGD, {"momentum": momentum}
    else:
        check_value(
            "momentum", momentum, not momentum, f"0 ({name} keeps its own moment estimates)"
        )
        cls, kwargs = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[name], {}
    kwargs.update(lr=lr, weight_decay=weight_decay)
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or version
        return cls(params, **kwargs)


#: The learning-rate schedules :func:`lr_factor` and :func:`make_scheduler` know.
SCHEDULES: tuple[str, ...] = ("constant", "step", "cosine", "warmup-cosine")


def lr_factor(
    schedule: str,
    step: int,
    total_steps: int,
    warmup_steps: int = 0,
    step_size: int | None = None,
    gamma: float = 0.1,
) -> float:
    """The factor by which ``schedule`` multiplies the base learning rate at ``step``.

    Steps count from 0 (the first update) to ``total_steps - 1``:

    * ``"constant"``: 1;
    * ``"step"``: ``gamma ** (step // step_size)``, the rate cut by ``gamma`` every
      ``step_size`` steps;
    * ``"cosine"``: ``(1 + cos(π step / total_steps)) / 2``, from 1 down towards 0;
    * ``"warmup-cosine"``: ``(step + 1) / warmup_steps`` for the first ``warmup_steps``
      steps, then the cosine over the remaining steps.

    Examples
    --------
    >>> [round(lr_factor("cosine", s, 4), 3) for s in range(4)]
    [1.0, 0.854, 0.5, 0.146]
    >>> [lr_factor("warmup-cosine", s, 6, warmup_steps=2) for s in range(3)]
    [0.5, 1.0, 1.0]
    """
    check_choice("schedule", schedule, SCHEDULES)
    total_steps = check_int("total_steps", total_steps, minimum=1)
    step = check_int("step", step, minimum=0)
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        wanted = "given for the 'step' schedule (steps between two cuts)"
        check_value("step_size", step_size, step_size is not None, wanted)
        check_number("gamma", gamma, minimum=0, maximum=1, strict_minimum=True)
        return gamma ** (step // check_int("step_size", step_size, minimum=1))
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=0, maximum=total_steps - 1)
    if schedule == "cosine":
        warmup_steps = 0
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(step - warmup_steps, total_steps - warmup_steps) / (total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    schedule: str,
    total_steps: int,
    warmup_steps: int = 0,
    step_size: int | None = None,
    gamma: float = 0.1,
) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` that follows :func:`lr_factor`; call its ``step()`` after every update
    (or every epoch, if ``total_steps`` counts epochs).

    Examples
    --------
    >>> opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    >>> scheduler = make_scheduler(opt, "cosine", total_steps=4)
    >>> rates = []
    >>> for _ in range(4):
    ...     rates.append(round(opt.param_groups[0]["lr"], 4)); opt.step(); scheduler.step()
    >>> rates
    [0.1, 0.0854, 0.05, 0.0146]
    """
    lr_factor(schedule, 0, total_steps, warmup_steps, step_size, gamma)  # check the arguments
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: lr_factor(schedule, step, total_steps, warmup_steps, step_size, gamma),
    )
