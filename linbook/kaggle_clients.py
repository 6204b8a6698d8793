"""What :func:`linbook.kaggle.fetch_competition` needs to know about the two download
sources — the Kaggle client (``kaggle`` 1.6 to 2.x) and the course's Google Drive copies
(``gdown``) — and what every download shares: the errors, where the Kaggle client looks for
credentials, a temporary folder, unpacking, checking, moving into place, one clear error per
failure.

This module imports nothing of :mod:`linbook.kaggle` (which imports it): the errors and
:func:`~linbook.kaggle.find_kaggle_credentials` defined here are documented, and meant to be used, as
``linbook.kaggle.<name>``. The network boundary is ``_kaggle_download`` and
``_gdown_download``; the tests replace exactly these two functions (or the ``kaggle``
package itself, with fakes of its versions).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import socket
import sys
import tempfile
import urllib.error
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from . import datadirs

if TYPE_CHECKING:  # for annotations only: no import of linbook.kaggle at run time
    from .kaggle import CompetitionSpec

__all__: list[str] = []  # documented and used as linbook.kaggle.<name>

# ---------------------------------------------------------------------------
# The errors (shown as linbook.kaggle.<name>, where readers meet them)
# ---------------------------------------------------------------------------


class KaggleDataError(RuntimeError):
    """Base class of every error :func:`fetch_competition` raises."""

    __module__ = "linbook.kaggle"


class NoCredentialsError(KaggleDataError):
    """No usable Kaggle credentials where the installed client looks, or Kaggle refused them."""

    __module__ = "linbook.kaggle"


class RulesNotAcceptedError(KaggleDataError):
    """Kaggle answered HTTP 403: the competition's rules have not been accepted."""

    __module__ = "linbook.kaggle"


class NoNetworkError(KaggleDataError):
    """The download failed because no server could be reached."""

    __module__ = "linbook.kaggle"


class CorruptArchiveError(KaggleDataError):
    """A downloaded archive cannot be unpacked (it has been removed); the message says what to do."""

    __module__ = "linbook.kaggle"


class CompetitionDataNotFoundError(KaggleDataError):
    """The files are not present and could not (or may not) be downloaded."""

    __module__ = "linbook.kaggle"


class UnexpectedFilesError(KaggleDataError):
    """A competition file is present but has the wrong header, dtype or shape."""

    __module__ = "linbook.kaggle"


#: The file in which a download records the source it came from (read by
#: :func:`linbook.kaggle.data_source`).
SOURCE_RECORD = ".linbook-source.json"


# ---------------------------------------------------------------------------
# Secrets: never in a message
# ---------------------------------------------------------------------------


def colab_secrets() -> dict[str, str]:
    """In Colab, the secrets KAGGLE_USERNAME and KAGGLE_KEY (when granted), else nothing."""
    if "google.colab" not in sys.modules:
        return {}
    try:
        from google.colab import userdata  # type: ignore[import-not-found]

        username, key = userdata.get("KAGGLE_USERNAME"), userdata.get("KAGGLE_KEY")
    except Exception:  # secret missing or notebook access not granted
        return {}
    return {"KAGGLE_USERNAME": username, "KAGGLE_KEY": key} if username and key else {}


def _read_token(path: Path) -> dict | None:
    """The content of a kaggle.json when it is a JSON object, else ``None``."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def _is_token(content: dict | None) -> bool:
    return bool(content and content.get("username") and content.get("key"))


def _secrets() -> list[str]:
    """The Kaggle key/token values on this machine (to remove them from any message)."""
    found = [os.environ.get(name, "") for name in ("KAGGLE_KEY", "KAGGLE_API_TOKEN")]
    found.append(colab_secrets().get("KAGGLE_KEY", ""))
    for path in [client_config_dir() / "kaggle.json", *_other_token_places()]:
        content = _read_token(path) if path.is_file() else None
        if content:
            found.append(str(content.get("key", "")))
    return [s for s in found if len(s) >= 8]


def scrub(text: str) -> str:
    """``text`` with every Kaggle key or token of this machine replaced by ``***``."""
    for secret in _secrets():
        text = text.replace(secret, "***")
    return text


def short(err: BaseException | str, limit: int = 300) -> str:
    """A one-line, length-limited description of a client's exception, without secrets."""
    text = scrub(" ".join(str(err).split()))
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# Credentials: exactly where the installed Kaggle client looks
# ---------------------------------------------------------------------------


def client_version() -> tuple[int, ...] | None:
    """The installed ``kaggle`` package's version, e.g. ``(1, 7, 4, 5)``; ``None`` when it is
    not installed (read from its metadata: the client itself is not imported)."""
    try:
        text = importlib.metadata.version("kaggle")
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = []
    for piece in text.split("."):
        digits = "".join(c for c in piece if c.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _reads_access_tokens(version: tuple[int, ...] | None) -> bool:
    """kaggle >= 1.8 (through kagglesdk) also reads KAGGLE_API_TOKEN and ~/.kaggle/access_token;
    without a client, ``pip install kaggle`` brings such a version."""
    return version is None or version >= (1, 8)


def _home() -> Path:
    return Path(os.path.expanduser("~"))  # what the client uses (HOME, USERPROFILE on Windows)


def client_config_dir() -> Path:
    """The one folder where the Kaggle client (1.6 to 2.x) reads ``kaggle.json``.

    ``$KAGGLE_CONFIG_DIR`` when set; else ``~/.kaggle``, except on Linux when ``~/.kaggle``
    does not exist: then ``$XDG_CONFIG_HOME/kaggle`` (``~/.config/kaggle``). The same rule,
    word for word, as ``KaggleApi.config_dir`` in every client version linbook allows.
    """
    value = os.environ.get("KAGGLE_CONFIG_DIR")
    if value:
        return Path(value)
    folder = _home() / ".kaggle"
    if sys.platform.startswith("linux") and not os.path.exists(folder):
        folder = Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config") / "kaggle"
    return folder


def _why_this_folder() -> str:
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return "KAGGLE_CONFIG_DIR names it"
    if sys.platform.startswith("linux"):
        if os.path.exists(_home() / ".kaggle"):
            return "~/.kaggle exists, so the client does not look in ~/.config/kaggle"
        return "on Linux the client uses ~/.config/kaggle while ~/.kaggle does not exist"
    return "the client's default"


def _other_token_places() -> list[Path]:
    """Where readers put kaggle.json that the client may not read: the other default folders,
    the current folder (a Colab upload), the browser's Downloads folder."""
    home = _home()
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle"
    folders = [home / ".kaggle", xdg, Path.cwd(), home / "Downloads"]
    target = os.path.abspath(client_config_dir())
    places, seen = [], {target}
    for folder in folders:
        key = os.path.abspath(folder)
        if key not in seen:
            seen.add(key)
            places.append(folder / "kaggle.json")
    return places


def misplaced_credentials() -> list[str]:
    """Credentials on this machine that the installed client does not read, each with what to
    do (move a kaggle.json, upgrade the client for an access token); empty when there are none."""
    version = client_version()
    target = client_config_dir()
    notes = []
    for path in _other_token_places():
        if path.is_file() and _is_token(_read_token(path)):
            if os.name == "nt":
                move = f'mkdir -Force "{target}"; Move-Item "{path}" "{target}\\kaggle.json"'
            else:
                move = (
                    f"mkdir -p {target} && mv {path} {target}/kaggle.json && "
                    f"chmod 600 {target}/kaggle.json"
                )
            notes.append(
                f"A Kaggle token is in {path}, but the Kaggle client reads kaggle.json only from "
                f"{target} ({_why_this_folder()}). The token is fine: move it there, e.g.\n"
                f"    {move}\n"
                f"  or set the environment variable KAGGLE_CONFIG_DIR={path.parent} before "
                "starting Python or Jupyter."
            )
    if not _reads_access_tokens(version):
        held = [n for n in ("KAGGLE_API_TOKEN",) if os.environ.get(n)]
        held += [
            str(_home() / ".kaggle" / name)
            for name in ("access_token", "access_token.txt")
            if (_home() / ".kaggle" / name).is_file()
        ]
        if held:
            installed = ".".join(map(str, version or ()))
            notes.append(
                f"An access token is in {', '.join(held)}, but the installed Kaggle client "
                f"(kaggle {installed}) reads access tokens only from version 1.8 on: "
                "pip install --upgrade kaggle (then restart the kernel)."
            )
    return notes


def find_kaggle_credentials() -> str | None:
    """Say where usable Kaggle credentials are, looking exactly where the installed Kaggle
    client looks; the key itself is read only to check that a ``kaggle.json`` holds one, and
    is never part of the answer.

    In the client's order: the environment variables ``KAGGLE_USERNAME`` and ``KAGGLE_KEY``;
    ``KAGGLE_API_TOKEN`` (kaggle >= 1.8); in Colab, the secrets ``KAGGLE_USERNAME`` and
    ``KAGGLE_KEY``; ``kaggle.json`` in the one folder the client reads (``$KAGGLE_CONFIG_DIR``,
    else ``~/.kaggle``, else — on Linux, when ``~/.kaggle`` does not exist —
    ``~/.config/kaggle``); ``~/.kaggle/access_token`` (kaggle >= 1.8) and the OAuth
    ``~/.kaggle/credentials.json`` (kaggle >= 2, or 1.8 with ``KAGGLE_ENABLE_OAUTH``). A token
    elsewhere is not used (the client would not find it): the error that
    :func:`fetch_competition` raises then says where to move it. Nothing is changed: Colab's
    secrets are handed to the client only for the duration of a download.

    Returns
    -------
    str or None
        a short description such as ``"/home/me/.kaggle/kaggle.json"`` or
        ``"environment variables KAGGLE_USERNAME and KAGGLE_KEY"``; ``None`` if there are
        none.

    Raises
    ------
    NoCredentialsError
        the client's ``kaggle.json`` exists but is not valid JSON with ``username`` and ``key``.
    """
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "environment variables KAGGLE_USERNAME and KAGGLE_KEY"
    version = client_version()
    tokens = _reads_access_tokens(version)
    if tokens and os.environ.get("KAGGLE_API_TOKEN"):
        return "environment variable KAGGLE_API_TOKEN"
    if colab_secrets():
        return "Colab secrets KAGGLE_USERNAME and KAGGLE_KEY"
    path = client_config_dir() / "kaggle.json"
    if path.is_file():
        if not _is_token(_read_token(path)):
            raise NoCredentialsError(
                f"{path} is not a valid Kaggle token: it must be the JSON file "
                '{"username": "...", "key": "..."} that Kaggle\'s settings page '
                "downloads. Create a new token and replace the file."
            )
        return str(path)
    names = ["access_token", "access_token.txt"] if tokens else []
    oauth = os.environ.get("KAGGLE_ENABLE_OAUTH", "").lower() in ("1", "true", "yes")
    if version is None or version >= (2,) or (tokens and oauth):
        names.append("credentials.json")
    for name in names:
        token = _home() / ".kaggle" / name
        if token.is_file() and token.stat().st_size > 0:
            return str(token)
    return None


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def manual_steps(spec: CompetitionSpec, root: Path) -> str:
    """How to put the files in place by hand, from Kaggle or from the Google Drive copies."""
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
    alternative = (
        "No account? Download the course's public copies with gdown (pip install gdown):\n"
        f"{_gdown_commands(spec)}\n" + manual_steps(spec, root)
    )
    misplaced = misplaced_credentials()
    if misplaced:  # a token exists: say where to put it, not how to make another one
        return (
            "\n".join(misplaced)
            + f"\nThen accept the competition's rules: {spec.rules_url}\n"
            + alternative
        )
    target = client_config_dir()
    tokens = " KAGGLE_API_TOKEN," if _reads_access_tokens(client_version()) else ""
    chmod = "" if os.name == "nt" else f"\n     then: chmod 600 {target / 'kaggle.json'}"
    return (
        "No Kaggle credentials found where the Kaggle client looks (the environment variables "
        f"KAGGLE_USERNAME and KAGGLE_KEY,{tokens} Colab's secrets, {target / 'kaggle.json'}).\n"
        "To use the Kaggle API:\n"
        "  1. Sign in at https://www.kaggle.com and open https://www.kaggle.com/settings "
        "(section API).\n"
        "  2. Create a token there: a legacy API key is downloaded as kaggle.json; a newer "
        "API token is a string to put in the environment variable KAGGLE_API_TOKEN "
        "(kaggle >= 1.8).\n"
        f"  3. Put kaggle.json in {target} ({_why_this_folder()}){chmod}\n"
        "     or put it in any folder and set KAGGLE_CONFIG_DIR to that folder,\n"
        "     or set the environment variables KAGGLE_USERNAME and KAGGLE_KEY (in Colab: "
        "add them as secrets under the key icon and allow notebook access).\n"
        f"  4. Accept the competition's rules: {spec.rules_url}\n" + alternative
    )


def _no_network_message(spec: CompetitionSpec, root: Path, what: str, err: BaseException) -> str:
    return (
        f"{what} could not reach its server ({type(err).__name__}: {short(err)}); "
        "this machine seems to be offline or behind a proxy/firewall.\n"
        "Alternatives:\n"
        f"  - on a machine with internet: kaggle competitions download -c {spec.name}\n"
        "  - or, without a Kaggle account, the course's copies with gdown:\n"
        f"{_gdown_commands(spec)}\n" + manual_steps(spec, root)
    )


# ---------------------------------------------------------------------------
# The network boundary (tests replace these two functions, or the kaggle package)
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
    """Download the competition's files with the Kaggle API into ``dest``.

    The client authenticates when its package is imported: kaggle 1.6/1.7 raise ``OSError``
    there, 1.8 calls ``exit(1)``, 2.x swallows the failure and exits in ``authenticate()``;
    each of these (other than a network error) becomes :class:`NoCredentialsError`.
    """
    sink = io.StringIO()
    secrets = {} if os.environ.get("KAGGLE_KEY") else colab_secrets()
    with _environment(secrets):
        try:  # the client may print help or raise while it authenticates: keep that quiet
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                from kaggle.api.kaggle_api_extended import KaggleApi

                api = KaggleApi()
                api.authenticate()
        except ImportError:
            raise
        except (Exception, SystemExit) as err:
            if _is_network_error(err) or _http_status(err) is not None:
                raise
            said = short(sink.getvalue()) or ("" if isinstance(err, SystemExit) else short(err))
            raise NoCredentialsError(
                "the Kaggle client did not accept the credentials"
                + (f" (it said: {said})" if said else "")
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
    """The HTTP status an exception carries, in the form of each client version:
    ``requests.HTTPError.response.status_code`` (kaggle >= 1.7, gdown),
    ``kaggle.rest.ApiException.status`` (kaggle 1.6, no ``response``),
    ``urllib.error.HTTPError.code``."""
    for e in _chain(err):
        candidates = [
            getattr(getattr(e, "response", None), "status_code", None),
            getattr(e, "status", None),
        ]
        if isinstance(e, urllib.error.HTTPError):
            candidates.append(e.code)
        for code in candidates:
            if isinstance(code, int) and not isinstance(code, bool) and 100 <= code < 600:
                return code
    return None


def _is_network_error(err: BaseException) -> bool:
    types: list[type[BaseException]] = [
        ConnectionError, TimeoutError, socket.gaierror, urllib.error.URLError
    ]  # fmt: skip
    with contextlib.suppress(ImportError):
        import requests

        types += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    with contextlib.suppress(ImportError):
        import urllib3

        types += [urllib3.exceptions.MaxRetryError, urllib3.exceptions.NewConnectionError]
    return any(isinstance(e, tuple(types)) for e in _chain(err))


# ---------------------------------------------------------------------------
# One download: a temporary folder, the client, unpack, check, move into place
# ---------------------------------------------------------------------------

#: What reading a damaged zip raises: a cut-off archive or a bad central directory
#: (``BadZipFile``), a bad CRC (``BadZipFile``), a damaged deflate stream (``zlib.error``),
#: member data that ends early (``EOFError``).
_DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error)
#: What a sound zip that Python cannot unpack raises: a compression method zipfile lacks
#: (Deflate64: ``NotImplementedError``), encryption (``RuntimeError``).
_UNSUPPORTED = (NotImplementedError, RuntimeError)


class _ArchiveProblem(Exception):
    def __init__(self, archive: Path, err: BaseException, damaged: bool) -> None:
        super().__init__(archive.name)
        self.archive, self.err, self.damaged = archive, err, damaged


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
        except _DAMAGED as err:
            archive.unlink(missing_ok=True)
            raise _ArchiveProblem(archive, err, damaged=True) from None
        except _UNSUPPORTED as err:
            archive.unlink(missing_ok=True)
            raise _ArchiveProblem(archive, err, damaged=False) from None
        archive.unlink()


def _archive_error(
    problem: _ArchiveProblem, spec: CompetitionSpec, root: Path, source: str
) -> CorruptArchiveError:
    name, err = problem.archive.name, problem.err
    reason = f"{type(err).__name__}: {short(err)}"
    if problem.damaged:
        head = (
            f"{name} from {source} is not a valid zip archive ({reason}): the download was "
            "cut off or damaged on the way. It has been removed: run again to download it anew."
        )
    else:
        head = (
            f"{name} from {source} is a zip archive that Python's zipfile cannot unpack "
            f"({reason}). It has been removed: download it by hand and unpack it with another "
            "tool (7-Zip, unzip, the file manager)."
        )
    return CorruptArchiveError(
        f"{head}\nIf it happens again, try the other source "
        "(fetch_competition(..., sources=['gdown']) or sources=['kaggle']), or:\n"
        + manual_steps(spec, root)
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _place(
    spec: CompetitionSpec, tmp: Path, target: Path, source: str, check: Callable[[Path], object]
) -> Path:
    """Find the expected files under ``tmp``, ``check`` them, and move them into ``target``.

    Each file is moved with one ``os.replace`` (it appears whole or not at all); the record of
    the source comes last. A run stopped between two moves leaves a folder without all the
    required files, which no search accepts, and the next download completes it.
    """
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
    check(staging)
    for fs in spec.files:
        if fs.sha256 and fs.name in found and _sha256(staging / fs.name) != fs.sha256:
            warnings.warn(
                f"{fs.name} from {source} differs from the copy this book was built with "
                "(another sha256); its numbers may differ slightly from the book's",
                stacklevel=4,
            )
    (staging / SOURCE_RECORD).write_text(json.dumps({"source": source}), encoding="utf-8")
    target.mkdir(parents=True, exist_ok=True)
    for name in [*found, SOURCE_RECORD]:
        os.replace(staging / name, target / name)
    return target


def _download(
    spec: CompetitionSpec,
    root: Path,
    source: str,
    fetch: Callable[[Path], None],
    check: Callable[[Path], object],
) -> Path:
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
        try:
            _unpack(tmp)
            return _place(spec, tmp, root / spec.name, source, check)
        except _ArchiveProblem as problem:
            raise _archive_error(problem, spec, root, source) from None
        except OSError as err:  # writing here failed (disk full, permissions)
            raise KaggleDataError(
                f"could not write the files of {spec.name} into {root} ({err}); free some "
                f"disk space, or pass data_dir=<another folder> (or set {datadirs.ENV_DATA})"
            ) from None
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
    return CompetitionDataNotFoundError(f"{what} failed: {type(err).__name__}: {short(err)}")


def _from_kaggle(
    spec: CompetitionSpec, root: Path, quiet: bool, check: Callable[[Path], object]
) -> Path:
    source = find_kaggle_credentials()
    if source is None:
        raise _skipped(NoCredentialsError(_no_credentials_message(spec, root)))

    def fetch(tmp: Path) -> None:
        if not quiet:
            print(f"Downloading {spec.name} with the Kaggle API (credentials: {source}) ...")
        try:
            _kaggle_download(spec.name, tmp, quiet)
        except NoCredentialsError as err:
            version = ".".join(map(str, client_version() or ())) or "?"
            raise NoCredentialsError(
                f"{err} (kaggle {version}; credentials found in {source}). If the token is "
                "old, was revoked or was edited, create a new one at "
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

    return _download(spec, root, "the Kaggle API", fetch, check)


def _from_gdown(
    spec: CompetitionSpec, root: Path, quiet: bool, check: Callable[[Path], object]
) -> Path:
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
                        f"{short(err)}). Google Drive may limit downloads of a popular file "
                        "for a day; try later, or the Kaggle API."
                    )
                raise error from None

    return _download(spec, root, "the course's Google Drive copy (gdown)", fetch, check)


#: The download sources by name: ``source(spec, root, quiet, check) -> folder``.
SOURCES = {"kaggle": _from_kaggle, "gdown": _from_gdown}
