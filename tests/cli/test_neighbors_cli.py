"""``cliffkit neighbors``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main
from cliffkit.similarity import compute_fingerprints, find_neighbors

pytestmark = pytest.mark.cli


@pytest.fixture()
def small_csv(tmp_path):
    smiles = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "c1ccccc1", "c1ccccc1O", "c1ccccc1N",
              "CC(=O)O", "CCC(=O)O"]
    path = tmp_path / "mols.csv"
    pd.DataFrame({"smiles": smiles, "y": np.arange(len(smiles), dtype=float)}).to_csv(path, index=False)
    return path


def test_neighbors_writes_pairs(small_csv, tmp_path, capsys):
    out = tmp_path / "nn.parquet"
    rc = main(["neighbors", str(small_csv), "-k", "3", "--min-sim", "0.1", "-o", str(out),
               "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert rc == 0
    df = pd.read_parquet(out)
    assert list(df.columns) == ["query", "neighbor", "similarity", "query_smiles", "neighbor_smiles"]
    from cliffkit.data import load_dataset

    ds = load_dataset(str(small_csv))
    g = find_neighbors(compute_fingerprints(ds.smiles), k=3, min_similarity=0.1)
    np.testing.assert_array_equal(df["neighbor"].to_numpy(), g.indices)
    np.testing.assert_array_equal(df["similarity"].to_numpy(), g.similarities)
    assert (df["query_smiles"] == ds.smiles[df["query"]]).all()
    assert "wrote" in capsys.readouterr().err
    # second run comes from the cache
    rc = main(["neighbors", str(small_csv), "-k", "3", "--min-sim", "0.1", "-o",
               str(tmp_path / "nn.csv"), "--cache-dir", str(tmp_path / "cache"), "--no-progress"])
    assert rc == 0
    assert "from cache" in capsys.readouterr().err
    back = pd.read_csv(tmp_path / "nn.csv")
    np.testing.assert_array_equal(back["similarity"].to_numpy(), g.similarities)


def test_neighbors_bad_threshold(small_csv, tmp_path, capsys):
    rc = main(["neighbors", str(small_csv), "--min-sim", "1.5", "-o", str(tmp_path / "x.parquet"),
               "--no-cache"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("cliffkit: error: The '--min-sim' option (parameter 'min_similarity'") and "1.5" in err
    assert not (tmp_path / "x.parquet").exists()


def test_neighbors_bad_output_suffix(small_csv, tmp_path, capsys):
    rc = main(["neighbors", str(small_csv), "-o", str(tmp_path / "x.txt")])
    assert rc == 2
    assert "must end in .parquet or .csv" in capsys.readouterr().err


def test_neighbors_checkpoint_dir_resumes_and_refuses_other_data(small_csv, tmp_path, capsys):
    shards = tmp_path / "shards"
    args = ["-k", "3", "--min-sim", "0", "--no-progress", "--checkpoint-dir", str(shards)]
    assert main(["neighbors", str(small_csv), "-o", str(tmp_path / "a.csv"), *args]) == 0
    assert (shards / "manifest.json").is_file() and list(shards.glob("shard-*.npz"))
    assert main(["neighbors", str(small_csv), "-o", str(tmp_path / "b.csv"), *args]) == 0
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    pd.testing.assert_frame_equal(a, b)
    assert (a.groupby("query").size() == 3).all()  # min-sim 0: k neighbours per row
    other = tmp_path / "other.csv"
    pd.DataFrame({"smiles": ["CCO", "CCN", "CCC", "CCCl"], "y": [1.0, 2, 3, 4]}).to_csv(
        other, index=False)
    capsys.readouterr()
    rc = main(["neighbors", str(other), "-o", str(tmp_path / "c.csv"), *args])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cliffkit: error: checkpoint folder") and "\n" not in err
    assert "holds shards of another search" in err


def test_neighbor_indices_after_merging_are_flagged(tmp_path, capsys):
    pd.DataFrame({"smiles": ["CCO", "OCC", "CCN", "CCC", "CCCC", "xx"],
                  "y": [1.0, 1.1, 2.0, 3.0, 4.0, 5.0]}).to_csv(tmp_path / "m.csv", index=False)
    assert main(["neighbors", str(tmp_path / "m.csv"), "-k", "2", "--no-cache",
                 "-o", str(tmp_path / "nn.csv")]) == 0
    err = capsys.readouterr().err
    assert ("(4 molecules: 6 rows read, 1 duplicate rows merged, 1 dropped), not rows of"
            in err)
    frame = pd.read_csv(tmp_path / "nn.csv")
    assert set(frame["query"]) <= {0, 1, 2, 3}


def test_neighbors_bad_k_and_k_above_n(small_csv, tmp_path, capsys):
    # k = 0: a one-line error, nothing written
    rc = main(["neighbors", str(small_csv), "-k", "0", "--no-cache", "-o", str(tmp_path / "x.csv")])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert err == ("cliffkit: error: The '-k' option (parameter 'k' of find_neighbors) must be "
                   "an int in [1, inf]; got 0.")
    assert not (tmp_path / "x.csv").exists()
    # k >= n: clipped to n - 1 with a one-line warning
    rc = main(["neighbors", str(small_csv), "-k", "10", "--min-sim", "0", "--no-cache",
               "--no-progress", "-o", str(tmp_path / "y.csv")])
    assert rc == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == ("cliffkit: warning: k=10 exceeds the 9 possible neighbours per query; "
                        "using k=9.")
    assert (pd.read_csv(tmp_path / "y.csv").groupby("query").size() == 9).all()
    # the summary names the k used, not the k asked (it said k=10 before)
    assert "(k=9 of the 10 asked, min_sim=0.0," in lines[-1]


def test_neighbors_reference_shards_same_pairs(small_csv, tmp_path, capsys):
    args = ["-k", "3", "--min-sim", "0", "--no-progress"]
    assert main(["neighbors", str(small_csv), "-o", str(tmp_path / "a.csv"), "--no-cache",
                 *args]) == 0
    assert main(["neighbors", str(small_csv), "-o", str(tmp_path / "b.csv"),
                 "--ref-shard-size", "3", *args]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))
    capsys.readouterr()
    rc = main(["neighbors", str(small_csv), "-o", str(tmp_path / "c.csv"), "--ref-shard-size",
               "0", *args])
    assert rc == 2
    assert capsys.readouterr().err.startswith("cliffkit: error: The '--ref-shard-size' option (parameter 'ref_shard_size'")
