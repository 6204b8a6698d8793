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

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS: dict[str, str] = {
    "Timer": "timer",
    "synthetic_data": "data",
    "load_array": "data",
    "TensorLoader": "data",
    "FASHION_MNIST_LABELS": "data",
    "FashionMNISTNotFoundError": "data",
    "CorruptDataError": "data",
    "fashion_mnist_search_path": "data",
    "fashion_mnist_source": "data",
    "find_fashion_mnist": "data",
    "read_fashion_mnist": "data",
    "load_data_fashion_mnist": "data",
    "get_fashion_mnist_labels": "data",
    "use_svg_display": "plotting",
    "set_figsize": "plotting",
    "set_axes": "plotting",
    "plot": "plotting",
    "show_images": "plotting",
    "Animator": "plotting",
    "set_seed": "train",
    "try_gpu": "train",
    "Accumulator": "train",
    "accuracy": "train",
    "evaluate_accuracy": "train",
    "train_epoch_ch3": "train",
    "train_ch3": "train",
    "History": "train",
    "sgd": "train",
    "glue": "notebook",
    "glue_table": "notebook",
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
