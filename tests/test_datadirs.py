"""linbook.datadirs: one rule for where data lives, and the one download function."""

import os
import threading
import time

import pytest

from linbook import datadirs


@pytest.mark.parametrize(
    "platform, environ, home, expected",
    [
        ("linux", {}, "/home/ada", "/home/ada/.cache/linbook"),
        ("linux", {"XDG_CACHE_HOME": "/var/cache/ada"}, "/home/ada", "/var/cache/ada/linbook"),
        ("linux", {"XDG_CACHE_HOME": "relative/dir"}, "/home/ada", "/home/ada/.cache/linbook"),
        ("darwin", {"XDG_CACHE_HOME": "/x"}, "/Users/ada", "/Users/ada/Library/Caches/linbook"),
        (
            "win32",
            {"LOCALAPPDATA": r"C:\Users\ada\AppData\Local"},
            r"C:\Users\ada",
            r"C:\Users\ada\AppData\Local/linbook/Cache",
        ),
        ("win32", {}, r"C:\Users\ada", r"C:\Users\ada/AppData/Local/linbook/Cache"),
    ],
)
def test_cache_dir_follows_each_systems_convention(platform, environ, home, expected):
    # On Windows itself the separators are all backslashes; here only the parts matter.
    assert str(datadirs.cache_dir(platform, environ, home)) == expected


def test_search_roots_and_download_root(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("LINBOOK_DATA", raising=False)
    cache = tmp_path / "cache" / "linbook"
    assert datadirs.search_roots() == [cache]
    assert datadirs.download_root() == cache
    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "mine"))
    assert datadirs.search_roots(tmp_path / "given") == [
        tmp_path / "given",
        tmp_path / "mine",
        cache,
    ]
    assert datadirs.download_root() == tmp_path / "mine"  # writable (created on first use)
    assert datadirs.download_root(tmp_path / "given") == tmp_path / "given"
    monkeypatch.setenv("LINBOOK_DATA", str(cache))
    assert datadirs.search_roots() == [cache]  # no duplicates
    (tmp_path / "plain-file").write_text("x")
    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "plain-file" / "data"))
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


def test_describe_location_names_the_place_not_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("LINBOOK_DATA", str(tmp_path / "data"))
    assert (
        datadirs.describe_location(tmp_path / "data" / "ml2021spring-hw1")
        == "the folder named by LINBOOK_DATA (ml2021spring-hw1/)"
    )
    assert datadirs.describe_location(datadirs.cache_dir() / "x") == "linbook's cache folder (x/)"
    assert datadirs.describe_location("/somewhere/else/hw") == "a folder given as data_dir (hw/)"
    assert str(tmp_path) not in datadirs.describe_location(tmp_path / "data" / "hw")


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
    with pytest.raises(ValueError, match="urls"):
        datadirs.download_file("http://x", tmp_path / "x")


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
