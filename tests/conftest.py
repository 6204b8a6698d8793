"""Shared fixtures.

* ``data_locations`` (autouse: every test gets it): linbook's cache (``LINBOOK_CACHE``),
  ``LINBOOK_DATA`` and Debian's Fashion-MNIST folder in fresh temporary folders, and no
  ``LINBOOK_SEED_OFFSET``, ``LINBOOK_BUILD`` or ``LINBOOK_CLAIMS_LOG`` from the shell: no test
  reads or writes a real data folder, on Linux, macOS or Windows. The one way to isolate data;
  a test that wants another layout changes these variables with ``monkeypatch``.
* small Fashion-MNIST-shaped IDX files written by the tests themselves (:func:`write_idx`,
  :func:`write_fake_fashion_mnist`);
* ``local_server``: a local HTTP server that stands in for a remote host and counts requests;
* ``fake_gdown``: the Google Drive client replaced by a function that writes given bytes;
* ``timit_standin_dir`` / ``timit_data``: one small TIMIT stand-in per test session;
* a headless matplotlib (the Agg backend, every figure closed and rcParams restored after
  each test).
"""

from __future__ import annotations

import gzip
import http.server
import struct
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew and restore matplotlib's settings it changed."""
    with matplotlib.rc_context():
        yield
    plt.close("all")


@dataclass(frozen=True)
class DataLocations:
    """The temporary data folders of one test: ``data`` is ``$LINBOOK_DATA``, ``cache`` is
    ``$LINBOOK_CACHE`` (what :func:`linbook.datadirs.cache_dir` returns) and ``debian`` stands
    for Debian's ``/usr/share/datasets/fashion-mnist``; none exists until a test creates it."""

    root: Path
    data: Path
    cache: Path
    debian: Path


@pytest.fixture(autouse=True)
def data_locations(monkeypatch, tmp_path) -> DataLocations:
    """Every data location in temporary folders, for every test (see the module docstring)."""
    from linbook import datadirs, fashion_mnist

    root = tmp_path / "locations"
    places = DataLocations(root, root / "data", root / "cache", root / "debian")
    monkeypatch.setenv(datadirs.ENV_DATA, str(places.data))
    monkeypatch.setenv(datadirs.ENV_CACHE, str(places.cache))
    for name in ("LINBOOK_SEED_OFFSET", "LINBOOK_BUILD", "LINBOOK_CLAIMS_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FASHION_MNIST_DIR", places.debian)
    fashion_mnist._read_split.cache_clear()
    yield places
    fashion_mnist._read_split.cache_clear()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when ``compress``)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    raw = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def write_fake_fashion_mnist(
    folder: Path, n_train: int = 12, n_test: int = 5, fill: int = 7, compress: bool = True
) -> Path:
    """Write the four Fashion-MNIST files with tiny, recognisable contents into ``folder``."""
    rng = np.random.default_rng(fill)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.full((n, 28, 28), fill, dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, compress)
    return folder


class LocalServer:
    """A loopback HTTP server for tests: ``files`` maps a URL path to bytes (or to a callable
    ``handler -> None`` that answers itself); every request is counted in ``hits``."""

    def __init__(self) -> None:
        self.files: dict[str, object] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                path = self.path.split("?")[0]
                server.hits[path] += 1
                body = server.files.get(path)
                if callable(body):
                    body(self)
                    return
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server():
    """A :class:`LocalServer` on 127.0.0.1, shut down after the test."""
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture
def fake_gdown(monkeypatch):
    """Replace linbook's Google Drive download by a fake. Call the fixture's value with a
    mapping ``{saved file name: bytes}`` (each Drive id's file is written from it) or with a
    function ``(file_id, output: Path) -> None`` (which may raise); it returns the list of the
    file names (or ids) fetched so far."""
    from linbook import kaggle, kaggle_clients

    names = {d.file_id: d.name for spec in kaggle.COMPETITIONS.values() for d in spec.drive}
    fetched: list[str] = []

    def install(files: Mapping[str, bytes] | Callable[[str, Path], None]) -> list[str]:
        def download(file_id, output, quiet):
            output = Path(output)
            fetched.append(names.get(file_id, file_id))
            if callable(files):
                files(file_id, output)
            else:
                assert output.name == names[file_id], (file_id, output.name)
                output.write_bytes(files[names[file_id]])

        monkeypatch.setattr(kaggle_clients, "_gdown_download", download)
        return fetched

    return install


#: The size of the shared TIMIT stand-in (frames of training and test data).
TIMIT_N_TRAIN, TIMIT_N_TEST = 3000, 700


@pytest.fixture(scope="session")
def timit_standin_dir(tmp_path_factory) -> Path:
    """One small TIMIT stand-in (``TIMIT_N_TRAIN`` x 429 and ``TIMIT_N_TEST`` x 429 frames),
    built once per test session. Read-only by convention: copy it before changing files."""
    from linbook import timit_standin

    folder = tmp_path_factory.mktemp("timit") / "standin"
    return timit_standin.make_standin(folder, n_train=TIMIT_N_TRAIN, n_test=TIMIT_N_TEST)


@pytest.fixture(scope="session")
def timit_data(timit_standin_dir):
    """:func:`linbook.timit.load_timit` of :func:`timit_standin_dir` (memory-mapped)."""
    from linbook import timit

    return timit.load_timit(timit_standin_dir)


def execute_cell(source: str, folder: Path) -> list[dict]:
    """Run ``source`` as the one code cell of a notebook in a fresh Jupyter kernel (working
    folder ``folder``), as a reader's Jupyter would; return the cell's outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb.cells[0].outputs
