"""The shared fixtures do what the other tests rely on: no test touches a real data folder."""

import os

from linbook import datadirs, fashion_mnist, kaggle, kaggle_clients


def test_every_data_location_is_a_fresh_temporary_folder(data_locations, tmp_path):
    assert datadirs.cache_dir() == data_locations.cache
    assert datadirs.search_roots() == [data_locations.data, data_locations.cache]
    assert fashion_mnist.fashion_mnist_search_path()[-1] == data_locations.debian
    assert data_locations.root.parent == tmp_path and not data_locations.root.exists()
    for name in ("LINBOOK_SEED_OFFSET", "LINBOOK_BUILD", "LINBOOK_CLAIMS_LOG"):
        assert name not in os.environ


def test_fake_gdown_writes_the_given_bytes_under_the_drive_files_name(fake_gdown, tmp_path):
    drive = kaggle.COMPETITIONS["ml2021spring-hw1"].drive[0]
    fetched = fake_gdown({drive.name: b"id,AL\n"})
    kaggle_clients._gdown_download(drive.file_id, tmp_path / drive.name, True)
    assert (tmp_path / drive.name).read_bytes() == b"id,AL\n" and fetched == [drive.name]


def test_the_timit_standin_is_shared_and_small(timit_standin_dir, timit_data):
    from conftest import TIMIT_N_TEST, TIMIT_N_TRAIN

    assert timit_data.train_x.shape[0] == TIMIT_N_TRAIN
    assert timit_data.test_x.shape[0] == TIMIT_N_TEST
    assert timit_standin_dir.is_dir()
