"""linbook.claims: the seed knob and the three kinds of check."""

import json

import numpy as np
import pytest
import torch

from linbook import claims


def test_seed_offset_shifts_every_seed(monkeypatch):
    monkeypatch.delenv(claims.SEED_OFFSET_ENV, raising=False)
    base = (
        claims.seed(3),
        claims.rng(3).random(),
        float(torch.rand(1, generator=claims.generator(3))),
    )
    monkeypatch.setenv(claims.SEED_OFFSET_ENV, "2")
    assert claims.seed(3) == 5
    assert claims.seed(1) == base[0]  # 1 + 2 == 3: one knob moves every seed by the same amount
    assert claims.rng(1).random() == base[1]
    assert float(torch.rand(1, generator=claims.generator(1))) == base[2]
    assert (
        claims.set_seed(1) == 3
        and np.random.get_state()[1][0] == np.random.RandomState(3).get_state()[1][0]
    )


@pytest.mark.parametrize("text", ["-1", "one", "1.5"])
def test_bad_seed_offset_says_what_to_do(monkeypatch, text):
    monkeypatch.setenv(claims.SEED_OFFSET_ENV, text)
    with pytest.raises((ValueError, TypeError), match="LINBOOK_SEED_OFFSET"):
        claims.seed(0)


def test_linbook_seeded_functions_follow_the_offset(monkeypatch):
    from linbook.model_selection import kfold_splits

    monkeypatch.delenv(claims.SEED_OFFSET_ENV, raising=False)
    folds_at_1 = [v.tolist() for _, v in kfold_splits(20, 4, seed=1)]
    monkeypatch.setenv(claims.SEED_OFFSET_ENV, "1")
    assert [v.tolist() for _, v in kfold_splits(20, 4, seed=0)] == folds_at_1


def test_measured_logs_its_margin_and_raises(monkeypatch, tmp_path):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(claims.CLAIMS_LOG_ENV, str(log))
    assert claims.measured("x is between 1 and 5", 2.0, above=1, below=5)
    with pytest.raises(AssertionError, match="x exceeds 3"):
        claims.measured("x exceeds 3", 2.5, above=3)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["margin"] for r in records] == [1.0, -0.5]
    assert [r["holds"] for r in records] == [True, False]
    with pytest.raises(ValueError, match="must be a bound"):
        claims.measured("no bound", 1.0)


def test_measured_not_strict_prints_a_note(capsys):
    assert not claims.measured("loss is finite", float("nan"), below=10, strict=False)
    assert "did not hold" in capsys.readouterr().out


def test_build_fact_raises_only_in_the_build(monkeypatch, capsys):
    monkeypatch.setenv(claims.BUILD_ENV, "1")
    with pytest.raises(AssertionError, match="seed 0 stops at epoch 37"):
        claims.build_fact(False, "seed 0 stops at epoch 37")
    monkeypatch.delenv(claims.BUILD_ENV)
    assert claims.build_fact(False, "seed 0 stops at epoch 37") is False
    assert "seed 0 stops at epoch 37" in capsys.readouterr().out
    assert claims.build_fact(True, "always")


def test_machine_description_is_read_not_typed():
    from linbook import machine

    env = machine.describe_environment()
    assert env["PyTorch"] == torch.__version__ and env["NumPy"] == np.__version__
    assert env["CPU"] == machine.cpu_model() != ""
