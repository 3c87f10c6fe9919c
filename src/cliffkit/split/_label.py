"""Label held-out molecules against the final training set: strata, partners, matched controls.

Shared by every splitter, so cliff, random and scaffold splits are scored on the same strata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..cliffs import assign_strata, get_cliff_definition, severity_quantiles
from ..errors import InvalidDataError
from ..similarity import NeighborGraph
from ._graph import from_edges, knn_against, restrict_rows

__all__ = ["TargetLabels", "UNLABELLED", "train_graphs", "label_targets", "match_controls"]

#: Stratum of a held-out molecule that has no value for the target (multi-target data
#: with a missing cell): it is not scored for that target.
UNLABELLED = "unlabelled"

#: Caliper of the matched controls, in pooled standard deviations of each covariate.
CALIPER = 0.25
#: Candidates examined per cliff case when matching.
_MATCH_CANDIDATES = 32


@dataclass
class TargetLabels:
    """Strata and partners of one target, as arrays over every dataset row.

    Training rows hold ``"train"`` in :attr:`strata`, NaN in the float arrays and -1 in
    :attr:`partner`; validation and test rows are labelled against the final training set.

    Attributes
    ----------
    target : str
    strata : numpy.ndarray of str, shape (n_samples,)
        ``"train"``, ``"cliff"``, ``"intermediate"``, ``"smooth"``, ``"unsupported"``, or
        ``"unlabelled"`` for a held-out molecule without a value for this target (each
        target is labelled on its own molecules: against the training molecules that
        have its value).
    severity, max_similarity, partner_similarity, partner_delta : numpy.ndarray of float64
        Severity against train (train–train scale), similarity to the most similar training
        molecule, and the partner pair's similarity and signed ``y_partner - y_i``.
    partner : numpy.ndarray of int64, shape (n_samples,)
        Dataset index (always a training row) of the cliff partner; -1 if unsupported.
    abs_z : numpy.ndarray of float64
        |y - mean_train| / sd_train (label extremeness), used by the second matched control.
    matched_cliff, matched_smooth : numpy.ndarray of bool
        Cliff and smooth cases paired 1:1 on similarity to train (per held-out subset).
    matched_cliff_z, matched_smooth_z : numpy.ndarray of bool
        The same, paired on similarity to train and |z|.
    scale : float
        |Δy| scale (95th percentile over train–train pairs).
    cliff_threshold, smooth_threshold : float
        Severity thresholds (or |Δy| thresholds in delta mode) from the training set; both
        0 in binary mode (cliff: severity > 0).
    mode : {"quantile", "delta", "binary"}
        How the strata were cut (:attr:`cliffkit.cliffs.Strata.mode`; "binary" for the 0/1
        severities of the ``moleculeace`` cliff definition).
    train_severity_quantiles : dict
        Quantiles of the supported training severities (to choose thresholds).
    """

    target: str
    strata: np.ndarray
    severity: np.ndarray
    partner: np.ndarray
    partner_similarity: np.ndarray
    partner_delta: np.ndarray
    max_similarity: np.ndarray
    abs_z: np.ndarray
    matched_cliff: np.ndarray
    matched_smooth: np.ndarray
    matched_cliff_z: np.ndarray
    matched_smooth_z: np.ndarray
    scale: float
    cliff_threshold: float
    smooth_threshold: float
    mode: str = "quantile"
    train_severity_quantiles: dict[str, float] = field(default_factory=dict)

    def counts(self, rows: np.ndarray) -> dict[str, int]:
        """Cases per stratum among ``rows`` (dataset indices)."""
        from ..cliffs import STRATA

        lab = self.strata[rows]
        return {s: int((lab == s).sum()) for s in STRATA}

    def n_unlabelled(self, rows: np.ndarray) -> int:
        """Held-out molecules among ``rows`` that have no value for this target."""
        return int((self.strata[rows] == UNLABELLED).sum())

    def identical_partner(self, rows: np.ndarray) -> np.ndarray:
        """Mask over ``rows``: the partner has Tanimoto similarity 1.0 (identical fingerprints).

        Salts and their parents (with ``standardize="keep"``), stereoisomers, isotopologues
        and homologues whose difference lies beyond the fingerprint radius share an ECFP; a
        model that sees only the fingerprint must predict the same value for both, so these
        cases cannot be separated by any fingerprint model.
        """
        rows = np.asarray(rows, dtype=np.int64)
        ps = self.partner_similarity[rows]
        return (self.partner[rows] >= 0) & np.isfinite(ps) & (ps >= 1.0 - 1e-9)

    def cliff_share(self, rows: np.ndarray) -> float:
        """Share of cliff cases among the supported cases in ``rows`` (NaN if none)."""
        lab = self.strata[rows]
        sup = int(((lab != "unsupported") & (lab != UNLABELLED)).sum())
        return float((lab == "cliff").sum() / sup) if sup else float("nan")


def _splice(base: NeighborGraph, replace_rows: np.ndarray, fresh: NeighborGraph) -> NeighborGraph:
    """Replace rows ``replace_rows`` of ``base`` by the rows of ``fresh`` (same order)."""
    if replace_rows.size == 0:
        return base
    n = base.n_query
    deg = base.degree()
    rows = np.repeat(np.arange(n, dtype=np.int64), deg)
    drop = np.zeros(n, dtype=bool)
    drop[replace_rows] = True
    keep = ~drop[rows]
    f_rows = replace_rows[np.repeat(np.arange(fresh.n_query, dtype=np.int64), fresh.degree())]
    all_rows = np.concatenate([rows[keep], f_rows])
    cols = np.concatenate([base.indices[keep], fresh.indices])
    sims = np.concatenate([base.similarities[keep], fresh.similarities])
    order = np.argsort(all_rows, kind="stable")
    return from_edges(n, all_rows[order], cols[order], sims[order], base.n_reference, base.params)


def train_graphs(
    fps: np.ndarray,
    train: np.ndarray,
    heldout: np.ndarray,
    *,
    k: int,
    min_similarity: float,
    full_graph: Any | None = None,
    search_k: int | None = None,
    n_jobs: int | None = None,
) -> tuple[NeighborGraph, NeighborGraph, dict[str, int]]:
    """Exact train–train and held-out–train neighbour graphs.

    With ``full_graph`` (all molecules, top ``search_k``), rows are restricted to training
    neighbours; a row whose restriction holds fewer than ``k`` neighbours *and* whose full
    row was truncated at ``search_k`` may miss neighbours, and only those rows are searched
    again, exactly, against the training set. Without it, both graphs are searched directly.

    Returns
    -------
    train_graph, heldout_graph : NeighborGraph
        Reference indices are positions in ``train``.
    stats : dict
        How many rows were searched again.
    """
    n = fps.shape[0]
    ref_pos = np.full(n, -1, dtype=np.int64)
    ref_pos[train] = np.arange(train.shape[0])
    stats = {"recomputed_train_rows": 0, "recomputed_heldout_rows": 0}
    if full_graph is None:
        g_tt = knn_against(fps, train, train, k=k, min_similarity=min_similarity,
                           query_in_reference=True, n_jobs=n_jobs)
        g_ht = knn_against(fps, heldout, train, k=k, min_similarity=min_similarity,
                           query_in_reference=False, n_jobs=n_jobs)
        stats["recomputed_train_rows"] = int(train.shape[0])
        stats["recomputed_heldout_rows"] = int(heldout.shape[0])
        return g_tt, g_ht, stats
    full_deg = np.diff(np.asarray(full_graph.indptr, dtype=np.int64))
    out = []
    for rows, name, self_in in ((train, "train", True), (heldout, "heldout", False)):
        g, n_kept = restrict_rows(full_graph, rows, ref_pos, k)
        unsure = np.flatnonzero((n_kept < k) & (full_deg[rows] >= search_k))
        if unsure.size:
            fresh = knn_against(fps, rows[unsure], train, k=k, min_similarity=min_similarity,
                                query_in_reference=self_in, n_jobs=n_jobs)
            g = _splice(g, unsure, fresh)
        g.params = {"k": int(k), "min_similarity": float(min_similarity)}
        stats[f"recomputed_{name}_rows"] = int(unsure.size)
        out.append(g)
    return out[0], out[1], stats


def match_controls(cliff: np.ndarray, smooth: np.ndarray, covariates: np.ndarray,
                   rng: np.random.Generator, caliper: float = CALIPER) -> tuple[np.ndarray, np.ndarray]:
    """Greedy 1:1 nearest-neighbour matching of cliff to smooth cases, without replacement.

    Covariates are divided by their pooled standard deviation; a pair is accepted when the
    Euclidean distance is at most ``caliper``. Cliff cases are visited in a seeded random order.

    Parameters
    ----------
    cliff, smooth : numpy.ndarray of int64
        Row positions (into ``covariates``) of the two groups.
    covariates : numpy.ndarray of float64, shape (n, d)

    Returns
    -------
    matched_cliff, matched_smooth : numpy.ndarray of int64
        Paired positions, in matching order.
    """
    if cliff.size == 0 or smooth.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    x = covariates[np.concatenate([cliff, smooth])]
    sd = x.std(axis=0)
    sd[~(sd > 0)] = 1.0
    xc, xs = covariates[cliff] / sd, covariates[smooth] / sd
    n_cand = min(_MATCH_CANDIDATES, smooth.shape[0])
    dist = np.empty((cliff.shape[0], n_cand))
    nbr = np.empty((cliff.shape[0], n_cand), dtype=np.int64)
    for a in range(0, cliff.shape[0], 1024):  # blocks keep the distance matrix small
        d = np.sqrt(((xc[a:a + 1024, None, :] - xs[None, :, :]) ** 2).sum(axis=2))
        part = np.argpartition(d, n_cand - 1, axis=1)[:, :n_cand] if n_cand < d.shape[1] \
            else np.tile(np.arange(d.shape[1]), (d.shape[0], 1))
        dp = np.take_along_axis(d, part, axis=1)
        o = np.lexsort((part, dp), axis=1)  # by distance, then smooth position
        nbr[a:a + 1024] = np.take_along_axis(part, o, axis=1)
        dist[a:a + 1024] = np.take_along_axis(dp, o, axis=1)
    used = np.zeros(smooth.shape[0], dtype=bool)
    mc, ms = [], []
    for i in rng.permutation(cliff.shape[0]):
        pick = -1
        for d, j in zip(dist[i], nbr[i], strict=True):
            if d > caliper:
                break
            if not used[j]:
                pick = j
                break
        else:
            if dist[i, -1] <= caliper and n_cand < smooth.shape[0]:
                # every candidate taken (ties are common): scan all unused smooth cases
                d = np.sqrt(((xs - xc[i]) ** 2).sum(axis=1))
                d[used] = np.inf
                j = int(np.argmin(d))
                if d[j] <= caliper:
                    pick = j
        if pick >= 0:
            used[pick] = True
            mc.append(cliff[i])
            ms.append(smooth[pick])
    return np.asarray(mc, dtype=np.int64), np.asarray(ms, dtype=np.int64)


def label_targets(
    fps: np.ndarray,
    y: np.ndarray,
    target_names: list[str],
    train: np.ndarray,
    heldout_sets: list[np.ndarray],
    *,
    k: int,
    min_similarity: float,
    cliff_quantile: float = 0.8,
    smooth_quantile: float = 0.5,
    delta: float | None = None,
    random_state: int | None = 0,
    full_graph: Any | None = None,
    search_k: int | None = None,
    n_jobs: int | None = None,
    cliff_definition: str = "cliffkit",
) -> tuple[dict[str, TargetLabels], dict[str, Any]]:
    """Label every held-out molecule against the final training set, per target.

    Parameters
    ----------
    fps : numpy.ndarray of uint8, shape (n_samples, n_bits // 8)
    y : numpy.ndarray of float64, shape (n_samples, n_targets)
    target_names : list of str
    train : numpy.ndarray of int64
    heldout_sets : list of numpy.ndarray of int64
        Validation and test indices (matching is done within each set).
    k, min_similarity, cliff_quantile, smooth_quantile, delta
        As in :class:`~cliffkit.split.CliffSplit`.
    random_state : int, optional
        Seeds the visiting order of the matching.
    cliff_definition : str, default="cliffkit"
        Entry of :data:`cliffkit.cliffs.CLIFF_DEFINITIONS` that scores severities. A rule
        with 0/1 severities (``"moleculeace"``) gives cliff / smooth strata without the
        quantiles, and refuses ``delta`` (:func:`~cliffkit.cliffs.assign_strata`).

    Returns
    -------
    labels : dict of str to TargetLabels
    info : dict
        Graph statistics (rows searched again, m).
    """
    n = fps.shape[0]
    rule = get_cliff_definition(cliff_definition)

    def graphs(train_rows, sets):
        ho = np.concatenate(sets) if sets else np.zeros(0, np.int64)
        g_tt, g_ht, st = train_graphs(fps, train_rows, ho, k=k, min_similarity=min_similarity,
                                      full_graph=full_graph, search_k=search_k, n_jobs=n_jobs)
        max_sim = g_ht.first_similarity()
        lonely = np.flatnonzero(g_ht.degree() == 0)
        if lonely.size and train_rows.size:
            nearest = knn_against(fps, ho[lonely], train_rows, k=1, min_similarity=0.0,
                                  query_in_reference=False, n_jobs=n_jobs)
            max_sim[lonely] = nearest.first_similarity()
        return train_rows, sets, ho, g_tt, g_ht, max_sim, st

    shared = graphs(train, list(heldout_sets))
    stats = shared[-1]
    by_mask: dict[bytes, tuple] = {}
    labels: dict[str, TargetLabels] = {}
    rng_seed = np.random.SeedSequence(0 if random_state is None else int(random_state))
    m_used = None
    for t, name in enumerate(target_names):
        yt = y[:, t]
        has = np.isfinite(yt)
        if has.all():
            tr_rows, sets, heldout, g_tt, g_ht, max_sim, _ = shared
        else:
            # This target is labelled on its own molecules: training molecules without its
            # value neither support nor partner anything, held-out ones are "unlabelled".
            key = np.packbits(has).tobytes()
            if key not in by_mask:
                by_mask[key] = graphs(train[has[train]], [s[has[s]] for s in heldout_sets])
            tr_rows, sets, heldout, g_tt, g_ht, max_sim, _ = by_mask[key]
        if tr_rows.size < 2:
            raise InvalidDataError(
                f"Target {name!r} has a value for only {int(tr_rows.size)} training molecules; "
                "it cannot be labelled (choose other targets or split on this one's molecules)."
            )
        tr = rule.severity(g_tt, yt[tr_rows])
        ho = rule.severity(g_ht, yt[heldout], yt[tr_rows], m=tr.m, scale=tr.scale, delta=delta)
        m_used = tr.m
        st = assign_strata(ho, tr, cliff_quantile=cliff_quantile,
                           smooth_quantile=smooth_quantile, delta=delta)
        strata = np.full(n, "train", dtype="<U12")
        all_held = np.concatenate(heldout_sets) if heldout_sets else np.zeros(0, np.int64)
        strata[all_held] = UNLABELLED
        strata[heldout] = st.labels

        def full(values, fill=np.nan, dtype=np.float64, rows=heldout):
            arr = np.full(n, fill, dtype=dtype)
            arr[rows] = values
            return arr

        partner = np.full(n, -1, dtype=np.int64)
        partner[heldout] = np.where(ho.partner >= 0, tr_rows[np.maximum(ho.partner, 0)], -1)
        mu, sd = float(yt[tr_rows].mean()), float(yt[tr_rows].std())
        abs_z = np.abs(yt - mu) / (sd if sd > 0 else 1.0)
        msim = full(max_sim)
        masks = {key: np.zeros(n, dtype=bool) for key in
                 ("matched_cliff", "matched_smooth", "matched_cliff_z", "matched_smooth_z")}
        rng = np.random.default_rng(rng_seed.spawn(1)[0])
        for rows in sets:
            lab = strata[rows]
            cl, sm = rows[lab == "cliff"], rows[lab == "smooth"]
            for suffix, cov in (("", msim[:, None]),
                                ("_z", np.column_stack([msim, abs_z]))):
                a, b = match_controls(cl, sm, np.nan_to_num(cov), rng)
                masks["matched_cliff" + suffix][a] = True
                masks["matched_smooth" + suffix][b] = True
        labels[name] = TargetLabels(
            target=name,
            strata=strata,
            severity=full(ho.severity),
            partner=partner,
            partner_similarity=full(ho.partner_similarity),
            partner_delta=full(ho.partner_delta),
            max_similarity=msim,
            abs_z=abs_z,
            scale=float(tr.scale),
            cliff_threshold=st.cliff_threshold,
            smooth_threshold=st.smooth_threshold,
            mode=st.mode,
            train_severity_quantiles=severity_quantiles(tr),
            **masks,
        )
    info = {**stats, "m": m_used, "k": int(k)}
    return labels, info
