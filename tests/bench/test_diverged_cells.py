"""A cell whose training diverges (issue 20): recorded as failed with its reason, never as a
number, on a real 100-molecule FreeSolv grid through the bench runner and the report."""

from __future__ import annotations

import json
import math

import pytest

pytestmark = pytest.mark.slow

GRID = {
    "name": "diverge",
    "seeds": [0],
    "splits": ["random"],
    # mlp at an absurd learning rate diverges; lgbm beside it is the control that finishes
    "backbones": ["mlp", "lgbm"],
    "losses": ["plain"],
    "datasets": [{"name": "freesolv", "subsample": 100}],
    "split_params": {"random": {"test_size": 0.2, "val_size": 0.2}},
    "backbone_params": {"mlp": {"epochs": 5, "hidden_channels": 32, "batch_size": 16,
                                "lr": 1e30},
                        "lgbm": {"n_estimators": 20}},
    "evaluation": {"n_bootstrap": 50},
}


def test_diverged_cell_is_failed_with_reason_and_never_a_number(tmp_path, data_dir):
    from cliffkit.bench import GridConfig, load_results, run_grid
    from cliffkit.report import build_report, write_report

    cfg = GridConfig.from_dict(GRID)
    out = tmp_path / "res"
    summary = run_grid(cfg, out, show_progress=False, executor_params={"n_jobs": 1})
    assert summary.n_ran == 2 and summary.n_failed == 1
    (bad_key,) = summary.failed
    assert "-mlp-" in bad_key

    record = json.loads((out / "cells" / f"{bad_key}.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed"
    assert record["error"]["type"] == "TrainingDivergedError"
    assert "diverged at epoch" in record["error"]["message"]
    assert "not a result" in record["error"]["message"]
    assert record["metrics"] is None and record["predictions"] is None
    assert not (out / "cells" / f"{bad_key}.predictions.csv").exists()

    table = load_results(out)
    bad = table[table["key"] == bad_key].iloc[0]
    good = table[table["key"] != bad_key].iloc[0]
    assert bad.status == "failed" and bad.error_type == "TrainingDivergedError"
    assert good.status == "ok" and math.isfinite(good.mae)
    assert math.isnan(bad.mae) and not isinstance(bad.predictions_path, str)

    md = write_report(build_report(table, title="diverge", figures=False),
                      tmp_path / "rep")["markdown"].read_text(encoding="utf-8")
    head, failed = md.split("## Failed cells", 1)
    assert bad_key in failed and "TrainingDivergedError" in failed
    # every table above the failed-cells section holds the lgbm cell and no mlp row
    assert "lgbm" in head
    assert "| mlp" not in head and "`mlp`" not in head
    # a rerun tries the failed cell again (and it fails again, for the same reason)
    again = run_grid(cfg, out, show_progress=False)
    assert again.n_ran == 1 and again.n_skipped == 1 and again.failed == [bad_key]
