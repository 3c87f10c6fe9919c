"""Executors: where grid tasks run.

The runner hands an executor a function and a list of tasks and consumes results
as they complete; it never knows whether they ran in this process, in a process
pool or on a cluster. The function never raises (the runner wraps it), and its
return value must be picklable. Writing results is the runner's job, in the
calling process, so a remote worker needs no access to the output folder except
to read split files (a shared file system on a cluster).

Each task the runner submits is a tuple ``(work_fn, item, path)`` where ``item`` is a
:class:`~cliffkit.bench.SplitSpec` or a :class:`~cliffkit.bench.Cell` (so an executor
can read ``item.backbone`` to ask for a GPU); ``fn(task)`` returns a small dict
(status, metrics, predictions frame, error), never raises for a failing cell, and only
lets ``KeyboardInterrupt``/``SystemExit`` through.

Add an executor with :func:`register_executor` (and import its module from
``cliffkit/bench/__init__.py`` so that the registration runs)::

    @register_executor("ray")
    class RayExecutor(Executor):
        def map_unordered(self, fn, tasks): ...
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InvalidParameterError
from ..utils import (
    Interval,
    Registry,
    import_user_registrations,
    user_registrations,
    validate_params,
)

__all__ = ["Executor", "LocalExecutor", "get_executor", "list_executors", "register_executor"]

#: The executor registry (``cliffkit bench --executor``).
EXECUTORS: Registry[type[Executor]] = Registry(
    "executor", on_register=lambda key, cls: setattr(cls, "name", key))


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    """Class decorator: make an :class:`Executor` available as ``--executor NAME``."""
    return EXECUTORS.register(name)


def list_executors() -> list[str]:
    """Registered executor names, sorted."""
    return sorted(EXECUTORS.list())


def get_executor(name: str | Executor = "local", **params: Any) -> Executor:
    """An executor by registry name (``"local"``) or an instance, returned as is."""
    if isinstance(name, Executor):
        return name
    return EXECUTORS.get(name)(**params)


class Executor(ABC):
    """Runs ``fn(task)`` for each task and yields ``(task, result)`` as each completes."""

    name = "base"

    @abstractmethod
    def map_unordered(self, fn: Callable[[Any], Any], tasks: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(task, fn(task))`` pairs, in completion order.

        On ``KeyboardInterrupt`` or when the consumer stops iterating, tasks not yet
        started must be cancelled.
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers (no-op by default)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "_params", {}).items())
        return f"{type(self).__name__}({params})"


@register_executor("local")
class LocalExecutor(Executor):
    """In this process (``n_jobs=1``, the default) or a pool of worker processes.

    Parameters
    ----------
    n_jobs : int, default=1
        Worker processes. With 1, tasks run one after another in this process,
        which is what a 2-core machine wants when each task already uses the cores
        (torch, LightGBM). Workers are started with ``spawn``, so they import a
        fresh cliffkit and never inherit torch's thread state; each also imports the
        modules that registered the user's own entries (a backbone, loss ... registered
        with ``register_backbone`` etc.; :func:`cliffkit.utils.user_registrations`), so
        the workers know them too.

    Raises
    ------
    InvalidParameterError
        (``n_jobs > 1``) an entry registered in a main program without a file
        (``python -c``, a notebook), which worker processes cannot import.
    """

    _parameter_constraints = {"n_jobs": [Interval(int, 1, None)]}

    def __init__(self, n_jobs: int = 1) -> None:
        self.n_jobs = n_jobs
        self._params = {"n_jobs": n_jobs}

    def map_unordered(self, fn, tasks):
        validate_params(self._parameter_constraints, self._params, type(self).__name__)
        tasks = list(tasks)
        if self.n_jobs == 1:
            for task in tasks:
                yield task, fn(task)
            return
        modules = _worker_modules(self.n_jobs)
        ctx = multiprocessing.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // self.n_jobs)
        pool = cf.ProcessPoolExecutor(max_workers=self.n_jobs, mp_context=ctx,
                                      initializer=_init_worker, initargs=(threads, modules))
        finished = False
        try:
            futures = {pool.submit(fn, task): task for task in tasks}
            for fut in cf.as_completed(futures):
                yield futures[fut], fut.result()
            finished = True
        finally:
            if not finished:
                # Interrupted (Ctrl-C, SIGTERM) or the consumer stopped: nobody will write
                # the running cells' results, so stop the workers now instead of waiting
                # for their cells (a worker left behind would run on as an orphan).
                _terminate_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)


def _terminate_workers(pool: cf.ProcessPoolExecutor) -> None:
    """Terminate a process pool's workers (Python < 3.14 has no public call for it)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:  # Python >= 3.14
        terminate()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        if proc.is_alive():
            proc.terminate()


def _worker_modules(n_jobs: int) -> list[str]:
    """The modules a worker must import to know the user's own registry entries."""
    import sys

    found = user_registrations()
    main = sys.modules.get("__main__")
    if "__main__" in found and not getattr(main, "__file__", None):
        raise InvalidParameterError(
            f"{', '.join(found['__main__'])} registered in a main program without a file "
            f"(python -c, a notebook) cannot be seen by the {n_jobs} worker processes; "
            "define it in a module (a .py file on the path) and import that, or use n_jobs=1 "
            "(--n-jobs 1)."
        )
    return sorted(found)


def _init_worker(n: int, modules: list[str]) -> None:
    """Worker initializer: thread limits, then the user's registration modules."""
    _limit_threads(n)
    import_user_registrations(modules)


def _limit_threads(n: int) -> None:
    """Worker initializer: share the cores between workers (before torch is imported).

    Workers ignore SIGINT: Ctrl-C reaches the whole process group, and the parent, not each
    worker, stops the grid (it terminates the workers), so no worker prints a traceback.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def check_executor_name(name: str) -> None:
    """Raise :class:`UnknownNameError` for an executor that is not registered."""
    EXECUTORS.get(name)
