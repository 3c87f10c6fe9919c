"""benchmarks/cliff_error_anatomy.py: the table in docs/cliffloss.md is what the committed
JSON renders to, and the per-seed shares are computed as the docstring says."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def anatomy(bench_script):
    return bench_script("cliff_error_anatomy")


def test_docs_table_is_the_committed_summary(anatomy, committed_summary, cliffloss_doc):
    assert anatomy.markdown(committed_summary("cliff_error_anatomy")) in cliffloss_doc


def test_shares_on_a_hand_made_cell(anatomy, tmp_path):
    """Two cliff molecules: mlp errs toward both partners, lgbm toward one."""
    rows = {"index": [0, 1, 2], "y_true": [1.0, 3.0, 2.0], "partner_y_true": [3.0, 1.0, 2.1],
            "partner": [7, 8, 9],
            "y_ref": [2.0, 2.0, 2.0], "stratum": ["cliff", "cliff", "smooth"]}
    paths = {}
    for bb, pred in (("mlp", [1.5, 2.5, 2.2]), ("lgbm", [0.5, 2.0, 1.9])):
        paths[bb] = tmp_path / f"{bb}.csv"
        pd.DataFrame({**rows, "y_pred": pred}).to_csv(paths[bb], index=False)
    table = pd.DataFrame([{"dataset": "d", "split": "cliff", "loss": "plain", "backbone": bb,
                           "seed": 0, "status": "ok", "predictions_path": str(p)}
                          for bb, p in paths.items()])
    (rec,) = anatomy._per_seed(table, "d", mean_label=2.0)
    assert rec["n_cliff"] == 2 and rec["toward_mlp_cliff"] == 1.0 and rec["toward_lgbm_cliff"] == 0.5
    assert rec["pull_mlp"] == 0.25  # (1.5 - 1) / (3 - 1) and (2.5 - 3) / (1 - 3)
    assert np.isclose(rec["mae_lgbm_cliff"], 0.75)
    assert rec["n_against_mean"] == 0  # both partners lie on the mean's side
    assert rec["n_partners_cliff"] == 2
