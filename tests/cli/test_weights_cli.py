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
    assert "wrote" in capsys.readouterr().err

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
        (["--lam", "-1"], "'--lam' option of 'cliffkit weights' must be >= 0"),
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
