"""Datasets: a registry of named datasets and loaders that return one :class:`Dataset` type.

>>> from cliffkit.data import load_dataset, list_datasets
>>> ds = load_dataset("lipophilicity")
>>> len(ds), ds.target_names, ds.units
(4200, ['logD'], ['logD'])

See ``docs/data.md`` for provenance, licences, units and the standardisation policy.
"""

from ._cache import cache_dir
from ._dataset import Dataset, DroppedRow, LoadReport, MergedGroup
from ._describe import describe_dataset
from ._loaders import (
    FILES_DIR,
    HARTREE_TO_EV,
    LINEAR_SCALE_FOLD,
    LOADER_VERSION,
    load_dataset,
    moleculeace_sets,
    warn_linear_scale,
)
from ._read import read_table
from ._registry import DatasetInfo, TargetSpec, get_dataset_info, list_datasets, register_dataset
from ._standardize import (
    STANDARDIZE_MODES,
    canonicalize,
    check_parsed,
    is_molecule,
    mol_from_smiles,
)

__all__ = [
    "Dataset",
    "DatasetInfo",
    "DroppedRow",
    "FILES_DIR",
    "HARTREE_TO_EV",
    "LINEAR_SCALE_FOLD",
    "LOADER_VERSION",
    "LoadReport",
    "MergedGroup",
    "TargetSpec",
    "cache_dir",
    "STANDARDIZE_MODES",
    "canonicalize",
    "check_parsed",
    "describe_dataset",
    "get_dataset_info",
    "list_datasets",
    "load_dataset",
    "is_molecule",
    "mol_from_smiles",
    "moleculeace_sets",
    "read_table",
    "register_dataset",
    "warn_linear_scale",
]
