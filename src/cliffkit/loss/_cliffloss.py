r"""The torch CliffLoss: a weighted base loss plus an optional pairwise term.

.. math::

    \mathcal{L} = \frac{\sum_i w_i\,\ell(\hat y_i, y_i)}{\sum_i w_i}
      + \beta\,\frac{1}{|P_B|}\sum_{(i,j)\in P_B}
        \big|(\hat y_i - \hat y_j) - (y_i - y_j)\big|

where :math:`\ell` is the unreduced L1, MSE or Huber loss, :math:`w_i = 1 + \lambda c_i`
and :math:`P_B` the training cliff pairs whose two molecules are both in the batch.
Built like chemprop's metrics: the base class applies weights, reduction and the pair
term once; each subclass gives only the unreduced per-element loss.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import InvalidParameterError, ShapeMismatchError, unknown_name
from ..utils import Interval, validate_params

__all__ = ["CliffLoss", "L1CliffLoss", "MSECliffLoss", "HuberCliffLoss", "BASE_LOSSES",
           "pair_positions"]

BASE_LOSSES: dict[str, type[CliffLoss]] = {}


def _register(name: str):
    def deco(cls):
        BASE_LOSSES[name] = cls
        cls.base_name = name
        return cls

    return deco


class CliffLoss(nn.Module):
    r"""Weighted regression loss with an optional cliff-pair difference term.

    ``CliffLoss(base="mse")`` returns the registered subclass for that base
    (:class:`L1CliffLoss`, :class:`MSECliffLoss`, :class:`HuberCliffLoss`).

    Parameters
    ----------
    base : {"l1", "mse", "huber"}, default="l1"
        Per-sample loss :math:`\ell`.
    beta : float, default=0.0
        Weight :math:`\beta \ge 0` of the pairwise term; 0 disables it.
    delta : float, default=1.0
        Huber threshold (``base="huber"`` only).
    normalize : bool, default=True
        Divide the weighted base loss by the sum of weights (True) or by the batch
        size (False, a plain mean of :math:`w_i\ell_i`; kept for comparison).

    Notes
    -----
    The weighted base loss is normalised by the **sum of weights**
    (:math:`\sum w_i\ell_i / \sum w_i`), not by the batch size. Raising λ therefore
    changes only the relative emphasis between molecules, never the overall gradient
    scale (an unnormalised mean would act like a learning rate multiplied by
    :math:`1 + \lambda\bar c`). With ``weight=None`` it is the plain mean.
    The pair term costs O(pairs in batch).

    Raises
    ------
    InvalidParameterError
        ``beta < 0``, ``delta <= 0``; UnknownNameError for an unknown base.
    """

    base_name: ClassVar[str] = ""
    _parameter_constraints: ClassVar[dict] = {
        "beta": [Interval(float, 0.0, None)],
        "delta": [Interval(float, 0.0, None, closed="neither")],
        "normalize": ["boolean"],
    }

    def __new__(cls, base: str | None = "l1", *args: Any, **kwargs: Any):
        if cls is CliffLoss:
            key = "l1" if base is None else str(base).lower().replace("_", "-")
            if key not in BASE_LOSSES:
                raise unknown_name("CliffLoss base", str(base), BASE_LOSSES)
            cls = BASE_LOSSES[key]
        return super().__new__(cls)

    def __init__(self, base: str | None = None, beta: float = 0.0, delta: float = 1.0,
                 normalize: bool = True) -> None:
        super().__init__()
        validate_params(self._parameter_constraints,
                        {"beta": beta, "delta": delta, "normalize": normalize}, "CliffLoss")
        key = self.base_name if base is None else str(base).lower().replace("_", "-")
        if key != self.base_name:
            raise InvalidParameterError(
                f"The 'base' parameter of {type(self).__name__} must be "
                f"{self.base_name!r}; got {base!r}."
            )
        self.base = self.base_name
        self.beta = float(beta)
        self.delta = float(delta)
        self.normalize = bool(normalize)

    def extra_repr(self) -> str:
        s = f"base={self.base!r}, beta={self.beta}"
        if self.base == "huber":
            s += f", delta={self.delta}"
        if not self.normalize:
            s += ", normalize=False"
        return s

    def __repr__(self) -> str:
        return f"CliffLoss({self.extra_repr()})"

    # ------------------------------------------------------------------ hooks
    def _calc_unreduced_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        """Per-element loss, shape (b,)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- forward
    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        pair_index: Tensor | None = None,
        pair_weight: Tensor | None = None,
    ) -> Tensor:
        """Loss of one batch.

        Parameters
        ----------
        pred, target : Tensor, shape (b,) or (b, 1)
        weight : Tensor or array, shape (b,), optional
            Per-sample weights :math:`w_i \\ge 0`, finite, sum > 0 (otherwise
            :class:`~cliffkit.errors.InvalidParameterError`).
        pair_index : LongTensor, shape (2, p) or (p, 2), optional
            In-batch positions of cliff pairs (see :func:`pair_positions`); a (2, 2)
            tensor is read as (2, p). Positions outside ``[0, b)`` raise.
        pair_weight : Tensor or array, shape (p,), optional
            Weights of the pairs (weighted mean; finite, >= 0, sum > 0 like ``weight``);
            plain mean when None.

        Returns
        -------
        Tensor, scalar
        """
        pred = _flat(pred, "pred")
        target = _flat(target, "target").to(pred.dtype)
        if pred.shape != target.shape:
            raise ShapeMismatchError(
                f"CliffLoss: pred has shape {tuple(pred.shape)} but target {tuple(target.shape)}."
            )
        loss_el = self._calc_unreduced_loss(pred, target)
        if weight is None:
            loss = loss_el.mean()
        else:
            w = _weights(weight, pred, "sample weights", "cliff_weights gives 1 + λ·c")
            loss = (loss_el * w).sum() / (w.sum() if self.normalize else w.numel())
        if self.beta > 0.0 and pair_index is not None and pair_index.numel() > 0:
            loss = loss + self.beta * self.pair_loss(pred, target, pair_index, pair_weight)
        return loss

    def pair_loss(
        self,
        pred: Tensor,
        target: Tensor,
        pair_index: Tensor,
        pair_weight: Tensor | None = None,
    ) -> Tensor:
        """Mean over pairs of |(ŷ_i − ŷ_j) − (y_i − y_j)| (unscaled by β)."""
        pred = _flat(pred, "pred")
        target = _flat(target, "target").to(pred.dtype)
        pi = torch.as_tensor(pair_index, device=pred.device)
        if pi.dim() != 2 or 2 not in pi.shape:
            raise ShapeMismatchError(
                f"CliffLoss: pair_index must have shape (2, p) or (p, 2); got {tuple(pi.shape)}."
            )
        if pi.dtype.is_floating_point or pi.dtype.is_complex or pi.dtype == torch.bool:
            raise InvalidParameterError(
                f"CliffLoss: pair_index must hold integer positions; got dtype {pi.dtype}."
            )
        if pi.shape[0] != 2:  # (p, 2); a square (2, 2) is read as (2, p)
            pi = pi.t()
        if pi.numel() and (bool((pi < 0).any()) or bool((pi >= pred.shape[0]).any())):
            raise InvalidParameterError(
                "CliffLoss: pair_index must hold positions in the batch, 0 to "
                f"{pred.shape[0] - 1}; got {int(pi.min())} to {int(pi.max())} (map training "
                "indices with pair_positions(batch_index, pairs))."
            )
        i, j = pi[0], pi[1]
        err = ((pred[i] - pred[j]) - (target[i] - target[j])).abs()
        if pair_weight is None:
            return err.mean()
        pw = _weights(pair_weight, err, "pair weights", "one weight per pair of pair_index")
        return (err * pw).sum() / pw.sum()


def _weights(weight: Any, like: Tensor, what: str, hint: str) -> Tensor:
    """``weight`` as a (b,) tensor on ``like``'s device and dtype, checked: one value per
    element of ``like``, finite, >= 0 with sum > 0 (an infinite or all-zero weight gave a
    NaN loss and a negative one a reward for error)."""
    w = _flat(torch.as_tensor(weight, device=like.device), what).to(like.dtype)
    if w.shape != like.shape:
        raise ShapeMismatchError(
            f"CliffLoss: {what} have shape {tuple(w.shape)}; expected {tuple(like.shape)} "
            f"({hint})."
        )
    if not bool(torch.isfinite(w).all() & (w >= 0).all() & (w.sum() > 0)):
        raise InvalidParameterError(
            f"CliffLoss: {what} must be finite and >= 0 with sum > 0 in every batch; got "
            f"min {float(w.min()):g}, max {float(w.max()):g}, sum {float(w.sum()):g} ({hint})."
        )
    return w


def _flat(x: Tensor, name: str) -> Tensor:
    if x.dim() == 2 and x.shape[1] == 1:
        return x[:, 0]
    if x.dim() != 1:
        raise ShapeMismatchError(
            f"CliffLoss: {name} must have shape (b,) or (b, 1); got {tuple(x.shape)}."
        )
    return x


@_register("l1")
class L1CliffLoss(CliffLoss):
    """CliffLoss with an absolute-error base: ℓ = |ŷ − y|."""

    def _calc_unreduced_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).abs()


@_register("mse")
class MSECliffLoss(CliffLoss):
    """CliffLoss with a squared-error base: ℓ = (ŷ − y)²."""

    def _calc_unreduced_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        return (pred - target).square()


@_register("huber")
class HuberCliffLoss(CliffLoss):
    """CliffLoss with a Huber base: ℓ = ½r² if |r| ≤ δ else δ(|r| − ½δ)."""

    def _calc_unreduced_loss(self, pred: Tensor, target: Tensor) -> Tensor:
        return nn.functional.huber_loss(pred, target, reduction="none", delta=self.delta)


def pair_positions(batch_index: Any, pairs: Any, n_total: int | None = None):
    """Map global cliff pairs to positions inside a batch (vectorised, O(b + P)).

    Parameters
    ----------
    batch_index : array-like or LongTensor of int, shape (b,)
        Global (training-set) indices of the batch, each at most once.
    pairs : array-like or LongTensor of int, shape (P, 2)
        Global training cliff pairs.
    n_total : int, optional
        Size of the index space; ``max(batch_index, pairs) + 1`` when None.

    Returns
    -------
    LongTensor of shape (2, p)
        In-batch positions of the pairs with both members in the batch (same order
        as ``pairs``). Empty (2, 0) when there are none.

    Raises
    ------
    InvalidParameterError
        A negative index, or one ``>= n_total`` (a negative index would be read from the
        end: row -1 of a 5-row training set as row 4).
    """
    b = torch.as_tensor(np.asarray(batch_index) if not torch.is_tensor(batch_index)
                        else batch_index, dtype=torch.long).reshape(-1)
    p = torch.as_tensor(np.asarray(pairs) if not torch.is_tensor(pairs) else pairs,
                        dtype=torch.long).reshape(-1, 2)
    for name, idx in (("batch_index", b), ("pairs", p)):
        if idx.numel() and (int(idx.min()) < 0
                            or (n_total is not None and int(idx.max()) >= n_total)):
            raise InvalidParameterError(
                f"pair_positions: {name} must hold training-set indices "
                f"{'>= 0' if n_total is None else f'0 to {n_total - 1}'}; got {int(idx.min())} "
                f"to {int(idx.max())}."
            )
    if p.numel() == 0 or b.numel() == 0:
        return torch.empty((2, 0), dtype=torch.long)
    if n_total is None:
        n_total = int(max(int(b.max()), int(p.max()))) + 1
    pos = torch.full((n_total,), -1, dtype=torch.long)
    pos[b] = torch.arange(b.numel(), dtype=torch.long)
    loc = pos[p]
    keep = (loc >= 0).all(dim=1)
    return loc[keep].t().contiguous()
