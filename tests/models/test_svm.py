"""``svm``: Tanimoto kernel against RDKit, SVR against sklearn's own kernel path, weights,
C selection, adaptive refits, save/load."""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.errors import InvalidParameterError
from cliffkit.models import Backbone, get_backbone, list_backbones


def test_registered():
    assert "svm" in list_backbones()
    assert get_backbone("svm").name == "svm"


def test_tanimoto_kernel_matches_rdkit(lipo_small):
    from rdkit import DataStructs
    from rdkit.Chem import MolFromSmiles, rdFingerprintGenerator

    from cliffkit.models import ecfp_features, tanimoto_kernel

    smiles = list(lipo_small[0].smiles[:40])
    bits = ecfp_features(smiles, radius=2, n_bits=1024)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(MolFromSmiles(s)) for s in smiles]
    want = np.array([DataStructs.BulkTanimotoSimilarity(f, fps) for f in fps])
    got = tanimoto_kernel(bits)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tanimoto_kernel(bits[:5], bits), want[:5], atol=1e-12)


def test_tanimoto_kernel_empty_and_shape_errors():
    from cliffkit.models import tanimoto_kernel

    k = tanimoto_kernel(np.array([[0, 0, 0], [1, 0, 1]]))
    assert k[0, 0] == 0.0 and k[1, 1] == 1.0 and k[0, 1] == 0.0
    with pytest.raises(InvalidParameterError, match="same number of bits"):
        tanimoto_kernel(np.zeros((2, 3)), np.zeros((2, 4)))


def test_predictions_equal_sklearn_with_callable_kernel(lipo_small):
    """Our precomputed-kernel SVR equals sklearn's SVR with the kernel as a callable."""
    from sklearn.svm import SVR

    from cliffkit.models import ecfp_features

    train, val, test = lipo_small
    model = get_backbone("svm", C=3.0).fit(train, val)
    X_tr = ecfp_features(train.smiles, n_bits=1024).astype(float)
    X_te = ecfp_features(test.smiles, n_bits=1024).astype(float)

    def jaccard(a, b):
        inter = a @ b.T
        return inter / (a.sum(1)[:, None] + b.sum(1)[None, :] - inter)

    ref = SVR(kernel=jaccard, C=3.0, epsilon=0.1).fit(X_tr, train.y[:, 0])
    np.testing.assert_allclose(model.predict(test), ref.predict(X_te), atol=1e-6)


def test_c_chosen_on_validation(lipo_small):
    train, val, _ = lipo_small
    model = get_backbone("svm", C_grid=[0.01, 1.0, 10.0]).fit(train, val)
    scores = {float(k): v for k, v in model.history_[0]["val_rmse_by_C"].items()}
    assert model.C_ == min(scores, key=scores.get)
    assert model.best_val_rmse_ == pytest.approx(min(scores.values()))


def test_sample_weight_changes_fit(lipo_small):
    train, val, test = lipo_small
    plain = get_backbone("svm", C=1.0).fit(train, val).predict(test)
    w = np.ones(len(train))
    w[: len(train) // 2] = 20.0
    weighted = get_backbone("svm", C=1.0).fit(train, val, sample_weight=w).predict(test)
    assert np.abs(plain - weighted).max() > 1e-3


def test_adaptive_refits_use_callback_weights(lipo_small):
    train, val, _ = lipo_small
    seen = []

    def callback(epoch, val_pred):
        seen.append((epoch, val_pred.shape))
        return {"sample_weight": np.full(len(train), 1.0 + epoch), "lam": 0.1 * epoch}

    model = get_backbone("svm", C=1.0, adaptive_rounds=3).fit(train, val, epoch_callback=callback)
    assert seen == [(1, (len(val),)), (2, (len(val),))]
    assert [h.get("lam") for h in model.history_] == [0.1, 0.2, None]


def test_rejects_pair_term(lipo_small):
    from cliffkit.loss import CliffLoss

    train, val, _ = lipo_small
    with pytest.raises(InvalidParameterError, match="pairwise"):
        get_backbone("svm").fit(train, val, loss=CliffLoss(beta=0.5))


def test_save_load_round_trip(lipo_small, tmp_path):
    train, val, test = lipo_small
    model = get_backbone("svm").fit(train, val)
    model.save(tmp_path / "m")
    again = Backbone.load(tmp_path / "m")
    np.testing.assert_allclose(again.predict(test), model.predict(test), atol=1e-12)
    assert again.C_ == model.C_


def test_invalid_params(lipo_small):
    train, val, _ = lipo_small
    with pytest.raises(InvalidParameterError, match="C_grid"):
        get_backbone("svm", C_grid=[]).fit(train, val)
    with pytest.raises(InvalidParameterError, match="'C' parameter"):
        get_backbone("svm", C=-1.0).fit(train, val)


def test_weights_that_cannot_act_are_reported(lipo_small):
    """Fresh-user trial: 'cliffkit train --backbone svm --loss cliff' wrote predictions
    identical, byte for byte, to the plain run (C = 30 fits every training label within
    epsilon, so no dual coefficient meets its weighted bound) and said nothing."""
    from cliffkit.errors import CliffkitWarning

    train, val, test = lipo_small
    w = np.ones(len(train))
    w[:40] = 1.5
    plain = get_backbone("svm", C=30.0).fit(train, val)
    with pytest.warns(CliffkitWarning, match="sample weights did not change this fit"):
        weighted = get_backbone("svm", C=30.0).fit(train, val, sample_weight=w)
    np.testing.assert_array_equal(plain.predict(test), weighted.predict(test))
    assert weighted.weights_active_ is False
    import warnings

    with warnings.catch_warnings():  # at C = 1 the weights act: no warning
        warnings.simplefilter("error", CliffkitWarning)
        active = get_backbone("svm", C=1.0).fit(train, val, sample_weight=w)
    assert active.weights_active_ is True
    assert np.abs(active.predict(test) - get_backbone("svm", C=1.0).fit(train, val)
                  .predict(test)).max() > 1e-3


def test_zero_weights_equal_dropping_the_rows(lipo_small):
    """Review h37 F1: sklearn's precomputed-kernel SVR drops zero-weight rows but then
    points support_ at the wrong rows (sklearn #5150, #25380): predictions were off by up
    to 3.6 log units. Weight 0 must give the model fitted without those molecules."""
    train, val, test = lipo_small
    n = len(train)
    w = np.ones(n)
    w[: n // 2] = 0.0
    zero = get_backbone("svm", C=1.0).fit(train, val, sample_weight=w)
    dropped = get_backbone("svm", C=1.0).fit(train.subset(np.arange(n // 2, n)), val)
    np.testing.assert_allclose(zero.predict(test), dropped.predict(test), atol=1e-8)
    assert zero.weights_active_ is True
