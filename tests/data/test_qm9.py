"""QM9: sources (data dir, env var, qm9pack), units, merges, geometry index, cache."""

from __future__ import annotations

import gzip
import json
import sys

import numpy as np
import pandas as pd
import pytest

from cliffkit.data import HARTREE_TO_EV, _loaders, load_dataset
from cliffkit.errors import DataWarning, InvalidDataError, MissingDependencyError

EV = {"homo", "lumo", "gap"}
UNITS = {
    "mu": "D", "alpha": "bohr^3", "homo": "eV", "lumo": "eV", "gap": "eV", "r2": "bohr^2",
    "zpve": "Ha", "u0": "Ha", "u298": "Ha", "h298": "Ha", "g298": "Ha", "cv": "cal/(mol K)",
}


@pytest.fixture(scope="module")
def qm9_raw(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "qm9.csv.gz")


def _small_qm9(tmp_path, raw, rows):
    """A qm9.csv.gz with the given raw rows (keeps the original text of the header)."""
    folder = tmp_path / "qm9dir"
    folder.mkdir()
    (folder / "qm9.csv.gz").write_bytes(gzip.compress(raw.iloc[rows].to_csv(index=False).encode()))
    return folder


def test_full_qm9_counts_units_index_and_cache(data_dir, qm9_raw, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIFFKIT_CACHE_DIR", str(tmp_path / "cache"))
    ds = load_dataset("qm9")  # cold: RDKit over 2 processes, then cached
    rep = ds.report
    assert rep.n_read == len(qm9_raw) == 130_831
    assert rep.n_dropped == 0
    assert len(rep.merged) == 87 and rep.n_merged_rows == 87
    assert len(ds) == 130_744 == len(set(ds.smiles))
    assert dict(zip(ds.target_names, ds.units, strict=True)) == UNITS
    assert ds.target("gap").mean() == pytest.approx(6.86, abs=0.01)

    # Group sizes reproduce the raw column sums: merging is a mean, nothing is lost.
    counts = np.ones(len(ds))
    pos = {s: i for i, s in enumerate(ds.smiles)}
    for g in rep.merged:
        counts[pos[g.smiles]] = len(g.rows)
    for j, name in enumerate(ds.target_names):
        scale = HARTREE_TO_EV if name in EV else 1.0
        assert (ds.y[:, j] * counts).sum() == pytest.approx(qm9_raw[name].sum() * scale, rel=1e-9)

    # qm9_index / ids / source_row point at the first raw row of each molecule.
    rng = np.random.default_rng(0)
    by_index = qm9_raw.set_index("index")
    for i in rng.choice(len(ds), 200, replace=False):
        row = by_index.loc[ds.meta["qm9_index"][i]]
        assert ds.ids[i] == row["mol_id"]
        assert ds.meta["source_row"][i] - 2 == qm9_raw.index[qm9_raw["index"] == ds.meta["qm9_index"][i]][0]
        if counts[i] == 1:
            assert ds.target("gap")[i] == pytest.approx(row["gap"] * HARTREE_TO_EV)
            assert ds.target("mu")[i] == row["mu"]
    ch4 = list(ds.smiles).index("C")
    assert ds.meta["qm9_index"][ch4] == 1
    assert ds.target("homo")[ch4] == pytest.approx(-0.3877 * 27.211386246)

    # Every final row has a geometry.
    with np.load(data_dir / "qm9_geometries.npz") as npz:
        geo_index = npz["index"]
    assert np.isin(ds.meta["qm9_index"], geo_index).all()

    warm = load_dataset("qm9")
    assert warm.meta.get("cached") is True
    np.testing.assert_array_equal(warm.y, ds.y)
    assert list(warm.smiles) == list(ds.smiles) and list(warm.ids) == list(ds.ids)
    np.testing.assert_array_equal(warm.meta["qm9_index"], ds.meta["qm9_index"])
    assert json.dumps(warm.report.to_dict()) == json.dumps(rep.to_dict())
    assert warm.checksum == ds.checksum

    gap_only = load_dataset("qm9", target_cols=["gap"])
    assert gap_only.target_names == ["gap"] and gap_only.y.shape == (130_744, 1)


def test_small_qm9_from_data_dir_merges_and_converts(qm9_raw, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIFFKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CLIFFKIT_DATA_DIR")
    # rows 0..49 plus a copy of row 3 under another index: one merge
    extra = qm9_raw.iloc[[3]].copy()
    extra["index"] = 999_999
    extra["mol_id"] = "gdb_999999"
    extra["gap"] = extra["gap"] + 0.01
    raw = pd.concat([qm9_raw.iloc[:50], extra], ignore_index=True)
    folder = _small_qm9(tmp_path, raw, list(range(51)))
    with pytest.warns(DataWarning, match=r"QM9: 1 group of duplicate molecules .*lines 5\+52"):
        ds = load_dataset("qm9", data_dir=folder, n_jobs=1)
    assert ds.report.n_read == 51 and len(ds) == 50
    assert [g.rows for g in ds.report.merged] == [[5, 52]]
    i = list(ds.ids).index(qm9_raw.loc[3, "mol_id"])
    assert ds.meta["qm9_index"][i] == qm9_raw.loc[3, "index"]
    assert ds.target("gap")[i] == pytest.approx((qm9_raw.loc[3, "gap"] + 0.005) * HARTREE_TO_EV)
    assert ds.target("lumo")[0] == pytest.approx(qm9_raw.loc[0, "lumo"] * HARTREE_TO_EV)
    assert ds.target("cv")[0] == qm9_raw.loc[0, "cv"]


def test_qm9_from_qm9pack(qm9_raw, tmp_path, monkeypatch):
    """A stand-in qm9pack package with the wheel's layout and column names."""
    monkeypatch.setenv("CLIFFKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CLIFFKIT_DATA_DIR")
    pkg = tmp_path / "site" / "qm9pack"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    renamed = qm9_raw.iloc[:30].rename(columns={v: k for k, v in _loaders._QM9PACK_COLUMNS.items()})
    renamed["XYZ_Ang"] = "[[0.,0.,0.]]"
    for i, (lo, hi) in enumerate([(0, 10), (10, 20), (20, 30)], start=1):
        renamed.iloc[lo:hi].to_csv(pkg / "data" / f"qm9_part{i}.csv", index=False)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    sys.modules.pop("qm9pack", None)
    ds = load_dataset("qm9", n_jobs=1)
    assert ds.source.startswith("qm9pack:")
    assert len(ds) == 30 and list(ds.meta["qm9_index"]) == list(qm9_raw["index"][:30])
    assert ds.target("homo")[1] == pytest.approx(qm9_raw.loc[1, "homo"] * HARTREE_TO_EV)
    assert list(ds.ids[:2]) == ["gdb_1", "gdb_2"]


def test_qm9_missing_everywhere(tmp_path, monkeypatch):
    monkeypatch.delenv("CLIFFKIT_DATA_DIR")
    real = _loaders.importlib.util.find_spec
    monkeypatch.setattr(
        _loaders.importlib.util, "find_spec", lambda n, *a: None if n == "qm9pack" else real(n, *a)
    )
    with pytest.raises(MissingDependencyError,
                       match=r"-e '\.\[qm9\]' \(in the cliffkit source folder\), or set CLIFFKIT_DATA_DIR"):
        load_dataset("qm9")
    with pytest.raises(InvalidDataError, match=r"QM9 not found in data_dir .*qm9\.csv\.gz"):
        load_dataset("qm9", data_dir=tmp_path)
