"""linbook's training path computes what d2l 0.17.6's computes, on the same batch and weights.

The benchmark (``bench/bench_fashion_mnist.py``, ``make bench``) compares the speed of the two
paths; these tests check that it compares like with like. d2l is installed by ``make setup``
into ``bench/.d2l`` (never into the book's environment); without it the tests are skipped.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_idx
from torch import nn

import linbook
from linbook.train import evaluate_accuracy, sgd, train_epoch_ch3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from d2l_path import (  # noqa: E402
    d2l_load_data_fashion_mnist,
    import_d2l,
    prepare_torchvision_root,
)

LR = 0.1


@pytest.fixture(scope="module")
def d2l():
    try:
        return import_d2l()
    except ImportError as err:
        if os.environ.get("LINBOOK_REQUIRE_D2L"):  # `make unit` installs it: missing is an error
            pytest.fail(str(err))
        pytest.skip(str(err))  # says how to install d2l 0.17.6 into bench/.d2l


def _fixed_batches(n_batches=2, batch_size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(batch_size, 1, 28, 28, generator=generator),
            torch.randint(0, 10, (batch_size,), generator=generator),
        )
        for _ in range(n_batches)
    ]


def _chapter_net(seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.normal_(net[1].weight, std=0.01)
    return net


def test_accuracy_and_evaluate_accuracy_agree(d2l):
    net = _chapter_net()
    batches = _fixed_batches(3)
    X, y = batches[0]
    assert linbook.accuracy(net(X), y) == d2l.accuracy(net(X), y)
    assert evaluate_accuracy(net, batches) == pytest.approx(
        d2l.evaluate_accuracy(net, batches), abs=1e-12
    )


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True")
def test_one_epoch_with_an_optimizer_gives_the_same_loss_accuracy_and_weights(d2l):
    """The chapter's setting as d2l's book writes it: reduction='none' and torch.optim.SGD."""
    batches = _fixed_batches()
    net_d2l = _chapter_net()
    net_lb = copy.deepcopy(net_d2l)
    loss = nn.CrossEntropyLoss(reduction="none")
    d2l_result = d2l.train_epoch_ch3(
        net_d2l, batches, loss, torch.optim.SGD(net_d2l.parameters(), lr=LR)
    )
    lb_result = train_epoch_ch3(net_lb, batches, loss, torch.optim.SGD(net_lb.parameters(), lr=LR))
    assert lb_result[0] == pytest.approx(d2l_result[0], rel=1e-6)  # mean loss per example
    assert lb_result[1] == d2l_result[1]  # training accuracy
    for p_d2l, p_lb in zip(net_d2l.parameters(), net_lb.parameters()):
        assert torch.allclose(p_d2l, p_lb, atol=1e-7)
    assert not torch.equal(net_lb[1].weight, _chapter_net()[1].weight)  # it did train


def _softmax(X):
    """d2l's from-scratch softmax (section 3.6 of its book; not in its library)."""
    X_exp = torch.exp(X)
    return X_exp / X_exp.sum(1, keepdim=True)


def _cross_entropy(y_hat, y):
    """d2l's from-scratch cross-entropy on probabilities (section 3.6 of its book)."""
    return -torch.log(y_hat[range(len(y_hat)), y])


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True")
def test_one_epoch_from_scratch_with_a_sgd_updater_gives_the_same_results(d2l):
    """The from-scratch setting: a plain function as net, updater(batch_size) calling sgd."""
    batches = _fixed_batches()
    torch.manual_seed(1)
    W0, b0 = torch.normal(0, 0.01, (784, 10)), torch.zeros(10)
    results, params = {}, {}
    for name, train_epoch, sgd_fn in (
        ("d2l", d2l.train_epoch_ch3, d2l.sgd),
        ("linbook", train_epoch_ch3, sgd),
    ):
        W, b = W0.clone().requires_grad_(True), b0.clone().requires_grad_(True)

        def net(X, W=W, b=b):
            return _softmax(X.reshape(-1, 784) @ W + b)

        def updater(batch_size, W=W, b=b, sgd_fn=sgd_fn):
            sgd_fn([W, b], LR, batch_size)

        results[name] = train_epoch(net, batches, _cross_entropy, updater)
        params[name] = (W.detach(), b.detach())
    assert results["linbook"][0] == pytest.approx(results["d2l"][0], rel=1e-6)
    assert results["linbook"][1] == results["d2l"][1]
    assert torch.allclose(params["linbook"][0], params["d2l"][0], atol=1e-7)
    assert torch.allclose(params["linbook"][1], params["d2l"][1], atol=1e-7)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True")
def test_mean_reduction_same_update_but_d2l_reports_the_loss_divided_by_the_batch_size(d2l):
    """With the seed's nn.CrossEntropyLoss() (reduction='mean') d2l sums a scalar mean, so it
    reports the per-example loss divided by the batch size; linbook reports the mean loss
    itself (a documented difference). The parameter updates are identical."""
    batches = _fixed_batches(n_batches=1, batch_size=32)
    net_d2l = _chapter_net()
    net_lb = copy.deepcopy(net_d2l)
    loss = nn.CrossEntropyLoss()
    d2l_loss, d2l_acc = d2l.train_epoch_ch3(
        net_d2l, batches, loss, torch.optim.SGD(net_d2l.parameters(), lr=LR)
    )
    lb_loss, lb_acc = train_epoch_ch3(
        net_lb, batches, loss, torch.optim.SGD(net_lb.parameters(), lr=LR)
    )
    assert lb_loss == pytest.approx(32 * d2l_loss, rel=1e-6)
    assert lb_acc == d2l_acc
    assert torch.allclose(net_d2l[1].weight, net_lb[1].weight, atol=1e-7)


N_TEST = 300  # more than one batch of 256


@pytest.fixture
def d2l_loaders(d2l, data_locations, tmp_path):
    """d2l's loaders on Fashion-MNIST-shaped files written here (random pixels and labels), the
    files linbook reads from $LINBOOK_DATA: the same on every machine, whatever its caches
    hold. (Both paths accept small files: only full-size ones are checked against the real
    data's checksum.)"""
    rng = np.random.default_rng(0)
    folder = data_locations.data / "fashion-mnist"
    for prefix, n in (("train", 10), ("t10k", N_TEST)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))
    prepare_torchvision_root(tmp_path / "d2l-data")
    return d2l_load_data_fashion_mnist(d2l, 256, tmp_path / "d2l-data")


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad=True")
def test_both_loaders_give_the_same_real_batch_and_the_same_loss_and_accuracy(d2l, d2l_loaders):
    """d2l's torchvision pipeline and linbook's in-memory loader: first test batch, then one
    training step on it through each path."""
    _, d2l_test = d2l_loaders
    _, lb_test = linbook.load_data_fashion_mnist(256)
    X_d2l, y_d2l = next(iter(d2l_test))
    X_lb, y_lb = next(iter(lb_test))
    assert X_d2l.shape == X_lb.shape == (256, 1, 28, 28)
    assert torch.equal(X_d2l, X_lb) and torch.equal(y_d2l, y_lb)
    assert len(d2l_test.dataset) == len(lb_test.dataset) == N_TEST

    net_d2l = _chapter_net()
    net_lb = copy.deepcopy(net_d2l)
    loss = nn.CrossEntropyLoss(reduction="none")
    d2l_result = d2l.train_epoch_ch3(
        net_d2l, [(X_d2l, y_d2l)], loss, torch.optim.SGD(net_d2l.parameters(), lr=LR)
    )
    lb_result = train_epoch_ch3(
        net_lb, [(X_lb, y_lb)], loss, torch.optim.SGD(net_lb.parameters(), lr=LR)
    )
    assert lb_result[0] == pytest.approx(d2l_result[0], rel=1e-6)
    assert lb_result[1] == d2l_result[1]
    assert torch.allclose(net_d2l[1].weight, net_lb[1].weight, atol=1e-7)
