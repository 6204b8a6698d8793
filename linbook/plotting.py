"""Plotting helpers (``plot``, ``show_images``, ``Animator``), call-compatible with d2l.

Figures are drawn with matplotlib. In Jupyter, :class:`Animator` redraws one figure in
place, so an executed notebook (and the built book) keeps exactly one final figure; in a
plain ``python`` script it draws nothing on screen and keeps the data (``animator.X``,
``animator.Y``) and the figure (``animator.fig``) for you to save.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt

from .checks import check_int

__all__ = [
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "Animator",
]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def use_svg_display() -> None:
    """Show figures as SVG in Jupyter (sharp at any zoom); does nothing outside Jupyter.

    Each figure is also stored as PDF in the cell's output: the book's HTML shows the SVG,
    its PDF edition (LaTeX) includes the PDF, so figures stay vector graphics in both.
    JupyterLab and the classic Notebook rank SVG above PDF and show the SVG.
    """
    if not _in_notebook():
        return
    from matplotlib_inline import backend_inline

    backend_inline.set_matplotlib_formats("svg", "pdf")


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set matplotlib's default figure size (inches) and use SVG display."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend) -> None:
    """Set the labels, limits, scales and legend of a matplotlib ``Axes``."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _has_one_axis(X) -> bool:
    return (hasattr(X, "ndim") and X.ndim == 1) or (
        isinstance(X, list) and not hasattr(X[0], "__len__")
    )


def _to_plain(values):
    """Accept tensors (also on a GPU or requiring grad), arrays and lists."""
    if hasattr(values, "detach"):
        return values.detach().cpu().numpy()
    return values


def plot(
    X,
    Y=None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim=None,
    ylim=None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
    figsize: tuple[float, float] = (3.5, 2.5),
    axes=None,
):
    """Plot one or several curves, as d2l's ``plot``.

    ``X`` and ``Y`` may be 1-D sequences, lists of them, tensors or arrays. With ``Y``
    omitted, ``X`` is plotted against its index. Returns the ``Axes`` drawn on.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(-3, 3, 0.1)
    >>> ax = plot(x, [x ** 2, np.exp(-x ** 2)], "x", "f(x)", legend=["x^2", "exp(-x^2)"])
    """
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes is not None else plt.gca()
    X = _to_plain(X)
    Y = _to_plain(Y) if Y is not None else None
    if isinstance(X, list):
        X = [_to_plain(x) for x in X]
    if isinstance(Y, list):
        Y = [_to_plain(y) for y in Y]
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
    return axes


def show_images(imgs, num_rows: int, num_cols: int, titles=None, scale: float = 1.5):
    """Show a grid of images (tensors or arrays, (H, W) or (H, W, C)) with optional titles.

    Returns the array of ``Axes``.

    Examples
    --------
    >>> import torch
    >>> axes = show_images(torch.rand(6, 28, 28), 2, 3, titles=list("abcdef"))
    """
    num_rows = check_int("num_rows", num_rows, minimum=1)
    num_cols = check_int("num_cols", num_cols, minimum=1)
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        ax.imshow(_to_plain(img), cmap="gray" if _to_plain(img).ndim == 2 else None)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    return axes


class Animator:
    """Plot data that arrives incrementally (e.g. one point per epoch), as d2l's ``Animator``.

    In Jupyter the figure is redrawn in place through one display handle, so the executed
    notebook keeps exactly one (the final) figure. Outside Jupyter nothing is shown; the
    points are kept in ``self.X`` / ``self.Y`` and the figure in ``self.fig``.

    Examples
    --------
    >>> animator = Animator(xlabel="epoch", xlim=[1, 3], legend=["loss"])
    >>> for epoch in range(1, 4):
    ...     animator.add(epoch, 1.0 / epoch)
    >>> animator.Y
    [[1.0, 0.5, 0.3333333333333333]]
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim=None,
        ylim=None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = ("-", "m--", "g-.", "r:"),
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
    ) -> None:
        if legend is None:
            legend = []
        use_svg_display()
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
        # Detach the figure from pyplot so the inline backend does not show it a second
        # time when the cell ends; it is shown only through the display handle below.
        plt.close(self.fig)
        self.axes = [axes] if nrows * ncols == 1 else list(axes.flatten())
        self.config_axes = lambda: set_axes(
            self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend
        )
        self.X: list[list[float]] | None = None
        self.Y: list[list[float]] | None = None
        self.fmts = fmts
        self._handle = None

    def add(self, x, y) -> None:
        """Add one point to each curve (``y`` may be a scalar or a sequence) and redraw."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if self.X is None:
            self.X = [[] for _ in range(n)]
        if self.Y is None:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        self.axes[0].cla()
        for x_values, y_values, fmt in zip(self.X, self.Y, self.fmts):
            self.axes[0].plot(x_values, y_values, fmt)
        self.config_axes()
        self._show()

    def _show(self) -> None:
        if not _in_notebook():
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)
