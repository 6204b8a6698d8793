"""linbook.submission: one writer and one checker, driven by each competition's format."""

import numpy as np
import pytest

from linbook import submission

HW1, HW2 = "ml2021spring-hw1", "ml2021spring-hw2"


def test_hw1_numbers_with_the_test_files_ids(tmp_path):
    path = submission.write_submission(HW1, tmp_path / "pred.csv", [1.0, 2.5, 1 / 3], ids=[4, 5, 6])
    lines = path.read_text().splitlines()
    assert lines[:3] == ["id,tested_positive", "4,1.0", "5,2.5"]
    assert float(lines[3].split(",")[1]) == 1 / 3  # full precision, read back exactly
    np.testing.assert_array_equal(
        submission.check_submission(HW1, path, [4, 5, 6]), [1, 2.5, 1 / 3]
    )
    with pytest.raises(ValueError, match="pred.csv:2: id must be 5, got 4"):
        submission.check_submission(HW1, path, [5, 4, 6])
    with pytest.raises(ValueError, match="3 rows, expected 2"):
        submission.check_submission(HW1, path, [4, 5])


@pytest.mark.parametrize(
    "values, ids, match",
    [
        (
            [1.0, np.nan],
            [0, 1],
            "values must be finite numbers, got 1 NaN or infinite value.s., the first in row 1",
        ),
        ([1.0, 2.0], [0], r"ids must be 1-D with one id per value \(2\), got shape \(1,\)"),
        ([1.0, 2.0], None, r"ids must be the test file's id column \(test_df\['id'\]\), got None"),
        ([1.0, 2.0], [0.0, 1.0], "ids must be .* integers, got dtype float64"),
        ([1.0, 2.0], [3, 3], "ids must be unique, got repeated ids"),
        ([], [], r"values must be 1-D with one prediction per test row, got shape \(0,\)"),
    ],
)
def test_hw1_refuses_bad_input_and_writes_nothing(tmp_path, values, ids, match):
    with pytest.raises(ValueError, match=match):
        submission.write_submission(HW1, tmp_path / "pred.csv", values, ids=ids)
    assert list(tmp_path.iterdir()) == []


def test_hw2_classes_numbered_by_row(tmp_path):
    path = submission.write_submission(HW2, tmp_path / "prediction.csv", np.array([0, 38, 5]))
    assert path.stat().st_mode & 0o044  # readable by others, as a new file (not mkstemp's 0600)
    assert path.read_text() == "Id,Class\n0,0\n1,38\n2,5\n"
    np.testing.assert_array_equal(submission.check_submission(HW2, path, 3), [0, 38, 5])
    with pytest.raises(ValueError, match="expected 4"):
        submission.check_submission(HW2, path, 4)
    with pytest.raises(ValueError, match="values must be classes in 0 … 38, got 39 in row 0"):
        submission.write_submission(HW2, tmp_path / "p.csv", np.array([39]))
    with pytest.raises(ValueError, match="values must be integer classes, got dtype float64"):
        submission.write_submission(HW2, tmp_path / "p.csv", np.array([1.5]))
    with pytest.raises(ValueError, match=r"ids must be left out \(this competition numbers"):
        submission.write_submission(HW2, tmp_path / "p.csv", np.array([1]), ids=[7])
    assert not (tmp_path / "p.csv").exists()


def test_an_interrupted_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = submission.write_submission(HW2, tmp_path / "prediction.csv", np.array([1, 2]))

    def broken_replace(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(submission, "publish", broken_replace)
    with pytest.raises(KeyboardInterrupt):
        submission.write_submission(HW2, path, np.array([3, 4, 5]))
    assert path.read_text() == "Id,Class\n0,1\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prediction.csv"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("id,class\n0,1\n", "header"),
        ("Id,Class\n1,1\n", "Id must be 0"),
        ("Id,Class\n0,x\n", "not a number"),
        ("Id,Class\n0,39\n", "0 … 38"),
        ("Id,Class\n0,1,2\n", "2 fields"),
    ],
)
def test_check_submission_says_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "prediction.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        submission.check_submission(HW2, path, 1)


def test_unknown_competition():
    with pytest.raises(ValueError, match="competition must be one of 'ml2021spring-hw1', "):
        submission.write_submission("hw9", "x.csv", [1.0])
    with pytest.raises(TypeError, match="competition must be a str, got int"):
        submission.write_submission(1, "x.csv", [1.0])
