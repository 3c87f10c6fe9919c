"""The loss registry: every name builds a LossSpec with the right weights, pairs and callback."""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.errors import (
    CliffkitWarning,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownNameError,
)
from cliffkit.loss import cliff_weights, list_losses, make_loss, to_mean_one


class _Sev:
    def __init__(self, severity, supported, partner):
        self.severity = np.asarray(severity, float)
        self.supported = np.asarray(supported, bool)
        self.partner = np.asarray(partner, np.int64)


SEV = _Sev([0.1, 0.2, 0.3, 0.0, 0.9, 1.5], [1, 1, 1, 0, 1, 1], [1, 0, 0, -1, 0, 2])
Y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0])
YV = np.zeros(4)
CM = np.array([1, 1, 0, 0], bool)


def test_names():
    names = list_losses()
    assert names[:6] == ["plain", "cliff", "cliff-pair", "cliff-adaptive", "random-weights", "lds"]
    assert {"lds-pair", "plain-ensemble", "cliff-pair-ensemble", "anchor-delta",
            "tanimoto-stack"} <= set(names)
    assert {"aca", "swa", "cliff-pair-swa"} <= set(names)  # issue 18 (torch-side mitigations)


def test_plain_cliff_random_lds_weights():
    assert make_loss("plain", Y).sample_weight().tolist() == [1.0] * 6
    cliff = make_loss("cliff", Y, severity=SEV, lam=1.0)
    np.testing.assert_allclose(cliff.sample_weight(), [1.1, 1.2, 1.3, 1.0, 1.9, 2.5])
    np.testing.assert_allclose(cliff.sample_weight(mean_one=True).mean(), 1.0)
    assert cliff.epoch_callback(1, [0.0]) is None and not cliff.uses_pairs and cliff.lam == 1.0
    rnd = make_loss("random-weights", Y, severity=SEV, lam=1.0, random_state=1)
    np.testing.assert_allclose(np.sort(rnd.sample_weight()), np.sort(cliff.sample_weight()))
    lds = make_loss("lds", Y, lds_params={"n_bins": 4})
    assert lds.sample_weight()[5] > lds.sample_weight()[0]
    assert repr(cliff) == "LossSpec('cliff', lam=1.0)"


def test_cliff_pair_derives_pairs_and_sampler():
    spec = make_loss("cliff-pair", Y, severity=SEV, pair_quantile=0.5)
    assert spec.beta == 0.5 and spec.uses_pairs
    np.testing.assert_array_equal(spec.pairs, [[0, 4], [2, 5]])
    mod = spec.make_module()
    assert repr(mod) == "CliffLoss(base='l1', beta=0.5)"
    sampler = spec.make_batch_sampler(batch_size=2, random_state=0)
    assert sorted(i for b in sampler for i in b) == list(range(6))
    assert make_loss("cliff", Y, severity=SEV).make_batch_sampler(4) is None
    # explicit pairs override
    spec = make_loss("cliff-pair", Y, severity=SEV.severity, pairs=[[1, 3]], beta=2.0)
    np.testing.assert_array_equal(spec.pairs, [[1, 3]])


def test_no_training_pairs_warns_never_silent():
    flat = _Sev(np.zeros(6), np.zeros(6, bool), -np.ones(6))
    with pytest.warns(CliffkitWarning, match="no training cliff pairs"):
        spec = make_loss("cliff-pair", Y, severity=flat)
    assert not spec.uses_pairs and spec.params["n_pairs"] == 0
    with pytest.raises(InvalidParameterError, match="needs training cliff pairs"):
        make_loss("cliff-pair", Y, severity=np.zeros(6))


def test_adaptive_updates_weights_and_logs():
    spec = make_loss("cliff-adaptive", Y, severity=SEV, lam=0.1, y_val=YV, val_cliff_mask=CM,
                     val_smooth_mask=~CM, adaptive_params={"gain": 2.0})
    np.testing.assert_allclose(spec.sample_weight(), cliff_weights(SEV, 0.1))
    out = spec.epoch_callback(0, np.array([2.0, -2.0, 1.0, -1.0]))
    assert out["lam"] == pytest.approx(0.2)
    np.testing.assert_allclose(out["sample_weight"], cliff_weights(SEV, 0.2))
    np.testing.assert_allclose(spec.sample_weight(), cliff_weights(SEV, 0.2))
    assert spec.history[0]["epoch"] == 0 and spec.adaptive
    spec.reset()
    assert spec.lam == pytest.approx(0.1) and spec.history == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "cliff", "lam": -0.5}, "'lam' parameter of make_loss"),
        ({"name": "cliff-pair", "beta": -1.0}, "'beta' parameter of make_loss"),
        ({"name": "cliff-pair", "beta": 0.0}, "needs beta > 0"),
        ({"name": "cliff-adaptive"}, "needs the validation labels and strata"),
        ({"name": "cliff", "base": "l3"}, "'base' parameter of make_loss"),
    ],
)
def test_errors(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(InvalidParameterError, match=match):
        make_loss(name, Y, severity=SEV, **kwargs)


def test_unknown_and_missing_severity():
    with pytest.raises(UnknownNameError, match="Did you mean 'cliff-pair'"):
        make_loss("cliff_pairs", Y)
    with pytest.raises(InvalidParameterError, match="needs the train-only severity"):
        make_loss("cliff", Y)
    with pytest.raises(ShapeMismatchError, match="severity has 6 values but y_train 3"):
        make_loss("cliff", Y[:3], severity=SEV)


class _TorchLike:
    batch_size = 2
    criterion = "mse"
    random_state = 3


class _LgbmLike:
    random_state = 0


def test_fit_kwargs_per_backbone_kind():
    assert make_loss("plain", Y).fit_kwargs(_TorchLike()) == {}
    kw = make_loss("cliff", Y, severity=SEV, lam=1.0).fit_kwargs(_LgbmLike())
    assert set(kw) == {"sample_weight"}
    np.testing.assert_allclose(kw["sample_weight"], to_mean_one([1.1, 1.2, 1.3, 1.0, 1.9, 2.5]))
    pair = make_loss("cliff-pair", Y, severity=SEV, pair_quantile=0.5)
    kw = pair.fit_kwargs(_TorchLike())
    assert set(kw) == {"sample_weight", "loss", "pairs", "batch_sampler"}
    assert repr(kw["loss"]) == "CliffLoss(base='mse', beta=0.5)"  # the backbone's criterion
    assert kw["batch_sampler"].batch_size == 2 and kw["batch_sampler"].random_state == 3
    with pytest.raises(InvalidParameterError, match="cannot train"):
        pair.fit_kwargs(_LgbmLike())
    ad = make_loss("cliff-adaptive", Y, severity=SEV, y_val=YV, val_cliff_mask=CM,
                   val_smooth_mask=~CM, adaptive_params={"gain": 2.0})
    kw = ad.fit_kwargs(_LgbmLike())
    out = kw["epoch_callback"](1, np.array([2.0, -2.0, 1.0, -1.0]))
    assert out["lam"] == pytest.approx(0.2)
    np.testing.assert_allclose(out["sample_weight"], to_mean_one(cliff_weights(SEV, 0.2)))
    ad.fit_kwargs(_LgbmLike())  # a new fit resets the controller
    assert ad.lam == pytest.approx(0.1)


def test_unnormalised_spec_keeps_raw_weights_and_mean_reduction():
    spec = make_loss("cliff", Y, severity=SEV, lam=1.0, normalize=False)
    kw = spec.fit_kwargs(_TorchLike())
    np.testing.assert_allclose(kw["sample_weight"], [1.1, 1.2, 1.3, 1.0, 1.9, 2.5])
    assert repr(kw["loss"]) == "CliffLoss(base='mse', beta=0.0, normalize=False)"
    assert set(spec.fit_kwargs(_LgbmLike())) == {"sample_weight"}


@pytest.mark.parametrize("name", ["plain", "lds", "plain-ensemble", "swa"])
def test_lam_for_a_loss_without_cliff_weights_is_an_error(name):
    """λ given to a loss that has no cliff weights was silently ignored (found by the
    fresh-user trial: 'cliffkit weights --loss lds --lam 3' wrote the lam=0.1 file)."""
    with pytest.raises(InvalidParameterError, match=f"Loss '{name}' has no cliff weights"):
        make_loss(name, Y, severity=SEV, lam=0.5)
    make_loss(name, Y, severity=SEV)  # the default is fine


def test_lam_default_and_given():
    assert make_loss("cliff", Y, severity=SEV).params["lam"] == 0.1
    assert make_loss("cliff", Y, severity=SEV, lam=None).params["lam"] == 0.1
    assert make_loss("random-weights", Y, severity=SEV, lam=0.7).params["lam"] == 0.7
    assert make_loss("cliff-adaptive", Y, severity=SEV, lam=0.7, y_val=YV, val_cliff_mask=CM,
                     val_smooth_mask=~CM).params["lam0"] == 0.7


def test_a_users_loss_builder_works_and_a_half_done_one_says_what_to_return():
    # fresh-user trial 4: a builder returning the weights instead of a LossSpec gave
    # AttributeError: 'numpy.ndarray' object has no attribute 'wrapper'
    from cliffkit.loss import LOSSES, register_loss

    @register_loss("trial4-sqrt-cliff")
    def _sqrt_cliff(ctx):
        sev = ctx.need_severity()
        return ctx.spec(1.0 + ctx.lam * np.sqrt(sev), {"lam": ctx.lam}, beta=0.0, severity=sev)

    @register_loss("trial4-half-done")
    def _half_done(ctx):
        return np.ones(len(ctx.y))

    try:
        spec = make_loss("trial4-sqrt-cliff", Y, severity=SEV, lam=1.0)
        want = 1.0 + np.sqrt(np.asarray(SEV.severity))
        assert np.allclose(spec.sample_weight(), want)
        with pytest.raises(InvalidParameterError, match=r"builder of loss 'trial4-half-done' "
                           r".*returned ndarray, not a LossSpec; end it with 'return ctx.spec"):
            make_loss("trial4-half-done", Y)
    finally:
        LOSSES._entries.pop("trial4-sqrt-cliff", None)
        LOSSES._entries.pop("trial4-half-done", None)


@pytest.mark.parametrize(
    ("name", "kwargs", "group"),
    [
        ("cliff", {"adaptive_params": {"gain": 3.0, "max_lam": 50.0}}, "adaptive_params"),
        ("cliff", {"lds_params": {"n_bins": 5}}, "lds_params"),
        ("plain", {"aca_params": {"alpha": 1.0}}, "aca_params"),
        ("cliff", {"wrapper_params": {"n_members": 3}}, "wrapper_params"),
        ("lds", {"adaptive_params": {"lam0": 1.0}}, "adaptive_params"),
        ("cliff-adaptive", {"lds_params": {"n_bins": 5}}, "lds_params"),
    ],
)
def test_a_parameter_group_the_loss_does_not_read_is_an_error(name, kwargs, group):
    """Review h42 f7: these were dropped without an error or a warning and left out of
    spec.params, while lam on 'plain' and swa_params without SWA were refused."""
    with pytest.raises(InvalidParameterError, match=f"Loss '{name}' does not read {group}"):
        make_loss(name, Y, severity=SEV, y_val=YV, val_cliff_mask=CM, val_smooth_mask=~CM,
                  **kwargs)


def test_parameter_groups_read_by_their_loss_and_unknown_keys():
    kw = {"severity": SEV, "y_val": YV, "val_cliff_mask": CM, "val_smooth_mask": ~CM}
    # read: accepted and recorded; an empty group is no setting
    assert make_loss("lds", Y, lds_params={"n_bins": 4}).params == {"n_bins": 4}
    assert make_loss("lds-pair", Y, pairs=[[0, 1]], lds_params={"n_bins": 4}).params["n_bins"] == 4
    assert make_loss("cliff-adaptive", Y, adaptive_params={"gain": 2.0}, **kw).params["gain"] == 2.0
    assert make_loss("aca", Y, aca_params={"alpha": 0.5}).params["alpha"] == 0.5
    assert make_loss("cliff", Y, wrapper="ensemble",
                     wrapper_params={"n_members": 2}, **kw).wrapper_params == {"n_members": 2}
    assert make_loss("plain-ensemble", Y, wrapper_params={"n_members": 2}).wrapper_params \
        == {"n_members": 2}
    make_loss("cliff", Y, adaptive_params={}, lds_params=None, **kw)
    # lam0 in adaptive_params was a TypeError ("got multiple values for argument 'lam0'")
    with pytest.raises(InvalidParameterError, match=r"adaptive_params has no parameter 'lam0' "
                       r"\(give the starting λ as the loss's lam\); accepted: min_lam, max_lam, "
                       r"gain, min_step, target_ratio, tol\."):
        make_loss("cliff-adaptive", Y, adaptive_params={"lam0": 1.0}, **kw)
    with pytest.raises(InvalidParameterError, match="no parameter 'gian' .*did you mean 'gain'"):
        make_loss("cliff-adaptive", Y, adaptive_params={"gian": 2.0}, **kw)
    with pytest.raises(InvalidParameterError, match="lds_params has no parameter 'nbins'"):
        make_loss("lds", Y, lds_params={"nbins": 4})
    with pytest.raises(InvalidParameterError, match="'adaptive_params' parameter of make_loss "
                       "must be a dict"):
        make_loss("cliff-adaptive", Y, adaptive_params=[("gain", 2.0)], **kw)


def test_a_users_builder_that_reads_a_group_may_take_it():
    from cliffkit.loss import LOSSES, register_loss
    from cliffkit.loss._weights import lds_weights

    @register_loss("test-own-lds")
    def _own(ctx):
        return ctx.spec(lds_weights(ctx.y, **ctx.lds_params), dict(ctx.lds_params), beta=0.0)

    try:
        assert make_loss("test-own-lds", Y, lds_params={"n_bins": 3}).params == {"n_bins": 3}
        with pytest.raises(InvalidParameterError, match="does not read aca_params"):
            make_loss("test-own-lds", Y, aca_params={"alpha": 1.0})
    finally:
        LOSSES._entries.pop("test-own-lds", None)
