"""K-fold cross-validation by indices, for any model and any data container.

* :func:`kfold_splits`: the ``k`` pairs ``(train_idx, val_idx)`` that split ``range(n)``
  into ``k`` folds, each example in exactly one validation fold;
* :func:`cross_val_scores`: call ``evaluate(train_idx, val_idx)`` once per fold and
  collect the scores.

Only integer positions are handed around, so the same code serves tensors
(``X[train_idx]``), NumPy arrays and pandas DataFrames (``df.iloc[train_idx]``); fitting,
preprocessing (e.g. standardizing with the training fold's statistics) and scoring all
happen inside ``evaluate``, where they cannot see the validation fold by accident.

Examples
--------
>>> [val.tolist() for _, val in kfold_splits(5, 2, shuffle=False)]
[[0, 1, 2], [3, 4]]
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np

from . import claims
from .checks import check_int, check_number, check_type

__all__ = ["kfold_splits", "cross_val_scores"]


def kfold_splits(
    n: int, k: int, *, shuffle: bool = True, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split the positions ``0, 1, ..., n - 1`` into ``k`` folds for cross-validation.

    Fold ``i`` is the validation set of split ``i`` and the other ``k - 1`` folds are its
    training set. The first ``n % k`` folds hold ``n // k + 1`` positions, the others
    ``n // k``, so every position is validated exactly once. With ``shuffle`` the positions
    are permuted first by ``numpy.random.default_rng(seed)`` (the same ``seed`` gives the
    same folds on every machine); without it the folds are consecutive blocks, which keeps
    rows that belong together (say, days in time order) in one fold.

    Parameters
    ----------
    n
        the number of examples (>= 2).
    k
        the number of folds, ``2 <= k <= n`` (``k = n``: leave-one-out).
    shuffle
        permute the positions before cutting them into folds.
    seed
        seed of the permutation (>= 0); ignored when ``shuffle`` is false.

    Returns
    -------
    list of ``k`` pairs ``(train_idx, val_idx)``
        sorted ``int64`` arrays of positions; within a pair they are disjoint and together
        hold all ``n`` positions.

    Raises
    ------
    ValueError
        ``n`` or ``k`` is not an integer, ``n < 2``, ``k < 2`` or ``k > n``.

    Examples
    --------
    >>> for train_idx, val_idx in kfold_splits(5, 2, shuffle=False):
    ...     print(train_idx, val_idx)
    [3 4] [0 1 2]
    [0 1 2] [3 4]
    >>> sorted(int(i) for _, val in kfold_splits(10, 3, seed=1) for i in val) == list(range(10))
    True
    """
    n = check_int("n", n, minimum=2)
    k = check_int("k", k, minimum=2)
    k = check_int("k", k, maximum=n)  # at least one example per fold
    check_type("shuffle", shuffle, (bool, np.bool_))
    seed = check_int("seed", seed, minimum=0)
    order = claims.rng(seed).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    in_fold = np.empty(n, dtype=np.int64)
    for fold in range(k):
        in_fold[order[bounds[fold] : bounds[fold + 1]]] = fold
    positions = np.arange(n, dtype=np.int64)
    return [(positions[in_fold != fold], positions[in_fold == fold]) for fold in range(k)]


def cross_val_scores(
    evaluate: Callable[[np.ndarray, np.ndarray], float],
    n: int,
    k: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
) -> np.ndarray:
    """Return ``evaluate(train_idx, val_idx)`` for each of the ``k`` splits of :func:`kfold_splits`.

    ``evaluate`` trains a fresh model on the examples at ``train_idx`` and returns its score
    (an error such as the MSE, or an accuracy) on those at ``val_idx``; it must not keep
    anything from one fold to the next. Report ``scores.mean()`` and ``scores.std(ddof=1)``,
    the spread between folds.

    Parameters
    ----------
    evaluate
        ``evaluate(train_idx, val_idx) -> float`` (a Python, NumPy or 0-d tensor number).
    n, k, shuffle, seed
        as in :func:`kfold_splits`.

    Returns
    -------
    numpy.ndarray
        ``k`` floats, the score of fold ``i`` at position ``i``.

    Raises
    ------
    ValueError
        bad ``n``, ``k`` or ``seed`` (see :func:`kfold_splits`).
    TypeError
        ``evaluate`` is not callable or returns something that is not one real number.

    Examples
    --------
    >>> y = np.array([1.0, 2.0, 3.0, 4.0])
    >>> def evaluate(train_idx, val_idx):   # predict the training mean, score the MSE
    ...     return float(((y[val_idx] - y[train_idx].mean()) ** 2).mean())
    >>> cross_val_scores(evaluate, len(y), k=2, shuffle=False)
    array([4.25, 4.25])
    """
    check_type(
        "evaluate", evaluate, Callable, hint="a function evaluate(train_idx, val_idx) -> float"
    )
    scores = []
    for fold, (train_idx, val_idx) in enumerate(kfold_splits(n, k, shuffle=shuffle, seed=seed)):
        score = evaluate(train_idx, val_idx)
        if not isinstance(score, numbers.Real) and hasattr(score, "item"):
            try:  # a one-element NumPy array or torch tensor
                score = score.item()
            except (ValueError, RuntimeError):
                pass
        scores.append(
            check_number(f"the score evaluate returned for fold {fold}", score, finite=False)
        )
    return np.array(scores)
