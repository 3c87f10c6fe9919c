"""AdaptiveLambda: the documented rule, bounds, history."""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.errors import InvalidParameterError, ShapeMismatchError
from cliffkit.loss import AdaptiveLambda

Y = np.array([0.0, 0.0, 0.0, 0.0])
CLIFF = np.array([True, True, False, False])
SMOOTH = ~CLIFF


def _pred(err_cliff, err_smooth):
    return np.array([err_cliff, -err_cliff, err_smooth, -err_smooth])


def test_rule_hand_worked():
    ctl = AdaptiveLambda(0.1, gain=2.0, min_step=0.05, max_lam=1.0, y_val=Y, cliff_mask=CLIFF,
                         smooth_mask=SMOOTH)
    # ratio 2 > 1, first epoch -> increase: max(0.2, 0.15) = 0.2
    assert ctl.update(_pred(2.0, 1.0)) == pytest.approx(0.2)
    # overall MAE 1.25 < 1.5 and ratio 1.5 -> increase to 0.4
    assert ctl.update(_pred(1.5, 1.0)) == pytest.approx(0.4)
    # overall MAE worse (2.0 > 1.25) -> decrease to 0.2
    assert ctl.update(_pred(3.0, 1.0)) == pytest.approx(0.2)
    # gap closed (ratio 0.5 <= 1) -> decrease to 0.1
    assert ctl.update(_pred(0.5, 1.0)) == pytest.approx(0.1)
    # increases are capped at max_lam
    for _ in range(10):
        ctl.update(_pred(0.6, 0.2))
    assert ctl.lam == 1.0
    h = ctl.history_
    assert [x["action"] for x in h[:4]] == ["increase", "increase", "decrease", "decrease"]
    assert h[0] == {"epoch": 0, "lam": 0.1, "val_mae": 1.5, "val_mae_cliff": 2.0,
                    "val_mae_smooth": 1.0, "val_ratio": 2.0, "action": "increase",
                    "new_lam": 0.2}
    assert ctl.trajectory()[:5] == pytest.approx([0.1, 0.2, 0.4, 0.2, 0.1])


def test_min_step_leaves_zero_and_min_lam_floor():
    ctl = AdaptiveLambda(0.0, min_lam=0.02, gain=1.5, min_step=0.05)
    assert ctl.lam == 0.02  # clipped into bounds
    assert ctl.update(_pred(2, 1), Y, CLIFF, SMOOTH) == pytest.approx(0.07)
    for _ in range(20):
        ctl.update(_pred(0.1, 1), Y, CLIFF, SMOOTH)
    assert ctl.lam == pytest.approx(0.02)
    ctl.reset()
    assert ctl.history_ == [] and ctl.lam == 0.02


def test_tolerance_allows_small_worsening():
    ctl = AdaptiveLambda(0.1, gain=2.0, tol=0.1, y_val=Y, cliff_mask=CLIFF, smooth_mask=SMOOTH)
    ctl.update(_pred(2.0, 1.0))  # mae 1.5
    assert ctl.update(_pred(2.1, 1.0)) == pytest.approx(0.4)  # 1.55 <= 1.65


def test_errors():
    with pytest.raises(InvalidParameterError, match="'gain' parameter of AdaptiveLambda"):
        AdaptiveLambda(gain=1.0)
    with pytest.raises(InvalidParameterError, match="'lam0' parameter of AdaptiveLambda"):
        AdaptiveLambda(-0.1)
    with pytest.raises(InvalidParameterError, match="must not exceed max_lam"):
        AdaptiveLambda(min_lam=2.0, max_lam=1.0)
    ctl = AdaptiveLambda()
    with pytest.raises(InvalidParameterError, match="needs validation labels"):
        ctl.update([0.0])
    with pytest.raises(ShapeMismatchError, match="same length"):
        ctl.update([0.0], Y, CLIFF, SMOOTH)
    with pytest.raises(InvalidParameterError, match="no cliff or no smooth case"):
        ctl.update(Y, Y, np.zeros(4, bool), SMOOTH)
    assert repr(AdaptiveLambda()).startswith("AdaptiveLambda(lam0=0.1, min_lam=0.0, max_lam=5.0")


def test_set_params_is_checked_at_reset_and_update():
    """Review h42 f4: the parameters were checked once and cached, so set_params(gain=0.5)
    (refused by the constructor) made a 'decrease' double λ, and min_lam > max_lam was
    accepted after reset."""
    ctl = AdaptiveLambda(y_val=Y, cliff_mask=CLIFF, smooth_mask=SMOOTH)
    ctl.set_params(gain=0.5)
    with pytest.raises(InvalidParameterError, match="'gain' parameter of AdaptiveLambda"):
        ctl.reset()
    with pytest.raises(InvalidParameterError, match="'gain' parameter of AdaptiveLambda"):
        ctl.update(_pred(2.0, 1.0))  # without a reset too
    assert ctl.history_ == []
    ctl.set_params(gain=1.5, min_lam=3.0, max_lam=1.0)
    with pytest.raises(InvalidParameterError, match="must not exceed max_lam"):
        ctl.reset()
    ctl.set_params(min_lam=0.0).reset()  # back in range: works again
    assert ctl.update(_pred(2.0, 1.0)) == pytest.approx(0.15)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_predictions_or_labels_are_refused(bad):
    """Review h42: a NaN prediction made every MAE NaN, so the rule read 'worse' and took a
    silent 'decrease'."""
    ctl = AdaptiveLambda(y_val=Y, cliff_mask=CLIFF, smooth_mask=SMOOTH)
    with pytest.raises(InvalidParameterError, match="1 of the 4 validation predictions"):
        ctl.update(np.array([bad, 0.0, 0.0, 0.0]))
    with pytest.raises(InvalidParameterError, match="1 of the 4 validation labels"):
        ctl.update(np.zeros(4), np.array([0.0, 0.0, bad, 0.0]))
    assert ctl.history_ == [] and ctl.lam == pytest.approx(0.1)
