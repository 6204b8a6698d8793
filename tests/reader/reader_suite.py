"""The reader-environment suite: every chapter, executed the way a new reader in Colab runs it.

What a reader has, and what this suite gives each chapter's kernel:

* a Python with Colab's preinstalled packages and nothing of this repository: the venv made
  from ``tests/reader/colab-requirements.txt`` (not ``.venv``);
* ``google.colab`` importable (a stand-in module), so the chapter's first cell runs
  ``%pip install "linbook[kaggle] @ git+<repository URL of _config.yml>"``; git's
  ``url.<base>.insteadOf`` (set through ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_0``/
  ``GIT_CONFIG_VALUE_0`` for the kernel only) points that URL at a snapshot of this working
  tree, so pip installs this linbook, non-editable, into the reader's venv;
* an empty home: no ``LINBOOK_DATA``, no ``~/.cache/linbook``, no Kaggle token, and Debian's
  dataset folder hidden (a private mount namespace with an empty folder over
  ``/usr/share/datasets``);
* the network answered locally and only at its boundary: inside the kernel, ``urllib`` and
  ``requests`` send the requests for the Fashion-MNIST mirrors and Google Drive to a local
  HTTP server (which serves the real files and counts every request), and refuse every other
  host. TIMIT's Drive file is not served, so the chapter falls back to the stand-in.

Then every ``chapters/*.ipynb`` is executed, two at a time, and the suite checks that every
chapter completed; that each remote file was fetched at most once for the whole run (and the
ones the book needs exactly once); that nothing was written into the repository, and outside
the working folder nothing but the cache; and that the submission files are valid. Finally
the TIMIT chapter runs once more on a small *real-format* data set (not the stand-in: other
statistics, in a folder ``LINBOOK_DATA`` points at, one epoch per run through
``LINBOOK_TIMIT_EPOCHS``): it must finish and write a valid ``prediction.csv``.

Usage (``make reader`` runs it)::

    .venv/bin/python tests/reader/reader_suite.py --venv .venv-reader [--jobs 2] [--keep]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import nbformat
import numpy as np
import yaml
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # linbook of this checkout, for the suite's own checks

from linbook import datadirs, fashion_mnist, kaggle, submission  # noqa: E402

FASHION_HOSTS = {
    "fashion-mnist.s3-website.eu-central-1.amazonaws.com",
    "raw.githubusercontent.com",
}
DRIVE_HOSTS = {"drive.google.com", "drive.usercontent.google.com", "docs.google.com"}
DEBIAN_DATASETS = datadirs.DEBIAN_DATASETS
SKIP_IN_SNAPSHOT = {".git", "_build", ".venv", ".venv-reader", ".pytest_cache", ".ruff_cache"}


# ---------------------------------------------------------------------------
# The network: a local server standing in for the mirrors and for Google Drive
# ---------------------------------------------------------------------------


class Boundary:
    """The local HTTP server every remote request of a kernel is sent to."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        fm_folder = fashion_mnist.find_fashion_mnist()
        if fm_folder is None:
            raise SystemExit(
                "reader suite: the mirror needs Fashion-MNIST on this machine "
                "(sudo apt-get install dataset-fashion-mnist, or set LINBOOK_DATA)"
            )
        self.fashion = {p.name: p for p in fm_folder.iterdir() if p.name.endswith(".gz")}
        hw1 = kaggle.find_competition("ml2021spring-hw1")
        if hw1 is None:
            raise SystemExit(
                "reader suite: the Drive stand-in needs the ml2021spring-hw1 CSVs on this "
                "machine (set LINBOOK_DATA to the folder holding ml2021spring-hw1/)"
            )
        self.hw1 = hw1
        self.drive = {
            d.file_id: (d.name, hw1 / d.name) for d in kaggle.COMPETITIONS["ml2021spring-hw1"].drive
        }
        self.unavailable = {d.file_id for d in kaggle.COMPETITIONS["ml2021spring-hw2"].drive}
        boundary = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                host, _, rest = self.path.lstrip("/").partition("/")
                url = urlsplit("/" + rest)
                if host in DRIVE_HOSTS:
                    file_id = (parse_qs(url.query).get("id") or [""])[0]
                    boundary.hits[f"{host}/{url.path.lstrip('/')}?id={file_id}"] += 1
                    boundary.serve_drive(self, file_id)
                elif host in FASHION_HOSTS:
                    boundary.hits[f"{host}{url.path}"] += 1
                    name = url.path.rsplit("/", 1)[-1]
                    path = boundary.fashion.get(name)
                    self.send_file(path, "application/gzip") if path else self.send_error(404)
                else:
                    boundary.hits[f"{host}{url.path}"] += 1
                    self.send_error(502, "not a host of the reader suite")

            def send_file(self, path: Path, ctype: str, filename: str | None = None) -> None:
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if filename:
                    self.send_header("Content-Disposition", f'attachment; filename="{filename}"')
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve_drive(self, handler, file_id: str) -> None:
        """Google Drive answers a direct download with the file and a Content-Disposition;
        the TIMIT archive (372 MB) is not available here: Drive's error page instead."""
        if file_id in self.drive:
            name, path = self.drive[file_id]
            # a slow link: the second of two chapters fetching at once must meet the first's lock
            time.sleep(1.0)
            handler.send_file(path, "text/csv", filename=name)
            return
        body = b"<!DOCTYPE html><html><body>Google Drive - file unavailable</body></html>"
        handler.send_response(404)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self.httpd.shutdown()


STARTUP = '''\
"""Reader suite: the network boundary of this kernel, and the stand-in for google.colab."""
import urllib.error
import urllib.parse
import urllib.request

import google.colab  # noqa: F401  (the chapters install linbook when this module is loaded)

_PORT = {port}
_HOSTS = {hosts!r}


def _rewrite(url):
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in ("127.0.0.1", "localhost"):
        return url
    if host in _HOSTS:
        query = "?" + parts.query if parts.query else ""
        return f"http://127.0.0.1:{{_PORT}}/{{host}}{{parts.path}}{{query}}"
    return None


_open = urllib.request.OpenerDirector.open


def _boundary_open(self, fullurl, data=None, timeout=None, **kwargs):
    request = fullurl if isinstance(fullurl, urllib.request.Request) else urllib.request.Request(fullurl, data)
    target = _rewrite(request.full_url)
    if target is None:
        raise urllib.error.URLError(f"[reader suite] no network to {{request.full_url}}")
    request.full_url = target
    return _open(self, request, data, timeout) if timeout is not None else _open(self, request, data)


urllib.request.OpenerDirector.open = _boundary_open

try:
    import requests.adapters
    import requests.exceptions
except ImportError:
    pass
else:
    _send = requests.adapters.HTTPAdapter.send

    def _boundary_send(self, request, *args, **kwargs):
        target = _rewrite(request.url)
        if target is None:
            raise requests.exceptions.ConnectionError(f"[reader suite] no network to {{request.url}}")
        request.url = target
        return _send(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = _boundary_send
'''

COLAB = '''\
"""Stand-in for Colab's google.colab: the package exists, its secrets are empty."""


class _Secrets:
    class SecretNotFoundError(Exception):
        pass

    def get(self, name):
        raise self.SecretNotFoundError(name)


userdata = _Secrets()
'''


# ---------------------------------------------------------------------------
# The reader's machine
# ---------------------------------------------------------------------------


def snapshot_repository(target: Path) -> None:
    """A git repository holding this working tree as it is (tracked and untracked-not-ignored
    files): what `pip install git+<url>` clones."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git = ["git", "-C", str(target), "-c", "user.name=reader", "-c", "user.email=reader@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "snapshot for the reader suite"], check=True)
    # the chapters install the release tag of linbook's version (tests/test_book.py)
    import linbook

    subprocess.run([*git, "tag", f"v{linbook.__version__}"], check=True)


def hide_datasets_wrapper(state: Path) -> list[str]:
    """The command prefix that runs the kernel with Debian's dataset folder hidden."""
    if not DEBIAN_DATASETS.is_dir():
        return []
    empty = state / "empty"
    empty.mkdir()
    script = state / "hide-datasets.sh"
    script.write_text(f'#!/bin/sh\nmount --bind "{empty}" "{DEBIAN_DATASETS}" && exec "$@"\n')
    for prefix in (["unshare", "--mount", "--propagation", "private"],
                   ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]):  # fmt: skip
        probe = subprocess.run(
            [*prefix, "/bin/sh", str(script), "ls", str(DEBIAN_DATASETS)],
            capture_output=True, text=True,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == "":
            return [*prefix, "/bin/sh", str(script)]
    raise SystemExit(
        "reader suite: cannot hide /usr/share/datasets from the kernel (needs root or user "
        "namespaces for `unshare --mount`); run as root, or remove dataset-fashion-mnist"
    )


def make_kernel(state: Path, venv: Path, name: str, env: dict[str, str], port: int) -> None:
    """A kernelspec running the reader venv's Python with the boundary loaded at startup."""
    site = state / "site"
    (site / "google" / "colab").mkdir(parents=True, exist_ok=True)
    (site / "google" / "__init__.py").write_text("")
    (site / "google" / "colab" / "__init__.py").write_text(COLAB)
    startup = state / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-reader-boundary.py").write_text(
        STARTUP.format(port=port, hosts=sorted(FASHION_HOSTS | DRIVE_HOSTS))
    )
    python = venv.resolve() / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    spec = state / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    argv = [
        *hide_datasets_wrapper_cached(state),
        str(python),
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
    ]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": name, "language": "python", "env": env})
    )


_WRAPPER: list[str] | None = None


def hide_datasets_wrapper_cached(state: Path) -> list[str]:
    global _WRAPPER
    if _WRAPPER is None:
        _WRAPPER = hide_datasets_wrapper(state)
    return _WRAPPER


def write_real_format_timit(folder: Path, n_train: int = 6000, n_test: int = 1500) -> None:
    """Files named and typed as Kaggle's ml2021spring-hw2 but unlike the stand-in: i.i.d.
    rows (no utterances, no overlapping windows), a few well-separated classes."""
    rng = np.random.default_rng(2021)
    folder.mkdir(parents=True)
    centers = rng.normal(0.0, 1.0, (39, 429)).astype(np.float32)
    for name, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 39, n)
        x = centers[labels] + rng.normal(0.0, 3.0, (n, 429)).astype(np.float32)
        np.save(folder / f"{name}_11.npy", x.astype(np.float32))
        if name == "train":
            np.save(folder / "train_label_11.npy", labels.astype(str))


def repository_state() -> dict[str, tuple[int, int]]:
    """Every file of the checkout (ignored ones too) but build outputs and caches."""
    state = {}
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_IN_SNAPSHOT and d != "__pycache__"]
        for name in files:
            path = Path(root) / name
            stat = path.stat()
            state[str(path.relative_to(REPO))] = (stat.st_size, stat.st_mtime_ns)
    return state


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# Running the chapters
# ---------------------------------------------------------------------------


def first_code_cell(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")


def execute(notebook: Path, run_dir: Path, kernel: str, install_lock: threading.Lock,
            timeout: int) -> tuple[str, float, str]:  # fmt: skip
    """Execute one notebook in ``run_dir``; return (name, seconds, error or "")."""
    nb = nbformat.read(notebook, as_version=4)
    install_cell = first_code_cell(nb)
    released = threading.Event()

    def after_cell(cell, cell_index, **kwargs):
        if cell_index == install_cell and not released.is_set():
            released.set()
            install_lock.release()  # the next chapter may start its own `%pip install`

    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(run_dir)}},
        on_cell_executed=after_cell,
    )  # fmt: skip
    install_lock.acquire()  # pip runs never overlap: two installs into one venv could clash
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except Exception as err:  # CellExecutionError, DeadKernelError, timeouts
        error = f"{type(err).__name__}: {str(err)[-3000:]}"
    finally:
        if not released.is_set():
            install_lock.release()
    nbformat.write(nb, run_dir / notebook.name)
    return notebook.name, time.perf_counter() - start, error


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", type=Path, default=REPO / ".venv-reader")
    parser.add_argument("--jobs", type=int, default=2, help="chapters executed at once")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    parser.add_argument(
        "--seed-offset", type=int, default=4,
        help="LINBOOK_SEED_OFFSET of the kernels (not the build's 0: a claim tuned to one seed fails)",
    )  # fmt: skip
    parser.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    args = parser.parse_args()
    started = time.perf_counter()
    url = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    notebooks = sorted((REPO / "chapters").glob("*.ipynb"))
    if args.chapters:
        notebooks = [n for n in notebooks if n.stem in args.chapters]
    # the longest first, so that two workers finish at about the same time
    order = {"timit": 0, "tips-optimization": 1, "tips-generalization": 2, "tips-adaptive": 3}
    notebooks.sort(key=lambda n: order.get(n.stem, 9))

    python = args.venv.resolve() / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    reader_torch = subprocess.run(
        [str(python), "-c", "import torch; print(torch.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    import torch  # the build's

    if reader_torch == torch.__version__:
        raise SystemExit(
            f"reader suite: the reader's venv has the build's torch {reader_torch}; it must test "
            "another (tests/reader/colab-requirements.txt)"
        )
    print(f"reader suite: torch {reader_torch} (the build's: {torch.__version__}), "
          f"seed offset {args.seed_offset}", flush=True)  # fmt: skip

    work = Path(tempfile.mkdtemp(prefix="linbook-reader-"))
    home, run, tmp, state = (work / d for d in ("home", "run", "tmp", "state"))
    for d in (home, run, tmp, state):
        d.mkdir()
    snapshot = work / "repository"
    snapshot_repository(snapshot)
    boundary = Boundary()
    env = {
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "IPYTHONDIR": str(state / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "MPLCONFIGDIR": str(state / "matplotlib"),
        "PYTHONPATH": str(state / "site"),
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{snapshot.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": url,
        "PATH": os.pathsep.join(
            [str(args.venv.resolve() / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # ipykernel's debugger warns about frozen modules
        "OMP_NUM_THREADS": "1",  # two kernels share two cores
        "LINBOOK_SEED_OFFSET": str(args.seed_offset),
    }
    make_kernel(state, args.venv, "reader-colab", env, boundary.port)
    real_data = work / "real-format-data"
    write_real_format_timit(real_data / "ml2021spring-hw2")
    real_env = {**env, "LINBOOK_DATA": str(real_data), "LINBOOK_TIMIT_EPOCHS": "1"}
    make_kernel(state, args.venv, "reader-colab-real-timit", real_env, boundary.port)
    # The executor's own environment: nothing of this machine's data or credentials.
    for name in list(os.environ):
        if name.startswith(("LINBOOK_", "KAGGLE_", "XDG_")) or name in (
            "PYTHONPATH",
            "VIRTUAL_ENV",
        ):
            del os.environ[name]
    os.environ.update(
        JUPYTER_PATH=str(state / "jupyter"), JUPYTER_RUNTIME_DIR=str(state / "runtime")
    )

    before = repository_state()
    lock = threading.Lock()
    results = []
    # Two chapters that fetch the same competition run at once first (two notebooks open side
    # by side on one machine): the competition's files must still be fetched once.
    together = [nb for nb in notebooks if nb.stem in ("kaggle-data", "covid19")]
    batches = [together, [nb for nb in notebooks if nb not in together]] if len(together) == 2 \
        else [notebooks]  # fmt: skip
    for batch, jobs in zip(batches, [2, args.jobs] if len(batches) == 2 else [args.jobs]):
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(execute, nb, run, "reader-colab", lock, args.timeout) for nb in batch
            ]
            for future in concurrent.futures.as_completed(futures):
                results.append(future.result())
                name, seconds, error = results[-1]
                print(f"  {name:<28} {seconds:6.1f} s  {'FAILED' if error else 'ok'}", flush=True)
    real_run = work / "run-real-format"
    real_run.mkdir()
    timit_nb = REPO / "chapters" / "timit.ipynb"
    real_result = execute(timit_nb, real_run, "reader-colab-real-timit", lock, args.timeout)
    print(f"  {'timit.ipynb (real format)':<28} {real_result[1]:6.1f} s  "
          f"{'FAILED' if real_result[2] else 'ok'}", flush=True)  # fmt: skip
    boundary.close()

    problems = [f"{name}: {error}" for name, _, error in [*results, real_result] if error]
    # each remote file at most once; those the book needs exactly once
    for request, count in sorted(boundary.hits.items()):
        if count > 1:
            problems.append(f"{request} was fetched {count} times (at most once per machine)")
    if len(notebooks) == len(list((REPO / "chapters").glob("*.ipynb"))):
        wanted = [f"fashion-mnist.s3-website.eu-central-1.amazonaws.com/{s}.gz"
                  for s in (spec.name for spec in fashion_mnist.FASHION_MNIST_FILES)]  # fmt: skip
        wanted += [
            f"drive.google.com/uc?id={d.file_id}"
            for d in kaggle.COMPETITIONS["ml2021spring-hw1"].drive
        ]
        problems += [f"{w} was never fetched" for w in wanted if boundary.hits[w] != 1]
    # nothing written into the repository; in the home folder nothing but the cache
    after = repository_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    problems += [f"the repository changed: {name}" for name in changed]
    outside = [f for f in files_under(home) if not f.startswith(".cache/")]
    problems += [f"written outside the cache in the home folder: ~/{f}" for f in outside]
    problems += [f"left in the temp folder: {f}" for f in files_under(tmp)]
    leftovers = [f for f in files_under(home) if ".lock" in f or ".download-" in f]
    problems += [f"a lock or partial download was left behind: ~/{f}" for f in leftovers]
    # the chapters' submission files, from this run
    if (run / "pred.csv").exists() or "covid19.ipynb" in [n.name for n in notebooks]:
        sample = boundary.hw1 / "sampleSubmission.csv"
        ids = np.loadtxt(sample, delimiter=",", skiprows=1, usecols=0, dtype=np.int64)
        try:
            submission.check_submission("ml2021spring-hw1", run / "pred.csv", ids)
        except (OSError, ValueError) as err:
            problems.append(f"pred.csv: {err}")
    checks = [(run, "timit.ipynb" in [n.name for n in notebooks], None), (real_run, True, 1500)]
    for folder, expected, rows in checks:
        if not expected:
            continue
        path = folder / "prediction.csv"
        try:
            n = rows if rows is not None else sum(1 for _ in open(path)) - 1
            submission.check_submission("ml2021spring-hw2", path, n)
        except (OSError, ValueError) as err:
            problems.append(f"{path.relative_to(work)}: {err}")
    real_text = json.dumps(nbformat.read(real_run / "timit.ipynb", as_version=4).dict())
    if "REAL TIMIT DATA" not in real_text:
        problems.append("the real-format TIMIT run did not report real data")

    print("\nRemote files fetched during the whole run (each at most once):")
    for request, count in sorted(boundary.hits.items()):
        print(f"  {count}  {request}")
    cache = home / ".cache" / "linbook"
    print(
        "linbook's cache afterwards:",
        ", ".join(sorted(p.name for p in cache.iterdir())) if cache.exists() else "none",
    )
    print(f"reader suite: {len(results) + 1} executions in {time.perf_counter() - started:.0f} s"
          f" (working folder {work}{', kept' if args.keep or problems else ''})")  # fmt: skip
    if problems:
        print("\nFAILED:\n" + "\n".join(textwrap.indent(p, "  - ")[2:] for p in problems))
        return 1
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    print("reader suite passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
