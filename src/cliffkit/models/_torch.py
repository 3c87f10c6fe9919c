"""Shared base of the torch backbones: featurise once, build a module, train with :class:`Trainer`.

A torch backbone subclasses :class:`TorchBackbone` and supplies two hooks:

- ``_make_inputs(smiles) -> batcher`` — featurise (cached) into a batcher with
  ``len``, ``batch(idx)`` and ``to(device)`` (:class:`PackedGraphs`, :class:`TensorBatcher`);
- ``_build_module() -> torch.nn.Module`` — built from the parameters alone (never from
  data), so :meth:`Backbone.load` can rebuild it before loading the state dict.

The latent embedding of a molecule, which the ACA loss trains (:class:`cliffkit.loss.ACALoss`),
is the input of the module's output layer, found by :func:`latent_layer` for every backbone
alike (the same hook for ``mlp``, ``gin``, ``dmpnn`` and ``schnet``; no per-backbone copies).

The trainer parameters (``epochs``, ``batch_size``, ``lr``, ``weight_decay``,
``patience``, ``criterion``, ``device``, ``random_state``, ``show_progress``) are
declared once, in :class:`cliffkit.train.TrainerParams`: a subclass is a
:func:`~cliffkit.utils.params_class` that declares its model parameters as fields, gets
the trainer's as keyword-only constructor parameters (with their constraints), and
declares one of them again only to change its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..train import Trainer, TrainerParams
from ._base import Backbone

__all__ = ["TorchBackbone", "TRAINER_CONSTRAINTS", "WEIGHTS_FILE", "latent_layer"]

WEIGHTS_FILE = "model.pt"

#: The trainer parameters' constraints, as declared in :class:`~cliffkit.train.TrainerParams`
#: (the same dict; kept under this name for code written before TrainerParams).
TRAINER_CONSTRAINTS = TrainerParams._parameter_constraints


def latent_layer(module: Any) -> Any:
    """The output layer of a torch module, whose input is the molecule's latent embedding.

    The module's ``latent_layer`` attribute when it has one, else its last registered
    ``torch.nn.Linear`` with one output: the final linear map of ``mlp`` (after the last
    hidden block), ``gin`` (after the head's hidden layer) and ``dmpnn`` (after the FFN's
    hidden layer). A forward pre-hook on it sees the embeddings, shape ``(b, d)``; for
    ``schnet`` one row per atom (its output layer maps atoms), which the trainer pools per
    molecule with the model's readout.

    Parameters
    ----------
    module : torch.nn.Module

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    InvalidParameterError
        The module has no single-output linear layer.

    Examples
    --------
    >>> from cliffkit.models import MLP
    >>> latent_layer(MLP(16, 8, num_layers=2))
    Linear(in_features=8, out_features=1, bias=True)
    """
    from torch import nn

    from ..errors import InvalidParameterError

    own = getattr(module, "latent_layer", None)
    if isinstance(own, nn.Module):
        return own
    last = None
    for m in module.modules():
        if isinstance(m, nn.Linear) and m.out_features == 1:
            last = m
    if last is None:
        raise InvalidParameterError(
            f"{type(module).__name__} has no output layer (a Linear with one output) whose "
            "input is a molecule embedding; set its 'latent_layer' attribute to one."
        )
    return last


class TorchBackbone(Backbone, TrainerParams):
    """Base class of the torch backbones (``mlp``, ``gin``, ``dmpnn``, ``schnet``)."""

    # hooks --------------------------------------------------------------
    def _make_inputs(self, smiles: list[str]) -> Any:
        raise NotImplementedError

    def _build_module(self) -> Any:
        raise NotImplementedError

    # trainer ------------------------------------------------------------
    def _trainer(self) -> Trainer:
        return Trainer(**self.trainer_params())

    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, *, sample_weight=None, loss=None,
             pairs=None, batch_sampler=None, epoch_callback=None, log_path=None) -> None:
        from ..train import seeded

        inputs_tr = self._make_inputs(smiles_tr)
        inputs_va = self._make_inputs(smiles_va)
        with seeded(self.random_state):
            module = self._build_module()
        result = self._trainer().fit(
            module, inputs_tr, inputs_va, y_tr, y_va, sample_weight=sample_weight,
            loss=loss, pairs=pairs, batch_sampler=batch_sampler,
            epoch_callback=epoch_callback, log_path=log_path,
        )
        self.module_ = module
        self.y_mean_ = result.y_mean
        self.y_std_ = result.y_std
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.best_val_mae_ = result.best_val_mae
        self.fit_seconds_ = result.seconds
        self.device_ = result.device
        #: What the trainer adds beyond the epochs (SWA: ``swa_epochs``, ``swa_val_mae`` ...).
        self.train_extra_ = dict(result.extra)

    def _predict(self, smiles: list[str]) -> np.ndarray:
        return self._trainer().predict(self.module_, self._make_inputs(smiles),
                                       self.y_mean_, self.y_std_)

    def reset_parameters(self) -> None:
        """Re-initialise the fitted module's weights (a no-op before ``fit``)."""
        if hasattr(self, "module_"):
            self.module_.reset_parameters()

    # persistence --------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {"y_mean_": self.y_mean_, "y_std_": self.y_std_,
                "best_epoch_": getattr(self, "best_epoch_", None),
                "best_val_mae_": getattr(self, "best_val_mae_", None)}

    def _save_weights(self, path: Path) -> None:
        import io

        import torch

        from ..utils import atomic_write_bytes

        buf = io.BytesIO()
        state = {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}
        torch.save(state, buf)
        atomic_write_bytes(path / WEIGHTS_FILE, buf.getvalue())

    def _load_weights(self, path: Path) -> None:
        import torch

        from ..train import resolve_device

        state = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        module = self._build_module()
        module.load_state_dict(state)
        module.to(resolve_device(self.device))
        module.eval()
        self.module_ = module
