import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot
import numpy as np
import pytest
import torch
from conftest import execute_cell

from linbook import Animator, plot, set_figsize, show_images

REPO = Path(__file__).resolve().parent.parent


def test_plot_draws_each_curve_against_x():
    x = np.linspace(-2, 2, 9)
    ax = plot(x, [x**2, torch.tensor(x) * 2], "x", "y", legend=["x^2", "2x"])
    lines = ax.get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_xdata(), x)
    np.testing.assert_allclose(lines[1].get_ydata(), 2 * x)
    assert ax.get_xlabel() == "x" and [t.get_text() for t in ax.get_legend().get_texts()] == [
        "x^2",
        "2x",
    ]


def test_plot_without_y_uses_the_index():
    ax = plot([3.0, 1.0, 2.0])
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0, 1, 2])


def test_set_figsize():
    set_figsize((4, 3))
    assert tuple(matplotlib.pyplot.rcParams["figure.figsize"]) == (4, 3)


def test_show_images_titles_and_grid():
    axes = show_images(torch.rand(5, 28, 28), 2, 3, titles=["a", "b", "c", "d", "e"])
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes[:5]] == ["a", "b", "c", "d", "e"]
    assert axes[0].get_images()[0].get_array().shape == (28, 28)
    with pytest.raises(ValueError, match="num_rows must be an int >= 1, got 0"):
        show_images(torch.rand(1, 2, 2), 0, 1)


def test_animator_keeps_points_outside_jupyter():
    animator = Animator(xlabel="epoch", xlim=[1, 3], legend=["a", "b"])
    for epoch in range(1, 4):
        animator.add(epoch, (1.0 / epoch, float(epoch)))
    assert animator.X == [[1, 2, 3], [1, 2, 3]]
    assert animator.Y[1] == [1.0, 2.0, 3.0]
    assert len(animator.axes[0].get_lines()) == 2


def test_animator_in_a_plain_python_script_does_not_crash(tmp_path):
    code = (
        "from linbook import Animator\n"
        "a = Animator(legend=['x'])\n"
        "for i in range(3): a.add(i, i * i)\n"
        "a.fig.savefig('out.png')\n"
        "print('ok', a.Y)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    env.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ok [[0.0, 1.0, 4.0]]" in result.stdout
    assert (tmp_path / "out.png").stat().st_size > 0  # the figure was drawn and saved


def test_animator_leaves_exactly_one_figure_in_an_executed_notebook(tmp_path):
    outputs = execute_cell(
        "from linbook import Animator\n"
        "animator = Animator(xlabel='epoch', legend=['loss'])\n"
        "for epoch in range(1, 6):\n"
        "    animator.add(epoch, 1 / epoch)",
        tmp_path,
    )
    figures = [
        o
        for o in outputs
        if "data" in o and ("image/png" in o["data"] or "image/svg+xml" in o["data"])
    ]
    assert len(figures) == 1, [o.get("output_type") for o in outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]


def test_no_submodule_shares_a_name_with_a_package_level_name():
    """``linbook.plot`` is the function: a module ``linbook/plot.py`` would take the name over
    once imported (an import binds the submodule on the package). Every module is imported
    here, then every package-level name is checked to still be what its module defines."""
    import importlib
    import pkgutil
    import types

    import linbook

    modules = [m.name for m in pkgutil.iter_modules(linbook.__path__)]
    assert set(modules).isdisjoint(linbook._EXPORTS), set(modules) & set(linbook._EXPORTS)
    for name in modules:
        importlib.import_module(f"linbook.{name}")
    for name, module in linbook._EXPORTS.items():
        value = getattr(linbook, name)
        assert not isinstance(value, types.ModuleType), name
        if callable(value):  # (a constant may be patched on its module by conftest)
            assert value is getattr(importlib.import_module(f"linbook.{module}"), name), name
    assert callable(linbook.plot)
