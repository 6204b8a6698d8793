"""Get the files of the book's Kaggle class competitions (``ml2021spring-hw1``, ``-hw2``).

:func:`fetch_competition` returns a folder that holds a competition's files. It tries, in
order:

1. files already present in ``<root>/<competition>/`` (or one or two folder levels below it)
   for each ``root`` of :func:`competition_search_path`: ``data_dir`` when given,
   ``$LINBOOK_DATA``, the repository's ``data/`` (when linbook runs from a checkout) and
   ``~/.cache/linbook``;
2. the Kaggle API, when credentials exist (:func:`find_kaggle_credentials`);
3. the course's public Google Drive copies, with ``gdown`` (no account needed).

A download goes into a temporary folder next to its destination; archives are unpacked
there and every expected file is checked (CSV header, column and row counts; ``.npy``
header, dtype and shape, read with ``mmap_mode='r'`` so a 2 GB array is never loaded) before
it is moved into place with an atomic rename. A failed or interrupted download therefore
leaves nothing that a later run would trust.

Each failure raises one subclass of :class:`KaggleDataError` whose message says what to do.
``kaggle`` and ``gdown`` are imported only when a download is needed (some versions of the
Kaggle client authenticate, and print or raise, on import), and no message ever contains
the API key.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "KaggleDataError",
    "NoCredentialsError",
    "RulesNotAcceptedError",
    "NoNetworkError",
    "CorruptArchiveError",
    "CompetitionDataNotFoundError",
    "UnexpectedFilesError",
    "FileSpec",
    "DriveFile",
    "CompetitionSpec",
    "COMPETITIONS",
    "competition_search_path",
    "download_root",
    "find_competition",
    "check_files",
    "find_kaggle_credentials",
    "fetch_competition",
]

_REPO_ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class KaggleDataError(RuntimeError):
    """Base class of every error :func:`fetch_competition` raises."""


class NoCredentialsError(KaggleDataError):
    """No usable Kaggle credentials (kaggle.json, KAGGLE_USERNAME/KAGGLE_KEY, ...)."""


class RulesNotAcceptedError(KaggleDataError):
    """Kaggle answered HTTP 403: the competition's rules have not been accepted."""


class NoNetworkError(KaggleDataError):
    """The download failed because no server could be reached."""


class CorruptArchiveError(KaggleDataError):
    """A downloaded archive is not a valid zip file (it has been removed)."""


class CompetitionDataNotFoundError(KaggleDataError):
    """The files are not present and could not (or may not) be downloaded."""


class UnexpectedFilesError(KaggleDataError):
    """A competition file is present but has the wrong header, dtype or shape."""


# ---------------------------------------------------------------------------
# What each competition holds
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileSpec:
    """One expected file of a competition.

    ``rows`` is the number of data rows (CSV: lines after the header; ``.npy``: ``shape[0]``);
    ``columns`` the number of CSV fields or the ``.npy`` array's ``shape[1]`` (``None`` for a
    1-D array). ``header_start``/``header_end`` are the CSV's first and last column names,
    ``dtype_kinds`` the accepted ``numpy.dtype.kind`` letters of an ``.npy`` array. A file with
    ``required=False`` is checked when present but may be missing (the Google Drive copies
    of hw1 have no ``sampleSubmission.csv``).
    """

    name: str
    kind: str  # "csv" or "npy"
    rows: int
    columns: int | None
    header_start: tuple[str, ...] = ()
    header_end: str | None = None
    dtype_kinds: str = ""
    required: bool = True


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
class CompetitionSpec:
    """A competition: its Kaggle name, expected files and Google Drive copies."""

    name: str
    title: str
    files: tuple[FileSpec, ...]
    drive: tuple[DriveFile, ...]

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/c/{self.name}"

    @property
    def rules_url(self) -> str:
        return f"https://www.kaggle.com/c/{self.name}/rules"

    @property
    def data_url(self) -> str:
        return f"https://www.kaggle.com/c/{self.name}/data"

    @property
    def required_files(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files if f.required)


#: The competitions of the book, by Kaggle name, with their expected files and Drive copies.
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
            ),
            FileSpec(
                "covid.test.csv",
                "csv",
                rows=893,
                columns=94,
                header_start=("id", "AL"),
                header_end="worried_finances",
            ),
            FileSpec(
                "sampleSubmission.csv",
                "csv",
                rows=893,
                columns=2,
                header_start=("id", "tested_positive"),
                required=False,
            ),
        ),
        drive=(
            DriveFile("19CCyCgJrUxtvgZF53vnctJiOJ23T5mqF", "covid.train.csv", "1.8 MB"),
            DriveFile("1CE240jLm2npU-tdz81-oVKEF3T2yfT1O", "covid.test.csv", "0.6 MB"),
        ),
    ),
    "ml2021spring-hw2": CompetitionSpec(
        name="ml2021spring-hw2",
        title="ML 2021 Spring HW2: TIMIT framewise phoneme classification",
        files=(
            FileSpec("train_11.npy", "npy", rows=1_229_932, columns=429, dtype_kinds="f"),
            FileSpec("train_label_11.npy", "npy", rows=1_229_932, columns=None, dtype_kinds="USiu"),
            FileSpec("test_11.npy", "npy", rows=451_552, columns=429, dtype_kinds="f"),
        ),
        drive=(DriveFile("1HPkcmQmFGu-3OknddKIa5dNDsR05lIQR", "data.zip", "372 MB"),),
    ),
}


def _spec(competition: str) -> CompetitionSpec:
    if not isinstance(competition, str):
        raise TypeError(
            f"competition must be a str such as 'ml2021spring-hw1', got "
            f"{type(competition).__name__}"
        )
    if competition not in COMPETITIONS:
        raise ValueError(
            f"unknown competition {competition!r}; linbook knows {', '.join(sorted(COMPETITIONS))}"
        )
    return COMPETITIONS[competition]


# ---------------------------------------------------------------------------
# Where files are looked for and where downloads go
# ---------------------------------------------------------------------------


def _in_checkout() -> bool:
    return (_REPO_ROOT / "_config.yml").is_file() and (_REPO_ROOT / "linbook").is_dir()


def _default_roots() -> list[Path]:
    roots: list[Path] = []
    if os.environ.get("LINBOOK_DATA"):
        roots.append(Path(os.environ["LINBOOK_DATA"]).expanduser())
    if _in_checkout():
        roots.append(_REPO_ROOT / "data")
    roots.append(Path.home() / ".cache" / "linbook")
    return roots


def competition_search_path(
    competition: str, data_dir: str | os.PathLike | None = None
) -> list[Path]:
    """Return the folders searched for a competition's files, in order.

    Parameters
    ----------
    competition
        a key of :data:`COMPETITIONS`, e.g. ``"ml2021spring-hw1"``.
    data_dir
        an extra root, searched first.

    Returns
    -------
    list
        ``data_dir/<competition>``, ``$LINBOOK_DATA/<competition>``,
        ``<repo>/data/<competition>`` and ``~/.cache/linbook/<competition>`` (those that
        apply, without duplicates).

    Examples
    --------
    >>> [p.name for p in competition_search_path("ml2021spring-hw1")][0]
    'ml2021spring-hw1'
    """
    _spec(competition)
    roots = ([Path(data_dir).expanduser()] if data_dir is not None else []) + _default_roots()
    folders: list[Path] = []
    for root in roots:
        folder = root / competition
        if folder not in folders:
            folders.append(folder)
    return folders


def _writable(folder: Path) -> bool:
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        return False
    # root passes os.access everywhere: also respect read-only mounts and folders that
    # were made read-only on purpose (no write bit for anyone), such as shared data sets.
    if probe.stat().st_mode & 0o222 == 0:
        return False
    return not os.statvfs(probe).f_flag & os.ST_RDONLY


def download_root(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder a download goes into (the competition's files land in
    ``<root>/<competition>/``): ``data_dir`` if given, else the first writable of
    ``$LINBOOK_DATA``, the repository's ``data/`` and ``~/.cache/linbook``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    for root in _default_roots():
        if _writable(root):
            return root
    return Path.home() / ".cache" / "linbook"


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


def find_competition(
    competition: str, data_dir: str | os.PathLike | None = None, exact_rows: bool = True
) -> Path | None:
    """Return the first folder on the search path that holds the competition's required
    files (checked with :func:`check_files`), or ``None`` when there is none.

    Raises :class:`UnexpectedFilesError` when a folder holds the files but one fails the
    checks (say, a truncated copy): it names the file, so that it can be replaced.
    """
    spec = _spec(competition)
    for folder in competition_search_path(competition, data_dir):
        for candidate in _candidate_dirs(folder):
            if all((candidate / name).is_file() for name in spec.required_files):
                check_files(competition, candidate, exact_rows=exact_rows)
                return candidate
    return None


# ---------------------------------------------------------------------------
# Checking files
# ---------------------------------------------------------------------------


def _check_csv(path: Path, fs: FileSpec, exact_rows: bool) -> tuple[int, int]:
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
    if exact_rows and rows != fs.rows:
        raise UnexpectedFilesError(f"{path}: expected {fs.rows} data rows, found {rows}")
    return rows, len(header)


def _check_npy(path: Path, fs: FileSpec, exact_rows: bool) -> tuple[int, ...]:
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
    if exact_rows and shape[0] != fs.rows:
        raise UnexpectedFilesError(f"{path}: expected {fs.rows} rows, got {shape[0]}")
    return shape


def check_files(
    competition: str, folder: str | os.PathLike, exact_rows: bool = True
) -> dict[str, tuple[int, ...]]:
    """Check the competition's files in ``folder`` and return their shapes.

    Parameters
    ----------
    competition
        a key of :data:`COMPETITIONS`.
    folder
        the folder holding the files.
    exact_rows
        also require the official number of rows (``False`` accepts, say, a small
        stand-in with the same layout).

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
        check = _check_csv if fs.kind == "csv" else _check_npy
        shapes[fs.name] = check(path, fs, exact_rows)
    return shapes


# ---------------------------------------------------------------------------
# Credentials (never read into a message: only *where* they were found is reported)
# ---------------------------------------------------------------------------


def _kaggle_config_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        dirs.append(Path(os.environ["KAGGLE_CONFIG_DIR"]).expanduser())
    dirs.append(Path.home() / ".kaggle")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(xdg).expanduser() / "kaggle")
    return dirs


def _load_colab_secrets() -> None:
    """In Colab, copy the secrets KAGGLE_USERNAME and KAGGLE_KEY into the environment."""
    if "google.colab" not in sys.modules:
        return
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        username, key = userdata.get("KAGGLE_USERNAME"), userdata.get("KAGGLE_KEY")
    except Exception:  # secret missing or notebook access not granted
        return
    if username and key:
        os.environ["KAGGLE_USERNAME"], os.environ["KAGGLE_KEY"] = username, key


def find_kaggle_credentials() -> str | None:
    """Say where usable Kaggle credentials are, without reading the key into the answer.

    Looks, as the Kaggle client does, at the environment variables ``KAGGLE_USERNAME`` and
    ``KAGGLE_KEY`` (filled from Colab's secrets of the same names when running in Colab),
    ``KAGGLE_API_TOKEN``, then for ``kaggle.json`` in ``$KAGGLE_CONFIG_DIR``, ``~/.kaggle``
    and ``~/.config/kaggle``, and for ``~/.kaggle/access_token``.

    Returns
    -------
    str or None
        a short description such as ``"/home/me/.kaggle/kaggle.json"`` or
        ``"environment variables KAGGLE_USERNAME and KAGGLE_KEY"``; ``None`` if there are
        none.

    Raises
    ------
    NoCredentialsError
        a ``kaggle.json`` exists but is not valid JSON with ``username`` and ``key``.
    """
    _load_colab_secrets()
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "environment variables KAGGLE_USERNAME and KAGGLE_KEY"
    if os.environ.get("KAGGLE_API_TOKEN"):
        return "environment variable KAGGLE_API_TOKEN"
    for folder in _kaggle_config_dirs():
        path = folder / "kaggle.json"
        if path.is_file():
            try:
                content = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                content = None
            if not (isinstance(content, dict) and content.get("username") and content.get("key")):
                raise NoCredentialsError(
                    f"{path} is not a valid Kaggle token: it must be the JSON file "
                    '{"username": "...", "key": "..."} that Kaggle\'s settings page '
                    "downloads. Create a new token and replace the file."
                )
            return str(path)
    for name in ("access_token", "access_token.txt", "credentials.json"):
        path = Path.home() / ".kaggle" / name
        if path.is_file() and path.stat().st_size > 0:
            return str(path)
    return None


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def _manual_steps(spec: CompetitionSpec, root: Path) -> str:
    lines = [
        "Or download the files by hand (on any machine with a browser) and put them in "
        f"{root / spec.name}/ (or in <folder>/{spec.name}/ with LINBOOK_DATA=<folder>):",
        f"  - from Kaggle (after signing in and accepting the rules): {spec.data_url}",
    ]
    for d in spec.drive:
        lines.append(f"  - from the course's Google Drive copy ({d.size}): {d.url} -> {d.name}")
    if any(d.name.endswith(".zip") for d in spec.drive):
        lines.append("    (unzip the archive; the .npy files may stay in its inner folder)")
    return "\n".join(lines)


def _gdown_commands(spec: CompetitionSpec) -> str:
    return "\n".join(f"    gdown {d.file_id} -O {d.name}" for d in spec.drive)


def _no_credentials_message(spec: CompetitionSpec, root: Path) -> str:
    places = ", ".join(str(d / "kaggle.json") for d in _kaggle_config_dirs())
    return (
        "No Kaggle credentials found (looked for the environment variables KAGGLE_USERNAME "
        f"and KAGGLE_KEY, KAGGLE_API_TOKEN, and for {places}).\n"
        "To use the Kaggle API:\n"
        "  1. Sign in at https://www.kaggle.com and open https://www.kaggle.com/settings "
        "(section API).\n"
        "  2. Create a token there: a legacy API key is downloaded as kaggle.json; a newer "
        "API token is a string to put in the environment variable KAGGLE_API_TOKEN.\n"
        "  3. Put kaggle.json where the client looks:\n"
        "       Linux/macOS: ~/.kaggle/kaggle.json, then: chmod 600 ~/.kaggle/kaggle.json\n"
        "       Windows:     C:\\Users\\<you>\\.kaggle\\kaggle.json\n"
        "       any folder:  set KAGGLE_CONFIG_DIR to that folder\n"
        "     or set the environment variables KAGGLE_USERNAME and KAGGLE_KEY (in Colab: "
        "add them as secrets under the key icon and allow notebook access).\n"
        f"  4. Accept the competition's rules: {spec.rules_url}\n"
        "No account? Download the course's public copies with gdown (pip install gdown):\n"
        f"{_gdown_commands(spec)}\n" + _manual_steps(spec, root)
    )


def _rules_message(spec: CompetitionSpec, source: str) -> str:
    return (
        f"Kaggle refused the download of {spec.name} (HTTP 403 Forbidden) with the "
        f"credentials in {source}.\n"
        f"Open {spec.rules_url} while signed in with that account, click "
        '"I Understand and Accept" (join the competition), then run again.\n'
        "(If you already accepted, check that the token belongs to the same account.)"
    )


def _no_network_message(spec: CompetitionSpec, root: Path, what: str, err: BaseException) -> str:
    return (
        f"{what} could not reach its server ({type(err).__name__}: {_short(err)}); "
        "this machine seems to be offline or behind a proxy/firewall.\n"
        "Alternatives:\n"
        f"  - on a machine with internet: kaggle competitions download -c {spec.name}\n"
        "  - or, without a Kaggle account, the course's copies with gdown:\n"
        f"{_gdown_commands(spec)}\n" + _manual_steps(spec, root)
    )


def _secrets() -> list[str]:
    """The Kaggle key/token values on this machine (to remove them from any message)."""
    found = [os.environ.get(name, "") for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN")]
    for folder in _kaggle_config_dirs():
        try:
            content = json.loads((folder / "kaggle.json").read_text(encoding="utf-8"))
            found.append(str(content.get("key", "")))
        except (OSError, ValueError, AttributeError):
            pass
    return [s for s in found if len(s) >= 8]


def _scrub(text: str) -> str:
    for secret in _secrets():
        text = text.replace(secret, "***")
    return text


def _short(err: BaseException, limit: int = 300) -> str:
    """A one-line, length-limited description of a client's exception, without secrets."""
    text = _scrub(" ".join(str(err).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# The network boundary (tests replace these two functions)
# ---------------------------------------------------------------------------


def _kaggle_download(competition: str, dest: Path, quiet: bool) -> None:
    """Download the competition's files with the Kaggle API into ``dest``."""
    sink = io.StringIO()
    # kaggle authenticates (and may print help or raise) on import: keep that quiet.
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        try:
            api.authenticate()
        except SystemExit:  # kaggle 2.x exits when it finds no usable credentials
            raise NoCredentialsError("the Kaggle client did not accept the credentials") from None
    api.competition_download_files(competition, path=str(dest), quiet=quiet)


def _gdown_download(file_id: str, output: Path, quiet: bool) -> None:
    """Download one public Google Drive file to ``output`` with gdown."""
    import gdown

    result = gdown.download(id=file_id, output=str(output), quiet=quiet)
    if result is None or not output.is_file():  # older gdown returns None on failure
        raise CompetitionDataNotFoundError(
            f"gdown could not download Google Drive file {file_id} (see its messages above)"
        )


# ---------------------------------------------------------------------------
# Classifying client errors
# ---------------------------------------------------------------------------


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def _http_status(err: BaseException) -> int | None:
    for e in _chain(err):
        code = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(code, int):
            return code
        status = getattr(e, "status", None)  # kaggle 1.x: kaggle.rest.ApiException
        if isinstance(status, int) and 100 <= status < 600:
            return status
    return None


def _network_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [
        ConnectionError,
        TimeoutError,
        socket.gaierror,
        urllib.error.URLError,
    ]
    try:
        import requests

        types += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    except ImportError:
        pass
    try:
        import urllib3

        types += [
            urllib3.exceptions.NewConnectionError,
            urllib3.exceptions.MaxRetryError,
            urllib3.exceptions.TimeoutError,
        ]
    except ImportError:
        pass
    return tuple(types)


def _is_network_error(err: BaseException) -> bool:
    network = _network_error_types()
    return any(isinstance(e, network) for e in _chain(err))


# ---------------------------------------------------------------------------
# Unpacking, checking and moving into place
# ---------------------------------------------------------------------------


def _unpack(tmp: Path) -> None:
    """Extract every zip in ``tmp`` (recursively, once) and delete the archives."""
    for archive in sorted(tmp.rglob("*.zip")):
        try:
            with zipfile.ZipFile(archive) as zf:
                root = (archive.parent / (archive.stem + "_unzipped")).resolve()
                for member in zf.namelist():
                    if not (root / member).resolve().is_relative_to(root):
                        raise zipfile.BadZipFile(f"member {member!r} points outside the archive")
                zf.extractall(root)
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as err:
            archive.unlink(missing_ok=True)
            raise CorruptArchiveError(
                f"{archive.name} is not a valid zip archive ({_short(err)}); the download is "
                "incomplete or corrupt. The file has been removed: run again to download it "
                "anew."
            ) from None
        archive.unlink()


def _place(spec: CompetitionSpec, tmp: Path, target: Path) -> Path:
    """Find the expected files under ``tmp``, check them, and move them into ``target``."""
    found: dict[str, Path] = {}
    for fs in spec.files:
        matches = sorted(tmp.rglob(fs.name), key=lambda p: (len(p.parts), str(p)))
        if matches:
            found[fs.name] = matches[0]
        elif fs.required:
            raise UnexpectedFilesError(
                f"the download of {spec.name} holds no {fs.name} (it holds: "
                f"{', '.join(sorted(p.name for p in tmp.rglob('*') if p.is_file())) or 'nothing'})"
            )
    staging = tmp / ".staging"
    staging.mkdir()
    for name, path in found.items():
        os.replace(path, staging / name)
    check_files(spec.name, staging)
    target.mkdir(parents=True, exist_ok=True)
    for name in found:
        os.replace(staging / name, target / name)  # atomic: a file appears whole or not at all
    return target


@contextlib.contextmanager
def _temporary_dir(root: Path, competition: str) -> Iterator[Path]:
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{competition}.download-", dir=root))
    except OSError as err:
        raise KaggleDataError(
            f"cannot write to {root} ({err}); pass data_dir=<a writable folder> or set "
            "LINBOOK_DATA to one"
        ) from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _skipped(err: KaggleDataError) -> KaggleDataError:
    """Mark an error that means "this source was not tried" (no credentials, no client)."""
    err.skipped = True  # type: ignore[attr-defined]
    return err


def _from_kaggle(spec: CompetitionSpec, root: Path, quiet: bool) -> Path:
    source = find_kaggle_credentials()
    if source is None:
        raise _skipped(NoCredentialsError(_no_credentials_message(spec, root)))
    with _temporary_dir(root, spec.name) as tmp:
        if not quiet:
            print(f"Downloading {spec.name} with the Kaggle API (credentials: {source}) ...")
        try:
            _kaggle_download(spec.name, tmp, quiet)
        except NoCredentialsError as err:
            raise NoCredentialsError(
                f"{err} (found in {source}). Create a new token at "
                "https://www.kaggle.com/settings and replace the old one."
            ) from None
        except KaggleDataError:
            raise
        except ImportError as err:
            raise _skipped(
                CompetitionDataNotFoundError(
                    f"the Kaggle client cannot be imported ({err}): pip install --upgrade kaggle"
                    + (f" {err.name}" if getattr(err, "name", None) not in (None, "kaggle") else "")
                )
            ) from None
        except Exception as err:  # the client raises requests/urllib3/kaggle exceptions
            status = _http_status(err)
            if status == 403:
                raise RulesNotAcceptedError(_rules_message(spec, source)) from None
            if status == 401:
                raise NoCredentialsError(
                    f"Kaggle rejected the credentials in {source} (HTTP 401 Unauthorized): the "
                    "token is wrong or has expired. Create a new one at "
                    "https://www.kaggle.com/settings and replace the old one."
                ) from None
            if status == 404:
                raise CompetitionDataNotFoundError(
                    f"Kaggle has no competition data at {spec.data_url} (HTTP 404)"
                ) from None
            if _is_network_error(err):
                raise NoNetworkError(
                    _no_network_message(spec, root, "The Kaggle API", err)
                ) from None
            raise CompetitionDataNotFoundError(
                f"the Kaggle API failed: {type(err).__name__}: {_short(err)}"
            ) from None
        _unpack(tmp)
        return _place(spec, tmp, root / spec.name)


def _from_gdown(spec: CompetitionSpec, root: Path, quiet: bool) -> Path:
    with _temporary_dir(root, spec.name) as tmp:
        for d in spec.drive:
            if not quiet:
                print(f"Downloading {d.name} ({d.size}) from the course's Google Drive copy ...")
            try:
                _gdown_download(d.file_id, tmp / d.name, quiet)
            except KaggleDataError:
                raise
            except ImportError as err:
                raise _skipped(
                    CompetitionDataNotFoundError(
                        f"gdown cannot be imported ({err}): pip install --upgrade gdown"
                    )
                ) from None
            except Exception as err:  # requests errors, gdown.exceptions.*
                if _is_network_error(err):
                    raise NoNetworkError(
                        _no_network_message(spec, root, "gdown (Google Drive)", err)
                    ) from None
                raise CompetitionDataNotFoundError(
                    f"gdown could not download {d.url} ({type(err).__name__}: {_short(err)}). "
                    "Google Drive may limit downloads of a popular file for a day; try "
                    "later, or the Kaggle API."
                ) from None
        _unpack(tmp)
        return _place(spec, tmp, root / spec.name)


_SOURCES = {"kaggle": _from_kaggle, "gdown": _from_gdown}


def _pick_error(failures: list[tuple[str, KaggleDataError]]) -> tuple[str, KaggleDataError]:
    """The error to raise when every source failed: that of the first source that actually
    tried to download (not one skipped for lack of credentials or of the client)."""
    for source, err in failures:
        if not getattr(err, "skipped", False):
            return source, err
    return failures[0]


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
        one a download goes into (else :func:`download_root`).
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
        the folder that holds the files, already checked.

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
    unknown = [s for s in sources if s not in _SOURCES]
    if unknown or not sources:
        raise ValueError(
            f"sources must be a non-empty sequence of {sorted(_SOURCES)}, got {list(sources)!r}"
        )
    folder = find_competition(competition, data_dir)
    if folder is not None:
        return folder
    root = download_root(data_dir)
    if not download:
        places = "\n".join(f"  - {p}" for p in competition_search_path(competition, data_dir))
        raise CompetitionDataNotFoundError(
            f"The files of {competition} ({', '.join(spec.required_files)}) were not found. "
            f"linbook looked in:\n{places}\n"
            "Call fetch_competition(..., download=True) to download them (Kaggle API or "
            "gdown), or put them in one of these folders.\n" + _manual_steps(spec, root)
        )
    failures: list[tuple[str, KaggleDataError]] = []
    for source in sources:
        try:
            folder = _SOURCES[source](spec, root, quiet)
        except KaggleDataError as err:
            failures.append((source, err))
            continue
        if failures and not quiet:
            for failed, err in failures:
                print(f"({failed} did not work: {type(err).__name__}; used {source} instead)")
        return folder
    chosen_source, chosen = _pick_error(failures)
    others = [(s, e) for s, e in failures if e is not chosen]
    message = str(chosen)
    if others:
        message += "\n\nThe other sources failed too:\n" + "\n".join(
            f"  - {s}: {type(e).__name__}: {str(e).splitlines()[0]}" for s, e in others
        )
    raise type(chosen)(_scrub(message))
