"""``cliffkit split --method predefined`` and ``cliffkit train`` on a split without a
validation set: summary beside CliffSplit, one-line errors, the carved validation set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def mace_csv(tmp_path_factory, data_dir):
    """A 300-row slice of CHEMBL234_Ki (MoleculeACE columns, its own split)."""
    df = pd.read_csv(data_dir / "moleculeace" / "CHEMBL234_Ki.csv").iloc[:300]
    path = tmp_path_factory.mktemp("mace") / "mace300.csv"
    df.to_csv(path, index=False)
    return path, df


def test_split_col_summary_and_comparison(mace_csv, tmp_path, capsys):
    path, df = mace_csv
    out = tmp_path / "s.json"
    rc = main(["split", str(path), "--target-col", "y", "--method", "predefined",
               "--split-col", "split", "-o", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "predefined split of" in cap.out
    assert "test set exposure, given split vs CliffSplit" in cap.out
    assert "CliffSplit" in cap.out and "given" in cap.out
    doc = json.loads(out.read_text())
    assert len(doc["test"]) == int((df["split"] == "test").sum()) and doc["val"] == []


def test_options_need_predefined(mace_csv, tmp_path, capsys):
    path, _ = mace_csv
    rc = main(["split", str(path), "--target-col", "y", "--split-col", "split",
               "-o", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("cliffkit: error: --split-col applies to --method predefined")


@pytest.mark.parametrize("values, expect", [
    ({"split": "fold1"}, "column 'split': 1 row(s) hold values that are not split names: 'fold1'"),
])
def test_bad_split_values_one_line(mace_csv, tmp_path, capsys, values, expect):
    _, df = mace_csv
    bad = df.copy()
    bad.loc[5, "split"] = values["split"]
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    rc = main(["split", str(path), "--target-col", "y", "--method", "predefined",
               "--split-col", "split", "-o", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and str(path) in err
    assert expect in err and "line 7" in err


def test_index_files_out_of_range(mace_csv, tmp_path, capsys):
    path, _ = mace_csv
    (tmp_path / "tr.txt").write_text("\n".join(map(str, range(0, 250))))
    (tmp_path / "te.txt").write_text("\n".join(map(str, range(250, 301))))
    rc = main(["split", str(path), "--target-col", "y", "--method", "predefined",
               "--train-idx", str(tmp_path / "tr.txt"), "--test-idx", str(tmp_path / "te.txt"),
               "-o", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "te.txt: indices [300] are out of range for a data file of 300 rows" in err


def test_train_carves_validation(mace_csv, tmp_path, capsys):
    path, _ = mace_csv
    split = tmp_path / "s.json"
    assert main(["split", str(path), "--target-col", "y", "--method", "predefined",
                 "--split-col", "split", "-o", str(split), "--quiet"]) == 0
    run = tmp_path / "run"
    rc = main(["train", str(path), "--target-col", "y", "--split", str(split),
               "--backbone", "svm", "--loss", "cliff", "--seed", "2", "-o", str(run)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "has no validation set" in cap.err
    cfg = json.loads((run / "config.json").read_text())
    n_train = len(json.loads(split.read_text())["train"])
    carved = cfg["split"]["val_carved"]
    assert carved == {"fraction": 0.1, "n": int(np.ceil(0.1 * n_train)), "seed": 2}
    pred = pd.read_csv(run / "predictions.csv")
    assert (pred["split"] == "val").sum() == carved["n"]
    # cliff-adaptive needs labelled validation strata
    rc = main(["train", str(path), "--target-col", "y", "--split", str(split),
               "--backbone", "svm", "--loss", "cliff-adaptive", "-o", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs a labelled validation set" in err


def test_moleculeace_split_by_path_reloads(mace_csv, tmp_path, capsys):
    # h28 finding 10: the split kept only 'moleculeace:mace300'; weights could not reload it
    path, _ = mace_csv
    out = tmp_path / "s.json"
    assert main(["split", f"moleculeace:{path}", "--method", "predefined", "--split-col",
                 "split", "-o", str(out), "-q"]) == 0
    rec = json.loads(out.read_text())["dataset"]
    assert rec["name"] == "moleculeace:mace300" and rec["moleculeace_path"] == str(path.resolve())
    capsys.readouterr()
    rc = main(["weights", "--split", str(out), "-o", str(tmp_path / "w.csv")])
    assert rc == 0, capsys.readouterr().err
    # a split file without the path (older cliffkit) names the fix in one line
    doc = json.loads(out.read_text())
    for key in ("moleculeace_path", "path_as_given"):
        del doc["dataset"][key]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    capsys.readouterr()
    rc = main(["weights", "--split", str(old), "-o", str(tmp_path / "w2.csv")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and f"Split file {old}" in err
    assert "pass --dataset moleculeace:/path/to/mace300.csv" in err
    assert main(["weights", "--split", str(old), "--dataset", f"moleculeace:{path}",
                 "-o", str(tmp_path / "w2.csv")]) == 0
