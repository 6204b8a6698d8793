"""The two download sources of :func:`linbook.kaggle.fetch_competition` — the Kaggle API and
the course's Google Drive copies (gdown) — and what every download shares: a temporary
folder, unpacking, checking, the atomic move into place, and one clear error per failure.

The network boundary is ``_kaggle_download`` and ``_gdown_download``; the tests
replace exactly these two functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import tempfile
import urllib.error
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

from . import datadirs
from .kaggle import (
    _SOURCE_FILE,
    CompetitionDataNotFoundError,
    CompetitionSpec,
    CorruptArchiveError,
    KaggleDataError,
    NoCredentialsError,
    NoNetworkError,
    RulesNotAcceptedError,
    UnexpectedFilesError,
    _colab_secrets,
    _kaggle_config_dirs,
    _short,
    check_files,
    find_kaggle_credentials,
)

__all__: list[str] = []  # nothing public: use linbook.kaggle.fetch_competition


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def _manual_steps(spec: CompetitionSpec, root: Path) -> str:
    lines = [
        "Or download the files by hand (on any machine with a browser) and put them in "
        f"{root / spec.name}/ (or in <folder>/{spec.name}/ with {datadirs.ENV_DATA}=<folder>):",
        f"  - from Kaggle (after signing in and accepting the rules): {spec.data_url}",
    ]
    lines += [
        f"  - from the course's Google Drive copy ({d.size}): {d.url} -> {d.name}"
        for d in spec.drive
    ]
    if any(d.name.endswith(".zip") for d in spec.drive):
        lines.append("    (unzip the archive; the .npy files may stay in its inner folder)")
    return "\n".join(lines)


def _gdown_commands(spec: CompetitionSpec) -> str:
    return "\n".join(f"    gdown {d.file_id} -O {d.name}" for d in spec.drive)


def _no_credentials_message(spec: CompetitionSpec, root: Path) -> str:
    places = ", ".join(str(d / "kaggle.json") for d in _kaggle_config_dirs())
    return (
        "No Kaggle credentials found (looked for the environment variables KAGGLE_USERNAME "
        f"and KAGGLE_KEY, KAGGLE_API_TOKEN, Colab's secrets, and for {places}).\n"
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


def _no_network_message(spec: CompetitionSpec, root: Path, what: str, err: BaseException) -> str:
    return (
        f"{what} could not reach its server ({type(err).__name__}: {_short(err)}); "
        "this machine seems to be offline or behind a proxy/firewall.\n"
        "Alternatives:\n"
        f"  - on a machine with internet: kaggle competitions download -c {spec.name}\n"
        "  - or, without a Kaggle account, the course's copies with gdown:\n"
        f"{_gdown_commands(spec)}\n" + _manual_steps(spec, root)
    )


# ---------------------------------------------------------------------------
# The network boundary (tests replace these two functions)
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _kaggle_download(competition: str, dest: Path, quiet: bool) -> None:
    """Download the competition's files with the Kaggle API into ``dest``."""
    sink = io.StringIO()
    secrets = {} if os.environ.get("KAGGLE_KEY") else _colab_secrets()
    with _environment(secrets):
        # kaggle may authenticate (and print help or raise) on import: keep that quiet.
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            try:
                api.authenticate()
            except SystemExit:  # the client exits when it finds no usable credentials
                raise NoCredentialsError(
                    "the Kaggle client did not accept the credentials"
                ) from None
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
    return None


def _is_network_error(err: BaseException) -> bool:
    types: list[type[BaseException]] = [
        ConnectionError, TimeoutError, socket.gaierror, urllib.error.URLError
    ]  # fmt: skip
    with contextlib.suppress(ImportError):
        import requests

        types += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    return any(isinstance(e, tuple(types)) for e in _chain(err))


# ---------------------------------------------------------------------------
# One download: a temporary folder, the client, unpack, check, move into place
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
                "incomplete or corrupt. The file has been removed: run again to download it anew."
            ) from None
        archive.unlink()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _place(spec: CompetitionSpec, tmp: Path, target: Path, source: str) -> Path:
    """Find the expected files under ``tmp``, check them, and move them into ``target``."""
    found: dict[str, Path] = {}
    for fs in spec.files:
        matches = sorted(tmp.rglob(fs.name), key=lambda p: (len(p.parts), str(p)))
        if matches:
            found[fs.name] = matches[0]
        elif fs.required:
            held = sorted(p.name for p in tmp.rglob("*") if p.is_file())
            raise UnexpectedFilesError(
                f"the download of {spec.name} holds no {fs.name} "
                f"(it holds: {', '.join(held) or 'nothing'})"
            )
    staging = tmp / ".staging"
    staging.mkdir()
    for name, path in found.items():
        os.replace(path, staging / name)
    check_files(spec.name, staging)
    for fs in spec.files:
        if fs.sha256 and fs.name in found and _sha256(staging / fs.name) != fs.sha256:
            warnings.warn(
                f"{fs.name} from {source} differs from the copy this book was built with "
                "(another sha256); its numbers may differ slightly from the book's",
                stacklevel=4,
            )
    (staging / _SOURCE_FILE).write_text(json.dumps({"source": source}), encoding="utf-8")
    target.mkdir(parents=True, exist_ok=True)
    for name in [*found, _SOURCE_FILE]:
        os.replace(staging / name, target / name)  # atomic: a file appears whole or not at all
    return target


def _download(spec: CompetitionSpec, root: Path, source: str, fetch) -> Path:
    """Run ``fetch(tmp)`` in a temporary folder under ``root``; unpack, check and place."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}.download-", dir=root))
    except OSError as err:
        raise KaggleDataError(
            f"cannot write to {root} ({err}); pass data_dir=<a writable folder> or set "
            f"{datadirs.ENV_DATA} to one"
        ) from None
    try:
        fetch(tmp)
        _unpack(tmp)
        return _place(spec, tmp, root / spec.name, source)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _skipped(err: KaggleDataError) -> KaggleDataError:
    """Mark an error that means "this source was not tried" (no credentials, no client)."""
    err.skipped = True  # type: ignore[attr-defined]
    return err


def _client_error(spec: CompetitionSpec, root: Path, what: str, err: Exception) -> KaggleDataError:
    """Turn a client's exception (requests, urllib3, kaggle, gdown) into a KaggleDataError."""
    if isinstance(err, KaggleDataError):
        return err
    if isinstance(err, ImportError):
        package = "kaggle" if what == "The Kaggle API" else "gdown"
        extra = getattr(err, "name", None)
        extra = f" {extra}" if extra not in (None, package) else ""
        return _skipped(
            CompetitionDataNotFoundError(
                f"{what}: its client cannot be imported ({err}): pip install --upgrade {package}{extra}"
            )
        )
    if _is_network_error(err):
        return NoNetworkError(_no_network_message(spec, root, what, err))
    return CompetitionDataNotFoundError(f"{what} failed: {type(err).__name__}: {_short(err)}")


def _from_kaggle(spec: CompetitionSpec, root: Path, quiet: bool) -> Path:
    source = find_kaggle_credentials()
    if source is None:
        raise _skipped(NoCredentialsError(_no_credentials_message(spec, root)))

    def fetch(tmp: Path) -> None:
        if not quiet:
            print(f"Downloading {spec.name} with the Kaggle API (credentials: {source}) ...")
        try:
            _kaggle_download(spec.name, tmp, quiet)
        except NoCredentialsError as err:
            raise NoCredentialsError(
                f"{err} (found in {source}). Create a new token at "
                "https://www.kaggle.com/settings and replace the old one."
            ) from None
        except Exception as err:  # the client raises requests/urllib3/kaggle exceptions
            status = _http_status(err)
            if status == 403:
                raise RulesNotAcceptedError(
                    f"Kaggle refused the download of {spec.name} (HTTP 403 Forbidden) with "
                    f"the credentials in {source}.\nOpen {spec.rules_url} while signed in with "
                    'that account, click "I Understand and Accept" (join the competition), '
                    "then run again.\n(If you already accepted, check that the token belongs "
                    "to the same account.)"
                ) from None
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
            raise _client_error(spec, root, "The Kaggle API", err) from None

    return _download(spec, root, "the Kaggle API", fetch)


def _from_gdown(spec: CompetitionSpec, root: Path, quiet: bool) -> Path:
    def fetch(tmp: Path) -> None:
        for d in spec.drive:
            if not quiet:
                print(f"Downloading {d.name} ({d.size}) from the course's Google Drive copy ...")
            try:
                _gdown_download(d.file_id, tmp / d.name, quiet)
            except Exception as err:  # requests errors, gdown.exceptions.*
                error = _client_error(spec, root, "gdown (Google Drive)", err)
                if type(error) is CompetitionDataNotFoundError and not getattr(error, "skipped", 0):
                    error = CompetitionDataNotFoundError(
                        f"gdown could not download {d.url} ({type(err).__name__}: "
                        f"{_short(err)}). Google Drive may limit downloads of a popular file "
                        "for a day; try later, or the Kaggle API."
                    )
                raise error from None

    return _download(spec, root, "the course's Google Drive copy (gdown)", fetch)


SOURCES = {"kaggle": _from_kaggle, "gdown": _from_gdown}
