"""COVID-19 cases prediction (Kaggle ``ml2021spring-hw1``): data checks, the course's dev
split, a small MLP trainer and the book's recipe (submissions: :mod:`linbook.submission`).

The data (see :func:`linbook.kaggle.fetch_competition`) has one row per US state and
three consecutive days: ``id``, 40 one-hot state columns, then 18 survey features for each
day. pandas names the repeated columns ``cli``, ``cli.1``, ``cli.2`` ...; the target is the
third day's ``tested_positive``, column ``tested_positive.2``.

Typical use::

    from linbook import covid, kaggle, submission
    train_df, test_df = covid.read_covid(kaggle.fetch_competition("ml2021spring-hw1"))
    model, dev_mse = covid.fit(train_df, covid.dev_mask(len(train_df)), seed=0)
    submission.write_submission("ml2021spring-hw1", "pred.csv", model.predict(test_df),
                                ids=test_df["id"])
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import claims
from .checks import (
    check_choice,
    check_int,
    check_number,
    check_same_length,
    check_tensor,
    check_type,
    check_value,
)
from .model_selection import kfold_splits
from .train import OPTIMIZERS, SCHEDULES, History, KeepBest, make_optimizer, make_scheduler

__all__ = [
    "COURSE_BASELINES",
    "STATES",
    "DAY_FEATURES",
    "day_columns",
    "FEATURES",
    "TARGET",
    "TRAIN_COLUMNS",
    "TEST_COLUMNS",
    "read_covid",
    "check_frame",
    "dev_mask",
    "time_block_folds",
    "Standardizer",
    "MLPConfig",
    "COURSE_SAMPLE",
    "RECIPE",
    "fit_mlp",
    "CovidModel",
    "fit",
]

STATES: tuple[str, ...] = (
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "FL",
    "GA",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "NE",
    "NV",
    "NJ",
    "NM",
    "NY",
    "NC",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "TX",
    "UT",
    "VA",
    "WA",
    "WV",
    "WI",
)

#: The 18 features measured each day (Delphi COVIDcast surveys), the target's last.
DAY_FEATURES: tuple[str, ...] = (
    "cli",
    "ili",
    "hh_cmnty_cli",
    "nohh_cmnty_cli",
    "wearing_mask",
    "travel_outside_state",
    "work_outside_home",
    "shop",
    "restaurant",
    "spent_time",
    "large_event",
    "public_transit",
    "anxious",
    "depressed",
    "felt_isolated",
    "worried_become_ill",
    "worried_finances",
    "tested_positive",
)


def day_columns(day: int) -> list[str]:
    """Return the 18 column names of day 1, 2 or 3 as pandas reads them (``cli``,
    ``cli.1``, ``cli.2`` ...).

    Examples
    --------
    >>> day_columns(2)[:2]
    ['cli.1', 'ili.1']
    """
    check_choice("day", day, (1, 2, 3))
    suffix = "" if day == 1 else f".{day - 1}"
    return [name + suffix for name in DAY_FEATURES]


TARGET = "tested_positive.2"
#: The 93 inputs (40 states, days 1 and 2 with 18 each, day 3 without ``tested_positive``).
FEATURES: tuple[str, ...] = (*STATES, *day_columns(1), *day_columns(2), *day_columns(3)[:-1])
TRAIN_COLUMNS: tuple[str, ...] = ("id", *FEATURES, TARGET)
TEST_COLUMNS: tuple[str, ...] = ("id", *FEATURES)


# ---------------------------------------------------------------------------
# Reading and checking data
# ---------------------------------------------------------------------------


def _names(columns: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(repr(c) for c in list(columns)[:limit])
    return shown + (f" ... ({len(columns)} in all)" if len(columns) > limit else "")


def check_frame(df: pd.DataFrame, target: bool, features: Sequence[str] = FEATURES) -> None:
    """Check that ``df`` can be used to train (``target=True``) or to predict.

    Required: every column of ``features`` (and ``TARGET`` when ``target``), numeric
    (bool, int or float) and finite. Other columns of ``covid.train.csv`` (``id``, unused
    features, the target when predicting) are allowed and ignored; any other is an error.

    Raises
    ------
    TypeError
        ``df`` is not a DataFrame.
    ValueError
        duplicate, missing or extra columns, a column that is not numeric, NaN or infinite
        values, no rows.
    """
    check_type("df", df, pd.DataFrame, hint="read covid.*.csv with pd.read_csv")
    dup = list(df.columns[df.columns.duplicated()])
    check_value(
        "df",
        df,
        not dup,
        "a DataFrame with unique column names",
        got=f"duplicate column names {_names(dup)}; read the CSV with pandas.read_csv, "
        "which renames repeats to cli.1, cli.2 ...",
    )
    required = list(features) + ([TARGET] if target else [])
    allowed = set(TRAIN_COLUMNS)  # the competition's columns; unused ones are ignored
    missing = [c for c in required if c not in df.columns]
    hint = (
        " (a test file has no target: use it for prediction, not training)"
        if missing == [TARGET]
        else "; the columns must be named as pandas.read_csv names covid.train.csv"
    )
    check_value(
        "df",
        df,
        not missing,
        "a DataFrame with every column used",
        got=f"missing column(s) {_names(missing)}{hint}",
    )
    extra = [c for c in df.columns if c not in allowed]
    check_value(
        "df",
        df,
        not extra,
        "a DataFrame with only the columns of covid.train.csv",
        got=f"unexpected column(s) {_names(extra)}; drop them with df.drop(columns=[...])",
    )
    check_value("df", df, len(df) > 0, "a DataFrame with at least one row", got="no rows")
    bad_dtype = [
        c
        for c in required
        if not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]))
    ]
    check_value(
        "df",
        df,
        not bad_dtype,
        "a DataFrame of numeric columns",
        got=f"column(s) {_names(bad_dtype)} not numeric (dtype "
        f"{df[bad_dtype[0]].dtype if bad_dtype else None}); convert them, e.g. with pd.to_numeric",
    )
    values = df[required].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    cols = [required[j] for j in np.flatnonzero(bad.any(axis=0))]
    check_value(
        "df",
        df,
        not bad.any(),
        "a DataFrame of finite values",
        got=f"{int(bad.sum())} NaN or infinite value(s) in column(s) {_names(cols)}; "
        "fill or drop those rows first",
    )


def read_covid(folder: str | os.PathLike) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read and check ``covid.train.csv`` and ``covid.test.csv`` from ``folder``.

    Returns
    -------
    tuple
        ``(train_df, test_df)``, 2700 × 95 and 893 × 94 for the competition's files.

    Examples
    --------
    >>> from linbook import kaggle
    >>> train_df, test_df = read_covid(kaggle.fetch_competition("ml2021spring-hw1"))  # doctest: +SKIP
    """
    folder = Path(folder)
    frames = []
    for name, target in (("covid.train.csv", True), ("covid.test.csv", False)):
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found; get the files with "
                "linbook.kaggle.fetch_competition('ml2021spring-hw1')"
            )
        df = pd.read_csv(path)
        check_frame(df, target=target)
        frames.append(df)
    return frames[0], frames[1]


def dev_mask(n: int) -> np.ndarray:
    """The course's development split: row ``i`` is a dev row when ``i % 10 == 0``.

    Examples
    --------
    >>> dev_mask(12).nonzero()[0].tolist()
    [0, 10]
    """
    check_int("n", n, minimum=1)
    return np.arange(n) % 10 == 0


def _state_index(df: pd.DataFrame) -> np.ndarray:
    """The state (0 ... 39, the position in ``STATES``) of every row of ``df``."""
    check_type("df", df, pd.DataFrame)
    missing = [s for s in STATES if s not in df.columns]
    check_value(
        "df",
        df,
        not missing,
        "a DataFrame with the state columns of covid.train.csv",
        got=f"missing state column(s) {_names(missing)}",
    )
    onehot = df[list(STATES)].to_numpy(dtype=np.float64)
    one_hot_rows = np.isin(onehot, (0.0, 1.0)).all(axis=1) & (onehot.sum(axis=1) == 1)
    check_value(
        "df",
        df,
        one_hot_rows.all(),
        "one-hot in its state columns (exactly one equal to 1 in every row)",
        got=f"{int((~one_hot_rows).sum())} row(s) that are not",
    )
    return onehot.argmax(axis=1)


def time_block_folds(df: pd.DataFrame, k: int, gap: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds for cross-validation on days the model has not seen: fold ``i`` validates the
    ``i``-th block of consecutive rows of **every** state.

    The rows of each state must be consecutive and in time order, as in ``covid.train.csv``
    (neighbouring rows are windows shifted by one day). Each state's rows are cut into ``k``
    blocks by :func:`linbook.model_selection.kfold_splits` (without shuffling); fold ``i``'s
    validation rows are block ``i`` of every state, its training rows the state's other rows
    **except** the ``gap`` rows on each side of the block. A row's three days reappear in the
    two rows before and after it, so ``gap=2`` leaves no validation day in the training rows
    (``gap=0``: plain blocks).

    Parameters
    ----------
    df
        a frame with the 40 one-hot state columns of ``STATES``.
    k
        the number of folds (>= 2, at most the number of rows of the smallest state).
    gap
        rows left out of training on each side of a validation block (>= 0).

    Returns
    -------
    list of ``k`` pairs ``(train_idx, val_idx)``
        sorted ``int64`` positions (for ``df.iloc``); every row is validated exactly once.

    Raises
    ------
    ValueError
        bad ``k`` or ``gap``, a state with fewer than ``k`` rows, rows of a state that are
        not consecutive, state columns that are not one-hot, or a fold left without
        training rows.
    TypeError
        ``df`` is not a DataFrame.

    Examples
    --------
    >>> df = pd.DataFrame(0, index=range(12), columns=list(STATES))
    >>> df.loc[:5, "AL"] = 1; df.loc[6:, "AK"] = 1      # two states, 6 days each
    >>> for train_idx, val_idx in time_block_folds(df, 3, gap=1):
    ...     print(val_idx.tolist(), train_idx.tolist())
    [0, 1, 6, 7] [3, 4, 5, 9, 10, 11]
    [2, 3, 8, 9] [0, 5, 6, 11]
    [4, 5, 10, 11] [0, 1, 2, 6, 7, 8]
    """
    state = _state_index(df)
    k = check_int("k", k, minimum=2)
    gap = check_int("gap", gap, minimum=0)
    train_parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    val_parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    for s in np.unique(state):
        rows = np.flatnonzero(state == s)
        check_value(
            "df",
            df,
            not np.any(np.diff(rows) != 1),
            "a DataFrame with each state's rows together and in time order, as in covid.train.csv",
            got=f"the rows of state {STATES[s]} not consecutive",
        )
        check_value(
            "k",
            k,
            len(rows) >= k,
            "at most the number of rows of every state",
            got=f"{k}, more than the {len(rows)} row(s) of state {STATES[s]}",
        )
        for fold, (train_pos, val_pos) in enumerate(kfold_splits(len(rows), k, shuffle=False)):
            far = (train_pos < val_pos[0] - gap) | (train_pos > val_pos[-1] + gap)
            train_parts[fold].append(rows[train_pos[far]])
            val_parts[fold].append(rows[val_pos])
    folds = [
        (np.sort(np.concatenate(t)), np.sort(np.concatenate(v)))
        for t, v in zip(train_parts, val_parts)
    ]
    check_value(
        "gap",
        gap,
        all(len(train_idx) > 0 for train_idx, _ in folds),
        "small enough to leave every fold some training rows",
        got=f"{gap}, which leaves a fold without training rows; use a smaller gap or k",
    )
    return folds


def _check_mask(mask, n: int) -> np.ndarray:
    mask = np.asarray(mask)
    check_value(
        "dev_mask",
        mask,
        mask.dtype == bool and mask.shape == (n,),
        f"a boolean array of shape ({n},) (one entry per row, True for dev rows)",
        got=f"dtype {mask.dtype} and shape {mask.shape}",
    )
    check_value(
        "dev_mask",
        mask,
        mask.any() and not mask.all(),
        "True for some rows, but not all (the dev rows)",
        got=f"{int(mask.sum())} of {n} rows marked",
    )
    return mask


# ---------------------------------------------------------------------------
# Standardization with training statistics
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` per column, with ``mean`` and ``std`` of the **training** rows.

    Columns that are constant in the training rows get ``std = 1``.

    Examples
    --------
    >>> s = Standardizer.fit(np.array([[0.0, 1.0], [2.0, 1.0]]))
    >>> s.transform(np.array([[1.0, 5.0]])).tolist()
    [[0.0, 4.0]]
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        std = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(std > 0, std, 1.0))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean) / self.std


# ---------------------------------------------------------------------------
# A one-hidden-layer MLP trained with early stopping
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPConfig:
    """Settings of :func:`fit_mlp` / :func:`fit`.

    ``hidden`` units in one ReLU hidden layer; ``optimizer`` is ``"sgd"``, ``"adam"``
    (L2 penalty added to the gradient) or ``"adamw"`` (decoupled weight decay), built by
    :func:`linbook.train.make_optimizer`; ``schedule`` is one of
    :data:`linbook.train.SCHEDULES`, stepped after every minibatch over ``max_epochs``;
    training stops after ``patience`` epochs without a better dev MSE (``None``: run
    ``max_epochs``) and the weights of the best dev epoch are kept.
    ``standardize_inputs`` scales each feature with the training rows' mean and standard
    deviation (else the raw values are used); ``standardize_target`` trains on
    ``(y - mean) / std`` of the training targets.
    """

    hidden: int = 384
    optimizer: str = "adamw"
    lr: float = 3e-3
    momentum: float = 0.0
    weight_decay: float = 0.1
    batch_size: int = 256
    max_epochs: int = 300
    patience: int | None = 100
    schedule: str = "cosine"
    standardize_inputs: bool = True
    standardize_target: bool = True
    features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        for name in ("hidden", "batch_size", "max_epochs"):
            check_int(name, getattr(self, name), minimum=1)
        if self.patience is not None:
            check_int("patience", self.patience, minimum=1)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("lr", self.lr, minimum=0, strict_minimum=True)
        check_number("weight_decay", self.weight_decay, minimum=0)
        check_number("momentum", self.momentum, minimum=0, maximum=1)
        unknown = [f for f in self.features if f not in FEATURES]
        check_value(
            "features",
            self.features,
            bool(self.features) and not unknown,
            "a non-empty subset of covid.FEATURES",
            got=f"unknown {_names(unknown)}" if unknown else repr(self.features),
        )


#: The RMSE of the course's simple, medium and strong baselines on the competition's (public,
#: private) leaderboards, quoted from the course (ML 2021 Spring HW1, the TAs' grading script)
#: and not computed here.
COURSE_BASELINES: dict[str, tuple[float, float]] = {
    "simple": (2.03004, 2.04826),
    "medium": (1.28359, 1.36937),
    "strong": (0.88017, 0.89266),
}

#: The settings of the course's sample code (93 -> 64 -> 1, SGD with lr 0.001 and momentum
#: 0.9, batches of 270, at most 3000 epochs, the target in its own units). The sample code
#: stops when ``early_stop_cnt > 200``, i.e. after 201 epochs without improvement: patience 201.
COURSE_SAMPLE = MLPConfig(
    hidden=64, optimizer="sgd", lr=1e-3, momentum=0.9, weight_decay=0.0, batch_size=270,
    max_epochs=3000, patience=201, schedule="constant", standardize_target=False,
)  # fmt: skip

#: The book's recipe (all 93 features standardized with training statistics, 384 ReLU
#: units, AdamW with lr 3e-3 and weight decay 0.1, batches of 256, a cosine learning-rate
#: schedule over 300 epochs, early stopping with patience 100 keeping the best dev epoch).
RECIPE = MLPConfig()


def fit_mlp(
    X_train: torch.Tensor,
    y_train: torch.Tensor,
    X_dev: torch.Tensor,
    y_dev: torch.Tensor,
    config: MLPConfig,
    seed: int = 0,
    y_scale: tuple[float, float] = (0.0, 1.0),
) -> tuple[nn.Sequential, History]:
    """Train ``Linear(d, hidden) -> ReLU -> Linear(hidden, 1)`` by minibatch MSE.

    The inputs are used as given (standardize them first). Targets are in training units;
    ``y_scale = (mean, std)`` maps a network output ``o`` back to ``mean + std * o`` for the
    reported MSEs (so pass the scaling used to make ``y_train``, and ``y_dev`` in original
    units). Everything random (initialization, shuffling) uses ``seed`` and leaves torch's
    global generator as it was. Training runs on one CPU thread (fastest for matrices this
    small); the previous thread count is restored.

    Returns
    -------
    tuple
        ``(net, history)``: the network with the weights of the best dev epoch, and a
        :class:`linbook.train.History` of ``train_mse`` and ``dev_mse`` (original units) per
        epoch with ``best_epoch`` (1-based).
    """
    for name, t, ndim in (
        ("X_train", X_train, 2), ("y_train", y_train, 1), ("X_dev", X_dev, 2), ("y_dev", y_dev, 1),
    ):  # fmt: skip
        check_tensor(name, t, ndim=ndim)
    check_same_length("X_train", X_train, "y_train", y_train)
    check_same_length("X_dev", X_dev, "y_dev", y_dev)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # such small matrices train fastest on one thread
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(claims.seed(seed))
            return _train_loop(X_train, y_train, X_dev, y_dev, config, *y_scale)
    finally:
        torch.set_num_threads(threads)


def _train_loop(X_train, y_train, X_dev, y_dev, config: MLPConfig, mean: float, std: float):
    """The training loop of :func:`fit_mlp` (the chapter shows it)."""
    net = nn.Sequential(
        nn.Linear(X_train.shape[1], config.hidden), nn.ReLU(), nn.Linear(config.hidden, 1)
    )
    optimizer = make_optimizer(
        net.parameters(), config.optimizer, lr=config.lr,
        weight_decay=config.weight_decay, momentum=config.momentum,
    )  # fmt: skip
    n, batch_size = len(X_train), config.batch_size
    total_steps = config.max_epochs * math.ceil(n / batch_size)
    scheduler = make_scheduler(optimizer, config.schedule, total_steps)
    history = History("train_mse", "dev_mse")
    keep = KeepBest(mode="min", patience=config.patience)
    for epoch in range(1, config.max_epochs + 1):
        start = time.perf_counter()
        net.train()
        loss_sum = 0.0
        order = torch.randperm(n)
        for i in range(0, n, batch_size):
            rows = order[i : i + batch_size]
            loss = ((net(X_train[rows]).squeeze(1) - y_train[rows]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            loss_sum += loss.item() * len(rows)
        net.eval()
        with torch.no_grad():  # the dev MSE in the target's own units
            dev_mse = float(((mean + std * net(X_dev).squeeze(1) - y_dev) ** 2).mean())
        history.append(
            time.perf_counter() - start, train_mse=loss_sum / n * std**2, dev_mse=dev_mse
        )
        keep.update(net, dev_mse, epoch)
        if keep.should_stop:
            break
    keep.restore(net)
    history.best_epoch = keep.best_epoch
    net.eval()
    return net, history


# ---------------------------------------------------------------------------
# Train and predict on DataFrames
# ---------------------------------------------------------------------------


@dataclass
class CovidModel:
    """A trained model: the features it reads, the training statistics used to standardize
    them, the target scaling, the network and its training :class:`linbook.train.History`."""

    config: MLPConfig
    scaler: Standardizer | None
    y_mean: float
    y_std: float
    net: nn.Sequential
    history: History
    dev_mse: float

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """Return the predicted ``tested_positive`` of each row of ``df`` (float64, (n,)).

        Each row's prediction depends on that row only (the inputs are standardized with
        the training statistics stored in the model)."""
        check_frame(df, target=False, features=self.config.features)
        X = np.array(df[list(self.config.features)], dtype=np.float64)  # a writable copy
        if self.scaler is not None:
            X = self.scaler.transform(X)
        with torch.no_grad():
            out = self.net(torch.as_tensor(X, dtype=torch.float32)).squeeze(1)
        return (self.y_mean + self.y_std * out.double()).numpy()


def fit(
    df: pd.DataFrame, dev_mask, seed: int = 0, config: MLPConfig = RECIPE
) -> tuple[CovidModel, float]:
    """Train the recipe (or ``config``) on the rows of ``df`` where ``dev_mask`` is False.

    Parameters
    ----------
    df
        a training DataFrame (``covid.train.csv``, or rows of it); it is checked.
    dev_mask
        boolean array with one entry per row, True for the development rows (used for
        early stopping and the reported MSE), e.g. from :func:`dev_mask`.
    seed
        seed of the initialization and the shuffling.
    config
        :data:`RECIPE` (default), :data:`COURSE_SAMPLE` or any :class:`MLPConfig`.

    Returns
    -------
    tuple
        ``(model, dev_mse)``, the :class:`CovidModel` with the weights of the best dev
        epoch and its dev MSE.

    Examples
    --------
    >>> model, dev_mse = fit(train_df, dev_mask(len(train_df)), seed=0)  # doctest: +SKIP
    >>> model.predict(test_df).shape                                       # doctest: +SKIP
    (893,)
    """
    check_frame(df, target=True, features=config.features)
    mask = _check_mask(dev_mask, len(df))
    check_int("seed", seed, minimum=0)
    X = df[list(config.features)].to_numpy(np.float64)
    y = df[TARGET].to_numpy(np.float64)
    scaler = Standardizer.fit(X[~mask]) if config.standardize_inputs else None  # training rows
    inputs = scaler.transform if scaler is not None else np.array
    y_mean, y_std = (
        (float(y[~mask].mean()), float(y[~mask].std())) if config.standardize_target else (0.0, 1.0)
    )

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32)

    net, history = fit_mlp(
        tensor(inputs(X[~mask])),
        tensor((y[~mask] - y_mean) / y_std),
        tensor(inputs(X[mask])),
        tensor(y[mask]),
        config,
        seed=seed,
        y_scale=(y_mean, y_std),
    )
    model = CovidModel(config, scaler, y_mean, y_std, net, history, dev_mse=math.nan)
    pred = model.predict(df[mask])
    model.dev_mse = float(np.mean((pred - y[mask]) ** 2))
    return model, model.dev_mse
