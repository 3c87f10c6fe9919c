"""cliffkit: find where molecular property models fail, on property cliffs.

Public API (loaded lazily, so ``import cliffkit`` is cheap)::

    from cliffkit import load_dataset, CliffSplit, CliffLoss, evaluate, Report
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it
_LAZY = {
    "load_dataset": "cliffkit.data",
    "list_datasets": "cliffkit.data",
    "Dataset": "cliffkit.data",
    "find_neighbors": "cliffkit.similarity",
    "CliffSplit": "cliffkit.split",
    "RandomSplit": "cliffkit.split",
    "ScaffoldSplit": "cliffkit.split",
    "CliffLoss": "cliffkit.loss",
    "evaluate": "cliffkit.evaluate",
    "run_experiment": "cliffkit.experiment",
    "Report": "cliffkit.report",
}
_SUBPACKAGES = {
    "data", "similarity", "cliffs", "split", "loss", "models", "train",
    "evaluate", "experiment", "report", "bench", "cli", "errors", "utils",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover - for editors and type checkers
    from .data import Dataset, list_datasets, load_dataset  # noqa: F401
    from .evaluate import evaluate  # noqa: F401
    from .loss import CliffLoss  # noqa: F401
    from .report import Report  # noqa: F401
    from .similarity import find_neighbors  # noqa: F401
    from .split import CliffSplit, RandomSplit, ScaffoldSplit  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"cliffkit.{name}")
    raise AttributeError(f"module 'cliffkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBPACKAGES})
