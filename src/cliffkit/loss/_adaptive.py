"""Adaptive λ: a validation-feedback controller for the CliffLoss weight."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..utils import Interval, Params

__all__ = ["AdaptiveLambda"]


class AdaptiveLambda(Params):
    r"""Move λ after each epoch (or block of boosting rounds) from the validation gap.

    After each epoch the controller takes the validation predictions and computes, on
    the validation strata of the split, :math:`r = \mathrm{MAE}_{cliff} / \mathrm{MAE}_{smooth}`
    and the overall validation MAE :math:`m`. The rule:

    - **increase** (λ ← min(max_lam, max(λ·gain, λ + min_step))) when
      :math:`r >` ``target_ratio`` and :math:`m \le (1 + tol)\,m_{best}`
      (the gap is still open and emphasising cliffs has not hurt overall error);
    - **decrease** (λ ← max(min_lam, λ / gain)) otherwise: either the gap is closed,
      or overall validation error got worse than the best seen so far.

    Every step is appended to :attr:`history_` (epoch, λ used, the validation MAEs,
    ratio, action, new λ). Only validation labels are read; the test set never is.

    Parameters
    ----------
    lam0 : float, default=0.1
        Starting λ.
    min_lam, max_lam : float, default=0.0, 5.0
        Bounds of λ.
    gain : float, default=1.5
        Multiplicative step (> 1).
    min_step : float, default=0.05
        Smallest increase, so λ can leave 0.
    target_ratio : float, default=1.0
        Cliff/smooth validation MAE ratio at which the gap counts as closed.
    tol : float, default=0.0
        Relative slack on the overall validation MAE before it counts as worse.
    y_val : array-like of shape (n_val,), optional
        Validation labels; may also be passed to :meth:`update`.
    cliff_mask, smooth_mask : array-like of bool, shape (n_val,), optional
        Validation strata from the split.
    """

    _not_params = ("y_val", "cliff_mask", "smooth_mask")  # data, not parameters
    _parameter_constraints = {
        "lam0": [Interval(float, 0.0, None)],
        "min_lam": [Interval(float, 0.0, None)],
        "max_lam": [Interval(float, 0.0, None)],
        "gain": [Interval(float, 1.0, None, closed="neither")],
        "min_step": [Interval(float, 0.0, None)],
        "target_ratio": [Interval(float, 0.0, None, closed="neither")],
        "tol": [Interval(float, 0.0, None)],
    }

    def __init__(self, lam0: float = 0.1, *, min_lam: float = 0.0, max_lam: float = 5.0,
                 gain: float = 1.5, min_step: float = 0.05, target_ratio: float = 1.0,
                 tol: float = 0.0, y_val: Any = None, cliff_mask: Any = None,
                 smooth_mask: Any = None) -> None:
        self.lam0 = lam0
        self.min_lam = min_lam
        self.max_lam = max_lam
        self.gain = gain
        self.min_step = min_step
        self.target_ratio = target_ratio
        self.tol = tol
        self.y_val = y_val
        self.cliff_mask = cliff_mask
        self.smooth_mask = smooth_mask
        self.reset()

    def _validate(self) -> None:
        """Check the parameters as they are now: called by :meth:`reset` and :meth:`update`,
        so that a value changed by :meth:`set_params` is checked as the constructor's are."""
        self._validate_params()
        if self.min_lam > self.max_lam:
            raise InvalidParameterError(
                f"AdaptiveLambda: min_lam ({self.min_lam}) must not exceed max_lam ({self.max_lam})."
            )

    def reset(self) -> None:
        """Return to λ = clip(lam0) with an empty history (call before each new fit).

        Raises
        ------
        InvalidParameterError
            A parameter out of range (also after :meth:`set_params`).
        """
        self._validate()
        self.lam_ = float(np.clip(self.lam0, self.min_lam, self.max_lam))
        self.best_mae_ = float("inf")
        self.history_: list[dict[str, Any]] = []

    @property
    def lam(self) -> float:
        """The current λ."""
        return self.lam_

    def update(self, y_pred: Any, y_true: Any = None, cliff_mask: Any = None,
               smooth_mask: Any = None, *, epoch: int | None = None) -> float:
        """Take one epoch's validation predictions and return the new λ.

        Parameters
        ----------
        y_pred : array-like of shape (n_val,)
            Validation predictions, in label units.
        y_true, cliff_mask, smooth_mask : optional
            Override the validation labels / strata given at construction.
        epoch : int, optional
            Recorded in the history (defaults to the step count).

        Returns
        -------
        float
            λ for the next epoch.

        Raises
        ------
        InvalidParameterError
            Missing labels or strata, a stratum without a molecule, NaN or infinite
            predictions or labels (the validation MAE would be NaN and every step a
            "decrease"), or a parameter out of range.
        ShapeMismatchError
            Predictions, labels and masks of different lengths.
        """
        self._validate()
        y_true = self.y_val if y_true is None else y_true
        cliff_mask = self.cliff_mask if cliff_mask is None else cliff_mask
        smooth_mask = self.smooth_mask if smooth_mask is None else smooth_mask
        if y_true is None or cliff_mask is None or smooth_mask is None:
            raise InvalidParameterError(
                "AdaptiveLambda needs validation labels and cliff/smooth masks; "
                "pass y_val, cliff_mask and smooth_mask (from the split's validation strata)."
            )
        pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
        y = np.asarray(y_true, dtype=np.float64).reshape(-1)
        cm = np.asarray(cliff_mask, dtype=bool).reshape(-1)
        sm = np.asarray(smooth_mask, dtype=bool).reshape(-1)
        if not (pred.shape == y.shape == cm.shape == sm.shape):
            raise ShapeMismatchError(
                f"AdaptiveLambda.update: predictions {pred.shape}, labels {y.shape}, "
                f"cliff mask {cm.shape} and smooth mask {sm.shape} must have the same length."
            )
        for what, arr, fix in (("predictions", pred, "the model diverged; lower the learning rate"),
                               ("labels", y, "drop the unlabelled validation rows")):
            if not np.all(np.isfinite(arr)):
                raise InvalidParameterError(
                    f"AdaptiveLambda.update: {int((~np.isfinite(arr)).sum())} of the "
                    f"{arr.size} validation {what} are NaN or infinite, so the cliff/smooth gap "
                    f"cannot be measured; {fix}."
                )
        if not cm.any() or not sm.any():
            raise InvalidParameterError(
                "AdaptiveLambda: the validation set has no cliff or no smooth case; "
                "the controller cannot measure a gap (use loss 'cliff' with a fixed λ)."
            )
        err = np.abs(pred - y)
        mae = float(err.mean())
        mae_c = float(err[cm].mean())
        mae_s = float(err[sm].mean())
        ratio = mae_c / mae_s if mae_s > 0 else float("inf")
        lam_old = self.lam_
        if ratio > self.target_ratio and mae <= (1.0 + self.tol) * self.best_mae_:
            action = "increase"
            new = max(lam_old * self.gain, lam_old + self.min_step)
        else:
            action = "decrease"
            new = lam_old / self.gain
        new = float(np.clip(new, self.min_lam, self.max_lam))
        self.best_mae_ = min(self.best_mae_, mae)
        self.history_.append({
            "epoch": len(self.history_) if epoch is None else int(epoch),
            "lam": lam_old, "val_mae": mae, "val_mae_cliff": mae_c, "val_mae_smooth": mae_s,
            "val_ratio": ratio, "action": action, "new_lam": new,
        })
        self.lam_ = new
        return new

    def trajectory(self) -> list[float]:
        """λ used at each epoch so far, then the current one."""
        return [h["lam"] for h in self.history_] + [self.lam_]
