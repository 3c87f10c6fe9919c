"""Exactness of the neighbour search against RDKit, and its edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator

from cliffkit.errors import (
    CliffkitWarning,
    InvalidParameterError,
    InvalidSmilesError,
    ShapeMismatchError,
)
from cliffkit.similarity import (
    NeighborGraph,
    compute_fingerprints,
    default_k,
    find_neighbors,
    tanimoto_matrix,
)


def _rdkit_fps(smiles, radius=2, n_bits=2048):
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]


def _rdkit_topk(bvs_q, bvs_r, i, k, min_sim, exclude):
    """Reference top-k of query i: RDKit similarities, sorted by (-sim, index)."""
    s = np.array(DataStructs.BulkTanimotoSimilarity(bvs_q[i], bvs_r))
    keep = s >= min_sim
    if exclude:
        keep[i] = False
    idx = np.flatnonzero(keep)
    order = np.lexsort((idx, -s[idx]))
    return idx[order][:k], s[idx][order][:k]


@pytest.fixture(scope="module")
def qm9_smiles(data_dir):
    return pd.read_csv(data_dir / "qm9.csv.gz", nrows=3000, usecols=["smiles"])["smiles"].tolist()


@pytest.fixture(scope="module")
def lipo_smiles(data_dir):
    return pd.read_csv(data_dir / "lipophilicity.csv")["smiles"].tolist()[:2500]


def test_fingerprints_match_rdkit_bit_order(lipo_smiles):
    smiles = lipo_smiles[:200]
    fps = compute_fingerprints(smiles, radius=2, n_bits=2048)
    assert fps.dtype == np.uint8 and fps.shape == (200, 256)
    for row, bv in zip(np.unpackbits(fps, axis=1), _rdkit_fps(smiles), strict=True):
        assert np.flatnonzero(row).tolist() == list(bv.GetOnBits())


def test_fingerprints_parallel_equals_serial(qm9_smiles):
    smiles = qm9_smiles * 2  # 6,000 molecules: above the multiprocessing cut-off
    par = compute_fingerprints(smiles, n_jobs=2)
    ser = compute_fingerprints(smiles, n_jobs=1)
    np.testing.assert_array_equal(par, ser)


def test_fingerprints_radius_and_bits():
    fps = compute_fingerprints(["c1ccccc1O"], radius=1, n_bits=1024)
    (bv,) = _rdkit_fps(["c1ccccc1O"], radius=1, n_bits=1024)
    assert fps.shape == (1, 128)
    assert np.flatnonzero(np.unpackbits(fps[0])).tolist() == list(bv.GetOnBits())


def test_invalid_smiles_named():
    with pytest.raises(InvalidSmilesError, match=r"1 SMILES at 0-based positions 1 \('C1CC'\)"):
        compute_fingerprints(["CCO", "C1CC", "CCN"])
    with pytest.raises(InvalidParameterError, match="multiple of 8"):
        compute_fingerprints(["CCO"], n_bits=1001)
    with pytest.raises(InvalidParameterError, match="not one string"):
        compute_fingerprints("CCO")


@pytest.mark.parametrize("which", ["qm9", "lipo"])
def test_all_against_all_matches_rdkit(which, qm9_smiles, lipo_smiles):
    smiles = qm9_smiles if which == "qm9" else lipo_smiles
    fps = compute_fingerprints(smiles)
    bvs = _rdkit_fps(smiles)
    k, tau = 24, 0.35
    graphs = {b: find_neighbors(fps, k=k, min_similarity=tau, backend=b) for b in ("torch", "numpy")}
    g = graphs["torch"]
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g, arr), getattr(graphs["numpy"], arr))
    rng = np.random.default_rng(0)
    for i in rng.choice(len(smiles), 300, replace=False):
        idx, sims = _rdkit_topk(bvs, bvs, i, k, tau, exclude=True)
        got_idx, got_sims = g.row(i)
        np.testing.assert_array_equal(got_sims, sims)  # bit-identical float64
        np.testing.assert_array_equal(got_idx, idx)  # including the tie rule
    assert g.indptr.dtype == np.int64 and g.indices.dtype == np.int64
    assert not np.any(g.indices == g.query_indices())  # self excluded


def test_query_against_reference_matches_rdkit(qm9_smiles, lipo_smiles):
    ref = qm9_smiles[:2000]
    query = qm9_smiles[2000:2300] + lipo_smiles[:200]
    bq, br = _rdkit_fps(query), _rdkit_fps(ref)
    g = find_neighbors(compute_fingerprints(query), compute_fingerprints(ref), k=10, min_similarity=0.2)
    assert g.n_query == 500 and g.n_reference == 2000
    for i in range(500):
        idx, sims = _rdkit_topk(bq, br, i, 10, 0.2, exclude=False)
        np.testing.assert_array_equal(g.row(i)[1], sims)
        np.testing.assert_array_equal(g.row(i)[0], idx)


def test_duplicates_are_neighbors_and_ties_by_index():
    # 0, 2 and 3 are the same molecule: only the same index counts as self
    smiles = ["CCO", "CCCC", "OCC", "C(C)O", "CCN"]
    for backend in ("torch", "numpy"):
        g = find_neighbors(compute_fingerprints(smiles), k=3, min_similarity=0.0, backend=backend)
        idx, sims = g.row(0)
        assert idx[:2].tolist() == [2, 3] and sims[:2].tolist() == [1.0, 1.0]
        idx, sims = g.row(3)
        assert idx[:2].tolist() == [0, 2]
        # with ref_fps and exclude_self=False, the molecule finds itself
        fps = compute_fingerprints(smiles)
        g2 = find_neighbors(fps, fps, k=1, min_similarity=0.0, backend=backend)
        assert g2.row(2)[0].tolist() == [0]  # tie 0, 2, 3 -> lowest index first


def test_hand_worked_tanimoto():
    # CCO: 6 bits; CCCO shares some. Check against an independent dense computation.
    smiles = ["CCO", "CCCO", "CCN", "c1ccccc1", "CC(=O)O"]
    fps = compute_fingerprints(smiles)
    bits = np.unpackbits(fps, axis=1).astype(np.int64)
    c = bits @ bits.T
    a = bits.sum(1)
    expected = c / (a[:, None] + a[None, :] - c)
    np.testing.assert_array_equal(tanimoto_matrix(fps), expected)
    g = find_neighbors(fps, k=4, min_similarity=0.0)
    for i in range(5):
        s = expected[i].copy()
        s[i] = -1
        order = np.lexsort((np.arange(5), -s))[:4]
        assert g.row(i)[0].tolist() == order.tolist()


def test_threshold_gives_short_rows(qm9_smiles):
    fps = compute_fingerprints(qm9_smiles[:500])
    g = find_neighbors(fps, k=24, min_similarity=0.6)
    assert np.all(g.similarities >= 0.6)
    assert g.degree().min() < 24 and g.degree().max() <= 24
    dense = tanimoto_matrix(fps)
    np.fill_diagonal(dense, -1)
    np.testing.assert_array_equal(g.degree(), np.minimum((dense >= 0.6).sum(1), 24))


def test_zero_bit_molecules():
    # fingerprints without bits: Tanimoto(0, 0) = 0.0, as in RDKit (no molecule has
    # none, and compute_fingerprints refuses the empty SMILES: the rows are made by hand)
    fps = compute_fingerprints(["CCO"])
    fps = np.vstack([np.zeros((2, fps.shape[1]), np.uint8), fps])
    empty = DataStructs.ExplicitBitVect(2048)
    assert DataStructs.TanimotoSimilarity(empty, DataStructs.ExplicitBitVect(2048)) == 0.0
    g = find_neighbors(fps, k=2, min_similarity=0.1)
    assert g.degree().tolist() == [0, 0, 0]
    g0 = find_neighbors(fps, k=2, min_similarity=0.0)
    assert g0.row(0)[0].tolist() == [1, 2] and g0.row(0)[1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("blank", ["", "  "])
def test_empty_smiles_is_refused_not_an_all_zero_molecule(blank):
    # h46 F4: RDKit reads "" as a zero-atom molecule; it was fingerprinted as all zeros
    # while the loaders and Backbone.predict refuse it (one rule: cliffkit.data.is_molecule)
    with pytest.raises(InvalidSmilesError, match=r"positions 1 .*empty or blank"):
        compute_fingerprints(["CCO", blank, "CCN"])
    with pytest.raises(InvalidSmilesError, match="positions 0"):
        compute_fingerprints([Chem.MolFromSmiles(""), "CCO"])


def test_empty_query_and_k_larger_than_reference():
    fps = compute_fingerprints(["CCO", "CCN", "CCC"])
    g = find_neighbors(fps[:0], fps, k=5)
    assert g.n_query == 0 and g.indptr.tolist() == [0] and g.n_reference == 3
    with pytest.warns(UserWarning, match="k=5 exceeds the 2 possible"):
        g = find_neighbors(fps, k=5, min_similarity=0.0)
    assert g.degree().tolist() == [2, 2, 2]
    # review h37 F6: the graph records the k used (compute_severity's m = floor(sqrt(k)))
    assert g.params["k"] == 2
    with pytest.warns(UserWarning, match="using k=0"):
        g = find_neighbors(fps[:1], k=3)
    assert g.nnz == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_similarity": 1.5}, r"'min_similarity' parameter of find_neighbors must be a float in \[0, 1\]; got 1.5"),
        ({"min_similarity": -0.1}, "min_similarity"),
        ({"k": 0}, "'k' parameter"),
        ({"backend": "gpu"}, "'backend' parameter"),
    ],
)
def test_bad_parameters(kwargs, match):
    fps = compute_fingerprints(["CCO", "CCN"])
    with pytest.raises(InvalidParameterError, match=match):
        find_neighbors(fps, **kwargs)


def test_bad_inputs():
    fps = compute_fingerprints(["CCO", "CCN"])
    with pytest.raises(InvalidParameterError, match="2-D uint8"):
        find_neighbors(fps.astype(np.int64))
    with pytest.raises(ShapeMismatchError, match="same n_bits"):
        find_neighbors(fps, compute_fingerprints(["CCO"], n_bits=1024))
    with pytest.raises(InvalidParameterError, match="exclude_self=True needs"):
        find_neighbors(fps, fps[:1], exclude_self=True)


def test_default_k():
    assert [default_k(n) for n in (0, 15, 16, 100, 575, 576, 10**6)] == [4, 4, 4, 10, 23, 24, 24]


def test_graph_helpers(tmp_path):
    g = NeighborGraph(np.array([0, 2, 3]), np.array([1, 2, 0]), np.array([0.9, 0.5, 0.9]), 3, {"k": 2})
    assert g.degree().tolist() == [2, 1]
    df = g.to_frame()
    assert df.columns.tolist() == ["query", "neighbor", "similarity"]
    assert df["query"].tolist() == [0, 0, 1]
    r = g.restrict(np.array([True, False, True]))
    assert r.indptr.tolist() == [0, 1, 2] and r.indices.tolist() == [2, 0]
    r2 = g.restrict(np.array([0, 2]), renumber=True)
    assert r2.indices.tolist() == [1, 0] and r2.n_reference == 2
    g.save(tmp_path / "g.npz")
    back = NeighborGraph.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(back.similarities, g.similarities)
    assert back.params == {"k": 2} and back.n_reference == 3
    assert "n_query=2" in repr(g)
    with pytest.raises(ShapeMismatchError):
        NeighborGraph(np.array([0, 2]), np.array([1]), np.array([0.5]), 3)


def test_similarity_imports_without_torch():
    import subprocess
    import sys

    code = (
        "import sys; import cliffkit.similarity as s; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_warning_when_k_fits():
    fps = compute_fingerprints(["CCO", "CCN", "CCC"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        find_neighbors(fps, k=2)


def _dense_topk(dense, k, min_sim, exclude_self):
    out = []
    for i in range(len(dense)):
        s = dense[i].copy()
        if exclude_self:
            s[i] = -1
        idx = np.flatnonzero(s >= min_sim)
        order = np.lexsort((idx, -s[idx]))[:k]
        out.append((idx[order], s[idx][order]))
    return out


@pytest.mark.parametrize("density", [0.02, 0.2])  # 0.2: > 256 bits, the int8/int32 path
@pytest.mark.parametrize("block_size", [23, 64])
def test_random_fingerprints_many_blocks(density, block_size):
    rng = np.random.default_rng(1)
    bits = (rng.random((300, 2048)) < density).astype(np.uint8)
    bits[:40] = bits[40:80]  # duplicates
    bits[5] = 0  # a zero-bit row
    fps = np.packbits(bits, axis=1)
    dense = tanimoto_matrix(fps)
    min_sim = 0.0 if density > 0.1 else 0.05
    expected = _dense_topk(dense, 10, min_sim, exclude_self=True)
    for backend in ("torch", "numpy"):
        g = find_neighbors(fps, k=10, min_similarity=min_sim, backend=backend, block_size=block_size)
        for i, (idx, sims) in enumerate(expected):
            np.testing.assert_array_equal(g.row(i)[0], idx)
            np.testing.assert_array_equal(g.row(i)[1], sims)
    # query against reference, no self-exclusion
    g = find_neighbors(fps[:50], fps[100:], k=5, min_similarity=min_sim, block_size=block_size)
    dense_qr = tanimoto_matrix(fps[:50], fps[100:])
    for i, (idx, sims) in enumerate(_dense_topk(dense_qr, 5, min_sim, exclude_self=False)):
        np.testing.assert_array_equal(g.row(i)[0], idx)
        np.testing.assert_array_equal(g.row(i)[1], sims)


def test_single_query_backends_agree(qm9_smiles):
    # regression guard: one-row query blocks must give the same rows on both backends
    fps = compute_fingerprints(qm9_smiles[:1500])
    rng = np.random.default_rng(3)
    for q in rng.integers(0, 1500, size=8):
        ref = rng.choice(1500, 700, replace=False)
        g = [
            find_neighbors(fps[q : q + 1], fps[ref], k=12, min_similarity=0.2, backend=b)
            for b in ("torch", "numpy")
        ]
        np.testing.assert_array_equal(g[0].indices, g[1].indices)
        np.testing.assert_array_equal(g[0].similarities, g[1].similarities)
        dense = tanimoto_matrix(fps[q : q + 1], fps[ref])[0]
        idx = np.flatnonzero(dense >= 0.2)
        order = np.lexsort((idx, -dense[idx]))[:12]
        np.testing.assert_array_equal(g[0].indices, idx[order])


# --------------------------------------------------------------------------- issue 19
@pytest.mark.parametrize("tau", [0.0, 0.35])
def test_qm9_any_threshold_matches_rdkit(tau, qm9_smiles):
    """Bucket-bound engine (torch) and exact popcount engine (numpy) against RDKit."""
    smiles = qm9_smiles[:2500]
    fps = compute_fingerprints(smiles)
    bvs = _rdkit_fps(smiles)
    g = find_neighbors(fps, k=24, min_similarity=tau, backend="torch", block_size=300)
    assert "buckets" in g.params["sketch"]  # the bound path, not exact counting
    gn = find_neighbors(fps, k=24, min_similarity=tau, backend="numpy")
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g, arr), getattr(gn, arr))
    if tau == 0.0:
        assert g.degree().min() == 24
    for i in np.random.default_rng(1).choice(len(smiles), 200, replace=False):
        idx, sims = _rdkit_topk(bvs, bvs, i, 24, tau, exclude=True)
        np.testing.assert_array_equal(g.row(i)[1], sims)
        np.testing.assert_array_equal(g.row(i)[0], idx)


def test_query_against_reference_min_sim_zero(qm9_smiles, lipo_smiles):
    ref = qm9_smiles[:1500]
    query = lipo_smiles[:150] + qm9_smiles[1500:1650]
    bq, br = _rdkit_fps(query), _rdkit_fps(ref)
    g = find_neighbors(compute_fingerprints(query), compute_fingerprints(ref), k=16,
                       min_similarity=0.0)
    assert g.degree().tolist() == [16] * 300
    for i in range(300):
        idx, sims = _rdkit_topk(bq, br, i, 16, 0.0, exclude=False)
        np.testing.assert_array_equal(g.row(i)[1], sims)
        np.testing.assert_array_equal(g.row(i)[0], idx)


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_min_sim_zero_fills_with_unrelated_by_index(backend):
    # few molecules share bits with the salt-like ones: rows end with similarity-0
    # references in index order (Tanimoto 0, ties by index), as RDKit's ranking gives
    smiles = ["[Na+]", "CCO", "[Cl-]", "c1ccccc1", "CCN", "[K+]", "O=C=O"]
    fps = compute_fingerprints(smiles)
    dense = tanimoto_matrix(fps)
    g = find_neighbors(fps, k=5, min_similarity=0.0, backend=backend)
    for i, (idx, sims) in enumerate(_dense_topk(dense, 5, 0.0, exclude_self=True)):
        np.testing.assert_array_equal(g.row(i)[0], idx)
        np.testing.assert_array_equal(g.row(i)[1], sims)
    assert g.row(0)[1].tolist() == [0.0] * 5 and g.row(0)[0].tolist() == [1, 2, 3, 4, 5]


def test_zero_molecule_reference_and_zero_bit_reference():
    fps = compute_fingerprints(["CCO", "CCN"])
    with pytest.warns(UserWarning, match="k=3 exceeds the 0 possible neighbours"):
        g = find_neighbors(fps, fps[:0], k=3)
    assert g.n_query == 2 and g.nnz == 0 and g.n_reference == 0
    empty = np.zeros((3, fps.shape[1]), dtype=np.uint8)  # zero-bit references
    g = find_neighbors(fps, empty, k=2, min_similarity=0.0)
    assert g.indices.tolist() == [0, 1, 0, 1] and g.similarities.tolist() == [0.0] * 4
    assert find_neighbors(fps, empty, k=2, min_similarity=0.01).nnz == 0
    assert find_neighbors(empty, k=2, min_similarity=0.0).indices.tolist() == [1, 2, 0, 2, 0, 1]


def test_checkpoint_shards_resume_and_refuse_other_data(tmp_path, qm9_smiles):
    fps = compute_fingerprints(qm9_smiles[:1200])
    plain = find_neighbors(fps, k=10, min_similarity=0.0, block_size=128)
    folder = tmp_path / "shards"
    g = find_neighbors(fps, k=10, min_similarity=0.0, block_size=128, checkpoint_dir=folder,
                       shard_size=300)
    shards = sorted(folder.glob("shard-*.npz"))
    assert len(shards) == 4 and (folder / "manifest.json").is_file()  # 384-row shards
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g, arr), getattr(plain, arr))
    # resume: a finished shard is read back, a missing one recomputed
    shards[1].unlink()
    mtime = shards[0].stat().st_mtime_ns
    g2 = find_neighbors(fps, k=10, min_similarity=0.0, block_size=128, checkpoint_dir=folder,
                        shard_size=300)
    assert shards[0].stat().st_mtime_ns == mtime and shards[1].is_file()
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g2, arr), getattr(plain, arr))
    # other data or other parameters: a one-line error naming the folder and the fix
    with pytest.raises(InvalidParameterError, match=r"holds shards of another search \(differs in: query_sha256"):
        find_neighbors(fps[::-1], k=10, min_similarity=0.0, block_size=128,
                       checkpoint_dir=folder, shard_size=300)
    with pytest.raises(InvalidParameterError, match="differs in: k"):
        find_neighbors(fps, k=11, min_similarity=0.0, block_size=128, checkpoint_dir=folder,
                       shard_size=300)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(InvalidParameterError, match="unreadable manifest"):
        find_neighbors(fps, k=10, checkpoint_dir=folder)


@pytest.mark.parametrize(
    ("n", "n_bits", "density"),
    [(200, 4096, 0.3),  # bounds above 256: bfloat16 output rounds, thresholds get slack
     (12, 1 << 17, 0.6)],  # bucket counts above 256: float32 products
)
def test_large_fingerprints_stay_exact(n, n_bits, density):
    rng = np.random.default_rng(5)
    bits = (rng.random((n, n_bits)) < density).astype(np.uint8)
    bits[3] = bits[4]
    bits[7, ::2] = 0  # near-duplicate with a different popcount
    fps = np.packbits(bits, axis=1)
    g = find_neighbors(fps, k=7, min_similarity=0.0, block_size=16)
    for i, (idx, sims) in enumerate(_dense_topk(tanimoto_matrix(fps), 7, 0.0, exclude_self=True)):
        np.testing.assert_array_equal(g.row(i)[0], idx)
        np.testing.assert_array_equal(g.row(i)[1], sims)


# --------------------------------------------------------------------------- reference shards
def _same_graph(g, h):
    for arr in ("indptr", "indices", "similarities"):
        np.testing.assert_array_equal(getattr(g, arr), getattr(h, arr))


@pytest.mark.parametrize("backend", ["torch", "numpy"])
@pytest.mark.parametrize("tau", [0.0, 0.05, 0.3])
def test_reference_shards_give_identical_arrays(backend, tau):
    # duplicates (ties) and the rows' own indices straddle the shard boundaries (37 rows)
    rng = np.random.default_rng(7)
    bits = (rng.random((260, 2048)) < 0.03).astype(np.uint8)
    bits[30:45] = bits[0:15]  # ties across the boundary at 37
    bits[70:75] = bits[36:41]
    bits[5] = 0  # zero bits
    fps = np.packbits(bits, axis=1)
    plain = find_neighbors(fps, k=9, min_similarity=tau, backend=backend, block_size=50)
    assert plain.params["reference_shards"] == 1
    g = find_neighbors(fps, k=9, min_similarity=tau, backend=backend, block_size=50,
                       ref_shard_size=37)
    assert g.params["reference_shards"] == 8
    _same_graph(g, plain)
    for i, (idx, sims) in enumerate(_dense_topk(tanimoto_matrix(fps), 9, tau, True)):
        np.testing.assert_array_equal(g.row(i)[0], idx)
        np.testing.assert_array_equal(g.row(i)[1], sims)
    # queries against a different reference, self not excluded
    h = find_neighbors(fps[:60], fps[40:], k=9, min_similarity=tau, backend=backend,
                       ref_shard_size=64)
    _same_graph(h, find_neighbors(fps[:60], fps[40:], k=9, min_similarity=tau,
                                  backend=backend))


@pytest.mark.parametrize("tau", [0.0, 0.35])
def test_reference_shards_qm9_and_carried_thresholds(tau, qm9_smiles):
    fps = compute_fingerprints(qm9_smiles[:2000])
    plain = find_neighbors(fps, k=24, min_similarity=tau)
    g = find_neighbors(fps, k=24, min_similarity=tau, ref_shard_size=1000)
    assert "buckets" in g.params["sketch"] and g.params["reference_shards"] == 2
    _same_graph(g, plain)
    # thresholds carried from the first shard: the second shard's search, started
    # from the first shard's pools, scores fewer pairs than from empty pools
    from cliffkit.similarity._search import _BIG_REF, _Engine, _fill, _finish, _plan, _Queries

    qs = _Queries(fps)
    plan = _plan(fps, fps, qs.order, qs.order, qs.a, qs.a, True, 24, tau, {})
    n = len(fps)

    def run(engine, ps, pr):
        st = {"pairs": 0, "candidates": 0}
        for s in range(0, n, 500):
            engine.block(s, min(n, s + 500), st, ps[s : s + 500], pr[s : s + 500])
        return st

    def pools():
        return np.full((n, 24), -1.0), np.full((n, 24), _BIG_REF, dtype=np.int64)

    shard = [_Engine(qs, fps[a:b], a, False, 24, tau, True, "torch", plan, {})
             for a, b in ((0, 1000), (1000, n))]
    ps, pr = pools()
    run(shard[0], ps, pr)
    carried = run(shard[1], ps, pr)
    fresh = run(shard[1], *pools())
    # (at 0.35 most QM9 rows have fewer than 24 neighbours, so thresholds rise less)
    assert carried["candidates"] < (0.7 if tau == 0 else 1.0) * fresh["candidates"]
    assert carried["pairs"] <= fresh["pairs"]
    # and the carried pools give the search's arrays
    if tau == 0:
        _fill(ps, pr, qs.order, n, True)
    for got, want in zip(_finish(ps, pr, qs.order, step=333),
                         (plain.indptr, plain.indices, plain.similarities), strict=True):
        np.testing.assert_array_equal(got, want)


def test_reference_shards_resume_and_refuse(tmp_path, qm9_smiles, monkeypatch):
    from cliffkit.similarity import _search as search_mod

    fps = compute_fingerprints(qm9_smiles[:1200])
    kw = {"k": 10, "min_similarity": 0.0, "block_size": 128, "shard_size": 300,
          "ref_shard_size": 500}
    plain = find_neighbors(fps, k=10, min_similarity=0.0)
    folder = tmp_path / "shards"
    # interrupted in the second reference shard, after two of the four query shards
    real_save, calls = search_mod._ShardStore.save, []

    def save(self, i, ps, pr, ref_done):
        if len(calls) == 6:
            raise KeyboardInterrupt
        calls.append((i, ref_done))
        real_save(self, i, ps, pr, ref_done)

    monkeypatch.setattr(search_mod._ShardStore, "save", save)
    with pytest.raises(KeyboardInterrupt):
        find_neighbors(fps, checkpoint_dir=folder, **kw)
    assert calls == [(0, 1), (1, 1), (2, 1), (3, 1), (0, 2), (1, 2)]
    monkeypatch.setattr(search_mod._ShardStore, "save", real_save)
    g = find_neighbors(fps, checkpoint_dir=folder, **kw)
    _same_graph(g, plain)
    states = []
    for path in sorted(folder.glob("shard-*.npz")):
        with np.load(path) as z:
            states.append(int(z["ref_done"]))
    assert states == [3, 3, 3, 3]
    # a second rerun reads everything back: no search work
    again = find_neighbors(fps, checkpoint_dir=folder, **kw)
    _same_graph(again, plain)
    assert again.params["pairs_bounded"] == 0
    # other reference shards, other reference data: refused in one line
    with pytest.raises(InvalidParameterError, match="differs in: reference_shard_rows"):
        find_neighbors(fps, checkpoint_dir=folder, **{**kw, "ref_shard_size": 400})
    other = tmp_path / "qr"
    find_neighbors(fps[:100], fps, checkpoint_dir=other, **kw)
    with pytest.raises(InvalidParameterError, match="differs in: reference_sha256"):
        find_neighbors(fps[:100], fps[::-1], checkpoint_dir=other, **kw)
    # a damaged shard (wrong shapes) or a truncated one (BadZipFile, h28 finding 8) is
    # recomputed and overwritten, with one warning naming the files
    good = find_neighbors(fps[:100], fps, **kw)
    np.savez(other / "shard-00000.npz", sims=np.zeros((3, 10)), refs=np.zeros((3, 10)),
             ref_done=np.int64(1))
    with pytest.warns(CliffkitWarning, match=r"1 shard file unreadable, recomputed and "
                                             r"overwritten: shard-00000.npz \(ValueError"):
        _same_graph(find_neighbors(fps[:100], fps, checkpoint_dir=other, **kw), good)
    blob = (other / "shard-00000.npz").read_bytes()
    (other / "shard-00000.npz").write_bytes(blob[: len(blob) // 2])
    with pytest.warns(CliffkitWarning, match=r"shard-00000.npz \(BadZipFile") as rec:
        _same_graph(find_neighbors(fps[:100], fps, checkpoint_dir=other, **kw), good)
    assert len([w for w in rec if "unreadable" in str(w.message)]) == 1
    with warnings.catch_warnings():  # rewritten whole: the next run reads it silently
        warnings.simplefilter("error")
        _same_graph(find_neighbors(fps[:100], fps, checkpoint_dir=other, **kw), good)


def test_bad_reference_shard_size():
    fps = compute_fingerprints(["CCO", "CCN"])
    with pytest.raises(InvalidParameterError, match="'ref_shard_size' parameter"):
        find_neighbors(fps, ref_shard_size=0)


@pytest.mark.parametrize("tau", [0.0, 0.35])
def test_measured_query_shards_match_the_whole_search(tau, qm9_smiles):
    # benchmarks/knn.py --million times a sample of query shards with this private hook
    from cliffkit.similarity._search import _search

    fps = compute_fingerprints(qm9_smiles[:3000])
    g = find_neighbors(fps, k=24, min_similarity=tau)
    info: dict = {}
    indptr, idx, sims = _search(
        fps, fps, same=True, k=24, min_similarity=tau, exclude_self=True, backend="torch",
        block_size=256, n_jobs=2, show_progress=False, info=info, shard_size=512,
        query_shards=[0, 3, 5], ref_shard_size=1000)
    assert sorted(info["shard_seconds"]) == [0, 3, 5]
    order = np.argsort(np.bitwise_count(fps).sum(1), kind="stable")
    rows = np.concatenate([order[i * 512 : (i + 1) * 512] for i in (0, 3, 5)])
    deg = np.diff(indptr)
    assert not deg[np.setdiff1d(np.arange(3000), rows)].any()
    for r in rows:
        np.testing.assert_array_equal(idx[indptr[r] : indptr[r + 1]], g.row(r)[0])
        np.testing.assert_array_equal(sims[indptr[r] : indptr[r + 1]], g.row(r)[1])


def test_reference_shards_bad_input_cases():
    # the bad-input list, with the reference in shards of 2
    fps = compute_fingerprints(["CCO", "CCN", "c1ccccc1", "[Na+]"])
    fps = np.insert(fps, 2, 0, axis=0)  # a zero-bit row (the empty SMILES is refused)
    empty = np.zeros((5, fps.shape[1]), dtype=np.uint8)  # zero-bit references
    g = find_neighbors(fps[:2], empty, k=3, min_similarity=0.0, ref_shard_size=2)
    assert g.indices.tolist() == [0, 1, 2] * 2 and g.similarities.tolist() == [0.0] * 6
    assert find_neighbors(fps, empty, k=3, min_similarity=0.01, ref_shard_size=2).nnz == 0
    with pytest.warns(UserWarning, match="k=9 exceeds the 4 possible"):
        g = find_neighbors(fps, k=9, min_similarity=0.0, ref_shard_size=2)
    _same_graph(g, find_neighbors(fps, k=4, min_similarity=0.0))
    for i in range(5):  # every other molecule once, self excluded across shards
        assert sorted(g.row(i)[0].tolist()) == [j for j in range(5) if j != i]
    with pytest.warns(UserWarning, match="k=3 exceeds the 0 possible"):
        g = find_neighbors(fps, fps[:0], k=3, ref_shard_size=2)
    assert g.nnz == 0 and g.n_query == 5
