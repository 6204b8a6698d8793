"""Where linbook looks for data, where downloads go, and how a file is downloaded.

One rule for every data set of the book (Fashion-MNIST, the two Kaggle competitions, the
TIMIT stand-in):

**Search order** (:func:`search_roots`; the first folder that holds the files wins)

1. the ``data_dir`` argument of the function you call, when given;
2. the folder named by the environment variable ``LINBOOK_DATA``, when set;
3. linbook's per-user cache folder (:func:`cache_dir`): the folder named by ``LINBOOK_CACHE``
   when set, else ``$XDG_CACHE_HOME/linbook`` or ``~/.cache/linbook`` on Linux,
   ``~/Library/Caches/linbook`` on macOS, ``%LOCALAPPDATA%\\linbook\\Cache`` on Windows;
4. for Fashion-MNIST only, Debian's package ``dataset-fashion-mnist``
   (:data:`DEBIAN_DATASETS` ``/fashion-mnist``).

**Downloads** (:func:`download_root`) go into ``data_dir`` when given, else into
``LINBOOK_DATA`` when it is set and writable, else into the cache folder — always a folder
of the search path, so a second call finds what the first one fetched: every remote file is
fetched at most once per machine.

:func:`download_file` fetches one file: into a temporary file beside its destination,
verified, then renamed into place (a file appears whole or not at all), with retries and a
lock so that two notebooks running at once do not fetch the same file twice. Nothing here
calls a Unix-only function: the same code runs on Linux, macOS and Windows.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .checks import check_type, check_value

__all__ = [
    "ENV_DATA",
    "ENV_CACHE",
    "DEBIAN_DATASETS",
    "FileSpec",
    "DownloadError",
    "cache_dir",
    "search_roots",
    "download_root",
    "is_writable_dir",
    "describe_location",
    "portable",
    "publish",
    "download_file",
]

#: The one environment variable. It names a folder of data that linbook searches first (and downloads
#: into, when it is writable).
ENV_DATA = "LINBOOK_DATA"

#: Names a folder that replaces linbook's per-user cache folder (:func:`cache_dir`); the tests
#: set it so that they never write into a reader's real cache.
ENV_CACHE = "LINBOOK_CACHE"

#: Where Debian's ``dataset-*`` packages install data sets (``dataset-fashion-mnist``).
DEBIAN_DATASETS = Path("/usr/share/datasets")

_APP = "linbook"


@dataclass(frozen=True)
class FileSpec:
    """One expected file of a data set: the registry entry every data set of the book uses
    (:data:`linbook.fashion_mnist.FASHION_MNIST_FILES`, the competitions'
    :data:`linbook.kaggle.COMPETITIONS`).

    ``kind`` is ``"csv"``, ``"npy"`` or ``"idx"`` (Fashion-MNIST's format). ``rows`` is the
    number of data rows (CSV: lines after the header; IDX/``.npy``: ``shape[0]``), or ``None``
    where any number is accepted (a smaller copy of real data is still real data);
    ``columns`` the number of CSV fields or the array's ``shape[1]`` (``None`` when not
    checked). ``header_start``/``header_end`` are the CSV's first and last column names,
    ``dtype_kinds`` the accepted ``numpy.dtype.kind`` letters of an ``.npy`` array.
    ``sha256`` is the checksum of the file's (decompressed) bytes as the book was built with
    it. A file with ``required=False`` is checked when present but may be missing.

    Examples
    --------
    >>> FileSpec("covid.test.csv", "csv", rows=893, columns=94).required
    True
    """

    name: str
    kind: str  # "csv", "npy" or "idx"
    rows: int | None
    columns: int | None
    header_start: tuple[str, ...] = ()
    header_end: str | None = None
    dtype_kinds: str = ""
    required: bool = True
    sha256: str | None = None


class DownloadError(OSError):
    """Every URL of a file failed (the message lists each one and why)."""


def cache_dir(
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: str | os.PathLike | None = None,
) -> Path:
    """Return linbook's per-user cache folder, following the operating system's convention.

    ``LINBOOK_CACHE`` (in ``environ``), when set, names the folder itself on every system.
    Otherwise:

    ======== =====================================================================
    Linux    ``$XDG_CACHE_HOME/linbook``, else ``~/.cache/linbook``
    macOS    ``~/Library/Caches/linbook``
    Windows  ``%LOCALAPPDATA%\\linbook\\Cache``, else ``~\\AppData\\Local\\linbook\\Cache``
    ======== =====================================================================

    (the folders ``platformdirs.user_cache_dir("linbook", appauthor=False)`` gives). The
    folder is not created here.

    Parameters
    ----------
    platform, environ, home
        default to ``sys.platform``, ``os.environ`` and the user's home folder; pass them to
        ask what another system would use.

    Examples
    --------
    >>> cache_dir("linux", {}, "/home/ada").as_posix()
    '/home/ada/.cache/linbook'
    >>> cache_dir("linux", {"XDG_CACHE_HOME": "/tmp/c"}, "/home/ada").as_posix()
    '/tmp/c/linbook'
    >>> cache_dir("darwin", {}, "/Users/ada").as_posix()
    '/Users/ada/Library/Caches/linbook'
    >>> cache_dir("win32", {"LOCALAPPDATA": "C:/Users/ada/AppData/Local"}).as_posix()
    'C:/Users/ada/AppData/Local/linbook/Cache'
    >>> cache_dir("darwin", {"LINBOOK_CACHE": "/scratch/lb"}, "/Users/ada").as_posix()
    '/scratch/lb'
    """
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    override = environ.get(ENV_CACHE, "").strip()
    if override:
        return Path(override).expanduser()
    if home is None:
        home = Path.home()
    if platform.startswith("win"):
        base = environ.get("LOCALAPPDATA") or str(Path(home) / "AppData" / "Local")
        return Path(base) / _APP / "Cache"
    if platform == "darwin":
        return Path(home) / "Library" / "Caches" / _APP
    xdg = environ.get("XDG_CACHE_HOME", "").strip()
    # The XDG spec ignores a relative XDG_CACHE_HOME.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path(home) / ".cache"
    return base / _APP


def _env_data() -> Path | None:
    value = os.environ.get(ENV_DATA, "").strip()
    return Path(value).expanduser() if value else None


def search_roots(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Return the folders searched for data, in order: ``data_dir``, ``$LINBOOK_DATA``, the cache.

    Each data set looks in its own sub-folder of these (``fashion-mnist/``,
    ``ml2021spring-hw1/`` ...); Fashion-MNIST also looks in Debian's folder afterwards.

    Examples
    --------
    >>> search_roots("/data/here")[0] == Path("/data/here")
    True
    >>> search_roots()[-1] == cache_dir()
    True
    """
    roots: list[Path] = []
    for root in (
        Path(data_dir).expanduser() if data_dir is not None else None,
        _env_data(),
        cache_dir(),
    ):
        if root is not None and root not in roots:
            roots.append(root)
    return roots


def is_writable_dir(folder: str | os.PathLike) -> bool:
    """Whether linbook may create files in ``folder`` (or, if it does not exist, in the
    nearest existing folder above it).

    A folder that nobody may write to (no write permission bit at all, e.g. a shared data
    set made read-only on purpose, or a read-only folder on Windows) is never written to,
    even by an administrator who could; otherwise a probe file is created and removed —
    the only test that also catches read-only mounts and Windows access rules.

    Examples
    --------
    >>> import tempfile
    >>> is_writable_dir(tempfile.gettempdir())
    True
    """
    probe = Path(folder)
    while not probe.exists():
        if probe.parent == probe:
            return False
        probe = probe.parent
    if not probe.is_dir() or probe.stat().st_mode & 0o222 == 0:
        return False
    try:
        handle, name = tempfile.mkstemp(prefix=".linbook-probe-", dir=probe)
    except OSError:
        return False
    os.close(handle)
    with contextlib.suppress(OSError):
        os.remove(name)
    return True


def download_root(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder a download goes into: ``data_dir``, else ``$LINBOOK_DATA`` if it is
    writable, else the cache folder (:func:`cache_dir`). Each data set uses a sub-folder.

    Examples
    --------
    >>> download_root("/data/mine") == Path("/data/mine")
    True
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = _env_data()
    if env is not None and is_writable_dir(env):
        return env
    return cache_dir()


def describe_location(folder: str | os.PathLike) -> str:
    """Say where ``folder`` is in words a reader can act on, without this machine's paths.

    Examples
    --------
    >>> describe_location(cache_dir() / "fashion-mnist")
    "linbook's cache folder (fashion-mnist/)"
    >>> describe_location(DEBIAN_DATASETS / "fashion-mnist")
    "Debian's package dataset-fashion-mnist"
    """
    folder = Path(folder)
    places: list[tuple[Path, str]] = []
    env = _env_data()
    if env is not None:
        places.append((env, f"the folder named by {ENV_DATA}"))
    places.append((cache_dir(), "linbook's cache folder"))
    places.append((DEBIAN_DATASETS, "Debian's package"))
    for base, words in places:
        try:
            inner = folder.relative_to(base)
        except ValueError:
            continue
        if words == "Debian's package":
            return f"Debian's package dataset-{inner.parts[0]}" if inner.parts else words
        return f"{words} ({inner.as_posix()}/)" if inner.parts else words
    return f"a folder given as data_dir ({folder.name}/)"


def portable(text: str) -> str:
    """Replace this machine's data folders in ``text`` by their names: the value of
    ``LINBOOK_DATA`` by ``$LINBOOK_DATA``, the cache folder by ``<cache>``, the home folder
    by ``~`` — so that a message printed in the book reads the same on every machine.

    Examples
    --------
    >>> portable(str(cache_dir() / "ml2021spring-hw1")) == str(Path("<cache>", "ml2021spring-hw1"))
    True
    """
    places = [(cache_dir(), "<cache>"), (Path.home(), "~")]
    env = _env_data()
    if env is not None:
        places.insert(0, (env, f"${ENV_DATA}"))
    for folder, name in sorted(places, key=lambda p: -len(str(p[0]))):  # longest first
        text = text.replace(str(folder), name)
    return text


# ---------------------------------------------------------------------------
# Downloading one file
# ---------------------------------------------------------------------------

#: Errors that mean "this URL did not work now": try the next one, or again. (An ``OSError``
#: here comes from the connection: a local write's error is a :class:`_LocalWriteError`.)
_RETRYABLE = (urllib.error.URLError, http.client.HTTPException, OSError)


class _LocalWriteError(Exception):
    """Writing the received bytes to this machine's disk failed (disk full, no permission):
    not the URL's fault, so neither retried nor reported as a failed URL."""


@contextlib.contextmanager
def _lock(path: Path, wait: float, stale_after: float) -> Iterator[None]:
    """Hold ``path`` as a lock file (created exclusively; works on every OS)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                age = time.time() - path.stat().st_mtime
            except OSError:
                continue  # released meanwhile
            if age > stale_after:  # left by a process that died
                with contextlib.suppress(OSError):
                    os.remove(path)
                continue
            if time.monotonic() > deadline:
                raise DownloadError(
                    f"{path} is held by another download for more than {wait:.0f} s; if no "
                    "other notebook is downloading, delete that file and try again"
                ) from None
            time.sleep(0.2)
            continue
        os.close(handle)
        break
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)


def publish(tmp: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Move a finished temporary file to ``dest`` in one atomic rename, with the permissions
    a new file would have had (``mkstemp`` makes temporary files private to their owner).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> handle, name = tempfile.mkstemp(dir=folder); os.close(handle)
    >>> publish(name, folder / "done.txt"); (folder / "done.txt").exists()
    True
    """
    umask = os.umask(0o022)
    os.umask(umask)
    with contextlib.suppress(OSError):
        os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, dest)


def _fetch(url: str, out, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": f"{_APP} (Python urllib)"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        announced = response.headers.get("Content-Length")
        received = 0
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            try:
                out.write(chunk)
                out.flush()  # a full disk fails here, not later in close()
            except OSError as err:
                raise _LocalWriteError(str(err)) from err
            received += len(chunk)
    if announced is not None and announced.isdigit() and received != int(announced):
        raise urllib.error.ContentTooShortError(
            f"the connection closed after {received} of {announced} bytes", None
        )


def download_file(
    urls: Sequence[str],
    dest: str | os.PathLike,
    verify: Callable[[Path], None] | None = None,
    *,
    retries: int = 2,
    timeout: float = 60.0,
    quiet: bool = False,
) -> Path:
    """Download one file to ``dest`` from the first of ``urls`` that works; return ``dest``.

    The bytes go to a temporary file in ``dest``'s folder; ``verify(temp_path)`` (which
    raises to reject the file, e.g. a checksum mismatch) runs before the file is renamed to
    ``dest``, so ``dest`` is complete or absent. Each URL is tried ``1 + retries`` times
    (waiting 1 s, 2 s ... between tries) before the next one. While one process downloads
    ``dest``, another that asks for it waits and then uses that file. If ``dest`` exists
    already nothing is fetched.

    Raises
    ------
    DownloadError
        every URL failed; the message lists each URL and its error.
    OSError
        the received bytes could not be written here (disk full, no permission): raised at
        once, as it is, without trying another URL.
    Exception
        whatever ``verify`` raises for the last URL's file (the file is deleted).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> src = pathlib.Path(tempfile.mkdtemp()) / "a.txt"; _ = src.write_text("hi")
    >>> out = download_file([src.as_uri()], src.with_name("b.txt"), quiet=True)
    >>> out.read_text()
    'hi'
    """
    check_type("urls", urls, (list, tuple), hint="pass a list of URLs, e.g. [url]")
    check_value("urls", urls, len(urls) > 0, "a non-empty list of URLs")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file():
        return dest
    with _lock(dest.with_name(f".{dest.name}.lock"), wait=30 * 60.0, stale_after=2 * 60 * 60.0):
        if dest.is_file():  # another process finished it while we waited
            return dest
        failures: list[str] = []
        rejected: Exception | None = None  # the last file that verify() refused
        for url in urls:
            for attempt in range(1 + retries):
                if attempt:
                    time.sleep(float(attempt))
                handle, name = tempfile.mkstemp(
                    prefix=f".{dest.name}.", suffix=".part", dir=dest.parent
                )
                tmp = Path(name)
                try:
                    with os.fdopen(handle, "wb") as out:
                        if not quiet:
                            print(f"Downloading {url} ...", flush=True)
                        _fetch(url, out, timeout)
                except _LocalWriteError as err:  # this machine's fault: say so, at once
                    tmp.unlink(missing_ok=True)
                    raise err.__cause__ from None
                except urllib.error.HTTPError as err:  # the server answered: no use retrying
                    failures.append(f"{url}: HTTP {err.code} {err.reason}")
                    tmp.unlink(missing_ok=True)
                    break
                except _RETRYABLE as err:
                    failures.append(f"{url}: {type(err).__name__}: {err}")
                    tmp.unlink(missing_ok=True)
                    continue
                try:
                    if verify is not None:
                        verify(tmp)
                except Exception as err:  # a wrong or damaged file: try the next URL
                    rejected = err
                    failures.append(f"{url}: the file failed its check ({err})")
                    tmp.unlink(missing_ok=True)
                    break
                publish(tmp, dest)
                return dest
        if rejected is not None and len(failures) == 1:
            raise rejected
        raise DownloadError(
            f"could not download {dest.name}; every source failed:\n"
            + "\n".join(f"  - {f}" for f in failures)
        )


@contextlib.contextmanager
def download_lock(
    dest: str | os.PathLike, *, wait: float = 30 * 60.0, stale_after: float = 2 * 60 * 60.0
) -> Iterator[None]:
    """Hold the lock :func:`download_file` holds while it fetches ``dest``: the file
    ``.<name>.lock`` beside ``dest``, created exclusively (on every OS). A download of
    something other than one file (a competition's folder) takes it too, so that two
    notebooks running at once fetch it once: the second waits, then finds the files.

    Raises :class:`DownloadError` when another download holds it for more than ``wait``
    seconds; a lock older than ``stale_after`` seconds (its process died) is taken over.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with download_lock(folder / "data"):
    ...     (folder / ".data.lock").exists()
    True
    """
    dest = Path(dest)
    with _lock(dest.with_name(f".{dest.name}.lock"), wait, stale_after):
        yield


__all__ += ["download_lock"]  # appended with the function above
