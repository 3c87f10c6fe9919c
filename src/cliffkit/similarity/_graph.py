"""The sparse neighbour graph returned by :func:`find_neighbors`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ShapeMismatchError

__all__ = ["NeighborGraph", "default_k"]


def default_k(n: int) -> int:
    """The paper's neighbourhood size ``max(4, min(24, floor(sqrt(n))))``.

    Examples
    --------
    >>> default_k(10), default_k(100), default_k(130831)
    (4, 10, 24)
    """
    return max(4, min(24, math.isqrt(max(int(n), 0))))


@dataclass
class NeighborGraph:
    """Top-k Tanimoto neighbours of each query molecule, in CSR form.

    Row ``i`` lists the neighbours of query ``i`` in the reference set, sorted by
    similarity descending; equal similarities are ordered by reference index
    ascending.

    Attributes
    ----------
    indptr : numpy.ndarray of int64, shape (n_query + 1,)
        Row ``i`` occupies ``indices[indptr[i]:indptr[i + 1]]``.
    indices : numpy.ndarray of int64, shape (nnz,)
        Neighbour indices into the reference set.
    similarities : numpy.ndarray of float64, shape (nnz,)
        Exact Tanimoto similarities ``c / (a + b - c)``.
    n_reference : int
        Size of the reference set.
    params : dict
        Search parameters (``k``, ``min_similarity``, ``exclude_self`` ...).
    """

    indptr: np.ndarray
    indices: np.ndarray
    similarities: np.ndarray
    n_reference: int
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.indptr = np.ascontiguousarray(self.indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(self.indices, dtype=np.int64)
        self.similarities = np.ascontiguousarray(self.similarities, dtype=np.float64)
        self.n_reference = int(self.n_reference)
        if self.indptr.ndim != 1 or len(self.indptr) < 1 or self.indptr[0] != 0:
            raise ShapeMismatchError("NeighborGraph.indptr must be 1-D and start at 0.")
        nnz = int(self.indptr[-1])
        if len(self.indices) != nnz or len(self.similarities) != nnz:
            raise ShapeMismatchError(
                f"NeighborGraph has indptr[-1] = {nnz} but {len(self.indices)} indices and "
                f"{len(self.similarities)} similarities; they must be equal."
            )

    @property
    def n_query(self) -> int:
        """Number of query molecules (rows)."""
        return len(self.indptr) - 1

    @property
    def nnz(self) -> int:
        """Number of stored neighbour pairs."""
        return int(self.indptr[-1])

    def __len__(self) -> int:
        return self.n_query

    def __repr__(self) -> str:
        return (
            f"NeighborGraph(n_query={self.n_query}, n_reference={self.n_reference}, "
            f"nnz={self.nnz}, params={self.params})"
        )

    def row(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour indices and similarities of query ``i``."""
        lo, hi = self.indptr[i], self.indptr[i + 1]
        return self.indices[lo:hi], self.similarities[lo:hi]

    def degree(self) -> np.ndarray:
        """Number of neighbours per query, shape (n_query,)."""
        return np.diff(self.indptr)

    def first_similarity(self) -> np.ndarray:
        """Similarity of each row's first (most similar) neighbour, shape (n_query,); 0 if none."""
        out = np.zeros(self.n_query)
        deg = self.degree()
        has = deg > 0
        out[has] = self.similarities[self.indptr[:-1][has]]
        return out

    def query_indices(self) -> np.ndarray:
        """Query (row) index of every stored pair, shape (nnz,)."""
        return np.repeat(np.arange(self.n_query, dtype=np.int64), self.degree())

    def to_frame(self):
        """The pairs as a :class:`pandas.DataFrame` with columns query, neighbor, similarity."""
        import pandas as pd

        return pd.DataFrame(
            {
                "query": self.query_indices(),
                "neighbor": self.indices,
                "similarity": self.similarities,
            }
        )

    def to_scipy(self):
        """The graph as a ``scipy.sparse.csr_array`` of shape (n_query, n_reference)."""
        from scipy import sparse

        return sparse.csr_array(
            (self.similarities, self.indices, self.indptr),
            shape=(self.n_query, self.n_reference),
        )

    def restrict(self, ref_mask: np.ndarray, *, renumber: bool = False) -> NeighborGraph:
        """Keep only neighbours whose reference index is in ``ref_mask``.

        Parameters
        ----------
        ref_mask : array of bool, shape (n_reference,), or array of int indices
            Reference molecules to keep.
        renumber : bool, default=False
            If True, neighbour indices are renumbered to positions among the kept
            references (``np.flatnonzero(ref_mask)`` order) and ``n_reference``
            becomes the number kept.

        Notes
        -----
        Rows keep their order, so they are still sorted; they may hold fewer
        than ``k`` neighbours. Neighbours beyond the top-k of the full search are
        not recovered: for exact top-k within a subset, search that subset.
        """
        mask = np.asarray(ref_mask)
        if mask.dtype != bool:
            full = np.zeros(self.n_reference, dtype=bool)
            full[mask.astype(np.int64)] = True
            mask = full
        if mask.shape != (self.n_reference,):
            raise ShapeMismatchError(
                f"restrict() needs a mask of length n_reference={self.n_reference}; "
                f"got shape {mask.shape}."
            )
        keep = mask[self.indices]
        counts = np.bincount(self.query_indices()[keep], minlength=self.n_query)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        indices = self.indices[keep]
        n_ref = self.n_reference
        if renumber:
            new_pos = np.cumsum(mask) - 1
            indices = new_pos[indices]
            n_ref = int(mask.sum())
        return NeighborGraph(
            indptr, indices, self.similarities[keep], n_ref, dict(self.params)
        )

    def save(self, path) -> None:
        """Write the graph to an ``.npz`` file atomically."""
        import json

        from ..utils import atomic_write

        with atomic_write(path, "wb") as fh:
            np.savez(
                fh,
                indptr=self.indptr,
                indices=self.indices,
                similarities=self.similarities,
                n_reference=np.int64(self.n_reference),
                params=np.array(json.dumps(self.params, sort_keys=True, default=str)),
            )

    @classmethod
    def load(cls, path) -> NeighborGraph:
        """Read a graph written by :meth:`save`."""
        import json

        # an open file of our own: np.load leaks its handle when the zip is truncated
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:
            return cls(
                z["indptr"], z["indices"], z["similarities"], int(z["n_reference"]),
                json.loads(str(z["params"])),
            )
