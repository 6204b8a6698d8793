import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_fake_fashion_mnist, write_idx

from linbook import data
from linbook.data import (
    CorruptDataError,
    FashionMNISTNotFoundError,
    TensorLoader,
    find_fashion_mnist,
    get_fashion_mnist_labels,
    load_array,
    load_data_fashion_mnist,
    read_fashion_mnist,
    synthetic_data,
)

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


# --- synthetic data and minibatches -------------------------------------------------------


def test_synthetic_data_follows_the_linear_model():
    torch.manual_seed(0)
    w, b = torch.tensor([2.0, -3.4]), 4.2
    X, y = synthetic_data(w, b, 5000)
    assert X.shape == (5000, 2) and y.shape == (5000, 1)
    residual = y - (X @ w + b).reshape(-1, 1)
    assert abs(residual.std().item() - 0.01) < 0.002
    X0, y0 = synthetic_data(w, b, 3, noise_std=0.0)
    assert torch.allclose(y0, (X0 @ w + b).reshape(-1, 1))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_synthetic_data_rejects_bad_num_examples(bad):
    with pytest.raises(ValueError, match="num_examples"):
        synthetic_data(torch.tensor([1.0]), 0.0, bad)


def test_synthetic_data_rejects_matrix_weights():
    with pytest.raises(ValueError, match="1-D"):
        synthetic_data(torch.ones(2, 2), 0.0, 3)


def test_load_array_batches_and_shuffles():
    X, y = torch.arange(20.0).reshape(10, 2), torch.arange(10.0)
    ordered = list(load_array((X, y), 4, is_train=False))
    assert [len(b[1]) for b in ordered] == [4, 4, 2]
    assert torch.equal(torch.cat([b[1] for b in ordered]), y)
    torch.manual_seed(1)
    shuffled = torch.cat([b[1] for b in load_array((X, y), 4)])
    assert sorted(shuffled.tolist()) == y.tolist() and not torch.equal(shuffled, y)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.0, TypeError)])
def test_load_array_rejects_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="batch_size"):
        load_array((torch.ones(3, 1), torch.ones(3)), batch_size)


def test_load_array_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        load_array((torch.ones(3, 1), torch.ones(4)), 2)


def test_tensor_loader_covers_every_example_once_per_epoch():
    X, y = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    loader = TensorLoader((X, y), 3, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert len(loader) == 4 and len(loader.dataset) == 10
    epoch1 = torch.cat([b[1] for b in loader])
    epoch2 = torch.cat([b[1] for b in loader])
    assert sorted(epoch1.tolist()) == list(range(10))
    assert not torch.equal(epoch1, epoch2)  # reshuffled every pass
    again = TensorLoader((X, y), 3, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([b[1] for b in again]), epoch1)  # seeded: reproducible


# --- Fashion-MNIST search order ------------------------------------------------------------


def test_search_order_prefers_linbook_data_then_repo_then_debian(isolated_search, monkeypatch):
    tmp = isolated_search
    env_dir, repo_data, debian = tmp / "env", tmp / "repo" / "data", tmp / "debian"
    write_fake_fashion_mnist(debian, fill=3)
    assert find_fashion_mnist() == debian
    write_fake_fashion_mnist(repo_data / "FashionMNIST" / "raw", fill=2, compress=False)
    assert find_fashion_mnist() == repo_data / "FashionMNIST" / "raw"
    write_fake_fashion_mnist(env_dir / "fashion-mnist", fill=1)
    monkeypatch.setenv("LINBOOK_DATA", str(env_dir))
    assert find_fashion_mnist() == env_dir / "fashion-mnist"
    images, labels = read_fashion_mnist(train=True, download=False)
    assert images.dtype == torch.uint8 and images.shape == (12, 28, 28)
    assert int(images[0, 0, 0]) == 1 and labels.dtype == torch.int64


def test_incomplete_folder_is_skipped(isolated_search):
    tmp = isolated_search
    write_fake_fashion_mnist(tmp / "repo" / "data")
    (tmp / "repo" / "data" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_fake_fashion_mnist(tmp / "debian")
    assert find_fashion_mnist() == tmp / "debian"


def test_not_found_error_lists_every_option(isolated_search):
    with pytest.raises(FashionMNISTNotFoundError) as info:
        load_data_fashion_mnist(8, download=False)
    message = str(info.value)
    for hint in (
        "dataset-fashion-mnist",
        "LINBOOK_DATA",
        "download",
        str(isolated_search / "debian"),
    ):
        assert hint in message


def test_failed_download_leaves_nothing_behind(isolated_search, monkeypatch):
    """The download goes to a temp folder; an interrupted one leaves no file to trust."""
    target = isolated_search / "cache"
    monkeypatch.setattr(data, "default_download_dir", lambda: target)

    class InterruptedDownload:
        def __init__(self, root, train, download):
            raw = Path(root) / "FashionMNIST" / "raw"
            raw.mkdir(parents=True)
            (raw / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b partial")
            raise ConnectionError("network is unreachable")

    fake_tv = types.SimpleNamespace(
        datasets=types.SimpleNamespace(FashionMNIST=InterruptedDownload)
    )
    monkeypatch.setitem(sys.modules, "torchvision", fake_tv)
    with pytest.raises(FashionMNISTNotFoundError, match="download failed: ConnectionError"):
        read_fashion_mnist()
    assert list(target.rglob("*")) == []
    assert find_fashion_mnist() is None


def test_successful_download_is_moved_into_place(isolated_search, monkeypatch):
    if not DEBIAN.is_dir():
        pytest.skip("needs Debian's dataset-fashion-mnist to play the downloaded files")
    target = isolated_search / "cache"
    monkeypatch.setattr(data, "default_download_dir", lambda: target)

    class LocalDownload:  # stands in for torchvision's downloader
        def __init__(self, root, train, download):
            raw = Path(root) / "FashionMNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            for f in DEBIAN.iterdir():
                (raw / f.name).write_bytes(f.read_bytes())

    fake_tv = types.SimpleNamespace(datasets=types.SimpleNamespace(FashionMNIST=LocalDownload))
    monkeypatch.setitem(sys.modules, "torchvision", fake_tv)
    # Debian re-compressed the archives, so their md5 differs from the official archives:
    # pretend these are the official ones to exercise the move-into-place path.
    monkeypatch.setattr(
        data,
        "_FASHION_FILES",
        {
            stem: (data._md5(DEBIAN / (stem + ".gz")), sha, n)
            for stem, (_, sha, n) in data._FASHION_FILES.items()
        },
    )
    folder = data.fashion_mnist_source()
    assert folder == target / "FashionMNIST" / "raw"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        s + ".gz" for s in data._FASHION_FILES
    )
    assert [p.name for p in target.iterdir()] == ["FashionMNIST"]  # temp folder removed


# --- corrupt files ---------------------------------------------------------------------------


def test_truncated_gzip_names_the_file(isolated_search, monkeypatch):
    folder = write_fake_fashion_mnist(isolated_search / "env")
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-20])
    monkeypatch.setenv("LINBOOK_DATA", str(folder))
    with pytest.raises(CorruptDataError, match="train-images-idx3-ubyte.gz.*truncated or corrupt"):
        read_fashion_mnist(download=False)


def test_size_mismatch_names_the_file(isolated_search, monkeypatch):
    folder = write_fake_fashion_mnist(isolated_search / "env", compress=False)
    bad = folder / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    monkeypatch.setenv("LINBOOK_DATA", str(folder))
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte: size mismatch"):
        read_fashion_mnist(train=False, download=False)


def test_bad_magic_and_mismatched_counts(isolated_search, monkeypatch):
    folder = write_fake_fashion_mnist(isolated_search / "env", compress=False)
    monkeypatch.setenv("LINBOOK_DATA", str(folder))
    write_idx(folder / "train-labels-idx1-ubyte", np.zeros(11, np.uint8), compress=False)
    with pytest.raises(CorruptDataError, match="12 images but .* 11 labels"):
        read_fashion_mnist(download=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"not an idx file")
    with pytest.raises(CorruptDataError, match="bad magic"):
        read_fashion_mnist(train=False, download=False)


def test_full_size_file_with_wrong_content_fails_checksum(isolated_search, monkeypatch):
    folder = isolated_search / "env"
    write_fake_fashion_mnist(folder)
    write_idx(
        folder / "t10k-labels-idx1-ubyte", np.zeros(10000, np.uint8)
    )  # right size, wrong data
    write_idx(folder / "t10k-images-idx3-ubyte", np.zeros((10000, 28, 28), np.uint8))
    monkeypatch.setenv("LINBOOK_DATA", str(folder))
    with pytest.raises(CorruptDataError, match="checksum mismatch"):
        read_fashion_mnist(train=False, download=False)


# --- the loader ------------------------------------------------------------------------------


def test_loader_yields_float_images_in_unit_range(isolated_search, monkeypatch):
    folder = write_fake_fashion_mnist(isolated_search / "env", n_train=10, fill=255)
    monkeypatch.setenv("LINBOOK_DATA", str(folder))
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
        ((28,), TypeError),
        ("64", TypeError),
        ((32, 0), ValueError),
        (True, TypeError),
    ],
)
def test_loader_rejects_bad_resize(resize, error):
    with pytest.raises(error, match="resize"):
        load_data_fashion_mnist(8, resize=resize, download=False)


def test_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size must be > 0"):
        load_data_fashion_mnist(0)


@pytest.mark.skipif(not DEBIAN.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_real_debian_files(monkeypatch):
    monkeypatch.delenv("LINBOOK_DATA", raising=False)
    folder = find_fashion_mnist(DEBIAN)
    assert folder == DEBIAN
    train_iter, test_iter = load_data_fashion_mnist(256, root=DEBIAN, download=False)
    assert len(train_iter.dataset) == 60000 and len(test_iter.dataset) == 10000
    counts = torch.bincount(train_iter.dataset.tensors[1], minlength=10)
    assert counts.tolist() == [6000] * 10
    X, y = next(iter(test_iter))
    assert X.shape == (256, 1, 28, 28) and 0.0 <= float(X.min()) and float(X.max()) <= 1.0
    assert get_fashion_mnist_labels(y[:2]) == ["ankle boot", "pullover"]


def test_text_labels():
    assert get_fashion_mnist_labels(torch.tensor([0, 6, 9])) == ["t-shirt", "shirt", "ankle boot"]
    with pytest.raises(ValueError, match="0..9"):
        get_fashion_mnist_labels([10])
