"""The reference predictor: similarity-weighted mean of the training neighbours' labels.

A test molecule's severity is computed from its training neighbours' labels *and its
own*, so a cliff case is, by construction, one whose label differs from its
neighbours'. A predictor that simply averages the neighbours' labels therefore errs
more on cliff cases than on smooth ones without learning anything. Scoring it on the
same strata shows how much of a model's cliff/smooth ratio the definition creates by
itself; every cliffkit report prints it beside the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..similarity import MIN_SIMILARITY

__all__ = ["reference_predictions"]

_FALLBACKS = ("nearest", "train_mean")


def reference_predictions(
    graph: Any,
    y_reference,
    *,
    min_similarity: float = MIN_SIMILARITY,
    fallback: str = "nearest",
) -> np.ndarray:
    r"""Predict each query molecule as the similarity-weighted mean of its neighbours' labels.

    .. math::

        \hat y_i = \frac{\sum_{j \in N_i} s_{ij}\, y_j}{\sum_{j \in N_i} s_{ij}},
        \qquad N_i = \{ j \text{ among the top-}k \text{ training neighbours of } i :
        s_{ij} \ge \tau_s \}

    Parameters
    ----------
    graph : NeighborGraph
        Query (test) → reference (train) neighbours: ``indptr``, ``indices`` (positions
        in ``y_reference``) and ``similarities``; its top-k rows. Rows may hold
        neighbours below ``min_similarity`` (they are used only by the fallback).
    y_reference : array-like of float, shape (n_reference,)
        Training labels.
    min_similarity : float, default=0.35
        τ_s: neighbours at or above it are the molecule's support.
    fallback : {"nearest", "train_mean"}, default="nearest"
        For an *unsupported* molecule (no neighbour ≥ τ_s): ``"nearest"`` uses the
        similarity-weighted mean of the neighbours its row does hold (the nearest ones,
        below τ_s), and the training mean when the row is empty or all similarities
        are 0; ``"train_mean"`` always uses the training mean.

    Returns
    -------
    numpy.ndarray of float64, shape (n_query,)

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(indptr=np.array([0, 2, 3, 3]), indices=np.array([0, 1, 1]),
    ...                     similarities=np.array([0.8, 0.4, 0.2]))
    >>> reference_predictions(g, [1.0, 4.0]).tolist()
    [2.0, 4.0, 2.5]
    """
    if fallback not in _FALLBACKS:
        raise InvalidParameterError(
            f"The 'fallback' parameter of reference_predictions must be one of "
            f"{', '.join(map(repr, _FALLBACKS))}; got {fallback!r}."
        )
    if not (0.0 <= float(min_similarity) <= 1.0):
        raise InvalidParameterError(
            f"The 'min_similarity' parameter of reference_predictions must be in [0, 1]; "
            f"got {min_similarity!r}."
        )
    y = np.asarray(y_reference, dtype=np.float64).reshape(-1)
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    indices = np.asarray(graph.indices, dtype=np.int64)
    sims = np.asarray(graph.similarities, dtype=np.float64)
    if indices.size and (indices.max() >= y.shape[0] or indices.min() < 0):
        raise ShapeMismatchError(
            f"reference_predictions: the graph points at reference rows up to "
            f"{int(indices.max())}, but y_reference has {y.shape[0]} values."
        )
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    vals = y[indices]
    supp = sims >= min_similarity
    w_sup = np.bincount(rows, weights=np.where(supp, sims, 0.0), minlength=n)
    s_sup = np.bincount(rows, weights=np.where(supp, sims * vals, 0.0), minlength=n)
    mean = float(y.mean()) if y.size else float("nan")
    out = np.full(n, mean)
    has = w_sup > 0
    out[has] = s_sup[has] / w_sup[has]
    if fallback == "nearest":
        w_all = np.bincount(rows, weights=sims, minlength=n)
        s_all = np.bincount(rows, weights=sims * vals, minlength=n)
        near = ~has & (w_all > 0)
        out[near] = s_all[near] / w_all[near]
    return out
