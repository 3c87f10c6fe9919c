r"""Featurisation, done once per molecule set: ECFP bit vectors and packed molecular graphs.

Graphs are stored **packed**: all atoms of all molecules in one tensor, all bonds in
another, with pointers. A training batch is gathered from the pack by index with a few
vectorised tensor operations, so no Python code runs per molecule after featurisation.

Atom features (categorical; ``x`` is a LongTensor of shape ``(n_atoms, 8)``)::

    element   H B C N O F Na Si P S Cl K Se Br I | other      (16)
    degree    0 1 2 3 4 5 | 6+                                  (7)
    charge    -2 -1 0 +1 +2 | other                             (6)
    n_Hs      0 1 2 3 4 | 5+                                    (6)
    hybrid    S SP SP2 SP3 SP3D SP3D2 | other                   (7)
    aromatic  no yes                                            (2)
    in_ring   no yes                                            (2)
    chirality unspecified CW CCW | other                        (4)

Bond features (categorical; ``edge_attr`` is a LongTensor of shape ``(n_edges, 4)``)::

    type        single double triple aromatic | other           (5)
    conjugated  no yes                                          (2)
    in_ring     no yes                                          (2)
    stereo      none any Z E cis trans                          (6)

Column ``j`` of ``x`` holds an index in ``range(ATOM_FIELD_SIZES[j])``. A linear layer
on the one-hot encoding (:func:`one_hot_atoms`) equals a sum of per-field embeddings
(:class:`~cliffkit.models.FeatureEncoder`), which is what the graph backbones use.

Edges are directed and stored in pairs: edge ``2k`` is ``u → v`` and edge ``2k + 1`` is
``v → u`` (within each molecule and, because every molecule has an even number of edges,
also in every gathered batch). So the reverse of edge ``e`` is ``e ^ 1`` (D-MPNN needs it).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..similarity import N_BITS, RADIUS

__all__ = [
    "ATOM_FIELD_SIZES",
    "BOND_FIELD_SIZES",
    "ATOM_FEATURE_DIM",
    "BOND_FEATURE_DIM",
    "PackedGraphs",
    "TensorBatcher",
    "to_graphs",
    "ecfp_features",
    "one_hot_atoms",
    "one_hot_bonds",
]

_ELEMENTS = (1, 5, 6, 7, 8, 9, 11, 14, 15, 16, 17, 19, 34, 35, 53)
ATOM_FIELD_SIZES: tuple[int, ...] = (len(_ELEMENTS) + 1, 7, 6, 6, 7, 2, 2, 4)
BOND_FIELD_SIZES: tuple[int, ...] = (5, 2, 2, 6)
ATOM_FEATURE_DIM = int(sum(ATOM_FIELD_SIZES))  # width of the one-hot atom encoding
BOND_FEATURE_DIM = int(sum(BOND_FIELD_SIZES))

_ELEMENT_INDEX = np.full(256, len(_ELEMENTS), dtype=np.int64)
_ELEMENT_INDEX[list(_ELEMENTS)] = np.arange(len(_ELEMENTS))


def _lookup_tables():
    from rdkit import Chem

    hyb = Chem.rdchem.HybridizationType
    hybrid = {hyb.S: 0, hyb.SP: 1, hyb.SP2: 2, hyb.SP3: 3, hyb.SP3D: 4, hyb.SP3D2: 5}
    ch = Chem.rdchem.ChiralType
    chiral = {ch.CHI_UNSPECIFIED: 0, ch.CHI_TETRAHEDRAL_CW: 1, ch.CHI_TETRAHEDRAL_CCW: 2}
    bt = Chem.rdchem.BondType
    btype = {bt.SINGLE: 0, bt.DOUBLE: 1, bt.TRIPLE: 2, bt.AROMATIC: 3}
    st = Chem.rdchem.BondStereo
    stereo = {st.STEREONONE: 0, st.STEREOANY: 1, st.STEREOZ: 2, st.STEREOE: 3,
              st.STEREOCIS: 4, st.STEREOTRANS: 5}
    return hybrid, chiral, btype, stereo


def _parse(smiles: Sequence[str]) -> list:
    from rdkit import RDLogger

    from ..data import check_parsed, mol_from_smiles

    RDLogger.DisableLog("rdApp.*")
    try:
        # refuses whitespace inside, and empty or blank SMILES (zero atoms: no molecule)
        mols = [mol_from_smiles(str(s)) for s in smiles]
    finally:
        RDLogger.EnableLog("rdApp.*")
    check_parsed(mols, smiles, fix="an empty or blank SMILES is no molecule; fix or remove them")
    return mols


def _featurize_graphs(smiles: Sequence[str]) -> dict[str, np.ndarray]:
    """Packed numpy arrays for the molecules (see the module docstring)."""
    hybrid, chiral, btype, stereo = _lookup_tables()
    mols = _parse(smiles)
    atom_rows: list[tuple] = []
    z_all: list[int] = []
    src: list[int] = []
    dst: list[int] = []
    bond_rows: list[tuple] = []
    n_atoms = np.zeros(len(mols), dtype=np.int64)
    n_edges = np.zeros(len(mols), dtype=np.int64)
    for m_i, mol in enumerate(mols):
        n_atoms[m_i] = mol.GetNumAtoms()
        for a in mol.GetAtoms():
            z = a.GetAtomicNum()
            z_all.append(z)
            atom_rows.append((
                min(a.GetDegree(), 6),
                a.GetFormalCharge(),
                min(a.GetTotalNumHs(), 5),
                hybrid.get(a.GetHybridization(), 6),
                int(a.GetIsAromatic()),
                int(a.IsInRing()),
                chiral.get(a.GetChiralTag(), 3),
            ))
        for b in mol.GetBonds():
            u, v = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
            src += (u, v)
            dst += (v, u)
            row = (btype.get(b.GetBondType(), 4), int(b.GetIsConjugated()),
                   int(b.IsInRing()), stereo.get(b.GetStereo(), 0))
            bond_rows += (row, row)
        n_edges[m_i] = 2 * mol.GetNumBonds()
    z = np.asarray(z_all, dtype=np.int64)
    a = np.asarray(atom_rows, dtype=np.int64).reshape(-1, 7)
    charge = a[:, 1] + 2
    charge[(charge < 0) | (charge > 4)] = 5
    x = np.column_stack([_ELEMENT_INDEX[np.minimum(z, 255)], a[:, 0], charge, a[:, 2:]])
    edge_attr = np.asarray(bond_rows, dtype=np.int64).reshape(-1, 4)
    edge_index = np.vstack([np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)])
    return {
        "x": x,
        "z": z,
        "edge_index": edge_index.reshape(2, -1),
        "edge_attr": edge_attr,
        "node_ptr": np.concatenate([[0], np.cumsum(n_atoms)]),
        "edge_ptr": np.concatenate([[0], np.cumsum(n_edges)]),
    }


# A small in-process cache, so that seeds and backbones reuse one featurisation.
_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_SIZE = 8


def _read_only(value):
    """Freeze the arrays of a cache entry (an array, or a dict of arrays) in place."""
    for a in value.values() if isinstance(value, dict) else (value,):
        a.setflags(write=False)
    return value


def _cached(kind: str, smiles: Sequence[str], params: tuple, build):
    """``build()``'s arrays, shared by every caller with these SMILES and params.

    The arrays are read-only: a caller that edited them in place would change what
    every later call returns; copy them (``np.array(x)``) to edit.
    """
    h = hashlib.sha256("\n".join(map(str, smiles)).encode()).hexdigest()
    key = (kind, params, h, len(smiles))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = _read_only(build())
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def ecfp_features(smiles: Sequence[str], *, radius: int = RADIUS, n_bits: int = N_BITS) -> np.ndarray:
    """Unpacked ECFP (Morgan) bits, shape ``(n_samples, n_bits)``, dtype uint8.

    The bits of :func:`cliffkit.similarity.compute_fingerprints` (RDKit's
    ``rdFingerprintGenerator`` Morgan generator), cached in-process. The array is the
    cache's own and read-only (in-place edits raise ``ValueError``); copy it
    (``np.array(X)``) to edit it.

    Raises
    ------
    InvalidSmilesError
        A SMILES RDKit cannot parse, with whitespace inside, or empty or blank.
    """
    smiles = [str(s) for s in smiles]

    def build():
        from ..similarity import compute_fingerprints

        packed = compute_fingerprints(smiles, radius=radius, n_bits=n_bits)
        return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=1)[:, :n_bits]

    return _cached("ecfp", smiles, (radius, n_bits), build)


def one_hot_atoms(x):
    """One-hot float encoding of categorical atom features, shape ``(n_atoms, ATOM_FEATURE_DIM)``."""
    return _one_hot(x, ATOM_FIELD_SIZES)


def one_hot_bonds(edge_attr):
    """One-hot float encoding of categorical bond features, ``(n_edges, BOND_FEATURE_DIM)``."""
    return _one_hot(edge_attr, BOND_FIELD_SIZES)


def _one_hot(codes, sizes):
    import torch

    offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(sizes)[:-1]]), device=codes.device)
    out = torch.zeros(codes.shape[0], int(sum(sizes)), device=codes.device)
    out.scatter_(1, codes + offsets, 1.0)
    return out


class TensorBatcher:
    """Rows of one feature tensor; ``batch(idx)`` returns ``X[idx]`` (float32).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    """

    def __init__(self, X: Any) -> None:
        import torch

        # a copy: X may be the read-only feature cache (as_tensor would share it)
        self.X = torch.tensor(np.asarray(X), dtype=torch.float32)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def to(self, device: Any) -> TensorBatcher:
        self.X = self.X.to(device)
        return self

    def batch(self, idx: Any):
        return self.X[idx]


class PackedGraphs:
    """All molecular graphs of a set in one pack; ``batch(idx)`` gathers a PyG batch.

    Attributes
    ----------
    x : LongTensor, shape (n_atoms, 8)
        Categorical atom features (module docstring).
    z : LongTensor, shape (n_atoms,)
        Atomic numbers.
    edge_index : LongTensor, shape (2, n_edges)
        Molecule-local atom indices; directed edges in reverse pairs.
    edge_attr : LongTensor, shape (n_edges, 4)
        Categorical bond features.
    node_ptr, edge_ptr : LongTensor, shape (n_graphs + 1,)
        Molecule ``i`` owns atoms ``node_ptr[i]:node_ptr[i+1]`` and edges
        ``edge_ptr[i]:edge_ptr[i+1]``.
    node_attrs : dict of str to Tensor
        Extra per-atom tensors (e.g. ``"pos"``) added with :meth:`add_node_attr`;
        gathered like ``x``.

    Examples
    --------
    >>> g = PackedGraphs.from_smiles(["CCO", "c1ccccc1"])
    >>> b = g.batch([1, 0])
    >>> b.num_graphs, b.x.shape[0], b.edge_index.shape[1]
    (2, 9, 16)
    """

    def __init__(self, arrays: dict[str, Any]) -> None:
        import torch

        # copies: the arrays may be the read-only in-process cache, which as_tensor would
        # share (an in-place edit of one pack would change every later from_smiles)
        self.x = torch.tensor(arrays["x"], dtype=torch.long)
        self.z = torch.tensor(arrays["z"], dtype=torch.long)
        self.edge_index = torch.tensor(arrays["edge_index"], dtype=torch.long)
        self.edge_attr = torch.tensor(arrays["edge_attr"], dtype=torch.long)
        self.node_ptr = torch.tensor(arrays["node_ptr"], dtype=torch.long)
        self.edge_ptr = torch.tensor(arrays["edge_ptr"], dtype=torch.long)
        self.node_attrs: dict[str, Any] = {}

    @classmethod
    def from_smiles(cls, smiles: Sequence[str]) -> PackedGraphs:
        """Featurise SMILES (cached in-process by content; each pack owns its tensors).

        Raises InvalidSmilesError for a SMILES RDKit cannot parse, with whitespace
        inside, or empty or blank.
        """
        smiles = [str(s) for s in smiles]
        arrays = _cached("graphs", smiles, (), lambda: _featurize_graphs(smiles))
        return cls(arrays)

    def __len__(self) -> int:
        return int(self.node_ptr.shape[0] - 1)

    def __repr__(self) -> str:
        return (f"PackedGraphs(n_graphs={len(self)}, n_atoms={self.x.shape[0]}, "
                f"n_edges={self.edge_index.shape[1]})")

    @property
    def n_atoms(self):
        """Atoms per molecule, LongTensor of shape (n_graphs,)."""
        return self.node_ptr[1:] - self.node_ptr[:-1]

    def add_node_attr(self, name: str, value: Any) -> None:
        """Attach an extra per-atom tensor (first dimension ``n_atoms``), e.g. positions."""
        import torch

        value = torch.as_tensor(value)
        if value.shape[0] != self.x.shape[0]:
            raise ValueError(f"{name} has {value.shape[0]} rows; expected {self.x.shape[0]}")
        self.node_attrs[name] = value.to(self.x.device)

    def to(self, device: Any) -> PackedGraphs:
        for k in ("x", "z", "edge_index", "edge_attr", "node_ptr", "edge_ptr"):
            setattr(self, k, getattr(self, k).to(device))
        self.node_attrs = {k: v.to(device) for k, v in self.node_attrs.items()}
        return self

    def batch(self, idx: Any):
        """Gather molecules ``idx`` (in that order) into one PyG ``Data`` batch.

        Returns
        -------
        torch_geometric.data.Data
            With ``x``, ``z``, ``edge_index`` (batch-global), ``edge_attr``, ``batch``
            (graph of each atom), ``ptr``, ``num_graphs`` and the extra node attributes.
        """
        import torch
        from torch_geometric.data import Data

        dev = self.x.device
        idx = torch.as_tensor(idx, dtype=torch.long, device=dev)
        b = idx.numel()
        n_start = self.node_ptr[idx]
        n_cnt = self.node_ptr[idx + 1] - n_start
        e_start = self.edge_ptr[idx]
        e_cnt = self.edge_ptr[idx + 1] - e_start
        new_nptr = torch.zeros(b + 1, dtype=torch.long, device=dev)
        torch.cumsum(n_cnt, 0, out=new_nptr[1:])
        new_eptr = torch.zeros(b + 1, dtype=torch.long, device=dev)
        torch.cumsum(e_cnt, 0, out=new_eptr[1:])
        n_tot = int(new_nptr[-1])
        e_tot = int(new_eptr[-1])
        graph_of_node = torch.repeat_interleave(torch.arange(b, device=dev), n_cnt,
                                                output_size=n_tot)
        node_src = (torch.arange(n_tot, device=dev)
                    + (n_start - new_nptr[:-1]).repeat_interleave(n_cnt, output_size=n_tot))
        graph_of_edge = torch.repeat_interleave(torch.arange(b, device=dev), e_cnt,
                                                output_size=e_tot)
        edge_src = (torch.arange(e_tot, device=dev)
                    + (e_start - new_eptr[:-1])[graph_of_edge])
        edge_index = self.edge_index[:, edge_src] + new_nptr[:-1][graph_of_edge]
        data = Data(
            x=self.x[node_src],
            z=self.z[node_src],
            edge_index=edge_index,
            edge_attr=self.edge_attr[edge_src],
            batch=graph_of_node,
            ptr=new_nptr,
        )
        for k, v in self.node_attrs.items():
            data[k] = v[node_src]
        data.num_graphs = b
        return data

    def to_data_list(self) -> list:
        """One PyG ``Data`` per molecule (molecule-local edge indices)."""
        from torch_geometric.data import Data

        out = []
        for i in range(len(self)):
            a, b = int(self.node_ptr[i]), int(self.node_ptr[i + 1])
            c, d = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
            data = Data(x=self.x[a:b], z=self.z[a:b], edge_index=self.edge_index[:, c:d],
                        edge_attr=self.edge_attr[c:d])
            for k, v in self.node_attrs.items():
                data[k] = v[a:b]
            out.append(data)
        return out


def to_graphs(smiles: Sequence[str]) -> list:
    """One PyG ``Data`` per SMILES (``x``, ``z``, ``edge_index``, ``edge_attr``; see module doc).

    For training, prefer :meth:`PackedGraphs.from_smiles` and ``batch(idx)``: it gathers a
    batch without Python work per molecule.
    """
    return PackedGraphs.from_smiles(smiles).to_data_list()
