"""Tests of linbook.kaggle: the local-files path on the real COVID-19 files, and every
failure path with the real exception types of the clients, raised at the network boundary."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import subprocess
import sys
import types
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import requests

from linbook import datadirs
from linbook import kaggle as K
from linbook import kaggle_clients as C

# The fake competition files of these tests are not the real ones: ignore that warning
# (the tests about it catch it with pytest.warns).
pytestmark = pytest.mark.filterwarnings("ignore:.*differs from the copy this book was built with")

REPO = Path(__file__).resolve().parent.parent
HW1, HW2 = "ml2021spring-hw1", "ml2021spring-hw2"
SECRET = "SECRET-KEY-0123456789abcdef"  # a fake API key that must never be printed
DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there: connections are refused at once
REAL_KAGGLE_DOWNLOAD = C._kaggle_download  # the fixture below replaces them
REAL_GDOWN_DOWNLOAD = C._gdown_download


def shared_data_root() -> Path | None:
    """The folder holding the real ml2021spring-hw1/ files: $LINBOOK_DATA or ../shared/data."""
    candidates = [Path(os.environ["LINBOOK_DATA"])] if os.environ.get("LINBOOK_DATA") else []
    candidates.append(REPO.parent / "shared" / "data")
    for root in candidates:
        if (root / HW1 / "covid.train.csv").is_file():
            return root
    return None


REAL_ROOT = shared_data_root()
needs_real_data = pytest.mark.skipif(
    REAL_ROOT is None,
    reason="the real ml2021spring-hw1 CSVs are not available: set LINBOOK_DATA to a folder "
    "holding ml2021spring-hw1/ (CI: ../shared/data)",
)


# ---------------------------------------------------------------------------
# Fixtures: an isolated home, fake competition files
# ---------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch):
    """No credentials, no LINBOOK_DATA, an empty home and working folder; linbook's cache is
    conftest's temporary LINBOOK_CACHE."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))  # Path.home() on Windows
    monkeypatch.chdir(home)  # a kaggle.json in the working folder is looked at, too
    for name in (
        "LINBOOK_DATA",
        "KAGGLE_ENABLE_OAUTH",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "KAGGLE_API_TOKEN",
        "KAGGLE_CONFIG_DIR",
        "XDG_CONFIG_HOME",
    ):
        monkeypatch.delenv(name, raising=False)

    def no_download(*args, **kwargs):
        raise AssertionError("no download expected in this test")

    monkeypatch.setattr(C, "_kaggle_download", no_download)
    monkeypatch.setattr(C, "_gdown_download", no_download)
    return home


@pytest.fixture
def creds(monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "reader")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)


def fake_csv(name: str, spec: K.FileSpec) -> bytes:
    header = list(spec.header_start)
    while len(header) < spec.columns - (spec.header_end is not None):
        header.append(f"c{len(header)}")
    if spec.header_end is not None:
        header.append(spec.header_end)
    lines = [",".join(header)]
    lines += [",".join([str(i)] + ["0.5"] * (spec.columns - 1)) for i in range(spec.rows)]
    return ("\n".join(lines) + "\n").encode()


def hw1_bytes() -> dict[str, bytes]:
    return {fs.name: fake_csv(fs.name, fs) for fs in K.COMPETITIONS[HW1].files}


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.fixture
def small_hw2(monkeypatch):
    """hw2 with the official layout but 50 training and 20 test frames."""
    spec = K.COMPETITIONS[HW2]
    rows = {"train_11.npy": 50, "train_label_11.npy": 50, "test_11.npy": 20}
    files = tuple(dataclasses.replace(fs, rows=rows[fs.name]) for fs in spec.files)
    monkeypatch.setitem(K.COMPETITIONS, HW2, dataclasses.replace(spec, files=files))
    rng = np.random.default_rng(0)
    return {
        "timit_11/train_11.npy": npy_bytes(rng.normal(size=(50, 429)).astype(np.float32)),
        "timit_11/train_label_11.npy": npy_bytes(rng.integers(0, 39, 50).astype(str)),
        "timit_11/test_11.npy": npy_bytes(rng.normal(size=(20, 429)).astype(np.float32)),
    }


def leftovers(root: Path) -> list[str]:
    """Hidden temporary folders a download left behind."""
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


def assert_secret_hidden(err: BaseException | None, capsys) -> None:
    out, errout = capsys.readouterr()
    assert SECRET not in out and SECRET not in errout
    if err is not None:
        assert SECRET not in str(err) and SECRET not in repr(err.args)


# ---------------------------------------------------------------------------
# Files already present (the real data)
# ---------------------------------------------------------------------------


@needs_real_data
def test_real_hw1_found_in_linbook_data(home, monkeypatch):
    monkeypatch.setenv("LINBOOK_DATA", str(REAL_ROOT))
    folder = K.fetch_competition(HW1)  # the fixture makes any download fail
    assert folder == REAL_ROOT / HW1
    assert K.check_files(HW1, folder) == {
        "covid.train.csv": (2700, 95),
        "covid.test.csv": (893, 94),
        "sampleSubmission.csv": (893, 2),
    }
    assert K.fetch_competition(HW1, download=False) == folder


@needs_real_data
def test_real_hw1_found_in_data_dir(home):
    assert K.fetch_competition(HW1, data_dir=REAL_ROOT, download=False) == REAL_ROOT / HW1


@needs_real_data
def test_real_hw1_neither_imports_clients_nor_prints(tmp_path):
    code = (
        "import sys, linbook\n"
        "from linbook import kaggle as K\n"
        "folder = K.fetch_competition('ml2021spring-hw1')\n"
        "assert folder.name == 'ml2021spring-hw1', folder\n"
        "bad = [m for m in ('kaggle', 'gdown', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "LINBOOK_DATA": str(REAL_ROOT), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_import_without_credentials_is_silent(tmp_path):
    code = "import linbook\nfrom linbook import kaggle\nimport sys\nassert 'kaggle' not in sys.modules\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAGGLE_")}
    env["HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_files_in_an_inner_folder_are_found(home, small_hw2, tmp_path):
    root = tmp_path / "data"
    for name, data in small_hw2.items():
        (root / HW2 / name).parent.mkdir(parents=True, exist_ok=True)
        (root / HW2 / name).write_bytes(data)
    assert K.fetch_competition(HW2, data_dir=root) == root / HW2 / "timit_11"


def test_npy_check_memory_maps(home, small_hw2, tmp_path, monkeypatch):
    folder = tmp_path / "timit"
    folder.mkdir()
    for name, data in small_hw2.items():
        (folder / Path(name).name).write_bytes(data)
    calls = []
    real_load = np.load

    def recording_load(*args, **kwargs):
        calls.append(kwargs.get("mmap_mode"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", recording_load)
    shapes = K.check_files(HW2, folder)
    assert shapes == {
        "train_11.npy": (50, 429),
        "train_label_11.npy": (50,),
        "test_11.npy": (20, 429),
    }
    assert calls == ["r", "r", "r"]


def test_truncated_local_files_are_named(home, small_hw2, tmp_path):
    root = tmp_path / "data"
    (root / HW1).mkdir(parents=True)
    for name, data in hw1_bytes().items():
        (root / HW1 / name).write_bytes(data)
    train = root / HW1 / "covid.train.csv"
    train.write_bytes(train.read_bytes()[:-40])  # cut the last line in half
    with pytest.raises(K.UnexpectedFilesError, match="covid.train.csv.*truncated"):
        K.fetch_competition(HW1, data_dir=root)

    (root / HW2).mkdir()
    for name, data in small_hw2.items():
        (root / HW2 / Path(name).name).write_bytes(data)
    npy = root / HW2 / "test_11.npy"
    npy.write_bytes(npy.read_bytes()[:-1000])
    with pytest.raises(K.UnexpectedFilesError, match="test_11.npy.*truncated"):
        K.fetch_competition(HW2, data_dir=root)


def test_not_found_without_download(home, tmp_path):
    with pytest.raises(K.CompetitionDataNotFoundError) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", download=False)
    message = str(info.value)
    assert str(tmp_path / "data" / HW1) in message and "download=True" in message
    assert "19CCyCgJrUxtvgZF53vnctJiOJ23T5mqF" in message  # the manual alternative


def test_bad_arguments(home):
    with pytest.raises(ValueError, match="ml2021spring-hw1"):
        K.fetch_competition("ml2021spring-hw9")
    with pytest.raises(TypeError):
        K.fetch_competition(1)
    with pytest.raises(ValueError, match="sources"):
        K.fetch_competition(HW1, sources=("ftp",))


# ---------------------------------------------------------------------------
# Successful downloads (the clients are replaced at the network boundary)
# ---------------------------------------------------------------------------


def test_kaggle_download_unzips_checks_and_places(home, creds, tmp_path, monkeypatch, capsys):
    def kaggle_download(competition, dest, quiet):
        write_zip(dest / f"{competition}.zip", hw1_bytes())

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    root = tmp_path / "data"
    folder = K.fetch_competition(HW1, data_dir=root)
    assert folder == root / HW1
    assert sorted(p.name for p in folder.iterdir() if p.name[0] != ".") == [
        "covid.test.csv",
        "covid.train.csv",
        "sampleSubmission.csv",
    ]
    assert leftovers(root) == []
    assert_secret_hidden(None, capsys)
    # a second call finds the files and downloads nothing
    monkeypatch.setattr(C, "_kaggle_download", None)
    assert K.fetch_competition(HW1, data_dir=root) == folder


def test_gdown_download_without_account(home, tmp_path, monkeypatch, capsys):
    by_id = {d.file_id: d.name for d in K.COMPETITIONS[HW1].drive}
    files = hw1_bytes()

    def gdown_download(file_id, output, quiet):
        assert output.name == by_id[file_id]
        output.write_bytes(files[by_id[file_id]])

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    folder = K.fetch_competition(HW1, data_dir=tmp_path / "data")
    assert sorted(p.name for p in folder.iterdir() if p.name[0] != ".") == [
        "covid.test.csv",
        "covid.train.csv",
    ]
    out = capsys.readouterr().out
    assert "kaggle did not work: NoCredentialsError; used gdown" in out
    assert K.data_source(folder).startswith("downloaded from the course's Google Drive copy")
    assert str(tmp_path) not in K.data_source(folder)


def test_gdown_hw2_zip_with_inner_folder(home, small_hw2, tmp_path, monkeypatch):
    def gdown_download(file_id, output, quiet):
        assert file_id == "1HPkcmQmFGu-3OknddKIa5dNDsR05lIQR" and output.name == "data.zip"
        write_zip(output, small_hw2)

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    root = tmp_path / "data"
    folder = K.fetch_competition(HW2, data_dir=root, quiet=True)
    assert folder == root / HW2
    assert sorted(p.name for p in folder.iterdir() if p.name[0] != ".") == [
        "test_11.npy",
        "train_11.npy",
        "train_label_11.npy",
    ]
    assert leftovers(root) == []


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits on folders")
def test_download_goes_to_the_cache_when_linbook_data_is_read_only(home, tmp_path, monkeypatch):
    """As in CI: LINBOOK_DATA is a shared, read-only folder (root could still write to it)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o555)
    files = hw1_bytes()
    by_id = {d.file_id: d.name for d in K.COMPETITIONS[HW1].drive}
    monkeypatch.setattr(
        C, "_gdown_download", lambda i, output, q: output.write_bytes(files[by_id[i]])
    )
    try:
        monkeypatch.setenv("LINBOOK_DATA", str(shared))
        with pytest.warns(UserWarning, match="differs from the copy this book was built with"):
            folder = K.fetch_competition(HW1, quiet=True)
        assert folder == datadirs.cache_dir() / HW1
        assert list(shared.iterdir()) == []
        assert K.data_source(folder) == (
            "downloaded from the course's Google Drive copy (gdown) into "
            f"linbook's cache folder ({HW1}/)"
        )
    finally:
        shared.chmod(0o755)


@needs_real_data
def test_a_download_of_the_real_files_raises_no_warning(home, tmp_path, monkeypatch):
    real = {fs.name: (REAL_ROOT / HW1 / fs.name).read_bytes() for fs in K.COMPETITIONS[HW1].files}
    by_id = {d.file_id: d.name for d in K.COMPETITIONS[HW1].drive}
    monkeypatch.setattr(
        C, "_gdown_download", lambda i, output, q: output.write_bytes(real[by_id[i]])
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folder = K.fetch_competition(HW1, data_dir=tmp_path / "d", quiet=True)
    assert K.check_files(HW1, folder)["covid.train.csv"] == (2700, 95)


# ---------------------------------------------------------------------------
# One clear error per failure
# ---------------------------------------------------------------------------


def http_error(status: int) -> requests.exceptions.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.url = "https://api.kaggle.com/v1/competitions.CompetitionApiService/DownloadDataFiles"
    response.reason = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Error")
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError as err:
        return err
    raise AssertionError("raise_for_status did not raise")


def refused_connection() -> requests.exceptions.ConnectionError:
    try:
        requests.get("http://127.0.0.1:9/", timeout=5)
    except requests.exceptions.ConnectionError as err:
        return err
    raise AssertionError("something listens on 127.0.0.1:9")


def test_no_credentials_gives_the_steps(home, tmp_path, capsys):
    with pytest.raises(K.NoCredentialsError) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    message = str(info.value)
    for step in (
        "kaggle.json",
        "chmod 600",
        "KAGGLE_CONFIG_DIR",
        "KAGGLE_USERNAME",
        "KAGGLE_KEY",
        "https://www.kaggle.com/settings",
        "Colab",
        "https://www.kaggle.com/c/ml2021spring-hw1/rules",
        "gdown",
    ):
        assert step in message, step
    assert leftovers(tmp_path / "data") == []


def test_http_403_means_accept_the_rules(home, creds, tmp_path, monkeypatch, capsys):
    def kaggle_download(competition, dest, quiet):
        (dest / "partial.zip").write_bytes(b"PK\x03\x04 partial")
        raise http_error(403)

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    root = tmp_path / "data"
    with pytest.raises(K.RulesNotAcceptedError) as info:
        K.fetch_competition(HW1, data_dir=root, sources=("kaggle",))
    assert "https://www.kaggle.com/c/ml2021spring-hw1/rules" in str(info.value)
    assert "environment variables KAGGLE_USERNAME and KAGGLE_KEY" in str(info.value)
    assert leftovers(root) == [] and not (root / HW1).exists()
    assert_secret_hidden(info.value, capsys)


def test_http_403_then_gdown_offline_reports_both(home, creds, tmp_path, monkeypatch, capsys):
    def kaggle_download(competition, dest, quiet):
        raise http_error(403)

    def gdown_download(file_id, output, quiet):
        raise refused_connection()

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    with pytest.raises(K.RulesNotAcceptedError) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data")
    assert "gdown: NoNetworkError" in str(info.value)
    assert_secret_hidden(info.value, capsys)


def test_http_401_means_bad_token(home, creds, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        C, "_kaggle_download", lambda c, d, q: (_ for _ in ()).throw(http_error(401))
    )
    with pytest.raises(K.NoCredentialsError, match="HTTP 401") as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    assert_secret_hidden(info.value, capsys)


def test_no_network_gives_the_alternatives(home, tmp_path, monkeypatch, capsys):
    def gdown_download(file_id, output, quiet):
        raise refused_connection()

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    root = tmp_path / "data"
    with pytest.raises(K.NoNetworkError) as info:
        K.fetch_competition(HW1, data_dir=root)
    message = str(info.value)
    assert "gdown 19CCyCgJrUxtvgZF53vnctJiOJ23T5mqF -O covid.train.csv" in message
    assert "https://www.kaggle.com/c/ml2021spring-hw1/data" in message
    assert "kaggle competitions download -c ml2021spring-hw1" in message
    assert "kaggle: NoCredentialsError" in message  # what the other source said
    assert leftovers(root) == []


def test_a_client_error_quoting_the_key_is_scrubbed(home, creds, tmp_path, monkeypatch, capsys):
    def kaggle_download(competition, dest, quiet):
        raise ValueError(f"bad request with key={SECRET}")  # a careless client message

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    with pytest.raises(K.CompetitionDataNotFoundError, match=r"key=\*\*\*") as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    assert_secret_hidden(info.value, capsys)


def test_no_network_from_the_kaggle_client(home, creds, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        C, "_kaggle_download", lambda c, d, q: (_ for _ in ()).throw(refused_connection())
    )
    with pytest.raises(K.NoNetworkError, match="The Kaggle API could not reach") as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    assert_secret_hidden(info.value, capsys)


def test_real_gdown_offline(home, tmp_path, monkeypatch):
    """The real gdown, pointed at a proxy that refuses connections."""
    pytest.importorskip("gdown")
    monkeypatch.setattr(C, "_gdown_download", REAL_GDOWN_DOWNLOAD)
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, DEAD_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    root = tmp_path / "data"
    with pytest.raises(K.NoNetworkError, match="ProxyError|ConnectionError"):
        K.fetch_competition(HW1, data_dir=root, quiet=True)
    assert leftovers(root) == [] and not (root / HW1).exists()


def test_real_kaggle_client_offline(home, creds, tmp_path, monkeypatch, capsys):
    """The real Kaggle client (imported lazily, authenticating with the fake key), pointed at
    a proxy that refuses connections."""
    try:
        import kaggle  # noqa: F401
    except ImportError as err:
        pytest.skip(f"the kaggle client cannot be imported here: {err}")
    monkeypatch.setattr(C, "_kaggle_download", REAL_KAGGLE_DOWNLOAD)
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(var, DEAD_PROXY)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(K.NoNetworkError) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",), quiet=True)
    assert_secret_hidden(info.value, capsys)


def test_corrupt_zip_is_named_and_removed(home, creds, tmp_path, monkeypatch):
    seen = {}

    def kaggle_download(competition, dest, quiet):
        archive = dest / f"{competition}.zip"
        write_zip(archive, hw1_bytes())
        archive.write_bytes(archive.read_bytes()[:5000])  # an interrupted transfer
        seen["archive"] = archive

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    root = tmp_path / "data"
    with pytest.raises(K.CorruptArchiveError, match="ml2021spring-hw1.zip.*removed"):
        K.fetch_competition(HW1, data_dir=root, sources=("kaggle",))
    assert not seen["archive"].exists()
    assert leftovers(root) == [] and not (root / HW1).exists()


def test_zip_member_outside_the_archive_is_refused(home, creds, tmp_path, monkeypatch):
    monkeypatch.setattr(
        C, "_kaggle_download", lambda c, d, q: write_zip(d / "x.zip", {"../evil.csv": b"x"})
    )
    with pytest.raises(K.CorruptArchiveError, match="x.zip"):
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    assert not (tmp_path / "data" / "evil.csv").exists()


def test_interrupted_download_leaves_nothing_trusted(home, tmp_path, monkeypatch):
    files = hw1_bytes()
    by_id = {d.file_id: d.name for d in K.COMPETITIONS[HW1].drive}

    def gdown_download(file_id, output, quiet):
        name = by_id[file_id]
        if name == "covid.test.csv":
            output.write_bytes(files[name][:1000])  # half a file, then Ctrl-C
            raise KeyboardInterrupt
        output.write_bytes(files[name])

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    root = tmp_path / "data"
    with pytest.raises(KeyboardInterrupt):
        K.fetch_competition(HW1, data_dir=root)
    assert leftovers(root) == [] and not (root / HW1).exists()
    assert K.find_competition(HW1, data_dir=root) is None


def test_downloaded_html_instead_of_csv_is_rejected(home, tmp_path, monkeypatch):
    def gdown_download(file_id, output, quiet):  # e.g. a Google Drive quota page
        output.write_text("<!DOCTYPE html><html><body>Quota exceeded</body></html>\n")

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    root = tmp_path / "data"
    with pytest.raises(K.UnexpectedFilesError, match="covid.train.csv"):
        K.fetch_competition(HW1, data_dir=root)
    assert leftovers(root) == [] and not (root / HW1).exists()


def test_drive_quota_error_from_gdown(home, tmp_path, monkeypatch):
    gdown = pytest.importorskip("gdown")

    def gdown_download(file_id, output, quiet):
        raise gdown.exceptions.FileURLRetrievalError("Too many users have viewed or downloaded")

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    with pytest.raises(K.CompetitionDataNotFoundError, match="Too many users"):
        K.fetch_competition(HW1, data_dir=tmp_path / "data")


def test_client_not_importable(home, creds, tmp_path, monkeypatch):
    def kaggle_download(competition, dest, quiet):
        raise ModuleNotFoundError("No module named 'six'", name="six")

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    with pytest.raises(K.CompetitionDataNotFoundError, match="pip install --upgrade kaggle six"):
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))


# ---------------------------------------------------------------------------
# Credentials
# ---------------------------------------------------------------------------


def test_colab_secrets_reach_the_client_only_during_the_download(home, tmp_path, monkeypatch):
    secrets = {"KAGGLE_USERNAME": "reader", "KAGGLE_KEY": SECRET}
    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=lambda name: secrets[name])
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    assert K.find_kaggle_credentials() == "Colab secrets KAGGLE_USERNAME and KAGGLE_KEY"
    assert "KAGGLE_KEY" not in os.environ  # finding them changes nothing

    seen = {}

    class FakeApi:  # the Kaggle client reads its credentials from the environment
        def authenticate(self):
            seen["key"] = os.environ.get("KAGGLE_KEY")

        def competition_download_files(self, competition, path, quiet):
            write_zip(Path(path) / f"{competition}.zip", hw1_bytes())

    extended = types.ModuleType("kaggle.api.kaggle_api_extended")
    extended.KaggleApi = FakeApi
    for name in ("kaggle", "kaggle.api"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "kaggle.api.kaggle_api_extended", extended)
    monkeypatch.setattr(C, "_kaggle_download", REAL_KAGGLE_DOWNLOAD)
    with pytest.warns(UserWarning):  # fake files differ from the real ones
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",), quiet=True)
    assert seen["key"] == SECRET
    assert "KAGGLE_KEY" not in os.environ and "KAGGLE_USERNAME" not in os.environ


def test_windows_like_machine_without_unix_calls(home, tmp_path, monkeypatch):
    """kaggle.download_root() once reached os.statvfs, which Windows does not have."""
    for name in ("statvfs", "fstatvfs", "geteuid", "getuid", "getegid", "getgid", "chown", "uname"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv(datadirs.ENV_CACHE, raising=False)
    local = tmp_path / "Users" / "ada" / "AppData" / "Local"
    monkeypatch.setenv("LOCALAPPDATA", str(local))
    files = hw1_bytes()
    by_id = {d.file_id: d.name for d in K.COMPETITIONS[HW1].drive}
    calls = []

    def gdown_download(file_id, output, quiet):
        calls.append(file_id)
        output.write_bytes(files[by_id[file_id]])

    monkeypatch.setattr(C, "_gdown_download", gdown_download)
    folder = K.fetch_competition(HW1, quiet=True)
    assert folder == local / "linbook" / "Cache" / HW1
    assert K.fetch_competition(HW1, quiet=True) == folder  # found: no second download
    assert len(calls) == 2  # two files, each fetched once
    with pytest.raises(K.NoCredentialsError) as info:
        K.fetch_competition(HW2, sources=("kaggle",))
    assert f"Put kaggle.json in {home / '.kaggle'} (the client's default)" in str(info.value)


# ---------------------------------------------------------------------------
# Credentials: exactly where the installed client looks (kaggle 1.6 ... 2.x)
# ---------------------------------------------------------------------------


def write_token(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kaggle.json"
    path.write_text(json.dumps({"username": "reader", "key": SECRET}))
    return path


@pytest.fixture
def linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")


def test_client_config_dir_follows_the_clients_rule(home, tmp_path, linux, monkeypatch):
    # Linux without ~/.kaggle: $XDG_CONFIG_HOME/kaggle, else ~/.config/kaggle
    assert C.client_config_dir() == home / ".config" / "kaggle"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert C.client_config_dir() == tmp_path / "xdg" / "kaggle"
    (home / ".kaggle").mkdir()  # once ~/.kaggle exists, only it
    assert C.client_config_dir() == home / ".kaggle"
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))  # the variable wins
    assert C.client_config_dir() == tmp_path / "cfg"
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    monkeypatch.setattr(sys, "platform", "darwin")  # elsewhere always ~/.kaggle
    (home / ".kaggle").rmdir()
    assert C.client_config_dir() == home / ".kaggle"


def test_credentials_found_where_the_client_looks(home, tmp_path, linux, monkeypatch, capsys):
    assert K.find_kaggle_credentials() is None
    token = write_token(tmp_path / "cfg")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))
    assert K.find_kaggle_credentials() == str(token)
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    (home / ".kaggle").mkdir()
    (home / ".kaggle" / "kaggle.json").write_text("{not json")
    with pytest.raises(K.NoCredentialsError, match="not a valid Kaggle token") as info:
        K.find_kaggle_credentials()
    assert_secret_hidden(info.value, capsys)
    monkeypatch.setenv("KAGGLE_USERNAME", "reader")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    assert K.find_kaggle_credentials() == "environment variables KAGGLE_USERNAME and KAGGLE_KEY"


@pytest.mark.parametrize(
    "place", ["xdg-while-dot-kaggle-exists", "dot-kaggle-while-config-dir-set", "working-folder"]
)
def test_a_token_where_the_client_does_not_look_gets_move_advice(
    home, tmp_path, linux, monkeypatch, place, capsys
):
    if place == "xdg-while-dot-kaggle-exists":
        (home / ".kaggle").mkdir()
        token = write_token(home / ".config" / "kaggle")
        target, why = home / ".kaggle", "~/.kaggle exists"
    elif place == "dot-kaggle-while-config-dir-set":
        token = write_token(home / ".kaggle")
        monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "cfg"))
        target, why = tmp_path / "cfg", "KAGGLE_CONFIG_DIR names it"
    else:  # uploaded next to the notebook, as in Colab
        token = write_token(home)
        target, why = home / ".config" / "kaggle", "~/.kaggle does not exist"
    assert K.find_kaggle_credentials() is None  # the client would not find it either
    with pytest.raises(K.NoCredentialsError) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",))
    message = str(info.value)
    assert message.startswith(f"A Kaggle token is in {token}, but the Kaggle client reads")
    assert f"only from {target} (" in message and why in message
    assert f"mv {token} {target}/kaggle.json" in message
    assert f"KAGGLE_CONFIG_DIR={token.parent}" in message
    assert "create" not in message.lower()  # the token is fine: no new one
    assert_secret_hidden(info.value, capsys)


@pytest.mark.parametrize("version", [(1, 6, 17), (1, 7, 4, 5), (1, 8, 0), (2, 2, 5), None])
def test_access_tokens_count_only_for_clients_that_read_them(home, linux, monkeypatch, version):
    monkeypatch.setattr(C, "client_version", lambda: version)
    monkeypatch.setenv("KAGGLE_API_TOKEN", SECRET)
    reads = version is None or version >= (1, 8)
    found = K.find_kaggle_credentials()
    assert found == ("environment variable KAGGLE_API_TOKEN" if reads else None)
    if not reads:
        with pytest.raises(K.NoCredentialsError, match="pip install --upgrade kaggle"):
            K.fetch_competition(HW1, sources=("kaggle",))
    monkeypatch.delenv("KAGGLE_API_TOKEN")
    (home / ".kaggle").mkdir()
    (home / ".kaggle" / "access_token").write_text(SECRET)
    found = K.find_kaggle_credentials()
    assert found == (str(home / ".kaggle" / "access_token") if reads else None)


# ---------------------------------------------------------------------------
# Fakes of the kaggle package, version by version (the real client's import-time
# authentication and its error types)
# ---------------------------------------------------------------------------

FAKE_API = """
import os, shutil, sys, time
from os.path import expanduser

VERSION = "{version}"


class KaggleApi:
    config_dir = os.environ.get("KAGGLE_CONFIG_DIR")
    if not config_dir:
        config_dir = os.path.join(expanduser("~"), ".kaggle")
        if sys.platform.startswith("linux") and not os.path.exists(config_dir):
            config_dir = os.path.join(
                os.environ.get("XDG_CONFIG_HOME") or os.path.join(expanduser("~"), ".config"),
                "kaggle")

    def authenticate(self):
        config = os.path.join(self.config_dir, "kaggle.json")
        if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
            return
        if os.path.exists(config):
            return
        if VERSION.startswith(("1.6", "1.7")):
            raise IOError("Could not find kaggle.json. Make sure it's located in " + self.config_dir)
        print("Could not find kaggle.json. Make sure it's located in " + self.config_dir)
        exit(1)

    def competition_download_files(self, competition, path=None, force=False, quiet=True):
        log = os.environ.get("FAKE_KAGGLE_LOG")
        if log:
            with open(log, "a") as f:
                f.write(competition + "\\n")
        wait_for = os.environ.get("FAKE_KAGGLE_WAIT_FOR")  # files that must exist first
        deadline = time.monotonic() + 60
        while wait_for and time.monotonic() < deadline and not all(
            os.path.exists(p) for p in wait_for.split(os.pathsep)
        ):
            time.sleep(0.05)
        time.sleep(float(os.environ.get("FAKE_KAGGLE_SLEEP", "0")))
        answer = os.environ.get("FAKE_KAGGLE_ANSWER", "ok")
        if answer != "ok":
            status = int(answer)
            if VERSION.startswith("1.6"):  # swagger's ApiException: .status, no .response
                from kaggle.rest import ApiException
                raise ApiException(status=status, reason="Forbidden or Unauthorized")
            import requests  # kagglesdk: response.raise_for_status()
            response = requests.Response()
            response.status_code = status
            response.url = "https://api.kaggle.com/v1/competitions/DownloadDataFiles"
            response.raise_for_status()
        shutil.copy(os.environ["FAKE_KAGGLE_ZIP"], os.path.join(path, competition + ".zip"))
"""

FAKE_REST = """
class ApiException(Exception):
    def __init__(self, status=None, reason=None, http_resp=None):
        self.status = status
        self.reason = reason
        self.body = None
        self.headers = None

    def __str__(self):
        return "({0})\\nReason: {1}\\n".format(self.status, self.reason)
"""

FAKE_INIT = {
    # 1.6, 1.7 and 1.8 authenticate on import and let the failure through
    "strict": "from kaggle.api.kaggle_api_extended import KaggleApi\n"
    "api = KaggleApi()\napi.authenticate()\n",
    # 2.x swallows it on import
    "lenient": "from kaggle.api.kaggle_api_extended import KaggleApi\n"
    "api = KaggleApi()\ntry:\n    api.authenticate()\nexcept (Exception, SystemExit):\n    pass\n",
}


def write_fake_kaggle(site: Path, version: str) -> Path:
    package = site / "kaggle"
    (package / "api").mkdir(parents=True)
    init = FAKE_INIT["lenient" if version.startswith("2") else "strict"]
    (package / "__init__.py").write_text(init)
    (package / "rest.py").write_text(FAKE_REST)
    (package / "api" / "__init__.py").write_text("")
    (package / "api" / "kaggle_api_extended.py").write_text(FAKE_API.format(version=version))
    meta = site / f"kaggle-{version}.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kaggle\nVersion: {version}\n")
    return site


@pytest.fixture
def fake_kaggle(tmp_path, monkeypatch):
    """Install a fake ``kaggle`` package of a given version; returns its site folder."""

    def forget():
        for name in [m for m in sys.modules if m == "kaggle" or m.startswith("kaggle.")]:
            monkeypatch.delitem(sys.modules, name)

    def install(version: str) -> Path:
        forget()
        site = write_fake_kaggle(tmp_path / f"site-{version}", version)
        monkeypatch.syspath_prepend(str(site))
        monkeypatch.setattr(C, "_kaggle_download", REAL_KAGGLE_DOWNLOAD)
        archive = tmp_path / "hw1.zip"
        write_zip(archive, hw1_bytes())
        monkeypatch.setenv("FAKE_KAGGLE_ZIP", str(archive))
        return site

    yield install
    forget()


VERSIONS = ["1.6.17", "1.7.4.5", "1.8.0", "2.2.5"]


@pytest.mark.parametrize("version", VERSIONS)
def test_fake_client_versions_download(home, creds, fake_kaggle, tmp_path, version):
    fake_kaggle(version)
    assert C.client_version()[:2] == tuple(int(p) for p in version.split(".")[:2])
    with pytest.warns(UserWarning):  # fake files differ from the real ones
        folder = K.fetch_competition(
            HW1, data_dir=tmp_path / "data", sources=("kaggle",), quiet=True
        )
    assert K.data_source(folder).startswith("downloaded from the Kaggle API")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("status", [401, 403])
def test_401_and_403_recognised_in_every_client_version(
    home, creds, fake_kaggle, tmp_path, monkeypatch, version, status, capsys
):
    fake_kaggle(version)
    monkeypatch.setenv("FAKE_KAGGLE_ANSWER", str(status))
    error, words = {
        401: (K.NoCredentialsError, "HTTP 401 Unauthorized"),
        403: (K.RulesNotAcceptedError, "https://www.kaggle.com/c/ml2021spring-hw1/rules"),
    }[status]
    with pytest.raises(error, match=words) as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",), quiet=True)
    assert_secret_hidden(info.value, capsys)


@pytest.mark.parametrize("version", VERSIONS)
def test_client_rejecting_credentials_on_import_is_a_clear_error(
    home, fake_kaggle, tmp_path, monkeypatch, version
):
    """linbook found credentials that the client does not take (here: an access token file
    that the fake reads in no version): kaggle 1.6/1.7 raise OSError on import, 1.8 exits on
    import, 2.x exits in authenticate(). None of these may escape as SystemExit/OSError."""
    fake_kaggle(version)
    (home / ".kaggle").mkdir()
    (home / ".kaggle" / "credentials.json").write_text("{}")
    monkeypatch.setenv("KAGGLE_ENABLE_OAUTH", "1")
    if version < "1.8":
        assert K.find_kaggle_credentials() is None
        return
    with pytest.raises(K.NoCredentialsError, match="did not accept the credentials") as info:
        K.fetch_competition(HW1, data_dir=tmp_path / "data", sources=("kaggle",), quiet=True)
    assert "Could not find kaggle.json" in str(info.value)  # what the client said
    assert f"kaggle {version}" in str(info.value)


# ---------------------------------------------------------------------------
# Damaged archives of every kind: the gdown fallback, or a clear CorruptArchiveError
# ---------------------------------------------------------------------------


def damaged_zip(kind: str) -> bytes:
    """A zip of the hw1 files damaged in one way; ``kind`` names what zipfile then raises."""
    buf = io.BytesIO()
    method = zipfile.ZIP_STORED if kind in ("bad-crc", "short-member") else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in hw1_bytes().items():
            zf.writestr(name, data)
    data = bytearray(buf.getvalue())
    first = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode())  # the member's data
    central = data.find(b"PK\x01\x02")  # the first member's central directory entry
    if kind == "truncated":  # an interrupted transfer
        return bytes(data[: len(data) // 2])
    if kind == "bad-crc":  # one flipped byte in stored data
        data[start + 10] ^= 0xFF
    elif kind == "bad-deflate":  # a reserved block type at the start of the deflate stream
        data[start] = 0xFF
    elif kind == "short-member":  # the directory promises more bytes than the file holds
        data[central + 20 : central + 28] = (10**8).to_bytes(4, "little") * 2
    elif kind == "unsupported-method":  # Deflate64, which Python's zipfile cannot read
        data[first.header_offset + 8 : first.header_offset + 10] = (9).to_bytes(2, "little")
        data[central + 10 : central + 12] = (9).to_bytes(2, "little")
    return bytes(data)


DAMAGE = {
    "truncated": zipfile.BadZipFile,
    "bad-crc": zipfile.BadZipFile,
    "bad-deflate": zlib.error,
    "short-member": EOFError,
    "unsupported-method": NotImplementedError,
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_archive_raises_what_we_think(kind):
    """The fixtures below really produce each kind of zipfile failure."""
    with pytest.raises(DAMAGE[kind]):
        with zipfile.ZipFile(io.BytesIO(damaged_zip(kind))) as zf:
            for name in zf.namelist():
                zf.read(name)


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_archive_alone_is_a_clear_error(home, creds, tmp_path, monkeypatch, kind):
    seen = {}

    def kaggle_download(competition, dest, quiet):
        seen["archive"] = dest / f"{competition}.zip"
        seen["archive"].write_bytes(damaged_zip(kind))

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    root = tmp_path / "data"
    with pytest.raises(K.CorruptArchiveError) as info:
        K.fetch_competition(HW1, data_dir=root, sources=("kaggle",))
    message = str(info.value)
    assert message.startswith("ml2021spring-hw1.zip from the Kaggle API ")
    assert DAMAGE[kind].__name__ in message and "It has been removed" in message
    if kind == "unsupported-method":
        assert "7-Zip" in message
    else:
        assert "run again to download it anew" in message
    assert "sources=['gdown']" in message and "drive.google.com" in message  # what else to do
    assert not seen["archive"].exists()
    assert leftovers(root) == [] and not (root / HW1).exists()


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_archive_falls_back_to_gdown(home, creds, tmp_path, monkeypatch, fake_gdown, kind):
    monkeypatch.setattr(
        C, "_kaggle_download", lambda c, d, q: (d / f"{c}.zip").write_bytes(damaged_zip(kind))
    )
    fetched = fake_gdown(hw1_bytes())
    root = tmp_path / "data"
    folder = K.fetch_competition(HW1, data_dir=root)
    assert folder == root / HW1 and fetched == ["covid.train.csv", "covid.test.csv"]
    assert K.data_source(folder).startswith("downloaded from the course's Google Drive copy")


def test_damaged_drive_archive_for_hw2(home, small_hw2, tmp_path, fake_gdown):
    def damaged(file_id, output):
        write_zip(output, small_hw2)
        output.write_bytes(output.read_bytes()[:3000])

    fake_gdown(damaged)
    with pytest.raises(K.CorruptArchiveError, match="data.zip from the course's Google Drive"):
        K.fetch_competition(HW2, data_dir=tmp_path / "data", quiet=True)


# ---------------------------------------------------------------------------
# Two notebooks at once: one download
# ---------------------------------------------------------------------------


def test_two_threads_at_once_download_once(home, creds, tmp_path, monkeypatch):
    import threading

    calls, started = [], threading.Barrier(2, timeout=30)

    def kaggle_download(competition, dest, quiet):
        calls.append(competition)
        import time

        time.sleep(0.5)  # the other thread is now waiting for the lock
        write_zip(dest / f"{competition}.zip", hw1_bytes())

    monkeypatch.setattr(C, "_kaggle_download", kaggle_download)
    root = tmp_path / "data"
    results, errors = [], []

    def notebook():
        try:
            started.wait()
            results.append(K.fetch_competition(HW1, data_dir=root, sources=("kaggle",), quiet=True))
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=notebook) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and results == [root / HW1] * 2
    assert calls == [HW1]  # one download
    assert leftovers(root) == []  # no lock file, no temporary folder left


def test_two_processes_at_once_download_once(home, fake_kaggle, tmp_path):
    """Two Python processes with the (fake) kaggle package: the first download waits until
    both have started, so the second surely meets the lock; the fake logs each download."""
    site = fake_kaggle("1.7.4.5")
    root, log = tmp_path / "data", tmp_path / "downloads.log"
    marks = [tmp_path / f"started-{i}" for i in range(2)]
    code = (
        "import pathlib, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "from linbook import kaggle\n"
        "pathlib.Path(sys.argv[1]).touch()\n"
        f"print(kaggle.fetch_competition({HW1!r}, data_dir={str(root)!r}, sources=['kaggle'],"
        " quiet=True))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
        "KAGGLE_USERNAME": "reader",
        "KAGGLE_KEY": SECRET,
        "FAKE_KAGGLE_LOG": str(log),
        "FAKE_KAGGLE_WAIT_FOR": os.pathsep.join(map(str, marks)),
        "FAKE_KAGGLE_SLEEP": "0.5",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(mark)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for mark in marks
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [out.strip() for out, _ in outputs] == [str(root / HW1)] * 2
    assert log.read_text().splitlines() == [HW1]  # one download for the two
    assert leftovers(root) == []
