"""linbook.timit_standin: the deterministic stand-in for the TIMIT files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import TIMIT_N_TEST, TIMIT_N_TRAIN

from linbook import datadirs, timit, timit_standin

N_TRAIN, N_TEST = TIMIT_N_TRAIN, TIMIT_N_TEST  # the shared stand-in's size (conftest)


# --- the stand-in -----------------------------------------------------------------------------


def test_standin_has_the_real_files_dtypes_and_row_shape(timit_standin_dir):
    assert sorted(p.name for p in timit_standin_dir.iterdir()) == sorted(
        [*timit.FILES, timit.STANDIN_MARKER]
    )
    train = np.load(timit_standin_dir / "train_11.npy", mmap_mode="r")
    labels = np.load(timit_standin_dir / "train_label_11.npy")
    test = np.load(timit_standin_dir / "test_11.npy", mmap_mode="r")
    assert train.shape == (N_TRAIN, 429) and train.dtype == np.float32
    assert test.shape == (N_TEST, 429) and test.dtype == np.float32
    # the real labels are strings '0' ... '38'
    assert labels.shape == (N_TRAIN,) and labels.dtype.kind == "U"
    assert set(labels.tolist()) <= {str(i) for i in range(39)}
    assert len(set(labels.tolist())) > 30
    info = json.loads((timit_standin_dir / timit.STANDIN_MARKER).read_text(encoding="utf-8"))
    assert "NOT TIMIT" in info["WARNING"]
    assert info["params"]["n_train"] == N_TRAIN


def test_standin_is_deterministic_and_seed_dependent(tmp_path, timit_standin_dir):
    again = timit_standin.make_standin(tmp_path / "again", n_train=N_TRAIN, n_test=N_TEST)
    for name in timit.FILES:
        assert (again / name).read_bytes() == (timit_standin_dir / name).read_bytes(), name
    other = timit_standin.make_standin(tmp_path / "other", n_train=N_TRAIN, n_test=N_TEST, seed=1)
    assert (other / "train_11.npy").read_bytes() != (
        timit_standin_dir / "train_11.npy"
    ).read_bytes()


def test_standin_rows_look_like_standardised_features(timit_data):
    x = np.asarray(timit_data.train_x)
    assert np.isfinite(x).all()
    assert abs(float(x.mean())) < 0.2 and 0.7 < float(x.std()) < 1.3


def test_standin_rows_are_11_frame_windows_that_overlap_inside_an_utterance(
    timit_standin_dir, timit_data
):
    x = np.asarray(timit_data.train_x)
    starts = timit.utterance_starts(timit_data.train_x)
    info = json.loads((timit_standin_dir / timit.STANDIN_MARKER).read_text(encoding="utf-8"))
    assert len(starts) == info["utterances"]["train"]
    inside = np.setdiff1d(np.arange(1, len(x)), starts)
    # row t+1, frames 0..9 == row t, frames 1..10
    np.testing.assert_array_equal(x[inside, : 10 * 39], x[inside - 1, 39:])
    # an utterance starts with the first frame repeated (edge padding): frames 0..5 are equal
    first = x[starts].reshape(-1, 11, 39)
    np.testing.assert_array_equal(first[:, :5], np.repeat(first[:, 5:6], 5, axis=1))
    # utterances begin and end with silence (class 0), as TIMIT's do
    assert (timit_data.train_y[starts] == 0).all()
    # phones last several frames: the mean run length is in TIMIT's range (about 8 to 10 frames)
    runs = len(timit_data.train_y) / (1 + np.count_nonzero(np.diff(timit_data.train_y)))
    assert 6 < runs < 12


def test_standin_reuse_and_refusals(tmp_path, timit_standin_dir):
    assert (
        timit_standin.make_standin(timit_standin_dir, n_train=N_TRAIN, n_test=N_TEST)
        == timit_standin_dir
    )  # reused
    with pytest.raises(FileExistsError, match="other parameters"):
        timit_standin.make_standin(timit_standin_dir, n_train=N_TRAIN + 100, n_test=N_TEST)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a stand-in"):
        timit_standin.make_standin(busy, n_train=N_TRAIN, n_test=N_TEST)
    with pytest.raises(ValueError, match="n_train must be an int >= 100"):
        timit_standin.make_standin(tmp_path / "x", n_train=10)
    with pytest.raises(ValueError, match="int"):
        timit_standin.make_standin(tmp_path / "x", n_train=1000.0)
    with pytest.raises(ValueError, match="seed"):
        timit_standin.make_standin(tmp_path / "x", seed=-1)


def test_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(timit_standin, "_generate", boom)
    with pytest.raises(KeyboardInterrupt):
        timit_standin.make_standin(tmp_path / "s", n_train=500, n_test=200)
    assert list(tmp_path.iterdir()) == []


def test_default_standin_dir_is_in_linbooks_cache_not_in_linbook_data(monkeypatch, tmp_path):
    # linbook's cache folder is LINBOOK_CACHE when set (the tests' isolation fixture sets it),
    # else the system's convention (datadirs.cache_dir): either way, not LINBOOK_DATA.
    monkeypatch.setenv("LINBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    folder = timit_standin.default_standin_dir(1000, 200, 3)
    assert folder.parent == tmp_path / "cache" and "1000-200-3" in folder.name
    monkeypatch.delenv("LINBOOK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = timit_standin.default_standin_dir(1000, 200, 3)
    assert folder.parent == datadirs.cache_dir() and tmp_path / "data" not in folder.parents
