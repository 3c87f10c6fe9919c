"""The on-disk neighbour cache."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from cliffkit.errors import CliffkitWarning
from cliffkit.similarity import cached_neighbors, compute_fingerprints, find_neighbors

SMILES = ["CCO", "CCCO", "CCN", "CCCN", "c1ccccc1", "c1ccccc1O", "CC(=O)O"]


def test_cache_round_trip(tmp_path):
    g1 = cached_neighbors(SMILES, k=3, min_similarity=0.1, cache_dir=tmp_path)
    assert g1.params["cached"] is False
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and not list(tmp_path.glob("*.tmp"))
    g2 = cached_neighbors(SMILES, k=3, min_similarity=0.1, cache_dir=tmp_path)
    assert g2.params["cached"] is True and g2.params["cache_file"] == str(files[0])
    direct = find_neighbors(compute_fingerprints(SMILES), k=3, min_similarity=0.1)
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g2, arr), getattr(direct, arr))


def test_cache_key_changes_with_data_and_params(tmp_path):
    cached_neighbors(SMILES, k=3, cache_dir=tmp_path)
    cached_neighbors(SMILES, k=4, cache_dir=tmp_path)
    cached_neighbors(SMILES, k=3, radius=1, cache_dir=tmp_path)
    cached_neighbors(SMILES[::-1], k=3, cache_dir=tmp_path)
    cached_neighbors(SMILES[:3], SMILES, k=3, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 5


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIFFKIT_CACHE_DIR", str(tmp_path / "env"))
    g = cached_neighbors(SMILES, k=2)
    assert g.params["cache_file"].startswith(str(tmp_path / "env" / "neighbors"))


def test_corrupt_cache_file_is_recomputed(tmp_path):
    g = cached_neighbors(SMILES, k=2, cache_dir=tmp_path)
    path = g.params["cache_file"]
    with open(path, "wb") as fh:
        fh.write(b"not an npz")
    with pytest.warns(CliffkitWarning, match="unreadable .*recomputing"):
        g2 = cached_neighbors(SMILES, k=2, cache_dir=tmp_path)
    assert g2.params["cached"] is False
    np.testing.assert_array_equal(g2.indices, g.indices)


def test_truncated_cache_file_is_recomputed_and_overwritten(tmp_path):
    # h28 finding 8: a cut-off .npz raised zipfile.BadZipFile on every later run
    g = cached_neighbors(SMILES, k=2, cache_dir=tmp_path)
    path = Path(g.params["cache_file"])
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.warns(CliffkitWarning, match=r"BadZipFile.*recomputing the neighbours and "
                                             "overwriting it") as rec:
        g2 = cached_neighbors(SMILES, k=2, cache_dir=tmp_path)
    assert len(rec) == 1 and g2.params["cached"] is False
    np.testing.assert_array_equal(g2.indices, g.indices)
    assert len(path.read_bytes()) > len(blob) // 2 and not list(tmp_path.glob("*.tmp"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cached_neighbors(SMILES, k=2, cache_dir=tmp_path).params["cached"] is True


def test_cache_key_holds_the_rdkit_version(tmp_path, monkeypatch):
    # h46 F5: another RDKit may parse or fingerprint differently; the conformer cache
    # key had its version, the neighbour cache key did not
    from rdkit import rdBase

    from cliffkit.similarity import neighbors_cache_key

    key = neighbors_cache_key(SMILES, None, {"k": 3})
    g = cached_neighbors(SMILES, k=3, cache_dir=tmp_path)
    monkeypatch.setattr(rdBase, "rdkitVersion", "1999.09.1")
    assert neighbors_cache_key(SMILES, None, {"k": 3}) != key
    g2 = cached_neighbors(SMILES, k=3, cache_dir=tmp_path)
    assert g2.params["cached"] is False and g2.params["cache_file"] != g.params["cache_file"]
