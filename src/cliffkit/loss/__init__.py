"""CliffLoss: a train-only, model-agnostic mitigation of property-cliff errors, and its baselines.

- weights for any model that takes ``sample_weight``: :func:`cliff_weights`
  (w = 1 + λ·c from the train-only :func:`cliff_severity`), and the baselines
  :func:`plain_weights`, :func:`random_weights`, :func:`lds_weights`;
- the torch :class:`CliffLoss` (weighted L1/MSE/Huber + β · pairwise difference term),
  :class:`PairBatchSampler` and :func:`pair_positions`;
- :class:`AdaptiveLambda`, the validation-feedback controller of λ;
- the ACA loss of ACANet (:class:`ACALoss`: regression + α · online triplet loss on the
  backbone's latent embeddings) and stochastic weight averaging (``swa``, read by the
  trainer);
- the registry :func:`make_loss` / :data:`LOSSES` → :class:`LossSpec`.

The torch parts are imported lazily, so ``import cliffkit.loss`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils import lazy_exports
from ._adaptive import AdaptiveLambda
from ._registry import (
    ACA_DEFAULTS,
    LOSSES,
    SWA_DEFAULTS,
    LossSpec,
    aca_settings,
    check_loss_params,
    list_losses,
    loss_param_names,
    make_loss,
    make_loss_for_split,
    needs_cliffs,
    register_loss,
    swa_settings,
    train_cliffs,
)
from ._weights import (
    cliff_pairs_from_severity,
    cliff_severity,
    cliff_weights,
    lds_weights,
    plain_weights,
    random_weights,
    to_mean_one,
)

_LAZY = {
    "CliffLoss": "._cliffloss",
    "L1CliffLoss": "._cliffloss",
    "MSECliffLoss": "._cliffloss",
    "HuberCliffLoss": "._cliffloss",
    "BASE_LOSSES": "._cliffloss",
    "pair_positions": "._cliffloss",
    "PairBatchSampler": "._sampler",
    "ACALoss": "._aca",
    "triplet_mask": "._aca",
    "aca_triplet_loss": "._aca",
}

__all__ = [
    "AdaptiveLambda",
    "LOSSES",
    "LossSpec",
    "list_losses",
    "make_loss",
    "make_loss_for_split",
    "loss_param_names",
    "check_loss_params",
    "register_loss",
    "train_cliffs",
    "needs_cliffs",
    "aca_settings",
    "swa_settings",
    "ACA_DEFAULTS",
    "SWA_DEFAULTS",
    "cliff_pairs_from_severity",
    "cliff_severity",
    "cliff_weights",
    "lds_weights",
    "plain_weights",
    "random_weights",
    "to_mean_one",
    *_LAZY,
]

if TYPE_CHECKING:  # pragma: no cover
    from ._aca import ACALoss, aca_triplet_loss, triplet_mask  # noqa: F401
    from ._cliffloss import (  # noqa: F401
        BASE_LOSSES,
        CliffLoss,
        HuberCliffLoss,
        L1CliffLoss,
        MSECliffLoss,
        pair_positions,
    )
    from ._sampler import PairBatchSampler  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
