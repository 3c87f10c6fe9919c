"""CSR helpers for splitters: restrict a neighbour graph to a reference subset, transpose it.

Every graph here is a :class:`cliffkit.similarity.NeighborGraph` (rows sorted by
similarity, descending).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..similarity import NeighborGraph

__all__ = ["CSRGraph", "from_edges", "restrict_rows", "transpose", "knn_against"]


#: The split's graphs are :class:`cliffkit.similarity.NeighborGraph` s (one graph type);
#: the old name is kept for code that imported it.
CSRGraph = NeighborGraph


def from_edges(n_rows: int, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray,
                n_reference: int, params: dict) -> NeighborGraph:
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return NeighborGraph(indptr, cols.astype(np.int64), sims.astype(np.float64), int(n_reference), params)


def restrict_rows(graph: Any, rows: np.ndarray, ref_pos: np.ndarray,
                  k: int) -> tuple[NeighborGraph, np.ndarray]:
    """Keep rows ``rows`` of ``graph`` and only neighbours inside a reference subset.

    Parameters
    ----------
    graph : NeighborGraph
        Graph over all molecules (reference indices are global).
    rows : numpy.ndarray of int64
        Global indices of the query rows to keep, in output order.
    ref_pos : numpy.ndarray of int64, shape (n_global,)
        Position of each global molecule in the reference subset, -1 if outside it.
    k : int
        Keep at most the ``k`` most similar reference neighbours per row.

    Returns
    -------
    graph : NeighborGraph
        Rows in ``rows`` order, reference indices into the subset.
    n_kept : numpy.ndarray of int64
        Reference neighbours found per row before truncation to ``k`` (to tell which rows
        may be incomplete).
    """
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    starts, ends = indptr[rows], indptr[rows + 1]
    lens = ends - starts
    total = int(lens.sum())
    row_id = np.repeat(np.arange(rows.shape[0], dtype=np.int64), lens)
    offs = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens)
    edge = np.repeat(starts, lens) + offs
    cols = ref_pos[np.asarray(graph.indices, dtype=np.int64)[edge]]
    keep = cols >= 0
    row_id, edge, cols = row_id[keep], edge[keep], cols[keep]
    n_kept = np.bincount(row_id, minlength=rows.shape[0]).astype(np.int64)
    first = np.cumsum(n_kept) - n_kept
    rank = np.arange(row_id.shape[0], dtype=np.int64) - first[row_id]
    keep = rank < k
    sims = np.asarray(graph.similarities, dtype=np.float64)[edge[keep]]
    params = {**(getattr(graph, "params", None) or {}), "k": int(k)}
    g = from_edges(rows.shape[0], row_id[keep], cols[keep], sims,
                    int((ref_pos >= 0).sum()), params)
    return g, n_kept


def transpose(indptr: np.ndarray, indices: np.ndarray, n_reference: int) -> tuple[np.ndarray, np.ndarray]:
    """Reverse adjacency: for each reference j, the query rows that list j (ascending)."""
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    t_indices = rows[order]
    t_indptr = np.zeros(n_reference + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n_reference), out=t_indptr[1:])
    return t_indptr, t_indices


def knn_against(fps: np.ndarray, query: np.ndarray, reference: np.ndarray, *, k: int,
                min_similarity: float, query_in_reference: bool,
                n_jobs: int | None = None) -> NeighborGraph:
    """Exact top-``k`` neighbours of ``fps[query]`` among ``fps[reference]`` (subset positions).

    With ``query_in_reference`` each query's own entry is removed (reference positions are
    compared with the query's position in ``reference``).
    """
    params = {"k": int(k), "min_similarity": float(min_similarity)}
    if query.size == 0 or reference.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return from_edges(int(query.shape[0]), z, z, np.zeros(0), int(reference.shape[0]), params)
    from ..similarity import find_neighbors

    extra = 1 if query_in_reference else 0
    g = find_neighbors(fps[query], fps[reference], k=min(k + extra, reference.shape[0]),
                       min_similarity=min_similarity, exclude_self=False, n_jobs=n_jobs)
    indptr = np.asarray(g.indptr, dtype=np.int64)
    indices = np.asarray(g.indices, dtype=np.int64)
    sims = np.asarray(g.similarities, dtype=np.float64)
    rows = np.repeat(np.arange(query.shape[0], dtype=np.int64), np.diff(indptr))
    keep = np.ones(indices.shape[0], dtype=bool)
    if query_in_reference:
        pos = np.full(int(max(reference.max(initial=-1), query.max(initial=-1))) + 1, -1, np.int64)
        pos[reference] = np.arange(reference.shape[0])
        keep = indices != pos[query][rows]
    rows, indices, sims = rows[keep], indices[keep], sims[keep]
    counts = np.bincount(rows, minlength=query.shape[0])
    first = np.cumsum(counts) - counts
    rank = np.arange(rows.shape[0]) - first[rows]
    keep = rank < k
    return from_edges(query.shape[0], rows[keep], indices[keep], sims[keep], reference.shape[0],
                      params)
