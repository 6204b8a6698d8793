import matplotlib
import pytest
from matplotlib.patches import Circle

from linbook import diagrams


def test_draw_network_draws_every_node_and_every_connection():
    labels = [["$x_1$", "$x_2$", "$x_3$", "$x_4$"], ["$o_1$", "$o_2$", "$o_3$"]]
    ax = diagrams.draw_network([4, 3], node_labels=labels, layer_names=["input", "output"])
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 7
    annotations = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(annotations) == 4 * 3  # fully connected: one arrow per (input, output) pair
    texts = {t.get_text() for t in ax.texts if not isinstance(t, matplotlib.text.Annotation)}
    assert {"$x_1$", "$o_3$", "input", "output"} <= texts
    # outputs are drawn above inputs
    inputs = sorted(c.center[1] for c in circles)[:4]
    outputs = sorted(c.center[1] for c in circles)[4:]
    assert max(inputs) < min(outputs)


def test_draw_network_with_three_layers_and_no_labels():
    ax = diagrams.draw_network([2, 5, 1])
    annotations = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(annotations) == 2 * 5 + 5 * 1


def test_draw_network_gap_writes_dots_without_node_or_edges():
    labels = [["$x_1$", "$x_2$", None, "$x_d$"], ["$o_1$"]]
    ax = diagrams.draw_network([4, 1], node_labels=labels)
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert len(circles) == 3 + 1
    annotations = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(annotations) == 3  # one arrow per real input
    dots = [t for t in ax.texts if t.get_text() == r"$\cdots$"]
    assert len(dots) == 1
    # the dots sit between x_2 and x_d, in the input row
    x_positions = {t.get_text(): t.get_position() for t in ax.texts}
    assert x_positions["$x_2$"][0] < dots[0].get_position()[0] < x_positions["$x_d$"][0]
    assert dots[0].get_position()[1] == x_positions["$x_1$"][1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(layer_sizes=[3]), "layer_sizes must be at least two layers"),
        (dict(layer_sizes=[3, 0]), r"layer_sizes\[1\] must be an int >= 1, got 0"),
        (dict(layer_sizes=[2, 1], node_labels=[["a"], ["b"]]), "one label per node"),
        (
            dict(layer_sizes=[2, 1], layer_names=["in"]),
            "layer_names has 1 entries but layer_sizes has 2",
        ),
    ],
)
def test_draw_network_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diagrams.draw_network(**kwargs)
