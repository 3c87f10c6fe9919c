"""The ``ray`` executor: grid tasks as Ray tasks, on one machine or a cluster.

Ray is an optional extra (the ``ray`` extra, :func:`cliffkit.errors.install_hint`); this module imports it
only when an executor is built. Each task declares its resources (``num_cpus``, and
one GPU for a torch backbone when the cluster has GPUs) and is retried by Ray when
its worker dies (``max_retries``). Results come back to the driver, which writes
every cell record itself, atomically (see :mod:`cliffkit.bench._runner`), so a
cell is finished exactly when its record exists: a retried task that finishes is
written once, and a rerun skips what is written.

Workers read the split files and the data folder, so on several nodes the output
folder and ``CLIFFKIT_DATA_DIR`` must be on a file system shared at the same path
(``docs/scaling.md``). ``CLIFFKIT_DATA_DIR`` is passed on to the workers.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InvalidParameterError, require
from ..similarity._distributed import connect_ray
from ..utils import Interval, import_user_registrations, user_registrations, validate_params
from ._executor import Executor, register_executor

__all__ = ["RayExecutor"]

# backbones that train with torch (a GPU helps them); lgbm does not
_TORCH_BACKBONES = frozenset({"mlp", "gin", "dmpnn", "schnet", "chemprop"})


def _is_address(value: Any) -> bool:
    """None, ``"auto"``, ``"local"``, ``"host:port"`` or ``"ray://host:port"``."""
    return value is None or (isinstance(value, str) and bool(value.strip()))


def _run_with_threads(fn: Callable[[Any], Any], task: Any, n_threads: int,
                      modules: tuple[str, ...] = ()) -> Any:
    """Run ``fn(task)`` in a Ray worker with torch using ``n_threads`` threads, after
    importing ``modules`` (those that registered the user's own backbones, losses ...:
    a Ray worker imports a fresh cliffkit that knows only the built-ins).

    Ray reuses worker processes between tasks, and torch fixes its thread count
    when first imported, so it is set here, per task, to the CPUs the task holds.
    """
    import_user_registrations(list(modules))
    os.environ["OMP_NUM_THREADS"] = str(n_threads)
    if "torch" in sys.modules or importlib.util.find_spec("torch") is not None:
        import torch

        if torch.get_num_threads() != n_threads:
            torch.set_num_threads(n_threads)
    return fn(task)


def _ray_modules() -> tuple[str, ...]:
    """The modules a Ray worker must import to know the user's own registry entries.

    Raises
    ------
    InvalidParameterError
        An entry registered in the main script (or ``python -c``, a notebook): Ray workers
        do not run the main script, so they could never see it.
    """
    found = user_registrations()
    if "__main__" in found:
        raise InvalidParameterError(
            f"{', '.join(found['__main__'])} registered in the main script cannot be seen by "
            "Ray workers (they do not run it); define it in a module (a .py file importable "
            "on every node) and import that, or use the local executor."
        )
    return tuple(sorted(found))


def _failure(exc: BaseException) -> dict:
    """The runner's failed-outcome record for a task Ray could not finish."""
    from ._runner import _error_record

    return {"status": "failed", "error": _error_record(exc), "seconds": None}


def _task_backbone(task: Any) -> str | None:
    """The backbone name of a runner cell payload ``(cell_fn, cell, split_path)``."""
    from ._config import Cell

    if isinstance(task, tuple):
        for item in task:
            if isinstance(item, Cell):
                return item.backbone
    return None


@register_executor("ray")
class RayExecutor(Executor):
    """Run grid tasks as Ray tasks (``--executor ray``).

    Parameters
    ----------
    address : str, optional
        Cluster to use: None (a local instance, or ``RAY_ADDRESS``), ``"auto"``
        (the cluster started with ``ray start`` on this node) or
        ``"ray://host:10001"`` (Ray Client). An existing ``ray.init()`` in this
        process is used as is.
    num_cpus : float, default=1
        CPUs each task declares; torch in the task uses that many threads.
    num_gpus : float, optional
        GPUs each torch-backbone cell declares. None: 1 when the cluster has
        GPUs, else 0. Splits and non-torch cells never ask for a GPU.
    max_retries : int, default=3
        How often Ray reruns a task whose worker died (killed, out of memory).
        Exceptions inside a cell are not retried: the runner records them.

    Raises
    ------
    MissingDependencyError
        Ray is not installed (the ``ray`` extra, :func:`cliffkit.errors.install_hint`).
    """

    _parameter_constraints = {
        "address": [_is_address],
        "num_cpus": [Interval(float, 0, None, closed="neither")],
        "num_gpus": [None, Interval(float, 0, None)],
        "max_retries": [Interval(int, -1, None)],
    }

    def __init__(self, address: str | None = None, num_cpus: float = 1, num_gpus: float | None = None,
                 max_retries: int = 3) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.max_retries = max_retries
        self._params = {"address": address, "num_cpus": num_cpus, "num_gpus": num_gpus,
                        "max_retries": max_retries}
        self._started = False
        self._ray = None
        require("ray", "ray", "The 'ray' executor")

    def _connect(self):
        if self._ray is None or not self._ray.is_initialized():
            self._ray, started = connect_ray(self.address, feature="The 'ray' executor")
            self._started = self._started or started
        return self._ray

    def _gpus(self, task: Any, cluster_gpus: float) -> float:
        backbone = _task_backbone(task)
        if backbone is None or backbone not in _TORCH_BACKBONES:
            return 0
        if self.num_gpus is not None:
            return self.num_gpus
        return 1 if cluster_gpus >= 1 else 0

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        validate_params(self._parameter_constraints, self._params, type(self).__name__)
        tasks = list(tasks)
        if not tasks:
            return
        modules = _ray_modules()
        ray = self._connect()
        cluster_gpus = float(ray.cluster_resources().get("GPU", 0))
        n_threads = max(1, int(self.num_cpus))
        remote = ray.remote(_run_with_threads)
        fn_ref = ray.put(fn)
        refs: dict[Any, Any] = {}
        for task in tasks:
            opts: dict[str, Any] = {"num_cpus": self.num_cpus, "max_retries": self.max_retries}
            gpus = self._gpus(task, cluster_gpus)
            if gpus:
                opts["num_gpus"] = gpus
            refs[remote.options(**opts).remote(fn_ref, task, n_threads, modules)] = task
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        result = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError,
                            ray.exceptions.TaskCancelledError, ray.exceptions.NodeDiedError,
                            ray.exceptions.OutOfMemoryError) as exc:
                        # the worker died more often than max_retries: the runner
                        # records the task as failed and a rerun tries it again
                        result = _failure(exc)
                    yield refs[ref], result
        finally:
            for ref in pending:
                ray.cancel(ref)

    def close(self) -> None:
        """Shut Ray down if this executor started it."""
        if self._started and self._ray is not None and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
        self._ray = None
