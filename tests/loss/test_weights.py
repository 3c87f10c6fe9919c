"""Weights: hand-worked CliffLoss weights, random permutation, LDS, pairs from severity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import convolve1d

from cliffkit.errors import InvalidParameterError, ShapeMismatchError
from cliffkit.loss import (
    cliff_pairs_from_severity,
    cliff_weights,
    lds_weights,
    plain_weights,
    random_weights,
    to_mean_one,
)


class _Sev:
    """A minimal Severity stand-in (the attributes the loss reads)."""

    def __init__(self, severity, supported, partner):
        self.severity = np.asarray(severity, float)
        self.supported = np.asarray(supported, bool)
        self.partner = np.asarray(partner, np.int64)


@pytest.mark.parametrize(
    ("lam", "expected"),
    [(0.0, [1, 1, 1, 1, 1]), (0.1, [1.0, 1.02, 1.05, 1.1, 1.3]), (2.0, [1, 1.4, 2, 3, 7])],
)
def test_cliff_weights_hand_worked(lam, expected):
    c = [0.0, 0.2, 0.5, 1.0, 3.0]
    np.testing.assert_allclose(cliff_weights(c, lam=lam), expected, rtol=0, atol=1e-12)


def test_cliff_weights_accepts_severity_object_and_default_lambda():
    sev = _Sev([0.0, 1.0, 2.5], [False, True, True], [-1, 2, 1])
    np.testing.assert_allclose(cliff_weights(sev), [1.0, 1.1, 1.25])


@pytest.mark.parametrize("lam", [-0.1, float("nan"), "0.1"])
def test_cliff_weights_rejects_bad_lambda(lam):
    with pytest.raises(InvalidParameterError, match="'lam' parameter of cliff_weights"):
        cliff_weights([0.0, 1.0], lam=lam)


def test_cliff_weights_rejects_negative_severity():
    with pytest.raises(InvalidParameterError, match="severities must be finite and >= 0"):
        cliff_weights([0.0, -1.0])
    with pytest.raises(ShapeMismatchError, match="1-D"):
        cliff_weights(np.zeros((2, 2)))


def test_random_weights_same_multiset_and_seeded():
    w = cliff_weights(np.linspace(0, 3, 40), lam=0.5)
    r1 = random_weights(w, random_state=3)
    r2 = random_weights(w, random_state=3)
    r3 = random_weights(w, random_state=4)
    np.testing.assert_array_equal(np.sort(r1), np.sort(w))
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)
    assert not np.array_equal(r1, w)


def test_plain_and_mean_one():
    np.testing.assert_array_equal(plain_weights(3), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(to_mean_one([1.0, 3.0]), [0.5, 1.5])


def _lds_reference(y, n_bins, ks, sigma):
    """Independent LDS: histogram -> sqrt -> scipy gaussian window convolution -> 1/density."""
    counts, edges = np.histogram(y, bins=n_bins)
    b = np.clip(np.digitize(y, edges[1:-1]), 0, n_bins - 1)
    half = ks // 2
    x = np.arange(-half, half + 1)
    win = np.exp(-(x**2) / (2 * sigma**2))
    win = win / win.max()
    eff = convolve1d(np.sqrt(counts.astype(float)), win, mode="constant")
    w = 1 / eff[b]
    return w * len(w) / w.sum()


def test_lds_matches_independent_reference_and_upweights_rare_labels():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(0, 1, 500), rng.normal(6, 0.3, 10)])
    w = lds_weights(y, n_bins=30, ks=5, sigma=2.0)
    np.testing.assert_allclose(w, _lds_reference(y, 30, 5, 2.0), rtol=1e-10)
    assert w.mean() == pytest.approx(1.0)
    # a kernel window wider than the histogram (regression: np.convolve 'same' grows the output)
    np.testing.assert_allclose(lds_weights(y, n_bins=3, ks=7), _lds_reference(y, 3, 7, 2.0))
    # the 10 rare labels near 6 get larger weights than the bulk near 0
    assert w[500:].min() > np.median(w[:500]) * 2
    inv = lds_weights(y, n_bins=30, reweight="inverse")
    assert inv[500:].mean() / inv[:500].mean() > w[500:].mean() / w[:500].mean()


def test_lds_constant_labels_and_errors():
    np.testing.assert_array_equal(lds_weights([2.0, 2.0, 2.0]), [1, 1, 1])
    with pytest.raises(InvalidParameterError, match="'ks' parameter of lds_weights must be odd"):
        lds_weights([0.0, 1.0], ks=4)
    with pytest.raises(InvalidParameterError, match="'kernel' parameter of lds_weights"):
        lds_weights([0.0, 1.0], kernel="box")
    with pytest.raises(InvalidParameterError, match="finite"):
        lds_weights([0.0, np.nan])


def test_pairs_from_severity_hand_worked():
    # supported severities: 0.1, 0.2, 0.3, 0.9, 1.5 -> P80 = 1.02; mol 3 is unsupported
    sev = _Sev([0.1, 0.2, 0.3, 5.0, 0.9, 1.5], [1, 1, 1, 0, 1, 1], [1, 0, 0, -1, 0, 2])
    pairs = cliff_pairs_from_severity(sev, quantile=0.8)
    np.testing.assert_array_equal(pairs, [[2, 5]])
    pairs = cliff_pairs_from_severity(sev, quantile=0.5)  # P50 = 0.3 -> mols 4, 5
    np.testing.assert_array_equal(pairs, [[0, 4], [2, 5]])
    none = _Sev([0.0, 0.0], [0, 0], [-1, -1])
    assert cliff_pairs_from_severity(none).shape == (0, 2)


def test_cliff_severity_matches_brute_force_on_five_molecules():
    """Train-only severity (k=4, m=2, tau=0.35) recomputed from RDKit Tanimoto by brute force."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    from cliffkit.loss import cliff_severity

    smiles = ["CCCCCCO", "CCCCCCCO", "CCCCCCN", "CCCCCCCN", "c1ccccc1O", "CCCCCCCCO"]
    y = np.array([1.0, 1.5, 3.0, 0.5, 9.0, 2.0])
    train = np.array([0, 1, 2, 3, 4])  # row 5 is "test": its label must not matter
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fps = [gen.GetFingerprint(Chem.MolFromSmiles(s)) for s in smiles[:5]]
    sim = np.array([DataStructs.BulkTanimotoSimilarity(f, fps) for f in fps])
    np.fill_diagonal(sim, -1)
    keep = sim >= 0.35  # k = max(4, min(24, floor(sqrt(5)))) = 4 covers every other molecule
    dy = np.abs(y[:5][None, :] - y[:5][:, None])
    scale = np.percentile(dy[keep], 95)
    strength = np.where(keep, sim * dy, -np.inf)
    top2 = -np.sort(-strength, axis=1)[:, :2]  # m = max(1, isqrt(4)) = 2
    expected = np.array([
        np.mean(r[np.isfinite(r)]) / scale if np.isfinite(r).any() else 0.0 for r in top2
    ])
    for y_test in (2.0, np.nan, -50.0):
        y_mod = y.copy()
        y_mod[5] = y_test
        sev = cliff_severity(smiles, y_mod, train)
        np.testing.assert_allclose(sev.severity, expected, rtol=1e-12)
        np.testing.assert_array_equal(sev.supported, keep.any(axis=1))
        assert sev.scale == pytest.approx(scale)
    assert not sev.supported[4] and sev.severity[4] == 0.0  # phenol has no close analogue
    np.testing.assert_allclose(cliff_weights(sev, lam=0.1), 1 + 0.1 * expected)


def test_cliff_severity_merges_repeated_molecules_with_a_warning():
    """A replicate row was the molecule's own cliff partner at similarity 1.0 (severity
    0 -> 1.22, above every other); now repeats are merged as load_dataset does: labels
    averaged, severity per molecule, every row its molecule's, with a DataWarning."""
    from cliffkit.errors import DataWarning
    from cliffkit.loss import cliff_severity

    smiles = ["CCCCCCO", "CCCCCCCO", "CCCCCCN", "CCCCCCCN", "CCCCCCCCO"]
    y = np.array([1.0, 1.5, 3.0, 0.5, 2.0])
    # row 5 repeats molecule 0 (another spelling), 2 units away
    smiles2, y2 = [*smiles, "OCCCCCC"], np.r_[y, 3.0]
    with pytest.warns(DataWarning, match="6 rows but 5 distinct molecules.*positions 0\\+5"), \
            pytest.warns(DataWarning, match="conflicting y values"):
        sev, pairs = cliff_severity(smiles2, y2, return_pairs=True)
    merged = y.copy()
    merged[0] = 2.0  # the mean of 1.0 and 3.0
    ref, ref_pairs = cliff_severity(smiles, merged, return_pairs=True)
    assert len(sev) == 6 and sev.severity[5] == sev.severity[0]
    np.testing.assert_allclose(sev.severity[:5], ref.severity, rtol=1e-12)
    assert 5 not in sev.partner and (sev.partner[:5] == ref.partner).all()
    assert sev.partner[0] not in (0, 5) and sev.partner[5] == sev.partner[0]  # not itself
    np.testing.assert_array_equal(pairs, ref_pairs)


@pytest.mark.parametrize(("train_idx", "match"), [
    ([0, 1, 2, -1], r"train_idx \[-1\] out of range for 5 molecules"),
    ([0, 1, 2, 999], r"train_idx \[999\] out of range"),
    ([0.9, 1.7, 2, 3], "must hold integer row positions; got float64"),
    ([0, 1, 1, 2], r"repeats rows \[1\]"),
    ([True, False, True, True, True], r"booleans \(a mask\).*np.flatnonzero"),
])
def test_cliff_severity_checks_train_idx(train_idx, match):
    """-1 wrapped to the last row, 0.9 was truncated to 0, 999 raised IndexError."""
    from cliffkit.loss import cliff_severity

    smiles = ["CCCCCCO", "CCCCCCCO", "CCCCCCN", "CCCCCCCN", "CCCCCCCCO"]
    with pytest.raises(InvalidParameterError, match=match):
        cliff_severity(smiles, np.arange(5.0), np.array(train_idx))


@pytest.mark.parametrize("lam", [float("inf"), 1e308, float("nan"), -1.0])
def test_lam_must_be_finite_and_bounded_in_the_library(lam):
    """λ = inf gave infinite weights, NaN after the mean-1 rescaling; the CLI refused it
    (--lam) but cliff_weights and make_loss took it (h33's note)."""
    from cliffkit.errors import InvalidParameterError
    from cliffkit.loss import make_loss
    from cliffkit.loss._weights import MAX_LAM

    sev = np.array([0.0, 0.5, 2.0])
    with pytest.raises(InvalidParameterError, match=r"'lam' parameter of cliff_weights"):
        cliff_weights(sev, lam=lam)
    with pytest.raises(InvalidParameterError, match=r"'lam' parameter of make_loss"):
        make_loss("cliff", np.array([1.0, 2.0, 3.0]), severity=sev, lam=lam)
    assert np.isfinite(cliff_weights(sev, lam=MAX_LAM)).all()


def test_cliff_severity_merges_repeated_smiles_and_a_dataset_cannot_hold_them():
    """Review h42 F8: a Dataset was trusted to hold distinct SMILES (load_dataset's are),
    but one built by hand from replicate measurements made row 0's replicate its cliff
    partner at similarity 1.0. Now such a Dataset is refused when it is built, and the
    SMILES path merges the replicates (severity per molecule, never the replicate)."""
    from cliffkit.data import Dataset
    from cliffkit.errors import DataWarning, InvalidDataError
    from cliffkit.loss import cliff_severity

    smi = ["OCCc1ccccc1", "OCCc1ccccc1", "OCCc1ccc(C)cc1", "OCCc1ccc(Cl)cc1",
           "OCCc1ccc(F)cc1", "NCCc1ccccc1"]
    y = np.array([1.0, 3.0, 1.1, 1.2, 1.3, 1.0])
    with pytest.raises(InvalidDataError, match=r"'OCCc1ccccc1' at rows 0, 1 .*load_dataset"):
        Dataset(name="replicates", smiles=np.array(smi, dtype=object), y=y,
                target_names=["t"], units=["log"])
    kw = {"k": 4, "min_similarity": 0.3, "return_pairs": True}
    with pytest.warns(DataWarning, match="6 rows but 5 distinct"), \
            pytest.warns(DataWarning, match="conflicting y values"):
        sev, pairs = cliff_severity(smi, y, **kw)
    assert sev.partner[0] not in (0, 1) and sev.partner_similarity[0] < 1.0
    assert sev.partner[0] == sev.partner[1]
    assert [0, 1] not in pairs.tolist()
    # the merged molecules as a Dataset (mean label) give the same severities
    ds = Dataset(name="merged", smiles=np.array(smi[1:], dtype=object),
                 y=np.concatenate([[2.0], y[2:]]), target_names=["t"], units=["log"])
    ref = cliff_severity(ds, k=4, min_similarity=0.3)
    np.testing.assert_allclose(sev.severity[1:], ref.severity, rtol=1e-12)
