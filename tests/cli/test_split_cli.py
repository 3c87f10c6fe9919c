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
    # the option the user typed is named (found by the fresh-user trial)
    assert err.startswith("cliffkit: error: The '--min-sim' option (parameter 'min_similarity' "
                          "of CliffSplit) must be")
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


def test_chemprop_splits_index_the_users_rows(lipo_csv, tmp_path, capsys):
    """Issue 14, item 7: after duplicates are merged, the index file fits the user's CSV.

    The file repeats 40 molecules (20 in another spelling), holds a bad SMILES and a row
    without a target. Checked independently: read the CSV as chemprop does (pandas),
    canonicalise with RDKit, and compare each indexed row with the split file's SMILES.
    """
    import numpy as np
    import pandas as pd
    from rdkit import Chem

    df = pd.read_csv(lipo_csv)
    rng = np.random.default_rng(3)
    rep = df.iloc[rng.choice(len(df), 40, replace=False)].copy()
    rep.iloc[::2, 0] = [Chem.MolToSmiles(Chem.MolFromSmiles(s), doRandom=True, canonical=False)
                        for s in rep["smiles"].iloc[::2]]
    bad = pd.DataFrame({"smiles": ["C1CC", "CCO"], "exp": [1.0, None]})
    user = pd.concat([df, rep, bad]).sample(frac=1.0, random_state=0).reset_index(drop=True)
    path = tmp_path / "user.csv"
    user.to_csv(path, index=False)
    out, cp = tmp_path / "split.json", tmp_path / "cp.json"
    rc = main(["split", str(path), "--method", "random", "--seed", "0", "-o", str(out),
               "--chemprop-splits", str(cp), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "40 rows that repeat a molecule are in that molecule's set" in err
    assert "2 rows cliffkit dropped" in err

    chem = pd.read_csv(path)  # what chemprop reads
    canon = [None if (m := Chem.MolFromSmiles(s)) is None else Chem.MolToSmiles(m)
             for s in chem["smiles"]]
    usable = [c is not None and np.isfinite(v) for c, v in zip(canon, chem["exp"], strict=True)]
    doc, idx = json.loads(out.read_text()), json.loads(cp.read_text())[0]
    seen = []
    for sub in ("train", "val", "test"):
        mols = set(doc["smiles"][sub])
        rows = idx[sub]
        assert all(canon[r] in mols for r in rows)  # no index points at another molecule
        # every usable row of the set's molecules is in the set
        assert sorted(rows) == [i for i, c in enumerate(canon) if c in mols and usable[i]]
        seen += rows
    assert sorted(seen) == [i for i, u in enumerate(usable) if u]
    assert len(seen) == len(user) - 2 == 290


def test_chemprop_splits_refused_without_a_file_that_fits(tmp_path, capsys):
    rc = main(["split", "esol", "--method", "random", "-o", str(tmp_path / "s.json"),
               "--chemprop-splits", str(tmp_path / "cp.json")])
    err = [e for e in capsys.readouterr().err.strip().splitlines() if "error" in e]
    assert rc == 2 and len(err) == 1 and "--chemprop-data" in err[0]
    assert err[0].startswith("cliffkit: error: Dataset 'esol' was not loaded from a file")
    assert not (tmp_path / "s.json").exists()
    rc = main(["split", "esol", "-o", str(tmp_path / "s.json"),
               "--chemprop-data", str(tmp_path / "d.csv")])
    assert rc == 2 and "give --chemprop-splits too" in capsys.readouterr().err


def test_chemprop_splits_from_arrays_index_the_arrays(tmp_path):
    import warnings

    from cliffkit.errors import DataWarning, SplitFileError
    from cliffkit.split import RandomSplit, to_chemprop_splits

    smiles = ["CCO", "CCN", "OCC", "CCC", "CCCC", "CCCCO", "c1ccccc1", "CC(C)O", "NCC"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        res = RandomSplit(random_state=0, test_size=0.3, val_size=0.0).make_split(smiles)
        to_chemprop_splits(res, tmp_path / "cp.json")
    idx = json.loads((tmp_path / "cp.json").read_text())[0]
    assert sorted(idx["train"] + idx["val"] + idx["test"]) == list(range(9))
    side = {i: s for s in ("train", "val", "test") for i in idx[s]}
    assert side[0] == side[2] and side[1] == side[8]  # CCO = OCC, CCN = NCC
    named = RandomSplit(random_state=0).make_split(
        __import__("cliffkit").data.load_dataset("esol"))
    with pytest.raises(SplitFileError, match="pass dataset="):
        to_chemprop_splits(named, tmp_path / "x.json")


def test_no_command_writes_over_its_own_input(lipo_csv, tmp_path, capsys):
    """Issue trial: 'cliffkit split data.csv -o data.csv' replaced the user's data with the
    split JSON (and 'weights -o', '--chemprop-data', 'neighbors -o' did the same)."""
    import shutil

    from cliffkit.data import load_dataset
    from cliffkit.errors import InvalidParameterError
    from cliffkit.split import RandomSplit

    data = tmp_path / "mine.csv"
    shutil.copy(lipo_csv, data)
    before = data.read_bytes()
    split = tmp_path / "split.json"
    assert main(["split", str(data), "--method", "random", "-o", str(split), "--quiet"]) == 0
    cases = [
        ["split", str(data), "--method", "random", "-o", str(data)],
        ["split", str(data), "--method", "random", "-o", str(tmp_path / "s2.json"),
         "--chemprop-splits", str(tmp_path / "cp.json"), "--chemprop-data", str(data)],
        ["weights", "--split", str(split), "-o", str(data)],
        ["weights", "--split", str(split), "-o", str(split)],
        ["neighbors", str(data), "--no-cache", "-o", str(data)],
    ]
    capsys.readouterr()
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "writing there would replace it" in err[0], (argv, err)
    assert main(["split", str(data), "--method", "random", "-o", str(tmp_path / "s3.json"),
                 "--chemprop-splits", str(tmp_path / "cp.json"),
                 "--chemprop-data", str(tmp_path / "cp.json")]) == 2
    assert "name the same file" in capsys.readouterr().err
    assert data.read_bytes() == before and json.loads(split.read_text())["method"] == "random"
    # the library refuses it too: the split records its data file
    from cliffkit.split import load_split

    res = load_split(split)
    with pytest.raises(InvalidParameterError, match="is the data file of this split"):
        res.save(data)
    ds = load_dataset(data)
    with pytest.raises(InvalidParameterError, match="--chemprop-data .* is the dataset.s source file"):
        from cliffkit.split import to_chemprop_splits

        to_chemprop_splits(RandomSplit(random_state=0).make_split(ds), tmp_path / "x.json",
                           data_path=data, dataset=ds)
    assert data.read_bytes() == before


def test_split_file_bytes_do_not_depend_on_n_jobs(lipo_csv, tmp_path, capsys):
    """--n-jobs changes how a split is computed, not which split: same bytes (the file
    recorded n_jobs, so --n-jobs 1 and 2 gave two files with the same indices)."""
    files = []
    for n_jobs in ("1", "2"):
        out = tmp_path / f"split{n_jobs}.json"
        assert main(["split", str(lipo_csv), "--method", "cliff", "--seed", "3",
                     "--n-jobs", n_jobs, "-o", str(out)]) == 0, capsys.readouterr().err
        files.append(out.read_bytes())
    assert files[0] == files[1]
    params = json.loads(files[0])["params"]
    assert params["n_jobs"] is None and params["show_progress"] is False
