"""Optimizers written from their formulas, for chapter 2.3.1 (训练技巧).

* :class:`MomentumSGD`, :func:`descent_path`: gradient descent with momentum in the form
  ``m_t = β m_{t-1} - η g_{t-1}``, ``θ_t = θ_{t-1} + m_t``;
* :class:`AdaGrad`, :class:`RMSProp`, :class:`Adam`, :class:`AdamW`: the adaptive optimizers
  written from their formulas (with the hyperparameters of ``torch.optim``'s versions, which
  they reproduce), and :func:`optimizer_path` to follow any optimizer on a function.

They are ``torch.optim.Optimizer`` subclasses, so they plug into any training loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from .checks import check_int, check_number, check_type, check_value, check_vector

__all__ = [
    "MomentumSGD",
    "descent_path",
    "AdaGrad",
    "RMSProp",
    "Adam",
    "AdamW",
    "optimizer_path",
]


# ---------------------------------------------------------------------------
# Momentum
# ---------------------------------------------------------------------------


class _ElementwiseOptimizer(torch.optim.Optimizer):
    """Base of the optimizers of this module: ``step`` hands each parameter with a gradient to
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


class MomentumSGD(_ElementwiseOptimizer):
    """Gradient descent with momentum, written as a movement that remembers the last one.

    ``m_t = β m_{t-1} - η g_{t-1}`` and ``θ_t = θ_{t-1} + m_t`` with ``m_0 = 0``, where
    ``g_{t-1}`` is the gradient at ``θ_{t-1}``, ``η = lr`` and ``β = momentum``; the movement
    ``m`` of each parameter is kept in ``optimizer.state[p]["movement"]``. With a constant
    ``lr`` this equals ``torch.optim.SGD(params, lr, momentum=β)``, whose buffer is
    ``b_t = β b_{t-1} + g_{t-1}`` with ``θ_t = θ_{t-1} - η b_t``, i.e. ``m_t = -η b_t``.

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
        lr = _check_rate("lr", lr)
        momentum = check_number("momentum", momentum, minimum=0, maximum=1, strict_maximum=True)
        super().__init__(params, {"lr": lr, "momentum": momentum})

    def _update(self, param, grad, state, group) -> None:
        """One step for one parameter: ``m = β m - η g``, then ``θ = θ + m``."""
        if "movement" not in state:
            state["movement"] = torch.zeros_like(param)
        movement = state["movement"]
        movement.mul_(group["momentum"]).add_(grad, alpha=-group["lr"])  # m = β m - η g
        param.add_(movement)  # θ = θ + m


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
        η and β of :class:`MomentumSGD` (``momentum=0``: plain gradient descent).
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


def _check_rate(name: str, value: float) -> float:
    return check_number(name, value, minimum=0, strict_minimum=True)


def _check_decay(name: str, value: float) -> float:
    # < 1: a decay of 1 would never forget the first value
    return check_number(name, value, minimum=0, maximum=1, strict_maximum=True)


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
        check_type("betas", betas, (tuple, list))
        check_value("betas", betas, len(betas) == 2, "a pair (beta1, beta2)")
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
    x = check_vector("start", x).requires_grad_(True)
    optimizer = make_optimizer([x])
    check_type("make_optimizer(...)", optimizer, torch.optim.Optimizer)
    path = [x.detach().clone()]
    for _ in range(num_steps):
        optimizer.zero_grad()
        f(x).reshape(()).backward()
        optimizer.step()
        path.append(x.detach().clone())
    return torch.stack(path)
