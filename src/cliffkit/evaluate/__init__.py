"""Cliff-aware evaluation (``cliffkit.evaluate``).

- :func:`evaluate`: score predictions on a split: MAE, RMSE and R² overall and per
  stratum, gap and ratio, pair-level errors, the reference predictor; bootstrap CIs.
- :func:`read_predictions`: a predictions CSV aligned to a split's test molecules.
- Array API: :func:`regression_metrics`, :func:`stratum_metrics`, :func:`pair_metrics`,
  :func:`bootstrap_ci`, :func:`paired_test`, :func:`reference_predictions`.
"""

from __future__ import annotations

from ._evaluate import PREDICTION_COLUMNS, Evaluation, evaluate, read_predictions
from ._metrics import (
    CONTRASTS,
    STRATA_ORDER,
    Estimate,
    bootstrap_ci,
    pair_metrics,
    paired_test,
    regression_metrics,
    stratum_metrics,
)
from ._reference import reference_predictions

__all__ = [
    "Evaluation",
    "PREDICTION_COLUMNS",
    "evaluate",
    "read_predictions",
    "CONTRASTS",
    "STRATA_ORDER",
    "Estimate",
    "bootstrap_ci",
    "pair_metrics",
    "paired_test",
    "reference_predictions",
    "regression_metrics",
    "stratum_metrics",
]
