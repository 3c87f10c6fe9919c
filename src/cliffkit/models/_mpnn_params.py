"""The D-MPNN architecture parameters, shared by ``dmpnn`` (ours) and ``chemprop`` (the adapter).

Both backbones are the model of Yang et al. (2019) in the form of chemprop v2 (Heid et
al. 2024), with chemprop's defaults; the two differ in what they accept (``aggr``,
``ffn_num_layers``), so each declares those two constraints.
"""

from __future__ import annotations

from typing import ClassVar

from ..utils import Interval, Params, params_class

__all__ = ["MPNNParams"]


@params_class
class MPNNParams(Params):
    """Message passing and feed-forward head of a D-MPNN (chemprop v2's names in brackets).

    Parameters
    ----------
    hidden_channels : int, default=300
        Hidden size of the bond and atom states (``--message-hidden-dim``).
    num_layers : int, default=3
        Depth :math:`T` (``--depth``).
    dropout : float, default=0.0
    aggr : str, default="mean"
        Readout over a molecule's atoms (``--aggregation``).
    ffn_hidden_channels : int, default=300
        (``--ffn-hidden-dim``)
    ffn_num_layers : int, default=1
        (``--ffn-num-layers``)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_channels": [Interval(int, 1, None)],
        "num_layers": [Interval(int, 1, None)],
        "dropout": [Interval(float, 0.0, 1.0, closed="left")],
        "ffn_hidden_channels": [Interval(int, 1, None)],
    }

    hidden_channels: int = 300
    num_layers: int = 3
    dropout: float = 0.0
    aggr: str = "mean"
    ffn_hidden_channels: int = 300
    ffn_num_layers: int = 1

    def mpnn_params(self) -> dict:
        """The :class:`MPNNParams` fields of this object, by name."""
        return {name: getattr(self, name) for name in MPNNParams._param_names()}
