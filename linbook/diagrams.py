"""Network diagrams drawn with matplotlib (no external images).

Examples
--------
>>> ax = draw_network([4, 3], node_labels=[["$x_1$", "$x_2$", "$x_3$", "$x_4$"],
...                                        ["$o_1$", "$o_2$", "$o_3$"]])
"""

from __future__ import annotations

from collections.abc import Sequence

from .checks import check_int, check_same_length, check_value

__all__ = ["draw_network"]


def draw_network(
    layer_sizes: Sequence[int],
    node_labels: Sequence[Sequence[str | None]] | None = None,
    layer_names: Sequence[str] | None = None,
    figsize: tuple[float, float] = (4.0, 2.6),
    ax=None,
):
    """Draw fully connected layers bottom (inputs) to top (outputs), as in d2l's figures.

    Every node of a layer is joined to every node of the next one (gaps excepted).

    Parameters
    ----------
    layer_sizes
        Number of nodes per layer, inputs first, e.g. ``[4, 3]``.
    node_labels
        Optional text (English or ``$math$``) for each node, one list per layer. A label
        ``None`` marks a gap: "⋯" is written in that place and no node or edge is drawn
        (for inputs written "x_1, x_2, ⋯, x_d").
    layer_names
        Optional name written left of each layer, e.g. ``["input", "output"]``.
    figsize
        Size of a new figure (ignored when ``ax`` is given).
    ax
        A matplotlib ``Axes`` to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The ``Axes`` drawn on.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle

    from .plotting import use_svg_display

    sizes = list(layer_sizes)
    check_value("layer_sizes", layer_sizes, len(sizes) >= 2, "at least two layers, e.g. [4, 3]")
    for i, size in enumerate(sizes):
        check_int(f"layer_sizes[{i}]", size, minimum=1)
    if node_labels is not None:
        fits = len(node_labels) == len(sizes) and all(
            len(lab) == s for lab, s in zip(node_labels, sizes)
        )
        check_value("node_labels", node_labels, fits, "one list per layer, one label per node")
    if layer_names is not None:
        check_same_length("layer_names", layer_names, "layer_sizes", sizes, what="entries")
    use_svg_display()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    width = max(sizes)
    radius = 0.28

    def is_gap(layer: int, i: int) -> bool:
        return node_labels is not None and node_labels[layer][i] is None

    def positions(layer: int) -> list[tuple[float, float]]:
        n = sizes[layer]
        offset = (width - n) / 2
        return [(offset + i, float(layer)) for i in range(n)]

    for layer in range(len(sizes) - 1):
        for i, (x0, y0) in enumerate(positions(layer)):
            for j, (x1, y1) in enumerate(positions(layer + 1)):
                if is_gap(layer, i) or is_gap(layer + 1, j):
                    continue
                ax.annotate(
                    "",
                    xy=(x1, y1 - radius),
                    xytext=(x0, y0 + radius),
                    arrowprops=dict(arrowstyle="->", color="0.45", lw=0.8, shrinkA=0, shrinkB=0),
                )
    for layer in range(len(sizes)):
        for i, (x, y) in enumerate(positions(layer)):
            if is_gap(layer, i):
                ax.text(x, y, r"$\cdots$", ha="center", va="center", zorder=4)
                continue
            ax.add_patch(
                Circle((x, y), radius, facecolor="white", edgecolor="black", lw=1.2, zorder=3)
            )
            if node_labels is not None:
                ax.text(x, y, node_labels[layer][i], ha="center", va="center", zorder=4)
        if layer_names is not None:
            ax.text(-0.6, float(layer), layer_names[layer], ha="right", va="center")
    left = -0.6 - (2.0 if layer_names is not None else 0.0)
    ax.set_xlim(left, width - 1 + 0.6)
    ax.set_ylim(-0.6, len(sizes) - 1 + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
