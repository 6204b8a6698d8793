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
    with pytest.raises(ValueError, match="y_hat has 3 rows but y has 2"):
        accuracy(y_hat, y[:2])
    with pytest.raises(TypeError, match="y_hat must be a Tensor, got list"):
        accuracy([2, 0, 1], y)


def test_accuracy_compares_a_column_row_by_row_not_n_squared_times():
    """(n, 1) predictions against (n,) labels once broadcast to n x n comparisons."""
    y = torch.tensor([1, 1, 1, 0])
    column = torch.tensor([[1], [0], [1], [1]])
    assert accuracy(column, y) == 2.0  # broadcasting gave 3 * 3 + 1 = 10 "hits"
    assert accuracy(column.float(), y.reshape(-1, 1)) == 2.0
    assert accuracy(torch.tensor([[0.2, 0.8]] * 4), y.reshape(-1, 1)) == 3.0
    with pytest.raises(ValueError, match=r"y must be labels of shape \(n,\) or \(n, 1\)"):
        accuracy(column, torch.zeros(4, 2))


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
    assert history.best("test_acc")[1] == max(history.test_acc)
    assert history.at(15, "train_loss") == history.train_loss[-1]


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


@pytest.mark.parametrize(
    "num_epochs, error", [(-1, ValueError), (2.5, ValueError), (True, TypeError)]
)
def test_train_ch3_rejects_bad_num_epochs(num_epochs, error):
    X, y = _toy_problem()
    net = nn.Linear(4, 3)
    with pytest.raises(error, match="num_epochs must be an int >= 0"):
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
    with pytest.raises(TypeError, match="updater must be a Optimizer or Callable, got float"):
        train_ch3(nn.Linear(4, 3), [(X, y)], [(X, y)], nn.CrossEntropyLoss(), 1, 0.1, animate=False)


def test_set_seed():
    set_seed(5)
    a = torch.rand(3)
    set_seed(5)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)


@pytest.mark.parametrize(
    "available, count, i, expected",
    [(True, 2, 0, "cuda:0"), (True, 2, 1, "cuda:1"), (True, 2, 2, "cpu"), (False, 0, 0, "cpu")],
)
def test_try_gpu_on_machines_with_and_without_gpus(available, count, i, expected, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    assert try_gpu(i) == torch.device(expected)


def test_sgd_step():
    w = torch.ones(2, requires_grad=True)
    (w * 3).sum().backward()
    sgd([w], lr=0.1, batch_size=3)
    assert torch.allclose(w.detach(), torch.tensor([0.9, 0.9]))
    assert torch.equal(w.grad, torch.zeros(2))
    with pytest.raises(ValueError, match="batch_size"):
        sgd([w], 0.1, 0)


# ---------------------------------------------------------------------------
# The shared plumbing: History, KeepBest, optimizers and schedules
# ---------------------------------------------------------------------------

from linbook import train as T  # noqa: E402


def test_history_records_epochs_and_refuses_unknown_metrics():
    h = T.History("train_loss", "val_acc")
    h.append(1.0, train_loss=2.0, val_acc=0.5)
    h.append(2.0, train_loss=1.0, val_acc=0.7)
    h.append(1.5, train_loss=0.5, val_acc=0.6)
    assert h.train_loss == [2.0, 1.0, 0.5] and h.seconds == [1.0, 2.0, 1.5] and len(h) == 3
    assert h.best("val_acc") == (2, 0.7) and h.best("train_loss", mode="min") == (3, 0.5)
    assert h.at(2, "val_acc") == 0.7
    with pytest.raises(AttributeError, match="val_acc"):
        h.test_acc  # noqa: B018
    with pytest.raises(
        ValueError,
        match=r"values must be exactly one value for each of \['train_loss', 'val_acc'\]",
    ):
        h.append(1.0, train_loss=0.1)
    with pytest.raises(ValueError, match="epoch"):
        h.at(4, "val_acc")
    with pytest.raises(ValueError, match="metrics must be one or more names"):
        T.History()
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(h)).val_acc == h.val_acc == copy.deepcopy(h).val_acc


def test_keep_best_restores_the_best_weights_and_stops_after_patience():
    net = nn.Linear(1, 1, bias=False)
    keep = T.KeepBest(mode="max", patience=2)
    for epoch, (weight, score) in enumerate([(1.0, 0.5), (2.0, 0.9), (3.0, 0.8), (4.0, 0.7)], 1):
        with torch.no_grad():
            net.weight.fill_(weight)
        improved = keep.update(net, score, epoch)
        assert improved == (epoch in (1, 2))
        assert keep.should_stop == (epoch == 4)
    keep.restore(net)
    assert net.weight.item() == 2.0 and keep.best_epoch == 2 and keep.best_value == 0.9
    assert not T.KeepBest(patience=None).should_stop
    with pytest.raises(ValueError, match="update"):
        T.KeepBest().restore(net)
    with pytest.raises(ValueError, match="patience"):
        T.KeepBest(patience=0)
    with pytest.raises(ValueError, match="mode"):
        T.KeepBest(mode="best")


@pytest.mark.parametrize("name, cls", [("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW")])
def test_make_optimizer_builds_torch_optimizers(name, cls):
    opt = T.make_optimizer(nn.Linear(3, 1).parameters(), name, lr=0.01, weight_decay=0.1)
    assert type(opt).__name__ == cls
    assert opt.defaults["lr"] == 0.01 and opt.defaults["weight_decay"] == 0.1


def test_make_optimizer_gives_the_same_update_as_plain_torch():
    torch.manual_seed(0)
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    opt_a = T.make_optimizer(a.parameters(), "adamw", lr=0.01, weight_decay=0.1)
    opt_b = torch.optim.AdamW(b.parameters(), lr=0.01, weight_decay=0.1)
    X = torch.randn(8, 3)
    for _ in range(5):
        for net, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            (net(X) ** 2).mean().backward()
            opt.step()
    assert torch.allclose(a.weight, b.weight, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"name": "rmsprop"}, ValueError, "name must be one of 'sgd'"),
        ({"lr": 0}, ValueError, "lr must be a finite number > 0, got 0"),
        ({"lr": "0.1"}, TypeError, "lr must be a finite number > 0, got '0.1'"),
        ({"weight_decay": -1}, ValueError, "weight_decay must be a finite number >= 0"),
        ({"name": "adam", "momentum": 0.9}, ValueError, "momentum must be 0 .adam keeps its own"),
    ],
)
def test_make_optimizer_refuses_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        T.make_optimizer(nn.Linear(1, 1).parameters(), **kwargs)


def test_lr_factor_draws_each_schedule():
    total = 10
    assert [T.lr_factor("constant", s, total) for s in range(total)] == [1.0] * total
    step = [T.lr_factor("step", s, total, step_size=4, gamma=0.5) for s in range(total)]
    assert step == [1.0] * 4 + [0.5] * 4 + [0.25] * 2
    cosine = [T.lr_factor("cosine", s, total) for s in range(total)]
    assert cosine[0] == 1.0 and all(a > b for a, b in zip(cosine, cosine[1:])) and cosine[-1] > 0
    warm = [T.lr_factor("warmup-cosine", s, total, warmup_steps=3) for s in range(total)]
    assert warm[:3] == pytest.approx([1 / 3, 2 / 3, 1.0]) and warm[3] == 1.0
    assert warm[4:] == pytest.approx([T.lr_factor("cosine", s, 7) for s in range(1, 7)])


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (("linear", 0, 10), {}, "schedule must be one of"),
        (("cosine", 0, 0), {}, "total_steps must be an int >= 1"),
        (("step", 0, 10), {}, "step_size must be given for the 'step' schedule"),
        (
            ("warmup-cosine", 0, 10),
            {"warmup_steps": 10},
            "warmup_steps must be an int >= 0 and <= 9",
        ),
        (("cosine", -1, 10), {}, "step must be an int >= 0"),
    ],
)
def test_lr_factor_refuses_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        T.lr_factor(*args, **kwargs)


def test_make_scheduler_sets_the_optimizer_rate_per_step():
    opt = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.2)
    scheduler = T.make_scheduler(opt, "warmup-cosine", total_steps=5, warmup_steps=2)
    rates = []
    for _ in range(5):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    expected = [0.2 * T.lr_factor("warmup-cosine", s, 5, warmup_steps=2) for s in range(5)]
    assert rates == pytest.approx(expected)
    with pytest.raises(ValueError, match="schedule must be one of"):
        T.make_scheduler(opt, "exp", 5)


def test_model_device():
    assert T.model_device(nn.Linear(1, 1)) == torch.device("cpu")
    assert T.model_device(nn.ReLU()) == torch.device("cpu")  # no parameters
    assert T.model_device(lambda X: X) == torch.device("cpu")
