"""Classification metrics: predictions, confusion matrix, most confused pairs and plots.

Used from chapter 2.2 on to look past the single accuracy number: which classes a model
mixes up, and which test images it gets wrong.

Examples
--------
>>> import torch
>>> cm = confusion_matrix(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]), 3)
>>> cm.tolist()
[[1, 1, 0], [0, 1, 0], [0, 0, 1]]
>>> most_confused(cm, k=1)
[(0, 1, 1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from .checks import check_int, check_same_length, check_tensor, check_value
from .train import model_device

__all__ = [
    "predict",
    "confusion_matrix",
    "per_class_accuracy",
    "most_confused",
    "plot_confusion_matrix",
    "predict_ch3",
]


def _as_label_tensor(values, name: str) -> torch.Tensor:
    t = check_tensor(name, torch.as_tensor(values), ndim=1)
    if t.numel():
        check_tensor(name, t, dtype="integer")
    return t.long().cpu()


def predict(
    net, data_iter: Iterable, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(y_true, y_pred)``: the labels and predicted classes of every example.

    Parameters
    ----------
    net
        An ``nn.Module`` or a function mapping a batch ``X`` to class scores (B, q).
    data_iter
        Iterable of ``(X, y)`` minibatches.
    device
        Where to run ``net`` (default: the device of its parameters, else the CPU).

    Returns
    -------
    tuple[torch.Tensor, torch.Tensor]
        Two int64 CPU tensors of shape (n,), in the order of ``data_iter``.

    Examples
    --------
    >>> net = nn.Linear(2, 2)
    >>> y_true, y_pred = predict(net, [(torch.randn(5, 2), torch.zeros(5, dtype=torch.long))])
    >>> y_true.shape, y_pred.shape
    (torch.Size([5]), torch.Size([5]))
    """
    if isinstance(net, nn.Module):
        net.eval()
    device = torch.device(device) if device is not None else model_device(net)
    trues, preds = [], []
    with torch.no_grad():
        for X, y in data_iter:
            scores = net(X.to(device))
            check_value(
                "net",
                net,
                scores.ndim == 2,
                "a model returning scores of shape (batch, classes)",
                got=f"output of shape {tuple(scores.shape)}",
            )
            preds.append(scores.argmax(dim=1).cpu())
            trues.append(y.reshape(-1).long().cpu())
    check_value("data_iter", data_iter, bool(trues), "an iterable of (X, y) batches", got="none")
    return torch.cat(trues), torch.cat(preds)


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> torch.Tensor:
    """Count how often class ``i`` (row) was predicted as class ``j`` (column).

    Parameters
    ----------
    y_true, y_pred
        1-D integer sequences (tensors, arrays or lists) of equal length.
    num_classes
        The number of classes q; default ``max(y_true, y_pred) + 1``.

    Returns
    -------
    torch.Tensor
        int64 counts of shape (q, q): row sums are the class sizes, the diagonal the hits.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1], [0, 0, 1]).tolist()
    [[1, 0], [1, 1]]
    """
    y_true = _as_label_tensor(y_true, "y_true")
    y_pred = _as_label_tensor(y_pred, "y_pred")
    check_same_length("y_true", y_true, "y_pred", y_pred, what="labels")
    for name, t in (("y_true", y_true), ("y_pred", y_pred)):
        check_value(
            name, t, not len(t) or int(t.min()) >= 0, "class indices >= 0", got="a negative index"
        )
    observed = int(max(y_true.max(), y_pred.max())) + 1 if len(y_true) else 0
    if num_classes is None:
        num_classes = observed
    else:
        check_int("num_classes", num_classes, minimum=1)
        wanted = f"> {observed - 1}, the largest class index found"
        check_value("num_classes", num_classes, observed <= num_classes, wanted)
    flat = y_true * num_classes + y_pred
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


def _check_square(cm) -> torch.Tensor:
    cm = torch.as_tensor(cm)
    square = cm.ndim == 2 and cm.shape[0] == cm.shape[1]
    return check_value(
        "cm", cm, square, "a square confusion matrix (q, q)", got=f"shape {tuple(cm.shape)}"
    )


def per_class_accuracy(cm) -> torch.Tensor:
    """Return each class's accuracy (recall): ``cm[i, i] / cm[i].sum()``, as float64.

    Classes with no example get ``nan``.

    Examples
    --------
    >>> per_class_accuracy(torch.tensor([[3, 1], [0, 2]])).tolist()
    [0.75, 1.0]
    """
    cm = _check_square(cm).double()
    return cm.diagonal() / cm.sum(dim=1)


def most_confused(cm, k: int = 5, labels: Sequence[str] | None = None) -> list[tuple]:
    """Return the ``k`` largest off-diagonal entries as ``(true, predicted, count)``.

    ``true`` and ``predicted`` are class indices, or names when ``labels`` is given; ties
    keep row-major order; entries equal to zero are left out.

    Examples
    --------
    >>> most_confused(torch.tensor([[5, 2], [4, 9]]), k=2, labels=["a", "b"])
    [('b', 'a', 4), ('a', 'b', 2)]
    """
    cm = _check_square(cm)
    check_int("k", k, minimum=1)
    q = cm.shape[0]
    if labels is not None:
        check_same_length("labels", labels, "cm", cm, what="entries (one name per class)")
    pairs = [(int(cm[i, j]), i, j) for i in range(q) for j in range(q) if i != j and cm[i, j] > 0]
    pairs.sort(key=lambda p: -p[0])  # stable: ties stay in row-major order
    name = (lambda i: labels[i]) if labels is not None else (lambda i: i)
    return [(name(i), name(j), count) for count, i, j in pairs[:k]]


def plot_confusion_matrix(
    cm,
    labels: Sequence[str] | None = None,
    normalize: bool = True,
    figsize: tuple[float, float] = (5.5, 4.5),
    ax=None,
    cmap: str = "Blues",
):
    """Draw a confusion matrix as a heat map, rows = true class, columns = predicted class.

    Parameters
    ----------
    cm
        The (q, q) counts, e.g. from :func:`confusion_matrix`.
    labels
        Class names for the ticks (English: no CJK font is assumed).
    normalize
        Show each row as fractions of its class (the diagonal is per-class accuracy).
    figsize
        Size of a new figure (ignored when ``ax`` is given).
    ax
        A matplotlib ``Axes`` to draw on; default a new figure.
    cmap
        A matplotlib colour map.

    Returns
    -------
    matplotlib.axes.Axes
        The ``Axes`` drawn on.

    Examples
    --------
    >>> ax = plot_confusion_matrix(torch.tensor([[3, 1], [0, 2]]), labels=["a", "b"])
    """
    import matplotlib.pyplot as plt

    from .plotting import use_svg_display

    cm = _check_square(cm)
    q = cm.shape[0]
    if labels is not None:
        check_same_length("labels", labels, "cm", cm, what="entries (one name per class)")
    values = cm.double()
    if normalize:
        values = values / values.sum(dim=1, keepdim=True).clamp(min=1)
    use_svg_display()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    image = ax.imshow(values.numpy(), cmap=cmap, vmin=0)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    threshold = float(values.max()) / 2
    for i in range(q):
        for j in range(q):
            v = float(values[i, j])
            text = f"{v:.2f}" if normalize else f"{int(cm[i, j])}"
            if normalize and v < 0.005:
                text = ""
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > threshold else "black",
            )
    ticks = list(range(q))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    if labels is not None:
        ax.set_xticklabels(labels, rotation=45, ha="right")
        ax.set_yticklabels(labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    return ax


def predict_ch3(
    net,
    test_iter: Iterable,
    n: int = 6,
    labels_fn: Callable[[torch.Tensor], list[str]] | None = None,
    num_rows: int = 1,
):
    """Show the first ``n`` images of ``test_iter`` titled "true / predicted" (as d2l's).

    Parameters
    ----------
    net
        A model mapping a batch of images to class scores.
    test_iter
        Iterable of ``(X, y)`` batches of images (B, 1, H, W) or (B, H, W).
    n
        Number of images (taken from the first batch, so ``n`` <= batch size).
    labels_fn
        Maps class indices to names; default ``linbook.get_fashion_mnist_labels``.
    num_rows
        Rows of the grid.

    Returns
    -------
    numpy.ndarray
        The array of matplotlib ``Axes`` from ``linbook.show_images``.
    """
    from .fashion_mnist import get_fashion_mnist_labels
    from .plotting import show_images

    check_int("n", n, minimum=1)
    labels_fn = labels_fn or get_fashion_mnist_labels
    X, y = next(iter(test_iter))
    check_int("n", n, maximum=len(y))  # the images come from the first batch
    _, y_pred = predict(net, [(X[:n], y[:n])])
    titles = [f"{t}\n{p}" for t, p in zip(labels_fn(y[:n]), labels_fn(y_pred))]
    images = X[:n].reshape(n, X.shape[-2], X.shape[-1])
    num_cols = -(-n // num_rows)
    return show_images(images, num_rows, num_cols, titles=titles)
