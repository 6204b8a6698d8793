"""Helpers for chapter 2.3.1 (训练技巧): overfitting, critical points, optimizers, BatchNorm.

* :func:`polynomial_features`, :func:`least_squares`, :func:`linear_gd_path`: polynomial
  regression fitted in closed form (optionally with an L2 penalty) or by full-batch gradient
  descent (optionally with dropout on the features), for the overfitting experiments;
* :func:`classify_critical_point`: gradient, Hessian (by autograd) and the second-order test;
* :class:`MomentumSGD`, :func:`descent_path`: gradient descent with momentum in the form
  ``m_t = λ m_{t-1} - η g_{t-1}``, ``θ_t = θ_{t-1} + m_t``;
* :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`AdamW`: the adaptive optimizers
  written from their formulas (with the hyperparameters of ``torch.optim``'s versions, which
  they reproduce), and :func:`optimizer_path` to follow any optimizer on a function;
* :func:`batch_norm`, :class:`BatchNorm`: batch normalisation written from its formulas, with
  the running statistics that ``nn.BatchNorm1d`` keeps for inference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from .checks import check_int, check_number, check_type

__all__ = [
    "polynomial_features",
    "least_squares",
    "linear_gd_path",
    "CriticalPoint",
    "classify_critical_point",
    "MomentumSGD",
    "descent_path",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdamW",
    "optimizer_path",
    "batch_norm",
    "BatchNorm",
]


def _check_1d(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per example), got shape {tuple(x.shape)}; "
            "use x.reshape(-1)"
        )
    return x


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
    x = _check_1d("x", x)
    check_int("degree", degree, minimum=0)
    if not torch.is_floating_point(x):
        x = x.to(torch.get_default_dtype())
    if basis == "power":
        return torch.stack([x**k for k in range(degree + 1)], dim=1)
    if basis != "legendre":
        raise ValueError(f'basis must be "legendre" or "power", got {basis!r}')
    columns = [torch.ones_like(x), x]
    for k in range(1, degree):  # Bonnet's recursion: (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}
        columns.append(((2 * k + 1) * x * columns[k] - k * columns[k - 1]) / (k + 1))
    return torch.stack(columns[: degree + 1], dim=1)


def _check_regression(features, targets) -> None:
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise ValueError("features must be a 2-D tensor (examples x features)")
    _check_1d("targets", targets)
    if features.shape[0] != targets.shape[0]:
        raise ValueError(
            f"features has {features.shape[0]} rows but targets has {targets.shape[0]} values"
        )


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
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
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
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
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
    point = _check_1d("point", point)
    if not torch.is_floating_point(point):
        raise TypeError("point must be a floating-point tensor, e.g. torch.tensor([0.0, 0.0])")
    point = point.detach()
    x = point.clone().requires_grad_(True)
    value = f(x)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise ValueError("f must return a scalar tensor")
    (gradient,) = torch.autograd.grad(value.reshape(()), x)
    grad_norm = float(gradient.norm())
    if grad_norm > grad_tol:
        raise ValueError(
            f"not a critical point: the gradient norm is {grad_norm:.3g} > grad_tol={grad_tol}"
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
# Momentum
# ---------------------------------------------------------------------------


class MomentumSGD(torch.optim.Optimizer):
    """Gradient descent with momentum, written as a movement that remembers the last one.

    ``m_t = λ m_{t-1} - η g_{t-1}`` and ``θ_t = θ_{t-1} + m_t`` with ``m_0 = 0``, where
    ``g_{t-1}`` is the gradient at ``θ_{t-1}``, ``η = lr`` and ``λ = momentum``; the movement
    ``m`` of each parameter is kept in ``optimizer.state[p]["movement"]``. With a constant
    ``lr`` this equals ``torch.optim.SGD(params, lr, momentum=λ)``, whose buffer is
    ``b_t = λ b_{t-1} + g_{t-1}`` with ``θ_t = θ_{t-1} - η b_t``, i.e. ``m_t = -η b_t``.

    Examples
    --------
    >>> w = torch.tensor([1.0], requires_grad=True)
    >>> opt = MomentumSGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w ** 2 / 2).sum().backward(); opt.step()
    >>> w   # 1 - 0.1 = 0.9, then m = 0.9 * (-0.1) - 0.1 * 0.9 = -0.18
    tensor([0.7200], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0) -> None:
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient: ``m = λ m - η g``, then ``θ = θ + m``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if "movement" not in state:
                    state["movement"] = torch.zeros_like(param)
                movement = state["movement"]
                movement.mul_(momentum).add_(param.grad, alpha=-lr)  # m = λ m - η g
                param.add_(movement)  # θ = θ + m
        return loss


def descent_path(
    f: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor | Iterable[float],
    lr: float,
    num_steps: int,
    momentum: float = 0.0,
) -> torch.Tensor:
    """Minimise ``f`` from ``start`` with :class:`MomentumSGD`; return every position visited.

    Parameters
    ----------
    f
        function of a 1-D tensor (the position) returning a scalar tensor.
    start
        the initial position (1-D).
    lr, momentum
        η and λ of :class:`MomentumSGD` (``momentum=0``: plain gradient descent).
    num_steps
        number of updates.

    Returns
    -------
    Tensor of shape ``(num_steps + 1, len(start))``; row 0 is ``start``.

    Examples
    --------
    >>> descent_path(lambda x: (x ** 2).sum(), [1.0], lr=0.25, num_steps=2).squeeze(1)
    tensor([1.0000, 0.5000, 0.2500])
    """
    return optimizer_path(
        f, start, lambda params: MomentumSGD(params, lr=lr, momentum=momentum), num_steps
    )


# ---------------------------------------------------------------------------
# Adaptive learning rates
# ---------------------------------------------------------------------------


class _ElementwiseOptimizer(torch.optim.Optimizer):
    """Base of the optimizers below: ``step`` hands each parameter with a gradient to
    ``_update(param, grad, state, group)``, which changes ``param`` in place."""

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise ValueError(f"{type(self).__name__} does not support sparse gradients")
                self._update(param, param.grad, self.state[param], group)
        return loss

    def _update(self, param, grad, state, group) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _check_rate(name: str, value: float) -> float:
    return check_number(name, value, minimum=0, strict_minimum=True)


def _check_decay(name: str, value: float) -> float:
    value = check_number(name, value, minimum=0, maximum=1)
    if value == 1:
        raise ValueError(f"{name} must be < 1 (1 would never forget the first value), got 1")
    return value


class AdaGrad(_ElementwiseOptimizer):
    """AdaGrad: divide each parameter's step by the root of its summed squared gradients.

    Element by element, with ``g_t`` the gradient at step ``t = 1, 2, ...``::

        s_t = s_{t-1} + g_t²,    θ_t = θ_{t-1} - η g_t / (√s_t + ε),

    ``s_0 = initial_accumulator_value`` (kept in ``optimizer.state[p]["sum"]``). ``ε`` is
    added *after* the square root. With the same ``lr``, ``eps`` and
    ``initial_accumulator_value`` this is ``torch.optim.Adagrad`` (whose extra ``lr_decay``
    and ``weight_decay`` are left at 0).

    Parameters
    ----------
    params
        the parameters (or parameter groups) to optimize.
    lr
        η (> 0).
    eps
        ε (>= 0), added to ``√s`` against division by zero.
    initial_accumulator_value
        ``s_0`` (>= 0).

    Examples
    --------
    >>> w = torch.tensor([1.0, 1.0], requires_grad=True)
    >>> opt = AdaGrad([w], lr=0.1)
    >>> for _ in range(2):   # gradients (3, 0.01), twice: both coordinates move 0.1, then 0.1/√2
    ...     opt.zero_grad(); (w * torch.tensor([3.0, 0.01])).sum().backward(); opt.step()
    >>> w
    tensor([0.8293, 0.8293], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 0.01,
        eps: float = 1e-10,
        initial_accumulator_value: float = 0.0,
    ) -> None:
        defaults = {
            "lr": _check_rate("lr", lr),
            "eps": check_number("eps", eps, minimum=0),
            "initial_accumulator_value": check_number(
                "initial_accumulator_value", initial_accumulator_value, minimum=0
            ),
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        if not state:
            state["sum"] = torch.full_like(param, group["initial_accumulator_value"])
        s = state["sum"]
        s.addcmul_(grad, grad)  # s = s + g²
        param.addcdiv_(grad, s.sqrt().add_(group["eps"]), value=-group["lr"])  # θ -= η g / (√s + ε)


class RMSProp(_ElementwiseOptimizer):
    """RMSProp: divide each parameter's step by the root of a moving average of ``g²``.

    Element by element::

        v_t = α v_{t-1} + (1 - α) g_t²,    θ_t = θ_{t-1} - η g_t / (√v_t + ε),

    with ``v_0 = 0`` (kept in ``optimizer.state[p]["square_avg"]``) and ``ε`` added after
    the square root. With the same ``lr``, ``alpha`` and ``eps`` this is
    ``torch.optim.RMSprop`` with its defaults ``momentum=0``, ``centered=False``,
    ``weight_decay=0``.

    Parameters
    ----------
    params
        the parameters (or parameter groups) to optimize.
    lr
        η (> 0).
    alpha
        α in ``[0, 1)``: how much of the old average each step keeps.
    eps
        ε (>= 0).

    Examples
    --------
    >>> w = torch.tensor([1.0, 1.0], requires_grad=True)
    >>> opt = RMSProp([w], lr=0.01, alpha=0.99)
    >>> opt.zero_grad(); (w * torch.tensor([3.0, 0.01])).sum().backward(); opt.step()
    >>> w   # first step: g / √(0.01 g²) = 10 sign(g), whatever the size of g
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(
        self, params: Iterable, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8
    ) -> None:
        defaults = {
            "lr": _check_rate("lr", lr),
            "alpha": _check_decay("alpha", alpha),
            "eps": check_number("eps", eps, minimum=0),
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        if not state:
            state["square_avg"] = torch.zeros_like(param)
        alpha, v = group["alpha"], state["square_avg"]
        v.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)  # v = α v + (1 - α) g²
        param.addcdiv_(grad, v.sqrt().add_(group["eps"]), value=-group["lr"])  # θ -= η g / (√v + ε)


class Adam(_ElementwiseOptimizer):
    """Adam: a moving average of the gradient (momentum) divided by RMSProp's denominator.

    Element by element, at step ``t = 1, 2, ...``::

        m_t = β₁ m_{t-1} + (1 - β₁) g_t,        v_t = β₂ v_{t-1} + (1 - β₂) g_t²,
        m̂_t = m_t / (1 - β₁ᵗ),                  v̂_t = v_t / (1 - β₂ᵗ),
        θ_t = θ_{t-1} - η m̂_t / (√v̂_t + ε),

    with ``m_0 = v_0 = 0`` (``optimizer.state[p]["exp_avg"]``, ``["exp_avg_sq"]`` and the
    step count ``["step"]``). ``bias_correction=False`` uses ``m_t`` and ``v_t`` themselves
    (to show what the correction is for). ``weight_decay = λ > 0`` adds the gradient of the L2
    penalty ``λ‖θ‖²/2`` to ``g_t`` before the moments, as ``torch.optim.Adam`` does; with
    ``decoupled=True`` (or :class:`AdamW`) the weights are instead shrunk directly,
    ``θ ← (1 - ηλ) θ``, before the step, as ``torch.optim.AdamW`` does. With the same
    ``lr``, ``betas``, ``eps`` and ``weight_decay`` the results equal PyTorch's (up to
    rounding: PyTorch computes ``(η / (1 - β₁ᵗ)) m_t / (√v_t / √(1 - β₂ᵗ) + ε)``, the same
    number in another order).

    Parameters
    ----------
    params
        the parameters (or parameter groups) to optimize.
    lr
        η (> 0).
    betas
        ``(β₁, β₂)``, each in ``[0, 1)``.
    eps
        ε (>= 0), added to ``√v̂``.
    weight_decay
        λ (>= 0).
    decoupled
        decay the weights directly (AdamW) instead of through the gradient (Adam + L2).
    bias_correction
        divide the moments by ``1 - βᵗ``.

    Examples
    --------
    >>> w = torch.tensor([1.0, 1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> opt.zero_grad(); (w * torch.tensor([3.0, 0.01])).sum().backward(); opt.step()
    >>> w   # the first step is η sign(g): m̂ = g and √v̂ = |g|
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        bias_correction: bool = True,
    ) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        defaults = {
            "lr": _check_rate("lr", lr),
            "betas": (_check_decay("beta1", betas[0]), _check_decay("beta2", betas[1])),
            "eps": check_number("eps", eps, minimum=0),
            "weight_decay": check_number("weight_decay", weight_decay, minimum=0),
            "decoupled": bool(check_type("decoupled", decoupled, bool)),
            "bias_correction": bool(check_type("bias_correction", bias_correction, bool)),
        }
        super().__init__(params, defaults)

    def _update(self, param, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(param)
            state["exp_avg_sq"] = torch.zeros_like(param)
        lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
        if weight_decay and group["decoupled"]:
            param.mul_(1 - lr * weight_decay)  # AdamW: θ = (1 - ηλ) θ
        elif weight_decay:
            grad = grad.add(param, alpha=weight_decay)  # Adam + L2: g = g + λθ
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_(grad, alpha=1 - beta1)  # m = β₁ m + (1 - β₁) g
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = β₂ v + (1 - β₂) g²
        if group["bias_correction"]:
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        else:
            m_hat, v_hat = m, v
        param.addcdiv_(m_hat, v_hat.sqrt().add_(group["eps"]), value=-lr)  # θ -= η m̂ / (√v̂ + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay: :class:`Adam` with ``decoupled=True``.

    Each step first shrinks the weights, ``θ ← (1 - ηλ) θ``, then takes Adam's step, which
    sees the loss's gradient only. The default ``weight_decay=0.01`` is that of
    ``torch.optim.AdamW``.

    Examples
    --------
    >>> w = torch.tensor([2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.zero_grad(); (0 * w).sum().backward(); opt.step()
    >>> w   # no gradient: only the decay, 2 * (1 - 0.1 * 0.5)
    tensor([1.9000], requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        bias_correction: bool = True,
    ) -> None:
        super().__init__(
            params, lr, betas, eps, weight_decay, decoupled=True, bias_correction=bias_correction
        )


def optimizer_path(
    f: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor | Iterable[float],
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    num_steps: int,
) -> torch.Tensor:
    """Minimise ``f`` from ``start`` with any optimizer; return every position visited.

    Like :func:`descent_path`, but the optimizer is built by ``make_optimizer([x])``, e.g.
    ``lambda params: Adam(params, lr=0.1)`` or ``lambda params: torch.optim.SGD(params, 0.1)``.

    Returns
    -------
    Tensor of shape ``(num_steps + 1, len(start))``; row 0 is ``start``.

    Examples
    --------
    >>> path = optimizer_path(lambda x: (x ** 2).sum(), [1.0, -0.01],
    ...                       lambda params: Adam(params, lr=0.1), num_steps=1)
    >>> path[1]   # one step of length η in each coordinate, however small the gradient
    tensor([0.9000, 0.0900])
    """
    check_int("num_steps", num_steps, minimum=0)
    x = torch.as_tensor(start, dtype=torch.get_default_dtype()).clone().detach()
    x = _check_1d("start", x).requires_grad_(True)
    optimizer = make_optimizer([x])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"make_optimizer must return a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    path = [x.detach().clone()]
    for _ in range(num_steps):
        optimizer.zero_grad()
        f(x).reshape(()).backward()
        optimizer.step()
        path.append(x.detach().clone())
    return torch.stack(path)


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
    if X.ndim != 2:
        raise ValueError(f"X must have shape (batch, features), got {tuple(X.shape)}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    if training:
        n = X.shape[0]
        if n < 2:
            raise ValueError(
                "batch normalisation in training mode needs at least 2 examples per batch "
                f"(got {n}); use a larger batch or evaluation mode"
            )
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
