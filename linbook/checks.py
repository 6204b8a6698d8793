"""Argument checks shared by every linbook module, with one exception type per kind of mistake.

* a value of the right kind but not allowed (``batch_size=0``, ``k=2.5``, ``lr=-1``,
  ``schedule="cosin"``) raises :class:`ValueError`;
* an object of the wrong kind altogether (a list where a tensor or a DataFrame is expected,
  the string ``"3"`` where a number is expected) raises :class:`TypeError`.

A tensor's shape and dtype are properties of a value of the right kind: a float tensor where
class indices are expected raises :class:`ValueError`. Every message names the argument, says
what is allowed and shows what was given. Every public linbook function checks its arguments
with these helpers (``tests/test_checks_used.py`` fails on a hand-rolled check elsewhere); a
check no helper below expresses uses :func:`check_value`.

Examples
--------
>>> check_int("batch_size", 256, minimum=1)
256
>>> check_int("batch_size", 0, minimum=1)
Traceback (most recent call last):
    ...
ValueError: batch_size must be an int >= 1, got 0
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

__all__ = [
    "check_int",
    "check_number",
    "check_choice",
    "check_type",
    "check_value",
    "check_tensor",
    "check_same_length",
    "check_vector",
]


def _bounds(
    minimum: float | None,
    maximum: float | None,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if strict_minimum else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"{'<' if strict_maximum else '<='} {maximum}")
    return " and ".join(parts)


def _not_a_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, numbers.Real)


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` if it is an integer (not a bool) in ``[minimum, maximum]``.

    NumPy integers are accepted and returned as ``int``.

    Raises
    ------
    TypeError
        ``value`` is not a number at all (a string, ``None``, a bool).
    ValueError
        ``value`` is a number but not an integer (``2.5``), or lies outside the bounds.

    Examples
    --------
    >>> check_int("k", 5, minimum=2)
    5
    >>> check_int("k", 2.5, minimum=2)
    Traceback (most recent call last):
        ...
    ValueError: k must be an int >= 2, got 2.5 (float)
    >>> check_int("n", "3")
    Traceback (most recent call last):
        ...
    TypeError: n must be an int, got '3' (str)
    """
    wanted = " ".join(filter(None, ["an int", _bounds(minimum, maximum)]))
    if _not_a_number(value):
        raise TypeError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    if not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {wanted}, got {value}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds.

    ``strict_minimum=True`` excludes ``minimum`` itself (e.g. a learning rate ``> 0``),
    ``strict_maximum=True`` excludes ``maximum`` (a momentum ``< 1``). ``finite=False``
    accepts NaN and infinities (a measured score, which may diverge).

    Raises
    ------
    TypeError
        ``value`` is not a real number (a string, ``None``, a bool, a tensor of many values).
    ValueError
        ``value`` is NaN or infinite, or lies outside the bounds.

    Examples
    --------
    >>> check_number("lr", 0.1, minimum=0, strict_minimum=True)
    0.1
    >>> check_number("lr", 0, minimum=0, strict_minimum=True)
    Traceback (most recent call last):
        ...
    ValueError: lr must be a finite number > 0, got 0
    """
    bounds = _bounds(minimum, maximum, strict_minimum, strict_maximum)
    wanted = " ".join(filter(None, ["a finite number" if finite else "a real number", bounds]))
    if _not_a_number(value):
        raise TypeError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if finite and (number != number or number in (float("inf"), float("-inf"))):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    too_small = minimum is not None and (number <= minimum if strict_minimum else number < minimum)
    too_big = maximum is not None and (number >= maximum if strict_maximum else number > maximum)
    if too_small or too_big:
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return number


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; else raise ``ValueError`` listing them.

    Examples
    --------
    >>> check_choice("schedule", "cosine", ("constant", "cosine"))
    'cosine'
    >>> check_choice("schedule", "cosin", ("constant", "cosine"))
    Traceback (most recent call last):
        ...
    ValueError: schedule must be one of 'constant', 'cosine'; got 'cosin'
    """
    options = tuple(choices)
    if value not in options:
        shown = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")
    return value


def check_type(name: str, value: Any, expected: type | tuple[type, ...], hint: str = "") -> Any:
    """Return ``value`` if it is an instance of ``expected``; else raise ``TypeError``.

    ``hint`` is appended to the message (say, how to make the right object).

    Examples
    --------
    >>> check_type("X", [1, 2], dict, hint="build one with dict(...)")
    Traceback (most recent call last):
        ...
    TypeError: X must be a dict, got list; build one with dict(...)
    """
    if not isinstance(value, expected):
        kinds = expected if isinstance(expected, tuple) else (expected,)
        names = " or ".join(k.__name__ for k in kinds)
        message = f"{name} must be a {names}, got {type(value).__name__}"
        raise TypeError(message + (f"; {hint}" if hint else ""))
    return value


def check_value(name: str, value: Any, ok: bool, wanted: str, *, got: str | None = None) -> Any:
    """Return ``value`` if ``ok``; else raise ``ValueError``: "``name`` must be ``wanted``, got …".

    The one way to write a check that the other helpers do not express (a relation between
    two arguments, a length, a content rule). ``got`` replaces ``repr(value)`` in the message
    (say, for a tensor: its shape).

    Examples
    --------
    >>> check_value("betas", (0.9,), False, "a pair (beta1, beta2)")
    Traceback (most recent call last):
        ...
    ValueError: betas must be a pair (beta1, beta2), got (0.9,)
    """
    if not ok:
        shown = repr(value) if got is None else got
        raise ValueError(f"{name} must be {wanted}, got {shown}")
    return value


def check_tensor(
    name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None, dtype: str | None = None
) -> Any:
    """Return ``value`` if it is a ``torch.Tensor`` with ``ndim`` dimensions (one of them, for
    a tuple) and, for ``dtype="integer"`` or ``"floating"``, a dtype of that family.

    Raises ``TypeError`` for anything but a tensor and ``ValueError`` for another shape or dtype.

    Examples
    --------
    >>> import torch
    >>> check_tensor("X", torch.zeros(2, 3), ndim=2, dtype="floating").shape
    torch.Size([2, 3])
    >>> check_tensor("y", torch.zeros(3), dtype="integer")
    Traceback (most recent call last):
        ...
    ValueError: y must be a tensor of integers (class indices), got dtype torch.float32
    >>> check_tensor("X", [[1.0]])
    Traceback (most recent call last):
        ...
    TypeError: X must be a Tensor, got list; convert it with torch.as_tensor(...)
    """
    import torch  # only here: the other checks need no torch

    check_type(name, value, torch.Tensor, hint="convert it with torch.as_tensor(...)")
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if dims is not None and value.ndim not in dims:
        wanted = " or ".join(f"{d}-D" for d in dims)
        raise ValueError(f"{name} must be {wanted}, got shape {tuple(value.shape)}")
    if dtype is not None:
        check_choice("dtype", dtype, ("integer", "floating"))
        is_float = value.is_floating_point()
        integral = not is_float and not value.is_complex() and value.dtype != torch.bool
        if (dtype == "integer" and not integral) or (dtype == "floating" and not is_float):
            what = "integers (class indices)" if dtype == "integer" else "floating-point numbers"
            raise ValueError(f"{name} must be a tensor of {what}, got dtype {value.dtype}")
    return value


def check_same_length(name_a: str, a: Any, name_b: str, b: Any, what: str = "rows") -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same length (one entry per example).

    Examples
    --------
    >>> check_same_length("X", [1, 2], "y", [1])
    Traceback (most recent call last):
        ...
    ValueError: X has 2 rows but y has 1: they must have one per example
    """
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} has {len(a)} {what} but {name_b} has {len(b)}: they must have one per example"
        )


def check_vector(name: str, value: Any) -> Any:
    """Return ``value`` if it is a 1-D ``torch.Tensor`` (one value per example).

    Raises ``TypeError`` for anything but a tensor and ``ValueError`` for another shape.

    Examples
    --------
    >>> import torch
    >>> check_vector("x", torch.zeros(3)).shape
    torch.Size([3])
    >>> check_vector("x", torch.zeros(3, 1))
    Traceback (most recent call last):
        ...
    ValueError: x must be 1-D (one value per example), got shape (3, 1); use x.reshape(-1)
    """
    import torch  # only here: the other checks need no torch

    check_type(name, value, torch.Tensor)
    if value.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per example), got shape {tuple(value.shape)}; "
            "use x.reshape(-1)"
        )
    return value
