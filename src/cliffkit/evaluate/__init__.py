"""Cliff-aware evaluation (``cliffkit.evaluate``).

- :func:`evaluate`: score predictions on a split: MAE, RMSE and R² overall and per
  stratum, gap and ratio, pair-level errors, the reference predictor; bootstrap CIs.
- :func:`read_predictions`: a predictions CSV aligned to a split's test molecules.
- Array API: :func:`regression_metrics`, :func:`stratum_metrics`, :func:`pair_metrics`,
  :func:`bootstrap_ci`, :func:`paired_test`, :func:`reference_predictions`.
- Across seeds (``_stats``): :data:`ENDPOINTS`, :func:`evaluate_claim`,
  :func:`hierarchical_bootstrap`, :func:`t_interval`, :func:`fieller_interval`, :func:`holm`,
  :func:`one_sided_t`, :func:`minimal_detectable_effect`, :func:`t_calibration`,
  :func:`claim_margin`, :func:`claim_conditions`, :func:`distinct_splits`.
"""

from __future__ import annotations

from ._evaluate import (
    PREDICTION_COLUMNS,
    SPLIT_CHECKSUM_COLUMN,
    Evaluation,
    check_trained_on,
    evaluate,
    read_predictions,
)
from ._metrics import (
    CONTRASTS,
    METRICS,
    PAIR_SUMMARY,
    STRATA_ORDER,
    Estimate,
    bootstrap_ci,
    current_pair_names,
    min_resamples,
    pair_metrics,
    paired_test,
    regression_metrics,
    stratum_metrics,
)
from ._reference import reference_predictions
from ._stats import (
    ENDPOINTS,
    GROUPS,
    CellData,
    ClaimResult,
    Endpoint,
    claim_conditions,
    claim_margin,
    distinct_splits,
    evaluate_claim,
    fieller_interval,
    hierarchical_bootstrap,
    holm,
    minimal_detectable_effect,
    one_sided_t,
    shown_holm,
    t_calibration,
    t_interval,
)

__all__ = [
    "Evaluation",
    "PREDICTION_COLUMNS",
    "SPLIT_CHECKSUM_COLUMN",
    "check_trained_on",
    "evaluate",
    "read_predictions",
    "CONTRASTS",
    "METRICS",
    "PAIR_SUMMARY",
    "STRATA_ORDER",
    "Estimate",
    "bootstrap_ci",
    "current_pair_names",
    "min_resamples",
    "pair_metrics",
    "paired_test",
    "reference_predictions",
    "regression_metrics",
    "stratum_metrics",
    "ENDPOINTS",
    "GROUPS",
    "CellData",
    "ClaimResult",
    "Endpoint",
    "claim_conditions",
    "claim_margin",
    "distinct_splits",
    "evaluate_claim",
    "hierarchical_bootstrap",
    "holm",
    "minimal_detectable_effect",
    "one_sided_t",
    "shown_holm",
    "t_calibration",
    "t_interval",
    "fieller_interval",
]


class _CallableModule(__import__("types").ModuleType):
    """``cliffkit.evaluate`` is both this subpackage and the :func:`evaluate` function.

    Python binds a package's submodule as an attribute of the package once it is imported,
    which would shadow the top-level ``cliffkit.evaluate`` function. Making the module
    callable keeps ``from cliffkit import evaluate; evaluate(split, preds, ...)`` working
    whichever import ran first.
    """

    def __call__(self, *args, **kwargs):
        return evaluate(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
