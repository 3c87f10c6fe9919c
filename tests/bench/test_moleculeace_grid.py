"""The shipped ``moleculeace`` grid: expansion over the sets found, cells on MoleculeACE's own
split recording MoleculeACE's metrics (checked against the predictions), the report section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliffkit.errors import ConfigError


def test_shipped_config_expands_to_every_set_found(data_dir):
    from cliffkit.bench import load_config
    from cliffkit.data import moleculeace_sets

    cfg = load_config("moleculeace")
    found = moleculeace_sets(data_dir)
    assert found == sorted(f"moleculeace:{p.stem}" for p in (data_dir / "moleculeace").glob("CHEMBL*.csv"))
    assert [d.name for d in cfg.datasets] == found
    assert cfg.splits == ["predefined"] and cfg.backbones == ["svm", "lgbm", "mlp"]
    assert {"plain", "cliff", "random-weights", "lds"} <= set(cfg.losses)
    assert cfg.seeds == [0, 1, 2]
    assert len(cfg.cells()) == len(found) * 3 * len(cfg.losses) * 3


def test_no_sets_found_is_a_config_error(tmp_path, monkeypatch):
    from cliffkit.bench import load_config

    monkeypatch.setenv("CLIFFKIT_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"'moleculeace:\*' found no MoleculeACE set.*MoleculeACE "
                                          r"package or repository"):
        load_config("moleculeace")


@pytest.mark.slow
def test_cells_record_moleculeace_metrics_and_report(tmp_path, data_dir):
    from cliffkit.bench import GridConfig, load_results, run_grid
    from cliffkit.data import load_dataset
    from cliffkit.report import build_report, render_markdown

    cfg = GridConfig.from_dict({
        "name": "mace-test", "seeds": [0], "splits": ["predefined"], "backbones": ["svm"],
        "losses": ["plain", "cliff"],
        "datasets": [{"name": "moleculeace:CHEMBL2034_Ki", "targets": ["y"]}],
        "split_params": {"predefined": {"split_col": "split", "val_size": 0.1}},
        "evaluation": {"n_bootstrap": 50},
    })
    summary = run_grid(cfg, tmp_path / "res", show_progress=False)
    table = load_results(tmp_path / "res")
    assert summary.n_failed == 0, table["error_message"].tolist()
    ds = load_dataset("moleculeace:CHEMBL2034_Ki", data_dir=data_dir)
    cliff_mol = pd.Series(ds.meta["cliff_mol"])
    for rec in table.itertuples():
        pred = pd.read_csv(rec.predictions_path)
        # the test set is MoleculeACE's
        assert sorted(pred["index"]) == np.flatnonzero(ds.meta["moleculeace_split"] == "test").tolist()
        err = pred["y_pred"] - pred["y_true"]
        assert rec.moleculeace_rmse == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-9)
        cm = cliff_mol[pred["index"]].to_numpy().astype(bool)
        assert rec.moleculeace_n_cliff == cm.sum()
        assert rec.moleculeace_cliff_rmse == pytest.approx(np.sqrt(np.mean(err[cm] ** 2)), rel=1e-9)
    md = render_markdown(build_report(table, figures=False))
    assert "## MoleculeACE" in md and "| CHEMBL2034_Ki | svm | 1 |" in md
    assert "0.696" in md  # the published SVM RMSE of CHEMBL2034_Ki beside ours
    assert "average (1 set)" in md


def test_published_table_is_the_transcribed_source():
    from cliffkit.report import published_moleculeace

    pub = published_moleculeace()
    assert len(pub) == 150 and set(pub["descriptor"]) == {"ECFP"}
    assert pub.groupby("algorithm").size().to_dict() == {a: 30 for a in ("GBM", "KNN", "MLP", "RF", "SVM")}
    row = pub[(pub["dataset"] == "CHEMBL234_Ki") & (pub["algorithm"] == "SVM")].iloc[0]
    assert (row["rmse"], row["cliff_rmse"]) == (0.637193812, 0.682983497)
