"""Kaggle submission files: one writer and one checker for every competition of the book.

The format comes from the competition's :class:`linbook.kaggle.SubmissionSpec`:

============================  =======================  ===========================
competition                   header                   rows
============================  =======================  ===========================
``ml2021spring-hw1`` (COVID)  ``id,tested_positive``   the test file's ``id``, a number
``ml2021spring-hw2`` (TIMIT)  ``Id,Class``             ``0, 1, …`` in test-row order, a class
============================  =======================  ===========================

:func:`write_submission` writes to a temporary file and renames it, so the file on disk is
always complete; :func:`check_submission` reads a file back and says exactly what is wrong.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .checks import check_choice, check_type, check_value
from .datadirs import publish
from .kaggle import COMPETITIONS, SubmissionSpec

__all__ = ["write_submission", "check_submission"]


def _format(competition: str) -> SubmissionSpec:
    check_type("competition", competition, str, hint="a name such as 'ml2021spring-hw1'")
    return COMPETITIONS[check_choice("competition", competition, sorted(COMPETITIONS))].submission


def _check_values(spec: SubmissionSpec, values: np.ndarray, where: str) -> None:
    if spec.values == "class":
        integers = values.dtype.kind in "iu"
        check_value(where, values, integers, "integer classes", got=f"dtype {values.dtype}")
        bad = (values < 0) | (values >= spec.n_classes)
        first = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        wanted = f"classes in 0 … {spec.n_classes - 1}"
        check_value(where, values, not bad.any(), wanted, got=f"{values[first]} in row {first}")
    else:
        bad = ~np.isfinite(values)
        first = int(np.flatnonzero(bad)[0]) if bad.any() else 0
        got = f"{int(bad.sum())} NaN or infinite value(s), the first in row {first}"
        check_value(where, values, not bad.any(), "finite numbers", got=got)


def _ids(spec: SubmissionSpec, ids: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    if spec.ids == "row":
        expected = np.arange(n)
        rows = ids is None or np.array_equal(np.asarray(ids), expected)
        check_value("ids", ids, rows, f"left out (this competition numbers the rows 0 … {n - 1})")
        return expected
    wanted = "the test file's id column (test_df['id'])"
    check_value("ids", ids, ids is not None, wanted)
    ids = np.asarray(ids)
    one_each = ids.ndim == 1 and len(ids) == n
    check_value("ids", ids, one_each, f"1-D with one id per value ({n})", got=f"shape {ids.shape}")
    check_value("ids", ids, ids.dtype.kind in "iu", wanted + ": integers", got=f"dtype {ids.dtype}")
    check_value("ids", ids, len(np.unique(ids)) == len(ids), "unique", got="repeated ids")
    return ids


def write_submission(
    competition: str,
    path: str | os.PathLike,
    values: Sequence[float] | np.ndarray,
    ids: Sequence[int] | np.ndarray | None = None,
) -> Path:
    """Write a submission file for ``competition``; return its path.

    Parameters
    ----------
    competition
        ``"ml2021spring-hw1"`` or ``"ml2021spring-hw2"``.
    path
        the CSV file to write (e.g. ``"pred.csv"``); written whole or not at all.
    values
        one prediction per test row: numbers (hw1) or integer classes (hw2).
    ids
        hw1: the test file's ``id`` column; hw2: leave out (rows are numbered 0, 1, …).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "prediction.csv"
    >>> print(write_submission("ml2021spring-hw2", out, [3, 0, 38]).read_text(), end="")
    Id,Class
    0,3
    1,0
    2,38
    """
    spec = _format(competition)
    values = np.asarray(values)
    one_each = values.ndim == 1 and len(values) > 0
    wanted = "1-D with one prediction per test row"
    check_value("values", values, one_each, wanted, got=f"shape {values.shape}")
    if spec.values == "number":
        values = values.astype(np.float64)
    row_ids = _ids(spec, ids, len(values))
    _check_values(spec, values, "values")
    path = Path(path)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", newline="", encoding="ascii") as f:
            f.write(",".join(spec.header) + "\n")
            if spec.values == "class":
                f.writelines(f"{i},{c}\n" for i, c in zip(row_ids.tolist(), values.tolist()))
            else:  # repr: the shortest text that reads back as the same float
                f.writelines(f"{i},{v!r}\n" for i, v in zip(row_ids.tolist(), values.tolist()))
        publish(name, path)
    finally:
        with contextlib.suppress(OSError):
            os.remove(name)
    return path


def check_submission(
    competition: str, path: str | os.PathLike, expected_ids: int | Sequence[int] | np.ndarray
) -> np.ndarray:
    """Check a submission file; return its values, or raise ``ValueError`` saying what is wrong.

    Checks the header, that every row has two fields, that the ids are ``expected_ids`` in
    that order (hw1: the test file's ids, e.g. ``sampleSubmission.csv``'s; hw2: the number
    of test rows, or ``range(n)``), and that every value is valid (a finite number; a class
    in ``0 … 38``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "pred.csv"
    >>> _ = write_submission("ml2021spring-hw1", out, [0.5, 7.25], ids=[0, 1])
    >>> check_submission("ml2021spring-hw1", out, [0, 1])
    array([0.5 , 7.25])
    """
    spec = _format(competition)
    if isinstance(expected_ids, (int, np.integer)):
        expected = np.arange(int(expected_ids))
    else:
        expected = np.asarray(expected_ids)
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header != list(spec.header):
            raise ValueError(f"{path}: header must be {','.join(spec.header)!r}, got {header}")
        ids, texts = [], []
        for line_no, row in enumerate(rows, start=2):
            if len(row) != 2:
                raise ValueError(f"{path}:{line_no}: expected 2 fields, got {row}")
            ids.append(row[0])
            texts.append(row[1])
    if len(ids) != len(expected):
        raise ValueError(f"{path}: {len(ids)} rows, expected {len(expected)}")
    try:
        got = np.array(ids, dtype=np.int64)
        values = np.array(texts, dtype=np.int64 if spec.values == "class" else np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: a field is not a number ({err})") from None
    mismatch = np.flatnonzero(got != expected)
    if len(mismatch):
        line = int(mismatch[0])
        raise ValueError(
            f"{path}:{line + 2}: {spec.header[0]} must be {expected[line]}, got {got[line]} "
            "(the same ids in the same order as the test file)"
        )
    _check_values(spec, values, str(path))
    return values
