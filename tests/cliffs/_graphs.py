"""Hand-made neighbour graphs (the CSR layout of cliffkit.similarity.NeighborGraph)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def make_graph(rows, n_reference=None, k=None):
    """rows: list of lists of (reference index, similarity), each sorted by similarity desc."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.array([j for r in rows for j, _ in r], dtype=np.int64)
    sims = np.array([s for r in rows for _, s in r], dtype=np.float64)
    if n_reference is None:
        n_reference = len(rows)
    if k is None:
        k = max((len(r) for r in rows), default=1)
    return SimpleNamespace(indptr=indptr, indices=indices, similarities=sims,
                           n_reference=n_reference, params={"k": k})


# Four training molecules, y = [0, 1, 3, 3], k = 2 neighbours each.
Y_TRAIN = np.array([0.0, 1.0, 3.0, 3.0])
TRAIN_ROWS = [
    [(1, 0.8), (2, 0.5)],
    [(0, 0.8), (3, 0.4)],
    [(3, 0.9), (0, 0.5)],
    [(2, 0.9), (1, 0.4)],
]
# Three test molecules against that training set: T (y=2), U (no support), V (y=10).
Y_TEST = np.array([2.0, 5.0, 10.0])
TEST_ROWS = [[(2, 0.7), (1, 0.6)], [], [(0, 0.5)]]
