"""The reference predictor on toy graphs and against RDKit on real molecules."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cliffkit.errors import InvalidParameterError, ShapeMismatchError
from cliffkit.evaluate import reference_predictions


def _graph(rows):
    indptr = np.cumsum([0] + [len(r) for r in rows])
    idx = np.array([j for r in rows for j, _ in r], dtype=np.int64)
    sim = np.array([s for r in rows for _, s in r], dtype=np.float64)
    return SimpleNamespace(indptr=indptr, indices=idx, similarities=sim)


Y_TRAIN = np.array([1.0, 2.0, 6.0])
GRAPH = _graph([
    [(2, 0.9), (0, 0.6), (1, 0.3)],   # supported by 2 and 0: (0.9*6 + 0.6*1) / 1.5 = 4.0
    [(1, 0.35)],                       # exactly at tau: 2.0
    [(0, 0.2), (2, 0.1)],              # unsupported: nearest -> (0.2*1 + 0.1*6) / 0.3
    [],                                # no neighbours at all -> train mean 3.0
    [(1, 0.0)],                        # only a zero-similarity row -> train mean
])


def test_hand_worked_nearest_fallback():
    pred = reference_predictions(GRAPH, Y_TRAIN, min_similarity=0.35)
    assert pred == pytest.approx([4.0, 2.0, 0.8 / 0.3, 3.0, 3.0])


def test_train_mean_fallback_and_threshold():
    pred = reference_predictions(GRAPH, Y_TRAIN, min_similarity=0.35, fallback="train_mean")
    assert pred == pytest.approx([4.0, 2.0, 3.0, 3.0, 3.0])
    # a higher tau drops neighbour 0 of row 0 and makes row 1 unsupported
    pred = reference_predictions(GRAPH, Y_TRAIN, min_similarity=0.7, fallback="train_mean")
    assert pred == pytest.approx([6.0, 3.0, 3.0, 3.0, 3.0])


def test_errors():
    with pytest.raises(InvalidParameterError, match="fallback"):
        reference_predictions(GRAPH, Y_TRAIN, fallback="median")
    with pytest.raises(InvalidParameterError, match="min_similarity"):
        reference_predictions(GRAPH, Y_TRAIN, min_similarity=1.5)
    with pytest.raises(ShapeMismatchError, match="y_reference has 2"):
        reference_predictions(GRAPH, Y_TRAIN[:2])


def test_matches_rdkit_brute_force():
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from cliffkit.similarity import compute_fingerprints, find_neighbors

    train = ["CCO", "CCCO", "CCCCO", "c1ccccc1O", "c1ccccc1N", "CC(=O)O", "CCN", "CCCN"]
    test = ["CCCCCO", "c1ccccc1C", "CC(=O)N", "FC(F)(F)Cl"]
    y = np.array([0.1, 0.5, 0.9, 2.0, 1.5, -0.5, 0.0, 0.4])
    g = find_neighbors(compute_fingerprints(test), compute_fingerprints(train), k=4,
                       min_similarity=0.0)
    pred = reference_predictions(g, y, min_similarity=0.35)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    tfp = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in train]
    for i, s in enumerate(test):
        sims = np.array(DataStructs.BulkTanimotoSimilarity(
            gen.GetFingerprint(Chem.MolFromSmiles(s)), tfp))
        top = np.argsort(-sims, kind="stable")[:4]
        keep = top[sims[top] >= 0.35]
        if keep.size:
            expect = np.sum(sims[keep] * y[keep]) / np.sum(sims[keep])
        elif sims[top].sum() > 0:
            expect = np.sum(sims[top] * y[top]) / np.sum(sims[top])
        else:
            expect = y.mean()
        assert pred[i] == pytest.approx(expect), s
