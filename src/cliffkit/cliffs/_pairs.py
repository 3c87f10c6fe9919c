"""Training cliff pairs for the pairwise term of CliffLoss."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError
from ._severity import _edges, _scale

__all__ = ["CliffPairs", "cliff_pairs", "train_cliff_pairs"]


@dataclass
class CliffPairs:
    """Unordered training pairs ``(i, j)`` with ``i < j``, sorted by ``(i, j)``.

    Attributes
    ----------
    i, j : numpy.ndarray of int64, shape (n_pairs,)
        Indices into the training set.
    similarity : numpy.ndarray of float64, shape (n_pairs,)
    delta : numpy.ndarray of float64, shape (n_pairs,)
        Signed ``y_j - y_i``.
    strength : numpy.ndarray of float64, shape (n_pairs,)
        ``similarity * |delta| / scale``.
    scale : float
        The |Δy| scale used.
    threshold : float
        Pairs kept have ``strength > threshold`` (quantile mode) or ``|delta| >= threshold``
        (delta mode, target units).
    """

    i: np.ndarray
    j: np.ndarray
    similarity: np.ndarray
    delta: np.ndarray
    strength: np.ndarray
    scale: float
    threshold: float
    mode: str

    def __len__(self) -> int:
        return int(self.i.shape[0])

    def __repr__(self) -> str:
        return f"CliffPairs(n_pairs={len(self)}, mode={self.mode!r}, threshold={self.threshold:.4g})"


def cliff_pairs(
    graph,
    y,
    *,
    quantile: float = 0.8,
    min_strength: float | None = None,
    delta: float | None = None,
    scale: float | None = None,
) -> CliffPairs:
    """Training pairs whose strength marks a cliff.

    Each kept edge of the train–train graph is a candidate pair; an edge listed in both
    directions is one pair. A pair is kept when its scaled strength
    ``sim * |Δy| / scale`` is above a threshold.

    Parameters
    ----------
    graph : NeighborGraph
        Train–train neighbour graph (self excluded).
    y : array-like of shape (n_train,)
    quantile : float, default=0.8
        Threshold = this quantile of the scaled strengths of all unique pairs.
    min_strength : float, optional
        Threshold in scaled-strength units instead of a quantile.
    delta : float, optional
        Keep pairs with ``|Δy| >= delta`` (target units) instead.
    scale : float, optional
        |Δy| scale; default :func:`~cliffkit.cliffs.severity_scale` of the graph (the 95th
        percentile of |Δy| over its pairs, of the nonzero ones when that is 0).

    Returns
    -------
    CliffPairs
    """
    if not 0 <= quantile <= 1:
        raise InvalidParameterError(f"The 'quantile' parameter of cliff_pairs must be in [0, 1]; got {quantile!r}.")
    indptr, indices, sims, deg, rows, dy = _edges(graph, y, y)
    if scale is None:
        scale = _scale(np.abs(dy))
    div = scale if (np.isfinite(scale) and scale > 0) else 1.0
    a = np.minimum(rows, indices)
    b = np.maximum(rows, indices)
    keep = a != b
    a, b, s, d = a[keep], b[keep], sims[keep], dy[keep]
    d = np.where(rows[keep] == a, d, -d)  # orient as y_b - y_a
    n_ref = int(max(indptr.shape[0] - 1, indices.max() + 1 if indices.size else 0))
    key = a * n_ref + b
    key, first = np.unique(key, return_index=True)
    a, b, s, d = a[first], b[first], s[first], d[first]
    strength = s * np.abs(d) / div
    if delta is not None:
        if not delta > 0:
            raise InvalidParameterError(f"The 'delta' parameter of cliff_pairs must be > 0; got {delta!r}.")
        sel = np.abs(d) >= delta
        mode, thr = "delta", float(delta)
    else:
        if min_strength is not None:
            thr = float(min_strength)
        else:
            thr = float(np.quantile(strength, quantile)) if strength.size else 0.0
        sel = strength > thr
        mode = "quantile" if min_strength is None else "strength"
    return CliffPairs(i=a[sel], j=b[sel], similarity=s[sel], delta=d[sel],
                      strength=strength[sel], scale=float(scale), threshold=thr, mode=mode)


#: Alias named in docs/architecture.md.
train_cliff_pairs = cliff_pairs
