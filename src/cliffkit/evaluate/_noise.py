"""Measurement noise: ``noise_sd`` per dataset, and the cliff/smooth gap it alone produces.

Strata are chosen with the test molecule's *own* label: a cliff case is one whose label
differs from its training neighbours'. Choosing such cases also chooses molecules whose
measurement error happens to push them away from their neighbours, so even a perfect model
(one that predicts the noise-free value) shows a gap. :func:`noise_floor` estimates that
gap by simulation; every evaluation prints it beside the observed gap.

**noise_sd** (:func:`estimate_noise_sd`), in this order:

1. a value the user gives (``noise_sd=``);
2. replicate measurements that loading merged as duplicates (``dataset.report.merged``):
   the pooled within-group standard deviation, ``sqrt(Σ_g Σ_i (v_gi − v̄_g)² / Σ_g (n_g − 1))``,
   with a chi-square interval (needs ≥ 2 degrees of freedom). Only rows of one molecule *as
   written* count: rows that ``standardize="fragment"``/``"parent"`` merged (a salt and its
   parent) are different molecules, and the source says how many were left out;
3. a literature value of a registered dataset (:data:`LITERATURE_NOISE_SD`, with its
   source), chosen by the dataset's registry identity (``meta["registry_name"]``, set by the
   registry's loaders) and only when the target's unit is the value's unit: a user file
   named ``freesolv_...`` gets none;
4. otherwise unknown (the floor is then not estimated, and says so).

**The floor** (:func:`noise_floor`). The split's test set and strata were chosen with the
observed (noisy) labels, so the floor is simulated *conditional on them*. For a supported
test molecule i with observed label y_i and training-neighbour mean m_i (similarity-
weighted, the reference predictor), write r_i = y_i − m_i = (t_i − m_i) + ε_i with t the
noise-free value and ε ~ N(0, σ²). Treating both parts as Gaussian, the noise given the
data is ε_i | r_i ~ N(s_i·r_i, σ²(1 − s_i)) with s_i = σ² / Var(r_i) and, by default,
Var(r_i) ≈ lv_i + σ² (lv_i: the weighted variance of the neighbours' labels about m_i, a
local measure of how rough the landscape is there; ``variance_from``). A perfect model's
error is |ε_i|; ``n_sim`` draws give its cliff and smooth MAEs on the split's strata. The
floor is the mean simulated gap (and ratio) with the 2.5–97.5 percentiles of the draws.
When noise_sd comes from replicates (``noise_sd_dof``), every draw uses its own σ from the
estimate's sampling distribution, so the range carries the noise_sd interval too.

**Known bias** (20 noise draws per σ on ESOL, 8 on Lipophilicity; docs/evaluation.md): the
floor is about right at σ = 0.25–0.5 and at σ = 1 on ESOL, but 25% low at σ = 1 on
Lipophilicity. Two reasons. (1) The model conditions on r_i, the residual against the
*mean* of the neighbours, but CliffSplit's strata are chosen with the single partner's
difference and the cliff thresholds, so the stratum label itself says more about ε_i than
r_i does; the larger the noise share, the more this matters. (2) lv_i already holds the
neighbours' noise, so under the Gaussian model Var(r_i) ≈ lv_i (1 + h_i)/(1 − h_i)
(h_i = Σw²/(Σw)²) would be the consistent value; but it gives floors far *above* the
observed gaps (``variance_from="local-gaussian"``), because CliffSplit's test molecules
differ from their cliff-depleted training neighbourhoods more than those neighbours differ
among themselves. lv_i + σ² (the default) lies between; the other variants ("all",
"train", "local-gaussian", "local-calibrated") were each worse on at least one dataset
or σ. At a large noise share, read the floor as a lower bound.

**Simulating the selection** (``method="relabel"``): a denoised surrogate truth
t* = y − s·r for every molecule (s = σ²/lv), per draw fresh labels t* + ε, the split's
own labelling re-run on them (graphs, cliff rule, thresholds; the split fixed), and the
perfect model's gap |ε| on those strata. It fixes Lipophilicity at σ = 1 (−0.009 ± 0.021
against the default's +0.141 ± 0.013) but runs low where the default is right (ESOL σ = 1:
+0.040 ± 0.018; Lipophilicity σ = 0.5: +0.038 ± 0.011), so it is an option, not the
default (benchmarks/noise_floor.py; docs/evaluation.md, "Noise floor").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ..similarity import default_k
from ._metrics import Estimate

__all__ = ["LITERATURE_NOISE_SD", "LITERATURE_NOISE_UNITS", "NoiseEstimate",
           "estimate_noise_sd", "noise_floor"]

#: Literature noise levels of registered datasets: (sd in target units, source). The key
#: is the dataset's registry identity (``dataset.meta["registry_name"]``, set only by the
#: registry's loaders; ``moleculeace`` for every ``moleculeace:<set>``), never a file name;
#: :data:`LITERATURE_NOISE_UNITS` names the unit the value is in.
LITERATURE_NOISE_SD: dict[str, tuple[float, str]] = {
    "qm9": (0.0, "QM9 values are computed (DFT B3LYP/6-31G(2df,p)), not measured: no "
                 "replicate noise"),
    "freesolv": (0.6, "kcal/mol; the experimental uncertainty FreeSolv assigns when none is "
                      "reported (Mobley & Guthrie 2014, J. Comput. Aided Mol. Des. 28:711)"),
    "moleculeace": (0.54, "pKi/pEC50 units; SD between independent public ChEMBL Ki "
                          "measurements of the same compound and target (Kramer et al. 2012, "
                          "J. Med. Chem. 55:5165)"),
}

#: The unit of each :data:`LITERATURE_NOISE_SD` value, which the target's unit must equal
#: for the value to be used (None: any target of that dataset, e.g. QM9's computed values).
LITERATURE_NOISE_UNITS: dict[str, str | None] = {
    "qm9": None, "freesolv": "kcal/mol", "moleculeace": "-log10(nM)",
}


def _literature(dataset, target) -> tuple[float, str] | None:
    """The literature noise of ``dataset``'s ``target`` by its registry identity and unit."""
    meta = getattr(dataset, "meta", None)
    ident = str((meta or {}).get("registry_name") or "").lower().split(":")[0]
    if ident not in LITERATURE_NOISE_SD:
        return None
    unit = LITERATURE_NOISE_UNITS.get(ident)
    if unit is not None:
        try:
            have = dataset.unit(target)
        except Exception:  # noqa: BLE001 - a duck-typed dataset without units
            return None
        if have != unit:
            return None
    return LITERATURE_NOISE_SD[ident]


def _replicate_groups(report, t: int) -> tuple[list[np.ndarray], int, int]:
    """Values of target ``t`` per group of replicate measurements: rows of one molecule *as
    written*, merged as duplicates. Rows that only ``standardize="fragment"``/``"parent"``
    merged (a salt and its parent) are different molecules, not replicates: each group is
    split by the rows' SMILES as written. Returns (groups, rows left out as standardisation
    merges, groups of a standardised load without that record, e.g. an old cache)."""
    out, n_std_rows, n_unknown = [], 0, 0
    mode = str(getattr(report, "standardize", "keep") or "keep")
    for g in getattr(report, "merged", []) or []:
        vals = np.asarray([row[t] for row in g.values], dtype=np.float64)
        written = list(getattr(g, "written", []) or [])
        if mode != "keep" and len(written) != vals.size:
            n_unknown += 1
            continue
        keys = written if mode != "keep" else [""] * vals.size
        subsets = {}
        for key, v in zip(keys, vals, strict=True):
            subsets.setdefault(key, []).append(v)
        n_std_rows += len(subsets) - 1
        for sub in subsets.values():
            sub = np.asarray(sub)
            sub = sub[np.isfinite(sub)]
            if sub.size >= 2:
                out.append(sub)
    return out, n_std_rows, n_unknown


@dataclass(frozen=True)
class NoiseEstimate:
    """A noise standard deviation with its interval, where it came from and how many replicates."""

    sd: float
    low: float = float("nan")
    high: float = float("nan")
    source: str = ""
    n_groups: int = 0
    dof: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN as None)."""
        f = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731
        return {"sd": f(self.sd), "low": f(self.low), "high": f(self.high),
                "source": self.source, "n_groups": self.n_groups, "dof": self.dof}


def estimate_noise_sd(dataset, target: str | None = None, noise_sd: float | None = None,
                      *, confidence: float = 0.95) -> NoiseEstimate:
    """The measurement noise SD of one target: given, from replicates, or from the literature.

    Parameters
    ----------
    dataset : Dataset
        Its ``report.merged`` groups are the replicates (rows of one molecule as written,
        merged as duplicates; rows merged only by standardisation are not); its
        ``meta["registry_name"]`` and the target's unit choose a literature value.
    target : str, optional
    noise_sd : float, optional
        A value to use as is (source "given").
    confidence : float, default=0.95
        Of the chi-square interval of a replicate estimate.

    Returns
    -------
    NoiseEstimate
        ``sd`` NaN when unknown (source says why).

    Raises
    ------
    InvalidParameterError
        ``noise_sd`` negative or not finite.
    """
    if noise_sd is not None:
        v = float(noise_sd)
        if not (np.isfinite(v) and v >= 0):
            raise InvalidParameterError(f"noise_sd must be a finite number >= 0; got {noise_sd!r}.")
        return NoiseEstimate(v, source="given by the user")
    t = dataset.target_index(target) if target is not None else 0
    report = getattr(dataset, "report", None)
    reps, n_std_rows, n_unknown = _replicate_groups(report, t)
    ss = float(sum(((v - v.mean()) ** 2).sum() for v in reps))
    dof = int(sum(v.size - 1 for v in reps))
    groups = len(reps)
    left_out = ""
    if n_std_rows or n_unknown:
        mode = getattr(report, "standardize", "keep")
        parts = ([f"{n_std_rows} rows merged only by standardize={mode!r} (other molecules as "
                  "written, e.g. a salt and its parent)"] if n_std_rows else [])
        parts += ([f"{n_unknown} merged groups whose rows' SMILES as written were not "
                   "recorded"] if n_unknown else [])
        left_out = "; not counted as replicates: " + " and ".join(parts)
    if dof >= 2:
        from scipy import stats

        sd = float(np.sqrt(ss / dof))
        a = (1 - confidence) / 2
        lo = float(np.sqrt(ss / stats.chi2.ppf(1 - a, dof)))
        hi = float(np.sqrt(ss / stats.chi2.ppf(a, dof)))
        return NoiseEstimate(sd, lo, hi, f"pooled SD of {groups} groups of replicate "
                             f"measurements (rows of one molecule as written, merged as "
                             f"duplicates; {dof} degrees of freedom){left_out}", groups, dof)
    lit = _literature(dataset, target)
    if lit is not None:
        return NoiseEstimate(lit[0], source=f"literature: {lit[1]}{left_out}")
    return NoiseEstimate(float("nan"), source="unknown: no replicates in the data and no "
                         "literature value (known for the registered datasets qm9, freesolv "
                         "and moleculeace:<set> in their own units, never by a file's name); "
                         f"pass noise_sd (--noise-sd){left_out}")


def _weighted_mean(graph, y_ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    sims = np.asarray(graph.similarities, dtype=np.float64)
    w = np.bincount(rows, weights=sims, minlength=n)
    s = np.bincount(rows, weights=sims * y_ref[np.asarray(graph.indices, dtype=np.int64)],
                    minlength=n)
    ok = w > 0
    out = np.full(n, np.nan)
    out[ok] = s[ok] / w[ok]
    return out, ok


def _weighted_var(graph, y_ref: np.ndarray, mean: np.ndarray, *,
                  with_h: bool = False):
    """Similarity-weighted variance of the neighbours' labels about ``mean`` (≥ 2
    neighbours); with ``with_h`` also h = Σw² / (Σw)², the inverse effective count."""
    indptr = np.asarray(graph.indptr, dtype=np.int64)
    n = indptr.shape[0] - 1
    rows = np.repeat(np.arange(n), np.diff(indptr))
    sims = np.asarray(graph.similarities, dtype=np.float64)
    d2 = (y_ref[np.asarray(graph.indices, dtype=np.int64)] - mean[rows]) ** 2
    w = np.bincount(rows, weights=sims, minlength=n)
    w2 = np.bincount(rows, weights=sims**2, minlength=n)
    cnt = np.bincount(rows, minlength=n)
    s = np.bincount(rows, weights=sims * np.nan_to_num(d2), minlength=n)
    out = np.full(n, np.nan)
    h = np.full(n, np.nan)
    ok = (w > 0) & (cnt >= 2)
    out[ok] = s[ok] / w[ok]
    h[ok] = w2[ok] / w[ok] ** 2
    return (out, h) if with_h else out


_VARIANCE_FROM = ("local", "all", "train", "local-gaussian", "local-calibrated")
_METHODS = ("conditional", "relabel")


def _posterior(r, var_r, ok, sig):
    """Mean and SD of the noise ε given the residual r = y − m: N(s·r, σ²(1 − s)),
    s = σ² / var_r (capped at 1); where unsupported (``ok`` False) the prior N(0, σ²)."""
    shares = np.where(var_r > 0, np.minimum(1.0, sig**2 / np.where(var_r > 0, var_r, 1.0)), 1.0)
    mu = np.where(ok, shares * np.where(ok, r, 0.0), 0.0)
    sd = np.where(ok, sig * np.sqrt(1.0 - shares), sig)
    return mu, sd, shares


def noise_floor(
    split_result,
    dataset,
    noise_sd: float,
    *,
    target: str | None = None,
    n_sim: int = 200,
    random_state: int = 0,
    confidence: float = 0.95,
    variance_from: str = "local",
    graphs=None,
    noise_sd_dof: int | None = None,
    method: str = "conditional",
) -> dict[str, Any]:
    """Expected cliff/smooth gap and ratio of a perfect model under label noise ``noise_sd``.

    Parameters
    ----------
    split_result : SplitResult
        The split whose test strata are scored.
    dataset : Dataset
        The labels the split was made from.
    noise_sd : float
        σ in target units (:func:`estimate_noise_sd`).
    target : str, optional
    n_sim : int, default=200
        Draws of the noise from its conditional distribution.
    random_state : int, default=0
    confidence : float, default=0.95
        Of the percentile range of the simulated gaps.
    variance_from : {"local", "all", "train", "local-gaussian", "local-calibrated"}, default="local"
        ``"local"``: per test molecule, Var(y_i − m_i) ≈ lv_i + σ², with lv_i the
        similarity-weighted variance of its training neighbours' labels about m_i (≥ 2
        neighbours; else the global value). ``"all"``/``"train"``: one global variance of
        the residuals y − m over every supported molecule (training, validation and test:
        the whole data) or over training molecules only. ``"local-gaussian"``:
        lv_i (1 + h_i)/(1 − h_i); ``"local-calibrated"``: that, scaled to the test
        molecules' mean squared residual (both kept for comparison; module notes).
    noise_sd_dof : int, optional
        Degrees of freedom of a replicate estimate of ``noise_sd``
        (:attr:`NoiseEstimate.dof`). Each draw then uses its own σ, drawn from the
        estimate's sampling distribution (σ² = dof·noise_sd² / χ²_dof), so the floor's
        range carries the uncertainty of noise_sd; None or 0: σ fixed.
    method : {"conditional", "relabel"}, default="conditional"
        ``"conditional"``: the noise of each test molecule drawn given its residual, on
        the split's strata (``variance_from`` applies). ``"relabel"``: the selection
        simulated (a denoised surrogate truth plus fresh noise, the split's labelling
        re-run on it; ``variance_from`` is not used); see the module notes for when each
        is biased.
    graphs : tuple, optional
        ``(train_graph, heldout_graph)`` from ``cliffkit.split._label.train_graphs`` with
        held-out rows = test then validation molecules, to reuse.

    Returns
    -------
    dict
        ``noise_sd``, ``gap`` and ``ratio`` (Estimate: mean of the simulations and the
        percentile range), ``cliff_mae``, ``smooth_mae`` (means), ``noise_share`` (σ²/v),
        ``n_sim``, ``method`` (in words), ``floor_method``.

    Raises
    ------
    InvalidParameterError
        ``noise_sd`` negative or not finite; unknown ``variance_from`` or ``method``.
    """
    from ..similarity import compute_fingerprints
    from ..split._label import train_graphs

    if method not in _METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(_METHODS)}; got {method!r}.")
    if variance_from not in _VARIANCE_FROM:
        raise InvalidParameterError(f"variance_from must be one of {', '.join(_VARIANCE_FROM)}; "
                                    f"got {variance_from!r}.")
    sigma = float(noise_sd)
    if not (np.isfinite(sigma) and sigma >= 0):
        raise InvalidParameterError(f"noise_sd must be a finite number >= 0; got {noise_sd!r}.")
    names = list(split_result.target_names)
    target = target if target is not None else names[0]
    sim = split_result.similarity_params  # the split's own k, threshold and fingerprints
    k = int(sim["k"] or default_k(len(split_result.train)))
    tau = sim["min_similarity"]
    train, test = np.asarray(split_result.train), np.asarray(split_result.test)
    val = np.asarray(split_result.val)
    heldout = np.concatenate([test, val])
    if graphs is None:
        fps = compute_fingerprints(list(split_result.smiles), radius=sim["radius"],
                                   n_bits=sim["n_bits"])
        graphs = train_graphs(fps, train, heldout, k=k, min_similarity=tau)[:2]
    g_tt, g_ht = graphs
    y = np.asarray(dataset.target(target), dtype=np.float64)
    ytr, yte, yho = y[train], y[test], y[heldout]
    strata = np.asarray(split_result.labels[target].strata)[test]
    m_ho, ok_ho = _weighted_mean(g_ht, ytr)
    m_te, ok_te = m_ho[:test.size], ok_ho[:test.size]
    m_tr, ok_tr = _weighted_mean(g_tt, ytr)
    pool = (ytr - m_tr)[ok_tr]
    if variance_from == "all":  # every molecule once: no selection (train is cliff-depleted,
        # validation and test are cliff-enriched; together they are the whole data)
        pool = np.concatenate([pool, (yho - m_ho)[ok_ho]])
    v = float(pool.var()) if pool.size > 1 else 0.0
    r_te = yte - np.where(ok_te, m_te, 0.0)
    # var_r: the variance of r_i = y_i − m_i that the conditional noise model divides by;
    # the noise share is s_i = σ² / var_r (capped at 1)
    var_r = np.full(test.size, v)
    plus_noise = np.zeros(test.size, dtype=bool)  # var_r_i = lv_i + σ² (σ added per draw)
    if variance_from in ("local", "local-calibrated", "local-gaussian"):
        lv, h = _weighted_var(g_ht, ytr, m_ho, with_h=True)
        lv, h = lv[:test.size], h[:test.size]
        good = np.isfinite(lv) & (lv > 0) & (h < 1)
        if variance_from == "local":  # var_r = lv_i + σ² (see the module notes)
            var_r[good] = lv[good]
            plus_noise = good
        else:
            # lv_i is the spread of the neighbours' *observed* labels, which already holds
            # their noise: Var(y_i − m_i) ≈ lv_i (1 + h_i) / (1 − h_i), h_i = Σw²/(Σw)²
            var_r[good] = lv[good] * (1 + h[good]) / (1 - h[good])
            if variance_from == "local-calibrated":
                g2 = good & ok_te
                if g2.any():
                    var_r[good] *= float((r_te[g2] ** 2).mean() / var_r[g2].mean())

    def conditional(sig: float):
        """Mean and SD of each test molecule's noise given its residual, at noise SD sig."""
        return _posterior(r_te, var_r + np.where(plus_noise, sig**2, 0.0), ok_te, sig)

    share = float(np.mean(conditional(sigma)[2])) if test.size else float("nan")
    rng = np.random.default_rng(int(random_state))
    dof = int(noise_sd_dof or 0)
    sig_draws = (sigma * np.sqrt(dof / rng.chisquare(dof, n_sim)) if dof > 0
                 else np.full(n_sim, sigma))
    fixed = conditional(sigma)
    c, s = strata == "cliff", strata == "smooth"
    gaps, ratios, mc, ms = (np.full(n_sim, np.nan) for _ in range(4))
    if method == "relabel":
        _relabel_draws(split_result, y, train, heldout, test.size, g_tt, g_ht, sig_draws,
                       rng, (gaps, ratios, mc, ms))
    elif c.any() and s.any():
        for r in range(n_sim):
            mu, sd, _ = fixed if dof == 0 else conditional(float(sig_draws[r]))
            err = np.abs(mu + sd * rng.standard_normal(yte.shape[0]))
            mc[r], ms[r] = err[c].mean(), err[s].mean()
            gaps[r] = mc[r] - ms[r]
            ratios[r] = mc[r] / ms[r] if ms[r] > 0 else np.nan
    a = (1 - confidence) / 2

    def est(x):
        x = x[np.isfinite(x)]
        if x.size == 0:
            return Estimate(float("nan"))
        if x.size == 1:
            return Estimate(float(x[0]))
        lo, hi = np.percentile(x, [100 * a, 100 * (1 - a)])
        return Estimate(float(x.mean()), float(lo), float(hi))

    return {
        "noise_sd": sigma, "gap": est(gaps), "ratio": est(ratios),
        "cliff_mae": float(np.nanmean(mc)) if np.isfinite(mc).any() else float("nan"),
        "smooth_mae": float(np.nanmean(ms)) if np.isfinite(ms).any() else float("nan"),
        "noise_share": share, "n_sim": int(n_sim), "variance_from": variance_from,
        "noise_sd_dof": dof,
        "noise_sd_range": ([float(np.percentile(sig_draws, 100 * a)),
                            float(np.percentile(sig_draws, 100 * (1 - a)))] if dof else None),
        "method": ("perfect model under Gaussian label noise, conditional on the observed "
                   "labels: noise_i ~ N(s·(y_i − m_i), σ²(1 − s)), s = σ²/var(y − m), m = "
                   "similarity-weighted mean of training neighbours' labels; gap of |noise| "
                   "on the split's strata; mean and percentile range over draws")
        if method == "conditional" else
        ("perfect model under Gaussian label noise, selection simulated: surrogate truth "
         "t* = y − s·(y − m), s = σ²/lv (lv: spread of the training neighbours' labels), "
         "per draw fresh labels y* = t* + ε and the split's own labelling re-run on y* "
         "(its graphs, cliff rule and quantiles; the split fixed); gap of |ε| on those "
         "strata; mean and percentile range over draws"),
        "floor_method": method,
    }


def _relabeller(split_result, g_tt, g_ht, n_test):
    """``f(y_train, y_heldout) -> strata of the first n_test held-out rows``: the split's
    own labelling (cliff rule, m, quantile or Δ thresholds from the training severities,
    as in :func:`cliffkit.split._label.label_targets`) on other labels, the split and its
    neighbour graphs fixed."""
    from ..cliffs import assign_strata, get_cliff_definition

    p = split_result.params
    rule = get_cliff_definition(split_result.similarity_params["cliff_definition"])
    cq, sq = float(p.get("cliff_quantile", 0.8)), float(p.get("smooth_quantile", 0.5))
    delta = p.get("delta")

    def relabel(y_tr, y_ho):
        tr = rule.severity(g_tt, y_tr)
        ho = rule.severity(g_ht, y_ho, y_tr, m=tr.m, scale=tr.scale, delta=delta)
        return np.asarray(assign_strata(ho, tr, cliff_quantile=cq, smooth_quantile=sq,
                                        delta=delta).labels)[:n_test]

    return relabel


def _relabel_draws(split_result, y, train, heldout, n_test, g_tt, g_ht, sig_draws, rng,
                   out) -> None:
    """The "relabel" floor: simulate the strata selection itself (module notes).

    Surrogate truth t* = y − s·r for every molecule (training rows against their other
    training neighbours, held-out rows against theirs): the posterior mean of the noise-free
    value under the Gaussian model, with s = σ²/lv (lv: the similarity-weighted spread of
    the neighbours' observed labels, which already holds their noise; the global residual
    variance where a molecule has fewer than 2 neighbours; s capped at 1). Per draw, fresh
    noise y* = t* + ε, the split's own labelling on y*, and |ε| on the test strata.
    """
    relabel = _relabeller(split_result, g_tt, g_ht, n_test)
    ytr, yho = y[train], y[heldout]
    m_tr, ok_tr = _weighted_mean(g_tt, ytr)
    m_ho, ok_ho = _weighted_mean(g_ht, ytr)
    lv_tr, lv_ho = _weighted_var(g_tt, ytr, m_tr), _weighted_var(g_ht, ytr, m_ho)
    r_tr, r_ho = ytr - np.where(ok_tr, m_tr, 0.0), yho - np.where(ok_ho, m_ho, 0.0)
    pool = r_tr[ok_tr]
    v = float(pool.var()) if pool.size > 1 else 0.0
    vt = np.where(np.isfinite(lv_tr) & (lv_tr > 0), lv_tr, v)
    vh = np.where(np.isfinite(lv_ho) & (lv_ho > 0), lv_ho, v)
    gaps, ratios, mc, ms = out
    for r, sig in enumerate(sig_draws):
        sig = float(sig)
        t_tr = ytr - _posterior(r_tr, vt, ok_tr, sig)[0]
        t_ho = yho - _posterior(r_ho, vh, ok_ho, sig)[0]
        e_tr = sig * rng.standard_normal(ytr.size)
        e_ho = sig * rng.standard_normal(yho.size)
        lab = relabel(t_tr + e_tr, t_ho + e_ho)
        err = np.abs(e_ho[:n_test])
        c, s = lab == "cliff", lab == "smooth"
        if c.any() and s.any():
            mc[r], ms[r] = err[c].mean(), err[s].mean()
            gaps[r] = mc[r] - ms[r]
            ratios[r] = mc[r] / ms[r] if ms[r] > 0 else np.nan


def oracle_gap_and_floor(smiles, truth, sigma: float, draw: int, *, fps=None,
                         methods=("conditional",), n_sim: int = 100):
    """One draw of the noise-floor check against an oracle (tests and ``benchmarks/noise_floor.py``).

    Labels y = ``truth`` + N(0, σ²) (noise seed 1000 + ``draw``), a CliffSplit made on y
    (``random_state = draw mod 3``), and an oracle that predicts ``truth`` exactly: its
    cliff − smooth MAE gap on the split's test strata is what noise alone produces, and
    :func:`noise_floor` (each of ``methods``) estimates it from y and σ only.

    Parameters
    ----------
    smiles : sequence of str, shape (n,)
    truth : array-like of float, shape (n,)
        A noise-free target (e.g. RDKit Crippen logP).
    sigma : float
        SD of the added noise, in target units.
    draw : int
        Seed index of the noise and of the split.
    fps : array, optional
        Fingerprints of ``smiles`` (the split's defaults), to reuse across draws.
    methods : sequence of str, default=("conditional",)
        :func:`noise_floor` methods to evaluate on the same draw.
    n_sim : int, default=100

    Returns
    -------
    (float, dict)
        The oracle's observed gap, and ``{method: noise_floor(...) result}``.
    """
    import warnings
    from types import SimpleNamespace

    from ..similarity import compute_fingerprints
    from ..split import CliffSplit
    from ..split._label import train_graphs

    truth = np.asarray(truth, dtype=np.float64)
    y = truth + np.random.default_rng(1000 + draw).normal(0.0, sigma, truth.size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = CliffSplit(random_state=draw % 3).make_split(list(smiles), y)
    te = split.test
    strata = np.asarray(split.labels[split.target_names[0]].strata)[te]
    err = np.abs(truth[te] - y[te])
    observed = float(err[strata == "cliff"].mean() - err[strata == "smooth"].mean())
    sim = split.similarity_params
    if fps is None:
        fps = compute_fingerprints(list(smiles), radius=sim["radius"], n_bits=sim["n_bits"])
    graphs = train_graphs(fps, split.train, np.concatenate([te, split.val]), k=int(sim["k"]),
                          min_similarity=sim["min_similarity"])[:2]
    data = SimpleNamespace(target=lambda t=None: y)
    return observed, {m: noise_floor(split, data, sigma, n_sim=n_sim, graphs=graphs, method=m)
                      for m in methods}

