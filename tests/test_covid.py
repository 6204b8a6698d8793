"""Tests of linbook.covid: input checks, the dev split, training and prediction on DataFrames,
and the real files end to end (with linbook.submission) when they are available."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from linbook import covid, submission

REPO = Path(__file__).resolve().parent.parent
TINY = replace(covid.RECIPE, hidden=8, max_epochs=4, batch_size=64)


def real_hw1() -> Path | None:
    roots = [Path(os.environ["LINBOOK_DATA"])] if os.environ.get("LINBOOK_DATA") else []
    roots.append(REPO.parent / "shared" / "data")
    for root in roots:
        if (root / "ml2021spring-hw1" / "sampleSubmission.csv").is_file():
            return root / "ml2021spring-hw1"
    return None


HW1 = real_hw1()
needs_real_data = pytest.mark.skipif(
    HW1 is None,
    reason="the real ml2021spring-hw1 files are not available: set LINBOOK_DATA "
    "to a folder holding ml2021spring-hw1/ (CI: ../shared/data)",
)


def synthetic_frame(n: int = 200, seed: int = 0, target: bool = True) -> pd.DataFrame:
    """A frame with the competition's columns and a learnable target."""
    rng = np.random.default_rng(seed)
    states = np.eye(40)[rng.integers(0, 40, n)]
    days = rng.normal(10, 3, size=(n, len(covid.FEATURES) - 40))
    df = pd.DataFrame(np.c_[states, days], columns=list(covid.FEATURES))
    df.insert(0, "id", np.arange(n))
    if target:
        df[covid.TARGET] = 0.9 * df["tested_positive.1"] + 0.1 * df["cli.2"] + rng.normal(0, 0.1, n)
    return df


def test_columns():
    assert len(covid.STATES) == 40 and len(covid.DAY_FEATURES) == 18
    assert len(covid.FEATURES) == 93 and len(set(covid.FEATURES)) == 93
    assert covid.TRAIN_COLUMNS[0] == "id" and covid.TRAIN_COLUMNS[-1] == "tested_positive.2"
    assert len(covid.TRAIN_COLUMNS) == 95 and len(covid.TEST_COLUMNS) == 94
    assert covid.day_columns(1)[0] == "cli" and covid.day_columns(3)[-1] == "tested_positive.2"
    with pytest.raises(ValueError):
        covid.day_columns(4)


def test_dev_mask():
    mask = covid.dev_mask(2700)
    assert mask.dtype == bool and mask.sum() == 270 and mask[0] and mask[10] and not mask[1]
    with pytest.raises(ValueError):
        covid.dev_mask(0)


def test_standardizer_uses_fitted_statistics():
    X = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = covid.Standardizer.fit(X)
    np.testing.assert_allclose(s.transform(X), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s.transform([[5.0, 7.0]]), [[3.0, 2.0]])  # not refitted


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda df: df.drop(columns=["cli.1"]), ValueError, "missing column.*cli.1"),
        (lambda df: df.drop(columns=[covid.TARGET]), ValueError, "test file has no target"),
        (lambda df: df.assign(extra=1.0), ValueError, "unexpected column.*extra"),
        (lambda df: df.assign(**{"ili": np.nan}), ValueError, "NaN.*'ili'"),
        (lambda df: df.assign(**{"shop": np.inf}), ValueError, "infinite.*'shop'"),
        (lambda df: df.assign(**{"AL": "yes"}), ValueError, "'AL'.*not numeric"),
        (lambda df: df.iloc[:0], ValueError, "no rows"),
        (lambda df: df.to_numpy(), TypeError, "DataFrame"),
    ],
)
def test_bad_frames_are_refused(change, error, match):
    df = change(synthetic_frame(30))
    with pytest.raises(error, match=match):
        covid.check_frame(df, target=True)
    with pytest.raises(error, match=match):
        covid.fit(df, np.arange(len(df)) % 2 == 0, config=TINY)


def test_a_test_file_without_target_is_fine_for_prediction_only():
    df = synthetic_frame(30).drop(columns=[covid.TARGET])
    covid.check_frame(df, target=False)  # no error: a test file has no target
    with pytest.raises(ValueError, match="test file has no target"):
        covid.fit(df, np.arange(len(df)) % 2 == 0, config=TINY)


def test_duplicate_columns_are_refused():
    df = synthetic_frame(10)
    df.columns = ["cli" if c == "cli.1" else c for c in df.columns]
    with pytest.raises(ValueError, match="duplicate"):
        covid.check_frame(df, target=True)


def test_train_and_predict_on_frames():
    df = synthetic_frame(300)
    mask = covid.dev_mask(len(df))
    state = torch.random.get_rng_state()
    model, dev_mse = covid.fit(df, mask, seed=3, config=replace(TINY, max_epochs=30))
    assert torch.equal(torch.random.get_rng_state(), state)  # global generator untouched
    assert isinstance(model, covid.CovidModel) and dev_mse == model.dev_mse
    pred = model.predict(df)
    assert pred.shape == (300,) and pred.dtype == np.float64
    assert dev_mse == pytest.approx(np.mean((pred[mask] - df[covid.TARGET][mask]) ** 2))
    assert dev_mse < df[covid.TARGET][mask].var()  # it learned something
    assert dev_mse == pytest.approx(model.history.at(model.history.best_epoch, "dev_mse"), rel=1e-4)
    # deterministic for a seed
    _, again = covid.fit(df, mask, seed=3, config=replace(TINY, max_epochs=30))
    assert again == dev_mse
    # a row's prediction depends on that row only; extra columns of a test frame are refused
    np.testing.assert_allclose(model.predict(df.iloc[:7]), pred[:7], rtol=1e-6)
    test_df = synthetic_frame(20, seed=1, target=False)
    assert model.predict(test_df).shape == (20,)
    with pytest.raises(ValueError, match="unexpected column"):
        model.predict(test_df.assign(note=1))


def test_early_stopping_and_history():
    df = synthetic_frame(200)
    cfg = replace(covid.COURSE_SAMPLE, max_epochs=50, patience=3, hidden=4)
    model, _ = covid.fit(df, covid.dev_mask(200), config=cfg)
    h = model.history
    assert len(h.train_mse) == len(h.dev_mse) == len(h) <= 50
    assert len(h) == 50 or len(h) == h.best_epoch + 3  # stopped 3 epochs after the best
    assert h.at(h.best_epoch, "dev_mse") == min(h.dev_mse) and sum(h.seconds) > 0


def test_each_ingredient_of_the_recipe_can_be_switched_off():
    """The ablations of chapter 2.3.2.1 need every ingredient as a setting."""
    df = synthetic_frame(200)
    mask = covid.dev_mask(200)
    raw, _ = covid.fit(df, mask, config=replace(TINY, standardize_inputs=False))
    assert raw.scaler is None and raw.predict(df).shape == (200,)
    for change in (
        dict(optimizer="adam"), dict(optimizer="sgd", momentum=0.9), dict(weight_decay=0.0),
        dict(schedule="constant"), dict(standardize_target=False), dict(patience=None),
        dict(hidden=16),
    ):  # fmt: skip
        model, dev_mse = covid.fit(df, mask, config=replace(TINY, **change))
        assert np.isfinite(dev_mse), change


def test_feature_subset():
    df = synthetic_frame(100)
    cfg = replace(TINY, features=("tested_positive.1", "cli.2"))
    model, _ = covid.fit(df, covid.dev_mask(100), config=cfg)
    small = df[["id", "tested_positive.1", "cli.2"]]
    assert model.predict(small).shape == (100,)


@pytest.mark.parametrize(
    "mask", [np.ones(50, bool), np.zeros(50, bool), np.arange(50) % 2, np.ones(49, bool)]
)
def test_bad_masks(mask):
    with pytest.raises(ValueError, match="dev_mask"):
        covid.fit(synthetic_frame(50), mask, config=TINY)


def test_bad_configs():
    with pytest.raises(ValueError):
        replace(covid.RECIPE, hidden=0)
    with pytest.raises(ValueError):
        replace(covid.RECIPE, optimizer="rmsprop")
    with pytest.raises(ValueError):
        replace(covid.RECIPE, features=("no_such_column",))
    with pytest.raises(ValueError):
        covid.fit(synthetic_frame(50), covid.dev_mask(50), seed=-1, config=TINY)


@needs_real_data
def test_real_data_and_submission_format(tmp_path):
    train_df, test_df = covid.read_covid(HW1)
    assert train_df.shape == (2700, 95) and test_df.shape == (893, 94)
    assert tuple(train_df.columns) == covid.TRAIN_COLUMNS
    assert tuple(test_df.columns) == covid.TEST_COLUMNS
    model, dev_mse = covid.fit(train_df, covid.dev_mask(2700), config=TINY)
    path = submission.write_submission(
        "ml2021spring-hw1", tmp_path / "pred.csv", model.predict(test_df), ids=test_df["id"]
    )
    sample = pd.read_csv(HW1 / "sampleSubmission.csv")
    values = submission.check_submission("ml2021spring-hw1", path, sample["id"])
    assert path.read_text().splitlines()[0] == "id,tested_positive" and len(values) == 893
    np.testing.assert_allclose(values, model.predict(test_df))  # written without rounding


def state_frame(rows_per_state: list[int]) -> pd.DataFrame:
    """A frame whose states (one per entry) hold consecutive rows, as in covid.train.csv."""
    state = np.repeat(np.arange(len(rows_per_state)), rows_per_state)
    return pd.DataFrame(np.eye(40, dtype=int)[state], columns=list(covid.STATES))


@pytest.mark.parametrize("k, gap", [(2, 0), (3, 2), (5, 1)])
def test_time_block_folds_cover_every_row_once_and_keep_gaps(k, gap):
    sizes = [12, 13, 15]
    df = state_frame(sizes)
    folds = covid.time_block_folds(df, k, gap=gap)
    assert len(folds) == k
    val_all = np.sort(np.concatenate([val for _, val in folds]))
    np.testing.assert_array_equal(val_all, np.arange(len(df)))  # each row validated once
    starts = np.cumsum([0, *sizes])
    for train_idx, val_idx in folds:
        assert train_idx.dtype == np.int64 and np.all(np.diff(train_idx) > 0)
        assert len(np.intersect1d(train_idx, val_idx)) == 0
        for lo, hi in zip(starts[:-1], starts[1:]):
            val = val_idx[(val_idx >= lo) & (val_idx < hi)]
            assert len(val) in (len(range(lo, hi)) // k, len(range(lo, hi)) // k + 1)
            assert np.all(np.diff(val) == 1)  # one contiguous block per state
            train = train_idx[(train_idx >= lo) & (train_idx < hi)]
            near = (train >= val[0] - gap) & (train <= val[-1] + gap)
            assert not near.any()  # the gap rows are left out
            assert len(train) + len(val) == (hi - lo) - (
                min(gap, val[0] - lo) + min(gap, hi - 1 - val[-1])
            )


def test_time_block_folds_gap_zero_is_plain_blocks():
    df = state_frame([6])
    folds = covid.time_block_folds(df, 3, gap=0)
    assert [v.tolist() for _, v in folds] == [[0, 1], [2, 3], [4, 5]]
    assert [t.tolist() for t, _ in folds] == [[2, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 3]]


@pytest.mark.parametrize(
    "df, k, gap, error, match",
    [
        (state_frame([3, 5]), 4, 0, ValueError, "k must be at most.*3 row"),
        (state_frame([6]), 1, 0, ValueError, "k must be"),
        (state_frame([6]), 2, -1, ValueError, "gap must be"),
        (state_frame([4]), 2, 5, ValueError, "without training rows"),
        (state_frame([4, 4]).iloc[[0, 4, 1, 5, 2, 6, 3, 7]], 2, 0, ValueError, "not consecutive"),
        (state_frame([4]).assign(AK=1), 2, 0, ValueError, "one-hot"),
        (state_frame([4]).drop(columns=["WI"]), 2, 0, ValueError, "missing state"),
        (np.zeros((4, 40)), 2, 0, TypeError, "df"),
    ],
)
def test_time_block_folds_bad_arguments(df, k, gap, error, match):
    with pytest.raises(error, match=match):
        covid.time_block_folds(df, k, gap=gap)


@needs_real_data
def test_time_block_folds_on_real_data_share_no_day():
    train_df, _ = covid.read_covid(HW1)
    state = train_df[list(covid.STATES)].to_numpy().argmax(axis=1)

    def days(rows):
        keys = set()
        for day in (1, 2, 3):
            values = np.round(train_df.iloc[rows][covid.day_columns(day)[:-1]].to_numpy(), 5)
            keys.update(zip(state[rows], map(tuple, values)))
        return keys

    for gap, shared in ((0, True), (2, False)):  # gap=0: the rows next to a block share days
        for train_idx, val_idx in covid.time_block_folds(train_df, 3, gap=gap):
            assert bool(days(train_idx) & days(val_idx)) == shared


def test_course_sample_stops_like_the_course_code():
    # The course's sample code breaks when early_stop_cnt > 200: after 201 epochs without improvement.
    assert covid.COURSE_SAMPLE.patience == 201
    assert (
        covid.COURSE_SAMPLE.hidden,
        covid.COURSE_SAMPLE.lr,
        covid.COURSE_SAMPLE.momentum,
        covid.COURSE_SAMPLE.batch_size,
        covid.COURSE_SAMPLE.max_epochs,
    ) == (64, 1e-3, 0.9, 270, 3000)
