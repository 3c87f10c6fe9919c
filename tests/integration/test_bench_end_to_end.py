"""split -> train -> evaluate -> report through the bench runner, on a 100-molecule FreeSolv slice."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

GRID = {
    "name": "e2e",
    "seeds": [0],
    "splits": ["cliff", "random"],
    "backbones": ["mlp"],
    "losses": ["plain", "cliff-adaptive"],
    # 100 molecules: the smallest slice whose validation sets (both splits) hold cliff and
    # smooth cases, which the adaptive λ controller needs
    "datasets": [{"name": "freesolv", "subsample": 100}],
    "split_params": {"cliff": {"test_size": 0.2, "val_size": 0.2},
                     "random": {"test_size": 0.2, "val_size": 0.2}},
    "backbone_params": {"mlp": {"epochs": 4, "patience": 3, "hidden_channels": 64,
                                "batch_size": 32}},
    "evaluation": {"n_bootstrap": 100},
}


def test_bench_end_to_end(tmp_path, data_dir):
    from sklearn.metrics import mean_absolute_error

    from cliffkit.bench import GridConfig, load_results, run_grid
    from cliffkit.bench._cell import load_task
    from cliffkit.report import build_report, write_report

    cfg = GridConfig.from_dict(GRID)
    assert cfg.datasets[0].targets == ("expt",)
    out = tmp_path / "res"
    summary = run_grid(cfg, out, show_progress=False)
    table = load_results(out)
    errors = table.loc[table["status"] != "ok", ["key", "error_message"]].to_dict("records")
    assert summary.n_failed == 0, errors
    assert summary.n_ran == 4 and len(list((out / "splits").glob("*.json"))) == 2

    from cliffkit.split import load_split

    ds = load_task("freesolv", "expt", 100, 0)
    for rec in table.itertuples():
        preds = pd.read_csv(rec.predictions_path)
        record = json.loads((out / "cells" / f"{rec.key}.json").read_text())
        split = load_split(out / record["split"], dataset=ds)
        assert preds["index"].tolist() == split.test.tolist() and rec.n_test == len(split.test)
        # issue 14: test cases whose partner has an identical fingerprint, recomputed
        assert rec.n_identical_partner == int(split.labels["expt"].identical_partner(split.test).sum())
        # predictions file holds the real labels of the rows it names
        np.testing.assert_allclose(preds["y_true"], ds.target("expt")[preds["index"]])
        # the recorded MAE is the MAE of the predictions file (independent recomputation)
        assert rec.mae == pytest.approx(mean_absolute_error(preds["y_true"], preds["y_pred"]))
        assert rec.mae_lo <= rec.mae <= rec.mae_hi
        cliff = preds["stratum"] == "cliff"
        if cliff.any():
            assert rec.cliff_mae == pytest.approx(
                mean_absolute_error(preds["y_true"][cliff], preds["y_pred"][cliff]))
        if rec.loss == "cliff-adaptive":
            assert len(rec.lambda_trajectory) == record["extra"]["n_epochs"] >= 1
            assert rec.lambda_trajectory[0] == pytest.approx(0.1)
        else:
            assert rec.lambda_trajectory is None

    again = run_grid(cfg, out, show_progress=False)
    assert again.n_ran == 0 and again.n_skipped == 4

    report = build_report(table, title="e2e")
    paths = write_report(report, tmp_path / "rep")
    md = paths["markdown"].read_text(encoding="utf-8")
    # FreeSolv is one of the paper's datasets: the claims, not a user-data summary (issue 15)
    assert "## Paper claims" in md and "## Your datasets" not in md and "freesolv" in md
    assert (tmp_path / "rep" / "images" / "strata-mae.png").is_file()
    assert "data:image/png;base64," in paths["html"].read_text(encoding="utf-8")
