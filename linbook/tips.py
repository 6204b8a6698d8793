"""Helpers for chapter 2.3.1 (训练技巧): overfitting, critical points, BatchNorm.

The optimizers written from their formulas are in :mod:`linbook.optimizers`.

* :func:`polynomial_features`, :func:`least_squares`, :func:`linear_gd_path`: polynomial
  regression fitted in closed form (optionally with an L2 penalty) or by full-batch gradient
  descent (optionally with dropout on the features), for the overfitting experiments;
* :func:`classify_critical_point`: gradient, Hessian (by autograd) and the second-order test;
* :func:`batch_norm`, :class:`BatchNorm`: batch normalisation written from its formulas, with
  the running statistics that ``nn.BatchNorm1d`` keeps for inference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .checks import (
    check_choice,
    check_int,
    check_number,
    check_same_length,
    check_tensor,
    check_value,
    check_vector,
)

__all__ = [
    "polynomial_features",
    "least_squares",
    "linear_gd_path",
    "CriticalPoint",
    "classify_critical_point",
    "batch_norm",
    "BatchNorm",
]


# ---------------------------------------------------------------------------
# Polynomial regression
# ---------------------------------------------------------------------------


def polynomial_features(x: torch.Tensor, degree: int, basis: str = "legendre") -> torch.Tensor:
    """Return the polynomial features of ``x``, one row per example, one column per degree.

    Column ``k`` holds the degree-``k`` polynomial ``p_k(x)`` (column 0 is the constant 1).
    With ``basis="power"`` it is ``x**k``; with ``basis="legendre"`` (the default) it is the
    Legendre polynomial ``P_k(x)``. Both span the same functions, so a least-squares fit gives
    the same predictions; on ``[-1, 1]`` the Legendre columns are far better conditioned,
    which makes gradient descent on them converge much faster.

    Parameters
    ----------
    x
        1-D tensor of inputs (best inside ``[-1, 1]``).
    degree
        the highest degree (>= 0); the result has ``degree + 1`` columns.
    basis
        ``"legendre"`` or ``"power"``.

    Returns
    -------
    Tensor of shape ``(len(x), degree + 1)`` and the dtype of ``x``.

    Examples
    --------
    >>> polynomial_features(torch.tensor([0.5]), 2)   # 1, x, (3x^2 - 1) / 2
    tensor([[ 1.0000,  0.5000, -0.1250]])
    """
    x = check_vector("x", x)
    check_int("degree", degree, minimum=0)
    if not torch.is_floating_point(x):
        x = x.to(torch.get_default_dtype())
    if basis == "power":
        return torch.stack([x**k for k in range(degree + 1)], dim=1)
    check_choice("basis", basis, ("legendre", "power"))
    columns = [torch.ones_like(x), x]
    for k in range(1, degree):  # Bonnet's recursion: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
        columns.append(((2 * k + 1) * x * columns[k] - k * columns[k - 1]) / (k + 1))
    return torch.stack(columns[: degree + 1], dim=1)


def _check_regression(features, targets) -> None:
    check_tensor("features", features, ndim=2)
    check_vector("targets", targets)
    check_same_length("features", features, "targets", targets)


def least_squares(
    features: torch.Tensor, targets: torch.Tensor, weight_decay: float = 0.0
) -> torch.Tensor:
    """Return the weights ``w`` minimising ``mean((features @ w - targets)**2) + λ‖w[1:]‖²``.

    ``λ = weight_decay``. The first weight (that of the constant column, i.e. the bias) is
    not penalised. With ``weight_decay=0`` this is ordinary least squares (the minimiser
    that training to convergence reaches); with ``weight_decay > 0`` it is ridge regression,
    solved from ``(XᵀX/n + λ D) w = Xᵀy/n`` with ``D = diag(0, 1, ..., 1)``.

    Examples
    --------
    >>> X = polynomial_features(torch.tensor([-1.0, 0.0, 1.0]), 1)
    >>> least_squares(X, torch.tensor([1.0, 2.0, 3.0]))
    tensor([2.0000, 1.0000])
    """
    _check_regression(features, targets)
    weight_decay = check_number("weight_decay", weight_decay, minimum=0)
    if weight_decay == 0:
        return torch.linalg.lstsq(features, targets.unsqueeze(1)).solution.squeeze(1)
    n, d = features.shape
    penalty = torch.ones(d, dtype=features.dtype)
    penalty[0] = 0
    A = features.T @ features / n + weight_decay * torch.diag(penalty)
    return torch.linalg.solve(A, features.T @ targets / n)


def linear_gd_path(
    features: torch.Tensor,
    targets: torch.Tensor,
    lr: float,
    num_steps: int,
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Full-batch gradient descent on ``mean((features @ w - targets)**2)`` from ``w = 0``.

    With ``dropout = p > 0`` every step multiplies each feature of each example, except the
    constant column 0, by an independent mask that is 0 with probability ``p`` and
    ``1 / (1 - p)`` otherwise (inverted dropout, as ``nn.Dropout`` in training mode);
    predictions with the returned weights use the features unchanged (evaluation mode).

    Parameters
    ----------
    features, targets
        ``(n, d)`` and ``(n,)`` tensors.
    lr
        step size η (> 0); GD is stable for ``η < 1 / λ_max(XᵀX / n)``.
    num_steps
        number of updates (>= 0).
    dropout
        the drop probability ``p`` in ``[0, 1)``.
    generator
        random generator of the dropout masks (for reproducible runs).

    Returns
    -------
    Tensor of shape ``(num_steps + 1, d)``: row ``t`` holds the weights after ``t`` steps.

    Examples
    --------
    >>> X = polynomial_features(torch.tensor([-1.0, 0.0, 1.0]), 1)
    >>> linear_gd_path(X, torch.tensor([1.0, 2.0, 3.0]), lr=0.5, num_steps=100)[-1]
    tensor([2.0000, 1.0000])
    """
    _check_regression(features, targets)
    check_int("num_steps", num_steps, minimum=0)
    check_number("lr", lr, minimum=0, strict_minimum=True)
    check_number("dropout", dropout, minimum=0, maximum=1, strict_maximum=True)
    n, d = features.shape
    w = torch.zeros(d, dtype=features.dtype)
    path = [w]
    for _ in range(num_steps):
        X = features
        if dropout > 0:
            keep = torch.rand(n, d, generator=generator, dtype=features.dtype) >= dropout
            mask = keep.to(features.dtype) / (1 - dropout)
            mask[:, 0] = 1
            X = features * mask
        w = w - lr * 2 * X.T @ (X @ w - targets) / n
        path.append(w)
    return torch.stack(path)


# ---------------------------------------------------------------------------
# Critical points
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CriticalPoint:
    """Result of :func:`classify_critical_point`.

    ``kind`` is ``"local minimum"``, ``"local maximum"``, ``"saddle point"`` or
    ``"degenerate"`` (some eigenvalue is 0 within ``tol`` and the others do not disagree in
    sign: the second-order test cannot decide). ``eigenvalues`` are in ascending order and
    ``eigenvectors[:, i]`` belongs to ``eigenvalues[i]``.
    """

    kind: str
    point: torch.Tensor
    gradient: torch.Tensor
    hessian: torch.Tensor
    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor

    @property
    def escape_direction(self) -> torch.Tensor | None:
        """Unit eigenvector of the most negative eigenvalue (``None`` if none is negative).

        Along ``u`` the loss near the point is ``L(θ + εu) ≈ L(θ) + ε²λ/2 < L(θ)``.
        """
        if self.kind not in ("saddle point", "local maximum"):
            return None
        return self.eigenvectors[:, 0]


def classify_critical_point(
    f: Callable[[torch.Tensor], torch.Tensor],
    point: torch.Tensor,
    tol: float = 1e-6,
    grad_tol: float = 1e-6,
) -> CriticalPoint:
    """Classify a critical point of ``f`` by the eigenvalues of its Hessian.

    The gradient and the Hessian are computed by autograd
    (``torch.autograd.functional.hessian``). All eigenvalues > ``tol``: local minimum; all
    < ``-tol``: local maximum; both signs present: saddle point; otherwise degenerate.

    Parameters
    ----------
    f
        a function of a 1-D tensor returning a scalar tensor (e.g. a loss of the parameters).
    point
        1-D tensor where the gradient vanishes (float64 recommended).
    tol
        eigenvalues with ``|λ| <= tol`` count as zero.
    grad_tol
        a ``ValueError`` is raised when the gradient norm exceeds it.

    Examples
    --------
    >>> cp = classify_critical_point(lambda v: v[0] ** 2 - v[1] ** 2, torch.zeros(2))
    >>> cp.kind, cp.eigenvalues
    ('saddle point', tensor([-2.,  2.]))
    """
    point = check_tensor("point", check_vector("point", point), dtype="floating")
    point = point.detach()
    x = point.clone().requires_grad_(True)
    value = f(x)
    scalar = isinstance(value, torch.Tensor) and value.numel() == 1
    check_value(
        "f", f, scalar, "a function returning a scalar tensor", got=f"{type(value).__name__}"
    )
    (gradient,) = torch.autograd.grad(value.reshape(()), x)
    grad_norm = float(gradient.norm())
    check_value(
        "point",
        point,
        grad_norm <= grad_tol,
        f"a critical point of f (gradient norm <= grad_tol={grad_tol})",
        got=f"a point where the gradient norm is {grad_norm:.3g}",
    )
    hessian = torch.autograd.functional.hessian(lambda v: f(v).reshape(()), point)
    hessian = (hessian + hessian.T) / 2
    eigenvalues, eigenvectors = torch.linalg.eigh(hessian)
    positive, negative = bool((eigenvalues > tol).any()), bool((eigenvalues < -tol).any())
    if positive and negative:
        kind = "saddle point"
    elif bool((eigenvalues > tol).all()):
        kind = "local minimum"
    elif bool((eigenvalues < -tol).all()):
        kind = "local maximum"
    else:
        kind = "degenerate"
    return CriticalPoint(kind, point, gradient.detach(), hessian, eigenvalues, eigenvectors)


# ---------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------


def batch_norm(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch normalisation of ``X`` (shape ``(batch, features)``), feature by feature.

    Training: ``μ_B`` and ``σ²_B`` are the mean and the (biased, divide-by-``n``) variance of
    the batch, ``x̂ = (x - μ_B) / sqrt(σ²_B + eps)``, ``y = γ x̂ + β``; the running statistics
    become ``(1 - momentum) * running + momentum * batch_statistic``, where, as in
    ``nn.BatchNorm1d``, the running variance is fed the *unbiased* (divide-by-``n-1``)
    batch variance. Evaluation: ``running_mean``/``running_var`` replace ``μ_B``/``σ²_B``.

    Returns
    -------
    ``(Y, new_running_mean, new_running_var)``; in evaluation the running statistics are
    returned unchanged. The inputs are not modified.

    Examples
    --------
    >>> X = torch.tensor([[1.0], [3.0]])
    >>> Y, mean, var = batch_norm(X, torch.ones(1), torch.zeros(1), torch.zeros(1),
    ...                           torch.ones(1), training=True, eps=0.0)
    >>> Y.squeeze(1), mean, var   # batch mean 2, variance 1 (unbiased: 2)
    (tensor([-1.,  1.]), tensor([0.2000]), tensor([1.1000]))
    """
    check_tensor("X", X, ndim=2)  # (batch, features)
    check_number("momentum", momentum, minimum=0, maximum=1)
    if training:
        n = X.shape[0]
        wanted = "a batch of at least 2 examples in training mode (else use evaluation mode)"
        check_value("X", X, n >= 2, wanted, got=f"{n} example")
        mean = X.mean(dim=0)
        var = X.var(dim=0, unbiased=False)
        X_hat = (X - mean) / torch.sqrt(var + eps)
        with torch.no_grad():
            unbiased_var = var * n / (n - 1)
            running_mean = (1 - momentum) * running_mean + momentum * mean
            running_var = (1 - momentum) * running_var + momentum * unbiased_var
    else:
        X_hat = (X - running_mean) / torch.sqrt(running_var + eps)
    return gamma * X_hat + beta, running_mean, running_var


class BatchNorm(nn.Module):
    """Batch normalisation layer for ``(batch, features)`` inputs, built on :func:`batch_norm`.

    Parameters ``gamma`` (ones) and ``beta`` (zeros) are learned; buffers ``running_mean``
    (zeros) and ``running_var`` (ones) are updated in training mode and used in evaluation
    mode, with the defaults (``momentum=0.1``, ``eps=1e-5``) of ``nn.BatchNorm1d``.

    Examples
    --------
    >>> bn = BatchNorm(3)
    >>> bn(torch.randn(8, 3)).shape
    torch.Size([8, 3])
    """

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        check_int("num_features", num_features, minimum=1)
        self.momentum, self.eps = momentum, eps
        self.gamma = nn.Parameter(torch.ones(num_features))
        self.beta = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y, running_mean, running_var = batch_norm(
            X,
            self.gamma,
            self.beta,
            self.running_mean,
            self.running_var,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )
        if self.training:
            self.running_mean.copy_(running_mean)
            self.running_var.copy_(running_var)
        return Y
