import math

import pytest
import torch
from torch import nn

from linbook.optimizers import (
    AdaGrad,
    Adam,
    AdamW,
    MomentumSGD,
    RMSProp,
    descent_path,
    optimizer_path,
)
from linbook.tips import (
    BatchNorm,
    batch_norm,
    classify_critical_point,
    least_squares,
    linear_gd_path,
    polynomial_features,
)

F64 = torch.float64


# --- polynomial regression ---------------------------------------------------------------


def test_polynomial_features_legendre_and_power():
    x = torch.linspace(-1, 1, 7, dtype=F64)
    P = polynomial_features(x, 3)
    assert P.shape == (7, 4) and P.dtype == F64
    expected = torch.stack([torch.ones_like(x), x, (3 * x**2 - 1) / 2, (5 * x**3 - 3 * x) / 2], 1)
    assert torch.allclose(P, expected)
    assert torch.allclose(polynomial_features(x, 2, basis="power"), torch.stack([x**0, x, x**2], 1))
    assert polynomial_features(x, 0).shape == (7, 1)


def test_both_bases_give_the_same_least_squares_fit():
    generator = torch.Generator().manual_seed(0)
    x = 2 * torch.rand(30, generator=generator, dtype=F64) - 1
    y = torch.randn(30, generator=generator, dtype=F64)
    grid = torch.linspace(-1, 1, 50, dtype=F64)
    w_leg = least_squares(polynomial_features(x, 6), y)
    w_pow = least_squares(polynomial_features(x, 6, basis="power"), y)
    assert torch.allclose(
        polynomial_features(grid, 6) @ w_leg,
        polynomial_features(grid, 6, basis="power") @ w_pow,
        atol=1e-8,
    )


def test_polynomial_features_rejects_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        polynomial_features(torch.zeros(3, 1), 2)
    with pytest.raises(TypeError, match="x must be a Tensor, got list"):
        polynomial_features([0.0, 1.0], 2)
    with pytest.raises(ValueError, match="degree must be an int >= 0, got -1"):
        polynomial_features(torch.zeros(3), -1)
    with pytest.raises(ValueError, match="degree must be an int"):
        polynomial_features(torch.zeros(3), 2.0)
    with pytest.raises(ValueError, match="basis must be one of 'legendre', 'power'; got 'cheb"):
        polynomial_features(torch.zeros(3), 2, basis="chebyshev")
    assert polynomial_features(torch.arange(3), 1).dtype == torch.get_default_dtype()


def test_least_squares_recovers_a_noiseless_polynomial():
    x = torch.linspace(-1, 1, 20, dtype=F64)
    w_true = torch.tensor([0.5, -1.0, 2.0, 0.25], dtype=F64)
    y = polynomial_features(x, 3) @ w_true
    assert torch.allclose(least_squares(polynomial_features(x, 3), y), w_true, atol=1e-10)


def test_ridge_solution_zeroes_the_penalised_gradient_and_spares_the_bias():
    generator = torch.Generator().manual_seed(1)
    x = 2 * torch.rand(15, generator=generator, dtype=F64) - 1
    y = torch.randn(15, generator=generator, dtype=F64) + 3
    P = polynomial_features(x, 5)
    lam = 0.3
    w = least_squares(P, y, weight_decay=lam).requires_grad_(True)
    objective = ((P @ w - y) ** 2).mean() + lam * (w[1:] ** 2).sum()
    (grad,) = torch.autograd.grad(objective, w)
    assert grad.abs().max() < 1e-10
    w_huge = least_squares(P, y, weight_decay=1e8)
    assert w_huge[1:].abs().max() < 1e-6 and abs(float(w_huge[0]) - float(y.mean())) < 1e-6


def test_least_squares_rejects_bad_input():
    P = polynomial_features(torch.zeros(4), 2)
    with pytest.raises(ValueError, match="weight_decay must be a finite number >= 0, got -1.0"):
        least_squares(P, torch.zeros(4), weight_decay=-1.0)
    with pytest.raises(ValueError, match="features has 4 rows but targets has 5"):
        least_squares(P, torch.zeros(5))
    with pytest.raises(ValueError, match=r"features must be 2-D, got shape \(4,\)"):
        least_squares(torch.zeros(4), torch.zeros(4))


def test_linear_gd_path_converges_to_least_squares():
    x = torch.linspace(-1, 1, 12, dtype=F64)
    y = torch.sin(3 * x)
    P = polynomial_features(x, 3)
    path = linear_gd_path(P, y, lr=0.4, num_steps=2000)
    assert path.shape == (2001, 4)
    assert torch.equal(path[0], torch.zeros(4, dtype=F64))
    assert torch.allclose(path[-1], least_squares(P, y), atol=1e-8)


def test_linear_gd_path_dropout_is_reproducible_and_spares_column_zero():
    x = torch.linspace(-1, 1, 12, dtype=F64)
    y = torch.cos(2 * x)
    P = polynomial_features(x, 4)
    runs = [
        linear_gd_path(P, y, 0.3, 50, dropout=0.3, generator=torch.Generator().manual_seed(5))
        for _ in range(2)
    ]
    assert torch.equal(runs[0], runs[1])
    assert not torch.allclose(runs[0], linear_gd_path(P, y, 0.3, 50))
    # With only the constant column nothing is dropped: the same path as without dropout.
    ones = P[:, :1]
    assert torch.allclose(
        linear_gd_path(ones, y, 0.3, 20, dropout=0.5), linear_gd_path(ones, y, 0.3, 20)
    )


def test_linear_gd_path_rejects_bad_arguments():
    P, y = polynomial_features(torch.zeros(3), 1), torch.zeros(3)
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got 0.0"):
        linear_gd_path(P, y, lr=0.0, num_steps=1)
    with pytest.raises(ValueError, match="dropout must be a finite number >= 0 and < 1, got 1.0"):
        linear_gd_path(P, y, lr=0.1, num_steps=1, dropout=1.0)
    with pytest.raises(ValueError, match="num_steps must be an int >= 0, got -1"):
        linear_gd_path(P, y, lr=0.1, num_steps=-1)


# --- critical points ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "kind"),
    [
        (lambda v: v[0] ** 2 + 3 * v[1] ** 2, "local minimum"),
        (lambda v: -(v[0] ** 2) - v[1] ** 2, "local maximum"),
        (lambda v: v[0] ** 2 - v[1] ** 2, "saddle point"),
        (lambda v: v[0] ** 2 + v[1] ** 4, "degenerate"),
    ],
)
def test_classify_critical_point_kinds(f, kind):
    assert classify_critical_point(f, torch.zeros(2, dtype=F64)).kind == kind


def test_hessian_of_a_quadratic_form_and_escape_direction():
    A = torch.tensor([[1.0, 2.0], [2.0, -2.0]], dtype=F64)  # eigenvalues -3 and 2
    cp = classify_critical_point(lambda v: 0.5 * v @ A @ v, torch.zeros(2, dtype=F64))
    assert torch.allclose(cp.hessian, A)
    assert torch.allclose(cp.eigenvalues, torch.tensor([-3.0, 2.0], dtype=F64))
    u = cp.escape_direction
    assert torch.allclose(A @ u, -3.0 * u) and math.isclose(float(u.norm()), 1.0)
    minimum = classify_critical_point(lambda v: (v**2).sum(), torch.zeros(3, dtype=F64))
    assert minimum.escape_direction is None


def test_classify_critical_point_rejects_non_critical_points_and_bad_input():
    with pytest.raises(ValueError, match="point must be a critical point of f .* norm is 2.83"):
        classify_critical_point(lambda v: (v**2).sum(), torch.ones(2, dtype=F64))
    with pytest.raises(ValueError, match="point must be a tensor of floating-point numbers"):
        classify_critical_point(lambda v: (v**2).sum(), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="f must be a function returning a scalar tensor"):
        classify_critical_point(lambda v: v**2, torch.zeros(2, dtype=F64))


# --- momentum ----------------------------------------------------------------------------


def _train(optimizer_factory, steps=15, lr_at=lambda step: 0.1):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3))
    optimizer = optimizer_factory(net.parameters())
    generator = torch.Generator().manual_seed(1)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        X = torch.randn(8, 5, generator=generator)
        y = torch.randint(0, 3, (8,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(X), y).backward()
        optimizer.step()
    return net, optimizer


def test_momentum_sgd_equals_torch_sgd_with_a_constant_learning_rate():
    net_a, opt_a = _train(lambda p: MomentumSGD(p, lr=0.1, momentum=0.9))
    net_b, opt_b = _train(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9))
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
        assert torch.allclose(
            opt_a.state[a]["movement"], -0.1 * opt_b.state[b]["momentum_buffer"], atol=1e-7
        )


def test_momentum_sgd_differs_from_torch_sgd_when_the_learning_rate_changes():
    schedule = lambda step: 0.1 if step < 5 else 0.01  # noqa: E731
    net_a, _ = _train(lambda p: MomentumSGD(p, lr=0.1, momentum=0.9), lr_at=schedule)
    net_b, _ = _train(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), lr_at=schedule)
    gap = max(
        float((a - b).abs().max().detach()) for a, b in zip(net_a.parameters(), net_b.parameters())
    )
    assert gap > 1e-4


def test_momentum_zero_is_plain_sgd_and_bad_arguments_are_rejected():
    net_a, _ = _train(lambda p: MomentumSGD(p, lr=0.1, momentum=0.0))
    net_b, _ = _train(lambda p: torch.optim.SGD(p, lr=0.1))
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert torch.allclose(a, b, atol=1e-7)
    w = [torch.zeros(1, requires_grad=True)]
    with pytest.raises(ValueError, match="lr must be a finite number > 0, got 0.0"):
        MomentumSGD(w, lr=0.0)
    with pytest.raises(ValueError, match="momentum must be a finite number >= 0 and < 1, got 1.0"):
        MomentumSGD(w, lr=0.1, momentum=1.0)


def test_descent_path_on_a_quadratic():
    # f(x) = a x^2 / 2: plain gradient descent multiplies x by (1 - lr * a) each step.
    path = descent_path(lambda x: 2.0 * (x**2).sum() / 2, [1.0, -2.0], lr=0.1, num_steps=5)
    assert path.shape == (6, 2)
    expected = torch.tensor([1.0, -2.0]) * (0.8 ** torch.arange(6.0)).unsqueeze(1)
    assert torch.allclose(path, expected)
    # With momentum the first step is the same, the second adds lambda times the first.
    m_path = descent_path(lambda x: x.sum(), [0.0], lr=0.1, num_steps=2, momentum=0.5).squeeze(1)
    assert torch.allclose(m_path, torch.tensor([0.0, -0.1, -0.25]))
    with pytest.raises(ValueError, match="1-D"):
        descent_path(lambda x: x.sum(), [[0.0]], lr=0.1, num_steps=1)


# --- batch normalisation -----------------------------------------------------------------


def _paired_layers(num_features=6):
    torch.manual_seed(0)
    ours, reference = BatchNorm(num_features), nn.BatchNorm1d(num_features)
    with torch.no_grad():
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-1, 1)
        ours.gamma.copy_(reference.weight)
        ours.beta.copy_(reference.bias)
    return ours, reference


def test_batch_norm_matches_nn_batchnorm1d_in_training_and_evaluation():
    ours, reference = _paired_layers()
    for _ in range(4):
        X = 2 * torch.randn(10, 6) - 1
        X_ours, X_ref = X.clone().requires_grad_(True), X.clone().requires_grad_(True)
        Y_ours, Y_ref = ours(X_ours), reference(X_ref)
        assert torch.allclose(Y_ours, Y_ref, atol=1e-5)
        weights = torch.randn(10, 6)
        (Y_ours * weights).sum().backward()
        (Y_ref * weights).sum().backward()
        assert torch.allclose(X_ours.grad, X_ref.grad, atol=1e-5)
    assert torch.allclose(ours.gamma.grad, reference.weight.grad, atol=1e-4)
    assert torch.allclose(ours.beta.grad, reference.bias.grad, atol=1e-4)
    assert torch.allclose(ours.running_mean, reference.running_mean, atol=1e-6)
    assert torch.allclose(ours.running_var, reference.running_var, atol=1e-6)
    ours.eval()
    reference.eval()
    X = torch.randn(3, 6)
    with torch.no_grad():
        assert torch.allclose(ours(X), reference(X), atol=1e-5)
    before = ours.running_mean.clone()
    ours(torch.randn(5, 6))
    assert torch.equal(ours.running_mean, before)  # evaluation leaves the statistics alone
    assert set(dict(ours.named_buffers())) == {"running_mean", "running_var"}


def test_batch_norm_function_is_pure_and_rejects_bad_input():
    X = torch.randn(4, 3)
    mean, var = torch.zeros(3), torch.ones(3)
    _, new_mean, new_var = batch_norm(X, torch.ones(3), torch.zeros(3), mean, var, training=True)
    assert torch.equal(mean, torch.zeros(3)) and torch.equal(var, torch.ones(3))
    assert torch.allclose(new_mean, 0.1 * X.mean(0)) and torch.allclose(
        new_var, 0.9 + 0.1 * X.var(0)
    )
    with pytest.raises(ValueError, match="X must be a batch of at least 2 examples in training"):
        batch_norm(X[:1], torch.ones(3), torch.zeros(3), mean, var, training=True)
    with pytest.raises(ValueError, match=r"X must be 2-D, got shape \(2, 3, 4\)"):
        batch_norm(torch.randn(2, 3, 4), torch.ones(3), torch.zeros(3), mean, var, training=True)
    with pytest.raises(ValueError, match="momentum must be a finite number >= 0 and <= 1, got 2.0"):
        batch_norm(X, torch.ones(3), torch.zeros(3), mean, var, training=True, momentum=2.0)
    with pytest.raises(ValueError, match=">= 1"):
        BatchNorm(0)


# --- adaptive learning rates --------------------------------------------------------------


def _paired_runs(ours, theirs, steps=25):
    net_a, opt_a = _train(ours, steps=steps)
    net_b, opt_b = _train(theirs, steps=steps)
    gap = max(
        float((a - b).abs().max().detach()) for a, b in zip(net_a.parameters(), net_b.parameters())
    )
    return gap, (net_a, opt_a), (net_b, opt_b)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: AdaGrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)),
        (
            lambda p: AdaGrad(p, lr=0.05, eps=1e-6, initial_accumulator_value=0.3),
            lambda p: torch.optim.Adagrad(p, lr=0.05, eps=1e-6, initial_accumulator_value=0.3),
        ),
        (lambda p: RMSProp(p, lr=0.01), lambda p: torch.optim.RMSprop(p, lr=0.01)),
        (
            lambda p: RMSProp(p, lr=0.003, alpha=0.9, eps=1e-6),
            lambda p: torch.optim.RMSprop(p, lr=0.003, alpha=0.9, eps=1e-6),
        ),
        (lambda p: Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
        (
            lambda p: Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-6),
            lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.5, 0.9), eps=1e-6),
        ),
        (
            lambda p: Adam(p, lr=0.01, weight_decay=0.3),
            lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.3),
        ),
        (
            lambda p: AdamW(p, lr=0.01, weight_decay=0.3),
            lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3),
        ),
        (lambda p: AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01)),  # default decay
        (
            lambda p: Adam(p, lr=0.01, weight_decay=0.3, decoupled=True),
            lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3),
        ),
    ],
)
def test_adaptive_optimizers_match_torch_optim(ours, theirs):
    gap, _, _ = _paired_runs(ours, theirs)
    assert gap <= 1e-6


def test_adaptive_optimizer_states_match_torch_optim():
    _, (net_a, opt_a), (net_b, opt_b) = _paired_runs(
        lambda p: Adam(p, lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)
    )
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert opt_a.state[a]["step"] == int(opt_b.state[b]["step"]) == 25
        assert torch.allclose(opt_a.state[a]["exp_avg"], opt_b.state[b]["exp_avg"], atol=1e-7)
        assert torch.allclose(opt_a.state[a]["exp_avg_sq"], opt_b.state[b]["exp_avg_sq"], atol=1e-8)
    _, (net_a, opt_a), (net_b, opt_b) = _paired_runs(
        lambda p: AdaGrad(p, lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1)
    )
    for a, b in zip(net_a.parameters(), net_b.parameters()):
        assert torch.allclose(opt_a.state[a]["sum"], opt_b.state[b]["sum"], atol=1e-6)


def test_learning_rate_changes_are_honoured_like_torch():
    # Changing group["lr"] between steps (a schedule) gives PyTorch's results too.
    schedule = lambda step: 0.05 if step < 8 else 0.005  # noqa: E731
    for ours, theirs in [
        (lambda p: Adam(p, lr=0.05), lambda p: torch.optim.Adam(p, lr=0.05)),
        (lambda p: RMSProp(p, lr=0.05), lambda p: torch.optim.RMSprop(p, lr=0.05)),
        (lambda p: AdamW(p, lr=0.05), lambda p: torch.optim.AdamW(p, lr=0.05)),
    ]:
        net_a, _ = _train(ours, lr_at=schedule)
        net_b, _ = _train(theirs, lr_at=schedule)
        for a, b in zip(net_a.parameters(), net_b.parameters()):
            assert torch.allclose(a, b, atol=1e-6)


def test_hyperparameter_mismatches_are_visible():
    # eps inside the square root or another alpha than PyTorch's default: clearly different.
    gap, _, _ = _paired_runs(lambda p: RMSProp(p, lr=0.01, alpha=0.9), torch.optim.RMSprop)
    assert gap > 1e-3
    gap, _, _ = _paired_runs(
        lambda p: Adam(p, lr=0.01, weight_decay=0.3),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.3),
    )
    assert gap > 1e-4  # Adam + L2 is not AdamW


def test_first_steps_with_a_constant_gradient():
    g = torch.tensor([3.0, 0.01, -1.0])
    t = torch.arange(1, 21, dtype=torch.float32)[:, None]

    def moves(make):
        path = optimizer_path(lambda x: (g * x).sum(), [0.0, 0.0, 0.0], make, 20)
        return (path[1:] - path[:-1]).abs()

    assert torch.allclose(
        moves(lambda p: AdaGrad(p, lr=0.1)), (0.1 / t.sqrt()).expand(20, 3), rtol=1e-4
    )
    expected_rms = (0.1 / (1 - 0.99**t).sqrt()).expand(20, 3)
    assert torch.allclose(moves(lambda p: RMSProp(p, lr=0.1)), expected_rms, rtol=1e-4)
    assert torch.allclose(moves(lambda p: Adam(p, lr=0.1)), torch.full((20, 3), 0.1), rtol=1e-4)
    # Without bias correction the steps are (1 - beta1^t) / sqrt(1 - beta2^t) times larger.
    factor = (1 - 0.9**t) / (1 - 0.999**t).sqrt()
    uncorrected = moves(lambda p: Adam(p, lr=0.1, bias_correction=False))
    assert torch.allclose(uncorrected, (0.1 * factor).expand(20, 3), rtol=1e-3)


def test_adamw_decays_an_unused_weight_geometrically_and_adam_l2_does_not():
    def final(make, steps=200):
        return optimizer_path(lambda x: 0 * x.sum(), [1.0], make, steps)[-1, 0]

    assert math.isclose(
        float(final(lambda p: AdamW(p, lr=0.01, weight_decay=0.5))), 0.995**200, rel_tol=1e-4
    )
    # Adam + L2 normalises the penalty's gradient: the decay hardly depends on lambda.
    big = float(final(lambda p: Adam(p, lr=0.01, weight_decay=0.5)))
    small = float(final(lambda p: Adam(p, lr=0.01, weight_decay=0.005)))
    assert abs(big - small) < 1e-3 and big < 0.5


def test_optimizers_skip_parameters_without_gradients_and_return_the_closure_loss():
    for cls in (AdaGrad, RMSProp, Adam, AdamW):
        used = torch.tensor([1.0, 2.0], requires_grad=True)
        unused = torch.ones(2, requires_grad=True)
        opt = cls([used, unused], lr=0.1)

        def closure(used=used, opt=opt):
            opt.zero_grad()
            loss = (used**2).sum()
            loss.backward()
            return loss

        assert float(opt.step(closure).detach()) == 5.0  # the loss before the step
        assert torch.equal(unused.detach(), torch.ones(2)) and unused not in opt.state
        assert bool((used.detach().abs() < torch.tensor([1.0, 2.0])).all())  # both moved towards 0


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda w: AdaGrad(w, lr=0.0), ValueError, "lr must be a finite number > 0"),
        (lambda w: AdaGrad(w, lr=0.1, eps=-1.0), ValueError, "eps must be a finite number >= 0"),
        (
            lambda w: AdaGrad(w, lr=0.1, initial_accumulator_value=-0.1),
            ValueError,
            "initial_accumulator_value must be a finite number >= 0",
        ),
        (lambda w: RMSProp(w, lr=-0.1), ValueError, "lr must be a finite number > 0"),
        (lambda w: RMSProp(w, alpha=1.0), ValueError, "alpha must be a finite number >= 0 and < 1"),
        (lambda w: RMSProp(w, alpha=1.5), ValueError, "alpha must be a finite number >= 0 and < 1"),
        (lambda w: Adam(w, betas=(0.9,)), ValueError, "betas must be a pair"),
        (lambda w: Adam(w, betas=0.9), TypeError, "betas must be a tuple or list, got float"),
        (lambda w: Adam(w, betas=(1.0, 0.999)), ValueError, "beta1 must be a finite number >= 0"),
        (lambda w: Adam(w, betas=(0.9, -0.1)), ValueError, "beta2 must be a finite number >= 0"),
        (lambda w: Adam(w, weight_decay=-0.1), ValueError, "weight_decay must be a finite number"),
        (lambda w: AdamW(w, lr="0.1"), TypeError, "lr must be a finite number > 0, got '0.1'"),
    ],
)
def test_adaptive_optimizers_reject_bad_hyperparameters(make, error, match):
    with pytest.raises(error, match=match):
        make([torch.zeros(1, requires_grad=True)])


def test_adam_flags_must_be_bools_and_optimizer_path_checks_its_factory():
    with pytest.raises(TypeError, match="decoupled"):
        Adam([torch.zeros(1, requires_grad=True)], decoupled="yes")
    with pytest.raises(TypeError, match=r"make_optimizer\(...\) must be a Optimizer, got NoneType"):
        optimizer_path(lambda x: x.sum(), [0.0], lambda params: None, 1)
    with pytest.raises(ValueError, match="num_steps"):
        optimizer_path(lambda x: x.sum(), [0.0], lambda params: Adam(params), -1)
    sparse = torch.zeros(3, requires_grad=True)
    sparse.grad = torch.zeros(3).to_sparse()
    with pytest.raises(ValueError, match="sparse"):
        Adam([sparse]).step()
