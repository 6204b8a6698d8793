"""Tests of linbook.timit: the stand-in generator, loading, batching, post-processing, submission."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from linbook import timit

REPO = Path(__file__).resolve().parent.parent
N_TRAIN, N_TEST = 3000, 700


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    return timit.make_standin(
        tmp_path_factory.mktemp("timit") / "standin", n_train=N_TRAIN, n_test=N_TEST
    )


@pytest.fixture(scope="module")
def data(standin) -> timit.TimitData:
    return timit.load_timit(standin)


# --- the stand-in -----------------------------------------------------------------------------


def test_standin_has_the_real_files_dtypes_and_row_shape(standin):
    assert sorted(p.name for p in standin.iterdir()) == sorted([*timit.FILES, timit.STANDIN_MARKER])
    train = np.load(standin / "train_11.npy", mmap_mode="r")
    labels = np.load(standin / "train_label_11.npy")
    test = np.load(standin / "test_11.npy", mmap_mode="r")
    assert train.shape == (N_TRAIN, 429) and train.dtype == np.float32
    assert test.shape == (N_TEST, 429) and test.dtype == np.float32
    # the real labels are strings '0' ... '38'
    assert labels.shape == (N_TRAIN,) and labels.dtype.kind == "U"
    assert set(labels.tolist()) <= {str(i) for i in range(39)}
    assert len(set(labels.tolist())) > 30
    info = json.loads((standin / timit.STANDIN_MARKER).read_text(encoding="utf-8"))
    assert "NOT TIMIT" in info["WARNING"]
    assert info["params"]["n_train"] == N_TRAIN


def test_standin_is_deterministic_and_seed_dependent(tmp_path, standin):
    again = timit.make_standin(tmp_path / "again", n_train=N_TRAIN, n_test=N_TEST)
    for name in timit.FILES:
        assert (again / name).read_bytes() == (standin / name).read_bytes(), name
    other = timit.make_standin(tmp_path / "other", n_train=N_TRAIN, n_test=N_TEST, seed=1)
    assert (other / "train_11.npy").read_bytes() != (standin / "train_11.npy").read_bytes()


def test_standin_rows_look_like_standardised_features(data):
    x = np.asarray(data.train_x)
    assert np.isfinite(x).all()
    assert abs(float(x.mean())) < 0.2 and 0.7 < float(x.std()) < 1.3


def test_standin_rows_are_11_frame_windows_that_overlap_inside_an_utterance(standin, data):
    x = np.asarray(data.train_x)
    starts = timit.utterance_starts(data.train_x)
    info = json.loads((standin / timit.STANDIN_MARKER).read_text(encoding="utf-8"))
    assert len(starts) == info["utterances"]["train"]
    inside = np.setdiff1d(np.arange(1, len(x)), starts)
    # row t+1, frames 0..9 == row t, frames 1..10
    np.testing.assert_array_equal(x[inside, : 10 * 39], x[inside - 1, 39:])
    # an utterance starts with the first frame repeated (edge padding): frames 0..5 are equal
    first = x[starts].reshape(-1, 11, 39)
    np.testing.assert_array_equal(first[:, :5], np.repeat(first[:, 5:6], 5, axis=1))
    # utterances begin and end with silence (class 0), as TIMIT's do
    assert (data.train_y[starts] == 0).all()
    # phones last several frames: the mean run length is in TIMIT's range (about 8 to 10 frames)
    runs = len(data.train_y) / (1 + np.count_nonzero(np.diff(data.train_y)))
    assert 6 < runs < 12


def test_standin_reuse_and_refusals(tmp_path, standin):
    assert timit.make_standin(standin, n_train=N_TRAIN, n_test=N_TEST) == standin  # reused
    with pytest.raises(FileExistsError, match="other parameters"):
        timit.make_standin(standin, n_train=N_TRAIN + 100, n_test=N_TEST)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a stand-in"):
        timit.make_standin(busy, n_train=N_TRAIN, n_test=N_TEST)
    with pytest.raises(ValueError, match="at least 100"):
        timit.make_standin(tmp_path / "x", n_train=10)
    with pytest.raises(TypeError, match="int"):
        timit.make_standin(tmp_path / "x", n_train=1000.0)
    with pytest.raises(ValueError, match="seed"):
        timit.make_standin(tmp_path / "x", seed=-1)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(timit, "_generate", boom)
    with pytest.raises(KeyboardInterrupt):
        timit.make_standin(tmp_path / "s", n_train=500, n_test=200)
    assert list(tmp_path.iterdir()) == []


def test_default_standin_dir_uses_linbook_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LINBOOK_CACHE", str(tmp_path))
    folder = timit.default_standin_dir(1000, 200, 3)
    assert folder.parent == tmp_path and "1000-200-3" in folder.name


# --- loading ----------------------------------------------------------------------------------


def test_load_timit_memory_maps_and_reports_a_standin(data):
    assert isinstance(data.train_x, np.memmap) and isinstance(data.test_x, np.memmap)
    assert not data.train_x.flags.writeable
    assert data.train_y.dtype == np.int64 and data.train_y.max() <= 38
    assert data.source == "stand-in" and data.is_standin
    assert "STAND-IN" in data.describe() and "NOT TIMIT" in data.describe()
    train, val = data.split(0.2)
    assert (train.start, train.stop, val.start, val.stop) == (0, 2400, 2400, N_TRAIN)
    with pytest.raises(ValueError, match="val_ratio"):
        data.split(1.0)


def test_files_without_marker_and_with_other_shapes_are_still_not_called_real(tmp_path, standin):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in timit.FILES:
        (folder / name).write_bytes((standin / name).read_bytes())
    assert timit.load_timit(folder).source == "stand-in"  # shapes differ from the real ones


def _write_set(folder: Path, x=None, y=None, t=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "train_11.npy", np.zeros((20, 429), np.float32) if x is None else x)
    np.save(folder / "train_label_11.npy", np.array(["1"] * 20) if y is None else y)
    np.save(folder / "test_11.npy", np.zeros((5, 429), np.float32) if t is None else t)
    return folder


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(x=np.zeros((20, 428), np.float32)), "shape"),
        (dict(x=np.zeros((20, 429), np.float64)), "float32"),
        (dict(y=np.array(["1"] * 19)), "expected"),
        (dict(y=np.array(["39"] * 20)), "0 … 38"),
        (dict(y=np.array(["a"] * 20)), "class ids"),
    ],
)
def test_load_timit_rejects_malformed_files(tmp_path, change, message):
    with pytest.raises(timit.TimitDataError, match=message):
        timit.load_timit(_write_set(tmp_path / "bad", **change))


def test_load_timit_names_missing_and_truncated_files(tmp_path):
    folder = _write_set(tmp_path / "set")
    (folder / "test_11.npy").unlink()
    with pytest.raises(timit.TimitDataError, match="test_11.npy is missing"):
        timit.load_timit(folder)
    _write_set(folder)
    data = (folder / "train_11.npy").read_bytes()
    (folder / "train_11.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(timit.TimitDataError, match="train_11.npy"):
        timit.load_timit(folder)


def test_labels_to_int():
    np.testing.assert_array_equal(timit.labels_to_int(np.array(["0", "38", "7"])), [0, 38, 7])
    np.testing.assert_array_equal(timit.labels_to_int(np.array([3, 4], dtype=np.uint8)), [3, 4])
    with pytest.raises(ValueError, match="1-D"):
        timit.labels_to_int(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="strings or integers"):
        timit.labels_to_int(np.array([1.0]))


def test_open_competition_data_prefers_real_files_and_falls_back_to_the_standin(
    monkeypatch, tmp_path, standin
):
    from linbook import kaggle

    def not_found(competition, data_dir=None, download=True):
        assert competition == "ml2021spring-hw2"
        raise kaggle.CompetitionDataNotFoundError("not found anywhere")

    monkeypatch.setattr(kaggle, "fetch_competition", not_found)
    data = timit.open_competition_data(standin_dir=standin)  # reuses the stand-in there
    assert data.is_standin and data.folder == standin and "not found anywhere" in data.note
    with pytest.raises(
        kaggle.CompetitionDataNotFoundError
    ):  # asked to download: no silent stand-in
        timit.open_competition_data(standin_dir=standin, download=True)

    def broken(competition, data_dir=None, download=True):
        raise kaggle.UnexpectedFilesError("train_11.npy has 5 rows")

    monkeypatch.setattr(kaggle, "fetch_competition", broken)
    with pytest.raises(kaggle.UnexpectedFilesError):  # broken real files are reported, not replaced
        timit.open_competition_data(standin_dir=standin)

    found = _write_set(tmp_path / "competition")
    monkeypatch.setattr(
        kaggle, "fetch_competition", lambda competition, data_dir=None, download=True: found
    )
    assert timit.open_competition_data().folder == found


def test_open_competition_data_without_files_here(monkeypatch, tmp_path):
    """The real search path of linbook.kaggle finds nothing in an empty LINBOOK_DATA: stand-in."""
    from linbook import kaggle

    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    try:
        kaggle.fetch_competition("ml2021spring-hw2", download=False)
    except kaggle.CompetitionDataNotFoundError:
        pass
    else:
        pytest.skip("the real TIMIT files are installed on this machine")
    data = timit.open_competition_data(standin_dir=tmp_path / "standin")
    assert data.is_standin and len(data.train_x) == timit.STANDIN_TRAIN_ROWS


# --- batches ----------------------------------------------------------------------------------


def test_frame_loader_visits_every_row_once_per_pass_reproducibly(data):
    train, _ = data.split()
    loader = timit.FrameLoader(
        data.train_x, data.train_y, train, batch_size=256, shuffle=True, seed=3
    )
    assert len(loader) == int(np.ceil(2400 / 256))
    first = [(X.clone(), y.clone()) for X, y in loader]
    second = [(X, y) for X, y in loader]
    X1 = torch.cat([X for X, _ in first])
    assert X1.shape == (2400, 429) and X1.dtype == torch.float32
    # every row exactly once
    assert sorted(row.tobytes() for row in X1.numpy()) == sorted(
        row.tobytes() for row in data.train_x[:2400]
    )
    assert not torch.equal(first[0][0], second[0][0])  # a new order every pass
    again = timit.FrameLoader(
        data.train_x, data.train_y, train, batch_size=256, shuffle=True, seed=3
    )
    X, y = next(iter(again))
    assert torch.equal(X, first[0][0]) and torch.equal(y, first[0][1])
    # labels travel with their rows
    row = X[0].numpy()
    index = np.flatnonzero((np.asarray(data.train_x) == row).all(1))
    assert data.train_y[index[0]] == y[0].item()


def test_frame_loader_without_shuffle_keeps_order_and_copies(data):
    _, val = data.split()
    X, y = next(iter(timit.FrameLoader(data.train_x, data.train_y, val, batch_size=100)))
    np.testing.assert_array_equal(X.numpy(), data.train_x[val.start : val.start + 100])
    np.testing.assert_array_equal(y.numpy(), data.train_y[val.start : val.start + 100])
    X[0, 0] = 1e6  # a copy: the memory map is untouched (and read-only)
    assert data.train_x[val.start, 0] != 1e6
    only_x = next(iter(timit.FrameLoader(data.test_x, None, np.array([5, 1, 2]), batch_size=8)))
    np.testing.assert_array_equal(only_x.numpy(), data.test_x[[5, 1, 2]])


def test_frame_loader_rejects_bad_arguments(data):
    with pytest.raises(ValueError, match="batch_size"):
        timit.FrameLoader(data.train_x, data.train_y, batch_size=0)
    with pytest.raises(ValueError, match="rows"):
        timit.FrameLoader(data.train_x, data.train_y[:10])
    with pytest.raises(ValueError, match="step 1"):
        timit.FrameLoader(data.train_x, data.train_y, slice(0, 10, 2))
    with pytest.raises(ValueError, match="indices"):
        timit.FrameLoader(data.train_x, data.train_y, np.array([N_TRAIN]))


# --- models and training ----------------------------------------------------------------------


def test_models_have_the_documented_shapes():
    sample = timit.sample_model()
    widths = [(m.in_features, m.out_features) for m in sample if isinstance(m, torch.nn.Linear)]
    assert widths == [(429, 1024), (1024, 512), (512, 128), (128, 39)]
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in sample) == 3
    improved = timit.improved_model(hidden=64, depth=3, dropout=0.1)
    kinds = [type(m).__name__ for m in improved]
    assert (
        kinds.count("BatchNorm1d") == 3 and kinds.count("Dropout") == 3 and kinds.count("ReLU") == 3
    )
    assert improved(torch.zeros(4, 429)).shape == (4, 39)
    with pytest.raises(ValueError, match="dropout"):
        timit.improved_model(dropout=1.0)


def test_configs_document_the_course_settings_and_a_real_run():
    real = timit.CONFIGS["real"]
    assert (real["sample"].lr, real["sample"].batch_size, real["sample"].num_epochs) == (
        1e-4,
        64,
        20,
    )
    assert real["sample"].optimizer == "adam" and real["sample"].val_ratio == 0.2
    standin = timit.CONFIGS["stand-in"]
    # the stand-in keeps the models and optimizers, only the budget differs
    for name in ("sample", "improved"):
        assert replace(standin[name], num_epochs=1, hidden=1, depth=1) == replace(
            real[name], num_epochs=1, hidden=1, depth=1, batch_size=standin[name].batch_size
        )
    with pytest.raises(ValueError, match="model"):
        timit.TrainConfig(model="cnn")
    with pytest.raises(ValueError, match="lr"):
        timit.TrainConfig(lr=0)


def test_fit_is_reproducible_and_keeps_the_best_epoch(data):
    config = replace(
        timit.CONFIGS["stand-in"]["improved"], hidden=64, depth=2, num_epochs=3, batch_size=128
    )
    a = timit.fit(data, config, seed=0, device="cpu")
    b = timit.fit(data, config, seed=0, device="cpu")
    assert a.val_acc == b.val_acc and len(a.val_acc) == 3
    assert a.best_val_acc == max(a.val_acc) and 1 <= a.best_epoch <= 3
    assert a.best_val_acc > 3 / 39  # well above chance after 3 epochs
    # the returned net is the best epoch's: its accuracy on val is best_val_acc
    _, val = data.split(config.val_ratio)
    proba = timit.predict_proba(a.net, data.train_x, val)
    assert proba.shape == (N_TRAIN - 2400, 39)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == data.train_y[val]).mean() == pytest.approx(a.best_val_acc)


# --- post-processing --------------------------------------------------------------------------


def test_utterance_starts_on_hand_made_rows():
    frames = np.arange(8 * 39, dtype=np.float32).reshape(8, 39)
    rows = np.concatenate([timit._stack_context(frames[:3]), timit._stack_context(frames[3:])])
    np.testing.assert_array_equal(timit.utterance_starts(rows, chunk=2), [0, 3])
    with pytest.raises(ValueError, match="429"):
        timit.utterance_starts(np.zeros((3, 10)))


def test_smooth_proba_averages_within_utterances_only():
    p = np.eye(3, dtype=np.float32)[[0, 0, 1, 0, 2, 2]]
    out = timit.smooth_proba(p, 3, starts=np.array([0, 4]))
    np.testing.assert_allclose(out[0], [1, 0, 0])  # edge: mean of rows 0, 1
    np.testing.assert_allclose(out[2], [2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(
        out[3], [1 / 2, 1 / 2, 0]
    )  # rows 2, 3 only: row 4 is another utterance
    np.testing.assert_allclose(out[4], [0, 0, 1])
    np.testing.assert_allclose(out.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(timit.smooth_proba(p, 1), p)
    with pytest.raises(ValueError, match="odd"):
        timit.smooth_proba(p, 4)
    with pytest.raises(ValueError, match="2-D"):
        timit.smooth_proba(p[0], 3)


def test_majority_filter_removes_isolated_labels():
    pred = np.array([3, 3, 5, 3, 3, 7, 7, 7])
    np.testing.assert_array_equal(timit.majority_filter(pred, 3), [3, 3, 3, 3, 3, 7, 7, 7])
    np.testing.assert_array_equal(
        timit.majority_filter(pred, 3, starts=np.array([0, 2])), [3, 3, 3, 3, 3, 7, 7, 7]
    )
    np.testing.assert_array_equal(
        timit.majority_filter(np.array([3, 5]), 3, starts=np.array([0, 1])), [3, 5]
    )
    with pytest.raises(ValueError, match="integer"):
        timit.majority_filter(np.array([0.5]), 3)


# --- submission -------------------------------------------------------------------------------


def test_write_and_validate_prediction(tmp_path):
    path = timit.write_prediction(tmp_path / "prediction.csv", np.array([0, 38, 5]))
    assert path.read_text() == "Id,Class\n0,0\n1,38\n2,5\n"
    np.testing.assert_array_equal(timit.validate_prediction(path, 3), [0, 38, 5])
    with pytest.raises(ValueError, match="expected 4"):
        timit.validate_prediction(path, 4)
    with pytest.raises(ValueError, match="more than 2"):
        timit.validate_prediction(path, 2)
    with pytest.raises(ValueError, match="0 … 38"):
        timit.write_prediction(tmp_path / "p.csv", np.array([39]))
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("id,class\n0,1\n", "header"),
        ("Id,Class\n1,1\n", "Id must be 0"),
        ("Id,Class\n0,x\n", "integers"),
        ("Id,Class\n0,39\n", "0 … 38"),
        ("Id,Class\n0,1,2\n", "2 fields"),
    ],
)
def test_validate_prediction_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "prediction.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        timit.validate_prediction(path, 1)


def test_pipeline_on_a_small_standin_writes_a_valid_submission(tmp_path, data):
    config = replace(timit.CONFIGS["stand-in"]["improved"], hidden=64, depth=2, num_epochs=1)
    result = timit.fit(data, config, seed=0, device="cpu")
    proba = timit.smooth_proba(
        timit.predict_proba(result.net, data.test_x), 7, timit.utterance_starts(data.test_x)
    )
    path = timit.write_prediction(tmp_path / "prediction.csv", proba.argmax(1))
    assert len(timit.validate_prediction(path, N_TEST)) == N_TEST


def test_the_chapters_prediction_csv_is_valid():
    """chapters/prediction.csv, written when the TIMIT chapter runs (stand-in or real test set)."""
    path = REPO / "chapters" / "prediction.csv"
    if not path.exists():
        pytest.skip("chapters/timit.ipynb has not been run yet")
    n_rows = sum(1 for _ in path.open()) - 1
    assert n_rows in (timit.STANDIN_TEST_ROWS, timit.REAL_SHAPES["test_11.npy"][0])
    timit.validate_prediction(path, n_rows)


# --- memory -----------------------------------------------------------------------------------


def test_memory_estimate_for_the_real_set():
    est = timit.memory_estimate()
    assert est["train_x"] == 1_229_932 * 429 * 4 == 2_110_563_312
    assert est["test_x"] == 451_552 * 429 * 4
    assert est["labels"] == 1_229_932 * 8
    n_params = sum(
        p.numel() for p in timit.build_model(timit.CONFIGS["real"]["improved"]).parameters()
    )
    assert est["model"] == 16 * n_params
    assert timit.memory_estimate(100, 10)["train_x"] == 100 * 429 * 4


def test_docstring_examples():
    import doctest

    result = doctest.testmod(timit, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
