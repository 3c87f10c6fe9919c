"""D-MPNN: directed bond message passing (chemprop-style), on plain tensors.

Our own implementation of the model of Yang et al. (2019) in the form of chemprop v2
(Heid et al. 2024): hidden states live on *directed* bonds, a message to ``v -> w``
sums the states of the bonds entering ``v`` except the reverse bond ``w -> v``, and
atoms are read out from the bonds entering them. Everything is index arithmetic
(``index_add_`` and gathers) over the whole batch; there is no loop over molecules.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from ..utils import Interval, Options, params_class
from ._featurize import (
    ATOM_FEATURE_DIM,
    BOND_FEATURE_DIM,
    PackedGraphs,
    one_hot_atoms,
    one_hot_bonds,
)
from ._mpnn_params import MPNNParams
from ._registry import register_backbone
from ._torch import TorchBackbone

__all__ = ["DMPNN", "DMPNNBackbone", "reverse_edge_index"]


def reverse_edge_index(edge_index: Tensor) -> Tensor:
    """Index of the reverse of each directed edge.

    Parameters
    ----------
    edge_index : torch.LongTensor, shape (2, n_edges)
        Directed edges ``(source, target)``; every edge must have its reverse.

    Returns
    -------
    torch.LongTensor, shape (n_edges,)
        ``rev[e]`` is the position of edge ``(target[e], source[e])``.

    Raises
    ------
    ValueError
        If some edge has no reverse.
    """
    n_edges = edge_index.shape[1]
    if n_edges == 0:
        return torch.zeros(0, dtype=torch.long, device=edge_index.device)
    src, dst = edge_index[0].long(), edge_index[1].long()
    n = int(torch.maximum(src.max(), dst.max())) + 1
    key = src * n + dst
    rkey = dst * n + src
    order = torch.argsort(key)
    pos = torch.searchsorted(key[order], rkey).clamp_(max=n_edges - 1)
    rev = order[pos]
    if not bool(torch.equal(key[rev], rkey)):
        raise ValueError("edge_index is not symmetric: some directed edge has no reverse edge.")
    return rev


def _exclusive_adjacency(row_atom: Tensor, col_key: Tensor, rev_index: Tensor,
                         n_atoms: int, dtype: torch.dtype) -> Tensor:
    """CSR matrix ``M[e, f] = 1`` iff ``col_key[f] == row_atom[e]`` and ``f != rev_index[e]``.

    With ``row_atom = source`` and ``col_key = target`` this is the D-MPNN message operator
    (``M @ h`` sums the bonds entering ``source(e)`` except the reverse of ``e``); with
    the two swapped it is its transpose. Built with sorts and ``repeat_interleave``.
    """
    n_edges = row_atom.shape[0]
    device = row_atom.device
    order = torch.argsort(col_key, stable=True)
    deg = torch.bincount(col_key, minlength=n_atoms)
    start = torch.cumsum(deg, 0) - deg
    cnt = deg[row_atom]
    total = int(cnt.sum())
    rows = torch.repeat_interleave(torch.arange(n_edges, device=device), cnt, output_size=total)
    offset = torch.arange(total, device=device) - torch.repeat_interleave(
        torch.cumsum(cnt, 0) - cnt, cnt, output_size=total)
    cols = order[start[row_atom][rows] + offset]
    keep = cols != rev_index[rows]
    cols = cols[keep]
    crow = torch.zeros(n_edges + 1, dtype=torch.long, device=device)
    torch.cumsum(cnt - 1, 0, out=crow[1:])
    values = torch.ones(cols.shape[0], dtype=dtype, device=device)
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.filterwarnings("ignore", message=".*[Ss]parse CSR tensor support", category=UserWarning)
        # torch 2.11 warns that we skip the checks: the matrix is built valid above
        warnings.filterwarnings("ignore", message=".*[Ss]parse invariant checks", category=UserWarning)
        return torch.sparse_csr_tensor(crow, cols, values, (n_edges, n_edges),
                                       check_invariants=False)


class _MessageOp(torch.autograd.Function):
    """``A @ h`` with the transpose precomputed for the backward pass."""

    @staticmethod
    def forward(ctx, a: Tensor, a_t: Tensor, h: Tensor) -> Tensor:  # noqa: D102
        ctx.a_t = a_t
        return a @ h

    @staticmethod
    def backward(ctx, grad: Tensor):  # noqa: D102
        return None, None, ctx.a_t @ grad


class DMPNN(nn.Module):
    r"""Directed message-passing neural network (D-MPNN) with a feed-forward head.

    From `"Analyzing Learned Molecular Representations for Property Prediction"
    <https://doi.org/10.1021/acs.jcim.9b00237>`_ (Yang et al., 2019), in the form of
    chemprop v2 (Heid et al., 2024). For a directed bond :math:`v \to w` with atom
    features :math:`\mathbf{x}_v` and bond features :math:`\mathbf{e}_{vw}`:

    .. math::
        \mathbf{a}_{vw} &= \mathbf{W}_i \left[ \mathbf{x}_v \,\Vert\, \mathbf{e}_{vw} \right],
            \qquad \mathbf{h}^{(0)}_{vw} = \tau(\mathbf{a}_{vw})

        \mathbf{m}^{(t)}_{vw} &= \sum_{u \in \mathcal{N}(v) \setminus w} \mathbf{h}^{(t-1)}_{uv}
            = \sum_{u \in \mathcal{N}(v)} \mathbf{h}^{(t-1)}_{uv} - \mathbf{h}^{(t-1)}_{wv}

        \mathbf{h}^{(t)}_{vw} &= \tau \left( \mathbf{a}_{vw} + \mathbf{W}_h \mathbf{m}^{(t)}_{vw}
            \right), \qquad t = 1, \dots, T - 1

        \mathbf{h}_v &= \tau \left( \mathbf{W}_o \left[ \mathbf{x}_v \,\Vert\,
            \sum_{u \in \mathcal{N}(v)} \mathbf{h}^{(T-1)}_{uv} \right] \right)

        \hat{y} &= \mathrm{FFN} \left( \operatorname{aggr}_{v \in G} \mathbf{h}_v \right)

    with :math:`\tau` = ReLU, :math:`\mathbf{W}_h` shared across steps, dropout after each
    update and after the atom readout (as in chemprop), :math:`T` = ``num_layers`` (chemprop's
    ``depth``, so :math:`T - 1` message steps) and aggr a mean or sum over each molecule's atoms.
    The message step is one sparse product :math:`\mathbf{m} = A\mathbf{h}` with
    :math:`A_{vw,uv'} = [v' = v][u \ne w]` (the sum of the bonds entering :math:`v` minus
    the reverse bond), built per batch from the edge list and the reverse-edge index with
    sorts and ``repeat_interleave``; :math:`A^\top` is built with it for the backward pass.
    Atom readout and pooling are ``index_add_``. The reverse-edge index
    :math:`vw \mapsto wv` is fixed at featurisation (:func:`reverse_edge_index`).

    Args:
        in_channels (int): Atom feature size :math:`d_v`.
        edge_dim (int): Bond feature size :math:`d_e`.
        hidden_channels (int, optional): Bond and atom hidden size. (default: :obj:`300`)
        num_layers (int, optional): Depth :math:`T` (chemprop's ``depth``). (default: :obj:`3`)
        dropout (float, optional): Dropout probability. (default: :obj:`0.0`)
        aggr (str, optional): Molecule readout, :obj:`"mean"` or :obj:`"sum"`.
            (default: :obj:`"mean"`)
        out_channels (int, optional): Outputs per molecule. (default: :obj:`1`)
        ffn_hidden_channels (int, optional): Hidden size of the head. (default: :obj:`300`)
        ffn_num_layers (int, optional): Hidden layers of the head. (default: :obj:`1`)
        bias (bool, optional): Bias in :math:`\mathbf{W}_i` and :math:`\mathbf{W}_h`
            (chemprop's default is no bias). (default: :obj:`False`)

    Shapes:
        - **input:** atom features :math:`(|\mathcal{V}|, d_v)`, edge indices
          :math:`(2, |\mathcal{E}|)` (both directions of every bond), bond features
          :math:`(|\mathcal{E}|, d_e)`, reverse-edge index :math:`(|\mathcal{E}|)`,
          batch vector :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** :math:`(n_\text{graphs}, \text{out\_channels})`
    """

    def __init__(
        self,
        in_channels: int,
        edge_dim: int,
        hidden_channels: int = 300,
        num_layers: int = 3,
        dropout: float = 0.0,
        aggr: str = "mean",
        out_channels: int = 1,
        ffn_hidden_channels: int = 300,
        ffn_num_layers: int = 1,
        bias: bool = False,
    ) -> None:
        super().__init__()
        if aggr not in ("mean", "sum"):
            raise ValueError(f"aggr must be 'mean' or 'sum'; got {aggr!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1; got {num_layers}")
        self.in_channels = in_channels
        self.edge_dim = edge_dim
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.dropout = dropout
        self.aggr = aggr
        self.out_channels = out_channels
        self.ffn_hidden_channels = ffn_hidden_channels
        self.ffn_num_layers = ffn_num_layers
        self.bias = bias
        #: Message step as a sparse product (True) or with gathers + ``index_add_``
        #: (False); the two are the same function (tests check both).
        self.sparse_messages = True

        self.W_i = nn.Linear(in_channels + edge_dim, hidden_channels, bias=bias)
        self.W_h = nn.Linear(hidden_channels, hidden_channels, bias=bias)
        self.W_o = nn.Linear(in_channels + hidden_channels, hidden_channels)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        width = hidden_channels
        for _ in range(ffn_num_layers):
            layers += [nn.Dropout(dropout), nn.Linear(width, ffn_hidden_channels), nn.ReLU()]
            width = ffn_hidden_channels
        layers += [nn.Dropout(dropout), nn.Linear(width, out_channels)]
        self.ffn = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter (PyTorch's default init)."""
        for module in (self.W_i, self.W_h, self.W_o):
            module.reset_parameters()
        for module in self.ffn:
            if isinstance(module, nn.Linear):
                module.reset_parameters()

    def encode(
        self,
        x: Tensor,
        edge_index: Tensor,
        edge_attr: Tensor,
        rev_index: Tensor,
        batch: Tensor | None = None,
        num_graphs: int | None = None,
    ) -> Tensor:
        """Molecule embeddings after message passing and readout, shape (n_graphs, hidden)."""
        n_atoms = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        h0 = self.W_i(torch.cat([x[src], edge_attr], dim=1))  # E x d_h
        h = self.act(h0)
        if self.num_layers > 1 and edge_index.shape[1] > 0 and not self.sparse_messages:
            for _ in range(1, self.num_layers):  # index form: gathers and one index_add_
                incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)  # V x d_h
                m = incoming[src] - h[rev_index]  # E x d_h
                h = self.drop(self.act(h0 + self.W_h(m)))
        elif self.num_layers > 1 and edge_index.shape[1] > 0:
            # m = (sum of bonds entering v) - (reverse bond), as one sparse product A @ h
            # (A: E x E, about E * (mean degree - 1) ones), with A^T ready for backward.
            with torch.no_grad():
                a = _exclusive_adjacency(src, dst, rev_index, n_atoms, h.dtype)
                a_t = _exclusive_adjacency(dst, src, rev_index, n_atoms, h.dtype)
            for _ in range(1, self.num_layers):
                m = _MessageOp.apply(a, a_t, h)  # E x d_h
                h = self.drop(self.act(torch.addmm(h0, m, self.W_h.weight.t())
                                       if self.W_h.bias is None else h0 + self.W_h(m)))
        incoming = h.new_zeros(n_atoms, h.shape[1]).index_add_(0, dst, h)
        h_atom = self.drop(self.act(self.W_o(torch.cat([x, incoming], dim=1))))  # V x d_h
        if batch is None:
            batch = torch.zeros(n_atoms, dtype=torch.long, device=x.device)
            num_graphs = 1
        elif num_graphs is None:
            num_graphs = int(batch.max()) + 1 if n_atoms else 0
        out = h_atom.new_zeros(num_graphs, h_atom.shape[1]).index_add_(0, batch, h_atom)
        if self.aggr == "mean":
            counts = torch.bincount(batch, minlength=num_graphs).clamp_(min=1)
            out = out / counts.unsqueeze(1).to(out.dtype)
        return out

    def forward(self, *graph: Tensor | int | None) -> Tensor:
        """Predict one row per molecule, shape (n_graphs, out_channels).

        ``graph``: the arguments of :meth:`encode`, ``(x, edge_index, edge_attr, rev_index,
        batch=None, num_graphs=None)``.
        """
        return self.ffn(self.encode(*graph))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.edge_dim}, "
            f"hidden_channels={self.hidden_channels}, num_layers={self.num_layers}, "
            f"dropout={self.dropout}, aggr={self.aggr!r}, out_channels={self.out_channels})"
        )


class _DMPNNOnGraphs(nn.Module):
    """:class:`DMPNN` on a batch from :class:`PackedGraphs` (one-hot atom and bond features).

    The featuriser stores the two directions of a bond as edges ``2k`` and ``2k + 1`` of
    every molecule and of every gathered batch, so the reverse-edge index is ``e ^ 1``:
    it is fixed by featurisation and costs one ``arange`` per batch.
    """

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.dmpnn = DMPNN(ATOM_FEATURE_DIM, BOND_FEATURE_DIM, **params)

    def reset_parameters(self) -> None:
        self.dmpnn.reset_parameters()

    def forward(self, data) -> Tensor:
        x = one_hot_atoms(data.x)
        edge_attr = one_hot_bonds(data.edge_attr)
        n_edges = data.edge_index.shape[1]
        rev = torch.arange(n_edges, device=x.device) ^ 1
        out = self.dmpnn(x, data.edge_index, edge_attr, rev, data.batch, int(data.num_graphs))
        return out.squeeze(-1)

    def __repr__(self) -> str:
        return repr(self.dmpnn)


@register_backbone("dmpnn")
@params_class
class DMPNNBackbone(TorchBackbone, MPNNParams):
    """``dmpnn``: chemprop-style directed message passing (:class:`DMPNN`).

    Atom and bond features are the one-hot encodings of :class:`PackedGraphs` (featurised
    once per molecule set); training uses :class:`cliffkit.train.Trainer`. The defaults
    follow chemprop v2 (hidden size 300, depth 3, mean aggregation, one 300-wide FFN layer).

    Parameters
    ----------
    hidden_channels : int, default=300
        Hidden size of the bond and atom states (chemprop ``--message-hidden-dim``).
    num_layers : int, default=3
        Depth :math:`T` (chemprop ``--depth``).
    dropout : float, default=0.0
    aggr : {"mean", "sum"}, default="mean"
        Readout over a molecule's atoms.
    ffn_hidden_channels : int, default=300
    ffn_num_layers : int, default=1
    epochs, batch_size, lr, weight_decay, patience, criterion, device, random_state, show_progress
        Keyword-only trainer settings (:class:`~cliffkit.train.TrainerParams`), with
        the defaults there.

    Examples
    --------
    >>> from cliffkit.models import get_backbone
    >>> get_backbone("dmpnn", hidden_channels=64)  # doctest: +ELLIPSIS
    DMPNNBackbone(hidden_channels=64, num_layers=3, ...)
    """

    _parameter_constraints: ClassVar[dict] = {
        **TorchBackbone._parameter_constraints,
        **MPNNParams._parameter_constraints,
        "aggr": [Options("mean", "sum")],
        "ffn_num_layers": [Interval(int, 0, None)],
    }

    def _make_inputs(self, smiles: list[str]) -> PackedGraphs:
        return PackedGraphs.from_smiles(smiles)

    def _build_module(self) -> _DMPNNOnGraphs:
        return _DMPNNOnGraphs(**self.mpnn_params())
