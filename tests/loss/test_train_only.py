"""The train-only property, on a slice of Lipophilicity.

Shuffling or NaN-ing the *test* labels leaves the severity, the pairs, every loss's weights
and a trained model bit-identical; changing the *validation* labels changes only the
adaptive variant.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cliffkit.loss import cliff_severity, list_losses, make_loss

N_TRAIN, N_VAL, N_TEST = 160, 40, 40


@pytest.fixture(scope="module")
def lipo(data_dir):
    from cliffkit.data import load_dataset

    ds = load_dataset("lipophilicity")
    rows = np.arange(N_TRAIN + N_VAL + N_TEST)
    ds = ds.subset(rows)
    train = rows[:N_TRAIN]
    val = rows[N_TRAIN:N_TRAIN + N_VAL]
    test = rows[N_TRAIN + N_VAL:]
    return ds, train, val, test


def _with_labels(ds, y):
    return dataclasses.replace(ds, y=np.asarray(y, dtype=np.float64)[:, None])


def _pipeline(ds, y, train, val, name, sev_pairs=None):
    sev, pairs = sev_pairs or cliff_severity(ds, y, train, return_pairs=True)
    cm = np.zeros(len(val), bool)
    cm[::3] = True
    spec = make_loss(name, y[train], severity=sev, pairs=pairs, y_val=y[val],
                     val_cliff_mask=cm, val_smooth_mask=~cm, random_state=0)
    return sev, pairs, spec


def _test_label_variants(y, test):
    rng = np.random.default_rng(0)
    shuffled = y.copy()
    shuffled[test] = rng.permutation(y[test])[::-1]
    nan = y.copy()
    nan[test] = np.nan
    return {"shuffled": shuffled, "nan": nan}


def test_weights_and_pairs_ignore_test_labels(lipo):
    ds, train, val, test = lipo
    y = ds.target()
    sev0, pairs0 = cliff_severity(ds, y, train, return_pairs=True)
    assert len(pairs0) > 0 and sev0.supported.sum() > 10  # the slice has real cliffs
    for label, y_mod in _test_label_variants(y, test).items():
        sp = cliff_severity(ds, y_mod, train, return_pairs=True)
        for name in list_losses():
            sev, pairs, spec = _pipeline(ds, y_mod, train, val, name, sp)
            _, _, ref = _pipeline(ds, y, train, val, name, (sev0, pairs0))
            assert np.array_equal(sev.severity, sev0.severity), (label, name)
            assert np.array_equal(sev.partner, sev0.partner), (label, name)
            assert np.array_equal(pairs, pairs0), (label, name)
            assert np.array_equal(spec.sample_weight(), ref.sample_weight()), (label, name)


def test_validation_labels_reach_only_the_adaptive_variant(lipo):
    ds, train, val, test = lipo
    y = ds.target()
    y_val2 = y.copy()
    y_val2[val] = y[val] + np.linspace(-2, 2, len(val))
    pred = y[val] + 0.1  # the same validation predictions for both
    sp = cliff_severity(ds, y, train, return_pairs=True)
    for name in list_losses():
        _, _, a = _pipeline(ds, y, train, val, name, sp)
        _, _, b = _pipeline(ds, y_val2, train, val, name, sp)
        for epoch in range(3):
            a.epoch_callback(epoch, pred)
            b.epoch_callback(epoch, pred)
        same = np.array_equal(a.sample_weight(), b.sample_weight())
        assert same == (name != "cliff-adaptive"), name
    assert a.history != b.history or name != "cliff-adaptive"


def test_trained_mlp_is_bit_identical_without_test_labels(lipo):
    """Weights + pair term + pair sampler, through the real backbone and trainer."""
    pytest.importorskip("torch")
    from cliffkit.models import get_backbone

    ds, train, val, test = lipo
    y = ds.target()
    preds = []
    states = []
    for y_mod in [y, *_test_label_variants(y, test).values()]:
        dsm = _with_labels(ds, y_mod)
        _, _, spec = _pipeline(dsm, y_mod, train, val, "cliff-pair")
        model = get_backbone("mlp", hidden_channels=16, num_layers=1, n_bits=256, epochs=3,
                             batch_size=32, random_state=0, show_progress=False)
        model.fit(dsm.subset(train), dsm.subset(val), **spec.fit_kwargs(model))
        preds.append(model.predict(dsm.subset(test)))
        states.append({k: v.clone() for k, v in model.module_.state_dict().items()})
    for p, s in zip(preds[1:], states[1:], strict=True):
        assert np.array_equal(p, preds[0])
        assert all(np.array_equal(s[k].numpy(), states[0][k].numpy()) for k in s)


def test_make_loss_for_split_uses_train_severity_and_val_strata(lipo):
    from cliffkit.loss import cliff_weights, make_loss_for_split
    from cliffkit.split import RandomSplit

    ds, *_ = lipo
    split = RandomSplit(random_state=0).make_split(ds)
    y = ds.target()
    sev, pairs = cliff_severity(ds, y, split.train, return_pairs=True)
    cliff = make_loss_for_split("cliff", ds, split, lam=0.5)
    np.testing.assert_array_equal(cliff.sample_weight(), cliff_weights(sev, 0.5))
    pair = make_loss_for_split("cliff-pair", ds, split)
    np.testing.assert_array_equal(pair.pairs, pairs)
    strata = split.strata(ds.target_names[0], subset="val")
    assert (strata == "cliff").any() and (strata == "smooth").any()
    ad = make_loss_for_split("cliff-adaptive", ds, split)
    np.testing.assert_array_equal(ad.controller.cliff_mask, strata == "cliff")
    np.testing.assert_array_equal(ad.controller.smooth_mask, strata == "smooth")
    np.testing.assert_array_equal(ad.controller.y_val, y[split.val])
    lds = make_loss_for_split("lds", ds, split)
    assert lds.severity is None and lds.n_train == len(split.train)


def test_lightgbm_adaptive_is_bit_identical_without_test_labels(lipo):
    """Sample weights + adaptive λ per block of rounds, through the real LightGBM backbone."""
    pytest.importorskip("lightgbm")
    from cliffkit.models import get_backbone

    ds, train, val, test = lipo
    y = ds.target()
    preds, lams = [], []
    for y_mod in [y, *_test_label_variants(y, test).values()]:
        dsm = _with_labels(ds, y_mod)
        _, _, spec = _pipeline(dsm, y_mod, train, val, "cliff-adaptive")
        model = get_backbone("lgbm", n_estimators=60, rounds_per_block=20, n_bits=256,
                             num_leaves=7, n_jobs=1, random_state=0)
        model.fit(dsm.subset(train), dsm.subset(val), **spec.fit_kwargs(model))
        preds.append(model.predict(dsm.subset(test)))
        lams.append([h["lam"] for h in spec.history])
    assert len(lams[0]) >= 2  # the controller ran once per block
    for p, lam in zip(preds[1:], lams[1:], strict=True):
        assert np.array_equal(p, preds[0]) and lam == lams[0]
