"""linbook.fashion_mnist: where the data is found, the one-time download, corrupt files, the loader."""

import os
import sys

import numpy as np
import pytest
import torch
from conftest import write_fake_fashion_mnist, write_idx

from linbook import datadirs
from linbook import fashion_mnist as data
from linbook.fashion_mnist import (
    CorruptDataError,
    FashionMNISTNotFoundError,
    find_fashion_mnist,
    get_fashion_mnist_labels,
    load_data_fashion_mnist,
    read_fashion_mnist,
)

DEBIAN = datadirs.DEBIAN_DATASETS / "fashion-mnist"  # the real one (conftest hides it)
STEMS = [spec.name for spec in data.FASHION_MNIST_FILES]


# --- Fashion-MNIST search order ------------------------------------------------------------


def test_search_order_is_data_dir_then_linbook_data_then_cache_then_debian(
    data_locations, monkeypatch
):
    places = data_locations
    env_dir, cache, debian, given = places.data, places.cache, places.debian, places.root / "given"
    monkeypatch.delenv("LINBOOK_DATA")
    write_fake_fashion_mnist(debian, fill=4)
    assert find_fashion_mnist() == debian
    write_fake_fashion_mnist(cache / "fashion-mnist", fill=3)
    assert find_fashion_mnist() == cache / "fashion-mnist"
    write_fake_fashion_mnist(env_dir / "FashionMNIST" / "raw", fill=2, compress=False)
    monkeypatch.setenv("LINBOOK_DATA", str(env_dir))
    assert find_fashion_mnist() == env_dir / "FashionMNIST" / "raw"
    images, labels = read_fashion_mnist(train=True, download=False)
    assert images.dtype == torch.uint8 and images.shape == (12, 28, 28)
    assert int(images[0, 0, 0]) == 2 and labels.dtype == torch.int64
    write_fake_fashion_mnist(given, fill=1)
    assert find_fashion_mnist(given) == given
    assert int(read_fashion_mnist(data_dir=given, download=False)[0][0, 0, 0]) == 1
    assert data.fashion_mnist_search_path(given) == [given, env_dir, cache, debian]


def test_incomplete_folder_is_skipped(data_locations):
    write_fake_fashion_mnist(data_locations.cache)
    (data_locations.cache / "t10k-labels-idx1-ubyte.gz").unlink()
    write_fake_fashion_mnist(data_locations.debian)
    assert find_fashion_mnist() == data_locations.debian


def test_not_found_error_lists_every_option(data_locations):
    with pytest.raises(FashionMNISTNotFoundError) as info:
        load_data_fashion_mnist(8, download=False)
    message = str(info.value)
    for hint in (
        "dataset-fashion-mnist",
        "LINBOOK_DATA",
        "download",
        str(data_locations.debian),
        str(data_locations.cache),
        str(data_locations.data),
    ):
        assert hint in message


# --- Fashion-MNIST downloads (a local server stands in for the mirrors) --------------------


def _serve_fashion_mnist(server, prefix="/mirror/", source=DEBIAN):
    for stem in STEMS:
        server.files[prefix + stem + ".gz"] = (source / (stem + ".gz")).read_bytes()
    return server.url + prefix


needs_debian = pytest.mark.skipif(
    not DEBIAN.is_dir(), reason="needs Debian's dataset-fashion-mnist to play the mirror's files"
)


@needs_debian
def test_download_goes_to_the_cache_once_and_later_calls_read_it(
    data_locations, local_server, monkeypatch
):
    """The bug of issue 10: every call downloaded again. Now each archive is fetched once."""
    monkeypatch.delenv("LINBOOK_DATA")
    monkeypatch.setattr(data, "FASHION_MNIST_URLS", (_serve_fashion_mnist(local_server),))
    train_iter, test_iter = load_data_fashion_mnist(256, seed=0, quiet=True)
    assert len(train_iter.dataset) == 60000 and len(test_iter.dataset) == 10000
    cache = data_locations.cache / "fashion-mnist"
    assert data.fashion_mnist_source(download=False) == cache
    data._read_split.cache_clear()  # a new process: nothing in memory
    for _ in range(3):
        load_data_fashion_mnist(64, quiet=True)
        read_fashion_mnist(train=False, quiet=True)
    assert sorted(local_server.hits.values()) == [1, 1, 1, 1]
    assert sorted(p.name for p in cache.iterdir()) == sorted(s + ".gz" for s in STEMS)


@needs_debian
def test_download_tries_the_next_mirror_and_fetches_only_missing_files(
    data_locations, local_server, monkeypatch
):
    good = _serve_fashion_mnist(local_server, "/good/")
    monkeypatch.setattr(data, "FASHION_MNIST_URLS", (local_server.url + "/missing/", good))
    cache = data_locations.data / "fashion-mnist"  # LINBOOK_DATA is writable: downloads go there
    cache.mkdir(parents=True)
    kept = "t10k-labels-idx1-ubyte.gz"
    (cache / kept).write_bytes((DEBIAN / kept).read_bytes())  # one file from an earlier run
    assert data.fashion_mnist_source(quiet=True) == cache
    assert local_server.hits["/good/" + kept] == 0
    assert sum(local_server.hits[f"/good/{s}.gz"] for s in STEMS) == 3
    assert sum(local_server.hits[f"/missing/{s}.gz"] for s in STEMS) == 3  # 404s


def test_interrupted_download_leaves_nothing_to_trust(data_locations, local_server, monkeypatch):
    def cut_short(handler):  # announces 1 MB, sends a few bytes, hangs up
        handler.send_response(200)
        handler.send_header("Content-Length", str(1 << 20))
        handler.end_headers()
        handler.wfile.write(b"\x1f\x8b partial")

    for stem in STEMS:
        local_server.files[f"/m/{stem}.gz"] = cut_short
    monkeypatch.setattr(data, "FASHION_MNIST_URLS", (local_server.url + "/m/",))
    monkeypatch.setattr(datadirs.time, "sleep", lambda seconds: None)  # no waits between tries
    with pytest.raises(
        FashionMNISTNotFoundError,
        match=r"(?s)download failed.*ContentTooShortError.*closed after 10 of",
    ):
        read_fashion_mnist(quiet=True)
    assert [p for p in data_locations.root.rglob("*") if p.is_file()] == []
    assert find_fashion_mnist() is None
    assert local_server.hits["/m/train-images-idx3-ubyte.gz"] == 3  # 1 try + 2 retries


@needs_debian
def test_a_download_that_is_not_the_official_data_is_refused(
    data_locations, local_server, tmp_path, monkeypatch
):
    fake = write_fake_fashion_mnist(tmp_path / "fake")  # valid IDX files, wrong contents
    monkeypatch.setattr(
        data, "FASHION_MNIST_URLS", (_serve_fashion_mnist(local_server, source=fake),)
    )
    with pytest.raises(CorruptDataError, match="checksum mismatch"):
        read_fashion_mnist(quiet=True)
    assert [p for p in data_locations.root.rglob("*") if p.is_file()] == []


@needs_debian
def test_a_read_only_linbook_data_sends_the_download_to_the_cache(
    data_locations, local_server, tmp_path, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("LINBOOK_DATA below a regular file: nothing can be created there")
    monkeypatch.setenv("LINBOOK_DATA", str(blocker / "data"))
    monkeypatch.setattr(data, "FASHION_MNIST_URLS", (_serve_fashion_mnist(local_server),))
    assert data.fashion_mnist_source(quiet=True) == data_locations.cache / "fashion-mnist"


@needs_debian
def test_windows_like_machine_without_unix_calls(tmp_path, local_server, monkeypatch):
    """The reader's path on Windows: no os.statvfs/geteuid/..., LOCALAPPDATA for the cache."""
    for name in ("statvfs", "fstatvfs", "geteuid", "getuid", "getegid", "getgid", "chown", "uname"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    local = tmp_path / "Users" / "ada" / "AppData" / "Local"
    monkeypatch.setenv("LOCALAPPDATA", str(local))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "Users" / "ada"))
    for name in ("LINBOOK_DATA", "LINBOOK_CACHE"):
        monkeypatch.delenv(name)
    monkeypatch.setattr(data, "FASHION_MNIST_URLS", (_serve_fashion_mnist(local_server),))
    assert datadirs.cache_dir() == local / "linbook" / "Cache"
    folder = data.fashion_mnist_source(quiet=True)
    assert folder == local / "linbook" / "Cache" / "fashion-mnist"
    assert data.fashion_mnist_source(download=False) == folder
    assert sum(local_server.hits.values()) == 4


# --- corrupt files ---------------------------------------------------------------------------


def test_truncated_gzip_names_the_file(data_locations):
    folder = write_fake_fashion_mnist(data_locations.data)
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(CorruptDataError, match="train-images-idx3-ubyte.gz.*truncated or corrupt"):
        read_fashion_mnist(download=False)


def test_size_mismatch_names_the_file(data_locations):
    folder = write_fake_fashion_mnist(data_locations.data, compress=False)
    bad = folder / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte: size mismatch"):
        read_fashion_mnist(train=False, download=False)


def test_bad_magic_and_mismatched_counts(data_locations):
    folder = write_fake_fashion_mnist(data_locations.data, compress=False)
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(11, np.uint8), compress=False)
    with pytest.raises(CorruptDataError, match="12 images but .* 11 labels"):
        read_fashion_mnist(download=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(CorruptDataError, match="bad magic"):
        read_fashion_mnist(train=False, download=False)


def test_full_size_file_with_wrong_content_fails_checksum(data_locations):
    folder = data_locations.data
    write_fake_fashion_mnist(folder)
    write_idx(
        folder / "t10k-labels-idx1-ubyte", np.zeros(10000, np.uint8)
    )  # right size, wrong data
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10000, 28, 28), np.uint8))
    with pytest.raises(CorruptDataError, match="checksum mismatch"):
        read_fashion_mnist(train=False, download=False)


# --- the loader ------------------------------------------------------------------------------


def test_loader_yields_float_images_in_unit_range(data_locations):
    write_fake_fashion_mnist(data_locations.data, n_train=10, fill=255)
    train_iter, test_iter = load_data_fashion_mnist(4, download=False, seed=0)
    X, y = next(iter(train_iter))
    assert X.shape == (4, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert float(X.max()) == 1.0 and float(X.min()) == 1.0
    assert [len(b[1]) for b in test_iter] == [4, 1]
    X_big, _ = next(iter(load_data_fashion_mnist(2, resize=(32, 40), download=False)[1]))
    assert X_big.shape == (2, 1, 32, 40)


@pytest.mark.parametrize(
    "resize, error",
    [
        (0, ValueError),
        (-5, ValueError),
        ((28,), ValueError),
        ("64", TypeError),
        ((32, 0), ValueError),
        (True, TypeError),
    ],
)
def test_loader_rejects_bad_resize(resize, error):
    with pytest.raises(error, match="resize"):
        load_data_fashion_mnist(8, resize=resize, download=False)


def test_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        load_data_fashion_mnist(0)


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_debian_files():
    folder = find_fashion_mnist(DEBIAN)
    assert folder == DEBIAN
    train_iter, test_iter = load_data_fashion_mnist(256, data_dir=DEBIAN, download=False)
    assert len(train_iter.dataset) == 60000 and len(test_iter.dataset) == 10000
    counts = torch.bincount(train_iter.dataset.tensors[1], minlength=10)
    assert counts.tolist() == [6000] * 10
    X, y = next(iter(test_iter))
    assert X.shape == (256, 1, 28, 28) and 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    assert get_fashion_mnist_labels(y[:2]) == ["ankle boot", "pullover"]


def test_text_labels():
    assert get_fashion_mnist_labels(torch.tensor([0, 6, 9])) == ["t-shirt", "shirt", "ankle boot"]
    with pytest.raises(ValueError, match=r"labels must be an int >= 0 and <= 9, got 10"):
        get_fashion_mnist_labels([10])
