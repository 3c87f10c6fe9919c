"""The one container every loader returns: :class:`Dataset`."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import (
    InvalidDataError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownNameError,
    unknown_name,
)


@dataclass
class DroppedRow:
    """A source row that did not make it into the dataset."""

    row: int  # 1-based line number in the source file (header is line 1)
    reason: str  # "invalid_smiles", "missing_target", "non_numeric_target", ...
    detail: str = ""
    target: str = ""  # for a masked cell (see LoadReport.masked): the target left empty


@dataclass
class MergedGroup:
    """Source rows whose canonical SMILES coincide and were merged (mean of targets)."""

    smiles: str
    rows: list[int]
    values: list[list[float]]  # per source row, per target
    conflicting: bool = False  # spread larger than the conflict tolerance
    #: Per source row, its canonical SMILES as written (without standardisation), given
    #: when loading standardised molecules (``standardize`` "fragment" or "parent"): rows
    #: whose entries differ are different molecules (a salt and its parent) that
    #: standardisation merged, not replicate measurements of one molecule. Empty when
    #: molecules were kept as written (every row is then ``smiles``).
    written: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    """What happened between the source file and the :class:`Dataset`."""

    n_read: int = 0
    dropped: list[DroppedRow] = field(default_factory=list)
    merged: list[MergedGroup] = field(default_factory=list)
    #: Cells of a multi-target source that hold no usable value while the row has a value
    #: for another target: the row is kept and that target is NaN (masked) for it.
    masked: list[DroppedRow] = field(default_factory=list)
    #: Rows whose SMILES has several fragments (salts, mixtures), and what standardisation did.
    n_multi_fragment: int = 0
    standardize: str = "keep"
    #: What the row numbers above count: "line" (of a text file, header = line 1),
    #: "record" (of a Parquet file, 1-based) or "0-based position" (of arrays).
    row_word: str = "line"

    @property
    def n_dropped(self) -> int:
        return len(self.dropped)

    @property
    def n_merged_rows(self) -> int:
        """Rows removed by merging (group size minus one, summed)."""
        return sum(len(g.rows) - 1 for g in self.merged)

    @property
    def n_conflicts(self) -> int:
        return sum(g.conflicting for g in self.merged)

    def masked_by_target(self) -> dict[str, int]:
        """Masked cells per target (rows kept for the other targets)."""
        out: dict[str, int] = {}
        for d in self.masked:
            out[d.target] = out.get(d.target, 0) + 1
        return out

    def dropped_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for d in self.dropped:
            out[d.reason] = out.get(d.reason, 0) + 1
        return out

    @property
    def n_final(self) -> int:
        """Rows left after dropping and merging."""
        return self.n_read - self.n_dropped - self.n_merged_rows

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (:meth:`from_dict` reverses it)."""
        return {
            "n_read": self.n_read,
            "dropped": [asdict(d) for d in self.dropped],
            "merged": [asdict(g) for g in self.merged],
            "masked": [asdict(d) for d in self.masked],
            "n_multi_fragment": self.n_multi_fragment,
            "standardize": self.standardize,
            "row_word": self.row_word,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        return cls(
            n_read=int(data.get("n_read", 0)),
            dropped=[DroppedRow(**d) for d in data.get("dropped", [])],
            merged=[MergedGroup(**g) for g in data.get("merged", [])],
            masked=[DroppedRow(**d) for d in data.get("masked", [])],
            n_multi_fragment=int(data.get("n_multi_fragment", 0)),
            standardize=str(data.get("standardize", "keep")),
            row_word=str(data.get("row_word", "line")),
        )


@dataclass
class Dataset:
    """Molecules with one or more regression targets.

    Attributes
    ----------
    name : str
        Registry name (``"lipophilicity"``) or the file name for user files.
    smiles : numpy.ndarray of str, shape (n_samples,)
        RDKit canonical SMILES, unique: one row per molecule. A Dataset built with a
        repeated SMILES (replicate measurements) is refused with an
        :class:`~cliffkit.errors.InvalidDataError`, since a replicate would be its own
        molecule's cliff partner at similarity 1.0 and could land on the other side of a
        split; :func:`~cliffkit.data.load_dataset` merges replicates (labels averaged,
        ``report.merged``). The check compares strings, so SMILES given by hand must be
        canonical (:func:`~cliffkit.data.canonicalize`) for two spellings of a molecule to
        count as one.
    y : numpy.ndarray of float64, shape (n_samples, n_targets)
        Targets in the units of :attr:`units`. Finite, except that a multi-target
        source may leave a target NaN for a molecule that has a value for another
        target (the cell was empty or unusable; see ``report.masked``). Every consumer
        uses, per target, only the molecules that have its value (:meth:`labelled`).
    target_names, units : list of str, length n_targets
    source : str
        Where the data came from (a path, or ``package:cliffkit/data/files/esol.csv``).
    source_sha256 : str
        sha256 of the source file's bytes.
    report : LoadReport
        Rows read, dropped and merged.
    ids : numpy.ndarray or None, shape (n_samples,)
        Identifiers from the source (first id of a merged group), if any.
    meta : dict
        Anything else a loader knows (e.g. QM9 ``index`` for geometries, licence).
        A value that is a numpy array with one entry per molecule (``shape[0] ==
        n_samples``, e.g. ``meta["qm9_index"]``) is per-row data: :meth:`subset`
        indexes it with the rows.
    """

    name: str
    smiles: np.ndarray
    y: np.ndarray
    target_names: list[str]
    units: list[str]
    source: str = ""
    source_sha256: str = ""
    report: LoadReport = field(default_factory=LoadReport)
    ids: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.smiles = np.asarray(self.smiles, dtype=object)
        y = np.asarray(self.y, dtype=np.float64)
        if y.ndim == 1:
            y = y[:, None]
        self.y = y
        if y.shape[0] != self.smiles.shape[0]:
            raise ShapeMismatchError(
                f"Dataset {self.name!r}: {self.smiles.shape[0]} SMILES but {y.shape[0]} target rows."
            )
        if y.shape[1] != len(self.target_names) or len(self.units) != len(self.target_names):
            raise ShapeMismatchError(
                f"Dataset {self.name!r}: y has {y.shape[1]} columns, "
                f"{len(self.target_names)} target names and {len(self.units)} units."
            )
        self._check_unique_smiles()

    def _check_unique_smiles(self) -> None:
        """Refuse a SMILES string that occurs on more than one row (exact strings: a set of
        hashes, about 10 ms for 130k molecules; nothing is parsed)."""
        if self.smiles.ndim != 1:
            raise ShapeMismatchError(
                f"Dataset {self.name!r}: smiles must have shape (n_samples,); "
                f"got {self.smiles.shape}.")
        smiles = self.smiles.tolist()
        if len(set(smiles)) == len(smiles):
            return
        rows: dict[Any, list[int]] = {}
        for i, s in enumerate(smiles):
            rows.setdefault(s, []).append(i)
        groups = [r for r in rows.values() if len(r) > 1]
        first = min(groups, key=lambda r: r[0])
        n_extra = sum(len(r) - 1 for r in groups)
        at = ", ".join(map(str, first[:5])) + (f" and {len(first) - 5} more" if len(first) > 5 else "")
        raise InvalidDataError(
            f"Dataset {self.name!r}: {len(groups)} SMILES occur on more than one row "
            f"({n_extra} repeated rows of {len(smiles)}), e.g. {smiles[first[0]]!r} at rows {at} "
            "(0-based); a Dataset holds each molecule once (a replicate would be its own cliff "
            "partner at similarity 1.0 and could land on both sides of a split): merge replicates "
            "first, e.g. with load_dataset, which averages them and reports it (report.merged), "
            "or pass the SMILES and y arrays to the splitter, which merges them the same way."
        )

    def __len__(self) -> int:
        return int(self.smiles.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_samples={len(self)}, "
            f"targets={self.target_names!r})"
        )

    @property
    def n_targets(self) -> int:
        return self.y.shape[1]

    def target_index(self, target: str | int | None) -> int:
        """Column of ``target`` (a name or position; None means the only target)."""
        if target is None:
            if self.n_targets != 1:
                names = ", ".join(repr(t) for t in self.target_names[:30]) + (
                    f" and {self.n_targets - 30} more" if self.n_targets > 30 else "")
                raise UnknownNameError(
                    f"Dataset {self.name!r} has {self.n_targets} targets ({names}); choose one "
                    "with target= (on the command line: --target NAME)."
                    if self.n_targets else
                    f"Dataset {self.name!r} has no target (it was loaded as molecules only)."
                )
            return 0
        if isinstance(target, int | np.integer) and not isinstance(target, bool):
            if 0 <= int(target) < self.n_targets:
                return int(target)
            raise unknown_name(f"target of dataset {self.name!r}", str(target), self.target_names)
        if target in self.target_names:
            return self.target_names.index(target)
        raise unknown_name(f"target of dataset {self.name!r}", str(target), self.target_names)

    def target(self, target: str | int | None = None) -> np.ndarray:
        """The values of one target, shape (n_samples,)."""
        return self.y[:, self.target_index(target)]

    def labelled(self, target: str | int | None = None) -> np.ndarray:
        """Boolean mask, shape (n_samples,): molecules that have a value for ``target``."""
        return np.isfinite(self.target(target))

    @property
    def complete(self) -> bool:
        """True when every molecule has a value for every target (no masked cell)."""
        return bool(np.isfinite(self.y).all())

    def unit(self, target: str | int | None = None) -> str:
        return self.units[self.target_index(target)]

    def subset(self, indices: np.ndarray, name: str | None = None) -> Dataset:
        """A new Dataset with rows ``indices`` (in that order).

        ``indices`` are distinct row positions (negative ones count from the end) or a
        boolean mask of length ``n_samples``. A repeated row is refused
        (:class:`~cliffkit.errors.InvalidParameterError`): a Dataset holds each molecule
        once, so a bootstrap resample is drawn on arrays (predictions, labels), not on a
        Dataset.
        """
        raw = np.asarray(indices)
        n = len(self)
        if raw.dtype == bool:  # a mask, not the positions 0 and 1
            if raw.shape != (n,):
                raise InvalidParameterError(
                    f"Dataset {self.name!r}.subset: a boolean mask needs shape ({n},); "
                    f"got {raw.shape}.")
            idx = np.flatnonzero(raw)
        else:
            idx = np.asarray(indices, dtype=np.int64)
        pos = np.where(idx < 0, idx + n, idx)
        if pos.size > 1 and np.unique(pos).size != pos.size:
            srt = np.sort(pos)
            row = int(srt[1:][srt[1:] == srt[:-1]][0])
            at = np.flatnonzero(pos == row)
            raise InvalidParameterError(
                f"Dataset {self.name!r}.subset: indices repeat rows ({pos.size - np.unique(pos).size} "
                f"repeats, e.g. row {row} at positions {at[:5].tolist()}); a Dataset holds each "
                "molecule once: pass distinct rows (a bootstrap resamples arrays such as "
                "predictions and labels, not a Dataset)."
            )
        return Dataset(
            name=name or self.name,
            smiles=self.smiles[idx],
            y=self.y[idx],
            target_names=list(self.target_names),
            units=list(self.units),
            source=self.source,
            source_sha256=self.source_sha256,
            report=self.report,
            ids=None if self.ids is None else self.ids[idx],
            meta={**self._subset_meta(idx), "subset_of": self.name},
        )

    def _subset_meta(self, idx: np.ndarray) -> dict[str, Any]:
        n = len(self)
        return {
            k: (v[idx] if isinstance(v, np.ndarray) and v.ndim >= 1 and v.shape[0] == n else v)
            for k, v in self.meta.items()
        }

    @property
    def checksum(self) -> str:
        """sha256 of the content (canonical SMILES and targets), independent of file layout.

        Split files record it, so a split cannot be applied to other data.
        """
        h = hashlib.sha256()
        h.update(("\n".join(self.smiles.tolist())).encode())
        h.update(b"\0")
        h.update(("\t".join(self.target_names)).encode())
        h.update(b"\0")
        h.update(np.ascontiguousarray(self.y, dtype="<f8").tobytes())
        return h.hexdigest()
