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
seed means of the resampled group MAEs. A plain percentile interval of these undercovers
at a few seeds (about 88% for a nominal 95% at 5 seeds: the seed-level resampling uses the
plug-in variance, divided by n, and normal quantiles), so by default it is *t-calibrated*:
each half-width about the point estimate is multiplied by
c = t_{n−1}(1 − α/2) / z(1 − α/2) · √(n / (n − 1)) (1.58 at n = 5), the factor that turns a
normal plug-in interval for a mean into Student's t interval (coverage by simulation:
docs/evaluation.md, ``benchmarks/stats_coverage.py``). :func:`t_interval`: mean ±
t·sd/√n across seeds. Both need at least two seeds; with fewer the bounds are NaN and
print as "—".

**Failed seeds and duplicate splits.** A seed whose MAE is NaN (a failed run, an empty
stratum) in a group and arm the claim's tests read (the endpoint's groups, and the smooth
MAE under a non-inferiority margin) is never dropped silently: :func:`t_interval` gives no value ("—", note
"k of n seeds failed"), :func:`holm` counts a NaN p-value as 1 in the family, and
:func:`evaluate_claim` gives such a cell p = 1 ("not shown — k of n seeds failed") and
says so in its reason. Two seeds of one cell whose splits are identical (same split
checksum, :attr:`CellData.split_ids`) count once, with a warning; the one kept is a seed
with values where the split has one (:func:`distinct_splits`).

**Wording.** A claim whose test does not pass is "not shown" (absence of evidence, not
evidence of absence); its reason gives the *minimal detectable effect* at the cells' n and
α (:func:`minimal_detectable_effect`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..utils import format_number
from ._metrics import Estimate

# Public names: re-exported (and listed) by cliffkit.evaluate.

#: Groups whose MAE the endpoints use, in the order of the last axis of a group-MAE array.
GROUPS = ("overall", "cliff", "smooth")
_G = {g: i for i, g in enumerate(GROUPS)}
_CHUNK_ELEMENTS = 2_000_000


def t_interval(values, confidence: float = 0.95, *, nan_policy: str = "propagate") -> Estimate:
    """Mean across seeds with a Student-t interval, mean ± t_{n−1}·sd/√n.

    Parameters
    ----------
    values : array-like of float, shape (n_seeds,)
    confidence : float, default=0.95
    nan_policy : {"propagate", "omit"}, default="propagate"
        A non-finite value is a failed seed. ``"propagate"``: no value (NaN, printed
        "—"), with the note "k of n seeds failed". ``"omit"``: the mean and interval of
        the others, with the note "k of n seeds left out". Never silent.

    Returns
    -------
    Estimate
        NaN bounds with fewer than two finite values; a zero-width interval when they are
        all equal.

    Raises
    ------
    InvalidParameterError
        Unknown ``nan_policy``.

    Examples
    --------
    >>> e = t_interval([1.0, 2.0, 3.0])
    >>> round(e.value, 3), round(e.low, 3), round(e.high, 3)
    (2.0, -0.484, 4.484)
    >>> t_interval([1.0, float("nan"), 3.0]).format()
    '— [—: 1 of 3 seeds failed]'
    """
    from scipy import stats

    if nan_policy not in ("propagate", "omit"):
        raise InvalidParameterError(f"nan_policy must be 'propagate' or 'omit'; got {nan_policy!r}.")
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    ok = np.isfinite(x)
    note = ""
    if not ok.all():
        k = int((~ok).sum())
        if nan_policy == "propagate":
            return Estimate(float("nan"), note=f"{k} of {x.size} seeds failed")
        note = f"{k} of {x.size} seeds left out"
    x = x[ok]
    if x.size == 0:
        return Estimate(float("nan"), note=note)
    m = float(x.mean())
    if x.size < 2:
        return Estimate(m, note=note)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Estimate(m, m - half, m + half, note=note)


def fieller_interval(num, den, confidence: float = 0.95) -> Estimate:
    """Ratio of seed means ``mean(num) / mean(den)`` with Fieller's interval for paired values.

    The interval holds every ratio R for which the paired Student-t test of
    ``num − R·den`` (mean 0, n − 1 degrees of freedom) is not rejected at
    ``1 − confidence``: the roots of ``(ā − R b̄)² = t²·(s_aa − 2R s_ab + R² s_bb)/n``.
    Used for the cliff/smooth MAE ratio across seeds (``num``: per-seed MAE on cliff
    cases, ``den``: on smooth cases), so that the interval belongs to the ratio printed.
    Source: E. C. Fieller (1954), "Some problems in interval estimation",
    J. R. Stat. Soc. B 16:175–185.

    Parameters
    ----------
    num, den : array-like of float, shape (n_seeds,)
        Paired per-seed values; a seed with a non-finite value in either is left out
        (said in ``note``).
    confidence : float, default=0.95

    Returns
    -------
    Estimate
        NaN bounds with fewer than two seeds; infinite bounds (note "unbounded") when the
        denominator's mean is not distinguishable from 0 at this confidence; where the set
        is two rays the note names them ("unbounded: (−∞, L] ∪ [U, ∞)").

    Raises
    ------
    InvalidParameterError
        ``num`` and ``den`` differ in length.

    Examples
    --------
    >>> e = fieller_interval([1.5, 1.7, 1.6], [1.0, 1.1, 1.0])
    >>> round(e.value, 3), round(e.low, 3), round(e.high, 3)
    (1.548, 1.428, 1.671)
    """
    from scipy import stats

    a = np.asarray(num, dtype=np.float64).reshape(-1)
    b = np.asarray(den, dtype=np.float64).reshape(-1)
    if a.size != b.size:
        raise InvalidParameterError(f"num and den must pair up; got {a.size} and {b.size} values.")
    ok = np.isfinite(a) & np.isfinite(b)
    note = f"{int((~ok).sum())} of {a.size} seeds left out" if not ok.all() else ""
    a, b = a[ok], b[ok]
    if a.size == 0 or b.mean() == 0:
        return Estimate(float("nan"), note=note)
    ma, mb = float(a.mean()), float(b.mean())
    r = ma / mb
    n = a.size
    if n < 2:
        return Estimate(r, note=note)
    q = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) ** 2 / n
    cov = np.cov(a, b, ddof=1)
    saa, sab, sbb = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    qa = mb * mb - q * sbb
    qb = ma * mb - q * sab
    qc = ma * ma - q * saa
    disc = qb * qb - qa * qc
    if qa <= 0 or disc < 0:
        what = "unbounded"
        if qa < 0 and disc > 0:  # the set is two rays, (−∞, L] ∪ [U, ∞): say which
            lo_, hi_ = sorted(((qb - np.sqrt(disc)) / qa, (qb + np.sqrt(disc)) / qa))
            what += f": (−∞, {format_number(lo_, 3)}] ∪ [{format_number(hi_, 3)}, ∞)"
        return Estimate(r, -np.inf, np.inf, note=(note + "; " if note else "") + what)
    root = float(np.sqrt(max(disc, 0.0)))
    return Estimate(r, (qb - root) / qa, (qb + root) / qa, note=note)


def one_sided_t(d):
    """p-value of the one-sided t-test of H1: mean(d) > 0 (``scipy.stats.ttest_1samp``).

    Parameters
    ----------
    d : array-like of float, shape (n_seeds,) or (n_cells, n_seeds)
        Per-seed contrasts; a 2-D array is tested row by row. A non-finite value (a
        failed seed) makes the result NaN: it is never left out silently
        (:func:`evaluate_claim` turns it into p = 1).

    Returns
    -------
    float, or numpy.ndarray of shape (n_cells,) for 2-D input
        NaN for fewer than two values or a non-finite one. When every value is equal,
        0.0 if they are positive and 1.0 otherwise (the t statistic is undefined there).

    Examples
    --------
    >>> round(one_sided_t([0.1, 0.2, 0.15, 0.12, 0.18]), 5)
    0.00062
    """
    from scipy import stats

    x = np.asarray(d, dtype=np.float64)
    if x.ndim == 1:
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

    ``p_adj(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j))`` over the sorted p-values. A NaN
    entry (a test that could not be run: a failed seed) stays in the family as p = 1, so
    it still counts in m and is never rejected; leaving it out would make the correction
    milder for the others. Reject where ``p_adj ≤ α``.

    Parameters
    ----------
    pvalues : array-like of float, shape (m,)

    Returns
    -------
    numpy.ndarray of float64, shape (m,)
        In the input order (1.0 where the input was NaN).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    >>> holm([0.01, float("nan")]).round(3).tolist()
    [0.02, 1.0]
    """
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    p = np.where(np.isfinite(p), p, 1.0)
    out = np.full(p.shape, np.nan)
    m = p.size
    if m == 0:
        return out
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def shown_holm(row: dict[str, Any], min_seeds: int = 5) -> float | None:
    """The Holm-adjusted p-value of one cell as it is printed: None where no test was made.

    A cell of :func:`evaluate_claim` whose raw p is NaN (fewer than 2 seeds: no t-test) or
    that has fewer than ``min_seeds`` split seeds (the claim is not tested on it; such a
    cell is exploratory) shows no corrected p-value ("—"): its adjusted value (1 for a NaN
    p) exists only because :func:`holm` keeps it in the family, so that the other cells'
    corrections are not made milder. Their Holm p-values are unchanged by this. A cell of a
    claim about every cell (quantifier ``"all"``) has no Holm p either (``p_holm`` NaN):
    that intersection-union test is decided on the raw p.

    Parameters
    ----------
    row : dict
        One entry of :attr:`ClaimResult.cells` (keys ``p``, ``p_holm``, ``n_seeds``).
    min_seeds : int, default=5
        The claim's ``min_seeds``.

    Returns
    -------
    float or None
        ``row["p_holm"]``, or None where no test was made.

    Examples
    --------
    >>> shown_holm({"p": 0.01, "p_holm": 0.03, "n_seeds": 5})
    0.03
    >>> shown_holm({"p": float("nan"), "p_holm": 1.0, "n_seeds": 1}) is None
    True
    >>> shown_holm({"p": 0.2, "p_holm": 0.6, "n_seeds": 3}) is None
    True
    """
    p, pa = row.get("p"), row.get("p_holm")
    if p is None or pa is None or not (np.isfinite(p) and np.isfinite(pa)):
        return None
    if int(row.get("n_seeds", 0)) < int(min_seeds):
        return None
    return float(pa)


def minimal_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest mean contrast the one-sided one-sample t-test detects with ``power``.

    The δ with P(T > t_{1−α, n−1} | noncentral t, df = n − 1, nc = δ·√n / sd) = power
    (``scipy.stats.nct``), in the units of the per-seed contrast.

    Parameters
    ----------
    sd : float
        Standard deviation of the per-seed contrast across seeds.
    n : int
        Seeds.
    alpha : float, default=0.05
        Per-test level (for Holm over m cells, α/m is the first step's level).
    power : float, default=0.8

    Returns
    -------
    float
        NaN when ``n < 2`` or ``sd`` is not finite; 0.0 when ``sd == 0``.

    Examples
    --------
    >>> round(minimal_detectable_effect(1.0, 5), 3)
    1.359
    """
    from scipy import optimize, stats

    if n < 2 or not np.isfinite(sd) or sd < 0 or not (0 < alpha < 1 and 0 < power < 1):
        return float("nan")
    if sd == 0:
        return 0.0
    crit = stats.t.ppf(1 - alpha, n - 1)
    f = lambda nc: stats.nct.sf(crit, n - 1, nc) - power  # noqa: E731
    hi = 1.0
    while f(hi) < 0 and hi < 1e6:
        hi *= 2
    nc = optimize.brentq(f, 0.0, hi, xtol=1e-10)
    return float(nc * sd / np.sqrt(n))


def t_calibration(n_seeds: int, confidence: float = 0.95) -> float:
    """The factor that widens a percentile bootstrap interval over ``n`` seeds to Student's t.

    A percentile bootstrap over ``n`` seeds behaves like mean ± z·sd_plugin/√n with the
    plug-in (divide-by-n) sd; multiplying its half-widths by
    t_{n−1}(1 − α/2) / z(1 − α/2) · √(n / (n − 1)) gives Student's t interval's width. At
    two seeds that normal picture fails: a resampled mean of two seeds takes only the values
    a, (a + b)/2 and b, so the percentile interval is the seeds' range, half-width |b − a|/2,
    and the factor that gives Student's t half-width t_1·|b − a|/2 is t_1(1 − α/2) itself
    (12.7, where the formula gives 9.2: an interval 0.72 times too narrow). NaN for fewer
    than 2 seeds.

    Examples
    --------
    >>> round(t_calibration(5), 3)
    1.584
    >>> round(t_calibration(2), 3)
    12.706
    """
    from scipy import stats

    if n_seeds < 2:
        return float("nan")
    a = (1 - confidence) / 2
    if n_seeds == 2:
        return float(stats.t.ppf(1 - a, 1))
    return float(stats.t.ppf(1 - a, n_seeds - 1) / stats.norm.ppf(1 - a)
                 * np.sqrt(n_seeds / (n_seeds - 1)))


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
    method: str = "t-calibrated",
) -> Estimate:
    """Paired two-level (seeds × molecules) bootstrap of a statistic of seed-mean MAEs.

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
    method : {"t-calibrated", "percentile"}, default="t-calibrated"
        ``"percentile"``: the plain percentile interval (undercovers at few seeds: about
        88% for 95% at 5 seeds); ``"t-calibrated"``: its half-widths about the point
        estimate times :func:`t_calibration` of the number of seeds.

    Returns
    -------
    Estimate
        The statistic of the observed seed means, with the interval; NaN bounds with fewer
        than two seeds or ``n_bootstrap == 0`` ("—").

    Raises
    ------
    InvalidParameterError
        ``n_bootstrap`` not an int ≥ 0, unknown ``method``.

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
    if method not in _METHODS:
        raise InvalidParameterError(f"method must be one of {', '.join(_METHODS)}; got {method!r}.")
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
    return _percentile(point, statistic(means), n_bootstrap, confidence,
                       n_seeds if method == "t-calibrated" else 0)


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


_METHODS = ("t-calibrated", "percentile")


def _percentile(point: float, boot, n_bootstrap: int, confidence: float,
                n_seeds: int = 0) -> Estimate:
    """Percentile interval; t-calibrated about ``point`` when ``n_seeds`` >= 2."""
    boot = np.asarray(boot, dtype=np.float64)
    boot = boot[np.isfinite(boot)]
    if boot.size < max(10, n_bootstrap // 2) or not np.isfinite(point):
        return Estimate(point)
    alpha = (1 - confidence) / 2
    lo, hi = np.percentile(boot, [100 * alpha, 100 * (1 - alpha)])
    if n_seeds >= 2:
        c = t_calibration(n_seeds, confidence)
        lo, hi = point - c * max(point - lo, 0.0), point + c * max(hi - point, 0.0)
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
    #: The groups (:data:`GROUPS`) whose MAE, in every arm, the contrast reads.
    groups: tuple[str, ...] = ()


def _div(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


def _gap(M, arm):
    return M[..., arm, _G["cliff"]] - M[..., arm, _G["smooth"]]


def _reduction(group: str) -> Endpoint:
    g = _G[group]
    return Endpoint(
        name=f"{group}_mae_reduction", arms=2, percent=True, groups=(group,),
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
        name="gap_reduction", arms=2, percent=True, groups=("cliff", "smooth"),
        title="gap reduction, 1 − gap_B / gap_A (gaps of seed-mean MAEs)",
        estimate=lambda M: 1.0 - _div(_gap(M, 1), _gap(M, 0)),
        contrast=lambda M, t: (1.0 - t) * _gap(M, 0) - _gap(M, 1),
    ),
    "ratio": Endpoint(
        name="ratio", arms=1, groups=("cliff", "smooth"), title="ratio, mean MAE_cliff / mean MAE_smooth",
        estimate=lambda M: _div(M[..., 0, _G["cliff"]], M[..., 0, _G["smooth"]]),
        contrast=lambda M, t: M[:, 0, _G["cliff"]] - t * M[:, 0, _G["smooth"]],
    ),
    "gap": Endpoint(
        name="gap", arms=1, groups=("cliff", "smooth"), title="gap, mean MAE_cliff − mean MAE_smooth",
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
    split_ids : list of str or None
        Per seed, an identifier of the split (its checksum). Seeds with the same
        identifier made the same split: :func:`evaluate_claim` counts them once and warns.
    """

    key: dict[str, Any]
    seeds: list[int]
    mae: np.ndarray
    errors: list | None = None
    split_ids: list | None = None

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
    warnings: list[str] = field(default_factory=list)


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

    n_seeds = M.shape[0]

    def boot(stat):  # one set of resamples per cell, every statistic computed on it
        point = float(stat(M.mean(axis=0)))
        return Estimate(point) if means is None else _percentile(point, stat(means), n_bootstrap,
                                                                 confidence, n_seeds)
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


def claim_margin(claim: dict[str, Any]) -> float | None:
    """The smooth non-inferiority margin :func:`evaluate_claim` applies to a claim.

    The claim's ``smooth_margin``; without the key, 0.02 for a cliff MAE or gap reduction
    and none for the other endpoints; always none for a one-arm endpoint (no baseline).

    Examples
    --------
    >>> claim_margin({"endpoint": "gap_reduction"}), claim_margin({"endpoint": "ratio"})
    (0.02, None)
    """
    ep = ENDPOINTS.get(claim.get("endpoint"))
    if ep is None or ep.arms != 2:
        return None
    m = claim.get("smooth_margin", 0.02 if ep.name in _MARGIN_ENDPOINTS else None)
    return None if m is None else float(m)


def claim_conditions(claim: dict[str, Any]) -> list[str]:
    """The one-sided t-tests whose largest p-value is a cell's p (intersection-union test).

    One entry per condition, in words, as :func:`evaluate_claim` tests them: the
    endpoint's contrast, the smooth non-inferiority margin in effect
    (:func:`claim_margin`), and for a gap reduction the baseline gap > 0.

    Examples
    --------
    >>> claim_conditions({"endpoint": "ratio", "threshold": 1.2})
    ['ratio ≥ 1.2']
    >>> len(claim_conditions({"endpoint": "gap_reduction", "threshold": 0.3}))
    3
    """
    ep = ENDPOINTS[claim["endpoint"]]
    out = [f"{ep.name} ≥ {float(claim['threshold']):g}"]
    margin = claim_margin(claim)
    if margin is not None:
        out.append(f"smooth MAE non-inferior: loss < plain × {1 + margin:g} (margin "
                   f"{format_number(margin, 1, sign=True, percent=True)})")
    if ep.name == "gap_reduction":
        out.append("plain gap > 0")
    return out


def _read_mask(ep: Endpoint, margin: float | None, mae: np.ndarray) -> np.ndarray:
    """Per seed: True where every MAE a claim's tests read is finite.

    The contrast reads ``ep.groups`` in each of its arms, the non-inferiority test the
    smooth MAE of both arms, the gap test (a gap reduction) the baseline's cliff and smooth
    MAE; a NaN elsewhere (an empty stratum the endpoint does not use) fails no seed.
    """
    groups = set(ep.groups)
    if margin is not None:
        groups.add("smooth")
    idx = [_G[g] for g in GROUPS if g in groups]
    return np.isfinite(mae[:, : ep.arms][:, :, idx]).all(axis=(1, 2))


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
        ``verdict`` is ``"holds"``, ``"not shown"`` (the test did not pass: the reason
        gives the minimal detectable effect at the cells' n and α, power 80%),
        ``"insufficient seeds"`` (a cell has fewer than ``min_seeds`` distinct split
        seeds: never "holds") or ``"not measured"`` (no cells). ``cells`` lists per cell:
        n seeds (distinct splits), ``n_failed`` (seeds without a value the tests read: the
        cell's p is then 1), ``duplicate_seeds``, estimates with hierarchical-bootstrap
        (t-calibrated) and t intervals, raw p and Holm-adjusted p (``p_holm``; NaN for
        quantifier ``"all"``, which is decided on the raw p), pass/fail, ``mde`` (the endpoint value
        detectable with 80% power), ``unstable`` (gap reduction whose baseline gap CI
        includes 0). ``best`` is the cell with the best point estimate: exploratory,
        chosen after seeing the data. ``warnings``: duplicate splits, failed seeds.

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
    margin = claim_margin(claim)
    rows: list[dict[str, Any]] = []
    warn: list[str] = []
    pairs_ = [_distinct_splits(c, _read_mask(ep, margin, c.mae)) for c in cells]
    cells, dups = [c for c, _ in pairs_], [d for _, d in pairs_]
    for c, d in zip(cells, dups, strict=True):
        if d:
            warn.append(f"cell {_key(c.key)}: seeds " + "; ".join(
                f"{a} and {b}" for a, b in d) + " made identical splits (same split checksum) "
                "and count once")
    # only the MAEs the tests read: a NaN elsewhere (e.g. an empty smooth stratum under an
    # overall MAE reduction) is not a failed test
    failed = [int((~_read_mask(ep, margin, c.mae)).sum()) for c in cells]
    read = sorted({*ep.groups, *(("smooth",) if margin is not None else ())}, key=GROUPS.index)
    for c, k in zip(cells, failed, strict=True):
        if k:
            warn.append(f"cell {_key(c.key)}: {k} of {len(c.seeds)} seeds failed or missing "
                        f"in an arm (no {'/'.join(read)} MAE; in a partial grid, not run yet): "
                        "not shown, counted as p = 1")
    p_all = _pvalues([ep.contrast(c.mae, thr) for c in cells])
    p_ni_all = np.full(len(cells), np.nan)
    if margin is not None:
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
        if margin is not None:
            p = max(p, p_ni) if np.isfinite(p) and np.isfinite(p_ni) else float("nan")
        if ep.name == "gap_reduction":
            p_gap = float(p_gap_all[i])
            p = max(p, p_gap) if np.isfinite(p) and np.isfinite(p_gap) else float("nan")
        if failed[i]:
            p = 1.0  # a failed seed is a test that could not be run: never a pass
        if intervals:
            est = _estimates(cell, ep, n_bootstrap, random_state + i, confidence)
        else:
            est = {"endpoint": Estimate(float(ep.estimate(M.mean(axis=0))))}
        unstable = False
        if ep.name == "gap_reduction" and intervals:
            g0 = est["gap_0"] if np.isfinite(est["gap_0"].low) else est["gap_0_t"]
            unstable = not (np.isfinite(g0.low) and g0.low > 0)
        rows.append({"key": cell.key, "n_seeds": len(cell.seeds), "seeds": list(cell.seeds),
                     "n_failed": failed[i], "duplicate_seeds": [list(d) for d in dups[i]],
                     "p": p, "p_noninferiority": p_ni, "estimates": est, "unstable": unstable})
    if not rows:
        return ClaimResult(claim, "not measured", reason="no cells in these results")
    # "any": at least one cell, so the family needs Holm. "all": every cell must pass, an
    # intersection-union test whose level is already alpha with each raw p <= alpha (Berger
    # 1982, Technometrics 24:295-300): adjusting it would only make it needlessly strict.
    # So an "all" claim has no Holm p (NaN, printed "—"): each cell is decided on its raw p.
    raw = np.array([r["p"] for r in rows], dtype=np.float64)
    adj = holm(raw) if quant == "any" else np.full(raw.shape, np.nan)
    decide = adj if quant == "any" else raw
    # the level of one cell's test: Holm's first (most lenient) step for "any"
    a_cell = alpha / len(rows) if quant == "any" else alpha
    for r, pa, pd_, cell in zip(rows, adj, decide, cells, strict=True):
        r["p_holm"] = float(pa)
        r["passes"] = bool(np.isfinite(pd_) and pd_ <= alpha and r["n_seeds"] >= min_seeds
                           and not r["unstable"])
        r["mde"] = _mde(ep, cell.mae, thr, a_cell)
    n_hold = sum(r["passes"] for r in rows)
    few = [r for r in rows if r["n_seeds"] < min_seeds]
    n_failed = sum(r["n_failed"] for r in rows)
    fail_txt = (f"; {n_failed} of {sum(r['n_seeds'] for r in rows)} seeds failed or missing in "
                f"{sum(r['n_failed'] > 0 for r in rows)} cells (those cells count as p = 1)"
                if n_failed else "")
    if few:
        verdict = "insufficient seeds"
        reason = (f"{len(few)} of {len(rows)} cells have fewer than {min_seeds} distinct split "
                  f"seeds (fewest: {min(r['n_seeds'] for r in rows)})") + fail_txt
    else:
        ok = n_hold >= 1 if quant == "any" else n_hold == len(rows)
        verdict = "holds" if ok else "not shown"
        how = "Holm-adjusted" if quant == "any" else "unadjusted (every cell must pass)"
        reason = f"{n_hold} of {len(rows)} cells pass at {how} α = {alpha:g}" + fail_txt
        if not ok:
            reason += "; " + _mde_text(ep, rows, a_cell, quant)
    finite = [r for r in rows if np.isfinite(r["estimates"]["endpoint"].value)]
    best = max(finite, key=lambda r: r["estimates"]["endpoint"].value) if finite else None
    return ClaimResult(claim, verdict, rows, best, len(rows), n_hold, reason, warn)


def _key(key: dict) -> str:
    return ", ".join(f"{v}" for v in key.values())


def distinct_splits(split_ids, usable=None) -> tuple[list[int], list[tuple[int, int]]]:
    """One position per distinct split id: which seeds count, and which repeat a split.

    Seeds with the same split id (split checksum) made the same split and count once. The
    one kept is the first *usable* one (``usable[i]`` True: its values exist), so that a
    failed seed does not hide a good seed of the same split; the first one when none is.
    A missing id (None or NaN) is always kept.

    Parameters
    ----------
    split_ids : sequence, shape (n_seeds,)
    usable : array-like of bool, shape (n_seeds,), optional
        Default: every seed.

    Returns
    -------
    keep : list of int
        Positions kept, in order.
    dups : list of (int, int)
        (kept position, dropped position) per repeat.

    Examples
    --------
    >>> distinct_splits(["a", "b", "a"])
    ([0, 1], [(0, 2)])
    >>> distinct_splits(["a", "b", "a"], usable=[False, True, True])
    ([1, 2], [(2, 0)])
    """
    ids = list(split_ids)
    ok = np.ones(len(ids), dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    missing = [sid is None or (isinstance(sid, float) and not np.isfinite(sid)) for sid in ids]
    chosen: dict[Any, int] = {}
    for i, sid in enumerate(ids):
        if missing[i]:
            continue
        if sid not in chosen or (ok[i] and not ok[chosen[sid]]):
            chosen[sid] = i
    keep = [i for i in range(len(ids)) if missing[i] or chosen[ids[i]] == i]
    dups = [(chosen[sid], i) for i, sid in enumerate(ids) if not missing[i] and chosen[sid] != i]
    return keep, dups


def _distinct_splits(cell: CellData, usable=None) -> tuple[CellData, list[tuple[int, int]]]:
    """The cell with one seed per distinct split id, and the (kept, dropped) seed pairs."""
    ids = cell.split_ids
    if ids is None:
        return cell, []
    keep, dups = distinct_splits(ids, usable)
    if not dups:
        return cell, []
    errors = None if cell.errors is None else [cell.errors[i] for i in keep]
    return (CellData(cell.key, [cell.seeds[i] for i in keep], cell.mae[keep], errors,
                     [ids[i] for i in keep]),
            [(int(cell.seeds[a]), int(cell.seeds[b])) for a, b in dups])


#: For the minimal detectable effect: d(contrast)/d(endpoint) at the baseline's seed means.
_SCALE = {
    "cliff_mae_reduction": lambda m: m[0, _G["cliff"]],
    "overall_mae_reduction": lambda m: m[0, _G["overall"]],
    "smooth_mae_reduction": lambda m: m[0, _G["smooth"]],
    "gap_reduction": lambda m: m[0, _G["cliff"]] - m[0, _G["smooth"]],
    "ratio": lambda m: m[0, _G["smooth"]],
    "gap": lambda m: 1.0,
}


def _mde(ep: Endpoint, M: np.ndarray, thr: float, alpha: float) -> float:
    """The endpoint value that one cell's test detects with 80% power at its n and ``alpha``.

    The per-seed contrast is linear in the endpoint (slope ``_SCALE``: the baseline's mean
    MAE for a reduction, its smooth MAE for the ratio); its SD across seeds is the observed
    one. The smooth non-inferiority condition is not part of it (it can only add to it).
    """
    d = ep.contrast(M, thr)
    if not np.isfinite(d).all() or d.size < 2:
        return float("nan")
    delta = minimal_detectable_effect(float(np.std(d, ddof=1)), int(d.size), alpha)
    scale = float(_SCALE.get(ep.name, lambda m: float("nan"))(M.mean(axis=0)))
    if not (np.isfinite(scale) and scale > 0):
        return float("nan")
    return thr + delta / scale


def _mde_text(ep: Endpoint, rows, alpha: float, quant: str) -> str:
    m = np.array([r["mde"] for r in rows], dtype=np.float64)
    m = m[np.isfinite(m)]
    n = sorted({r["n_seeds"] for r in rows})
    ns = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
    fmt = ((lambda v: format_number(v, 1, sign=True, percent=True)) if ep.percent
           else (lambda v: f"{v:.3g}"))
    lvl = f"α = {alpha:.2g} per cell" + (" (Holm's first step)" if quant == "any" else "")
    if m.size == 0:
        return f"minimal detectable effect not estimable ({ns} seeds, {lvl})"
    what = (f"{fmt(m[0])}" if m.size == 1 else
            f"median {fmt(float(np.median(m)))}, best cell {fmt(float(m.min()))}")
    return (f"minimal detectable {ep.name} at {ns} seeds, {lvl}, power 80%: {what} "
            "(smaller true effects are likely to be missed)")
