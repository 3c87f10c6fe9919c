"""Bundled datasets, MoleculeACE sets, user files and the registry."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, rdBase

from cliffkit.data import (
    FILES_DIR,
    DatasetInfo,
    TargetSpec,
    _loaders,
    _registry,
    get_dataset_info,
    list_datasets,
    load_dataset,
    register_dataset,
)
from cliffkit.errors import DataWarning, InvalidDataError, InvalidParameterError, UnknownNameError
from cliffkit.utils import sha256_file

BUNDLED = {
    # name: (file, smiles col, target col, target name, unit, rows in file)
    "esol": ("esol.csv", "smiles", "measured log solubility in mols per litre", "logS",
             "log10(mol/L)", 1128),
    "freesolv": ("freesolv.csv", "smiles", "expt", "expt", "kcal/mol", 642),
    "lipophilicity": ("lipophilicity.csv", "smiles", "exp", "logD", "logD", 4200),
}


def _reference(path, smiles_col, target_col):
    """Independent standardisation: RDKit CanonSmiles + pandas groupby mean."""
    frame = pd.read_csv(path)
    with rdBase.BlockLogs():
        frame["canon"] = [Chem.CanonSmiles(s) for s in frame[smiles_col]]
    return frame.groupby("canon", sort=False)[target_col].agg(["mean", "size"])


def test_registry_lists_every_dataset():
    infos = {i.name: i for i in list_datasets()}
    assert {"esol", "freesolv", "lipophilicity", "qm9"} <= set(infos)
    qm9 = infos["qm9"]
    assert qm9.target_names == ["mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "u0", "u298",
                                "h298", "g298", "cv"]
    assert dict(zip(qm9.target_names, qm9.units, strict=True))["gap"] == "eV"
    assert qm9.n_rows == 130_831 and qm9.size == 130_744
    for name, (_, _, _, tname, unit, rows) in BUNDLED.items():
        assert infos[name].target_names == [tname]
        assert infos[name].units == [unit]
        assert infos[name].n_rows == rows
        assert infos[name].to_dict()["source"]


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_file_is_byte_identical_to_shared_data(name, data_dir):
    fname = BUNDLED[name][0]
    assert (FILES_DIR / fname).read_bytes() == (data_dir / fname).read_bytes()
    assert sha256_file(FILES_DIR / fname) == get_dataset_info(name).sha256


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_dataset_matches_independent_standardisation(name):
    fname, smiles_col, target_col, tname, unit, rows = BUNDLED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        ds = load_dataset(name)
    ref = _reference(FILES_DIR / fname, smiles_col, target_col)
    assert ds.report.n_read == rows
    assert ds.report.n_dropped == 0
    assert len(ds) == len(ref) == get_dataset_info(name).n_molecules
    assert ds.report.n_merged_rows == rows - len(ref)
    assert list(ds.smiles) == list(ref.index)  # first-appearance order
    np.testing.assert_allclose(ds.target(tname), ref["mean"].to_numpy())
    assert ds.target_names == [tname] and ds.units == [unit]
    assert ds.source_sha256 == get_dataset_info(name).sha256
    assert len(set(ds.smiles)) == len(ds)


def test_esol_merges_and_conflicts_are_reported():
    with pytest.warns(DataWarning, match=r"2 groups of duplicate molecules have conflicting"):
        ds = load_dataset("esol")
    assert len(ds.report.merged) == 11
    conflicting = [g for g in ds.report.merged if g.conflicting]
    assert [g.rows for g in conflicting] == [[234, 657], [235, 278]]
    raw = pd.read_csv(FILES_DIR / "esol.csv")
    g = conflicting[0]
    # line L is data row L - 2
    expected = raw.loc[[r - 2 for r in g.rows], "measured log solubility in mols per litre"]
    i = list(ds.smiles).index(g.smiles)
    assert ds.y[i, 0] == pytest.approx(expected.mean())
    assert ds.ids[i] == raw.loc[g.rows[0] - 2, "Compound ID"]
    assert ds.meta["source_row"][i] == g.rows[0]
    # with a huge tolerance nothing conflicts (and nothing is warned)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        relaxed = load_dataset("esol", conflict_tol=100.0)
    assert relaxed.report.n_conflicts == 0 and len(relaxed) == len(ds)


def test_checksum_mismatch_is_a_clear_error(tmp_path, monkeypatch):
    for f in FILES_DIR.glob("*.csv"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "freesolv.csv").write_bytes((FILES_DIR / "freesolv.csv").read_bytes() + b"C,1.0,1.0,x\n")
    monkeypatch.setattr(_loaders, "FILES_DIR", tmp_path)
    with pytest.raises(InvalidDataError, match=r"Checksum mismatch for .*freesolv\.csv.*reinstall"):
        load_dataset("freesolv")
    assert len(load_dataset("lipophilicity")) == 4200  # untouched copies still load


def test_a_new_bundled_dataset_is_one_registry_entry(tmp_path, monkeypatch):
    (tmp_path / "toy.csv").write_text("name,SMILES,pIC50\na,CCO,5.0\nb,OCC,7.0\nc,c1ccccc1,6.5\n")
    monkeypatch.setattr(_loaders, "FILES_DIR", tmp_path)
    monkeypatch.setattr(_registry.DATASETS, "_entries", dict(_registry.DATASETS._entries))
    register_dataset(DatasetInfo(
        name="toy", description="toy", targets=(TargetSpec("pIC50", "pic50", "-log10(M)"),),
        source="test", file="toy.csv", sha256=sha256_file(tmp_path / "toy.csv"),
        smiles_col="SMILES", id_col="name",
    ))
    with pytest.warns(DataWarning, match=r"dataset 'toy' \(toy\.csv\): 1 group .*lines 2\+3"):
        ds = load_dataset("TOY")
    assert list(ds.smiles) == ["CCO", "c1ccccc1"]
    np.testing.assert_allclose(ds.target("pic50"), [6.0, 6.5])
    assert list(ds.ids) == ["a", "c"]
    assert "toy" in [i.name for i in list_datasets()]
    with pytest.raises(ValueError, match="already registered"):
        register_dataset(get_dataset_info("toy"))


def test_unknown_dataset_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match=r"Unknown dataset 'lipophilicty'.*Did you mean 'lipophilicity'"):
        load_dataset("lipophilicty")


def test_file_options_are_rejected_for_registered_datasets():
    with pytest.raises(InvalidParameterError, match=r"'smiles_col' .* files only"):
        load_dataset("esol", smiles_col="smiles")


def test_target_selection_for_registered_dataset():
    ds = load_dataset("lipophilicity", target_cols="exp")  # source column name works too
    assert ds.target_names == ["logD"]
    with pytest.raises(UnknownNameError, match=r"target of dataset 'lipophilicity'"):
        load_dataset("lipophilicity", target_cols=["logP"])


def test_subset_indexes_per_row_meta():
    ds = load_dataset("freesolv")
    sub = ds.subset(np.array([5, 2]))
    assert list(sub.meta["source_row"]) == [7, 4]
    assert list(sub.ids) == [ds.ids[5], ds.ids[2]]
    assert sub.meta["licence"] == ds.meta["licence"]


# --------------------------------------------------------------------------- MoleculeACE


@pytest.mark.parametrize("name,rows", [("CHEMBL2034_Ki", 750), ("CHEMBL234_Ki", 3657)])
def test_moleculeace_rows_stay_aligned(name, rows, data_dir):
    ds = load_dataset(f"moleculeace:{name}")
    raw = pd.read_csv(data_dir / "moleculeace" / f"{name}.csv")
    assert len(raw) == rows and ds.report.n_read == rows
    assert len(ds) == rows  # MoleculeACE molecules are unique after canonicalisation
    assert ds.name == f"moleculeace:{name}"
    assert ds.target_names == ["y"] and ds.units == ["-log10(nM)"]
    src = ds.meta["source_row"] - 2
    np.testing.assert_array_equal(src, np.arange(rows))
    np.testing.assert_allclose(ds.target("y"), raw["y"].to_numpy())
    np.testing.assert_allclose(ds.meta["exp_nM"], raw["exp_mean [nM]"].to_numpy())
    np.testing.assert_allclose(ds.target("y"), -np.log10(ds.meta["exp_nM"]), atol=1e-9)
    np.testing.assert_array_equal(ds.meta["cliff_mol"], raw["cliff_mol"].to_numpy())
    np.testing.assert_array_equal(ds.meta["moleculeace_split"], raw["split"].to_numpy())
    with rdBase.BlockLogs():
        assert list(ds.smiles) == [Chem.CanonSmiles(s) for s in raw["smiles"]]


def test_moleculeace_from_explicit_dir_and_path(data_dir, monkeypatch, tmp_path):
    monkeypatch.delenv("CLIFFKIT_DATA_DIR")
    with pytest.raises(InvalidDataError, match=r"CLIFFKIT_DATA_DIR"):
        load_dataset("moleculeace:CHEMBL2034_Ki")
    assert len(load_dataset("moleculeace:CHEMBL2034_Ki", data_dir=data_dir)) == 750
    path = data_dir / "moleculeace" / "CHEMBL2034_Ki.csv"
    assert len(load_dataset(f"moleculeace:{path}")) == 750
    with pytest.raises(UnknownNameError, match=r"Did you mean 'CHEMBL234_Ki'"):
        load_dataset("moleculeace:CHEMBL23_Ki", data_dir=data_dir)
    with pytest.raises(InvalidDataError, match=r"not found: no CHEMBL1_Ki\.csv"):
        load_dataset("moleculeace:CHEMBL1_Ki", data_dir=tmp_path)


def test_linear_scale_potency_is_flagged(tmp_path, data_dir):
    """Ki in nM (found by the fresh-user trial): CliffSplit found no cliff and advised a
    lower cliff_quantile; nothing said that the labels were on a linear scale."""
    import warnings

    from cliffkit.data import warn_linear_scale
    from cliffkit.errors import DataWarning

    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:60]
    frame = pd.DataFrame({"smiles": src["smiles"], "Ki_nM": 10 ** (4 - src["exp"])})
    path = tmp_path / "ki.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(DataWarning, match=r"target 'Ki_nM' looks like a concentration on a linear "
                      r"scale \(all 60 values are positive and span .*pKi = 9 - log10"):
        ds = load_dataset(path)
    frame["pKi"] = 9 - np.log10(frame.pop("Ki_nM"))
    frame.to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_dataset(path)
        assert warn_linear_scale(ds, units=["pKi"]) == []
    with pytest.warns(DataWarning, match=r"its unit 'nM' is a concentration"):
        assert warn_linear_scale(ds, units=["nM"], units_only=True) == ["pKi"]
