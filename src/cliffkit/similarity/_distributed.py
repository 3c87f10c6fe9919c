"""Exact neighbour search split into row blocks that run as Ray tasks.

The reference fingerprints go into Ray's object store once (``ray.put``); every
task reads them from there (zero-copy on its node) and searches one block of query
rows with :func:`find_neighbors`. Blocks are cut from the queries sorted by bit
count, as the local search does, so that its popcount bounds prune as well. A row's top-k depends only on
that row and the references, so merging the blocks in order gives the graph the
local search gives, array for array.

For all-against-all (self excluded), a block searches ``k + 1`` neighbours without
self-exclusion and then drops the pair ``(i, i)``: removing one element from the
first ``k + 1`` of a total order (similarity descending, reference index
ascending) leaves the first ``k`` of the others, so the result is the same.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import time
from typing import Any

import numpy as np

from ..errors import require
from ..utils import Interval, validated
from ._graph import NeighborGraph
from ._search import _CONSTRAINTS as _SEARCH_CONSTRAINTS
from ._search import _popcount_rows, _prepare, find_neighbors

__all__ = ["connect_ray", "find_neighbors_distributed"]

# The search keywords shared with find_neighbors, defined once there (name, default,
# constraint); n_jobs (here each task's threads come from num_cpus) and the checkpoint
# keywords belong to the local search only.
_SHARED = ("k", "min_similarity", "exclude_self", "backend", "block_size", "ref_shard_size",
           "show_progress")
_SEARCH = {name: p for name, p in inspect.signature(find_neighbors).parameters.items()
           if name in _SHARED}
_CONSTRAINTS = {
    **{name: _SEARCH_CONSTRAINTS[name] for name in _SHARED},
    "rows_per_task": [None, Interval(int, 1, None)],
    "num_cpus": [Interval(float, 0, None, closed="neither")],
    "max_retries": [Interval(int, -1, None)],
}


def _search_block(q_all, ref, rows, k, min_similarity, drop_self, backend, block_size,
                  n_threads, ref_shard_size=None):
    """One task: query ``rows`` of ``q_all`` against ``ref`` -> (counts, indices, sims)."""
    g = find_neighbors(q_all[rows], ref, k=k + 1 if drop_self else k,
                       min_similarity=min_similarity, exclude_self=False, backend=backend,
                       block_size=block_size, n_jobs=n_threads, ref_shard_size=ref_shard_size)
    counts = np.diff(g.indptr)
    indices, sims = g.indices, g.similarities
    if drop_self:
        pos = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        keep = indices != rows[pos]
        pos, indices, sims = pos[keep], indices[keep], sims[keep]
        # rank within the row after dropping self; keep the first k
        counts = np.bincount(pos, minlength=len(rows))
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        keep = (np.arange(len(pos)) - starts) < k
        pos, indices, sims = pos[keep], indices[keep], sims[keep]
        counts = np.bincount(pos, minlength=len(rows))
    return counts.astype(np.int64), indices, sims, g.params


#: per-task search diagnostics that add up over the tasks
_SUMMED = ("pairs_bounded", "pairs_scored", "setup_seconds")


def _merge_task_params(params: dict, task_params: list[dict]) -> dict:
    """The local search's ``params`` keys for a search run as tasks, filled in place.

    Counters (``pairs_bounded``, ``pairs_scored``, ``setup_seconds``) are summed over the
    tasks; any other diagnostic (``backend``, ``sketch``, ``bits_shared``,
    ``reference_shards``, pass fractions ...) is kept when every task reports the same
    value and is a list of the tasks' values otherwise; ``tasks`` is the task count.
    The defining keys (``k``, ``min_similarity``, ``exclude_self``, ``n_bits``) are
    ``params``' own and never overwritten.

    Examples
    --------
    >>> _merge_task_params({"k": 2}, [{"k": 3, "backend": "torch", "pairs_scored": 5},
    ...                               {"k": 3, "backend": "torch", "pairs_scored": 7}])
    {'k': 2, 'backend': 'torch', 'pairs_scored': 12, 'tasks': 2}
    """
    defining = set(params)
    keys: list[str] = []
    for tp in task_params:
        keys += [k for k in tp if k not in keys and k not in defining and k != "seconds"]
    for key in keys:
        values = [tp[key] for tp in task_params if key in tp]
        if key in _SUMMED:
            total = sum(values)
            params[key] = round(total, 3) if isinstance(total, float) else total
        elif all(v == values[0] for v in values):
            params[key] = values[0]
        else:
            params[key] = values
    params["tasks"] = len(task_params)
    return params


def _with_search_keywords(func):
    """Put find_neighbors' search keywords (``_SHARED``) into ``func``'s signature.

    ``func`` is ``(fps, ref_fps=None, *, <its own keywords>, **search)``; its signature
    (what ``help``, :func:`inspect.signature` and :func:`validated` see, so an unknown
    keyword raises ``TypeError`` as before) becomes ``(fps, ref_fps=None, *, k,
    min_similarity, exclude_self, backend, block_size, <its own keywords>,
    show_progress)`` with find_neighbors' defaults; ``func`` reads ``search`` through
    :func:`_search_args`.
    """
    params = list(inspect.signature(func).parameters.values())[:-1]  # less **search
    head = [_SEARCH[name] for name in _SHARED[:-1]]
    func.__signature__ = inspect.signature(func).replace(
        parameters=[*params[:2], *head, *params[2:], _SEARCH["show_progress"]])
    return func


def _search_args(search: dict[str, Any]) -> dict[str, Any]:
    """The shared search keywords as given, find_neighbors' defaults for the others."""
    return {**{name: p.default for name, p in _SEARCH.items()}, **search}


@validated(_CONSTRAINTS)
@_with_search_keywords
def find_neighbors_distributed(
    fps: np.ndarray,
    ref_fps: np.ndarray | None = None,
    *,
    rows_per_task: int | None = None,
    address: str | None = None,
    num_cpus: float = 1,
    max_retries: int = 3,
    **search: Any,
) -> NeighborGraph:
    """:func:`find_neighbors` with query row blocks run as Ray tasks.

    Same result as :func:`find_neighbors` (identical ``indptr``, ``indices`` and
    ``similarities``). ``fps``, ``ref_fps`` and the keywords ``k``, ``min_similarity``,
    ``exclude_self``, ``backend``, ``block_size``, ``ref_shard_size`` (each task searches
    the references in shards) and ``show_progress`` are :func:`find_neighbors`' (its
    defaults and checks, declared there once), plus:

    Parameters
    ----------
    rows_per_task : int, optional
        Query rows per task. Default: the rows split into four tasks per CPU of
        the cluster (at least 256 rows each). Each task prepares the references
        once (popcount sort, bit unpacking), so very small blocks waste time.
    address : str, optional
        Ray cluster (None: local instance or ``RAY_ADDRESS``; ``"auto"``;
        ``"ray://host:10001"``); an existing ``ray.init()`` is used as is.
    num_cpus : float, default=1
        CPUs each task declares; its search uses that many threads.
    max_retries : int, default=3
        Reruns of a task whose worker died.

    Returns
    -------
    NeighborGraph
        ``params`` holds the local search's keys: ``k`` (the ``k`` used),
        ``min_similarity``, ``exclude_self``, ``n_bits``, ``backend`` and ``seconds``
        (wall time of the whole search) as :func:`find_neighbors` gives them; the pair
        counts ``pairs_bounded``, ``pairs_scored`` and ``setup_seconds`` summed over the
        tasks (a task excluding self asks for ``k + 1`` neighbours, so the counts can
        differ from the local search's); every other search diagnostic (``sketch``,
        ``bits_shared``, ``reference_shards`` ...) as the tasks report it when they all
        agree, else a list with one value per task; plus ``tasks``, the task count.

    Raises
    ------
    MissingDependencyError
        Ray is not installed (the ``ray`` extra, :func:`cliffkit.errors.install_hint`).
    """
    search = _search_args(search)
    k, min_similarity = search["k"], search["min_similarity"]
    backend, block_size = search["backend"], search["block_size"]
    prep = _prepare(fps, ref_fps, k, min_similarity, search["exclude_self"])
    if isinstance(prep, NeighborGraph):
        return prep
    q_fps, r_fps, same, exclude_self, k_eff, params = prep
    n_q, n_r = len(q_fps), len(r_fps)

    t0 = time.perf_counter()
    ray, started = connect_ray(address, feature="find_neighbors_distributed")
    try:
        if rows_per_task is None:
            cpus = float(ray.cluster_resources().get("CPU", 1))
            n_tasks = max(1, int(4 * cpus / num_cpus))
            rows_per_task = max(256, math.ceil(n_q / n_tasks))
        ref_obj = ray.put(r_fps)
        q_obj = ref_obj if same else ray.put(q_fps)
        task = ray.remote(_search_block).options(num_cpus=num_cpus, max_retries=max_retries)
        n_threads = max(1, int(num_cpus))
        # blocks of queries with similar bit counts prune best (as in the local search)
        order = np.argsort(_popcount_rows(q_fps), kind="stable")
        blocks = [order[s:s + rows_per_task] for s in range(0, n_q, rows_per_task)]
        refs = [
            task.remote(q_obj, ref_obj, rows, k_eff, float(min_similarity), exclude_self,
                        backend, block_size, n_threads, search["ref_shard_size"])
            for rows in blocks
        ]
        results = _gather(ray, refs, [len(b) for b in blocks], search["show_progress"])
    finally:
        if started:
            ray.shutdown()
    # back to query order; a stable sort keeps each row's neighbours in their order
    row_of = np.concatenate([np.repeat(b, r[0]) for b, r in zip(blocks, results, strict=True)])
    back = np.argsort(row_of, kind="stable")
    indptr = np.zeros(n_q + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of, minlength=n_q), out=indptr[1:])
    indices = np.concatenate([r[1] for r in results]).astype(np.int64, copy=False)[back]
    sims = np.concatenate([r[2] for r in results]).astype(np.float64, copy=False)[back]
    _merge_task_params(params, [r[3] for r in results])
    params["seconds"] = round(time.perf_counter() - t0, 3)
    return NeighborGraph(indptr, indices, sims, n_r, params)


def connect_ray(address: str | None = None, *, feature: str = "Ray", **init_kwargs: Any):
    """Return the ``ray`` module, connected to a cluster.

    Parameters
    ----------
    address : str, optional
        None starts a local Ray instance on this machine (or joins the one named
        by ``RAY_ADDRESS``); ``"auto"`` joins the cluster this node belongs to
        (``ray start``); ``"ray://host:10001"`` connects through Ray Client.
    feature : str, default="Ray"
        What needs Ray, for the error message.
    **init_kwargs
        Passed to ``ray.init`` (e.g. ``num_cpus`` for a local instance).

    Returns
    -------
    module, bool
        ``ray`` and whether this call started the connection (then the caller
        should ``ray.shutdown()`` when done).

    Raises
    ------
    MissingDependencyError
        Ray is not installed.
    """
    ray = require("ray", "ray", feature)
    if ray.is_initialized():
        return ray, False
    kwargs: dict[str, Any] = {"address": address}
    env = {k: os.environ[k] for k in ("CLIFFKIT_DATA_DIR",) if k in os.environ}
    if env:
        kwargs["runtime_env"] = {"env_vars": env}
    if not (address or "").startswith("ray://"):
        kwargs["logging_level"] = logging.WARNING
        if address in (None, "local"):
            kwargs["include_dashboard"] = False
    kwargs.update(init_kwargs)
    ray.init(**kwargs)
    return ray, True


def _gather(ray, refs, sizes, show_progress):
    """Wait for every block (progress over rows), then return the results in row order."""
    import sys

    if show_progress is None:
        show_progress = sys.stderr.isatty()
    bar = None
    if show_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(sizes), desc="neighbours (ray)", unit="mol", smoothing=0.05)
    rows = dict(zip(refs, sizes, strict=True))
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            if bar is not None:
                bar.update(sum(rows[r] for r in done))
    except BaseException:
        for ref in pending:
            ray.cancel(ref)
        raise
    finally:
        if bar is not None:
            bar.close()
    return ray.get(refs)
