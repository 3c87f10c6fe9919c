"""Issue 14, item 5: the sklearn-style array path merges duplicates as ``load_dataset`` does.

``CliffSplit().split(smiles, y)`` with replicate rows used to put one molecule in train
and test. Now every row of a molecule (the same SMILES again, or another spelling of it)
goes to that molecule's side, and ``make_split`` on the arrays gives the same assignment
as ``make_split(load_dataset(file))`` on the same rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem

from cliffkit.data import load_dataset
from cliffkit.errors import DataWarning, InvalidParameterError, InvalidSmilesError
from cliffkit.split import get_splitter


@pytest.fixture(scope="module")
def replicated(data_dir):
    """240 Lipophilicity molecules; 80 of them repeated (40 with another spelling)."""
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:240]
    smiles, y = src["smiles"].tolist(), src["exp"].to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    rep = rng.choice(len(smiles), 80, replace=False)
    extra_s, extra_y = [], []
    for j, i in enumerate(rep):
        s = smiles[i]
        if j % 2:
            mol = Chem.MolFromSmiles(s)
            s = Chem.MolToSmiles(mol, doRandom=True, canonical=False)
        extra_s.append(s)
        extra_y.append(y[i] + 0.01 * (j % 3))  # replicate measurements
    all_s = np.array(smiles + extra_s, dtype=object)
    all_y = np.concatenate([y, extra_y])
    order = rng.permutation(all_s.size)
    return all_s[order].tolist(), all_y[order]


def _canon(smiles):
    return [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in smiles]


@pytest.mark.parametrize("method", ["cliff", "random", "scaffold"])
def test_split_never_puts_a_molecule_on_both_sides(replicated, method):
    smiles, y = replicated
    canon = np.array(_canon(smiles), dtype=object)  # independent of cliffkit
    n_mol = len(set(canon))
    assert len(smiles) == 320 and n_mol == 240
    splitter = get_splitter(method, random_state=0, val_size=0.1)
    with pytest.warns(DataWarning, match="320 rows but 240 distinct molecules: 80 rows"):
        train, test = next(splitter.split(smiles, y))
    assert not set(canon[train]) & set(canon[test])
    # every row of a molecule is on its molecule's side (or in validation, then none is)
    for side in (train, test):
        mols = set(canon[side])
        assert set(np.flatnonzero(np.isin(canon, list(mols)))) == set(side.tolist())
    # sizes are counted in molecules: 10% of 240 distinct molecules held out for test
    assert len(set(canon[test])) <= int(np.ceil(0.1 * n_mol))


def test_make_split_matches_load_dataset(replicated, tmp_path):
    smiles, y = replicated
    pd.DataFrame({"smiles": smiles, "y": y}).to_csv(tmp_path / "rep.csv", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ds = load_dataset(tmp_path / "rep.csv")
        from_file = get_splitter("cliff", random_state=0).make_split(ds)
        with pytest.warns(DataWarning, match="info\\['input_molecule'\\]"):
            from_arrays = get_splitter("cliff", random_state=0).make_split(smiles, y)
    assert from_arrays.n_samples == len(ds) == 240
    assert list(from_arrays.smiles) == list(ds.smiles)
    for sub in ("train", "val", "test"):
        assert np.array_equal(from_arrays.subset(sub), from_file.subset(sub))
    # labels were averaged like load_dataset's
    np.testing.assert_allclose(from_arrays.labels["y"].severity, from_file.labels["y"].severity,
                               equal_nan=True)
    row_mol = np.asarray(from_arrays.info["input_molecule"])
    canon = _canon(smiles)
    assert [from_arrays.smiles[m] for m in row_mol] == canon


def test_array_path_refuses_bad_smiles_and_split_groups():
    smiles = ["CCO", "CCN", "not a smiles", "CCC", "CCCC", "CCCCO", "c1ccccc1", "CC(C)O"]
    y = np.arange(8.0)
    with pytest.raises(InvalidSmilesError, match="positions 2"):
        next(get_splitter("random", random_state=0).split(smiles, y))
    smiles[2] = "OCC"  # = CCO
    groups = ["a", "b", "c", "d", "e", "f", "g", "h"]
    with pytest.raises(InvalidParameterError, match="rows 0 and 2 are the same molecule"):
        next(get_splitter("scaffold", random_state=0, test_size=0.2, val_size=0.0)
             .split(smiles, y, groups=groups))
    groups[2] = "a"
    with pytest.warns(DataWarning, match="8 rows but 7 distinct"):
        train, test = next(get_splitter("scaffold", random_state=0, test_size=0.2, val_size=0.0)
                           .split(smiles, y, groups=groups))
    assert (0 in train) == (2 in train) and (0 in test) == (2 in test)


def test_array_warnings_say_position_not_line():
    """A warning about SMILES arrays named a 0-based position a 'line' ('X (positions are
    0-based): ... (line 1646)'); found by the fresh-user trial."""
    import warnings

    from cliffkit.split import RandomSplit

    smiles = ["CCO", "CCCO", "CCCCO", "CCCCCO", "CCCCCCO", "CCCCCCCO", "CCCCCCCCO",
              "CCCCCCCCCO", "[Na+].[Cl-].CCO", "c1ccccc1O"]
    y = np.arange(len(smiles), dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        list(RandomSplit(test_size=0.2, val_size=0.0, min_similarity=0.2).split(smiles, y))
    text = " ".join(str(w.message) for w in caught if issubclass(w.category, DataWarning))
    assert "several fragments (0-based position 8)" in text and "(line" not in text


def test_dataframe_and_column_inputs(data_dir):
    """Fresh-user trial: split(df[['smiles']], y) read the DataFrame's column NAME as the
    only SMILES ('y must have shape (1,)'), and a feature matrix got no hint."""
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:120]
    y = src["exp"].to_numpy(dtype=float)
    sp = get_splitter("random", random_state=0)
    want = next(sp.split(src["smiles"].tolist(), y))
    for X in (src[["smiles"]], src[["smiles"]].to_numpy(), src["smiles"]):
        got = next(sp.split(X, y))
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    with pytest.raises(InvalidParameterError, match=r"DataFrame with 3 columns .*X=df\['smiles'\]"):
        next(sp.split(src, y))
    with pytest.raises(InvalidParameterError, match=r"shape \(120, 8\).*cv=list\(splitter.split"):
        next(sp.split(np.zeros((120, 8)), y))


def test_a_dataset_with_replicates_cannot_reach_a_splitter(lipo300):
    """A Dataset was trusted to hold distinct molecules (``_coerce`` uses it as is), but one
    built by hand from replicate rows was accepted, and a split could put a molecule's two
    replicates in train and test. Now the Dataset itself refuses them (and ``subset`` a
    repeated row), so only the array path, which merges replicates, takes them."""
    from cliffkit.data import Dataset
    from cliffkit.errors import InvalidDataError

    rng = np.random.default_rng(1)
    rows = np.concatenate([np.arange(120), rng.choice(120, 40, replace=False)])
    smiles, y = lipo300.smiles[rows], lipo300.target()[rows] + 0.01 * (np.arange(160) >= 120)
    with pytest.raises(InvalidDataError, match=r"40 SMILES occur on more than one row"):
        Dataset(name="replicates", smiles=smiles, y=y, target_names=["logD"], units=["logD"])
    with pytest.raises(InvalidParameterError, match=r"indices repeat rows \(40 repeats"):
        lipo300.subset(rows)
    with pytest.warns(DataWarning, match="160 rows but 120 distinct molecules"):
        train, test = next(get_splitter("random", random_state=0, val_size=0.0)
                           .split(smiles.tolist(), y))
    assert not set(smiles[train]) & set(smiles[test])
