"""Model wrappers (issue 18): ensemble, blend, anchor-delta.

Small real data (a Lipophilicity slice), small budgets. Checks shapes, determinism,
save/load, that the blend weight is chosen from validation data only, and clear errors.
"""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.errors import InvalidParameterError, UnknownNameError
from cliffkit.models import Backbone, get_backbone, list_wrappers, wrap
from cliffkit.models._wrappers import choose_blend_weight

LGBM = {"n_estimators": 30, "n_jobs": 1, "early_stopping_rounds": 10}
ANCHOR = {"k": 5, "n_random": 1, "n_estimators": 40, "n_jobs": 1, "early_stopping_rounds": 10}


def _lgbm(seed=0):
    return get_backbone("lgbm", random_state=seed, **LGBM)


def test_registry_lists_the_builtins():
    assert {"ensemble", "blend", "anchor-delta"} <= set(list_wrappers())
    with pytest.raises(UnknownNameError, match="Did you mean 'ensemble'"):
        wrap("ensembel", _lgbm())


@pytest.mark.parametrize("name", list_wrappers())
def test_wrapper_parameter_contract(name):
    from cliffkit.models import WRAPPERS

    cls = WRAPPERS.get(name)
    assert cls.wrapper_name == name
    assert set(cls._parameter_constraints) == set(cls._param_names())
    model = wrap(name, _lgbm())
    clone = cls(**model.get_params())
    assert repr(clone) == repr(model)
    assert model.name == "lgbm"  # a wrapped lgbm is an lgbm run with that loss
    with pytest.raises(InvalidParameterError, match="no parameter 'no_such'"):
        wrap(name, _lgbm(), no_such=1)


@pytest.mark.parametrize("name, bad", [("ensemble", {"n_members": 0}),
                                       ("blend", {"weight": 1.5}),
                                       ("blend", {"weight_grid": []}),
                                       ("anchor-delta", {"k": 0}),
                                       ("anchor-delta", {"min_similarity": 2.0})])
def test_bad_wrapper_params_raise_before_training(name, bad):
    with pytest.raises(InvalidParameterError, match=next(iter(bad))):
        wrap(name, _lgbm(), **bad)


def test_choose_blend_weight():
    a, s = choose_blend_weight([1.0, 2.0], [3.0, 4.0], [2.0, 3.0], grid=[0.0, 0.5, 1.0])
    assert a == 0.5 and s == {0.0: 1.0, 0.5: 0.0, 1.0: 1.0}
    # a tie goes to the base model (largest weight)
    assert choose_blend_weight([1.0], [1.0], [0.0], grid=[0.0, 1.0])[0] == 1.0
    with pytest.raises(InvalidParameterError, match="one non-zero length"):
        choose_blend_weight([1.0], [1.0, 2.0], [1.0])
    with pytest.raises(InvalidParameterError, match="grid"):
        choose_blend_weight([1.0], [1.0], [1.0], grid=[2.0])


def test_ensemble_is_the_mean_of_seeded_members(lipo_small, tmp_path):
    tr, va, te = lipo_small
    ens = wrap("ensemble", _lgbm(3), n_members=3).fit(tr, va)
    assert [m.random_state for m in ens.members_] == [3, 4, 5]
    preds = np.stack([m.predict(te) for m in ens.members_])
    assert not np.allclose(preds[0], preds[1])  # members differ by their seed
    p = ens.predict(te)
    assert p.shape == (len(te),) and p.dtype == np.float64
    np.testing.assert_allclose(p, preds.mean(axis=0))
    assert [h["member"] for h in ens.history_] == [0, 1, 2]
    again = wrap("ensemble", _lgbm(3), n_members=3).fit(tr, va)
    np.testing.assert_array_equal(again.predict(te), p)
    # one member is the plain backbone, bit for bit
    one = wrap("ensemble", _lgbm(3), n_members=1).fit(tr, va)
    np.testing.assert_array_equal(one.predict(te), _lgbm(3).fit(tr, va).predict(te))
    ens.save(tmp_path / "ens")
    loaded = Backbone.load(tmp_path / "ens")
    assert type(loaded) is type(ens) and loaded.n_members == 3
    np.testing.assert_array_equal(loaded.predict(te), p)


def _with_labels(ds, y):
    from dataclasses import replace

    return replace(ds, y=np.asarray(y, dtype=np.float64).reshape(-1, 1))


def test_blend_weight_is_chosen_on_validation_only(lipo_small, tmp_path):
    tr, va, te = lipo_small
    blend = wrap("blend", _lgbm(), other="svm", other_params={"C": 1.0}).fit(tr, va)
    w = blend.weight_
    assert 0.0 <= w <= 1.0 and set(blend.val_mae_by_weight_) == {str(g) for g in blend.weight_grid}
    y_va = va.target(None)
    pb, po = blend.base_.predict(va), blend.other_.predict(va)
    maes = [np.mean(np.abs(g * pb + (1 - g) * po - y_va)) for g in blend.weight_grid]
    assert np.mean(np.abs(w * pb + (1 - w) * po - y_va)) == pytest.approx(min(maes))
    p = blend.predict(te)
    np.testing.assert_allclose(p, w * blend.base_.predict(te) + (1 - w) * blend.other_.predict(te))
    # other validation labels (the test labels are never passed) change the weight
    rng = np.random.default_rng(0)
    shuffled = wrap("blend", _lgbm(), other="svm", other_params={"C": 1.0}).fit(
        tr, _with_labels(va, rng.permutation(y_va) + 3.0))
    assert shuffled.val_mae_by_weight_ != blend.val_mae_by_weight_
    blend.save(tmp_path / "blend")
    np.testing.assert_array_equal(Backbone.load(tmp_path / "blend").predict(te), p)


def test_blend_fixed_weight(lipo_small):
    tr, va, te = lipo_small
    b = wrap("blend", _lgbm(), other="svm", other_params={"C": 1.0}, weight=1.0).fit(tr, va)
    np.testing.assert_allclose(b.predict(te), b.base_.predict(te))


def test_anchor_delta(lipo_small, tmp_path):
    tr, va, te = lipo_small
    model = wrap("anchor-delta", _lgbm(), **ANCHOR).fit(tr, va)
    p = model.predict(te)
    assert p.shape == (len(te),) and np.all(np.isfinite(p))
    h = model.history_[0]
    assert h["n_pairs"] == model.n_pairs_ > 0 and 0.0 <= model.weight_ <= 1.0
    assert h["val_mae"] <= min(h["val_mae_base"], h["val_mae_delta"]) + 1e-12
    again = wrap("anchor-delta", _lgbm(), **ANCHOR).fit(tr, va)
    np.testing.assert_array_equal(again.predict(te), p)
    # predictions use the training labels (anchors): stored with the model
    np.testing.assert_array_equal(model.anchor_y_, tr.target(None))
    model.save(tmp_path / "ad")
    loaded = Backbone.load(tmp_path / "ad")
    np.testing.assert_allclose(loaded.predict(te), p, rtol=0, atol=1e-12)
    # without the blend the base is not trained
    alone = wrap("anchor-delta", _lgbm(), blend=False, **ANCHOR).fit(tr, va)
    assert alone.base_ is None and alone.weight_ == 0.0
    np.testing.assert_allclose(alone.predict(te), alone._delta_predict(list(te.smiles)))


def test_anchor_delta_pairs_both_orders_never_self(lipo_small):
    tr, _, _ = lipo_small
    model = wrap("anchor-delta", _lgbm(), k=4, n_random=2)
    fps = model._packed(list(tr.smiles))
    a, b, sim = model._training_pairs(fps, np.random.default_rng(0))
    assert np.all(a != b)
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    assert all((j, i) in pairs for i, j in pairs) and len(pairs) == a.size
    assert np.all((sim >= 0) & (sim <= 1))
    from cliffkit.models import tanimoto_kernel

    k = tanimoto_kernel(np.unpackbits(fps[a[:50]], axis=1), np.unpackbits(fps[b[:50]], axis=1))
    np.testing.assert_allclose(sim[:50], np.diag(k))
