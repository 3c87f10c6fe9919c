"""Geometries for SchNet: QM9 DFT lookup, qm9pack parsing, RDKit conformers and their cache."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from cliffkit.data import Dataset
from cliffkit.errors import CliffkitWarning, DataWarning, InvalidDataError, MissingDependencyError
from cliffkit.models import _conformers as conf
from cliffkit.models._conformers import (
    embed_conformers,
    get_geometries,
    load_qm9_geometries,
)


def _dists(pos, z, a, b):
    """All distances between atoms of element a and element b."""
    ia, ib = np.flatnonzero(z == a), np.flatnonzero(z == b)
    d = np.linalg.norm(pos[ia][:, None, :] - pos[ib][None, :, :], axis=-1)
    return d


def test_qm9_methane_water_benzene(data_dir):
    g = load_qm9_geometries([1, 3, 214], data_dir=data_dir)
    assert g.status.tolist() == ["qm9"] * 3
    z, pos = g.z[0], g.pos[0].astype(np.float64)
    assert sorted(z.tolist()) == [1, 1, 1, 1, 6]
    np.testing.assert_allclose(_dists(pos, z, 6, 1).ravel(), 1.09195, atol=2e-4)
    # The C line of dsgdb9nsd_000001.xyz.
    np.testing.assert_allclose(pos[z == 6][0], [-0.0126981359, 1.0858041578, 0.0080009958],
                               atol=1e-6)
    z, pos = g.z[1], g.pos[1].astype(np.float64)
    o, hs = pos[z == 8][0], pos[z == 1]
    np.testing.assert_allclose(np.linalg.norm(hs - o, axis=1), 0.9621, atol=2e-4)
    u, v = hs[0] - o, hs[1] - o
    angle = np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v)))
    assert angle == pytest.approx(103.72, abs=0.01)
    z, pos = g.z[2], g.pos[2].astype(np.float64)
    cc = _dists(pos, z, 6, 6)
    bonds = cc[(cc > 0) & (cc < 1.6)]
    assert bonds.size == 12  # six bonds, each seen twice
    np.testing.assert_allclose(bonds, 1.39345, atol=1e-4)


def test_qm9_unknown_index_and_missing_source(data_dir, tmp_path, monkeypatch):
    with pytest.raises(InvalidDataError, match=r"1 QM9 indices are not in .* \(first: \[999999\]\)"):
        load_qm9_geometries([1, 999999], data_dir=data_dir)
    monkeypatch.setenv("CLIFFKIT_DATA_DIR", str(tmp_path))
    monkeypatch.setitem(sys.modules, "qm9pack", None)  # import fails
    with pytest.raises(MissingDependencyError, match=r"pip install -c constraints.txt -e '\.\[qm9\]'"):
        load_qm9_geometries([1])


def test_qm9_index_4_is_present(data_dir):
    # Guard for the test above: id 4 exists, so only 999999 may be missing.
    g = load_qm9_geometries([4], data_dir=data_dir)
    assert sorted(g.z[0].tolist()) == [1, 1, 6, 6]


def test_qm9pack_fallback_parses_part_files(data_dir, tmp_path, monkeypatch):
    ref = load_qm9_geometries([1, 3], data_dir=data_dir)
    pkg = tmp_path / "site" / "qm9pack"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    sym = {1: "H", 6: "C", 8: "O"}
    lines = ["Index,Elements,XYZ_Ang"]
    for idx, z, pos in zip([1, 3], ref.z, ref.pos, strict=True):
        el = "[" + ",".join(f"'{sym[int(a)]}'" for a in z) + "]"
        xyz = "[" + ",".join("[" + ",".join(f"{c:.10f}" for c in row) + "]" for row in pos) + "]"
        lines.append(f'{idx},"{el}","{xyz}"')
    (pkg / "data" / "qm9_part1.csv").write_text("\n".join(lines) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, "qm9pack", raising=False)
    monkeypatch.setenv("CLIFFKIT_DATA_DIR", str(tmp_path / "empty"))
    cache = tmp_path / "cache"
    for _ in range(2):  # parse, then read the cached npz
        g = load_qm9_geometries([3, 1], cache_dir=cache)
        assert g.params["file"] == "qm9pack"
        for got, want in ((0, 1), (1, 0)):
            np.testing.assert_array_equal(g.z[got], ref.z[want])
            np.testing.assert_allclose(g.pos[got], ref.pos[want], atol=1e-6)
    assert (cache / "qm9pack_geometries.npz").is_file()
    # a truncated cache file (BadZipFile) is parsed again and overwritten, with a warning
    blob = (cache / "qm9pack_geometries.npz").read_bytes()
    (cache / "qm9pack_geometries.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.warns(CliffkitWarning, match="unreadable .*BadZipFile.*overwriting it"):
        g = load_qm9_geometries([3, 1], cache_dir=cache)
    np.testing.assert_array_equal(g.z[1], ref.z[0])
    assert len((cache / "qm9pack_geometries.npz").read_bytes()) == len(blob)


def test_get_geometries_follows_qm9_rows(data_dir):
    ds = Dataset(name="qm9", smiles=["C", "O", "c1ccccc1"], y=[0.0, 1.0, 2.0],
                 target_names=["homo"], units=["eV"], ids=np.array(["gdb_1", "gdb_3", "gdb_214"]),
                 meta={"qm9_index": np.array([1, 3, 214])})
    g = get_geometries(ds, data_dir=data_dir)
    assert [len(z) for z in g.z] == [5, 3, 12]
    # A subset keeps its rows' QM9 ids.
    sub = ds.subset([2, 0])
    g = get_geometries(sub, data_dir=data_dir)
    assert [len(z) for z in g.z] == [12, 5]


def test_embed_conformers_cache_round_trip(tmp_path, monkeypatch):
    from rdkit import Chem

    smiles = ["CCO", "c1ccccc1", "O", "CC(=O)N"]
    g = embed_conformers(smiles, cache_dir=tmp_path, n_jobs=1)
    assert g.status.tolist() == ["mmff"] * 4
    for smi, z, pos in zip(smiles, g.z, g.pos, strict=True):
        mol = Chem.AddHs(Chem.MolFromSmiles(smi))
        assert z.tolist() == [a.GetAtomicNum() for a in mol.GetAtoms()]
        assert pos.shape == (mol.GetNumAtoms(), 3) and pos.dtype == np.float32
    # Ethanol C-O after MMFF94: about 1.42 Angstrom; water O-H about 0.97.
    co = _dists(g.pos[0].astype(float), g.z[0], 6, 8).min()
    assert co == pytest.approx(1.42, abs=0.03)
    oh = _dists(g.pos[2].astype(float), g.z[2], 8, 1).ravel()
    np.testing.assert_allclose(oh, 0.97, atol=0.03)
    assert len(list(tmp_path.rglob("*.npz"))) == 4

    def boom(*args, **kwargs):
        raise AssertionError("cache miss")

    monkeypatch.setattr(conf, "_embed_one", boom)
    again = embed_conformers(smiles, cache_dir=tmp_path, n_jobs=1)
    for a, b in zip(g.pos, again.pos, strict=True):
        np.testing.assert_array_equal(a, b)
    assert again.status.tolist() == g.status.tolist()
    # Another seed is another cache key.
    with pytest.raises(AssertionError, match="cache miss"):
        embed_conformers(["CCO"], cache_dir=tmp_path, n_jobs=1, random_state=1)


def test_embed_conformers_parallel_equals_serial(tmp_path):
    smiles = ["CCO", "CCN", "CCC", "c1ccncc1", "OCCO", "CC(C)O", "CCOC", "C1CC1", "NCC(=O)O"]
    serial = embed_conformers(smiles, n_jobs=1, use_cache=False)
    parallel = embed_conformers(smiles, n_jobs=2, cache_dir=tmp_path)
    for a, b in zip(serial.pos, parallel.pos, strict=True):
        np.testing.assert_array_equal(a, b)
    assert parallel.counts == {"mmff": len(smiles)}


def test_embed_failure_is_reported(monkeypatch):
    from rdkit.Chem import AllChem

    monkeypatch.setattr(AllChem, "EmbedMolecule", lambda *a, **k: -1)
    with pytest.warns(DataWarning, match="could not embed 2 of 2 molecules"):
        g = embed_conformers(["CCO", "c1ccccc1"], n_jobs=1, use_cache=False)
    assert g.status.tolist() == ["2d-fallback"] * 2 and g.n_failed == 2
    assert g.counts == {"2d-fallback": 2}
    assert [len(z) for z in g.z] == [9, 12]
    np.testing.assert_array_equal(g.pos[1][:, 2], 0.0)  # flat depiction coordinates


def test_embed_rejects_bad_seed():
    from cliffkit.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'random_state' parameter of embed_conformers"):
        embed_conformers(["C"], random_state=1.5)


def test_damaged_conformer_cache_file_is_recomputed(tmp_path):
    # h46 F3: a truncated cache file raised zipfile.BadZipFile on every later run
    g = embed_conformers(["CCO", "CCN"], cache_dir=tmp_path, n_jobs=1)
    files = sorted(tmp_path.rglob("*.npz"))
    assert len(files) == 2
    for f in files:
        blob = f.read_bytes()
        f.write_bytes(blob[: len(blob) // 2])
    with pytest.warns(CliffkitWarning, match=r"2 conformer cache file.*unreadable .*\.npz"):
        again = embed_conformers(["CCO", "CCN"], cache_dir=tmp_path, n_jobs=1)
    assert again.status.tolist() == g.status.tolist()
    for a, b in zip(g.pos, again.pos, strict=True):
        np.testing.assert_array_equal(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overwritten: read back without a warning
        embed_conformers(["CCO", "CCN"], cache_dir=tmp_path, n_jobs=1)


def test_unconverged_force_field_is_labelled_so():
    # h46 F6: MMFF's return code was ignored: 1 (not converged) was labelled "mmff"
    g = embed_conformers(["CCCCCCCCO", "CCO"], max_iters=1, n_jobs=1, use_cache=False)
    assert g.status.tolist() == ["mmff-unconverged"] * 2
    assert g.counts == {"mmff-unconverged": 2} and g.n_failed == 0


def test_force_field_setup_failure_keeps_etkdg_label(monkeypatch):
    from rdkit.Chem import AllChem

    monkeypatch.setattr(AllChem, "MMFFOptimizeMolecule", lambda *a, **k: -1)
    g = embed_conformers(["CCO"], n_jobs=1, use_cache=False)
    assert g.status.tolist() == ["etkdg"]


def test_empty_smiles_is_refused_by_the_embedder():
    with pytest.raises(InvalidDataError, match="empty"):
        embed_conformers([""], n_jobs=1, use_cache=False)
