"""Shared fixtures: small Fashion-MNIST-shaped IDX files written by the tests themselves, an
isolated data location (no LINBOOK_DATA, a temporary cache and Debian folder), a local HTTP
server that stands in for a remote host and counts what it serves, and a headless matplotlib
(the Agg backend, every figure closed after each test)."""

from __future__ import annotations

import gzip
import http.server
import struct
import threading
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere: no display needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew, so that they do not pile up over the session."""
    yield
    plt.close("all")


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


@pytest.fixture
def isolated_search(monkeypatch, tmp_path):
    """Every data location in temporary folders: no LINBOOK_DATA, the cache folder in
    ``tmp_path/cache/linbook`` (through XDG_CACHE_HOME, as on a reader's Linux machine) and
    Debian's folder at ``tmp_path/debian``. Yields ``tmp_path``."""
    from linbook import fashion_mnist

    monkeypatch.delenv("LINBOOK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(fashion_mnist, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    fashion_mnist._read_split.cache_clear()
    yield tmp_path
    fashion_mnist._read_split.cache_clear()


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
