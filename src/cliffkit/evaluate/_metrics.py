"""Regression metrics per stratum with seeded bootstrap confidence intervals.

Statistics (the same everywhere in cliffkit):

- **Bootstrap.** Each group of test cases (a stratum, or the whole test set) is
  resampled with replacement, ``n_bootstrap`` times (default 1,000), keeping its size;
  MAE, RMSE and R² are recomputed on every resample. The 95% interval is the 2.5th and
  97.5th percentile of those values (percentile bootstrap). Resamples are drawn
  *within* each group, so every resample keeps the group's size. A resample whose labels
  are (near-)constant has no R² and is left out of the R² percentiles; a group of fewer
  than three cases gets no R² interval (note ``"n < 3"``), and one of fewer than two
  none at all (``"n < 2"``).
- **Gap and ratio.** ``gap = MAE_cliff - MAE_smooth`` and ``ratio = MAE_cliff /
  MAE_smooth``. Their intervals pair the cliff group's resamples with the smooth
  group's resamples, which are drawn independently (the two groups are disjoint sets
  of molecules), and take the percentiles of the ``n_bootstrap`` gaps and ratios.
- **Seeds.** Each group gets its own generator, seeded from ``(random_state,
  crc32(group name))``, so a group's interval depends only on its own cases and the
  seed: adding a stratum does not move another's interval, and two models scored on
  the same split with the same seed see the same resamples.
"""

from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CliffkitWarning, InvalidParameterError, ShapeMismatchError
from ..utils import user_stacklevel

#: The per-group metrics, written once: every group of :func:`stratum_metrics` carries
#: ``n`` and these, and the bench table and the report take them under the same names.
METRICS = ("mae", "rmse", "r2")

__all__ = [
    "METRICS",
    "Estimate",
    "bootstrap_ci",
    "min_resamples",
    "regression_metrics",
    "stratum_metrics",
    "pair_metrics",
    "paired_test",
    "STRATA_ORDER",
    "CONTRASTS",
    "PAIR_SUMMARY",
    "current_pair_names",
]

#: Groups reported by :func:`stratum_metrics`, in display order.
STRATA_ORDER = (
    "overall", "cliff", "smooth", "matched_cliff", "matched_smooth",
    "matched_cliff_z", "matched_smooth_z", "intermediate", "unsupported",
    "roughest", "calmest",
)

#: Cliff/smooth contrasts: name -> (numerator group, denominator group).
CONTRASTS = {
    "cliff_vs_smooth": ("cliff", "smooth"),
    "matched_similarity": ("matched_cliff", "matched_smooth"),
    "matched_similarity_z": ("matched_cliff_z", "matched_smooth_z"),
    "label_free": ("roughest", "calmest"),
}

_CHUNK_ELEMENTS = 2_000_000  # resample indices held in memory at once


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its bootstrap confidence interval (NaN when undefined).

    ``note`` says why the interval is missing although intervals were asked for
    (``"n < 2"``: one case has no sampling spread; ``"n < 3"`` for R²: the resamples of
    two cases give R² undefined or equal to the point value, a zero-width interval;
    ``"< 40 resamples"``: too few finite resamples to place the percentiles); it is empty
    otherwise.
    """

    value: float
    low: float = float("nan")
    high: float = float("nan")
    note: str = ""

    def to_dict(self) -> dict[str, float | str | None]:
        """JSON-ready: ``{"value", "low", "high"}`` with NaN written as None, plus
        ``"note"`` when the interval is missing for a reason."""
        out: dict[str, float | str | None] = {
            k: _finite_or_none(getattr(self, k)) for k in ("value", "low", "high")}
        if self.note:
            out["note"] = self.note
        return out

    def format(self, digits: int = 3) -> str:
        """``0.512 [0.471, 0.556]``; ``0.055 [—: n < 2]`` when no interval can be estimated.

        >>> Estimate(0.055, note="n < 2").format()
        '0.055 [—: n < 2]'
        """
        if np.isnan(self.value):
            return "—" + (f" [—: {self.note}]" if self.note else "")
        if np.isinf(self.value):
            return "inf" if self.value > 0 else "-inf"
        if not (np.isfinite(self.low) and np.isfinite(self.high)):
            return f"{self.value:.{digits}f}" + (f" [—: {self.note}]" if self.note else "")
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"


def min_resamples(confidence: float) -> int:
    """Fewest finite bootstrap resamples from which a ``confidence`` interval is given.

    A percentile interval at level ``c`` cuts ``α = (1 − c) / 2`` from each tail; with
    fewer than ``1 / α`` resamples (40 at 95%) a tail holds no resample at all and the
    bound is just the extreme value.

    >>> min_resamples(0.95)
    40
    """
    alpha = (1.0 - float(confidence)) / 2.0
    return int(np.ceil(1.0 / alpha - 1e-9))


#: Fewest cases for a bootstrap interval of a metric (2 unless listed): a resample of two
#: cases either repeats one case (R² undefined) or holds both (R² equal to the point value),
#: so an R² interval of two cases would have zero width whatever the model.
_MIN_N_INTERVAL = {"r2": 3}


def _estimate(point: float, samples: np.ndarray, confidence: float, n: int,
              min_n: int = 2) -> Estimate:
    """``point`` with the percentile interval of ``samples``, or a note why there is none."""
    if samples.size == 0 or not np.isfinite(point):  # intervals off, or no point value
        return Estimate(float(point))
    if n < min_n:
        return Estimate(float(point), note=f"n < {min_n}")
    k = min_resamples(confidence)
    if int(np.isfinite(samples).sum()) < k:
        return Estimate(float(point), note=f"< {k} resamples")
    return Estimate(float(point), *_interval(samples, confidence))


def _finite_or_none(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def _as_1d(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeMismatchError(f"{name} must be one-dimensional (n_samples,); got shape {arr.shape}.")
    return arr


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    yt, yp = _as_1d(y_true, "y_true"), _as_1d(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ShapeMismatchError(
            f"y_true and y_pred must have the same length; got {yt.shape[0]} and {yp.shape[0]}."
        )
    return yt, yp


def _check_finite(yt: np.ndarray, yp: np.ndarray, who: str) -> None:
    """Refuse NaN/inf cases (a NaN prediction made every metric NaN, silently)."""
    bad = np.flatnonzero(~(np.isfinite(yt) & np.isfinite(yp)))
    if bad.size:
        raise InvalidParameterError(
            f"{who} needs finite values; {bad.size} cases are NaN or inf "
            f"(positions {bad[:5].tolist()}); drop them or predict every case."
        )


#: R² is undefined (NaN) when the labels' root-mean-square spread about their mean is at
#: most this fraction of their largest magnitude: labels that are equal up to round-off
#: (``[3.2, 3.2, 3.2]`` has a sum of squares of about 6e-31, not 0) have no variance to
#: explain, and ``1 − SS_res / SS_tot`` would read about −1e29.
_R2_RTOL = 1e-10


def _r2(sse, sst, n: int, scale: float):
    """``1 − sse / sst``, NaN where the labels are (near-)constant (see :data:`_R2_RTOL`).

    ``sse`` and ``sst`` are numbers or arrays of the same shape (one per resample);
    ``scale`` is the largest ``|y|`` of the group.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        floor = n * (_R2_RTOL * scale) ** 2
        return np.where((n >= 2) & (sst > floor), 1.0 - sse / np.where(sst > 0, sst, 1.0),
                        np.nan)


def _metrics(yt: np.ndarray, yp: np.ndarray) -> dict[str, float]:
    n = yt.shape[0]
    if n == 0:
        return dict.fromkeys(METRICS, np.nan)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd values give inf, not a warning
        err = yp - yt
        sse = float(np.sum(err**2))
        sst = float(np.sum((yt - yt.mean()) ** 2))
        rmse = float(np.sqrt(sse / n))
        if np.isinf(rmse):  # the squares overflowed: scale by the largest error
            scale = float(np.max(np.abs(err)))
            rmse = scale * float(np.sqrt(np.mean((err / scale) ** 2))) if scale < np.inf else scale
        return {
            "mae": float(np.mean(np.abs(err))),
            "rmse": rmse,
            "r2": float(_r2(sse, sst, n, float(np.max(np.abs(yt))))),
        }


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE and R² of one set of predictions.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_samples,)

    Returns
    -------
    dict
        ``{"n", "mae", "rmse", "r2"}``. R² is NaN when it is undefined: fewer than two
        cases, or ``y_true`` constant up to a relative tolerance (root-mean-square spread
        at most 1e-10 times the largest ``|y_true|``, so labels equal up to
        round-off count as constant). scikit-learn's ``r2_score`` returns 0 or 1 for
        exactly constant ``y_true`` (-inf or NaN with ``force_finite=False``) and about
        -1e29 for labels equal up to round-off.

    Raises
    ------
    ShapeMismatchError
        Different lengths.
    InvalidParameterError
        A NaN or infinite value (as scikit-learn's metrics refuse them).

    Examples
    --------
    >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    {'n': 3, 'mae': 0.6666666666666666, 'rmse': 1.1547005383792515, 'r2': -1.0}
    """
    yt, yp = _check_pair(y_true, y_pred)
    _check_finite(yt, yp, "regression_metrics")
    return {"n": int(yt.shape[0]), **_metrics(yt, yp)}


def _group_rng(random_state: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(random_state), zlib.crc32(name.encode())])


def _base_seed(random_state) -> int:
    if random_state is None or isinstance(random_state, np.random.Generator | np.random.RandomState):
        from ..utils import check_random_state

        return int(check_random_state(random_state).integers(0, 2**63 - 1))
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        if random_state < 0:
            raise InvalidParameterError(
                f"The 'random_state' parameter must be a non-negative int; got {random_state}."
            )
        return int(random_state)
    raise InvalidParameterError(
        f"The 'random_state' parameter must be None, an int or a numpy Generator; got {random_state!r}."
    )


def _check_bootstrap(n_bootstrap: int, confidence: float) -> None:
    if not (isinstance(n_bootstrap, int | np.integer) and not isinstance(n_bootstrap, bool)
            and n_bootstrap >= 0):
        raise InvalidParameterError(
            f"The 'n_bootstrap' parameter must be an int >= 0 (0 turns intervals off, "
            f"1000 or more is recommended); got {n_bootstrap!r}."
        )
    if not (isinstance(confidence, float | int) and 0 < confidence < 1):
        raise InvalidParameterError(
            f"The 'confidence' parameter must be a float in (0, 1); got {confidence!r}."
        )


def _resample(yt: np.ndarray, yp: np.ndarray, n_bootstrap: int,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """MAE, RMSE and R² of ``n_bootstrap`` resamples (vectorised, in memory-bounded chunks)."""
    n = yt.shape[0]
    out = {k: np.full(n_bootstrap, np.nan) for k in METRICS}
    if n == 0 or n_bootstrap == 0:
        return out
    with np.errstate(over="ignore"):
        ae = np.abs(yp - yt)
        se = (yp - yt) ** 2
    step = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_bootstrap, step):
        stop = min(n_bootstrap, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        _resample_chunk(out, start, stop, idx, ae, se, yt)
    return out


def _resample_chunk(out, start, stop, idx, ae, se, yt) -> None:
    with np.errstate(over="ignore", invalid="ignore"):
        n = yt.shape[0]
        out["mae"][start:stop] = ae[idx].mean(axis=1)
        sse = se[idx].sum(axis=1)
        out["rmse"][start:stop] = np.sqrt(sse / n)
        ys = yt[idx]
        sst = ((ys - ys.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        out["r2"][start:stop] = _r2(sse, sst, n, float(np.max(np.abs(yt))))


def _interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    finite = samples[np.isfinite(samples)]
    if finite.size == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)])
    return float(lo), float(hi)


def bootstrap_ci(y_true, y_pred, *, metric: str = "mae", n_bootstrap: int = 1000,
                 random_state=0, confidence: float = 0.95) -> Estimate:
    """Percentile bootstrap interval of one metric on one group of cases.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_samples,)
    metric : {"mae", "rmse", "r2"}, default="mae"
    n_bootstrap : int, default=1000
        Resamples (with replacement, same size as the group).
    random_state : int, default=0
        Seed; the same seed gives the same interval.
    confidence : float, default=0.95

    Returns
    -------
    Estimate
        The metric on the full group and its ``confidence`` interval.
    """
    if metric not in ("mae", "rmse", "r2"):
        raise InvalidParameterError(
            f"The 'metric' parameter of bootstrap_ci must be one of 'mae', 'rmse', 'r2'; got {metric!r}."
        )
    _check_bootstrap(n_bootstrap, confidence)
    yt, yp = _check_pair(y_true, y_pred)
    _check_finite(yt, yp, "bootstrap_ci")
    rng = _group_rng(_base_seed(random_state), "bootstrap_ci")
    boot = _resample(yt, yp, n_bootstrap, rng)[metric] if n_bootstrap else np.zeros(0)
    return _estimate(_metrics(yt, yp)[metric], boot, confidence, int(yt.shape[0]),
                     _MIN_N_INTERVAL.get(metric, 2))


def _group_masks(strata, masks, n: int) -> dict[str, np.ndarray]:
    groups: dict[str, np.ndarray] = {"overall": np.ones(n, dtype=bool)}
    if strata is not None:
        labels = np.asarray(strata).astype(str)
        if labels.shape != (n,):
            raise ShapeMismatchError(
                f"strata must have one label per case ({n}); got shape {labels.shape}."
            )
        names = ("cliff", "smooth", "intermediate", "unsupported")
        for name in names:
            groups[name] = labels == name
        near = sorted({str(lab) for lab in np.unique(labels)
                       if lab not in names and lab.strip().lower() in names})
        if near:
            def n_cases(lab: str) -> str:
                k = int((labels == lab).sum())
                return f"{k} case{'' if k == 1 else 's'}"

            counts = ", ".join(f"{lab!r} ({n_cases(lab)}; did you mean "
                               f"{lab.strip().lower()!r}?)" for lab in near)
            warnings.warn(f"strata labels {counts} are not stratum names (they are "
                          "case-sensitive), so those cases count only in 'overall'.",
                          CliffkitWarning, stacklevel=user_stacklevel())
    for name, mask in (masks or {}).items():
        m = np.asarray(mask)
        if m.dtype != bool:
            idx = m.astype(np.int64)
            m = np.zeros(n, dtype=bool)
            m[idx] = True
        if m.shape != (n,):
            raise ShapeMismatchError(
                f"mask {name!r} must be a boolean array of length {n}; got shape {m.shape}."
            )
        groups[name] = m
    order = {g: i for i, g in enumerate(STRATA_ORDER)}
    return dict(sorted(groups.items(), key=lambda kv: order.get(kv[0], len(order))))


def stratum_metrics(
    y_true,
    y_pred,
    strata=None,
    *,
    masks: dict[str, Any] | None = None,
    n_bootstrap: int = 1000,
    random_state=0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """MAE, RMSE and R² overall and per stratum, gaps and ratios, all with bootstrap CIs.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_samples,)
        True and predicted values of the evaluated (test) cases.
    strata : array-like of str, shape (n_samples,), optional
        ``"cliff"``, ``"smooth"``, ``"intermediate"`` or ``"unsupported"`` per case
        (other labels are counted only in ``overall``; one that differs from a stratum
        name only by case or surrounding space, such as ``"Cliff"``, gets a
        :class:`~cliffkit.errors.CliffkitWarning`).
    masks : dict of str to array-like, optional
        Further groups, as boolean masks or index arrays: ``matched_cliff`` and
        ``matched_smooth`` (paired on similarity to train), ``matched_cliff_z`` and
        ``matched_smooth_z`` (paired on similarity and label extremeness |z|), or any
        other named subset.
    n_bootstrap : int, default=1000
        Resamples per group; 0 turns intervals off.
    random_state : int, default=0
        Seed (see the module notes: each group has its own stream).
    confidence : float, default=0.95

    Returns
    -------
    dict
        ``{"groups": {name: {"n": int, "mae": Estimate, "rmse": Estimate, "r2":
        Estimate}}, "contrasts": {name: {"numerator", "denominator", "gap": Estimate,
        "ratio": Estimate}}, "params": {...}}``. Contrasts (see :data:`CONTRASTS`) are
        given when both of their groups are present.
    """
    _check_bootstrap(n_bootstrap, confidence)
    yt, yp = _check_pair(y_true, y_pred)
    _check_finite(yt, yp, "stratum_metrics")
    seed = _base_seed(random_state)
    groups = _group_masks(strata, masks, yt.shape[0])
    out_groups: dict[str, dict[str, Any]] = {}
    boots: dict[str, dict[str, np.ndarray]] = {}
    for name, mask in groups.items():
        gt, gp = yt[mask], yp[mask]
        point = _metrics(gt, gp)
        boot = _resample(gt, gp, n_bootstrap, _group_rng(seed, name))
        boots[name] = boot
        n_g = int(mask.sum())
        out_groups[name] = {"n": n_g} | {
            k: _estimate(point[k], boot[k] if n_bootstrap else np.zeros(0), confidence, n_g,
                         _MIN_N_INTERVAL.get(k, 2))
            for k in METRICS
        }
    contrasts: dict[str, dict[str, Any]] = {}
    for cname, (num, den) in CONTRASTS.items():
        if num not in groups or den not in groups:
            continue
        a, b = out_groups[num]["mae"].value, out_groups[den]["mae"].value
        ba, bb = boots[num]["mae"], boots[den]["mae"]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = a / b if b > 0 else np.nan
            ratio_boot = np.where(bb > 0, ba / bb, np.nan)
        n_min = min(out_groups[num]["n"], out_groups[den]["n"])
        off = not n_bootstrap
        contrasts[cname] = {
            "numerator": num,
            "denominator": den,
            "gap": _estimate(a - b, np.zeros(0) if off else ba - bb, confidence, n_min),
            "ratio": _estimate(float(ratio), np.zeros(0) if off else ratio_boot, confidence,
                               n_min),
        }
    return {
        "groups": out_groups,
        "contrasts": contrasts,
        "params": {"n_bootstrap": int(n_bootstrap), "random_state": seed,
                   "confidence": float(confidence), "method": "percentile bootstrap, "
                   "resampled within each group; gap/ratio from independent resamples"},
    }


#: The pair metrics a one-line summary of a result carries (the bench cell: ``pairs``),
#: under the names :func:`pair_metrics` gives them.
PAIR_SUMMARY = ("diff_mae", "diff_mae_true", "direction_accuracy", "direction_accuracy_true")

#: Names the pair metrics had in files written before they took the bench's names
#: (evaluation.json of ``cliffkit train``/``evaluate`` runs): old name -> name today.
_OLD_PAIR_NAMES = {"diff_error_pred": "diff_mae", "diff_error_true": "diff_mae_true",
                   "direction_pred": "direction_accuracy",
                   "direction_true": "direction_accuracy_true"}


def current_pair_names(pairs: dict) -> dict:
    """A pair-metrics dict read from a file, with any old metric names replaced by today's.

    Parameters
    ----------
    pairs : dict
        ``{metric name: value}`` as :func:`pair_metrics` returns it, or as an older
        cliffkit wrote it (``diff_error_pred``, ``diff_error_true``, ``direction_pred``,
        ``direction_true``).

    Returns
    -------
    dict
        The same values in the same order; where a file has both names, today's wins.

    Examples
    --------
    >>> current_pair_names({"n": 3, "diff_error_pred": 0.5, "direction_pred": 1.0})
    {'n': 3, 'diff_mae': 0.5, 'direction_accuracy': 1.0}
    """
    out: dict = {}
    for key, value in pairs.items():
        new = _OLD_PAIR_NAMES.get(key, key)
        if new != key and new in pairs:
            continue
        out[new] = value
    return out


def pair_metrics(
    y_true,
    y_pred,
    y_partner,
    *,
    y_pred_partner=None,
    n_bootstrap: int = 1000,
    random_state=0,
    confidence: float = 0.95,
    name: str = "pairs",
    partner_in_sample: bool = False,
) -> dict[str, Any]:
    """Error of the predicted difference and direction accuracy against cliff partners.

    For a case ``i`` with training partner ``j``:

    - ``diff_mae_true`` = ``|(ŷ_i − y_j) − (y_i − y_j)|``, the error of the predicted
      difference when the partner's *true* label is used. It equals ``|ŷ_i − y_i|``, so
      its mean is the group's MAE; it is reported for completeness.
    - ``diff_mae`` = ``|(ŷ_i − ŷ_j) − (y_i − y_j)|``, the error of the difference
      the model predicts between the two molecules (needs ``y_pred_partner``, the
      model's predictions for the training partners).
    - ``direction_accuracy_true`` = share of cases with ``sign(ŷ_i − y_j) == sign(y_i − y_j)``;
      ``direction_accuracy`` the same with ``ŷ_i − ŷ_j``. Pairs with ``y_i == y_j`` have no
      direction and are left out of both. A tie (a predicted difference of exactly 0)
      counts one half, as a coin toss would: a constant predictor scores 0.5, not 0.
    - ``direction_accuracy`` can only fail when ``ŷ_j`` is an *out-of-sample* prediction of
      the partner. The partner is a training molecule, so a model's own prediction of it
      is in-sample: a memoriser (training labels reproduced exactly, a test molecule
      predicted with its nearest training label) then scores close to 1. Pass
      ``partner_in_sample=True`` for such predictions: ``direction_accuracy`` is then not
      computed (NaN, note "in-sample partner"); use out-of-fold partner predictions
      (:func:`cliffkit.experiment.out_of_fold_partner_predictions`) instead.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_pairs,)
        The cases' true and predicted values.
    y_partner : array-like of float, shape (n_pairs,)
        The partners' true values.
    y_pred_partner : array-like of float, shape (n_pairs,), optional
        The partners' predicted values (NaN where unknown).
    n_bootstrap, random_state, confidence
        As in :func:`stratum_metrics` (cases are resampled; ``name`` seeds the stream).
    partner_in_sample : bool, default=False
        ``y_pred_partner`` comes from a model that trained on the partners: the direction
        accuracy cannot fail and is not computed.

    Returns
    -------
    dict
        ``{"n": int, "n_directed": int, "n_with_partner_prediction": int,
        "mean_abs_delta": Estimate, "diff_mae_true": Estimate, "diff_mae":
        Estimate, "direction_accuracy_true": Estimate, "direction_accuracy": Estimate}``.
    """
    _check_bootstrap(n_bootstrap, confidence)
    yt, yp = _check_pair(y_true, y_pred)
    yj = _as_1d(y_partner, "y_partner")
    ypj = (np.full_like(yt, np.nan) if y_pred_partner is None
           else _as_1d(y_pred_partner, "y_pred_partner"))
    if not (yj.shape == ypj.shape == yt.shape):
        raise ShapeMismatchError(
            f"y_true, y_pred, y_partner and y_pred_partner must have the same length; got "
            f"{yt.shape[0]}, {yp.shape[0]}, {yj.shape[0]} and {ypj.shape[0]}."
        )
    true_delta = yt - yj
    per_case = {
        "mean_abs_delta": np.abs(true_delta),
        "diff_mae_true": np.abs((yp - yj) - true_delta),
        "diff_mae": np.abs((yp - ypj) - true_delta),
    }
    directed = true_delta != 0
    has_pred = np.isfinite(ypj)
    per_case["direction_accuracy_true"] = np.where(directed, _direction(yp - yj, true_delta), np.nan)
    per_case["direction_accuracy"] = np.where(
        directed & has_pred & (not partner_in_sample),
        _direction(yp - np.where(has_pred, ypj, 0.0), true_delta), np.nan)
    rng = _group_rng(_base_seed(random_state), name)
    n = yt.shape[0]
    out: dict[str, Any] = {"n": int(n), "n_directed": int(directed.sum()),
                           "n_with_partner_prediction": int(has_pred.sum())}
    idx_chunks = []
    if n and n_bootstrap:
        step = max(1, _CHUNK_ELEMENTS // n)
        idx_chunks = [rng.integers(0, n, size=(min(n_bootstrap, s + step) - s, n))
                      for s in range(0, n_bootstrap, step)]
    for key, values in per_case.items():
        ok = np.isfinite(values)
        point = float(values[ok].mean()) if ok.any() else float("nan")
        if key == "direction_accuracy" and partner_in_sample:
            out[key] = Estimate(float("nan"), note="in-sample partner")
            continue
        if not idx_chunks or not ok.any():
            out[key] = Estimate(point)
            continue
        v = np.where(ok, values, 0.0)
        boot = np.concatenate([
            _nanmean_rows(v[idx], ok[idx]) for idx in idx_chunks
        ])
        out[key] = _estimate(point, boot, confidence, int(ok.sum()))
    return out


def _direction(pred_delta: np.ndarray, true_delta: np.ndarray) -> np.ndarray:
    """1 when the predicted difference has the true sign, 0.5 when it is 0 (a tie), else 0."""
    with np.errstate(invalid="ignore"):
        sp = np.sign(pred_delta)
        return np.where(sp == 0, 0.5, (sp == np.sign(true_delta)).astype(float))


def _nanmean_rows(values: np.ndarray, ok: np.ndarray) -> np.ndarray:
    cnt = ok.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, values.sum(axis=1) / cnt, np.nan)


def paired_test(a, b, *, lower_is_better: bool = True, confidence: float = 0.95,
                nan_policy: str = "propagate") -> dict[str, Any]:
    """Compare two methods measured on the same seeds (or splits), pair by pair.

    Parameters
    ----------
    a, b : array-like of float, shape (n_seeds,)
        One value per seed for each method, aligned (``a[i]`` and ``b[i]`` share seed ``i``).
    lower_is_better : bool, default=True
        For error metrics; decides what counts as a win for ``a``.
    confidence : float, default=0.95
        Level of the interval on the mean difference.
    nan_policy : {"propagate", "omit", "raise"}, default="propagate"
        What a pair with a NaN or infinite value (a failed seed) does, as scipy's
        ``nan_policy``: ``"propagate"``: every statistic of the pairs is NaN (``win_rate``
        too; the Wilcoxon test None); ``"omit"``: such pairs are left out and ``n`` counts
        the others; ``"raise"``: :class:`~cliffkit.errors.InvalidParameterError`.
        ``n_nan`` always says how many pairs had one.

    Returns
    -------
    dict
        ``n`` (pairs; with ``"omit"`` those left), ``n_nan`` (pairs with a NaN or infinite value),
        ``mean_a``, ``mean_b``, ``mean_diff`` (``a - b``) with a Student-t
        interval ``diff_low``/``diff_high`` (mean ± t·sd/√n; NaN when n < 2),
        ``t_statistic``/``t_pvalue`` (paired t-test, ``scipy.stats.ttest_rel``),
        ``wilcoxon_statistic``/``wilcoxon_pvalue`` (Wilcoxon signed-rank,
        ``scipy.stats.wilcoxon``, only with 6 or more non-zero differences: below that
        the exact two-sided test cannot reach p < 0.05, so it is None), and ``win_rate``,
        the share of seeds where ``a`` beats ``b`` (ties count one half).

    Examples
    --------
    >>> r = paired_test([1.0, 2.0, 3.0], [1.5, 2.5, 3.0])
    >>> r["mean_diff"], r["win_rate"]
    (-0.3333333333333333, 0.8333333333333334)
    >>> paired_test([1.0, float("nan"), 2.0], [1.5, 2.0, 3.0], nan_policy="omit")["n"]
    2
    """
    from scipy import stats

    x, y = _check_pair(a, b)
    if not (0 < confidence < 1):
        raise InvalidParameterError(
            f"The 'confidence' parameter of paired_test must be in (0, 1); got {confidence!r}."
        )
    if nan_policy not in ("propagate", "omit", "raise"):
        raise InvalidParameterError(
            f"The 'nan_policy' parameter of paired_test must be 'propagate', 'omit' or 'raise'; "
            f"got {nan_policy!r}.")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    n_nan = int(bad.sum())
    if n_nan and nan_policy == "raise":
        raise InvalidParameterError(
            f"paired_test: {n_nan} of {x.size} pairs hold a NaN or infinite value (positions "
            f"{np.flatnonzero(bad)[:5].tolist()}); drop them or pass nan_policy='omit'.")
    if n_nan and nan_policy == "omit":
        x, y = x[~bad], y[~bad]
    n = int(x.shape[0])
    d = x - y
    out: dict[str, Any] = {
        "n": n, "n_nan": n_nan,
        "mean_a": float(x.mean()) if n else float("nan"),
        "mean_b": float(y.mean()) if n else float("nan"),
        "mean_diff": float(d.mean()) if n else float("nan"),
        "diff_low": float("nan"), "diff_high": float("nan"),
        "t_statistic": float("nan"), "t_pvalue": float("nan"),
        "wilcoxon_statistic": None, "wilcoxon_pvalue": None,
    }
    if n == 0 or (n_nan and nan_policy == "propagate"):
        out["mean_diff"] = float("nan")
        out["win_rate"] = float("nan")
        return out
    better = d < 0 if lower_is_better else d > 0
    out["win_rate"] = float((better.sum() + 0.5 * (d == 0).sum()) / n)
    if n >= 2:
        sd = float(d.std(ddof=1))
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
        out["diff_low"], out["diff_high"] = out["mean_diff"] - half, out["mean_diff"] + half
        if sd > 0:
            t = stats.ttest_rel(x, y)
            out["t_statistic"], out["t_pvalue"] = float(t.statistic), float(t.pvalue)
    if int((d != 0).sum()) >= 6:
        w = stats.wilcoxon(x, y)
        out["wilcoxon_statistic"], out["wilcoxon_pvalue"] = float(w.statistic), float(w.pvalue)
    return out
