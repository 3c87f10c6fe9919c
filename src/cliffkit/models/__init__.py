"""Backbones behind one interface: ``mlp``, ``lgbm``, ``svm``, ``gin``, ``dmpnn``, ``schnet``.

- :class:`Backbone` — ``fit(train, val, *, target, sample_weight, loss, pairs,
  batch_sampler, epoch_callback)``, ``predict``, ``save``, ``load`` (contract in
  :mod:`cliffkit.models._base`); :class:`TorchBackbone` — base of the torch ones.
- Registry: :func:`get_backbone`, :func:`list_backbones`, :func:`register_backbone`.
- Wrappers (mitigations that change the model; a Backbone around a base backbone):
  :data:`WRAPPERS` (``ensemble``, ``blend``, ``anchor-delta``), :func:`wrap`.
- Featurisation: :func:`ecfp_features`, :class:`PackedGraphs` (packed RDKit graphs with a
  vectorised ``batch(idx)``), :func:`to_graphs`, :class:`TensorBatcher`, feature sizes.

Heavy modules (torch, PyG, LightGBM) are imported on first use.
"""

from __future__ import annotations

from ..utils import lazy_exports
from ._base import Backbone, load_backbone
from ._registry import (
    BACKBONES,
    WRAPPERS,
    check_backbone_params,
    get_backbone,
    get_backbone_class,
    list_backbones,
    list_wrappers,
    register_backbone,
)

_LAZY = {
    "TorchBackbone": "._torch",
    "latent_layer": "._torch",
    "ATOM_FIELD_SIZES": "._featurize",
    "BOND_FIELD_SIZES": "._featurize",
    "ATOM_FEATURE_DIM": "._featurize",
    "BOND_FEATURE_DIM": "._featurize",
    "PackedGraphs": "._featurize",
    "TensorBatcher": "._featurize",
    "to_graphs": "._featurize",
    "ecfp_features": "._featurize",
    "one_hot_atoms": "._featurize",
    "one_hot_bonds": "._featurize",
    "MLP": "._mlp",
    "MLPBackbone": "._mlp",
    "GIN": "._gin",
    "GINBackbone": "._gin",
    "FeatureEncoder": "._gin",
    "LGBMBackbone": "._lgbm",
    "SVMBackbone": "._svm",
    "tanimoto_kernel": "._svm",
    "DMPNN": "._dmpnn",
    "DMPNNBackbone": "._dmpnn",
    "reverse_edge_index": "._dmpnn",
    "SchNet": "._schnet",
    "SchNetBackbone": "._schnet",
    "RadiusGraph": "._schnet",
    "radius_graph": "._schnet",
    "Geometries": "._conformers",
    "embed_conformers": "._conformers",
    "get_geometries": "._conformers",
    "load_qm9_geometries": "._conformers",
    "ChempropBackbone": "._chemprop",
    "wrap": "._wrappers",
    "WrappedBackbone": "._wrappers",
    "EnsembleBackbone": "._wrappers",
    "BlendBackbone": "._wrappers",
    "choose_blend_weight": "._wrappers",
    "AnchorDeltaBackbone": "._anchor",
    "fit_chemprop_split": "._chemprop",
}

__all__ = [
    "Backbone",
    "BACKBONES",
    "WRAPPERS",
    "check_backbone_params",
    "get_backbone",
    "get_backbone_class",
    "list_backbones",
    "list_wrappers",
    "load_backbone",
    "register_backbone",
    *_LAZY,
]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
