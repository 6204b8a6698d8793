"""What machine and library versions a run used: for the book's status page and the matrix."""

from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["cpu_model", "describe_environment"]


def cpu_model() -> str:
    """Return the CPU's model name, read from the system (never typed in).

    Linux: ``/proc/cpuinfo``; elsewhere ``platform.processor()``, else the architecture.

    Examples
    --------
    >>> isinstance(cpu_model(), str) and len(cpu_model()) > 0
    True
    """
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def describe_environment() -> dict[str, str]:
    """Return the run's machine and versions: CPU, cores, OS, Python, PyTorch, NumPy, GPU.

    Examples
    --------
    >>> sorted(describe_environment())[:3]
    ['CPU', 'GPU', 'NumPy']
    """
    import numpy
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PyTorch": torch.__version__,
        "PyTorch threads": str(torch.get_num_threads()),
        "NumPy": numpy.__version__,
        "GPU": gpu,
    }
