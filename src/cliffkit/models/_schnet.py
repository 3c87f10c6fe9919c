"""SchNet on plain tensors: PyG's model with a radius graph computed in torch.

PyG's default interaction graph calls ``torch_geometric.nn.radius_graph``, which needs
the optional ``torch-cluster`` package. :class:`RadiusGraph` computes the same graph
with dense per-molecule blocks (molecules have tens of atoms, so all pairs of a batch
are cheap) and is passed to PyG's ``SchNet`` as its ``interaction_graph``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from ..utils import Interval, Options, params_class
from ._base import _smiles_of
from ._featurize import PackedGraphs
from ._registry import register_backbone
from ._torch import TorchBackbone

__all__ = ["RadiusGraph", "SchNet", "SchNetBackbone", "pack_geometries", "radius_graph"]


def radius_graph(
    pos: Tensor,
    batch: Tensor | None = None,
    *,
    cutoff: float = 5.0,
    max_num_neighbors: int | None = 32,
) -> Tensor:
    """All ordered pairs of distinct atoms of one molecule closer than ``cutoff``.

    Parameters
    ----------
    pos : torch.Tensor, shape (n_atoms, 3)
        Coordinates.
    batch : torch.LongTensor, shape (n_atoms,), optional
        Molecule of each atom, sorted ascending (PyG convention). None: one molecule.
    cutoff : float
        Distance cutoff (inclusive), in the units of ``pos``.
    max_num_neighbors : int or None
        Keep at most this many neighbours per atom, the nearest ones (ties by index).
        None keeps all.

    Returns
    -------
    torch.LongTensor, shape (2, n_edges)
        ``(source j, target i)`` pairs (PyG ``flow="source_to_target"``), sorted by target,
        then by distance.
    """
    n = pos.shape[0]
    device = pos.device
    if n == 0:
        return torch.zeros(2, 0, dtype=torch.long, device=device)
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=device)
    counts = torch.bincount(batch)
    starts = torch.cumsum(counts, 0) - counts
    size = counts[batch]  # atoms in each atom's molecule
    # Every atom i pairs with every atom j of its molecule: a ragged block per molecule.
    i = torch.repeat_interleave(torch.arange(n, device=device), size)
    offset = torch.arange(i.shape[0], device=device) - torch.repeat_interleave(
        torch.cumsum(size, 0) - size, size
    )
    j = starts[batch][i] + offset
    keep = i != j
    i, j = i[keep], j[keep]
    dist = (pos[i] - pos[j]).norm(dim=-1)
    keep = dist <= cutoff
    i, j, dist = i[keep], j[keep], dist[keep]
    # Order by target atom, then distance (stable sorts: ties keep ascending j).
    order = torch.argsort(dist, stable=True)
    i, j, dist = i[order], j[order], dist[order]
    order = torch.argsort(i, stable=True)
    i, j = i[order], j[order]
    if max_num_neighbors is not None and i.numel():
        deg = torch.bincount(i, minlength=n)
        rank = torch.arange(i.shape[0], device=device) - (torch.cumsum(deg, 0) - deg)[i]
        keep = rank < max_num_neighbors
        i, j = i[keep], j[keep]
    return torch.stack([j, i], dim=0)


class RadiusGraph(nn.Module):
    """Interaction graph for PyG's ``SchNet``: ``(pos, batch) -> (edge_index, edge_weight)``.

    Args:
        cutoff (float, optional): Cutoff distance. (default: :obj:`5.0`)
        max_num_neighbors (int, optional): Nearest neighbours kept per atom.
            (default: :obj:`32`)
    """

    def __init__(self, cutoff: float = 5.0, max_num_neighbors: int | None = 32) -> None:
        super().__init__()
        self.cutoff = cutoff
        self.max_num_neighbors = max_num_neighbors

    def forward(self, pos: Tensor, batch: Tensor) -> tuple[Tensor, Tensor]:
        edge_index = radius_graph(
            pos, batch, cutoff=self.cutoff, max_num_neighbors=self.max_num_neighbors
        )
        row, col = edge_index
        return edge_index, (pos[row] - pos[col]).norm(dim=-1)

    def extra_repr(self) -> str:
        return f"cutoff={self.cutoff}, max_num_neighbors={self.max_num_neighbors}"


class SchNet(nn.Module):
    r"""SchNet (Schütt et al., 2017) from PyTorch Geometric, without ``torch-cluster``.

    `"SchNet: A Continuous-filter Convolutional Neural Network for Modeling Quantum
    Interactions" <https://arxiv.org/abs/1706.08566>`_. Each interaction block updates
    the atom embeddings with continuous filters of the interatomic distances:

    .. math::
        \mathbf{x}^{\prime}_i = \mathbf{x}_i + \sum_{j \in \mathcal{N}(i)} \mathbf{x}_j
        \odot h_{\mathbf{\Theta}} \left( \exp(-\gamma(d_{ji} - \boldsymbol{\mu})^2) \right),
        \qquad \mathcal{N}(i) = \{ j \ne i : d_{ji} \le r_\text{cut} \},

    then an atom-wise MLP and a sum (or mean) over atoms give one value per molecule.
    The model is ``torch_geometric.nn.models.SchNet`` with :class:`RadiusGraph` as its
    interaction graph, so it is invariant to rotations, translations and atom order.

    Args:
        hidden_channels (int, optional): Embedding size. (default: :obj:`128`)
        num_filters (int, optional): Filter size. (default: :obj:`128`)
        num_layers (int, optional): Interaction blocks. (default: :obj:`6`)
        num_gaussians (int, optional): Radial basis size. (default: :obj:`50`)
        cutoff (float, optional): Cutoff distance in Angstrom. (default: :obj:`5.0`)
        max_num_neighbors (int, optional): Nearest neighbours per atom. (default: :obj:`32`)
        readout (str, optional): :obj:`"add"` or :obj:`"mean"` over atoms.
            (default: :obj:`"add"`)
        dropout (float, optional): Not used by SchNet; kept for the shared PyG names
            and must be 0. (default: :obj:`0.0`)

    Shapes:
        - **input:** atomic numbers :math:`(|\mathcal{V}|)`, positions
          :math:`(|\mathcal{V}|, 3)`, batch vector :math:`(|\mathcal{V}|)` *(optional)*
        - **output:** :math:`(n_\text{graphs}, 1)`
    """

    def __init__(
        self,
        hidden_channels: int = 128,
        num_filters: int = 128,
        num_layers: int = 6,
        num_gaussians: int = 50,
        cutoff: float = 5.0,
        max_num_neighbors: int | None = 32,
        readout: str = "add",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        from torch_geometric.nn.models import SchNet as PyGSchNet

        if dropout != 0.0:
            raise ValueError("SchNet has no dropout; use dropout=0.0")
        self.hidden_channels = hidden_channels
        self.num_filters = num_filters
        self.num_layers = num_layers
        self.num_gaussians = num_gaussians
        self.cutoff = cutoff
        self.max_num_neighbors = max_num_neighbors
        self.readout = readout
        self.dropout = dropout
        self.model = PyGSchNet(
            hidden_channels=hidden_channels,
            num_filters=num_filters,
            num_interactions=num_layers,
            num_gaussians=num_gaussians,
            cutoff=cutoff,
            interaction_graph=RadiusGraph(cutoff, max_num_neighbors),
            readout=readout,
        )

    def reset_parameters(self) -> None:
        """Re-initialise every learnable parameter."""
        self.model.reset_parameters()

    def forward(self, z: Tensor, pos: Tensor, batch: Tensor | None = None,
                num_graphs: int | None = None) -> Tensor:
        """Predict one value per molecule, shape (n_graphs, 1).

        ``num_graphs`` pads the output with zero rows for trailing molecules without atoms
        (never the case for real molecules); PyG's readout sizes by ``batch.max() + 1``.
        """
        out = self.model(z, pos, batch)
        if num_graphs is not None and out.shape[0] < num_graphs:
            pad = out.new_zeros(num_graphs - out.shape[0], out.shape[1])
            out = torch.cat([out, pad], dim=0)
        return out

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(hidden_channels={self.hidden_channels}, "
            f"num_filters={self.num_filters}, num_layers={self.num_layers}, "
            f"num_gaussians={self.num_gaussians}, cutoff={self.cutoff}, "
            f"readout={self.readout!r})"
        )


def pack_geometries(z: list, pos: list) -> PackedGraphs:
    """Pack per-molecule atomic numbers and positions into a :class:`PackedGraphs` batcher.

    The pack has no bonds and no categorical features (``x`` has zero columns); a batch
    carries ``z``, ``pos`` (float32), ``batch`` and ``num_graphs``.
    """
    counts = np.array([len(a) for a in z], dtype=np.int64)
    n_atoms = int(counts.sum())
    arrays = {
        "x": np.zeros((n_atoms, 0), dtype=np.int64),
        "z": np.concatenate(z).astype(np.int64) if n_atoms else np.zeros(0, np.int64),
        "edge_index": np.zeros((2, 0), dtype=np.int64),
        "edge_attr": np.zeros((0, 4), dtype=np.int64),
        "node_ptr": np.concatenate([[0], np.cumsum(counts)]),
        "edge_ptr": np.zeros(len(z) + 1, dtype=np.int64),
    }
    packed = PackedGraphs(arrays)
    pos_all = np.concatenate(pos).astype(np.float32) if n_atoms else np.zeros((0, 3), np.float32)
    packed.add_node_attr("pos", torch.from_numpy(np.ascontiguousarray(pos_all)))
    return packed


class _SchNetOnGeometries(SchNet):
    """:class:`SchNet` on a batch from :func:`pack_geometries`."""

    def forward(self, data) -> Tensor:  # type: ignore[override]
        return super().forward(data.z, data.pos, data.batch, int(data.num_graphs)).squeeze(-1)


@register_backbone("schnet")
@params_class
class SchNetBackbone(TorchBackbone):
    """``schnet``: PyG SchNet on 3D geometries with explicit hydrogens.

    Geometries come from :func:`cliffkit.models.get_geometries`: QM9 rows use their DFT
    geometries (``meta["qm9_index"]``), other molecules one RDKit ETKDGv3 + MMFF94
    conformer (seed ``conformer_seed``, cached on disk, failures counted in
    ``geometry_counts_`` and warned about). ``fit`` and ``predict`` given a Dataset use
    its geometries; ``predict`` given bare SMILES embeds RDKit conformers.

    Parameters
    ----------
    hidden_channels : int, default=128
    num_filters : int, default=128
    num_layers : int, default=6
        Interaction blocks.
    num_gaussians : int, default=50
    cutoff : float, default=5.0
        Interaction cutoff in Angstrom.
    max_num_neighbors : int, default=32
    readout : {"add", "mean"}, default="add"
    conformer_seed : int, default=0
        ETKDG seed for RDKit conformers.
    data_dir : str or None, default=None
        Folder with ``qm9_geometries.npz`` (default ``CLIFFKIT_DATA_DIR``, then qm9pack).
    n_jobs : int, default=2
        Processes for conformer generation.
    epochs, batch_size, lr, weight_decay, patience, criterion, device, random_state, show_progress
        Keyword-only trainer settings (:class:`~cliffkit.train.TrainerParams`), with
        the defaults there but ``lr=5e-4``.

    Examples
    --------
    >>> from cliffkit.models import get_backbone
    >>> get_backbone("schnet", num_layers=3)  # doctest: +ELLIPSIS
    SchNetBackbone(hidden_channels=128, num_filters=128, num_layers=3, ...)
    """

    _parameter_constraints: ClassVar[dict] = {
        **TorchBackbone._parameter_constraints,
        "hidden_channels": [Interval(int, 2, None)],
        "num_filters": [Interval(int, 1, None)],
        "num_layers": [Interval(int, 1, None)],
        "num_gaussians": [Interval(int, 1, None)],
        "cutoff": [Interval(float, 0.0, None, closed="neither")],
        "max_num_neighbors": [Interval(int, 1, None), None],
        "readout": [Options("add", "mean")],
        "conformer_seed": [Interval(int, 0, None)],
        "data_dir": [str, None],
        "n_jobs": [Interval(int, 1, None)],
    }

    hidden_channels: int = 128
    num_filters: int = 128
    num_layers: int = 6
    num_gaussians: int = 50
    cutoff: float = 5.0
    max_num_neighbors: int | None = 32
    readout: str = "add"
    conformer_seed: int = 0
    data_dir: str | None = None
    n_jobs: int = 2
    lr: float = field(default=5e-4, kw_only=True)

    # Geometries are looked up by SMILES (a Dataset's SMILES are canonical and unique).
    def _register_geometries(self, data: Any) -> None:
        from ._conformers import get_geometries

        if not hasattr(data, "smiles"):
            return
        known = getattr(self, "_geometries", {})
        smiles = _smiles_of(data)
        if all(s in known for s in smiles):
            return
        geo = get_geometries(data, data_dir=self.data_dir, random_state=self.conformer_seed,
                             n_jobs=self.n_jobs, show_progress=self.show_progress)
        for s, z, p, st in zip(smiles, geo.z, geo.pos, geo.status, strict=True):
            known[s] = (z, p, st)
        self._geometries = known

    def fit(self, train: Any, val: Any, **kwargs: Any) -> SchNetBackbone:
        self._validate_params()
        self._geometries = {}
        self._register_geometries(train)
        self._register_geometries(val)
        super().fit(train, val, **kwargs)
        status = [self._geometries[s][2] for s in _smiles_of(train)]
        self.geometry_counts_ = {str(k): int(v) for k, v in zip(*np.unique(status, return_counts=True),
                                                           strict=True)}
        return self

    fit.__doc__ = TorchBackbone.fit.__doc__

    def predict(self, data: Any) -> np.ndarray:
        self._check_fitted()
        self._register_geometries(data)
        return super().predict(data)

    predict.__doc__ = TorchBackbone.predict.__doc__

    def _make_inputs(self, smiles: list[str]) -> PackedGraphs:
        from ._conformers import embed_conformers

        known = getattr(self, "_geometries", {})
        self._geometries = known
        missing = [s for s in dict.fromkeys(smiles) if s not in known]
        if missing:
            geo = embed_conformers(missing, random_state=self.conformer_seed, n_jobs=self.n_jobs,
                                   show_progress=self.show_progress)
            for s, z, p, st in zip(missing, geo.z, geo.pos, geo.status, strict=True):
                known[s] = (z, p, st)
        return pack_geometries([known[s][0] for s in smiles], [known[s][1] for s in smiles])

    def _build_module(self) -> _SchNetOnGeometries:
        return _SchNetOnGeometries(
            hidden_channels=self.hidden_channels,
            num_filters=self.num_filters,
            num_layers=self.num_layers,
            num_gaussians=self.num_gaussians,
            cutoff=self.cutoff,
            max_num_neighbors=self.max_num_neighbors,
            readout=self.readout,
        )

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(),
                "geometry_counts_": getattr(self, "geometry_counts_", {})}
