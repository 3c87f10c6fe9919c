"""The experiment grid: configs, a resumable runner, executors.

``run_grid(load_config("demo"), "results/")`` trains and evaluates every cell of
datasets x targets x split methods x backbones x losses x seeds, writing each
cell's result atomically under a key made from its config; a rerun skips finished
cells. :func:`load_results` reads a results folder back as one table, which
:func:`cliffkit.report.build_report` turns into a report.
"""

from ._config import (
    Cell,
    DatasetSpec,
    GridConfig,
    SplitSpec,
    list_configs,
    load_config,
)
from ._executor import Executor, LocalExecutor, get_executor, list_executors, register_executor
from ._ray import RayExecutor  # registers the "ray" executor; imports ray only when used
from ._results import load_results
from ._runner import CellResult, GridSummary, cell_status, run_grid

__all__ = [
    "Cell",
    "CellResult",
    "DatasetSpec",
    "Executor",
    "GridConfig",
    "GridSummary",
    "LocalExecutor",
    "RayExecutor",
    "SplitSpec",
    "cell_status",
    "get_executor",
    "list_configs",
    "list_executors",
    "load_config",
    "load_results",
    "register_executor",
    "run_grid",
]
