"""``cliffkit split``: return codes, stdout summary, stderr lines, files written."""

from __future__ import annotations

import json

import pytest

from cliffkit.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def lipo_csv(tmp_path_factory, data_dir):
    import pandas as pd

    df = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:250]
    path = tmp_path_factory.mktemp("data") / "lipo250.csv"
    df[["smiles", "exp"]].to_csv(path, index=False)
    return path


def test_cliff_split_summary_and_files(lipo_csv, tmp_path, capsys):
    out = tmp_path / "split.json"
    cp = tmp_path / "splits.json"
    rc = main(["split", str(lipo_csv), "--method", "cliff", "--seed", "1", "--test-size", "0.15",
               "--chemprop-splits", str(cp), "--chemprop-data", str(tmp_path / "d.csv"),
               "-o", str(out)])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "sizes: train" in cap.out and "cliff share" in cap.out
    assert "similarity to train (test; q10 / q50 / q90)" in cap.out
    assert "matched on similarity:" in cap.out
    assert "achieved cliff share (test" in cap.out
    doc = json.loads(out.read_text())
    assert doc["format"] == "cliffkit-split" and doc["random_state"] == 1
    assert json.loads(cp.read_text())[0]["test"] == doc["test"]


@pytest.mark.parametrize("method", ["random", "scaffold"])
def test_other_methods(method, lipo_csv, tmp_path, capsys):
    rc = main(["split", str(lipo_csv), "--method", method, "-o", str(tmp_path / "s.json"), "--quiet"])
    cap = capsys.readouterr()
    assert rc == 0 and cap.out == ""
    assert json.loads((tmp_path / "s.json").read_text())["method"] == method


def test_bad_parameter(lipo_csv, tmp_path, capsys):
    rc = main(["split", str(lipo_csv), "--min-sim", "1.5", "-o", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("cliffkit: error: The 'min_similarity' parameter of CliffSplit must be")
    assert "got 1.5" in err and not (tmp_path / "s.json").exists()


def test_unknown_target(lipo_csv, tmp_path, capsys):
    rc = main(["split", str(lipo_csv), "--target", "nope", "-o", str(tmp_path / "s.json")])
    assert rc == 2
    assert "Unknown target 'nope'" in capsys.readouterr().err


def test_too_small(tmp_path, capsys):
    p = tmp_path / "tiny.csv"
    p.write_text("smiles,y\nCCO,1\nCCCO,2\nCCCCO,3\n")
    rc = main(["split", str(p), "-o", str(tmp_path / "s.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "training set would hold 1 molecules (at least 2 are needed)" in err


def test_no_cliffs_warns_with_quantiles(tmp_path, capsys):
    p = tmp_path / "flat.csv"
    rows = ["smiles,y"] + [f"{'C' * a}O,{1.0}" for a in range(1, 15)] + \
           [f"{'C' * a}N,{1.0}" for a in range(1, 15)]
    p.write_text("\n".join(rows) + "\n")
    rc = main(["split", str(p), "--test-size", "0.2", "--val-size", "0", "-o", str(tmp_path / "s.json")])
    cap = capsys.readouterr()
    assert rc == 0
    assert "cliffkit: warning: Target 'y': the test set holds no cliff cases" in cap.err
    assert "training severity quantiles" in cap.err
