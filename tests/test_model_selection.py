import numpy as np
import pandas as pd
import pytest
import torch

from linbook.model_selection import cross_val_scores, kfold_splits


@pytest.mark.parametrize(("n", "k"), [(2, 2), (10, 3), (10, 5), (11, 4), (7, 7), (100, 10)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_folds_partition_the_positions(n, k, shuffle):
    splits = kfold_splits(n, k, shuffle=shuffle, seed=3)
    assert len(splits) == k
    validated = np.concatenate([val for _, val in splits])
    assert sorted(validated.tolist()) == list(range(n))  # every position validated exactly once
    sizes = sorted(len(val) for _, val in splits)
    assert sizes[-1] - sizes[0] <= 1 and sum(sizes) == n  # balanced folds
    for train_idx, val_idx in splits:
        assert train_idx.dtype == np.int64 and val_idx.dtype == np.int64
        assert np.all(np.diff(train_idx) > 0) and np.all(np.diff(val_idx) > 0)  # sorted, unique
        assert np.intersect1d(train_idx, val_idx).size == 0
        assert len(train_idx) + len(val_idx) == n


def test_fold_sizes_follow_the_first_folds_get_the_remainder_rule():
    sizes = [len(val) for _, val in kfold_splits(11, 4, shuffle=False)]
    assert sizes == [3, 3, 3, 2]


def test_unshuffled_folds_are_consecutive_blocks():
    splits = kfold_splits(7, 3, shuffle=False)
    assert [val.tolist() for _, val in splits] == [[0, 1, 2], [3, 4], [5, 6]]
    assert splits[1][0].tolist() == [0, 1, 2, 5, 6]


def test_shuffled_folds_are_reproducible_and_depend_on_the_seed():
    a = kfold_splits(20, 5, seed=0)
    b = kfold_splits(20, 5, seed=0)
    c = kfold_splits(20, 5, seed=1)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(a, c))
    # Shuffling actually mixes the positions: the folds are not the consecutive blocks.
    blocks = kfold_splits(20, 5, shuffle=False)
    assert any(not np.array_equal(x[1], y[1]) for x, y in zip(a, blocks))


@pytest.mark.parametrize(
    ("n", "k", "error", "match"),
    [
        (10, 1, ValueError, "k must be an int >= 2, got 1"),
        (10, 0, ValueError, "k must be an int >= 2, got 0"),
        (10, 11, ValueError, "k must be an int <= 10, got 11"),
        (10, 2.5, ValueError, "k must be an int >= 2, got 2.5"),
        (10, 5.0, ValueError, "k must be an int >= 2, got 5.0"),
        (10, True, TypeError, "k must be an int >= 2, got True"),
        (1, 2, ValueError, "n must be an int >= 2, got 1"),
        (10.0, 2, ValueError, "n must be an int >= 2, got 10.0"),
    ],
)
def test_bad_n_or_k_raise(n, k, error, match):
    with pytest.raises(error, match=match):
        kfold_splits(n, k)
    with pytest.raises(error, match=match):
        cross_val_scores(lambda tr, va: 0.0, n, k)


def test_bad_seed_and_shuffle():
    with pytest.raises(ValueError, match="seed"):
        kfold_splits(10, 2, seed=-1)
    with pytest.raises(TypeError, match="shuffle"):
        kfold_splits(10, 2, shuffle="yes")
    assert len(kfold_splits(np.int64(10), np.int32(2))) == 2  # NumPy integers are fine


def test_cross_val_scores_calls_evaluate_once_per_fold_in_order():
    calls = []

    def evaluate(train_idx, val_idx):
        calls.append((train_idx.copy(), val_idx.copy()))
        return float(len(val_idx))

    scores = cross_val_scores(evaluate, 11, 4, shuffle=False)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64
    assert scores.tolist() == [3.0, 3.0, 3.0, 2.0]
    expected = kfold_splits(11, 4, shuffle=False)
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(calls, expected)
    )


def test_cross_val_scores_accepts_numpy_and_tensor_scalars():
    assert cross_val_scores(lambda tr, va: np.float32(0.5), 4, 2).tolist() == [0.5, 0.5]
    assert cross_val_scores(lambda tr, va: torch.tensor(0.25), 4, 2).tolist() == [0.25, 0.25]
    assert cross_val_scores(lambda tr, va: np.array([2.0]), 4, 2).tolist() == [2.0, 2.0]
    assert cross_val_scores(lambda tr, va: 3, 4, 2).tolist() == [3.0, 3.0]


@pytest.mark.parametrize("bad", [None, "0.5", [0.1, 0.2], torch.zeros(2), np.zeros(3), True])
def test_cross_val_scores_rejects_results_that_are_not_one_number(bad):
    with pytest.raises(TypeError, match="the score evaluate returned for fold 0 must be a real"):
        cross_val_scores(lambda tr, va: bad, 4, 2)


def test_cross_val_scores_rejects_a_non_callable():
    with pytest.raises(TypeError, match="evaluate must be a Callable, got float; a function"):
        cross_val_scores(0.5, 4, 2)


def test_works_with_dataframes_and_recovers_a_linear_model():
    # The intended use: positions into a DataFrame, the model fitted inside evaluate.
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60)})
    df["y"] = 2.0 * df["x"] + 1.0 + 0.1 * rng.normal(size=60)

    def evaluate(train_idx, val_idx):
        train, val = df.iloc[train_idx], df.iloc[val_idx]
        slope, intercept = np.polyfit(train["x"], train["y"], 1)
        return float(((slope * val["x"] + intercept - val["y"]) ** 2).mean())

    scores = cross_val_scores(evaluate, len(df), 5, seed=0)
    assert scores.shape == (5,)
    assert np.all(scores < 0.05) and abs(scores.mean() - 0.01) < 0.01  # about the noise variance

    def constant(train_idx, val_idx):
        return float(((df["y"].iloc[val_idx] - df["y"].iloc[train_idx].mean()) ** 2).mean())

    assert cross_val_scores(constant, len(df), 5, seed=0).mean() > 10 * scores.mean()


def test_leave_one_out():
    splits = kfold_splits(5, 5, shuffle=False)
    assert [val.tolist() for _, val in splits] == [[0], [1], [2], [3], [4]]
