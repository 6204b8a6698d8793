"""Argument checks shared by every linbook module, with one exception type per kind of mistake.

* a value of the right kind but not allowed (``batch_size=0``, ``k=2.5``, ``lr=-1``,
  ``schedule="cosin"``) raises :class:`ValueError`;
* an object of the wrong kind altogether (a list where a tensor or a DataFrame is expected)
  raises :class:`TypeError`.

Every message names the argument, says what is allowed and shows what was given.

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

__all__ = ["check_int", "check_number", "check_choice", "check_type", "check_vector"]


def _bounds(minimum: float | None, maximum: float | None, strict_minimum: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if strict_minimum else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    return " and ".join(parts)


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """Return ``value`` if it is an integer (not a bool) in ``[minimum, maximum]``.

    NumPy integers are accepted and returned as ``int``.

    Raises
    ------
    ValueError
        ``value`` is not an integer, or lies outside the bounds.

    Examples
    --------
    >>> check_int("k", 5, minimum=2)
    5
    >>> check_int("k", 2.5, minimum=2)
    Traceback (most recent call last):
        ...
    ValueError: k must be an int >= 2, got 2.5 (float)
    """
    wanted = " ".join(filter(None, ["an int", _bounds(minimum, maximum, False)]))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
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
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds.

    ``strict_minimum=True`` excludes ``minimum`` itself (e.g. a learning rate ``> 0``).

    Raises
    ------
    ValueError
        ``value`` is not a real number (or is NaN/infinite), or lies outside the bounds.

    Examples
    --------
    >>> check_number("lr", 0.1, minimum=0, strict_minimum=True)
    0.1
    >>> check_number("lr", 0, minimum=0, strict_minimum=True)
    Traceback (most recent call last):
        ...
    ValueError: lr must be a finite number > 0, got 0
    """
    wanted = " ".join(filter(None, ["a finite number", _bounds(minimum, maximum, strict_minimum)]))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {wanted}, got {value!r} ({type(value).__name__})")
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    too_small = minimum is not None and (number <= minimum if strict_minimum else number < minimum)
    if too_small or (maximum is not None and number > maximum):
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
