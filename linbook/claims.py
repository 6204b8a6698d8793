"""Seeds and the three kinds of check a chapter makes.

Every check in a chapter is one of three kinds (CONTRIBUTING.md, "Claims that hold anywhere"):

(a) an *identity*: mathematics or a parity that holds to a tolerance on any machine (our Adam
    against ``torch.optim.Adam``, a gradient against autograd). Written as a plain ``assert``
    or ``torch.testing.assert_close``.
(b) a *claim about measured behaviour* ("momentum needs fewer steps"): it must hold for any seed,
    any supported torch, CPU or GPU, with a margin taken from the measured spread. Written with
    :func:`measured`, which checks it and, when ``LINBOOK_CLAIMS_LOG`` names a file, appends the
    claim's value and margin there (``make robust`` reads them).
(c) a *fact of this build* (an exact count, the range of a glued number the prose relies on):
    written with :func:`build_fact`. In the book's build (``LINBOOK_BUILD=1``, set by the strict
    build) a false fact stops the notebook; anywhere else it prints a visible note and goes on.

Seeds: every seed a chapter uses passes through :func:`seed` (directly, or through
:func:`set_seed`, :func:`rng`, :func:`generator` and the linbook functions that take a ``seed``),
which adds the offset in ``LINBOOK_SEED_OFFSET`` (default 0). One environment variable thus
shifts every seed of a chapter; the book's build leaves it unset. Data sets generated from a
seed (the TIMIT stand-in) are data, not experiments, and are not shifted.
"""

from __future__ import annotations

import json
import math
import os
import random

import numpy as np

from .checks import check_int, check_value

__all__ = [
    "SEED_OFFSET_ENV",
    "BUILD_ENV",
    "CLAIMS_LOG_ENV",
    "CALIBRATE_ENV",
    "seed_offset",
    "seed",
    "set_seed",
    "rng",
    "generator",
    "is_build",
    "measured",
    "build_fact",
]

#: Environment variable whose integer value is added to every seed (default 0).
SEED_OFFSET_ENV = "LINBOOK_SEED_OFFSET"
#: Environment variable set to ``1`` by the book's strict build, where facts of the build are raised.
BUILD_ENV = "LINBOOK_BUILD"
#: Environment variable that, set to ``1``, turns failed measured claims into notes, so that
#: bounds can be calibrated over many seeds (``LINBOOK_CLAIMS_LOG`` records every value).
CALIBRATE_ENV = "LINBOOK_CLAIMS_CALIBRATE"
#: Environment variable naming a file where :func:`measured` and :func:`build_fact` log (JSON lines).
CLAIMS_LOG_ENV = "LINBOOK_CLAIMS_LOG"


def seed_offset() -> int:
    """Return the seed offset from ``LINBOOK_SEED_OFFSET`` (0 when unset or empty).

    Examples
    --------
    >>> import os; os.environ.pop("LINBOOK_SEED_OFFSET", None) and None
    >>> seed_offset()
    0
    """
    text = os.environ.get(SEED_OFFSET_ENV, "").strip()
    if not text:
        return 0
    try:
        offset = int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_ENV} must be a non-negative integer, got {text!r}; unset it for the "
            "book's own seeds"
        ) from None
    return check_int(SEED_OFFSET_ENV, offset, minimum=0)


def seed(base: int = 0) -> int:
    """Return the seed to use for the chapter's seed ``base``: ``base + seed_offset()``.

    Examples
    --------
    >>> seed(3) == 3 + seed_offset()
    True
    """
    return check_int("seed", base, minimum=0) + seed_offset()


def set_seed(base: int) -> int:
    """Seed Python's, NumPy's and PyTorch's global generators with :func:`seed` ``(base)``.

    Returns the seed actually used (``base`` plus the offset).

    Examples
    --------
    >>> import torch
    >>> _ = set_seed(0); a = torch.rand(1); _ = set_seed(0); bool(torch.rand(1) == a)
    True
    """
    import torch

    value = seed(base)
    random.seed(value)
    np.random.seed(value % 2**32)
    torch.manual_seed(value)
    return value


def rng(base: int = 0) -> np.random.Generator:
    """Return ``numpy.random.default_rng(seed(base))``.

    Examples
    --------
    >>> bool(rng(1).random() == rng(1).random())
    True
    """
    return np.random.default_rng(seed(base))


def generator(base: int = 0):
    """Return a CPU ``torch.Generator`` seeded with :func:`seed` ``(base)``.

    Examples
    --------
    >>> import torch
    >>> bool(torch.rand(1, generator=generator(2)) == torch.rand(1, generator=generator(2)))
    True
    """
    import torch

    return torch.Generator().manual_seed(seed(base))


def is_build() -> bool:
    """Return whether this run is the book's build (``LINBOOK_BUILD=1``)."""
    return os.environ.get(BUILD_ENV, "") == "1"


def _log(record: dict) -> None:
    path = os.environ.get(CLAIMS_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record, ensure_ascii=False) + "\n")


def measured(
    name: str,
    value: float,
    *,
    above: float | None = None,
    below: float | None = None,
    strict: bool = True,
) -> bool:
    """Check a claim about measured behaviour: ``above < value < below``; return whether it held.

    The claim's *margin* is the distance from ``value`` to the nearer bound (negative when the
    claim fails). Choose the bounds from the measured spread over seeds and configurations, not
    from one run: ``make robust`` reports the closest margin of every claim.

    Parameters
    ----------
    name
        the claim in a few words, e.g. ``"momentum saves steps over SGD"``.
    value
        the measured quantity the claim is about (a difference, a ratio, an accuracy).
    above, below
        the bounds; at least one must be given.
    strict
        raise ``AssertionError`` when the claim fails (the default). Pass ``False`` for a claim
        meant for the book's own data that a reader's run on other data (the real TIMIT files)
        may break: then a visible note is printed instead.

    Examples
    --------
    >>> measured("SGD needs more steps than momentum", 61 - 23, above=10)
    True
    >>> measured("lr 1 keeps the loss finite", float("nan"), below=10.0, strict=False)
    Note: the text's claim "lr 1 keeps the loss finite" did not hold on this run (value nan, bound < 10.0).
    False
    """
    if above is None and below is None:
        check_value(
            "above, below", (above, below), False, "a bound: pass above=..., below=... or both"
        )
    value = float(value)
    margins = []
    if above is not None:
        margins.append(value - float(above))
    if below is not None:
        margins.append(float(below) - value)
    margin = min(margins) if not math.isnan(value) else -math.inf
    holds = margin > 0
    # the margin as a fraction of the nearer bound (of the value, where that bound is 0)
    nearer = [b for b in (above, below) if b is not None][
        int(len(margins) == 2 and margins[1] < margins[0])
    ]
    scale = abs(float(nearer)) or abs(value)
    relative = margin / scale if scale and math.isfinite(margin) else margin
    _log({"kind": "measured", "name": name, "value": value, "above": above, "below": below,
          "margin": margin, "relative_margin": relative, "holds": holds})  # fmt: skip
    if holds:
        return True
    bounds = " and ".join(
        ([f"> {above}"] if above is not None else [])
        + ([f"< {below}"] if below is not None else [])
    )
    message = (
        f'the text\'s claim "{name}" did not hold on this run (value {value:.6g}, bound {bounds})'
    )
    if strict and os.environ.get(CALIBRATE_ENV) != "1":
        raise AssertionError(message)
    print(f"Note: {message}.")
    return False


def build_fact(condition: bool, fact: str) -> bool:
    """Check a fact of the book's build; raise in the build, print a visible note elsewhere.

    A fact of the build is what the prose says of this build's numbers (an exact count, the
    range a glued value falls in). In the build (``LINBOOK_BUILD=1``) a false fact is an error;
    on a reader's machine (another CPU, GPU, torch or seed) it is reported and the run goes on.

    Examples
    --------
    >>> build_fact(1 + 1 == 2, "two is two")
    True
    """
    holds = bool(condition)
    _log({"kind": "build_fact", "name": fact, "holds": holds})
    if holds:
        return True
    if is_build():
        raise AssertionError(f"the book's build states that {fact}, but this build disagrees")
    print(
        f"Note: the book states, for its own build, that {fact}; on this run it differs "
        "(another machine, PyTorch version or seed). The text's numbers are the build's."
    )
    return False
