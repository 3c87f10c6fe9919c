"""Checkers every registered splitter must pass (sklearn's ``check_valid_split`` style).

Each takes a :class:`~cliffkit.split.SplitResult` (or a splitter factory) and fails with an
assertion naming the broken invariant.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator


def check_disjoint_and_cover(res, n: int) -> None:
    """train, val and test are disjoint, hold no duplicates and together cover range(n)."""
    parts = [res.train, res.val, res.test]
    for p in parts:
        assert p.dtype.kind == "i"
        assert np.unique(p).size == p.size, "duplicate indices"
    allidx = np.concatenate(parts)
    assert allidx.size == n, f"{allidx.size} indices for {n} molecules"
    assert np.array_equal(np.sort(allidx), np.arange(n)), "sets overlap or miss rows"


def rdkit_fps(smiles, radius: int = 2, n_bits: int = 2048):
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    return [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles]


def check_supported_cases(res, smiles, *, min_similarity: float | None = None,
                          radius: int = 2, n_bits: int = 2048) -> None:
    """Every cliff and smooth held-out case has a training neighbour >= τ_s (brute-force RDKit).

    Also: unsupported cases really have none, partners are training molecules, the recorded
    partner similarity and max similarity equal RDKit's Tanimoto.
    """
    tau = res.params["min_similarity"] if min_similarity is None else min_similarity
    fps = rdkit_fps(smiles, radius, n_bits)
    train_fps = [fps[i] for i in res.train]
    in_train = np.zeros(len(smiles), dtype=bool)
    in_train[res.train] = True
    for name, lab in res.labels.items():
        for i in np.concatenate([res.val, res.test]):
            sims = np.asarray(DataStructs.BulkTanimotoSimilarity(fps[i], train_fps))
            best = float(sims.max()) if sims.size else 0.0
            st = lab.strata[i]
            assert abs(lab.max_similarity[i] - best) < 1e-9, (name, i, lab.max_similarity[i], best)
            if st in ("cliff", "smooth", "intermediate"):
                assert best >= tau - 1e-12, f"{name}: row {i} is {st} without support ({best:.3f})"
                p = lab.partner[i]
                assert in_train[p], f"{name}: partner {p} of row {i} is not in train"
                psim = DataStructs.TanimotoSimilarity(fps[i], fps[p])
                assert abs(psim - lab.partner_similarity[i]) < 1e-9
                assert psim >= tau - 1e-12
            else:
                assert st == "unsupported", st
                assert best < tau, f"{name}: row {i} is unsupported but has similarity {best:.3f}"
                assert lab.partner[i] == -1


def check_split_api(splitter, X, y=None, res=None) -> None:
    """``split`` yields one (train, test) pair matching ``make_split``; ``get_n_splits`` is 1."""
    pairs = list(splitter.split(X, y))
    assert len(pairs) == splitter.get_n_splits() == 1
    train, test = pairs[0]
    if res is None:
        res = splitter.make_split(X, y) if y is not None else splitter.make_split(X)
    assert np.array_equal(train, res.train) and np.array_equal(test, res.test)
    assert np.intersect1d(train, test).size == 0
    assert repr(splitter).startswith(type(splitter).__name__ + "(")


def check_reproducible(factory, X, y=None, first=None) -> None:
    """Same random_state: byte-identical split JSON; another random_state: another split."""
    a = first
    if a is None:
        a = factory(0).make_split(X, y) if y is not None else factory(0).make_split(X)
    b = factory(0).make_split(X, y) if y is not None else factory(0).make_split(X)
    c = factory(1).make_split(X, y) if y is not None else factory(1).make_split(X)
    assert a.to_json() == b.to_json(), "same seed gave different split files"
    assert not np.array_equal(a.test, c.test), "another seed gave the same test set"
    assert a.to_json() != c.to_json()


def check_splitter(splitter_cls, X, y=None, **params) -> None:
    """Run every checker on one splitter class."""
    s = splitter_cls(**{**params, "random_state": 0})
    res = s.make_split(X, y) if y is not None else s.make_split(X)
    smiles = list(X.smiles) if hasattr(X, "smiles") else list(X)
    check_disjoint_and_cover(res, len(smiles))
    check_supported_cases(res, smiles)
    check_split_api(s, X, y, res=res)
    check_reproducible(lambda seed: splitter_cls(**{**params, "random_state": seed}), X, y,
                       first=res)
