"""MoleculeACE mode: reproduce the published ``cliff_mol`` columns and cliff RMSE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from cliffkit.cliffs._moleculeace import (
    MoleculeACECliffs,
    _Blocks,
    moleculeace_cliff_rmse,
    moleculeace_cliffs,
    moleculeace_similarity,
)
from cliffkit.errors import (
    InvalidDataError,
    InvalidParameterError,
    InvalidSmilesError,
    ShapeMismatchError,
)

FILES = ["CHEMBL2034_Ki", "CHEMBL234_Ki"]


@pytest.fixture(scope="module", params=FILES)
def ace(request, data_dir):
    df = pd.read_csv(data_dir / "moleculeace" / f"{request.param}.csv")
    res = moleculeace_cliffs(df["smiles"].tolist(), df["exp_mean [nM]"].to_numpy(),
                             return_pairs=True)
    return request.param, df, res


def test_reproduces_cliff_mol_exactly(ace):
    name, df, res = ace
    expected = df["cliff_mol"].to_numpy().astype(bool)
    assert isinstance(res, MoleculeACECliffs)
    mismatched = np.flatnonzero(res.cliff_mol != expected)
    assert mismatched.size == 0, f"{name}: rows {mismatched[:10].tolist()} differ"
    # cliff molecules are exactly the molecules named in a pair
    assert np.array_equal(np.unique(res.pairs), np.flatnonzero(expected))
    assert np.all(res.pairs[:, 0] < res.pairs[:, 1])
    assert np.all(res.fold_change > 10)


def test_cliffs_are_computed_on_the_full_set_not_per_split(ace):
    # MoleculeACE labels cliffs before splitting: computing per split loses cross-split pairs.
    name, df, res = ace
    test = (df["split"] == "test").to_numpy()
    per_split = moleculeace_cliffs(df["smiles"][test].tolist(),
                                   df["exp_mean [nM]"].to_numpy()[test])
    assert (per_split != df["cliff_mol"].to_numpy()[test].astype(bool)).sum() > 0


def test_cliff_rmse_matches_direct_computation(ace):
    name, df, _ = ace
    test = df[df["split"] == "test"]
    train = df[df["split"] == "train"]
    # a simple model: predict the train mean; and a noisy one
    rng = np.random.default_rng(0)
    y = test["y"].to_numpy()
    cm = test["cliff_mol"].to_numpy()
    for pred in (np.full(len(test), train["y"].mean()), y + rng.normal(0, 0.5, len(y))):
        direct = np.sqrt(np.mean([(a - b) ** 2 for a, b, c in zip(y, pred, cm, strict=True) if c == 1]))
        assert moleculeace_cliff_rmse(y, pred, cm) == pytest.approx(direct, rel=1e-12)


def test_similarity_parts_match_rdkit_and_levenshtein(data_dir):
    df = pd.read_csv(data_dir / "moleculeace" / "CHEMBL2034_Ki.csv").head(40)
    smi = df["smiles"].tolist()
    blocks = _Blocks(smi, 1)
    rows = slice(0, 40)
    from cliffkit.cliffs._moleculeace import _levenshtein_block, _tanimoto_block

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smi]
    tani = _tanimoto_block(blocks.fp, blocks.fp_count, rows)
    for i in range(0, 40, 7):
        assert np.array_equal(tani[i], DataStructs.BulkTanimotoSimilarity(fps[i], fps))
    lev = _levenshtein_block(smi, blocks.lengths, rows, 1)

    def lev_dist(a, b):  # plain dynamic programming
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        return prev[-1]

    for i, j in [(0, 1), (2, 9), (5, 30), (11, 12)]:
        expect = 1 - lev_dist(smi[i], smi[j]) / max(len(smi[i]), len(smi[j]))
        assert lev[i, j] == expect


def test_hand_worked_toy():
    # decanol vs decylamine: SMILES similarity 1 - 1/11 >= 0.9; 100-fold apart -> cliff.
    smi = ["CCCCCCCCCCO", "CCCCCCCCCCN", "CCCCCCCCCCCCc1ccccc1", "CCCCCCCCCCCCCc1ccccc1"]
    res = moleculeace_cliffs(smi, [1.0, 100.0, 1.0, 10.0], return_pairs=True)
    # dodecyl- vs tridecylbenzene: similar (SMILES 1 - 1/21) but exactly 10-fold: not > 10, no cliff
    assert res.cliff_mol.tolist() == [True, True, False, False]
    assert res.pairs.tolist() == [[0, 1]]
    assert res.fold_change.tolist() == [100.0]
    assert moleculeace_cliffs(smi, [1.0, 100.0, 1.0, 10.1]).tolist() == [True] * 4
    sim = moleculeace_similarity(smi)
    assert sim.tolist() == [[False, True, False, False], [True, False, False, False],
                            [False, False, False, True], [False, False, True, False]]
    # blocks of one row give the same answer
    assert moleculeace_cliffs(smi, [1, 100, 1, 10.1], block_size=1).tolist() == [True] * 4


def test_repeated_smiles_refused():
    # two rows of one molecule would be each other's "cliff" at similarity 1.0
    with pytest.raises(InvalidDataError, match=r"1 SMILES repeat an earlier one \(position=first position: 2=0\)"):
        moleculeace_cliffs(["c1ccccc1", "CCO", "c1ccccc1"], [1.0, 5.0, 100.0])


def test_generic_skeleton_keeps_isotopes():
    # the [18F] tracer of CHEMBL234_Ki: with isotopes dropped it would become a cliff
    tracer = "COc1ccccc1N1CCN(CCCCNC(=O)c2ccc(-c3ccc([18F])nc3)cc2)CC1"
    other = "COc1ccccc1N1CCN(CCCCNC(=O)c2ccc(F)nc2)CC1"
    assert not moleculeace_cliffs([tracer, other], [0.45, 14.0]).any()


def test_bad_inputs():
    with pytest.raises(ShapeMismatchError, match="2 SMILES but 1"):
        moleculeace_cliffs(["C", "CC"], [1.0])
    with pytest.raises(InvalidDataError, match="positive"):
        moleculeace_cliffs(["C", "CC"], [1.0, -2.0])
    with pytest.raises(InvalidSmilesError, match="position"):
        moleculeace_cliffs(["C", "not a smiles"], [1.0, 2.0])
    with pytest.raises(InvalidSmilesError, match=r"positions 1 \(' '\)"):  # zero atoms (h46 F4)
        moleculeace_cliffs(["C", " ", "CC"], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError, match="similarity_threshold"):
        moleculeace_cliffs(["C", "CC"], [1.0, 2.0], similarity_threshold=1.5)
    with pytest.raises(ShapeMismatchError):
        moleculeace_cliff_rmse([1, 2], [1, 2], [1])
    assert np.isnan(moleculeace_cliff_rmse([1.0], [2.0], [0]))


def test_a_loaded_set_keeps_the_files_smiles_for_moleculeace_mode(data_dir):
    # fresh-user trial 4: a MoleculeACE user loads the set and calls moleculeace_cliffs on
    # it; on the canonical ds.smiles 4 of 750 CHEMBL2034_Ki flags differ (the SMILES
    # similarity is string-based), and the Dataset kept no other SMILES
    from cliffkit.data import load_dataset

    ds = load_dataset("moleculeace:CHEMBL2034_Ki", data_dir=data_dir)
    df = pd.read_csv(data_dir / "moleculeace" / "CHEMBL2034_Ki.csv")
    assert ds.meta["smiles_given"].tolist() == df["smiles"].tolist()  # no row dropped here
    flags = moleculeace_cliffs(ds.meta["smiles_given"], ds.meta["exp_nM"])
    assert np.array_equal(flags, ds.meta["cliff_mol"].astype(bool))
    canonical = moleculeace_cliffs(list(ds.smiles), ds.meta["exp_nM"])
    assert (canonical != flags).sum() == 4  # why the file's strings are kept
    sub = ds.subset([3, 1])
    assert sub.meta["smiles_given"].tolist() == df["smiles"].iloc[[3, 1]].tolist()
