import pytest
import torch
from torch import nn

from linbook import (
    Accumulator,
    accuracy,
    evaluate_accuracy,
    set_seed,
    sgd,
    train_ch3,
    train_epoch_ch3,
    try_gpu,
)
from linbook.data import TensorLoader


def _toy_problem(n=96, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 4, generator=generator)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()  # 3 classes
    return X, y


def test_accumulator():
    metric = Accumulator(3)
    metric.add(1, 2, 3)
    metric.add(0.5, torch.tensor(1.0), 2)
    assert metric.data == [1.5, 3.0, 5.0] and metric[1] == 3.0
    metric.reset()
    assert metric.data == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="expected 3 values"):
        metric.add(1, 2)


def test_accuracy_counts_correct_predictions():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.5, 0.2, 0.3], [0.2, 0.7, 0.1]])
    y = torch.tensor([2, 1, 1])
    assert accuracy(y_hat, y) == 2.0
    assert accuracy(torch.tensor([2, 0, 1]), y) == 2.0  # class indices work too
    with pytest.raises(ValueError, match="rows"):
        accuracy(y_hat, y[:2])


def test_evaluate_accuracy_is_a_ratio():
    X, y = _toy_problem()
    net = nn.Linear(4, 3)
    expected = (net(X).argmax(1) == y).float().mean().item()
    assert evaluate_accuracy(net, TensorLoader((X, y), 10)) == pytest.approx(expected)


@pytest.mark.parametrize("reduction", ["mean", "none", "sum"])
def test_train_epoch_reports_mean_loss_for_any_reduction(reduction):
    """The reported loss is the mean per-example loss, and the update is the same."""
    X, y = _toy_problem()
    results = {}
    for red in ("mean", reduction):
        torch.manual_seed(0)
        net = nn.Linear(4, 3)
        before = nn.functional.cross_entropy(net(X), y).item()
        updater = torch.optim.SGD(net.parameters(), lr=0.0)  # lr 0: loss reported on fixed weights
        loss, acc = train_epoch_ch3(
            net, TensorLoader((X, y), 32), nn.CrossEntropyLoss(reduction=red), updater
        )
        assert loss == pytest.approx(before, rel=1e-5)
        torch.manual_seed(0)
        net = nn.Linear(4, 3)
        train_epoch_ch3(
            net,
            TensorLoader((X, y), 32),
            nn.CrossEntropyLoss(reduction=red),
            torch.optim.SGD(net.parameters(), lr=0.5),
        )
        results[red] = net.weight.detach().clone()
    assert torch.allclose(results["mean"], results[reduction], atol=1e-6)


def test_custom_updater_gets_gradients_of_the_summed_loss():
    X, y = _toy_problem()
    torch.manual_seed(0)
    W0 = torch.normal(0, 0.01, (4, 3))
    W = W0.clone().requires_grad_(True)
    b = torch.zeros(3, requires_grad=True)

    def net(X):
        return X @ W + b

    def updater(batch_size):
        sgd([W, b], lr=0.5, batch_size=batch_size)

    train_epoch_ch3(net, TensorLoader((X, y), 32), nn.CrossEntropyLoss(reduction="none"), updater)
    reference = nn.Linear(4, 3)
    with torch.no_grad():
        reference.weight.copy_(W0.T)
        reference.bias.zero_()
    train_epoch_ch3(
        reference,
        TensorLoader((X, y), 32),
        nn.CrossEntropyLoss(),
        torch.optim.SGD(reference.parameters(), lr=0.5),
    )
    assert torch.allclose(W.detach().T, reference.weight.detach(), atol=1e-6)


def test_train_ch3_returns_history_and_learns():
    X, y = _toy_problem(n=300)
    set_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    data_iter = TensorLoader((X, y), 30, shuffle=True)
    history = train_ch3(
        net,
        data_iter,
        data_iter,
        nn.CrossEntropyLoss(),
        15,
        torch.optim.SGD(net.parameters(), lr=0.3),
        animate=False,
    )
    assert len(history) == 15 == len(history.test_acc) == len(history.seconds)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.test_acc[-1] > 0.8
    assert list(history)[0] == (history.train_loss[0], history.train_acc[0], history.test_acc[0])


def test_train_ch3_is_deterministic_with_a_seed():
    X, y = _toy_problem()
    runs = []
    for _ in range(2):
        set_seed(3)
        net = nn.Linear(4, 3)
        history = train_ch3(
            net,
            TensorLoader((X, y), 16, shuffle=True),
            TensorLoader((X, y), 16),
            nn.CrossEntropyLoss(),
            3,
            torch.optim.SGD(net.parameters(), lr=0.1),
            animate=False,
        )
        runs.append(history.train_loss)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("num_epochs, error", [(-1, ValueError), (2.5, TypeError)])
def test_train_ch3_rejects_bad_num_epochs(num_epochs, error):
    X, y = _toy_problem()
    net = nn.Linear(4, 3)
    with pytest.raises(error, match="num_epochs"):
        train_ch3(
            net,
            [(X, y)],
            [(X, y)],
            nn.CrossEntropyLoss(),
            num_epochs,
            torch.optim.SGD(net.parameters(), lr=0.1),
            animate=False,
        )


def test_train_ch3_rejects_a_bad_updater():
    X, y = _toy_problem()
    with pytest.raises(TypeError, match="updater"):
        train_ch3(nn.Linear(4, 3), [(X, y)], [(X, y)], nn.CrossEntropyLoss(), 1, 0.1, animate=False)


def test_set_seed_and_try_gpu():
    set_seed(5)
    a = torch.rand(3)
    set_seed(5)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)
    device = try_gpu()
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert try_gpu(10_000).type == "cpu"


def test_sgd_step():
    w = torch.ones(2, requires_grad=True)
    (w * 3).sum().backward()
    sgd([w], lr=0.1, batch_size=3)
    assert torch.allclose(w.detach(), torch.tensor([0.9, 0.9]))
    assert torch.equal(w.grad, torch.zeros(2))
    with pytest.raises(ValueError, match="batch_size"):
        sgd([w], 0.1, 0)
