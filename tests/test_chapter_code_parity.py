"""The helpers that chapters 2.1 and 2.2 write out as plain code compute what linbook's compute.

Chapter 2.1 shows ``synthetic_data``, ``sgd`` and ``load_array``; chapter 2.2 shows the
training loop (``accuracy``, ``Accumulator``, ``evaluate_accuracy``, ``train_epoch_ch3``,
``train_ch3``). Both chapters then use linbook's versions (which add argument checks, devices,
timing and plots). These tests take the definitions out of the chapters' code cells and check
that, from the same weights on the same batches, both give the same numbers, so that the code
the reader sees and the code the book runs cannot drift apart. (The chapters check the same
when they are executed; these tests do it in a second, without the data.)
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import jupytext
import pytest
import torch
from torch import nn
from torch.utils import data

import linbook

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
TOLERANCE = 1e-6  # what the chapters promise: equal within 1e-6

LINREG_HELPERS = ("synthetic_data", "sgd", "load_array", "linreg", "squared_loss")
SOFTMAX_HELPERS = ("accuracy", "Accumulator", "evaluate_accuracy", "train_epoch_ch3", "train_ch3")


def chapter_definitions(name: str, wanted: tuple[str, ...]) -> dict:
    """Run the top-level ``def``/``class`` statements named ``wanted`` of a chapter's code cells.

    Only those definitions are executed (not the cells' other statements), in a namespace
    holding the chapter's imports that they use.
    """
    notebook = jupytext.read(CHAPTERS / f"{name}.md")
    found: dict[str, ast.stmt] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        # IPython magics (the Colab install cell) are not Python: read them as `pass`
        lines = [
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith("%")
            else line
            for line in cell.source.splitlines()
        ]
        for node in ast.parse("\n".join(lines)).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted:
                assert node.name not in found, f"{name}.md defines {node.name} twice"
                found[node.name] = node
    missing = sorted(set(wanted) - set(found))
    assert not missing, f"chapters/{name}.md no longer defines {missing}; update this test"
    namespace = {"torch": torch, "nn": nn, "data": data}
    module = ast.Module(body=[found[n] for n in wanted], type_ignores=[])
    exec(compile(module, f"chapters/{name}.md", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def linreg():
    return chapter_definitions("linear-regression", LINREG_HELPERS)


@pytest.fixture(scope="module")
def softmax():
    return chapter_definitions("softmax-regression", SOFTMAX_HELPERS)


def _batches(n_batches=4, batch_size=16, d=12, q=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(batch_size, 1, 3, d // 3, generator=generator),
            torch.randint(0, q, (batch_size,), generator=generator),
        )
        for _ in range(n_batches)
    ] + [  # a last, smaller batch, as when the batch size does not divide the data
        (
            torch.rand(5, 1, 3, d // 3, generator=generator),
            torch.randint(0, q, (5,), generator=generator),
        )
    ]


def _net(d=12, q=4, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(d, q))
    nn.init.normal_(net[1].weight, std=0.5)
    return net


def _max_gap(a, b) -> float:
    return max(float((p.detach() - q.detach()).abs().max()) for p, q in zip(a, b))


# --- chapter 2.1 ---------------------------------------------------------------------------


def test_synthetic_data_gives_linbooks_data_for_the_same_seed(linreg):
    w, b = torch.tensor([2, -3.4]), 4.2
    torch.manual_seed(0)
    ours = linreg["synthetic_data"](w, b, 50)
    torch.manual_seed(0)
    theirs = linbook.synthetic_data(w, b, 50)
    assert all(torch.equal(p, q) for p, q in zip(ours, theirs))
    assert ours[0].shape == (50, 2) and ours[1].shape == (50, 1)


def test_load_array_gives_linbooks_batches_epoch_after_epoch(linreg):
    X, y = torch.randn(37, 2), torch.randn(37, 1)
    orders = []
    for load_array in (linreg["load_array"], linbook.load_array):
        torch.manual_seed(3)
        orders.append([b for _ in range(3) for b in load_array((X, y), 8)])
    assert len(orders[0]) == len(orders[1]) == 3 * 5
    assert all(torch.equal(p, q) for bp, bq in zip(*orders) for p, q in zip(bp, bq))
    unshuffled = [len(b[0]) for b in linreg["load_array"]((X, y), 8, is_train=False)]
    assert unshuffled == [len(b[0]) for b in linbook.load_array((X, y), 8, is_train=False)]


def test_sgd_takes_linbooks_step_and_zeroes_the_gradient(linreg):
    X, y = torch.randn(7, 2), torch.randn(7, 1)
    results = []
    for sgd in (linreg["sgd"], linbook.sgd):
        w = torch.tensor([[0.3], [-0.2]], requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        linreg["squared_loss"](linreg["linreg"](X, w, b), y).sum().backward()
        sgd([w, b], 0.03, len(y))
        assert float(w.grad.abs().max()) == 0 and float(b.grad.abs().max()) == 0
        results.append((w.detach(), b.detach()))
    assert _max_gap(*results) == 0


# --- chapter 2.2 ---------------------------------------------------------------------------


def test_accuracy_counts_like_linbooks(softmax):
    generator = torch.Generator().manual_seed(1)
    scores = torch.randn(50, 4, generator=generator)
    y = torch.randint(0, 4, (50,), generator=generator)
    assert softmax["accuracy"](scores, y) == linbook.accuracy(scores, y)
    classes = scores.argmax(dim=1)
    assert softmax["accuracy"](classes, y) == linbook.accuracy(classes, y)
    assert softmax["accuracy"](scores, y) == float((classes == y).sum())  # a count, not a ratio


def test_accumulator_sums_like_linbooks(softmax):
    ours, theirs = softmax["Accumulator"](3), linbook.Accumulator(3)
    for values in [(1, 2.5, torch.tensor(3.0)), (4, 0.5, torch.tensor(-1.0))]:
        ours.add(*values)
        theirs.add(*values)
    assert [ours[i] for i in range(3)] == [theirs[i] for i in range(3)] == [5.0, 3.0, 2.0]
    ours.reset()
    assert [ours[i] for i in range(3)] == [0.0] * 3


def test_evaluate_accuracy_agrees_for_a_module_and_for_a_function(softmax):
    batches, net = _batches(), _net()
    assert softmax["evaluate_accuracy"](net, batches) == pytest.approx(
        linbook.evaluate_accuracy(net, batches), abs=TOLERANCE
    )
    W, b = torch.randn(4, 12), torch.randn(4)

    def scratch(X):
        return X.reshape(-1, 12) @ W.T + b

    assert softmax["evaluate_accuracy"](scratch, batches) == pytest.approx(
        linbook.evaluate_accuracy(scratch, batches), abs=TOLERANCE
    )


def test_one_epoch_with_an_optimizer_gives_linbooks_loss_accuracy_and_weights(softmax):
    batches, net = _batches(), _net()
    loss = nn.CrossEntropyLoss(reduction="none")  # the chapter's loss
    results = []
    for train_epoch in (softmax["train_epoch_ch3"], linbook.train_epoch_ch3):
        model = copy.deepcopy(net)
        metrics = train_epoch(model, batches, loss, torch.optim.SGD(model.parameters(), lr=0.5))
        results.append((metrics, [p.detach() for p in model.parameters()]))
    (ours, ours_weights), (theirs, theirs_weights) = results
    assert ours == pytest.approx(theirs, abs=TOLERANCE)
    assert _max_gap(ours_weights, theirs_weights) < TOLERANCE
    assert _max_gap(ours_weights, [p.detach() for p in net.parameters()]) > 0.01  # it trained


def test_one_epoch_with_a_function_updater_gives_linbooks_results(softmax):
    """The from-scratch setting of the chapter: own model, own cross-entropy, own updater."""
    batches = _batches()
    torch.manual_seed(2)
    W0, b0 = torch.randn(4, 12) * 0.5, torch.zeros(4)
    W, b = W0.clone().requires_grad_(True), b0.clone().requires_grad_(True)

    def net(X):
        return X.reshape(-1, 12) @ W.T + b

    def cross_entropy(O, y):
        return torch.logsumexp(O, dim=1) - O[range(len(O)), y]

    def updater(batch_size):
        with torch.no_grad():
            for param in (W, b):
                param -= 0.5 * param.grad / batch_size
                param.grad.zero_()

    results = []
    for train_epoch in (softmax["train_epoch_ch3"], linbook.train_epoch_ch3):
        with torch.no_grad():
            W.copy_(W0)
            b.copy_(b0)
        metrics = train_epoch(net, batches, cross_entropy, updater)
        results.append((metrics, [W.detach().clone(), b.detach().clone()]))
    (ours, ours_params), (theirs, theirs_params) = results
    assert ours == pytest.approx(theirs, abs=TOLERANCE)
    assert _max_gap(ours_params, theirs_params) < TOLERANCE
    assert _max_gap(ours_params, [W0, b0]) > 0.01


def test_train_ch3_gives_linbooks_history_epoch_by_epoch(softmax, capsys):
    train, test = _batches(seed=0), _batches(n_batches=2, seed=1)
    net = _net()
    loss = nn.CrossEntropyLoss(reduction="none")
    ours_net, theirs_net = copy.deepcopy(net), copy.deepcopy(net)
    ours = softmax["train_ch3"](
        ours_net, train, test, loss, 3, torch.optim.SGD(ours_net.parameters(), lr=0.5)
    )
    theirs = linbook.train_ch3(
        theirs_net,
        train,
        test,
        loss,
        3,
        torch.optim.SGD(theirs_net.parameters(), lr=0.5),
        device="cpu",
        animate=False,
    )
    assert len(ours) == len(theirs) == 3
    for epoch, row in enumerate(ours):
        expected = (theirs.train_loss[epoch], theirs.train_acc[epoch], theirs.test_acc[epoch])
        assert row == pytest.approx(expected, abs=TOLERANCE)
    assert _max_gap(list(ours_net.parameters()), list(theirs_net.parameters())) < TOLERANCE
    assert capsys.readouterr().out.count("epoch ") == 3  # the chapter's version prints each epoch
