"""The robustness matrix: every chapter executed in several configurations (``make robust``).

A chapter's claims were measured on one machine, one PyTorch and one seed; a reader runs it on
another CPU or a GPU, another PyTorch, and (in effect) other seeds. This runs every chapter in

* three other seed offsets on the build's PyTorch (``LINBOOK_SEED_OFFSET`` = 1, 2, 3);
* an older PyTorch line that Colab shipped (2.8), with one thread;
* PyTorch's CPU-only wheel (2.13.0+cpu, without torchvision),

two executions at a time, each in its own kernel with its own working folder. Every chapter
must complete in every configuration. Each kernel logs its claims (``LINBOOK_CLAIMS_LOG``, see
:mod:`linbook.claims`); the matrix prints, per chapter, the closest margin of every measured
claim (kind b) and the facts of the build (kind c) that differed, and writes the table to
``bench/robustness.json``, which the book's status page (``status.md``) shows.

Usage::

    .venv/bin/python tools/robust.py [--jobs 2] [--config NAME ...] [chapter ...]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from linbook.machine import cpu_model  # noqa: E402

OUTPUT = REPO / "bench" / "robustness.json"


@dataclass(frozen=True)
class Config:
    """One configuration of the matrix: a Python environment and the kernel's variables."""

    name: str
    venv: str
    description: str
    env: dict[str, str] = field(default_factory=dict)


CONFIGS = (
    Config("seed+1", ".venv", "本书的 PyTorch，种子偏移 1", {"LINBOOK_SEED_OFFSET": "1"}),
    Config("seed+2", ".venv", "本书的 PyTorch，种子偏移 2", {"LINBOOK_SEED_OFFSET": "2"}),
    Config("seed+3", ".venv", "本书的 PyTorch，种子偏移 3", {"LINBOOK_SEED_OFFSET": "3"}),
    Config(
        "torch-2.8-1thread",
        ".venv-torch28",
        "较早的 PyTorch 2.8（Colab 曾预装的版本线），单线程",
        {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    ),
    Config("torch-2.13-cpu", ".venv-cpu", "PyTorch 2.13.0+cpu 仅 CPU 的安装包（无 torchvision）"),
)


def chapters() -> list[Path]:
    """The chapters' notebooks, longest first (so that two workers finish together)."""
    order = {"timit": 0, "covid19": 1}
    return sorted((REPO / "chapters").glob("*.ipynb"), key=lambda p: (order.get(p.stem, 9), p.name))


def python_of(config: Config) -> Path:
    return (REPO / config.venv).absolute() / (
        "Scripts/python.exe" if os.name == "nt" else "bin/python"
    )


def versions(config: Config) -> dict[str, str]:
    code = (
        "import json, torch, numpy;"
        "tv = __import__('importlib.util').util.find_spec('torchvision') is not None;"
        "print(json.dumps({'torch': torch.__version__, 'numpy': numpy.__version__,"
        " 'torchvision': tv}))"
    )
    out = subprocess.run([str(python_of(config)), "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"robust: {config.venv} cannot import torch: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def make_kernel(jupyter: Path, name: str, python: Path, env: dict[str, str]) -> None:
    spec = jupyter / "kernels" / name
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": name, "language": "python", "env": env})
    )


def run_notebook(config: Config, notebook: Path, work: Path, timeout: int) -> dict:
    """Execute one notebook in one configuration; return its time, error and logged claims."""
    base_env = {
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    for name in ("LINBOOK_DATA", "LINBOOK_CACHE", "HOME", "PATH", "XDG_CACHE_HOME"):
        if name in os.environ:
            base_env[name] = os.environ[name]
    run_dir = work / config.name / notebook.stem
    run_dir.mkdir(parents=True)
    log = run_dir / "claims.jsonl"
    kernel = f"robust-{config.name}-{notebook.stem}"
    env = {**base_env, **config.env, "LINBOOK_CLAIMS_LOG": str(log)}
    make_kernel(work / "jupyter", kernel, python_of(config), env)
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name=kernel, resources={"metadata": {"path": str(run_dir)}}
    )
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except Exception as err:  # CellExecutionError, DeadKernelError, timeouts
        error = f"{type(err).__name__}: {str(err)[-1500:]}"
    seconds = time.perf_counter() - start
    claims = []
    if log.exists():
        claims = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    status = "FAILED" if error else "ok"
    print(f"  [{config.name}] {notebook.stem:<24} {seconds:6.1f} s  {status}", flush=True)
    return {"seconds": round(seconds, 1), "error": error, "claims": claims}


def summarize(configs: list[Config], results: dict[str, dict]) -> dict:
    """Per chapter: completion per configuration, the closest margin of each measured claim,
    the facts of the build that differed somewhere."""
    table = {}
    names = sorted({ch for res in results.values() for ch in res})
    for chapter in names:
        runs = {c.name: results[c.name][chapter] for c in configs if chapter in results[c.name]}
        closest: dict[str, dict] = {}
        facts_differed: dict[str, list[str]] = {}
        for config_name, run in runs.items():
            for record in run["claims"]:
                if record["kind"] == "measured":
                    best = closest.get(record["name"])
                    relative = record.get("relative_margin", record["margin"])
                    if best is None or relative < best["relative_margin"]:
                        closest[record["name"]] = {
                            "margin": record["margin"],
                            "relative_margin": relative,
                            "value": record["value"],
                            "above": record["above"],
                            "below": record["below"],
                            "config": config_name,
                        }
                elif not record["holds"]:
                    facts_differed.setdefault(record["name"], []).append(config_name)
        table[chapter] = {
            "runs": {
                name: {"seconds": run["seconds"], "ok": not run["error"], "error": run["error"]}
                for name, run in runs.items()
            },
            "closest_margins": dict(
                sorted(closest.items(), key=lambda kv: kv[1]["relative_margin"])
            ),
            "facts_differed": facts_differed,
        }
    return table


def count_checks(notebook: Path) -> dict[str, int]:
    """Count a chapter's checks by kind: (a) ``assert`` / ``assert_close`` / ``allclose``
    identities, (b) ``measured(...)`` claims, (c) ``build_fact(...)`` facts (and legacy
    ``check(...)`` calls, counted apart)."""
    import ast

    counts = {"identity": 0, "measured": 0, "build_fact": 0, "check": 0}
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(
            line[: len(line) - len(line.lstrip())] + "pass"
            if line.lstrip().startswith(("%", "!"))
            else line
            for line in cell.source.splitlines()
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Assert):
                counts["identity"] += 1
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name in ("assert_close", "assert_allclose"):
                    counts["identity"] += 1
                elif name in counts and name != "identity":
                    counts[name] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", action="store_true", help="only count each chapter's checks")
    parser.add_argument("--jobs", type=int, default=2, help="configurations run at once")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--config", action="append", help="only these configurations")
    parser.add_argument(
        "--output", type=Path, default=None,
        help=f"where the table goes (default: {OUTPUT.relative_to(REPO)}, for a full run only)",
    )  # fmt: skip
    parser.add_argument(
        "--venv-config", action="append", default=[], metavar="NAME=VENV[:OFFSET]",
        help="an extra configuration: another environment (e.g. the newest PyTorch)",
    )  # fmt: skip
    parser.add_argument("chapters", nargs="*", help="chapter names (default: all)")
    args = parser.parse_args()
    extra = []
    for item in args.venv_config:
        name, _, rest = item.partition("=")
        venv, _, offset = rest.partition(":")
        if not name or not venv:
            raise SystemExit(f"robust: --venv-config wants NAME=VENV[:OFFSET], got {item!r}")
        env = {"LINBOOK_SEED_OFFSET": offset} if offset else {}
        extra.append(Config(name, venv, f"{venv} 中的 PyTorch，种子偏移 {offset or 0}", env))
    configs = [c for c in (*CONFIGS, *extra) if not args.config or c.name in args.config]
    notebooks = [n for n in chapters() if not args.chapters or n.stem in args.chapters]
    if args.count:
        print(f"{'chapter':<24} identity  measured  build_fact  check")
        for notebook in sorted(notebooks):
            c = count_checks(notebook)
            print(f"{notebook.stem:<24} {c['identity']:8d}  {c['measured']:8d}  "
                  f"{c['build_fact']:10d}  {c['check']:5d}")  # fmt: skip
        return 0
    started = time.perf_counter()
    env_versions = {c.name: versions(c) for c in configs}
    work = Path(tempfile.mkdtemp(prefix="linbook-robust-"))
    os.environ["JUPYTER_PATH"] = str(work / "jupyter")
    print(f"robustness matrix: {len(notebooks)} chapters x {len(configs)} configurations, "
          f"{args.jobs} at a time")  # fmt: skip
    # Every (configuration, chapter) pair is one job; two run at a time, the longest chapters
    # first, so that both cores stay busy to the end.
    results = {c.name: {} for c in configs}
    jobs = [(c, nb) for nb in notebooks for c in configs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_notebook, c, nb, work, args.timeout): (c, nb) for c, nb in jobs}
        for future in concurrent.futures.as_completed(futures):
            config, notebook = futures[future]
            results[config.name][notebook.stem] = future.result()
    table = summarize(configs, results)
    wall = time.perf_counter() - started

    failed = []
    print("\nPer chapter: completed in every configuration? closest margins of measured claims")
    for chapter, row in table.items():
        bad = [name for name, run in row["runs"].items() if not run["ok"]]
        failed += [f"{chapter} [{name}]: {row['runs'][name]['error']}" for name in bad]
        print(
            f"\n{chapter}: {'FAILED in ' + ', '.join(bad) if bad else 'ok in every configuration'}"
        )
        for claim, m in list(row["closest_margins"].items())[:50]:
            print(
                f"    margin {m['margin']:+.4g} ({m['relative_margin']:+.0%} of the bound)  "
                f"({m['config']})  {claim}"
            )
        for fact, where in row["facts_differed"].items():
            print(f"    build fact noted (not raised) in {', '.join(where)}: {fact}")
    record = {
        "date": datetime.date.today().isoformat(),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "wall_seconds": round(wall),
        "configs": [
            {"name": c.name, "description": c.description, "env": c.env, **env_versions[c.name]}
            for c in configs
        ],
        "chapters": table,
        "check_counts": {n.stem: count_checks(n) for n in notebooks},
    }
    output = args.output or (OUTPUT if not args.chapters and not args.config else None)
    if output is not None:
        output.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n")
        print(f"\nwrote {output}")
    print(f"robustness matrix: {wall:.0f} s wall")
    if failed:
        print("\nFAILED:\n" + "\n".join(f"  - {f}" for f in failed))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
