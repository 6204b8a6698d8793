"""linbook.data: synthetic regression data and the minibatch iterators."""

import numpy as np
import pytest
import torch
from conftest import TIMIT_N_TRAIN

from linbook.data import MemmapLoader, TensorLoader, load_array, synthetic_data


@pytest.fixture
def data(timit_data):
    """The session's small TIMIT stand-in (conftest): a memory-mapped (n, 429) matrix."""
    return timit_data


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


@pytest.mark.parametrize(
    "bad, error", [(0, ValueError), (-3, ValueError), (2.5, ValueError), (True, TypeError)]
)
def test_synthetic_data_rejects_bad_num_examples(bad, error):
    with pytest.raises(error, match="num_examples must be an int >= 1"):
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


@pytest.mark.parametrize(
    "batch_size, error",
    [(0, ValueError), (-1, ValueError), (2.0, ValueError), (True, TypeError), ("8", TypeError)],
)
def test_load_array_rejects_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="batch_size must be an int >= 1"):
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


# --- MemmapLoader ----------------------------------------------------------------------------------


def test_memmap_loader_visits_every_row_once_per_pass_reproducibly(data):
    train, _ = data.split()
    loader = MemmapLoader(data.train_x, data.train_y, train, batch_size=256, shuffle=True, seed=3)
    assert len(loader) == int(np.ceil(2400 / 256))
    first = [(X.clone(), y.clone()) for X, y in loader]
    second = [(X, y) for X, y in loader]
    X1 = torch.cat([X for X, _ in first])
    assert X1.shape == (2400, 429) and X1.dtype == torch.float32
    # every row exactly once
    assert sorted(row.tobytes() for row in X1.numpy()) == sorted(
        row.tobytes() for row in data.train_x[:2400]
    )
    assert not torch.equal(first[0][0], second[0][0])  # a new order every pass
    again = MemmapLoader(data.train_x, data.train_y, train, batch_size=256, shuffle=True, seed=3)
    X, y = next(iter(again))
    assert torch.equal(X, first[0][0]) and torch.equal(y, first[0][1])
    # labels travel with their rows
    row = X[0].numpy()
    index = np.flatnonzero((np.asarray(data.train_x) == row).all(1))
    assert data.train_y[index[0]] == y[0].item()


def test_memmap_loader_without_shuffle_keeps_order_and_copies(data):
    _, val = data.split()
    X, y = next(iter(MemmapLoader(data.train_x, data.train_y, val, batch_size=100)))
    np.testing.assert_array_equal(X.numpy(), data.train_x[val.start : val.start + 100])
    np.testing.assert_array_equal(y.numpy(), data.train_y[val.start : val.start + 100])
    X[0, 0] = 1e6  # a copy: the memory map is untouched (and read-only)
    assert data.train_x[val.start, 0] != 1e6
    only_x = next(iter(MemmapLoader(data.test_x, None, np.array([5, 1, 2]), batch_size=8)))
    np.testing.assert_array_equal(only_x.numpy(), data.test_x[[5, 1, 2]])


def test_memmap_loader_rejects_bad_arguments(data):
    with pytest.raises(ValueError, match="batch_size"):
        MemmapLoader(data.train_x, data.train_y, batch_size=0)
    with pytest.raises(ValueError, match="rows"):
        MemmapLoader(data.train_x, data.train_y[:10])
    with pytest.raises(ValueError, match="step 1"):
        MemmapLoader(data.train_x, data.train_y, slice(0, 10, 2))
    with pytest.raises(ValueError, match="indices"):
        MemmapLoader(data.train_x, data.train_y, np.array([TIMIT_N_TRAIN]))
