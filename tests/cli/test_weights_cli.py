"""``cliffkit weights``: a weight column for chemprop, from training data only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main

pytestmark = pytest.mark.cli


@pytest.fixture(scope="module")
def small(tmp_path_factory, data_dir):
    from cliffkit.data import load_dataset
    from cliffkit.split import RandomSplit

    folder = tmp_path_factory.mktemp("weights")
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:150]
    csv = folder / "lipo150.csv"
    src[["smiles", "exp"]].to_csv(csv, index=False)
    ds = load_dataset(csv, smiles_col="smiles", target_cols="exp")
    split = RandomSplit(random_state=0).make_split(ds)
    split_path = folder / "split.json"
    split.save(split_path)
    return ds, split, csv, split_path, folder


def _args(csv, split_path, out, *extra):
    return [*("weights", str(csv), "--split", str(split_path), "-o", str(out)), *extra]


def test_cliff_weights_match_library(small, capsys):
    from cliffkit.loss import cliff_severity, cliff_weights, to_mean_one

    ds, split, csv, split_path, folder = small
    out = folder / "w.csv"
    assert main(_args(csv, split_path, out, "--lam", "0.5")) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["smiles", "weight"]
    np.testing.assert_array_equal(frame["smiles"], ds.smiles[split.train])
    sev = cliff_severity(ds, None, split.train)
    np.testing.assert_allclose(frame["weight"], to_mean_one(cliff_weights(sev, 0.5)), rtol=1e-9)
    assert frame["weight"].mean() == pytest.approx(1.0)
    err = capsys.readouterr().err
    assert "wrote" in err
    # h28: most written SMILES are canonical, not the file's text; a join on them lost rows
    src = pd.read_csv(csv)
    differ = int((~frame["smiles"].isin(src["smiles"])).sum())
    assert differ > 0 and (f"note: {differ:,} of {len(frame):,} SMILES in {out} are cliffkit's "
                           f"canonical form and differ from their text in {csv}") in err

    assert main(_args(csv, split_path, out, "--lam", "0.5", "--raw")) == 0
    np.testing.assert_allclose(pd.read_csv(out)["weight"], cliff_weights(sev, 0.5), rtol=1e-9)


def test_all_rows_and_baselines(small):
    ds, split, csv, split_path, folder = small
    out = folder / "all.csv"
    assert main(_args(csv, split_path, out, "--loss", "lds", "--all-rows")) == 0
    frame = pd.read_csv(out)
    assert len(frame) == len(ds) and list(frame.columns) == ["smiles", "exp", "weight"]
    held = np.setdiff1d(np.arange(len(ds)), split.train)
    assert (frame["weight"].to_numpy()[held] == 1.0).all()
    assert frame["weight"].to_numpy()[split.train].std() > 0
    assert main(_args(csv, split_path, out, "--loss", "plain")) == 0
    assert (pd.read_csv(out)["weight"] == 1.0).all()
    assert main(_args(csv, split_path, out, "--loss", "random-weights", "--seed", "3")) == 0
    a = pd.read_csv(out)["weight"].to_numpy()
    assert main(_args(csv, split_path, out, "--loss", "cliff")) == 0
    b = pd.read_csv(out)["weight"].to_numpy()
    np.testing.assert_allclose(np.sort(a), np.sort(b))


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--loss", "cliff-pair"], "static weight column cannot carry"),
        (["--loss", "cliff-adaptive"], "static weight column cannot carry"),
        (["--loss", "clif"], "Unknown loss 'clif'.*Did you mean 'cliff'"),
        (["--lam", "-1"], "'--lam' option of 'cliffkit weights' must be a finite number from 0"),
        # h28 (lower priority): inf/1e308 printed a numpy RuntimeWarning and an error
        # that did not name --lam
        (["--lam", "inf"], r"'--lam' option of 'cliffkit weights' must be a finite number "
                           r"from 0 to 1e\+12; got inf"),
        (["--lam", "1e308"], "'--lam' option .* got 1e\\+308"),
        (["--loss", "lds", "--lam", "3"], "Loss 'lds' has no cliff weights.*drop lam"),
        (["--loss", "plain", "--lam", "0.5"], "Loss 'plain' has no cliff weights"),
    ],
)
def test_errors(small, capsys, extra, match):
    _, _, csv, split_path, folder = small
    out = folder / "bad.csv"
    assert main(_args(csv, split_path, out, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error: ")
    assert len(err.strip().splitlines()) == 1
    import re

    assert re.search(match, err)
    assert not out.exists()


def test_all_rows_lines_up_with_chemprop_data(small, capsys):
    """--all-rows writes the rows 'split --chemprop-data' writes (one per molecule), and says
    so when the user's file has other rows (a dropped and a repeated row): a splits file that
    indexes the file's rows would misalign every later row (found by the fresh-user trial)."""
    import json

    _, _, csv, _, folder = small
    rows = pd.read_csv(csv).to_dict("records")
    rows.insert(5, {"smiles": "not_a_smiles", "exp": 1.0})
    rows.insert(10, dict(rows[20]))
    messy = folder / "messy.csv"
    pd.DataFrame(rows).to_csv(messy, index=False)
    split_path, sp, data = folder / "messy.json", folder / "cp.json", folder / "cp.csv"
    assert main(["split", str(messy), "--method", "random", "-o", str(split_path),
                 "--chemprop-splits", str(sp), "--chemprop-data", str(data), "-q"]) == 0
    out = folder / "messy-all.csv"
    capsys.readouterr()
    assert main(["weights", "--split", str(split_path), "--all-rows", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "one row per molecule (150 rows)" in err and "152 data rows (1 dropped, 1 merged" in err
    frame, cp_data = pd.read_csv(out), pd.read_csv(data)
    assert frame["smiles"].tolist() == cp_data["smiles"].tolist()
    np.testing.assert_allclose(frame["exp"], cp_data["exp"])
    train = json.loads(sp.read_text())[0]["train"]
    held = np.setdiff1d(np.arange(len(frame)), train)
    assert (frame["weight"].to_numpy()[held] == 1.0).all()


def test_all_rows_keeps_molecules_without_the_target(tmp_path, data_dir, capsys):
    """Multi-target data: --all-rows keeps the molecules that lack this target (empty target,
    weight 1), so its rows stay those of --chemprop-data."""
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:120][["smiles", "exp"]]
    src["other"] = src["exp"] * 2
    src.loc[src.index[::4], "exp"] = np.nan
    csv = tmp_path / "two.csv"
    src.to_csv(csv, index=False)
    split_path, sp, data = tmp_path / "s.json", tmp_path / "cp.json", tmp_path / "cp.csv"
    assert main(["split", str(csv), "--target-col", "exp", "--target-col", "other", "--method",
                 "random", "-o", str(split_path), "--chemprop-splits", str(sp),
                 "--chemprop-data", str(data), "-q"]) == 0
    out = tmp_path / "w.csv"
    capsys.readouterr()
    # without --target: one line naming the targets and --target (h28: "Unknown ... 'None'")
    assert main(["weights", "--split", str(split_path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("cliffkit: error:")]
    assert len(errors) == 1 and errors[0] == err.splitlines()[-1] and "'None'" not in err
    assert "has 2 targets ('exp', 'other'); choose one with target= (on the command line: " \
           "--target NAME)" in err and not out.exists()
    assert main(["weights", "--split", str(split_path), "--target", "exp", "--all-rows",
                 "-o", str(out)]) == 0
    frame, cp_data = pd.read_csv(out), pd.read_csv(data)
    assert frame["smiles"].tolist() == cp_data["smiles"].tolist()
    assert frame["exp"].isna().sum() == cp_data["exp"].isna().sum() > 0
    assert (frame.loc[frame["exp"].isna(), "weight"] == 1.0).all()
