"""The dataset registry: one :class:`DatasetInfo` entry per named dataset.

A new dataset is one :func:`register_dataset` call. A CSV shipped in
``cliffkit/data/files/`` needs only ``file``, ``sha256``, ``smiles_col`` and its
:class:`TargetSpec` list; other sources supply a ``loader`` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import unknown_name
from ..utils import Registry, normalize_name

if TYPE_CHECKING:  # pragma: no cover
    from ._dataset import Dataset

__all__ = ["DATASETS", "TargetSpec", "DatasetInfo", "register_dataset", "get_dataset_info", "list_datasets"]


@dataclass(frozen=True)
class TargetSpec:
    """One target: the source column, the name and unit cliffkit uses, and a scale.

    The stored value is ``scale * float(cell)`` (e.g. Hartree to eV).
    """

    column: str
    name: str
    unit: str
    scale: float = 1.0
    description: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset.

    Attributes
    ----------
    name : str
        Registry key (lowercase), e.g. ``"esol"``.
    description : str
        One line.
    targets : tuple of TargetSpec
    source : str
        Where the data come from (short, for tables).
    n_rows : int or None
        Data rows in the source file (header excluded).
    n_molecules : int or None
        Molecules after standardisation (duplicates merged).
    file : str or None
        File name in ``cliffkit/data/files/`` for bundled datasets.
    sha256 : str or None
        Expected sha256 of the source file's bytes.
    smiles_col, id_col : str, str or None
        Source columns of the SMILES and of an identifier.
    loader : callable or None
        ``loader(info, **options) -> Dataset`` for non-bundled sources.
    licence, citation : str
    """

    name: str
    description: str
    targets: tuple[TargetSpec, ...]
    source: str
    n_rows: int | None = None
    n_molecules: int | None = None
    file: str | None = None
    sha256: str | None = None
    smiles_col: str = "smiles"
    id_col: str | None = None
    loader: Callable[..., Dataset] | None = field(default=None, compare=False, repr=False)
    licence: str = ""
    citation: str = ""

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self.targets]

    @property
    def units(self) -> list[str]:
        return [t.unit for t in self.targets]

    @property
    def size(self) -> int | None:
        """Molecules after standardisation (falls back to source rows)."""
        return self.n_molecules if self.n_molecules is not None else self.n_rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "n_rows": self.n_rows,
            "n_molecules": self.n_molecules,
            "targets": self.target_names,
            "units": self.units,
            "source": self.source,
            "licence": self.licence,
            "citation": self.citation,
        }


#: The dataset registry (names are case-insensitive).
DATASETS: Registry[DatasetInfo] = Registry("dataset")


def register_dataset(info: DatasetInfo, *, overwrite: bool = False) -> DatasetInfo:
    """Add ``info`` to the registry (``overwrite=True`` replaces an entry of that name)."""
    key = normalize_name(info.name)
    if key in DATASETS and not overwrite:
        raise ValueError(f"dataset {key!r} is already registered")
    if info.loader is None and info.file is None:
        raise ValueError(f"dataset {key!r} needs a bundled file or a loader")
    return DATASETS.register(key, info, overwrite=True)


def get_dataset_info(name: str) -> DatasetInfo:
    """The registry entry of ``name`` (case-insensitive).

    Raises
    ------
    UnknownNameError
        Listing the registered names and the closest one.
    """
    if name in DATASETS:
        return DATASETS.get(name)
    raise unknown_name("dataset", str(name), [*DATASETS, "moleculeace:<name>"])


def list_datasets() -> list[DatasetInfo]:
    """Every registered dataset, in registration order."""
    return [DATASETS.get(name) for name in DATASETS]
