"""Statistics across seeds: endpoints, hierarchical bootstrap, t-intervals, Holm, claims.

One implementation, used by the bench report and by ``benchmarks/cliffloss.py``.

**Unit of replication.** A *seed* is one split seed (a new CliffSplit, and a new model seed)
of one cell (dataset, target, backbone, loss). Within a seed, the test molecules are the
sampling unit of the error. A loss arm is compared with the plain arm *paired*: the same
seed, the same split, the same test molecules.

**Endpoints** (one definition each; ``A`` = the baseline arm, ``B`` = the treated arm;
``m̄`` = mean over seeds of the per-seed MAE of a group):

- primary ``cliff_mae_reduction`` = 1 − m̄_B(cliff) / m̄_A(cliff), with a non-inferiority
  condition on the smooth stratum: m̄_B(smooth) / m̄_A(smooth) − 1 < ``smooth_margin``
  (default +2%);
- primary ``overall_mae_reduction`` = 1 − m̄_B(overall) / m̄_A(overall);
- secondary ``gap`` = m̄(cliff) − m̄(smooth) and ``ratio`` = m̄(cliff) / m̄(smooth) (a ratio of
  means over seeds, never a mean of per-seed ratios), and ``gap_reduction`` =
  1 − gap_B / gap_A (both gaps as above), with the same smooth non-inferiority margin. A gap
  reduction is *unstable* when the baseline's gap CI includes 0 (a small or negative
  denominator); an unstable cell never passes.

**Tests.** A claim "endpoint ≥ threshold" is turned into a per-seed linear contrast
``d_s`` that is positive on average exactly when the ratio-of-means endpoint passes the
threshold (e.g. reduction ≥ t ⇔ mean_s[(1 − t)·A_s − B_s] ≥ 0), and tested one-sided with
Student's t across seeds (``scipy.stats.ttest_1samp``, ``alternative="greater"``, df =
n − 1). The smooth non-inferiority condition is a second one-sided t-test; a cell passes
only when both do (intersection-union test: its p-value is the larger of the two). A gap
reduction adds a third one-sided test, baseline gap > 0, to the same intersection-union test.
For a claim about *some* cell (quantifier ``any``) the p-values are Holm-adjusted across the
cells it ranges over (Holm 1979, Scand. J. Statist. 6:65-70); a claim about *every* cell
(``all``) is itself an intersection-union test, at level alpha when each raw p <= alpha.

**Intervals.** :func:`hierarchical_bootstrap`: resample seeds with replacement, then,
independently for each drawn seed, the test molecules of each group with replacement
(the *same* molecule indices for every arm: paired); the statistic is computed from the
seed means of the resampled group MAEs; percentile interval. :func:`t_interval`: mean ±
t·sd/√n across seeds. Both need at least two seeds; with fewer the bounds are NaN and
print as "—".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ._metrics import Estimate

# Public names: re-exported (and listed) by cliffkit.evaluate.

#: Groups whose MAE the endpoints use, in the order of the last axis of a group-MAE array.
GROUPS = ("overall", "cliff", "smooth")
_G = {g: i for i, g in enumerate(GROUPS)}
_CHUNK_ELEMENTS = 2_000_000


def t_interval(values, confidence: float = 0.95) -> Estimate:
    """Mean across seeds with a Student-t interval, mean ± t_{n−1}·sd/√n.

    Parameters
    ----------
    values : array-like of float, shape (n_seeds,)
        Non-finite values are left out.
    confidence : float, default=0.95

    Returns
    -------
    Estimate
        NaN bounds with fewer than two finite values; a zero-width interval when they are
        all equal.

    Examples
    --------
    >>> e = t_interval([1.0, 2.0, 3.0])
    >>> round(e.value, 3), round(e.low, 3), round(e.high, 3)
    (2.0, -0.484, 4.484)
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return Estimate(float("nan"))
    m = float(x.mean())
    if x.size < 2:
        return Estimate(m)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Estimate(m, m - half, m + half)


def one_sided_t(d):
    """p-value of the one-sided t-test of H1: mean(d) > 0 (``scipy.stats.ttest_1samp``).

    Parameters
    ----------
    d : array-like of float, shape (n_seeds,) or (n_cells, n_seeds)
        Per-seed contrasts; a 2-D array is tested row by row (rows with a non-finite
        value are NaN).

    Returns
    -------
    float, or numpy.ndarray of shape (n_cells,) for 2-D input
        NaN for fewer than two values. When every value is equal, 0.0 if they are
        positive and 1.0 otherwise (the t statistic is undefined there).

    Examples
    --------
    >>> round(one_sided_t([0.1, 0.2, 0.15, 0.12, 0.18]), 5)
    0.00062
    """
    from scipy import stats

    x = np.asarray(d, dtype=np.float64)
    if x.ndim == 1:
        x = x[np.isfinite(x)]
        return float(one_sided_t(x[None, :])[0]) if x.size else float("nan")
    out = np.full(x.shape[0], np.nan)
    if x.shape[1] < 2:
        return out
    ok = np.isfinite(x).all(axis=1)
    const = ok & np.all(x == x[:, :1], axis=1)
    out[const] = np.where(x[const, 0] > 0, 0.0, 1.0)
    run = ok & ~const
    if run.any():
        out[run] = stats.ttest_1samp(x[run], 0.0, axis=1, alternative="greater").pvalue
    return out


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control).

    ``p_adj(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))`` over the sorted p-values; NaN
    entries are left out of the family and stay NaN. Reject where ``p_adj ≤ α``.

    Parameters
    ----------
    pvalues : array-like of float, shape (m,)

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        In the input order.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def _mae_by_group(per_seed) -> np.ndarray:
    """Point group MAEs, shape (n_seeds, n_arms, n_groups)."""
    return np.array([[[float(np.mean(errs[g][a])) if np.asarray(errs[g]).shape[1] else np.nan
                       for g in range(len(errs))] for a in range(np.asarray(errs[0]).shape[0])]
                     for errs in per_seed])


def hierarchical_bootstrap(
    per_seed: Sequence[Sequence[np.ndarray]],
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_bootstrap: int = 2000,
    random_state: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Paired two-level (seeds × molecules) percentile bootstrap of a statistic of seed-mean MAEs.

    Parameters
    ----------
    per_seed : sequence (n_seeds) of sequences (n_groups) of arrays, shape (n_arms, n_molecules)
        Absolute errors per seed, group and arm; column ``i`` of every arm is the same test
        molecule (paired arms). Group sizes may differ between seeds (each seed has its
        own split).
    statistic : callable
        Maps seed-mean group MAEs, shape (..., n_arms, n_groups), to (...) values.
    n_bootstrap : int, default=2000
    random_state : int, default=0
    confidence : float, default=0.95

    Returns
    -------
    Estimate
        The statistic of the observed seed means, with the percentile interval; NaN bounds
        with fewer than two seeds or ``n_bootstrap == 0`` ("—").

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> seeds = [[rng.exponential(1.0, (1, 50))] for _ in range(5)]
    >>> e = hierarchical_bootstrap(seeds, lambda m: m[..., 0, 0], n_bootstrap=500)
    >>> e.low < e.value < e.high
    True
    """
    if not (isinstance(n_bootstrap, int | np.integer) and n_bootstrap >= 0):
        raise InvalidParameterError(f"n_bootstrap must be an int >= 0; got {n_bootstrap!r}.")
    n_seeds = len(per_seed)
    if n_seeds == 0:
        return Estimate(float("nan"))
    arrays = [[np.atleast_2d(np.asarray(e, dtype=np.float64)) for e in errs] for errs in per_seed]
    n_groups, n_arms = len(arrays[0]), arrays[0][0].shape[0]
    for errs in arrays:
        if len(errs) != n_groups or any(e.shape[0] != n_arms for e in errs):
            raise ShapeMismatchError("hierarchical_bootstrap: every seed needs the same groups "
                                     "and arms (arrays of shape (n_arms, n_molecules)).")
    point = float(statistic(_mae_by_group(arrays).mean(axis=0)))
    if n_seeds < 2 or n_bootstrap == 0:
        return Estimate(point)
    means = _bootstrap_means(arrays, n_bootstrap, int(random_state))
    return _percentile(point, statistic(means), n_bootstrap, confidence)


def _bootstrap_means(arrays, n_bootstrap: int, random_state: int) -> np.ndarray:
    """Seed means of resampled group MAEs, shape (n_bootstrap, n_arms, n_groups)."""
    n_seeds, n_groups, n_arms = len(arrays), len(arrays[0]), arrays[0][0].shape[0]
    rng = np.random.default_rng(random_state)
    seed_idx = rng.integers(0, n_seeds, size=(n_bootstrap, n_seeds))
    acc = np.zeros((n_bootstrap, n_arms, n_groups))
    for s in range(n_seeds):
        counts = (seed_idx == s).sum(axis=1)
        total = int(counts.sum())
        if total == 0:
            continue
        owner = np.repeat(np.arange(n_bootstrap), counts)
        for g, e in enumerate(arrays[s]):
            n = e.shape[1]
            if n == 0:
                acc[:, :, g] = np.where(counts[:, None] > 0, np.nan, acc[:, :, g])
                continue
            vals = np.empty((n_arms, total))
            step = max(1, _CHUNK_ELEMENTS // n)
            for start in range(0, total, step):
                stop = min(total, start + step)
                idx = rng.integers(0, n, size=(stop - start, n))
                vals[:, start:stop] = e[:, idx].mean(axis=-1)
            for a in range(n_arms):
                acc[:, a, g] += np.bincount(owner, weights=vals[a], minlength=n_bootstrap)
    return acc / n_seeds


def _percentile(point: float, boot, n_bootstrap: int, confidence: float) -> Estimate:
    boot = np.asarray(boot, dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    if boot.size < max(10, n_bootstrap // 2):
        return Estimate(point)
    alpha = (1 - confidence) / 2
    lo, hi = np.percentile(boot, [100 * alpha, 100 * (1 - alpha)])
    return Estimate(point, float(lo), float(hi))


# ------------------------------------------------------------------------------ endpoints
@dataclass(frozen=True)
class Endpoint:
    """One endpoint: its estimate from seed-mean MAEs and the per-seed contrast of its test.

    ``estimate(M)`` maps seed-mean group MAEs (..., n_arms, n_groups) to the endpoint;
    ``contrast(M_s, threshold)`` maps per-seed MAEs (n_seeds, n_arms, n_groups) to ``d_s``,
    whose mean is ≥ 0 exactly when the endpoint passes the threshold (when the
    baseline's denominator is positive). ``arms`` is 1 (one arm) or 2 (baseline, treated).
    """

    name: str
    arms: int
    title: str
    estimate: Callable[[np.ndarray], np.ndarray]
    contrast: Callable[[np.ndarray, float], np.ndarray]
    percent: bool = False


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _gap(M, arm):
    return M[..., arm, _G["cliff"]] - M[..., arm, _G["smooth"]]


def _reduction(group: str) -> Endpoint:
    g = _G[group]
    return Endpoint(
        name=f"{group}_mae_reduction", arms=2, percent=True,
        title=f"{group} MAE reduction vs baseline, 1 − mean MAE_B / mean MAE_A",
        estimate=lambda M: 1.0 - _div(M[..., 1, g], M[..., 0, g]),
        contrast=lambda M, t: (1.0 - t) * M[:, 0, g] - M[:, 1, g],
    )


#: Two-arm endpoints that carry the smooth non-inferiority margin by default: a cliff-MAE or
#: gap "reduction" bought by making smooth predictions worse does not count.
_MARGIN_ENDPOINTS = ("cliff_mae_reduction", "gap_reduction")

#: The endpoints, by name.
ENDPOINTS: dict[str, Endpoint] = {
    "cliff_mae_reduction": _reduction("cliff"),
    "overall_mae_reduction": _reduction("overall"),
    "smooth_mae_reduction": _reduction("smooth"),
    "gap_reduction": Endpoint(
        name="gap_reduction", arms=2, percent=True,
        title="gap reduction, 1 − gap_B / gap_A (gaps of seed-mean MAEs)",
        estimate=lambda M: 1.0 - _div(_gap(M, 1), _gap(M, 0)),
        contrast=lambda M, t: (1.0 - t) * _gap(M, 0) - _gap(M, 1),
    ),
    "ratio": Endpoint(
        name="ratio", arms=1, title="ratio, mean MAE_cliff / mean MAE_smooth",
        estimate=lambda M: _div(M[..., 0, _G["cliff"]], M[..., 0, _G["smooth"]]),
        contrast=lambda M, t: M[:, 0, _G["cliff"]] - t * M[:, 0, _G["smooth"]],
    ),
    "gap": Endpoint(
        name="gap", arms=1, title="gap, mean MAE_cliff − mean MAE_smooth",
        estimate=lambda M: _gap(M, 0),
        contrast=lambda M, t: _gap(M, 0) - t,
    ),
}


@dataclass
class CellData:
    """One cell of a claim: per-seed group MAEs of its arms, optionally per-molecule errors.

    Attributes
    ----------
    key : dict
        What identifies the cell (dataset, target, backbone, loss ...).
    seeds : list of int
    mae : numpy.ndarray, shape (n_seeds, n_arms, 3)
        MAE per seed, arm (0 = baseline, 1 = treated) and group (:data:`GROUPS`).
    errors : list or None
        Per seed, a list of 3 arrays (n_arms, n_molecules) of absolute errors (overall,
        cliff, smooth), for the hierarchical bootstrap; None when the predictions are not
        available (bootstrap intervals then print "—").
    """

    key: dict[str, Any]
    seeds: list[int]
    mae: np.ndarray
    errors: list | None = None

    @classmethod
    def from_predictions(cls, key, seeds, y_true, preds, strata) -> CellData:
        """From per-seed arrays: ``y_true[s]`` (n,), ``preds[s]`` (n_arms, n), ``strata[s]`` (n,)."""
        errors, mae = [], []
        for yt, yp, st in zip(y_true, preds, strata, strict=True):
            ae = np.abs(np.atleast_2d(np.asarray(yp, dtype=np.float64)) - np.asarray(yt, dtype=np.float64))
            st = np.asarray(st).astype(str)
            groups = [ae, ae[:, st == "cliff"], ae[:, st == "smooth"]]
            errors.append(groups)
            mae.append([[float(g[a].mean()) if g.shape[1] else np.nan for g in groups]
                        for a in range(ae.shape[0])])
        return cls(dict(key), [int(s) for s in seeds], np.asarray(mae, dtype=np.float64), errors)


@dataclass
class ClaimResult:
    """A claim's verdict and the per-cell numbers behind it (see :func:`evaluate_claim`)."""

    claim: dict[str, Any]
    verdict: str
    cells: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None
    n_cells: int = 0
    n_hold: int = 0
    reason: str = ""


def _estimates(cell: CellData, ep: Endpoint, n_bootstrap: int, random_state: int,
               confidence: float) -> dict[str, Estimate]:
    """The endpoint and the seed means (and paired differences) with both kinds of interval."""
    M = cell.mae
    arms = M.shape[1]
    out: dict[str, Any] = {}
    means = None
    if cell.errors is not None and len(cell.errors) >= 2 and n_bootstrap > 0:
        arrays = [[np.atleast_2d(np.asarray(e, dtype=np.float64)) for e in errs]
                  for errs in cell.errors]
        means = _bootstrap_means(arrays, n_bootstrap, random_state)

    def boot(stat):  # one set of resamples per cell, every statistic computed on it
        point = float(stat(M.mean(axis=0)))
        return Estimate(point) if means is None else _percentile(point, stat(means), n_bootstrap,
                                                                 confidence)
    out["endpoint"] = boot(ep.estimate)
    for name in ("cliff", "smooth", "overall"):
        g = _G[name]
        for a in range(arms):
            out[f"{name}_{a}"] = boot(lambda m, a=a, g=g: m[..., a, g])
            out[f"{name}_{a}_t"] = t_interval(M[:, a, g], confidence)
        if arms == 2:
            out[f"{name}_diff"] = boot(lambda m, g=g: m[..., 1, g] - m[..., 0, g])
            out[f"{name}_diff_t"] = t_interval(M[:, 1, g] - M[:, 0, g], confidence)
    for a in range(arms):
        out[f"gap_{a}"] = boot(lambda m, a=a: _gap(m, a))
        out[f"gap_{a}_t"] = t_interval(_gap(M, a), confidence)
    return out


def _pvalues(contrasts: list[np.ndarray]) -> np.ndarray:
    """one_sided_t per cell; one vectorised call when every cell has the same seeds count."""
    if contrasts and len({c.shape[0] for c in contrasts}) == 1:
        return one_sided_t(np.vstack(contrasts))
    return np.array([one_sided_t(c) for c in contrasts])


def evaluate_claim(
    claim: dict[str, Any],
    cells: Sequence[CellData],
    *,
    n_bootstrap: int = 2000,
    random_state: int = 0,
    confidence: float = 0.95,
    intervals: bool = True,
) -> ClaimResult:
    """Test a pre-registered claim on its cells, with Holm correction over the cells.

    Parameters
    ----------
    claim : dict
        ``endpoint`` (a key of :data:`ENDPOINTS`), ``threshold`` (float), ``test``
        (``"t"``: one-sided t across seeds on the endpoint's contrast), ``quantifier``
        (``"any"``: holds when at least one cell passes after Holm correction; ``"all"``:
        when every cell passes unadjusted, an intersection-union test), ``alpha`` (default
        0.05), ``min_seeds`` (default 5), ``smooth_margin`` (cliff MAE and gap reductions:
        non-inferiority margin on the smooth MAE, default 0.02; None to skip).
    cells : sequence of CellData
        Every cell the claim ranges over (the family for the correction).
    n_bootstrap, random_state, confidence
        Of the hierarchical bootstrap (cell ``i`` uses seed ``random_state + i``).
    intervals : bool, default=True
        Compute the intervals (False: only the point estimate of the endpoint, for
        simulations; the verdict does not depend on them except the instability flag).

    Returns
    -------
    ClaimResult
        ``verdict`` is ``"holds"``, ``"does not hold"``, ``"insufficient seeds"`` (a cell
        has fewer than ``min_seeds`` seeds: never "holds") or ``"not measured"`` (no
        cells). ``cells`` lists per cell: n seeds, estimates with hierarchical-bootstrap
        and t intervals, raw and Holm-adjusted p, pass/fail, ``unstable`` (gap reduction
        whose baseline gap CI includes 0). ``best`` is the cell with the best point
        estimate: exploratory, chosen after seeing the data.

    Raises
    ------
    InvalidParameterError
        Unknown endpoint, test or quantifier.
    """
    name = claim.get("endpoint")
    if name not in ENDPOINTS:
        raise InvalidParameterError(f"claim {claim.get('id')!r}: unknown endpoint {name!r}; "
                                    f"choose one of {', '.join(ENDPOINTS)}.")
    if claim.get("test", "t") != "t":
        raise InvalidParameterError(f"claim {claim.get('id')!r}: unknown test {claim.get('test')!r}; "
                                    "the only test is 't' (one-sided t across seeds).")
    quant = claim.get("quantifier", "any")
    if quant not in ("any", "all"):
        raise InvalidParameterError(f"claim {claim.get('id')!r}: quantifier must be 'any' or 'all'; "
                                    f"got {quant!r}.")
    ep = ENDPOINTS[name]
    thr = float(claim["threshold"])
    alpha = float(claim.get("alpha", 0.05))
    min_seeds = int(claim.get("min_seeds", 5))
    margin = claim.get("smooth_margin", 0.02 if name in _MARGIN_ENDPOINTS else None)
    rows: list[dict[str, Any]] = []
    p_all = _pvalues([ep.contrast(c.mae, thr) for c in cells])
    p_ni_all = np.full(len(cells), np.nan)
    if margin is not None and ep.arms == 2:
        s = _G["smooth"]
        p_ni_all = _pvalues([(1.0 + float(margin)) * c.mae[:, 0, s] - c.mae[:, 1, s] for c in cells])
    # A gap reduction is defined only for a positive baseline gap: the contrast's inequality
    # flips when gap_A <= 0, so "baseline gap > 0" is a third condition of the
    # intersection-union test (a cell with an undefined estimate can never pass).
    p_gap_all = np.full(len(cells), np.nan)
    if ep.name == "gap_reduction":
        p_gap_all = _pvalues([_gap(c.mae, 0) for c in cells])
    for i, cell in enumerate(cells):
        M = cell.mae
        p, p_ni = float(p_all[i]), float(p_ni_all[i])
        if margin is not None and ep.arms == 2:
            p = max(p, p_ni) if np.isfinite(p) and np.isfinite(p_ni) else float("nan")
        if ep.name == "gap_reduction":
            p_gap = float(p_gap_all[i])
            p = max(p, p_gap) if np.isfinite(p) and np.isfinite(p_gap) else float("nan")
        if intervals:
            est = _estimates(cell, ep, n_bootstrap, random_state + i, confidence)
        else:
            est = {"endpoint": Estimate(float(ep.estimate(M.mean(axis=0))))}
        unstable = False
        if ep.name == "gap_reduction" and intervals:
            g0 = est["gap_0"] if np.isfinite(est["gap_0"].low) else est["gap_0_t"]
            unstable = not (np.isfinite(g0.low) and g0.low > 0)
        rows.append({"key": cell.key, "n_seeds": len(cell.seeds), "seeds": list(cell.seeds),
                     "p": p, "p_noninferiority": p_ni, "estimates": est, "unstable": unstable})
    if not rows:
        return ClaimResult(claim, "not measured", reason="no cells in these results")
    # "any": at least one cell, so the family needs Holm. "all": every cell must pass, an
    # intersection-union test whose level is already alpha with each raw p <= alpha (Berger
    # 1982, Technometrics 24:295-300): adjusting it would only make it needlessly strict.
    adj = holm([r["p"] for r in rows]) if quant == "any" else np.array([r["p"] for r in rows])
    for r, pa in zip(rows, adj, strict=True):
        r["p_holm"] = float(pa)
        r["passes"] = bool(np.isfinite(pa) and pa <= alpha and r["n_seeds"] >= min_seeds
                           and not r["unstable"])
    n_hold = sum(r["passes"] for r in rows)
    few = [r for r in rows if r["n_seeds"] < min_seeds]
    if few:
        verdict = "insufficient seeds"
        reason = (f"{len(few)} of {len(rows)} cells have fewer than {min_seeds} seeds "
                  f"(min {min(r['n_seeds'] for r in rows)})")
    else:
        ok = n_hold >= 1 if quant == "any" else n_hold == len(rows)
        verdict = "holds" if ok else "does not hold"
        how = "Holm-adjusted" if quant == "any" else "unadjusted (every cell must pass)"
        reason = f"{n_hold} of {len(rows)} cells pass at {how} α = {alpha:g}"
    finite = [r for r in rows if np.isfinite(r["estimates"]["endpoint"].value)]
    best = max(finite, key=lambda r: r["estimates"]["endpoint"].value) if finite else None
    return ClaimResult(claim, verdict, rows, best, len(rows), n_hold, reason)
