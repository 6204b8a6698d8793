"""Benchmark: chapter 2.2's softmax regression trained by d2l 0.17.6 and by linbook, side by side.

    make bench
    # = PYTHONPATH=bench/.d2l .venv/bin/python bench/bench_fashion_mnist.py [--epochs 10]

Both paths train the same model from the same initial weights (``nn.Flatten`` +
``nn.Linear(784, 10)``, weights ~ N(0, 0.01²), ``CrossEntropyLoss``, SGD lr 0.1, batch 256):

(a) d2l: ``d2l.load_data_fashion_mnist`` (torchvision dataset, PIL ``ToTensor`` per image,
    ``DataLoader`` with 4 worker processes) + ``d2l.train_epoch_ch3`` + ``d2l.evaluate_accuracy``;
(b) linbook: ``linbook.load_data_fashion_mnist`` (whole set decoded once into a tensor) +
    ``linbook.train_epoch_ch3`` + ``linbook.evaluate_accuracy``.

Epochs alternate A/B (ABBA order, so slow drifts of the machine hit both paths alike). One
"epoch" is a full pass over the 60 000 training images plus the evaluation on the 10 000 test
images. The script prints the median wall-clock and CPU seconds per epoch (d2l's CPU time
includes its worker processes), their ratios, both test accuracies, and an arithmetic lower
bound: the epoch's matrix-multiply FLOPs divided by the FLOP/s of a
large matrix product measured on this machine. A JSON record goes to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # linbook from this checkout
sys.path.insert(0, str(BENCH_DIR))

from d2l_path import d2l_load_data_fashion_mnist, import_d2l, prepare_torchvision_root  # noqa: E402

import linbook  # noqa: E402
from linbook.train import evaluate_accuracy, set_seed, train_epoch_ch3  # noqa: E402

BATCH_SIZE, LR, NUM_INPUTS, NUM_OUTPUTS = 256, 0.1, 784, 10


def make_net() -> nn.Module:
    net = nn.Sequential(nn.Flatten(), nn.Linear(NUM_INPUTS, NUM_OUTPUTS))
    nn.init.normal_(net[1].weight, std=0.01)
    return net


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def matmul_flops_per_s(n: int = 1024, repeats: int = 10) -> float:
    """Best FLOP/s of an n×n by n×n float32 product (torch's default threads)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def epoch_matmul_seconds(n_train: int, n_test: int, repeats: int = 3) -> float:
    """Seconds of just the epoch's matrix products, at the model's shapes, as autograd runs them.

    Forward: ``addmm(b, X, Wᵀ)`` with X (256, 784); backward: the weight gradient, which
    PyTorch computes as ``Gᵀ·X`` (G = ∂loss/∂O, (256, 10)) because Wᵀ is a transposed view.
    """
    X = torch.rand(BATCH_SIZE, NUM_INPUTS)
    W = torch.randn(NUM_OUTPUTS, NUM_INPUTS)
    b = torch.randn(NUM_OUTPUTS)
    G = torch.randn(BATCH_SIZE, NUM_OUTPUTS)
    train_batches = -(-n_train // BATCH_SIZE)
    test_batches = -(-n_test // BATCH_SIZE)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(train_batches):
            torch.addmm(b, X, W.t())  # forward
            G.t().mm(X)  # gradient of W
        for _ in range(test_batches):
            torch.addmm(b, X, W.t())
        best = min(best, time.perf_counter() - start)
    return best


def eager_floor_seconds(n_train: int, n_test: int, repeats: int = 3) -> float:
    """Seconds of the bare eager PyTorch work of one epoch, with no data reading or bookkeeping.

    The chapter's training step (forward, loss, ``zero_grad``, backward, ``SGD.step``) on one
    fixed in-memory batch, once per training batch, then the forward pass once per test batch:
    what any eager loop over this model, loss, optimizer and batch size has to spend here.
    """
    net = make_net()
    loss = nn.CrossEntropyLoss()
    updater = torch.optim.SGD(net.parameters(), lr=LR)
    X = torch.rand(BATCH_SIZE, 1, 28, 28)
    y = torch.randint(0, NUM_OUTPUTS, (BATCH_SIZE,))
    train_batches = -(-n_train // BATCH_SIZE)
    test_batches = -(-n_test // BATCH_SIZE)
    best = float("inf")
    for _ in range(repeats + 1):  # the first pass warms up
        start = time.perf_counter()
        for _ in range(train_batches):
            updater.zero_grad()
            loss(net(X), y).backward()
            updater.step()
        with torch.no_grad():
            for _ in range(test_batches):
                net(X).argmax(dim=1)
        best = min(best, time.perf_counter() - start)
    return best


def forward_orientations(repeats: int = 200) -> tuple[float, float]:
    """Seconds of one forward product as nn.Linear computes it, X·Wᵀ, and as (W·Xᵀ)ᵀ."""
    X = torch.rand(BATCH_SIZE, NUM_INPUTS)
    W = torch.randn(NUM_OUTPUTS, NUM_INPUTS)
    results = []
    for product in (lambda: X @ W.t(), lambda: (W @ X.t()).t()):
        product()
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(repeats):
                product()
            best = min(best, (time.perf_counter() - start) / repeats)
        results.append(best)
    return results[0], results[1]


def loader_seconds(train_iter, test_iter, repeats: int = 3) -> float:
    """Best time of one pass over both loaders, doing nothing with the batches."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in train_iter:
            pass
        for _ in test_iter:
            pass
        best = min(best, time.perf_counter() - start)
    return best


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_epoch(path: dict) -> tuple[float, float, float, float, float]:
    """Train one epoch and evaluate; return (seconds, CPU seconds, loss, train acc, test acc).

    The CPU seconds include d2l's DataLoader workers: they exit (and are reaped) at the end
    of each pass, since d2l does not ask for persistent workers.
    """
    cpu_start, start = cpu_seconds(), time.perf_counter()
    train_loss, train_acc = path["train_epoch"](
        path["net"], path["train_iter"], path["loss"], path["updater"]
    )
    test_acc = path["evaluate"](path["net"], path["test_iter"])
    return (time.perf_counter() - start, cpu_seconds() - cpu_start, train_loss, train_acc, test_acc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per path (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch.set_num_threads for both paths (default: torch's choice)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=BENCH_DIR / "results",
        help="folder for the JSON record (default bench/results)",
    )
    args = parser.parse_args()
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    d2l = import_d2l()
    # Two warnings that d2l's own code triggers on every epoch, and that say nothing new
    # here: its DataLoader asks for 4 workers (more than the CPUs of a small machine), and
    # its train_epoch_ch3 calls float() on a loss that requires grad.
    warnings.filterwarnings("ignore", message="This DataLoader will create")
    warnings.filterwarnings("ignore", message="Converting a tensor with requires_grad=True")
    load_avg_start = os.getloadavg()
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} logical CPUs, "
        f"torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY') or '(unset: spinning)'}"
    )
    print(f"load average at start (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in load_avg_start)}")

    # Data. Both loaders are built once; their load time is reported, not counted per epoch.
    tmp = tempfile.TemporaryDirectory(prefix="linbook-bench-")
    start = time.perf_counter()
    prepare_torchvision_root(tmp.name)
    d2l_train, d2l_test = d2l_load_data_fashion_mnist(d2l, BATCH_SIZE, tmp.name)
    d2l_load = time.perf_counter() - start
    start = time.perf_counter()
    lb_train, lb_test = linbook.load_data_fashion_mnist(BATCH_SIZE, seed=args.seed)
    lb_load = time.perf_counter() - start
    # Same data on both sides: torchvision's decoded images equal linbook's, byte for byte.
    images, labels = linbook.read_fashion_mnist(train=True)
    assert torch.equal(d2l_train.dataset.data, images)
    assert torch.equal(d2l_train.dataset.targets, labels)
    print(
        f"data from {linbook.fashion_mnist_source()}; "
        f"load: d2l {d2l_load:.2f} s, linbook {lb_load:.2f} s (once, not in the epoch times)"
    )

    # Same initial weights; d2l's book passes reduction='none' (its train_epoch_ch3 sums
    # the loss for reporting), so both paths do, and report the same mean loss per example.
    set_seed(args.seed)
    net_d2l = make_net()
    net_lb = copy.deepcopy(net_d2l)
    paths = {
        "d2l": dict(
            net=net_d2l,
            train_iter=d2l_train,
            test_iter=d2l_test,
            loss=nn.CrossEntropyLoss(reduction="none"),
            updater=torch.optim.SGD(net_d2l.parameters(), lr=LR),
            train_epoch=d2l.train_epoch_ch3,
            evaluate=d2l.evaluate_accuracy,
        ),
        "linbook": dict(
            net=net_lb,
            train_iter=lb_train,
            test_iter=lb_test,
            loss=nn.CrossEntropyLoss(reduction="none"),
            updater=torch.optim.SGD(net_lb.parameters(), lr=LR),
            train_epoch=train_epoch_ch3,
            evaluate=evaluate_accuracy,
        ),
    }
    records = {name: [] for name in paths}
    print(
        f"\n{'epoch':>5} {'path':>8} {'seconds':>8} {'CPU s':>7} {'loss':>7} {'train acc':>9} "
        f"{'test acc':>8}"
    )
    for epoch in range(1, args.epochs + 1):
        order = ["d2l", "linbook"] if epoch % 2 else ["linbook", "d2l"]
        for name in order:
            seconds, cpu, loss, train_acc, test_acc = run_epoch(paths[name])
            records[name].append(
                dict(
                    seconds=seconds,
                    cpu_seconds=cpu,
                    train_loss=loss,
                    train_acc=train_acc,
                    test_acc=test_acc,
                )
            )
            print(
                f"{epoch:>5} {name:>8} {seconds:>8.3f} {cpu:>7.3f} {loss:>7.4f} "
                f"{train_acc:>9.4f} {test_acc:>8.4f}",
                flush=True,
            )

    median = {name: statistics.median(r["seconds"] for r in recs) for name, recs in records.items()}
    median_cpu = {
        name: statistics.median(r["cpu_seconds"] for r in recs) for name, recs in records.items()
    }
    final = {name: recs[-1]["test_acc"] for name, recs in records.items()}
    last = min(5, args.epochs)
    tail_mean = {
        name: statistics.fmean(r["test_acc"] for r in recs[-last:])
        for name, recs in records.items()
    }
    speedup = median["d2l"] / median["linbook"]

    # Arithmetic lower bound. Per training example: forward X·Wᵀ (2·d·q FLOPs) and the
    # weight gradient Gᵀ·X (2·d·q); no gradient w.r.t. X is needed. Per test example: 2·d·q.
    n_train, n_test = len(lb_train.dataset), len(lb_test.dataset)
    flops = (4 * n_train + 2 * n_test) * NUM_INPUTS * NUM_OUTPUTS
    peak = matmul_flops_per_s()
    bound = flops / peak
    skinny = epoch_matmul_seconds(n_train, n_test)
    floor = eager_floor_seconds(n_train, n_test)
    data_only = loader_seconds(lb_train, lb_test)
    as_linear, transposed = forward_orientations()
    load_avg_end = os.getloadavg()

    print(f"\nmedian seconds per epoch: d2l {median['d2l']:.3f}, linbook {median['linbook']:.3f}")
    print(
        f"speed-up of linbook over d2l: {speedup:.1f}x   (target >= 15x: "
        f"{'met' if speedup >= 15 else 'NOT met'})"
    )
    print(
        f"median CPU seconds per epoch (d2l: main process + its 4 workers): "
        f"d2l {median_cpu['d2l']:.3f}, linbook {median_cpu['linbook']:.3f}, "
        f"ratio {median_cpu['d2l'] / median_cpu['linbook']:.1f}x"
    )
    diff = 100 * (final["linbook"] - final["d2l"])
    print(
        f"final test accuracy: d2l {final['d2l']:.4f}, linbook {final['linbook']:.4f}, "
        f"difference {diff:+.2f} points (target within 0.5: "
        f"{'met' if abs(diff) <= 0.5 else 'NOT met'})"
    )
    print(
        f"mean test accuracy of the last {last} epochs: d2l {tail_mean['d2l']:.4f}, "
        f"linbook {tail_mean['linbook']:.4f}, difference "
        f"{100 * (tail_mean['linbook'] - tail_mean['d2l']):+.2f} points"
    )
    print(
        f"FLOPs per epoch (matrix products): {flops / 1e9:.3f} GFLOP; "
        f"measured 1024x1024 matmul: {peak / 1e9:.1f} GFLOP/s"
    )
    print(
        f"lower bound: {bound:.4f} s per epoch; linbook is {median['linbook'] / bound:.1f}x "
        f"the bound (goal within 4x: {'met' if median['linbook'] <= 4 * bound else 'NOT met'})"
    )
    print(
        f"the same products at the model's shapes (256x784 by 784x10, ...) take {skinny:.4f} s "
        f"({flops / skinny / 1e9:.1f} GFLOP/s); linbook is {median['linbook'] / skinny:.1f}x that"
    )
    print(
        f"bare eager PyTorch epoch (the same steps on one fixed batch, no data reading, no "
        f"bookkeeping): {floor:.4f} s = {floor / bound:.1f}x the bound; linbook is "
        f"{median['linbook'] / floor:.2f}x that"
    )
    print(
        f"one forward product X·Wᵀ (256x784 by 784x10) takes {1e6 * as_linear:.0f} µs; computed as "
        f"(W·Xᵀ)ᵀ it takes {1e6 * transposed:.0f} µs ({as_linear / transposed:.1f}x faster)"
    )
    rest = median["linbook"] - data_only - skinny
    print(
        f"linbook's epoch, roughly: reading batches {data_only:.3f} s, matrix products "
        f"{skinny:.3f} s, the rest (loss, autograd, optimizer, Python) {rest:.3f} s"
    )
    print(f"load average at end (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in load_avg_end)}")

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    record = dict(
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        time=stamp,
        machine=dict(
            cpu=cpu_name(),
            logical_cpus=os.cpu_count(),
            torch=torch.__version__,
            threads=torch.get_num_threads(),
            omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"),
            load_avg_start=load_avg_start,
            load_avg_end=load_avg_end,
        ),
        epochs=records,
        median_seconds=median,
        median_cpu_seconds=median_cpu,
        speedup=speedup,
        final_test_acc=final,
        tail_mean_test_acc=tail_mean,
        flops_per_epoch=flops,
        matmul_flops_per_s=peak,
        lower_bound_seconds=bound,
        skinny_matmul_seconds=skinny,
        eager_floor_seconds=floor,
        linbook_loader_seconds=data_only,
        forward_seconds=dict(as_linear=as_linear, transposed=transposed),
        load_seconds=dict(d2l=d2l_load, linbook=lb_load),
    )
    out = args.out / f"bench-{stamp}.json"
    out.write_text(json.dumps(record, indent=2))
    print(f"record written to {out}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
