"""Greedy, support-preserving choice of held-out molecules (the core of CliffSplit).

State: for every molecule the number of its listed neighbours (similarity >= τ_s) that are
still in the training set. A molecule may be held out only if it keeps at least one
training neighbour, and only if no molecule already held out would lose its last one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._graph import transpose

__all__ = ["SupportState", "top_contributors", "select_heldout"]


@dataclass
class SupportState:
    """Support counts over a neighbour graph of all molecules.

    Attributes
    ----------
    indptr, indices : numpy.ndarray of int64
        The neighbour lists (global indices).
    rev_indptr, rev_indices : numpy.ndarray of int64
        Reverse lists: rows that list each molecule.
    support : numpy.ndarray of int64
        Listed neighbours still in training.
    held : numpy.ndarray of bool
        Already held out (validation or test).
    locked : numpy.ndarray of bool
        Must stay in training (partners of chosen cliff cases).
    """

    indptr: np.ndarray
    indices: np.ndarray
    rev_indptr: np.ndarray
    rev_indices: np.ndarray
    support: np.ndarray
    held: np.ndarray
    locked: np.ndarray

    @classmethod
    def from_graph(cls, graph) -> SupportState:
        indptr = np.asarray(graph.indptr, dtype=np.int64)
        indices = np.asarray(graph.indices, dtype=np.int64)
        n = indptr.shape[0] - 1
        rp, ri = transpose(indptr, indices, n)
        return cls(indptr, indices, rp, ri, np.diff(indptr).astype(np.int64),
                   np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))

    def feasible(self, c: int, lock: np.ndarray | None = None) -> bool:
        """Whether ``c`` can be held out now (and its ``lock`` set is still in training)."""
        if self.held[c] or self.locked[c] or self.support[c] < 1:
            return False
        if lock is not None and lock.size and self.held[lock].any():
            return False
        rev = self.rev_indices[self.rev_indptr[c]:self.rev_indptr[c + 1]]
        if rev.size and (self.held[rev] & (self.support[rev] < 2)).any():
            return False
        return True

    def take(self, c: int, lock: np.ndarray | None = None) -> None:
        """Hold ``c`` out and keep ``lock`` in training."""
        self.held[c] = True
        rev = self.rev_indices[self.rev_indptr[c]:self.rev_indptr[c + 1]]
        self.support[rev] -= 1
        if lock is not None and lock.size:
            self.locked[lock] = True

    def check(self) -> bool:
        """Recount support from scratch: every held molecule has a training neighbour."""
        in_train = ~self.held
        rows = np.repeat(np.arange(self.held.shape[0]), np.diff(self.indptr))
        counts = np.bincount(rows, weights=in_train[self.indices], minlength=self.held.shape[0])
        return bool(np.array_equal(counts.astype(np.int64), self.support)
                    and (self.support[self.held] >= 1).all())


def top_contributors(graph, y: np.ndarray, m: int) -> np.ndarray:
    """For each row, the ``m`` neighbours with the largest strength ``sim * |Δy|``.

    Returns
    -------
    numpy.ndarray of int64, shape (n_rows, m)
        Global neighbour indices, -1 where a row has fewer than ``m`` neighbours.
    """
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    indices = np.asarray(graph.indices, dtype=np.int64)
    sims = np.asarray(graph.similarities, dtype=np.float64)
    n = indptr.shape[0] - 1
    deg = np.diff(indptr)
    width = int(deg.max()) if n and indices.size else 0
    out = np.full((n, m), -1, dtype=np.int64)
    if not width:
        return out
    rows = np.repeat(np.arange(n), deg)
    pos = np.arange(indices.shape[0]) - indptr[rows]
    strength = np.full((n, width), -np.inf)
    strength[rows, pos] = sims * np.abs(y[indices] - y[rows])
    nbr = np.full((n, width), -1, dtype=np.int64)
    nbr[rows, pos] = indices
    order = np.argsort(-strength, axis=1, kind="stable")[:, :m]
    top = np.take_along_axis(nbr, order, axis=1)
    out[:, : top.shape[1]] = top
    return out


def select_heldout(
    state: SupportState,
    n_select: int,
    n_cliff: int,
    cliff_pools: list[np.ndarray],
    rest_pool: np.ndarray,
    locks: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Choose ``n_select`` molecules, ``n_cliff`` of them from the cliff pools.

    Cliff pools (one per target, each in seeded order) are visited round-robin, so each
    target contributes equally; the rest comes from ``rest_pool`` (in seeded order). When
    a pool runs dry, the other fills the gap, so the size is met whenever the data allows.

    Parameters
    ----------
    state : SupportState
        Updated in place.
    cliff_pools : list of numpy.ndarray
        Candidate cliff cases per target.
    rest_pool : numpy.ndarray
        Supported non-cliff candidates.
    locks : list of numpy.ndarray, shape (n_samples, m) each
        Per target: the neighbours that must stay in training when a molecule is chosen
        as a cliff case of that target (-1 entries are ignored).

    Returns
    -------
    chosen : numpy.ndarray of int64
        In the order chosen.
    from_cliff : numpy.ndarray of bool
        Whether each chosen molecule came from a cliff pool.
    """
    chosen: list[int] = []
    from_cliff: list[bool] = []
    ptr = [0] * len(cliff_pools)
    live = [p.size > 0 for p in cliff_pools]

    def next_cliff(t: int) -> bool:
        pool, lk = cliff_pools[t], locks[t]
        while ptr[t] < pool.size:
            c = int(pool[ptr[t]])
            ptr[t] += 1
            lock = lk[c][lk[c] >= 0]
            if state.feasible(c, lock):
                state.take(c, lock)
                chosen.append(c)
                from_cliff.append(True)
                return True
        live[t] = False
        return False

    n_cliff = min(n_cliff, n_select)
    got_cliff = 0
    t = 0
    while got_cliff < n_cliff and any(live):
        if live[t] and next_cliff(t):
            got_cliff += 1
        t = (t + 1) % max(len(cliff_pools), 1)
    for c in rest_pool:
        if len(chosen) >= n_select:
            break
        c = int(c)
        if state.feasible(c):
            state.take(c)
            chosen.append(c)
            from_cliff.append(False)
    while len(chosen) < n_select and any(live):  # rest pool ran dry: more cliff cases
        if live[t] and next_cliff(t):
            got_cliff += 1
        t = (t + 1) % max(len(cliff_pools), 1)
    return np.asarray(chosen, dtype=np.int64), np.asarray(from_cliff, dtype=bool)
