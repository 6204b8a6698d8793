"""Training helpers for classification (chapter 2.2 on), call-compatible with d2l 0.17.6.

Differences from d2l, on purpose:

* the reported training loss is the mean loss per example whether the loss function
  uses ``reduction='mean'`` (``nn.CrossEntropyLoss()``) or ``reduction='none'``;
* no ``assert`` on the final accuracy: the per-epoch history is returned instead;
* ``nn.Module`` models run on a GPU when one is present (:func:`try_gpu`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

__all__ = [
    "set_seed",
    "try_gpu",
    "Accumulator",
    "accuracy",
    "evaluate_accuracy",
    "train_epoch_ch3",
    "train_ch3",
    "History",
    "sgd",
]


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (CPU and all GPUs)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def try_gpu(i: int = 0) -> torch.device:
    """Return ``cuda:i`` if that GPU exists, else the CPU."""
    if torch.cuda.is_available() and torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
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
        if not isinstance(n, int) or n <= 0:
            raise ValueError(f"n must be a positive int, got {n!r}")
        self.data = [0.0] * n

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
    class indices (shape (n,)).

    Examples
    --------
    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1.0
    """
    if y_hat.ndim > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    if y_hat.shape[0] != y.shape[0]:
        raise ValueError(f"y_hat has {y_hat.shape[0]} rows but y has {y.shape[0]}")
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def _model_device(net) -> torch.device:
    if isinstance(net, nn.Module):
        for p in net.parameters():
            return p.device
    return torch.device("cpu")


def evaluate_accuracy(net, data_iter: Iterable, device: torch.device | str | None = None) -> float:
    """Return the accuracy (a ratio in [0, 1]) of ``net`` on ``data_iter``.

    ``device`` defaults to the device of the model's parameters (CPU for plain functions).
    """
    if isinstance(net, nn.Module):
        net.eval()
    device = torch.device(device) if device is not None else _model_device(net)
    correct, total = 0.0, 0
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            correct += accuracy(net(X), y)
            total += y.numel()
    if total == 0:
        raise ValueError("data_iter yielded no examples")
    return correct / total


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
    """
    if isinstance(net, nn.Module):
        net.train()
    device = _model_device(net)
    reduction = getattr(loss, "reduction", None)
    loss_sum, correct, count = 0.0, 0.0, 0
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
        loss_sum += float(total.detach())
        correct += accuracy(y_hat.detach(), y)
        count += batch_size
    if count == 0:
        raise ValueError("train_iter yielded no examples")
    return loss_sum / count, correct / count


@dataclass
class History:
    """Per-epoch results of :func:`train_ch3` (lists of equal length)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.train_loss)

    def __iter__(self):
        """Iterate over ``(train_loss, train_acc, test_acc)`` per epoch."""
        return iter(zip(self.train_loss, self.train_acc, self.test_acc))


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

    ``nn.Module`` models are moved to ``device`` (default: :func:`try_gpu`); plain functions
    stay where their parameters are. With ``animate`` the curves are drawn by an
    :class:`~linbook.plot.Animator` (one final figure in a notebook).

    Examples
    --------
    >>> from linbook.data import TensorLoader
    >>> X, y = torch.randn(64, 4), torch.randint(0, 3, (64,))
    >>> data_iter = TensorLoader((X, y), batch_size=16)
    >>> net = nn.Linear(4, 3)
    >>> history = train_ch3(net, data_iter, data_iter, nn.CrossEntropyLoss(), 2,
    ...                     torch.optim.SGD(net.parameters(), lr=0.1), animate=False)
    >>> len(history)
    2
    """
    if not isinstance(num_epochs, int) or isinstance(num_epochs, bool):
        raise TypeError(f"num_epochs must be an int, got {type(num_epochs).__name__}")
    if num_epochs < 0:
        raise ValueError(f"num_epochs must be >= 0, got {num_epochs}")
    if not (isinstance(updater, torch.optim.Optimizer) or callable(updater)):
        raise TypeError("updater must be a torch.optim.Optimizer or a function updater(batch_size)")
    if isinstance(net, nn.Module):
        net.to(torch.device(device) if device is not None else try_gpu())
    animator = None
    if animate:
        from .plot import Animator

        animator = Animator(
            xlabel="epoch",
            xlim=[1, max(num_epochs, 1)],
            legend=["train loss", "train acc", "test acc"],
        )
    history = History()
    for epoch in range(num_epochs):
        start = time.perf_counter()
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.seconds.append(time.perf_counter() - start)
        history.train_loss.append(train_loss)
        history.train_acc.append(train_acc)
        history.test_acc.append(test_acc)
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
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
