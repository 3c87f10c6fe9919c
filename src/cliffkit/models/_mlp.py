"""``mlp``: a feed-forward network on ECFP bits."""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

import torch
from torch import nn

from ..similarity import N_BITS, RADIUS
from ..utils import Interval, params_class
from ._featurize import TensorBatcher, ecfp_features
from ._registry import register_backbone
from ._torch import TorchBackbone

__all__ = ["MLP", "MLPBackbone"]


class MLP(nn.Module):
    r"""Multi-layer perceptron :math:`\mathbb{R}^{d} \to \mathbb{R}`.

    ``num_layers`` hidden blocks ``Linear → ReLU → Dropout`` of width ``hidden_channels``,
    then a linear output.

    Args:
        in_channels (int): input width.
        hidden_channels (int): hidden width.
        num_layers (int): number of hidden blocks (≥ 1).
        dropout (float, optional): dropout probability. (default: ``0.0``)

    Shapes:
        input ``(b, in_channels)`` → output ``(b,)``.
    """

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.dropout = dropout
        layers: list[nn.Module] = []
        width = in_channels
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_channels), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_channels
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.net:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


@register_backbone("mlp")
@params_class
class MLPBackbone(TorchBackbone):
    """``mlp``: :class:`MLP` on Morgan/ECFP bits (radius 2, 2048 bits by default).

    Parameters
    ----------
    hidden_channels : int, default=512
    num_layers : int, default=2
    dropout : float, default=0.2
    radius, n_bits : int, default=2, 2048
        ECFP radius and length.
    epochs, batch_size, lr, weight_decay, patience, criterion, device, random_state, show_progress
        Keyword-only trainer settings (:class:`~cliffkit.train.TrainerParams`), with
        the defaults there but ``weight_decay=1e-5, patience=15``.
    """

    _parameter_constraints: ClassVar[dict] = {
        **TorchBackbone._parameter_constraints,
        "hidden_channels": [Interval(int, 1, None)],
        "num_layers": [Interval(int, 1, None)],
        "dropout": [Interval(float, 0.0, 1.0, closed="left")],
        "radius": [Interval(int, 0, None)],
        "n_bits": [Interval(int, 8, None)],
    }

    hidden_channels: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    radius: int = RADIUS
    n_bits: int = N_BITS
    weight_decay: float = field(default=1e-5, kw_only=True)
    patience: int = field(default=15, kw_only=True)

    def _make_inputs(self, smiles: list[str]) -> Any:
        return TensorBatcher(ecfp_features(smiles, radius=self.radius, n_bits=self.n_bits))

    def _build_module(self) -> MLP:
        return MLP(self.n_bits, self.hidden_channels, self.num_layers, self.dropout)
