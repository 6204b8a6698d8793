"""linbook.timit: loading (real or stand-in), models and training, post-processing, memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TIMIT_N_TEST, TIMIT_N_TRAIN

from linbook import submission, timit, timit_models, timit_standin

HW2 = "ml2021spring-hw2"
N_TRAIN, N_TEST = TIMIT_N_TRAIN, TIMIT_N_TEST  # the shared stand-in's size (conftest)


# --- loading ----------------------------------------------------------------------------------


def test_load_timit_memory_maps_and_reports_a_standin(timit_data):
    assert isinstance(timit_data.train_x, np.memmap) and isinstance(timit_data.test_x, np.memmap)
    assert not timit_data.train_x.flags.writeable
    assert timit_data.train_y.dtype == np.int64 and timit_data.train_y.max() <= 38
    assert timit_data.source == "stand-in" and timit_data.is_standin
    assert "STAND-IN" in timit_data.describe() and "NOT TIMIT" in timit_data.describe()
    train, val = timit_data.split(0.2)
    assert (train.start, train.stop, val.start, val.stop) == (0, 2400, 2400, N_TRAIN)
    with pytest.raises(ValueError, match="val_ratio"):
        timit_data.split(1.0)


def test_where_the_files_came_from_decides_real_or_stand_in_not_their_shape(
    tmp_path, timit_standin_dir
):
    folder = tmp_path / "copy"
    folder.mkdir()
    for name in timit.FILES:
        (folder / name).write_bytes((timit_standin_dir / name).read_bytes())
    assert timit.load_timit(folder).source == "real"  # no marker: a reader's (small) data set
    (folder / timit.STANDIN_MARKER).write_text(
        (timit_standin_dir / timit.STANDIN_MARKER).read_text()
    )
    assert timit.load_timit(folder).source == "stand-in"


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


def test_open_competition_data_uses_files_found_here(monkeypatch, tmp_path):
    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    found = _write_set(tmp_path / "data" / "ml2021spring-hw2")
    data = timit.open_competition_data(download=False)
    assert data.folder == found and data.source == "real" and data.note == ""
    assert "the folder named by LINBOOK_DATA (ml2021spring-hw2/)" in data.describe()
    assert str(tmp_path) not in data.describe()


def test_open_competition_data_never_replaces_broken_real_files(monkeypatch, tmp_path):
    from linbook import kaggle

    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    folder = _write_set(tmp_path / "data" / "ml2021spring-hw2")
    (folder / "test_11.npy").write_bytes((folder / "test_11.npy").read_bytes()[:-100])
    with pytest.raises(kaggle.UnexpectedFilesError, match="test_11.npy"):
        timit.open_competition_data()


def test_open_competition_data_falls_back_to_the_standin_when_the_download_fails(
    monkeypatch, tmp_path, timit_standin_dir
):
    from linbook import kaggle, kaggle_clients

    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def offline(file_id, output, quiet):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(kaggle_clients, "_gdown_download", offline)
    data = timit.open_competition_data(standin_dir=timit_standin_dir, quiet=True)
    assert data.is_standin and data.folder == timit_standin_dir
    assert "NoNetworkError" in data.note
    assert kaggle.find_competition("ml2021spring-hw2") is None  # nothing half-downloaded
    no_download = timit.open_competition_data(download=False, standin_dir=timit_standin_dir)
    assert no_download.is_standin and "download=False" in no_download.note


# --- models and training ----------------------------------------------------------------------


def test_models_have_the_documented_shapes():
    sample = timit_models.sample_model()
    widths = [(m.in_features, m.out_features) for m in sample if isinstance(m, torch.nn.Linear)]
    assert widths == [(429, 1024), (1024, 512), (512, 128), (128, 39)]
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in sample) == 3
    improved = timit_models.improved_model(hidden=64, depth=3, dropout=0.1)
    kinds = [type(m).__name__ for m in improved]
    assert (
        kinds.count("BatchNorm1d") == 3 and kinds.count("Dropout") == 3 and kinds.count("ReLU") == 3
    )
    assert improved(torch.zeros(4, 429)).shape == (4, 39)
    with pytest.raises(ValueError, match="dropout"):
        timit_models.improved_model(dropout=1.0)


def test_ablation_options_of_the_improved_model():
    kinds = [
        type(m).__name__ for m in timit_models.improved_model(hidden=16, depth=2, batch_norm=False)
    ]
    assert "BatchNorm1d" not in kinds and kinds.count("Linear") == 3
    narrow = timit_models.improved_model(hidden=16, depth=2, frames=5)
    assert isinstance(narrow[0], timit_models.CenterFrames) and narrow[1].in_features == 5 * 39
    assert narrow(torch.zeros(4, 429)).shape == (4, 39)
    assert not isinstance(
        timit_models.improved_model(hidden=16, depth=1)[0], timit_models.CenterFrames
    )
    config = timit_models.TrainConfig(
        model="improved", hidden=16, depth=2, batch_norm=False, frames=3
    )
    built = timit_models.build_model(config)
    assert built[1].in_features == 3 * 39 and "BatchNorm1d" not in [type(m).__name__ for m in built]
    for bad in (0, 4, 13):
        with pytest.raises(ValueError, match="frames"):
            timit_models.TrainConfig(model="improved", frames=bad)
        with pytest.raises(ValueError, match="frames"):
            timit_models.CenterFrames(bad)
    with pytest.raises(TypeError, match="batch_norm"):
        timit_models.TrainConfig(batch_norm="yes")
    with pytest.raises(TypeError, match="batch_norm"):
        timit_models.improved_model(batch_norm=1)


def test_center_frames_keeps_the_middle_columns():
    rows = torch.arange(2 * 429, dtype=torch.float32).reshape(2, 429)
    torch.testing.assert_close(timit_models.CenterFrames(1)(rows), rows[:, 5 * 39 : 6 * 39])
    torch.testing.assert_close(timit_models.CenterFrames(11)(rows), rows)
    assert "frames=7" in repr(timit_models.CenterFrames(7))


def test_sample_model_widths():
    tiny = timit_models.sample_model((8, 4, 2))
    assert [(m.in_features, m.out_features) for m in tiny if isinstance(m, torch.nn.Linear)] == [
        (429, 8), (8, 4), (4, 2), (2, 39)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="three"):
        timit_models.sample_model((8, 8))


@pytest.mark.parametrize(
    "config",
    [
        timit_models.TrainConfig(model="sample", batch_size=8),
        timit_models.TrainConfig(model="improved", hidden=32, depth=3, batch_size=8),
        timit_models.TrainConfig(model="improved", hidden=32, depth=2, frames=5, batch_size=8),
    ],
)
def test_matmul_flops_agree_with_pytorchs_flop_counter(config):
    from torch.utils.flop_counter import FlopCounterMode

    net = timit_models.build_model(config)
    x = torch.randn(config.batch_size, 429)
    with FlopCounterMode(display=False) as counter:
        net(x).sum().backward()
    assert timit_models.matmul_flops(config) == counter.get_total_flops()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    assert timit_models.matmul_flops(config, train=False) == counter.get_total_flops()
    assert timit_models.matmul_flops(
        config, batch_size=2 * config.batch_size
    ) == 2 * timit_models.matmul_flops(config)
    with pytest.raises(ValueError, match="batch_size"):
        timit_models.matmul_flops(config, batch_size=0)


def test_course_baselines_hold_public_and_private_scores():
    for name in ("simple", "strong"):
        scores = timit.COURSE_BASELINES[name]
        assert set(scores) == {"public", "private"} and all(0.6 < v < 0.8 for v in scores.values())
    assert timit.COURSE_BASELINES["strong"]["public"] > timit.COURSE_BASELINES["simple"]["private"]


def test_configs_document_the_course_settings_and_a_real_run():
    real = timit_models.CONFIGS["real"]
    assert (real["sample"].lr, real["sample"].batch_size, real["sample"].num_epochs) == (
        1e-4,
        64,
        20,
    )
    assert real["sample"].optimizer == "adam" and real["sample"].val_ratio == 0.2
    standin = timit_models.CONFIGS["stand-in"]
    # the stand-in keeps the models and optimizers, only the budget differs
    for name in ("sample", "improved"):
        assert replace(standin[name], num_epochs=1, hidden=1, depth=1) == replace(
            real[name], num_epochs=1, hidden=1, depth=1, batch_size=standin[name].batch_size
        )
    with pytest.raises(ValueError, match="model"):
        timit_models.TrainConfig(model="cnn")
    with pytest.raises(ValueError, match="lr"):
        timit_models.TrainConfig(lr=0)


def test_fit_is_reproducible_and_keeps_the_best_epoch(timit_data):
    config = replace(
        timit_models.CONFIGS["stand-in"]["improved"],
        hidden=64,
        depth=2,
        num_epochs=3,
        batch_size=128,
    )
    net, a = timit_models.fit(timit_data, config, seed=0, device="cpu")
    _, b = timit_models.fit(timit_data, config, seed=0, device="cpu")
    assert a.val_acc == b.val_acc and len(a) == 3
    best_epoch, best_acc = a.best("val_acc")
    assert a.best_epoch == best_epoch and 1 <= best_epoch <= 3
    assert best_acc > 3 / 39  # well above chance after 3 epochs
    # the returned net is the best epoch's: its accuracy on val is the best val_acc
    _, val = timit_data.split(config.val_ratio)
    proba = timit_models.predict_proba(net, timit_data.train_x, val)
    assert proba.shape == (N_TRAIN - 2400, 39)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == timit_data.train_y[val]).mean() == pytest.approx(best_acc)


def test_fit_with_val_ratio_zero_trains_on_every_row_and_keeps_the_last_epoch(timit_data):
    assert timit_data.split(0.0) == (slice(0, N_TRAIN), slice(N_TRAIN, N_TRAIN))
    config = replace(
        timit_models.CONFIGS["stand-in"]["improved"],
        hidden=32,
        depth=1,
        num_epochs=2,
        val_ratio=0.0,
    )
    net, history = timit_models.fit(timit_data, config, seed=0, device="cpu")
    assert history.best_epoch == 2 and all(np.isnan(history.val_acc))
    assert not net.training and 0 < history.train_acc[-1] <= 1
    with pytest.raises(ValueError, match="val_ratio"):
        timit_models.TrainConfig(val_ratio=1.0)
    with pytest.raises(ValueError, match="val_ratio"):
        timit_models.TrainConfig(val_ratio=-0.1)


def test_configs_for_caps_the_epochs():
    quick = timit_models.configs_for("real", max_epochs=2)
    assert {c.num_epochs for c in quick.values()} == {2}
    assert quick["improved"].hidden == timit_models.CONFIGS["real"]["improved"].hidden
    assert timit_models.configs_for("stand-in") == timit_models.CONFIGS["stand-in"]
    with pytest.raises(ValueError, match="max_epochs"):
        timit_models.configs_for("real", max_epochs=0)
    with pytest.raises(ValueError, match="source"):
        timit_models.configs_for("fake")


# --- post-processing --------------------------------------------------------------------------


def test_utterance_starts_on_hand_made_rows():
    frames = np.arange(8 * 39, dtype=np.float32).reshape(8, 39)
    rows = np.concatenate(
        [timit_standin._stack_context(frames[:3]), timit_standin._stack_context(frames[3:])]
    )
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


def test_pipeline_on_a_small_standin_writes_a_valid_submission(tmp_path, timit_data):
    config = replace(timit_models.CONFIGS["stand-in"]["improved"], hidden=64, depth=2, num_epochs=1)
    net, _ = timit_models.fit(timit_data, config, seed=0, device="cpu")
    proba = timit.smooth_proba(
        timit_models.predict_proba(net, timit_data.test_x),
        7,
        timit.utterance_starts(timit_data.test_x),
    )
    path = submission.write_submission(HW2, tmp_path / "prediction.csv", proba.argmax(1))
    assert len(submission.check_submission(HW2, path, N_TEST)) == N_TEST


# --- memory -----------------------------------------------------------------------------------


def test_memory_estimate_for_the_real_set():
    est = timit_models.memory_estimate()
    assert est["train_x"] == 1_229_932 * 429 * 4 == 2_110_563_312
    assert est["test_x"] == 451_552 * 429 * 4
    assert est["labels"] == 1_229_932 * 8
    n_params = sum(
        p.numel()
        for p in timit_models.build_model(timit_models.CONFIGS["real"]["improved"]).parameters()
    )
    assert est["model"] == 16 * n_params
    assert timit_models.memory_estimate(100, 10)["train_x"] == 100 * 429 * 4


def test_matmul_flops_reads_the_sample_models_widths():
    widths = [m.out_features for m in timit_models.sample_model() if isinstance(m, torch.nn.Linear)]
    assert tuple(widths[:-1]) == timit_models.SAMPLE_HIDDEN
    config = timit_models.TrainConfig(model="sample")
    products = [a * b for a, b in zip([429, *widths[:-1]], widths)]
    assert timit_models.matmul_flops(config, batch_size=1, train=False) == 2 * sum(products)
