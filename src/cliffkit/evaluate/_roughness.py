"""Label-free strata: how rough a molecule's *training* neighbourhood is.

CliffSplit's strata use the test molecule's own label, which a user deploying a model does
not have. The roughness score uses only the training neighbours' labels, so it exists for
any molecule, new ones included:

    roughness_i = sqrt( Σ_j s_ij (y_j − m_i)² / Σ_j s_ij ),   m_i = Σ_j s_ij y_j / Σ_j s_ij

over the training neighbours j of i (top-k, Tanimoto s_ij ≥ τ_s, as in the split): the
similarity-weighted standard deviation of the neighbours' labels, in target units. It is
NaN with fewer than two such neighbours. :func:`roughness_auc` measures how well it finds
the label-based cliff cases (ROC AUC, cliff vs smooth, ``sklearn.metrics.roc_auc_score``);
``evaluate`` scores the model on the roughest and the calmest test molecules by this score,
beside the label-based strata. The cut points are the 80th and 50th percentiles of the
*training* molecules' scores (each training molecule scored from its other training
neighbours), so that they exist before any test label or test set is seen, as they would
for a deployed model; the shares of test molecules above and below them are reported
(CliffSplit's test set is rougher than its training set, so more than 20% of it can fall
above the training 80th percentile).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError

__all__ = ["roughness_auc", "roughness_masks", "roughness_scores"]


def roughness_scores(graph, y_reference, *, min_neighbors: int = 2) -> np.ndarray:
    """Similarity-weighted SD of each query molecule's training neighbours' labels.

    Parameters
    ----------
    graph : NeighborGraph
        Query → training neighbours (``indptr``, ``indices`` into ``y_reference``,
        ``similarities``), already restricted to the support (similarity ≥ τ_s).
    y_reference : array-like of float, shape (n_reference,)
        Training labels (the only labels used).
    min_neighbors : int, default=2

    Returns
    -------
    numpy.ndarray of float64, shape (n_query,)
        NaN where a molecule has fewer than ``min_neighbors`` neighbours.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> g = SimpleNamespace(indptr=np.array([0, 2, 3]), indices=np.array([0, 1, 1]),
    ...                     similarities=np.array([0.5, 0.5, 0.9]))
    >>> roughness_scores(g, [1.0, 3.0]).tolist()
    [1.0, nan]
    """
    y = np.asarray(y_reference, dtype=np.float64).reshape(-1)
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    sims = np.asarray(graph.similarities, dtype=np.float64)
    vals = y[np.asarray(graph.indices, dtype=np.int64)]
    w = np.bincount(rows, weights=sims, minlength=n)
    cnt = np.bincount(rows, minlength=n)
    out = np.full(n, np.nan)
    ok = (w > 0) & (cnt >= int(min_neighbors))
    if not ok.any():
        return out
    mean = np.zeros(n)
    mean[ok] = np.bincount(rows, weights=sims * vals, minlength=n)[ok] / w[ok]
    var = np.bincount(rows, weights=sims * (vals - mean[rows]) ** 2, minlength=n)
    out[ok] = np.sqrt(np.maximum(var[ok] / w[ok], 0.0))
    return out


def roughness_masks(scores, *, top: float = 0.2, bottom: float = 0.5,
                    reference=None) -> dict[str, np.ndarray]:
    """The roughest ``top`` share and the calmest ``bottom`` share of the molecules with a score.

    Parameters
    ----------
    scores : array-like of float, shape (n,)
    top, bottom : float
        Shares, with ``top + bottom <= 1``.
    reference : array-like of float, optional
        Scores of other molecules (the training set) whose quantiles set the cut points:
        roughest = score ≥ the ``1 − top`` quantile of ``reference``, calmest = score ≤ its
        ``bottom`` quantile (``numpy.quantile``, linear). Without it, the shares of
        ``scores`` themselves (ties broken by position, stable sort).

    Returns
    -------
    dict
        ``{"roughest": mask, "calmest": mask}`` (boolean, shape (n,)); molecules without a
        score are in neither. With ``reference`` also ``"cuts"``: (roughest cut, calmest
        cut), NaN when ``reference`` has no finite score.

    Raises
    ------
    InvalidParameterError
        ``top``/``bottom`` out of range.

    Examples
    --------
    >>> m = roughness_masks([0.1, 0.5, 0.9, 2.0], reference=np.arange(11) / 10)
    >>> m["roughest"].tolist(), m["calmest"].tolist(), m["cuts"]
    ([False, False, True, True], [True, True, False, False], (0.8, 0.5))
    """
    if not (0 < top < 1 and 0 < bottom < 1 and top + bottom <= 1):
        raise InvalidParameterError(f"top and bottom must be in (0, 1) with top + bottom <= 1; "
                                    f"got {top!r} and {bottom!r}.")
    s = np.asarray(scores, dtype=np.float64)
    if reference is not None:
        r = np.asarray(reference, dtype=np.float64)
        r = r[np.isfinite(r)]
        if r.size == 0:
            z = np.zeros(s.shape, dtype=bool)
            return {"roughest": z, "calmest": z.copy(), "cuts": (float("nan"), float("nan"))}
        q_top, q_bot = (float(v) for v in np.quantile(r, [1 - top, bottom]))
        fin = np.isfinite(s)
        calm = fin & (s <= q_bot)
        rough = fin & (s >= q_top) & ~calm
        return {"roughest": rough, "calmest": calm, "cuts": (q_top, q_bot)}
    idx = np.flatnonzero(np.isfinite(s))
    order = idx[np.argsort(s[idx], kind="stable")]
    n = order.size
    rough = np.zeros(s.shape, dtype=bool)
    calm = np.zeros(s.shape, dtype=bool)
    n_top, n_bot = int(round(top * n)), int(round(bottom * n))
    if n_top:
        rough[order[n - n_top:]] = True
    calm[order[:n_bot]] = True
    return {"roughest": rough, "calmest": calm}


def roughness_auc(scores, strata) -> float:
    """ROC AUC of the score for the label-based cliff cases (cliff = 1 vs smooth = 0).

    Molecules in other strata or without a score are left out; NaN when either class is
    empty. Uses ``sklearn.metrics.roc_auc_score``.
    """
    from sklearn.metrics import roc_auc_score

    s = np.asarray(scores, dtype=np.float64)
    st = np.asarray(strata).astype(str)
    keep = np.isfinite(s) & np.isin(st, ["cliff", "smooth"])
    lab = st[keep] == "cliff"
    if lab.all() or not lab.any():
        return float("nan")
    return float(roc_auc_score(lab, s[keep]))
