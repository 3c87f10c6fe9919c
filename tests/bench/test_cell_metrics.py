"""The bench's metric schema reads evaluation dicts under today's names and older ones."""

import numpy as np
import pytest

from cliffkit.bench._cell import _metrics_from_dict
from cliffkit.evaluate import PAIR_SUMMARY, current_pair_names, pair_metrics

_OLD = {"diff_error_pred": "diff_mae", "diff_error_true": "diff_mae_true",
        "direction_pred": "direction_accuracy", "direction_true": "direction_accuracy_true"}


def _evaluation_dict(pairs: dict) -> dict:
    return {"groups": {"overall": {"n": 4, "mae": {"value": 0.5, "low": 0.4, "high": 0.6}}},
            "pairs": pairs}


def _pairs_today() -> dict:
    est = pair_metrics([1.0, 2.0, 3.0, 0.5], [1.2, 1.5, 3.5, 0.0], [0.0, 3.0, 1.0, 2.0],
                       y_pred_partner=[0.1, 2.5, 1.5, 1.0], n_bootstrap=50, random_state=0)
    return {k: (v if np.isscalar(v) else {"value": v.value, "low": v.low, "high": v.high})
            for k, v in est.items()}


def test_pair_metrics_carry_the_bench_names():
    assert set(PAIR_SUMMARY) <= set(_pairs_today())


def test_old_pair_names_read_as_todays():
    today = _pairs_today()
    old = {next((o for o, n in _OLD.items() if n == k), k): v for k, v in today.items()}
    assert set(old) & set(_OLD)  # the fixture really uses the old names
    assert current_pair_names(old) == today
    new_metrics = _metrics_from_dict(_evaluation_dict(today))["pairs"]
    old_metrics = _metrics_from_dict(_evaluation_dict(old))["pairs"]
    assert old_metrics == new_metrics
    assert list(new_metrics) == ["n", "diff_mae", "diff_mae_ci", "diff_mae_true", "diff_mae_true_ci",
                                 "direction_accuracy", "direction_accuracy_ci",
                                 "direction_accuracy_true", "direction_accuracy_true_ci"]
    assert new_metrics["diff_mae"] == pytest.approx(today["diff_mae"]["value"])


def test_todays_name_wins_over_an_old_one_in_the_same_file():
    assert current_pair_names({"diff_error_pred": 1.0, "diff_mae": 2.0}) == {"diff_mae": 2.0}
