"""Property tests of the split invariants (hypothesis), on generated and real molecules.

- train, val and test are disjoint and cover every molecule;
- every cliff and smooth held-out case has a training neighbour >= τ_s (brute-force RDKit);
- CliffLoss train severities do not change when validation or test labels change;
- the same seed gives a byte-identical split file, another seed another split.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from cliffkit.errors import CliffkitWarning
from cliffkit.split import CliffSplit, RandomSplit
from cliffkit.split._label import label_targets

from .checks import check_disjoint_and_cover, check_supported_cases

_GROUPS = ["O", "N", "S", "C(=O)", "C(=O)O", "c1ccc(cc1)", "C(F)(F)", "C(Cl)", "C(C#N)"]


_POOL = sorted({Chem.MolToSmiles(Chem.MolFromSmiles("C" * a + x + "C" * b))
                for a in range(1, 7) for b in range(0, 6) for x in _GROUPS})


@st.composite
def generated_molecules(draw):
    """Homologous-series molecules ``C{a} X C{b}`` (canonical, unique) with random labels."""
    idx = draw(st.lists(st.integers(0, len(_POOL) - 1), unique=True, min_size=25, max_size=60))
    smiles = [_POOL[i] for i in sorted(idx)]
    y = draw(st.lists(st.floats(-3, 3, allow_nan=False), min_size=len(smiles), max_size=len(smiles)))
    return smiles, np.array(y)


def _quiet_split(splitter, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        return splitter.make_split(X, y) if y is not None else splitter.make_split(X)


@settings(max_examples=8)
@given(generated_molecules(), st.integers(0, 1000), st.floats(0.2, 0.6))
def test_generated_cover_and_support(data, seed, share):
    smiles, y = data
    res = _quiet_split(CliffSplit(test_size=0.2, val_size=0.1, cliff_share=share,
                                  random_state=seed), smiles, y)
    check_disjoint_and_cover(res, len(smiles))
    check_supported_cases(res, smiles)


@settings(max_examples=4)
@given(st.integers(0, 10_000))
def test_real_cover_and_support(lipo300, seed):
    res = _quiet_split(CliffSplit(test_size=0.15, val_size=0.1, random_state=seed), lipo300)
    check_disjoint_and_cover(res, len(lipo300))
    check_supported_cases(res, list(lipo300.smiles))


@pytest.fixture(scope="module")
def fixed_split(lipo300):
    return _quiet_split(RandomSplit(test_size=0.15, val_size=0.1, random_state=3), lipo300)


@settings(max_examples=6)
@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=20), st.integers(0, 99))
def test_train_severity_ignores_heldout_labels(lipo300, fixed_split, noise, pick):
    from cliffkit.loss import cliff_severity
    from cliffkit.similarity import compute_fingerprints

    res = fixed_split
    held = np.concatenate([res.val, res.test])
    y = lipo300.y[:, 0].copy()
    y2 = y.copy()
    rows = np.random.default_rng(pick).choice(held, size=len(noise), replace=False)
    y2[rows] += np.asarray(noise)
    smiles = list(lipo300.smiles)
    a = cliff_severity(smiles, y, res.train)
    b = cliff_severity(smiles, y2, res.train)
    np.testing.assert_array_equal(np.asarray(getattr(a, "severity", a)),
                                  np.asarray(getattr(b, "severity", b)))
    # held-out labelling: thresholds and scale come from train only
    fps = compute_fingerprints(smiles)
    la, _ = label_targets(fps, y[:, None], ["t"], res.train, [res.val, res.test], k=17,
                          min_similarity=0.35)
    lb, _ = label_targets(fps, y2[:, None], ["t"], res.train, [res.val, res.test], k=17,
                          min_similarity=0.35)
    assert la["t"].scale == lb["t"].scale
    assert la["t"].cliff_threshold == lb["t"].cliff_threshold
    assert la["t"].smooth_threshold == lb["t"].smooth_threshold
    untouched = np.setdiff1d(held, rows)
    assert (la["t"].strata[untouched] == lb["t"].strata[untouched]).all()


@settings(max_examples=3)
@given(st.integers(0, 10_000), st.integers(1, 10_000))
def test_seed_determinism(lipo300, seed, offset):
    a = _quiet_split(CliffSplit(test_size=0.15, random_state=seed), lipo300).to_json()
    b = _quiet_split(CliffSplit(test_size=0.15, random_state=seed), lipo300).to_json()
    c = _quiet_split(CliffSplit(test_size=0.15, random_state=seed + offset), lipo300).to_json()
    assert a == b
    assert a != c
