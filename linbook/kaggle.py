"""Get the files of the book's Kaggle class competitions (``ml2021spring-hw1``, ``-hw2``).

:func:`fetch_competition` returns a folder that holds a competition's files. It tries, in
order:

1. files already present in ``<root>/<competition>/`` (or one or two folder levels below it,
   as a zip's inner folder) for each root of :func:`linbook.datadirs.search_roots`: the
   ``data_dir`` argument, ``$LINBOOK_DATA``, linbook's cache folder;
2. the Kaggle API, when credentials exist where the installed client looks
   (:func:`find_kaggle_credentials`);
3. the course's public Google Drive copies, with ``gdown`` (no account needed).

A download holds the lock of :func:`linbook.datadirs.download_lock` (the one
:func:`linbook.datadirs.download_file` takes), so that two notebooks asking at once fetch
the files once: the second waits and then finds them. It goes into a temporary folder inside
:func:`linbook.datadirs.download_root`; archives are unpacked there and every expected file is
checked (CSV header, columns and rows; ``.npy`` header, dtype and shape, read with
``mmap_mode='r'`` so a 2 GB array is never loaded) before each file is moved into
``<root>/<competition>/`` with one ``os.replace`` (a file appears whole or not at all). A
failed or interrupted download therefore leaves nothing that a later run would trust, and a
finished one is found by every later call: each file is fetched at most once per machine.

Each failure raises one subclass of :class:`KaggleDataError` whose message says what to do.
``kaggle`` and ``gdown`` are imported only when a download is needed. The key is read only to
check that a ``kaggle.json`` holds one and to remove it from messages: no message contains it.
The clients, the credentials and the download steps live in :mod:`linbook.kaggle_clients`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import datadirs, kaggle_clients
from .checks import check_choice, check_type, check_value
from .datadirs import FileSpec
from .kaggle_clients import (
    SOURCE_RECORD,
    CompetitionDataNotFoundError,
    CorruptArchiveError,
    KaggleDataError,
    NoCredentialsError,
    NoNetworkError,
    RulesNotAcceptedError,
    UnexpectedFilesError,
    find_kaggle_credentials,
    scrub,
)

__all__ = [
    "KaggleDataError",
    "NoCredentialsError",
    "RulesNotAcceptedError",
    "NoNetworkError",
    "CorruptArchiveError",
    "CompetitionDataNotFoundError",
    "UnexpectedFilesError",
    "DriveFile",
    "SubmissionSpec",
    "CompetitionSpec",
    "COMPETITIONS",
    "competition_search_path",
    "find_competition",
    "check_files",
    "find_kaggle_credentials",
    "data_source",
    "fetch_competition",
]


# ---------------------------------------------------------------------------
# What each competition holds
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DriveFile:
    """A public Google Drive copy: file id, the name it is saved under, approximate size."""

    file_id: str
    name: str
    size: str

    @property
    def url(self) -> str:
        return f"https://drive.google.com/file/d/{self.file_id}/view"


@dataclass(frozen=True)
class SubmissionSpec:
    """What Kaggle accepts as a submission: the header, how rows are identified, the values.

    ``ids`` is ``"test-id"`` (the test file's ``id`` column, in its order) or ``"row"``
    (``0, 1, ...`` in the test file's row order); ``values`` is ``"number"`` (any finite
    float) or ``"class"`` (an integer in ``0 … n_classes - 1``).
    """

    header: tuple[str, str]
    ids: str
    values: str
    n_classes: int | None = None


@dataclass(frozen=True)
class CompetitionSpec:
    """A competition: its Kaggle name, expected files, Google Drive copies, submission format."""

    name: str
    title: str
    files: tuple[FileSpec, ...]
    drive: tuple[DriveFile, ...]
    submission: SubmissionSpec

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/c/{self.name}"

    @property
    def rules_url(self) -> str:
        return f"{self.url}/rules"

    @property
    def data_url(self) -> str:
        return f"{self.url}/data"

    @property
    def required_files(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files if f.required)


#: The competitions of the book, by Kaggle name.
COMPETITIONS: dict[str, CompetitionSpec] = {
    "ml2021spring-hw1": CompetitionSpec(
        name="ml2021spring-hw1",
        title="ML 2021 Spring HW1: COVID-19 Cases Prediction",
        files=(
            FileSpec(
                "covid.train.csv",
                "csv",
                rows=2700,
                columns=95,
                header_start=("id", "AL"),
                header_end="tested_positive",
                sha256="c50d2204454fb996522e1750c8c3eadacaf530b87d0b15369df1d96d4343bdac",
            ),
            FileSpec(
                "covid.test.csv",
                "csv",
                rows=893,
                columns=94,
                header_start=("id", "AL"),
                header_end="worried_finances",
                sha256="6b5ba63b3d025889ebe7ee222b23b39d1a0c45761cfb3babfaa20a5ec0dbc051",
            ),
            FileSpec(
                "sampleSubmission.csv",
                "csv",
                rows=893,
                columns=2,
                header_start=("id", "tested_positive"),
                required=False,
                sha256="6c1f11641b0e21af2f5f0df588974bf61028bdacf2e3255744f1d450846f6e8c",
            ),
        ),  # fmt: skip
        drive=(
            DriveFile("19CCyCgJrUxtvgZF53vnctJiOJ23T5mqF", "covid.train.csv", "1.8 MB"),
            DriveFile("1CE240jLm2npU-tdz81-oVKEF3T2yfT1O", "covid.test.csv", "0.6 MB"),
        ),
        submission=SubmissionSpec(("id", "tested_positive"), ids="test-id", values="number"),
    ),
    "ml2021spring-hw2": CompetitionSpec(
        name="ml2021spring-hw2",
        title="ML 2021 Spring HW2: TIMIT framewise phoneme classification",
        files=(
            FileSpec("train_11.npy", "npy", rows=None, columns=429, dtype_kinds="f"),
            FileSpec("train_label_11.npy", "npy", rows=None, columns=None, dtype_kinds="USiu"),
            FileSpec("test_11.npy", "npy", rows=None, columns=429, dtype_kinds="f"),
        ),
        drive=(DriveFile("1HPkcmQmFGu-3OknddKIa5dNDsR05lIQR", "data.zip", "372 MB"),),
        submission=SubmissionSpec(("Id", "Class"), ids="row", values="class", n_classes=39),
    ),
}


def _spec(competition: str) -> CompetitionSpec:
    check_type("competition", competition, str, "such as 'ml2021spring-hw1'")
    check_choice("competition", competition, sorted(COMPETITIONS))
    return COMPETITIONS[competition]


# ---------------------------------------------------------------------------
# Finding and checking files
# ---------------------------------------------------------------------------


def competition_search_path(
    competition: str, data_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Return the folders searched for a competition's files, in order:
    ``<root>/<competition>`` for each root of :func:`linbook.datadirs.search_roots`.

    Examples
    --------
    >>> [p.name for p in competition_search_path("ml2021spring-hw1", "/data")][0]
    'ml2021spring-hw1'
    """
    _spec(competition)
    return [root / competition for root in datadirs.search_roots(data_dir)]


def _candidate_dirs(folder: Path) -> Iterator[Path]:
    """``folder`` and the folders one and two levels below it (a zip's inner folders)."""
    if not folder.is_dir():
        return
    yield folder
    level = [folder]
    for _ in range(2):
        level = sorted(
            p for d in level for p in d.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        yield from level


def find_competition(competition: str, data_dir: str | os.PathLike | None = None) -> Path | None:
    """Return the first folder on the search path that holds the competition's required
    files (checked with :func:`check_files`), or ``None`` when there is none.

    Raises :class:`UnexpectedFilesError` when a folder holds the files but one fails the
    checks (say, a truncated copy): it names the file, so that it can be replaced.
    """
    spec = _spec(competition)
    for folder in competition_search_path(competition, data_dir):
        for candidate in _candidate_dirs(folder):
            if all((candidate / name).is_file() for name in spec.required_files):
                check_files(competition, candidate)
                return candidate
    return None


def _check_csv(path: Path, fs: FileSpec) -> tuple[int, int]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise UnexpectedFilesError(f"{path}: the file is empty")
            if fs.columns is not None and len(header) != fs.columns:
                raise UnexpectedFilesError(
                    f"{path}: expected {fs.columns} columns, the header has {len(header)}"
                )
            if tuple(header[: len(fs.header_start)]) != fs.header_start or (
                fs.header_end is not None and header[-1] != fs.header_end
            ):
                raise UnexpectedFilesError(
                    f"{path}: unexpected header {header[:3]} ... {header[-1:]}; expected "
                    f"{list(fs.header_start)} ... [{fs.header_end!r}]"
                )
            rows = 0
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != len(header):
                    raise UnexpectedFilesError(
                        f"{path}, line {line_no}: {len(row)} fields instead of "
                        f"{len(header)}; the file is truncated or corrupt"
                    )
                rows += 1
    except UnicodeDecodeError:
        raise UnexpectedFilesError(f"{path}: not a UTF-8 CSV file") from None
    if fs.rows is not None and rows != fs.rows:
        raise UnexpectedFilesError(f"{path}: expected {fs.rows} data rows, found {rows}")
    return rows, len(header)


def _check_npy(path: Path, fs: FileSpec) -> tuple[int, ...]:
    import numpy as np

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise UnexpectedFilesError(
            f"{path}: cannot be read as a .npy array ({err}); the file is truncated or corrupt"
        ) from None
    shape, kind = tuple(array.shape), array.dtype.kind
    del array
    want_ndim = 1 if fs.columns is None else 2
    if len(shape) != want_ndim or (fs.columns is not None and shape[1] != fs.columns):
        want = "(n,)" if fs.columns is None else f"(n, {fs.columns})"
        raise UnexpectedFilesError(f"{path}: expected an array of shape {want}, got {shape}")
    if fs.dtype_kinds and kind not in fs.dtype_kinds:
        raise UnexpectedFilesError(
            f"{path}: unexpected dtype kind {kind!r} (expected one of {fs.dtype_kinds!r})"
        )
    if fs.rows is not None and shape[0] != fs.rows:
        raise UnexpectedFilesError(f"{path}: expected {fs.rows} rows, got {shape[0]}")
    return shape


def check_files(competition: str, folder: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Check the competition's files in ``folder`` and return their shapes.

    Returns
    -------
    dict
        ``{file name: shape}``, with ``(data rows, columns)`` for a CSV and the array's
        shape for an ``.npy`` file; optional files that are absent are left out.

    Raises
    ------
    UnexpectedFilesError
        a required file is missing, or a file fails a check.

    Examples
    --------
    >>> check_files("ml2021spring-hw1", "data/ml2021spring-hw1")  # doctest: +SKIP
    {'covid.train.csv': (2700, 95), 'covid.test.csv': (893, 94), 'sampleSubmission.csv': (893, 2)}
    """
    spec = _spec(competition)
    folder = Path(folder)
    shapes: dict[str, tuple[int, ...]] = {}
    for fs in spec.files:
        path = folder / fs.name
        if not path.is_file():
            if fs.required:
                raise UnexpectedFilesError(
                    f"{path}: missing (expected files of {competition}: "
                    f"{', '.join(spec.required_files)})"
                )
            continue
        shapes[fs.name] = (_check_csv if fs.kind == "csv" else _check_npy)(path, fs)
    return shapes


def data_source(folder: str | os.PathLike) -> str:
    """Say where the files in ``folder`` came from, in words that hold no local path:
    the source of the download that put them there, else the kind of folder.

    Examples
    --------
    >>> data_source("/somewhere/ml2021spring-hw1")
    'a folder given as data_dir (ml2021spring-hw1/)'
    """
    folder = Path(folder)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        record = json.loads((folder / SOURCE_RECORD).read_text(encoding="utf-8"))
        return f"downloaded from {record['source']} into {datadirs.describe_location(folder)}"
    return datadirs.describe_location(folder)


def fetch_competition(
    competition: str,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    *,
    sources: Sequence[str] = ("kaggle", "gdown"),
    quiet: bool = False,
) -> Path:
    """Return a folder holding a competition's files, downloading them when needed.

    When every download source fails, the error of the first source that actually tried is
    raised, and its message ends with what the other sources reported.

    Parameters
    ----------
    competition
        a key of :data:`COMPETITIONS`, ``"ml2021spring-hw1"`` or ``"ml2021spring-hw2"``.
    data_dir
        a folder searched first (for ``<data_dir>/<competition>/``) and, when given, the
        one a download goes into (else :func:`linbook.datadirs.download_root`).
    download
        allow downloading when the files are found nowhere.
    sources
        the download sources to try, in order: ``"kaggle"`` (needs credentials) and
        ``"gdown"`` (the course's public Google Drive copies).
    quiet
        do not print download progress.

    Returns
    -------
    pathlib.Path
        the folder that holds the files, already checked (:func:`data_source` says where
        they came from).

    Raises
    ------
    CompetitionDataNotFoundError
        not present and ``download=False``, or a download failed for another reason than
        those below.
    NoCredentialsError
        only Kaggle was allowed and there are no credentials (the message gives the steps).
    RulesNotAcceptedError
        Kaggle answered 403: accept the rules first.
    NoNetworkError
        no server could be reached (the message gives the alternatives).
    CorruptArchiveError
        a downloaded zip is corrupt (it has been removed).
    UnexpectedFilesError
        a file present or downloaded fails the checks.

    Examples
    --------
    >>> folder = fetch_competition("ml2021spring-hw1")  # doctest: +SKIP
    >>> sorted(p.name for p in folder.glob("*.csv"))   # doctest: +SKIP
    ['covid.test.csv', 'covid.train.csv', 'sampleSubmission.csv']
    """
    spec = _spec(competition)
    if isinstance(sources, str):
        sources = (sources,)
    check_value(
        "sources", list(sources),
        bool(sources) and all(s in kaggle_clients.SOURCES for s in sources),
        f"a non-empty sequence of {sorted(kaggle_clients.SOURCES)}",
    )  # fmt: skip
    folder = find_competition(competition, data_dir)
    if folder is not None:
        return folder
    root = datadirs.download_root(data_dir)
    if not download:
        places = "\n".join(f"  - {p}" for p in competition_search_path(competition, data_dir))
        raise CompetitionDataNotFoundError(
            f"The files of {competition} ({spec.title}) were not found: "
            f"{', '.join(spec.required_files)}. linbook looked in:\n{places}\n"
            "Call fetch_competition(..., download=True) to download them (Kaggle API or "
            "gdown), or put them in one of these folders.\n"
            + kaggle_clients.manual_steps(spec, root)
        )
    with contextlib.ExitStack() as held:
        try:  # the lock datadirs.download_file takes: two notebooks at once fetch once
            root.mkdir(parents=True, exist_ok=True)
            if not quiet and (root / f".{spec.name}.lock").exists():
                print(f"Another download of {spec.name} is under way; waiting for it ...")
            held.enter_context(datadirs.download_lock(root / spec.name))
        except datadirs.DownloadError as err:  # held by another download for too long
            raise CompetitionDataNotFoundError(str(err)) from None
        except OSError as err:
            raise KaggleDataError(
                f"cannot write to {root} ({err}); pass data_dir=<a writable folder> or set "
                f"{datadirs.ENV_DATA} to one"
            ) from None
        folder = find_competition(competition, data_dir)
        if folder is not None:  # another notebook fetched the files while this one waited
            return folder
        return _download_from(spec, root, sources, quiet)


def _download_from(spec: CompetitionSpec, root: Path, sources: Sequence[str], quiet: bool) -> Path:
    """Try each source in turn; raise the error of the first one that actually tried."""

    def check(folder: Path) -> None:
        check_files(spec.name, folder)

    failures: list[tuple[str, KaggleDataError]] = []
    for source in sources:
        try:
            folder = kaggle_clients.SOURCES[source](spec, root, quiet, check)
        except KaggleDataError as err:
            failures.append((source, err))
            continue
        if failures and not quiet:
            for failed, err in failures:
                print(f"({failed} did not work: {type(err).__name__}; used {source} instead)")
        return folder
    # Raise the error of the first source that actually tried (not one skipped for lack of
    # credentials or of the client), with what the others said.
    chosen = next((e for _, e in failures if not getattr(e, "skipped", False)), failures[0][1])
    message = str(chosen)
    others = [(s, e) for s, e in failures if e is not chosen]
    if others:
        message += "\n\nThe other sources failed too:\n" + "\n".join(
            f"  - {s}: {type(e).__name__}: {str(e).splitlines()[0]}" for s, e in others
        )
    raise type(chosen)(scrub(message))
