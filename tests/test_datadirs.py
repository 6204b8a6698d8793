"""linbook.datadirs: one rule for where data lives, and the one download function."""

import errno
import os
import threading
import time
from pathlib import Path, PureWindowsPath

import pytest

from linbook import datadirs


@pytest.mark.parametrize(
    "platform, environ, home, expected",
    [
        ("linux", {}, "/home/ada", "/home/ada/.cache/linbook"),
        ("linux", {"XDG_CACHE_HOME": "/var/cache/ada"}, "/home/ada", "/var/cache/ada/linbook"),
        ("linux", {"XDG_CACHE_HOME": "relative/dir"}, "/home/ada", "/home/ada/.cache/linbook"),
        ("darwin", {"XDG_CACHE_HOME": "/x"}, "/Users/ada", "/Users/ada/Library/Caches/linbook"),
        ("linux", {"LINBOOK_CACHE": "/scratch/c", "XDG_CACHE_HOME": "/x"}, "/h", "/scratch/c"),
        ("darwin", {"LINBOOK_CACHE": "/scratch/c"}, "/Users/ada", "/scratch/c"),
    ],
)
def test_cache_dir_follows_each_systems_convention(platform, environ, home, expected):
    assert datadirs.cache_dir(platform, environ, home) == Path(expected)


class NtPath(PureWindowsPath):
    """A Windows path on any machine: Windows' rules (ntpath), no file system access."""

    def expanduser(self):
        return self

    @classmethod
    def home(cls):
        return cls(r"C:\Users\ada")


@pytest.mark.parametrize(
    "environ, expected",
    [
        (
            {"LOCALAPPDATA": r"C:\Users\ada\AppData\Local"},
            r"C:\Users\ada\AppData\Local\linbook\Cache",
        ),
        ({}, r"C:\Users\ada\AppData\Local\linbook\Cache"),
        ({"LINBOOK_CACHE": r"D:\cache"}, r"D:\cache"),
    ],
)
def test_cache_dir_on_windows_under_windows_path_rules(environ, expected, monkeypatch):
    """Windows' folders, built with Windows' path rules (ntpath) on any machine."""
    monkeypatch.setattr(datadirs, "Path", NtPath)
    assert datadirs.cache_dir("win32", environ, r"C:\Users\ada") == PureWindowsPath(expected)


def test_data_locations_and_downloads_under_windows_path_rules(monkeypatch, local_server):
    """search_roots, download_root, describe_location and portable with ntpath's rules (a
    backslash separator, drive letters, case-insensitive names): the code joins parts and
    compares Path objects, never strings with '/'. The download itself needs a real folder,
    so it runs with this machine's paths; its URL handling is the same on every system."""
    monkeypatch.setattr(datadirs, "Path", NtPath)
    monkeypatch.setattr(datadirs, "is_writable_dir", lambda folder: True)
    monkeypatch.setenv("LINBOOK_DATA", r"D:\course\data")
    monkeypatch.setenv("LINBOOK_CACHE", r"C:\Users\ada\AppData\Local\linbook\Cache")
    data, cache = (
        PureWindowsPath(r"D:\course\data"),
        PureWindowsPath(r"C:\Users\ada\AppData\Local\linbook\Cache"),
    )
    assert datadirs.search_roots(r"E:\mine") == [PureWindowsPath(r"E:\mine"), data, cache]
    assert datadirs.download_root() == data
    assert datadirs.download_root(r"E:\mine") == PureWindowsPath(r"E:\mine")
    assert (
        datadirs.describe_location(cache / "ml2021spring-hw1")
        == "linbook's cache folder (ml2021spring-hw1/)"
    )
    assert datadirs.describe_location(data / "fashion-mnist") == (
        "the folder named by LINBOOK_DATA (fashion-mnist/)"
    )
    assert datadirs.portable(str(cache / "fashion-mnist")) == "<cache>\\fashion-mnist"
    assert datadirs.portable(r"C:\Users\ada\notes") == "~\\notes"


def test_search_roots_and_download_root(data_locations, monkeypatch):
    cache, mine = data_locations.cache, data_locations.data
    assert datadirs.search_roots() == [mine, cache]
    assert datadirs.download_root() == mine  # writable (created on first use)
    monkeypatch.delenv("LINBOOK_DATA")
    assert datadirs.search_roots() == [cache]
    assert datadirs.download_root() == cache
    given = data_locations.root / "given"
    monkeypatch.setenv("LINBOOK_DATA", str(mine))
    assert datadirs.search_roots(given) == [given, mine, cache]
    assert datadirs.download_root(given) == given
    monkeypatch.setenv("LINBOOK_DATA", str(cache))
    assert datadirs.search_roots() == [cache]  # no duplicates
    blocker = data_locations.root / "plain-file"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("x")
    monkeypatch.setenv("LINBOOK_DATA", str(blocker / "data"))
    assert datadirs.download_root() == cache  # LINBOOK_DATA cannot be written: the cache


def test_is_writable_dir_probes_instead_of_reading_permission_bits(tmp_path):
    assert datadirs.is_writable_dir(tmp_path)
    assert datadirs.is_writable_dir(tmp_path / "not" / "yet")  # nearest existing parent
    (tmp_path / "f").write_text("x")
    assert not datadirs.is_writable_dir(tmp_path / "f")
    assert not datadirs.is_writable_dir(tmp_path / "f" / "below")
    assert list(tmp_path.iterdir()) == [tmp_path / "f"]  # the probe file is gone


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits on folders")
def test_a_folder_nobody_may_write_is_never_written(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)  # read-only on purpose: refused even for root, who could write
    try:
        assert not datadirs.is_writable_dir(shared)
        assert not datadirs.is_writable_dir(shared / "sub")
        assert list(shared.iterdir()) == []
    finally:
        shared.chmod(0o755)


def test_describe_location_names_the_place_not_the_path(data_locations):
    assert (
        datadirs.describe_location(data_locations.data / "ml2021spring-hw1")
        == "the folder named by LINBOOK_DATA (ml2021spring-hw1/)"
    )
    assert datadirs.describe_location(datadirs.cache_dir() / "x") == "linbook's cache folder (x/)"
    elsewhere = Path("somewhere", "else", "hw").absolute()
    assert datadirs.describe_location(elsewhere) == "a folder given as data_dir (hw/)"
    assert str(data_locations.root) not in datadirs.describe_location(data_locations.data / "hw")


def test_download_file_is_atomic_and_fetches_once(tmp_path, local_server):
    local_server.files["/f.txt"] = b"hello"
    dest = tmp_path / "out" / "f.txt"
    assert datadirs.download_file([local_server.url + "/f.txt"], dest, quiet=True) == dest
    assert dest.read_bytes() == b"hello"
    datadirs.download_file([local_server.url + "/f.txt"], dest, quiet=True)
    assert local_server.hits["/f.txt"] == 1
    assert sorted(p.name for p in dest.parent.iterdir()) == ["f.txt"]  # no .part, no .lock


def test_download_file_rejected_by_verify_is_deleted(tmp_path, local_server):
    local_server.files["/f"] = b"wrong"

    def verify(path):
        if path.read_bytes() != b"right":
            raise ValueError("checksum mismatch")

    with pytest.raises(ValueError, match="checksum mismatch"):
        datadirs.download_file([local_server.url + "/f"], tmp_path / "f", verify, quiet=True)
    assert list(tmp_path.iterdir()) == []
    local_server.files["/g"] = b"right"
    urls = [local_server.url + "/f", local_server.url + "/g"]  # a bad mirror, then a good one
    assert datadirs.download_file(urls, tmp_path / "f", verify, quiet=True).read_bytes() == b"right"


def test_download_file_reports_every_failed_url(tmp_path, local_server, monkeypatch):
    monkeypatch.setattr(datadirs.time, "sleep", lambda seconds: None)
    urls = [local_server.url + "/missing", "http://127.0.0.1:9/refused"]
    with pytest.raises(datadirs.DownloadError) as info:
        datadirs.download_file(urls, tmp_path / "x", quiet=True, retries=1)
    message = str(info.value)
    assert "HTTP 404" in message and "127.0.0.1:9/refused" in message
    assert local_server.hits["/missing"] == 1  # an HTTP error is not retried
    assert message.count("127.0.0.1:9/refused") == 2  # a refused connection is, once
    with pytest.raises(TypeError, match="urls must be a list or tuple, got str"):
        datadirs.download_file("http://x", tmp_path / "x")
    with pytest.raises(ValueError, match="urls must be a non-empty list of URLs, got"):
        datadirs.download_file([], tmp_path / "x")


def test_two_downloads_of_one_file_at_once_fetch_it_once(tmp_path, local_server):
    def slow(handler):
        time.sleep(0.5)
        handler.send_response(200)
        handler.send_header("Content-Length", "4")
        handler.end_headers()
        handler.wfile.write(b"data")

    local_server.files["/slow"] = slow
    dest = tmp_path / "slow"
    results = []

    def fetch():
        results.append(datadirs.download_file([local_server.url + "/slow"], dest, quiet=True))

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [dest] * 3 and dest.read_bytes() == b"data"
    assert local_server.hits["/slow"] == 1


def test_a_stale_lock_left_by_a_dead_process_is_removed(tmp_path, local_server):
    local_server.files["/f"] = b"ok"
    lock = tmp_path / ".f.lock"
    lock.write_text("")
    old = time.time() - 3 * 60 * 60
    os.utime(lock, (old, old))
    assert datadirs.download_file([local_server.url + "/f"], tmp_path / "f", quiet=True).is_file()
    assert not lock.exists()


def test_a_local_write_error_is_raised_at_once_not_retried_nor_blamed_on_the_url(
    tmp_path, local_server, monkeypatch
):
    """A full disk is this machine's problem: one try, the OSError itself, no URL named."""
    local_server.files["/f"] = b"data"
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, handle, mode):
            self.file = real_fdopen(handle, mode)

        def write(self, chunk):
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(datadirs.os, "fdopen", FullDisk)
    with pytest.raises(OSError, match="No space left on device") as info:
        datadirs.download_file([local_server.url + "/f"], tmp_path / "f", quiet=True)
    assert not isinstance(info.value, datadirs.DownloadError)
    assert local_server.hits["/f"] == 1 and list(tmp_path.iterdir()) == []
