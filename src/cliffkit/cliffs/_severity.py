"""Cliff severity of molecules from their neighbours in a reference set.

Everything here is vectorised numpy over the CSR arrays of a neighbour graph
(``indptr``, ``indices``, ``similarities``; see :class:`cliffkit.similarity.NeighborGraph`).
Any object with those three attributes works, which keeps this module free of the
fingerprint engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..utils import Interval, validated

__all__ = ["Severity", "compute_severity", "severity_scale", "default_m"]

#: Quantile (in percent) of |Δy| over kept neighbour pairs that scales severities.
SCALE_PERCENTILE = 95.0


def default_m(k: int) -> int:
    """Number of strongest pairs averaged into a severity: ``max(1, floor(sqrt(k)))``."""
    return max(1, math.isqrt(max(int(k), 0)))


@dataclass
class Severity:
    """Per-molecule cliff severity and cliff partner.

    Attributes
    ----------
    severity : numpy.ndarray of float64, shape (n_query,)
        Mean of the top-``m`` pair strengths divided by :attr:`scale`; 0 without support.
    supported : numpy.ndarray of bool, shape (n_query,)
        At least one reference neighbour in the graph (similarity >= ``min_similarity``).
    partner : numpy.ndarray of int64, shape (n_query,)
        Reference index of the neighbour with the largest strength (-1 if unsupported).
        Ties go to the more similar neighbour, then to the lower index.
    partner_similarity, partner_strength : numpy.ndarray of float64, shape (n_query,)
        Tanimoto similarity and strength ``sim * |Δy|`` (unscaled) of that pair; 0 if none.
    partner_delta : numpy.ndarray of float64, shape (n_query,)
        Signed ``y_partner - y_i``; 0 if none.
    max_abs_delta : numpy.ndarray of float64, shape (n_query,)
        Largest |Δy| to any kept neighbour; 0 if none.
    n_neighbors : numpy.ndarray of int64, shape (n_query,)
        Kept neighbours per molecule.
    scale : float
        The |Δy| scale (95th percentile over kept train–train pairs; see
        :func:`severity_scale`).
    m : int
        Number of strongest pairs averaged.
    params : dict
        How the severities were computed (``m``, ``scale``, ``delta``; a cliff definition
        adds its own). ``params["binary"]`` is True when every severity is a 0/1 flag
        (a rule such as MoleculeACE's: in a cliff pair or not); :func:`assign_strata`
        then labels cliff = severity > 0 and smooth = severity 0, whatever the quantiles.
    """

    severity: np.ndarray
    supported: np.ndarray
    partner: np.ndarray
    partner_similarity: np.ndarray
    partner_delta: np.ndarray
    partner_strength: np.ndarray
    max_abs_delta: np.ndarray
    n_neighbors: np.ndarray
    scale: float
    m: int
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.severity.shape[0])

    def __repr__(self) -> str:
        return (
            f"Severity(n={len(self)}, n_supported={int(self.supported.sum())}, "
            f"m={self.m}, scale={self.scale:.4g})"
        )

    def subset(self, idx: np.ndarray) -> Severity:
        """Rows ``idx`` (partners keep their reference indices)."""
        idx = np.asarray(idx, dtype=np.int64)
        return Severity(
            severity=self.severity[idx],
            supported=self.supported[idx],
            partner=self.partner[idx],
            partner_similarity=self.partner_similarity[idx],
            partner_delta=self.partner_delta[idx],
            partner_strength=self.partner_strength[idx],
            max_abs_delta=self.max_abs_delta[idx],
            n_neighbors=self.n_neighbors[idx],
            scale=self.scale,
            m=self.m,
            params=dict(self.params),
        )

    def to_frame(self):
        """A pandas DataFrame with one row per query molecule."""
        import pandas as pd

        return pd.DataFrame(
            {
                "severity": self.severity,
                "supported": self.supported,
                "partner": self.partner,
                "partner_similarity": self.partner_similarity,
                "partner_delta": self.partner_delta,
                "partner_strength": self.partner_strength,
                "max_abs_delta": self.max_abs_delta,
                "n_neighbors": self.n_neighbors,
            }
        )


def _csr(graph: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        indptr = np.asarray(graph.indptr, dtype=np.int64)
        indices = np.asarray(graph.indices, dtype=np.int64)
        sims = np.asarray(graph.similarities, dtype=np.float64)
    except AttributeError as exc:
        raise InvalidParameterError(
            "The 'graph' argument must be a NeighborGraph (indptr, indices, similarities); "
            f"got {type(graph).__name__}."
        ) from exc
    if indices.shape != sims.shape or indptr.ndim != 1 or indptr[-1] != indices.shape[0]:
        raise ShapeMismatchError(
            f"Neighbour graph is inconsistent: indptr ends at {int(indptr[-1])} but there are "
            f"{indices.shape[0]} indices and {sims.shape[0]} similarities."
        )
    return indptr, indices, sims


def _labels(y: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(y, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ShapeMismatchError(
            f"{name} must have shape ({n},) to match the neighbour graph; got {arr.shape}."
        )
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))[:5].tolist()
        raise InvalidParameterError(f"{name} holds non-finite values (rows {bad}); drop them first.")
    return arr


def _edges(graph: Any, y_query: Any, y_ref: Any):
    indptr, indices, sims = _csr(graph)
    n_query = indptr.shape[0] - 1
    yq = _labels(y_query, n_query, "y_query")
    n_ref = getattr(graph, "n_reference", None)
    if n_ref is None:
        n_ref = int(indices.max()) + 1 if indices.size else 0
    yr = _labels(y_ref, int(n_ref), "y_ref")
    deg = np.diff(indptr)
    rows = np.repeat(np.arange(n_query, dtype=np.int64), deg)
    delta = yr[indices] - yq[rows]
    return indptr, indices, sims, deg, rows, delta


def _scale(abs_delta: np.ndarray, percentile: float = SCALE_PERCENTILE) -> float:
    """The |Δy| scale of :func:`severity_scale` from the |Δy| of the kept pairs.

    The ``percentile`` of |Δy|; when that is 0 while some |Δy| are not (at least
    ``100 - percentile`` % of the kept pairs tie, e.g. censored or binned labels), the same
    percentile of the nonzero |Δy|, so the scale keeps the labels' unit and severities stay
    unit-free. 0 only when every kept pair ties; NaN without pairs.
    """
    if abs_delta.size == 0:
        return float("nan")
    scale = float(np.percentile(abs_delta, percentile))
    if scale == 0.0:
        nonzero = abs_delta[abs_delta > 0]
        if nonzero.size:
            scale = float(np.percentile(nonzero, percentile))
    return scale


def severity_scale(graph: Any, y_query: Any, y_ref: Any | None = None, *,
                   percentile: float = SCALE_PERCENTILE) -> float:
    """The |Δy| scale: a percentile of |Δy| over every kept neighbour pair.

    When that percentile is 0 but some kept pairs differ (most pairs tie: censored or
    binned labels), the percentile of the nonzero |Δy| instead, so that severities divided
    by it do not depend on the labels' unit.

    Parameters
    ----------
    graph : NeighborGraph
        Train–train neighbour graph (self excluded).
    y_query, y_ref : array-like of shape (n_query,) and (n_reference,)
        Labels of the query and reference molecules (``y_ref=None``: same as ``y_query``).
    percentile : float, default=95
        Percentile in [0, 100].

    Returns
    -------
    float
        ``nan`` if the graph has no pairs, 0 if every kept pair has equal labels.
    """
    if y_ref is None:
        y_ref = y_query
    *_, delta = _edges(graph, y_query, y_ref)
    return _scale(np.abs(delta), percentile)


def _is_nan(value: Any) -> bool:
    """NaN (as severity_scale gives for a graph without pairs: strengths unscaled)"""
    return (isinstance(value, float | np.floating) and not isinstance(value, bool)
            and math.isnan(value))


#: Argument constraints of :func:`compute_severity` (also checked by cliff definitions
#: that compute severities their own way).
SEVERITY_CONSTRAINTS = {
    "scale": [None, Interval(float, 0.0, math.inf, closed="left"), _is_nan],
    "delta": [None, Interval(float, 0.0, math.inf, closed="left")],
}


@validated(SEVERITY_CONSTRAINTS)
def compute_severity(graph: Any, y_query: Any, y_ref: Any | None = None, *,
                     m: int | None = None, scale: float | None = None,
                     delta: float | None = None) -> Severity:
    r"""Severity of each query molecule from its kept neighbours in the reference set.

    With strength :math:`s_{ij} = \mathrm{sim}_{ij}\,|y_j - y_i|` over the kept neighbours
    :math:`j` of :math:`i` (top-k, similarity >= the graph's ``min_similarity``),

    .. math::

        c_i = \frac{1}{\min(m, d_i)} \sum_{\text{top-}m\ j} s_{ij} \,/\, \mathrm{scale},

    and :math:`c_i = 0` when :math:`d_i = 0` (no support). A molecule with fewer than ``m``
    kept neighbours averages the ones it has.

    Parameters
    ----------
    graph : NeighborGraph
        Query → reference neighbours. Train-only variant: the train–train graph (self
        excluded). Test variant: test → train.
    y_query : array-like of shape (n_query,)
    y_ref : array-like of shape (n_reference,), optional
        Defaults to ``y_query`` (train-only variant).
    m : int, optional
        Strongest pairs to average; default ``max(1, floor(sqrt(k)))`` with ``k`` from
        ``graph.params["k"]`` (or the largest row length).
    scale : float, optional
        |Δy| scale. Default: :func:`severity_scale` of this graph, which is right for the
        train-only variant; for test molecules pass the train–train scale. A scale of 0 or
        NaN (what :func:`severity_scale` gives when every kept pair has equal labels, or
        for a graph without pairs) leaves strengths unscaled; a negative or infinite scale
        is refused.
    delta : float, optional
        Cliff threshold in target units, finite and >= 0. When given, the partner is the
        strongest neighbour with ``|Δy| >= delta`` (the strongest overall when there is
        none).

    Returns
    -------
    Severity

    Raises
    ------
    InvalidParameterError
        ``graph`` is not a neighbour graph, non-finite labels, ``m`` not an int >= 1,
        ``scale`` negative or infinite, or ``delta`` negative or not finite.
    ShapeMismatchError
        Labels whose length does not match the graph.
    """
    gate = None if delta is None else (lambda sims, dy: np.abs(dy) >= delta)
    return _severity(graph, y_query, y_ref, m=m, scale=scale, gate=gate,
                     params={"delta": delta})


def _severity(graph: Any, y_query: Any, y_ref: Any | None, *, m: int | None,
              scale: float | None, gate: Any = None, params: dict | None = None) -> Severity:
    """:func:`compute_severity` with the partner chosen among the edges ``gate`` keeps.

    ``gate(similarities, delta) -> bool`` per edge (``delta`` = signed ``y_ref - y_query``);
    a row without a kept edge takes its strongest neighbour overall. Arguments are not
    checked here (the callers check them).
    """
    if y_ref is None:
        y_ref = y_query
    indptr, indices, sims, deg, rows, dy = _edges(graph, y_query, y_ref)
    n = deg.shape[0]
    if m is None:
        gparams = getattr(graph, "params", None) or {}
        k = gparams.get("k") or (int(deg.max()) if n else 1)
        m = default_m(int(k))
    elif isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
        raise InvalidParameterError(f"The 'm' parameter of compute_severity must be an int >= 1; got {m!r}.")
    m = int(m)
    absd = np.abs(dy)
    scale = _scale(absd) if scale is None else float(scale)
    div = scale if (np.isfinite(scale) and scale > 0) else 1.0

    strength = sims * absd
    width = int(deg.max()) if n and dy.size else 0
    pos = np.arange(dy.shape[0], dtype=np.int64) - indptr[rows]

    severity = np.zeros(n)
    partner = np.full(n, -1, dtype=np.int64)
    p_sim = np.zeros(n)
    p_delta = np.zeros(n)
    p_strength = np.zeros(n)
    max_abs = np.zeros(n)
    supported = deg > 0
    if width:
        dense = np.full((n, width), -np.inf)
        dense[rows, pos] = strength
        top = dense if width <= m else -np.partition(-dense, m - 1, axis=1)[:, :m]
        valid = np.isfinite(top)
        total = np.where(valid, top, 0.0).sum(axis=1)
        severity = np.where(supported, total / np.maximum(valid.sum(axis=1), 1), 0.0) / div

        choose = dense
        if gate is not None:
            gated = np.full((n, width), -np.inf)
            keep = np.asarray(gate(sims, dy), dtype=bool)
            gated[rows[keep], pos[keep]] = strength[keep]
            has = np.isfinite(gated).any(axis=1)
            choose = np.where(has[:, None], gated, dense)
        best = np.argmax(choose, axis=1)  # first maximum: the more similar neighbour wins ties
        edge = indptr[:-1] + best
        sup = np.flatnonzero(supported)
        e = edge[sup]
        partner[sup] = indices[e]
        p_sim[sup] = sims[e]
        p_delta[sup] = dy[e]
        p_strength[sup] = strength[e]
        dense.fill(0.0)
        dense[rows, pos] = absd
        max_abs = dense.max(axis=1)
    return Severity(
        severity=severity,
        supported=supported,
        partner=partner,
        partner_similarity=p_sim,
        partner_delta=p_delta,
        partner_strength=p_strength,
        max_abs_delta=max_abs,
        n_neighbors=deg.astype(np.int64),
        scale=scale,
        m=m,
        params={"m": m, "scale": scale, **(params or {})},
    )
