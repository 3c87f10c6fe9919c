"""``cliffkit evaluate``: return codes, the table, JSON output and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main
from cliffkit.data import load_dataset
from cliffkit.split import SplitResult, TargetLabels

pytestmark = pytest.mark.cli

SMILES = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCO", "CCN", "c1ccccc1"]
Y = [1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 1.0, 0.0]


def _write_split(targets=("logx",)):
    """mols.csv (one column per target) and split.json of the 8 molecules, in the cwd."""
    pd.DataFrame({"smiles": SMILES, **{t: [v + i for v in Y] for i, t in enumerate(targets)}}
                 ).to_csv("mols.csv", index=False)
    ds = load_dataset("mols.csv", target_cols=list(targets))
    n = len(ds)
    row = {s: i for i, s in enumerate(ds.smiles)}
    train = np.array(sorted(row[s] for s in SMILES[:4]))
    test = np.array(sorted(row[s] for s in SMILES[4:]))
    strata = np.full(n, "train", dtype="<U12")
    partner = np.full(n, -1)
    maxsim = np.full(n, np.nan)
    for s, st, p, ms in [("CCCCC", "cliff", "CCCC", 0.8), ("CCO", "smooth", "CC", 0.6),
                         ("CCN", "cliff", "CCC", 0.5), ("c1ccccc1", "unsupported", None, 0.1)]:
        strata[row[s]] = st
        partner[row[s]] = row[p] if p else -1
        maxsim[row[s]] = ms
    nan, false = np.full(n, np.nan), np.zeros(n, dtype=bool)
    labels = {t: TargetLabels(
        target=t, strata=strata, severity=nan, partner=partner, partner_similarity=maxsim,
        partner_delta=nan, max_similarity=maxsim, abs_z=nan, matched_cliff=false,
        matched_smooth=false, matched_cliff_z=false, matched_smooth_z=false, scale=1.0,
        cliff_threshold=0.5, smooth_threshold=0.2,
    ) for t in targets}
    SplitResult(
        train=train, val=np.zeros(0, dtype=np.int64), test=test, smiles=ds.smiles,
        target_names=list(targets), labels=labels, method="cliff",
        params={"min_similarity": 0.35, "k": 2, "k_used": 2, "radius": 2, "n_bits": 2048},
        dataset={"name": ds.name, "checksum": ds.checksum, "n_samples": n,
                 "path": str(Path("mols.csv").resolve()), "smiles_col": "smiles",
                 "target_cols": list(targets)},
    ).save("split.json")


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_split()
    preds = {"CCCCC": 4.0, "CCO": 2.0, "CCN": 2.0, "c1ccccc1": 1.0}
    pd.DataFrame({"smiles": list(preds), "prediction": list(preds.values())}).to_csv(
        "preds.csv", index=False)
    return tmp_path


def test_evaluate_prints_table(files, capsys):
    rc = main(["evaluate", "split.json", "preds.csv", "--n-bootstrap", "200", "--seed", "1"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "cliff vs smooth" in out
    assert "reference ratio" in out
    cliff_line = next(line for line in out.splitlines() if line.startswith("cliff "))
    assert cliff_line.split()[1:3] == ["2", "1.000"]  # n = 2, MAE = 1.0
    assert "ratio 2.000" in out


def test_evaluate_json_and_output_file(files, capsys):
    rc = main(["evaluate", "split.json", "preds.csv", "--json", "-o", "ev.json",
               "--n-bootstrap", "100", "--no-reference"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    doc = json.loads(out)
    assert doc == json.loads((files / "ev.json").read_text())
    assert doc["groups"]["smooth"]["mae"]["value"] == pytest.approx(0.5)
    assert doc["contrasts"]["cliff_vs_smooth"]["gap"]["value"] == pytest.approx(0.5)
    assert doc["reference"] is None
    assert doc["params"]["n_bootstrap"] == 100


def test_evaluate_with_explicit_dataset(files, capsys, monkeypatch, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("other")
    monkeypatch.chdir(elsewhere)
    rc = main(["evaluate", str(files / "split.json"), str(files / "preds.csv"),
               "--dataset", str(files / "mols.csv"), "--n-bootstrap", "0", "--no-reference"])
    assert rc == 0, capsys.readouterr().err


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("cliffkit: error: ")
    return err[0]


def test_missing_predictions_exit_2(files, capsys):
    pd.DataFrame({"smiles": ["CCCCC", "CCO"], "prediction": [1.0, 2.0]}).to_csv(
        "short.csv", index=False)
    assert main(["evaluate", "split.json", "short.csv"]) == 2
    line = _error_line(capsys)
    assert "misses 2 of 4 test molecules" in line and "CCN" in line


def test_nan_predictions_exit_2(files, capsys):
    pd.DataFrame({"index": [4, 5, 6, 7], "pred": [1.0, "nan", 2.0, 3.0]}).to_csv(
        "nan.csv", index=False)
    assert main(["evaluate", "split.json", "nan.csv"]) == 2
    assert "NaN" in _error_line(capsys)


def test_bad_split_and_checksum_exit_2(files, capsys):
    (files / "broken.json").write_text("{not json")
    assert main(["evaluate", "broken.json", "preds.csv"]) == 2
    assert "not valid JSON" in _error_line(capsys)
    pd.DataFrame({"smiles": SMILES, "logx": [v + 1 for v in Y]}).to_csv("mols.csv", index=False)
    assert main(["evaluate", "split.json", "preds.csv"]) == 2
    assert "checksum" in _error_line(capsys)
    assert main(["evaluate", "split.json", "preds.csv", "--n-bootstrap", "-5"]) == 2
    assert "--n-bootstrap" in _error_line(capsys)


def test_rows_outside_the_split_are_counted_not_silently_dropped(files, capsys):
    pd.DataFrame({"smiles": ["CCCCC", "CCO", "CCN", "c1ccccc1", "CCCl", "OCCO"],
                  "prediction": [4.0, 2.0, 2.0, 1.0, 9.0, 9.0]}).to_csv("extra.csv", index=False)
    assert main(["evaluate", "split.json", "extra.csv", "--n-bootstrap", "0",
                 "--no-reference"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cliffkit: warning: ")
    assert "2 of 6 rows name molecules that are not in the split's dataset (lines 6, 7)" in err[0]


def test_evaluate_direction_only_with_out_of_fold_partners(files, capsys):
    # predictions for the training partners too (CCCC, CC, CCC)
    preds = {"CCCCC": 4.0, "CCO": 2.0, "CCN": 2.0, "c1ccccc1": 1.0, "CCCC": 3.0, "CC": 2.5,
             "CCC": 2.5}
    pd.DataFrame({"smiles": list(preds), "prediction": list(preds.values())}).to_csv(
        "preds_all.csv", index=False)
    rc = main(["evaluate", "split.json", "preds_all.csv", "--json", "--n-bootstrap", "0"])
    doc = json.loads(capsys.readouterr()[0])
    assert rc == 0 and doc["pairs"]["direction_accuracy"]["value"] is None
    assert doc["pairs"]["direction_accuracy"]["note"] == "in-sample partner"
    rc = main(["evaluate", "split.json", "preds_all.csv", "--json", "--n-bootstrap", "0",
               "--partner-out-of-fold"])
    doc = json.loads(capsys.readouterr()[0])
    # (4 - 3) vs (5 - 4): right; (2 - 2.5) vs (1 - 3): right
    assert rc == 0 and doc["pairs"]["direction_accuracy"]["value"] == pytest.approx(1.0)
    assert doc["params"]["partner_out_of_fold"] is True


def test_a_run_of_another_target_is_refused_naming_both(tmp_path, monkeypatch, capsys):
    """h28 finding 1: a run trained on 'logx' was scored as 't2' (MAE of the wrong labels)."""
    monkeypatch.chdir(tmp_path)
    _write_split(("logx", "t2"))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"command": "train",
                                                               "target": "logx"}))
    pd.DataFrame({"smiles": SMILES[4:], "prediction": [4.0, 2.0, 2.0, 1.0]}).to_csv(
        "run/predictions.csv", index=False)
    for given in ("run", "run/predictions.csv"):
        assert main(["evaluate", "split.json", given, "--target", "t2", "--n-bootstrap", "0",
                     "--no-reference"]) == 2
        line = _error_line(capsys)
        assert ("run/predictions.csv comes from a run trained on target 'logx' "
                "(run/config.json), but target 't2' is to be scored") in line
        assert "Pass --target logx" in line
    # without --target the run's own target is scored, and said
    assert main(["evaluate", "split.json", "run", "--n-bootstrap", "0", "--no-reference",
                 "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["target"] == "logx"
    assert "scoring target 'logx', the one the run was trained on (run/config.json)" in err



def test_the_warning_that_explains_an_error_is_printed_before_it(files, capsys):
    """h28 finding 7: rows ignored as unknown molecules (a DataWarning), then 'misses 2 of 4
    test molecules': the warning was collected and lost when the error ended the command."""
    pd.DataFrame({"smiles": ["CCCCC", "CCO", "CCN.Cl", "c1ccccc1.Cl"],
                  "prediction": [4.0, 2.0, 2.0, 1.0]}).to_csv("salts.csv", index=False)
    assert main(["evaluate", "split.json", "salts.csv", "--n-bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("cliffkit: warning: ") and "2 of 4 rows name molecules" in err[0]
    assert err[1].startswith("cliffkit: error: ") and "misses 2 of 4 test molecules" in err[1]
