"""linbook: the helpers shared by the chapters of 「线性神经网络」.

``from linbook import ...`` replaces ``from d2l import torch as d2l`` in the book's code:
the names (``Timer``, ``synthetic_data``, ``load_array``, ``load_data_fashion_mnist``,
``Animator``, ``train_ch3`` ...) and their call signatures follow d2l 0.17.6.

Importing ``linbook`` itself is cheap: each submodule (and torch, matplotlib) is imported
only when one of its names is first used. Nothing here needs a network, a display or
credentials at import time.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

#: The modules whose every public name (their ``__all__``) is also a name of the package:
#: the d2l-style core. The others are used as modules: ``from linbook import covid``.
TOP_LEVEL_MODULES: tuple[str, ...] = (
    "timer", "data", "fashion_mnist", "plotting", "train", "metrics", "notebook", "claims"
)  # fmt: skip

# public name -> submodule that defines it (tests/test_import.py checks it against the
# modules' __all__, so that the two cannot drift apart)
_EXPORTS: dict[str, str] = {
    "Timer": "timer",
    "synthetic_data": "data",
    "load_array": "data",
    "TensorLoader": "data",
    "MemmapLoader": "data",
    "FASHION_MNIST_LABELS": "fashion_mnist",
    "FASHION_MNIST_URLS": "fashion_mnist",
    "FASHION_MNIST_FILES": "fashion_mnist",
    "BENCHMARK_LOGISTIC_ACCURACY": "fashion_mnist",
    "DEBIAN_FASHION_MNIST_DIR": "fashion_mnist",
    "FashionMNISTNotFoundError": "fashion_mnist",
    "CorruptDataError": "fashion_mnist",
    "fashion_mnist_search_path": "fashion_mnist",
    "fashion_mnist_source": "fashion_mnist",
    "find_fashion_mnist": "fashion_mnist",
    "read_fashion_mnist": "fashion_mnist",
    "load_data_fashion_mnist": "fashion_mnist",
    "get_fashion_mnist_labels": "fashion_mnist",
    "use_svg_display": "plotting",
    "set_figsize": "plotting",
    "set_axes": "plotting",
    "plot": "plotting",
    "show_images": "plotting",
    "Animator": "plotting",
    "set_seed": "claims",
    "seed": "claims",
    "seed_offset": "claims",
    "rng": "claims",
    "generator": "claims",
    "is_build": "claims",
    "measured": "claims",
    "build_fact": "claims",
    "SEED_OFFSET_ENV": "claims",
    "BUILD_ENV": "claims",
    "CLAIMS_LOG_ENV": "claims",
    "CALIBRATE_ENV": "claims",
    "try_gpu": "train",
    "model_device": "train",
    "Accumulator": "train",
    "accuracy": "train",
    "evaluate_accuracy": "train",
    "train_epoch_ch3": "train",
    "train_ch3": "train",
    "sgd": "train",
    "History": "train",
    "KeepBest": "train",
    "OPTIMIZERS": "train",
    "SCHEDULES": "train",
    "make_optimizer": "train",
    "lr_factor": "train",
    "make_scheduler": "train",
    "predict": "metrics",
    "confusion_matrix": "metrics",
    "per_class_accuracy": "metrics",
    "most_confused": "metrics",
    "plot_confusion_matrix": "metrics",
    "predict_ch3": "metrics",
    "glue": "notebook",
    "markdown_table": "notebook",
    "glue_table": "notebook",
    "show_source": "notebook",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'linbook' has no attribute {name!r}")
    module = importlib.import_module(f".{module_name}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
