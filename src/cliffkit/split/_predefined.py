"""PredefinedSplit: a split someone else made, labelled with cliffkit's strata.

The assignment comes from one of

- a **split column** of the dataset's source file (``train``/``val``/``test`` or
  ``train``/``valid``/``test``, any case; MoleculeACE's ``split`` column),
- a **chemprop splits file** (``[{"train": [...], "val": [...], "test": [...]}, ...]``,
  0-based rows of the data file; ``chemprop_fold`` picks the entry),
- **index lists or files** (``train_idx``, ``test_idx``, optional ``val_idx``; one 0-based
  data-file row per line, or a JSON list).

Rows are *rows of the data file* (0-based, header excluded), the convention of chemprop
and of pandas; they are mapped to dataset rows through the loader's record of source
lines, so rows the loader dropped (unparsable SMILES, missing targets) are counted and
reported, and rows merged into one molecule must share one set. Every dataset row must end
up in exactly one set.

Strata, partners, matched controls and the reference predictor are computed against the
given training set, exactly as for :class:`~cliffkit.split.CliffSplit`. With ``val_size >
0`` and no validation rows in the assignment, a seeded random ``val_size`` fraction of the
*training* rows (``random_state``) becomes the validation set before labelling.
"""

from __future__ import annotations

import json
import os
from dataclasses import KW_ONLY
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidDataError, InvalidParameterError
from ..utils import Interval, Params, params_class
from ._base import COMMON_CONSTRAINTS, BaseSplitter, _coerce, register_splitter
from ._result import line_molecules

__all__ = ["PredefinedSplit", "carve_validation", "dataset_source_path", "file_rows", "read_index_file",
           "SPLIT_VALUES"]

#: Accepted values of a split column (lower-cased, stripped) and the set each names.
SPLIT_VALUES = {"train": "train", "val": "val", "valid": "val", "validation": "val",
                "test": "test"}
_SETS = ("train", "val", "test")


def dataset_source_path(dataset: Any) -> Path:
    """The file a dataset was read from (bundled files included).

    Raises
    ------
    InvalidDataError
        The dataset was not read from a file that still exists.
    """
    src = str(getattr(dataset, "source", "") or "")
    if src.startswith("package:cliffkit/data/files/"):
        from ..data._registry import FILES_DIR

        path = Path(FILES_DIR) / src.split("package:cliffkit/data/files/", 1)[1]
    else:
        path = Path(src)
    if not src or not path.is_file():
        raise InvalidDataError(
            f"Dataset {getattr(dataset, 'name', '')!r} has no readable source file ({src!r}); "
            "a split column needs the file it came from (give the file path as DATA)."
        )
    return path


def file_rows(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """Map the rows of the dataset's source file to dataset rows.

    Returns
    -------
    lines : numpy.ndarray of int64, shape (n_read,)
        1-based file line of each data-file row, in file order (row ``r`` is ``lines[r]``).
    dataset_row : numpy.ndarray of int64, shape (n_read,)
        The dataset row each file row became (merged duplicates map to their molecule),
        -1 for rows the loader dropped.

    Raises
    ------
    InvalidDataError
        The dataset carries no record of its source lines (``meta["source_row"]``).
    """
    meta = getattr(dataset, "meta", {}) or {}
    src = meta.get("source_row")
    report = getattr(dataset, "report", None)
    if src is None or report is None or len(src) != len(dataset):
        raise InvalidDataError(
            f"Dataset {getattr(dataset, 'name', '')!r} has no record of its source rows; a "
            "predefined split by file rows needs a dataset loaded by cliffkit.load_dataset."
        )
    return line_molecules(src, report)


def read_index_file(path: str | os.PathLike, *, what: str = "index file") -> np.ndarray:
    """Read 0-based row indices: one integer per line (blank lines and ``#`` comments
    skipped) or a JSON list of integers.

    Raises
    ------
    InvalidDataError
        Missing file, or a value that is not a non-negative integer (file and line named).
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidDataError(f"{what.capitalize()} {path} does not exist; check the path.")
    text = p.read_text(encoding="utf-8", errors="replace")
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            values = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidDataError(f"{what.capitalize()} {path} is not a valid JSON list ({exc.msg}).") from exc
        bad = [v for v in values if not (isinstance(v, int) and not isinstance(v, bool) and v >= 0)]
        if bad:
            raise InvalidDataError(
                f"{what.capitalize()} {path} must list non-negative integer row indices; got "
                f"{bad[:3]!r}."
            )
        return np.asarray(values, dtype=np.int64)
    out = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        item = raw.split("#", 1)[0].strip().rstrip(",")
        if not item:
            continue
        try:
            value = int(item)
        except ValueError:
            raise InvalidDataError(
                f"{what.capitalize()} {path}, line {lineno}: {item!r} is not an integer row "
                "index; write one 0-based data-file row per line."
            ) from None
        if value < 0:
            raise InvalidDataError(
                f"{what.capitalize()} {path}, line {lineno}: row index {value} is negative."
            )
        out.append(value)
    return np.asarray(out, dtype=np.int64)


def _source_label(obj: Any) -> str:
    return str(obj) if isinstance(obj, str | os.PathLike) else "<array>"


def _rows_like(value: Any) -> bool:
    """a sequence of row indices"""
    return hasattr(value, "__len__") and not isinstance(value, str | bytes | dict)


@params_class
class _Sources(Params):
    """Where a PredefinedSplit's assignment comes from, and its validation carve-out."""

    split_col: str | None = None
    chemprop_splits: str | os.PathLike | None = None
    chemprop_fold: int = 0
    train_idx: Any = None
    val_idx: Any = None
    test_idx: Any = None
    val_size: float = 0.0


@register_splitter("predefined")
@params_class
class PredefinedSplit(BaseSplitter, _Sources):
    """A given train / (validation) / test assignment, labelled with cliff strata.

    Exactly one source of the assignment: ``split_col``, ``chemprop_splits``, or
    ``train_idx`` + ``test_idx`` (+ ``val_idx``). See the module docstring for the row
    convention and what is checked.

    Parameters
    ----------
    split_col : str, optional
        Column of the dataset's source file holding ``train``/``val``/``test`` (or
        ``valid``), any case.
    chemprop_splits : path, optional
        chemprop's ``--splits-file`` JSON (a list of ``{"train", "val", "test"}`` dicts).
    chemprop_fold : int, default=0
        Which entry of ``chemprop_splits`` to use.
    train_idx, val_idx, test_idx : path or sequence of int, optional
        0-based data-file rows (a file as read by :func:`read_index_file`, or the indices).
    val_size : float in [0, 1), default=0.0
        With no validation rows given, move this seeded fraction of the training rows to
        validation (0: no validation set).
    k, min_similarity, radius, n_bits, cliff_quantile, smooth_quantile, delta, targets
        Labelling parameters, as in :class:`~cliffkit.split.CliffSplit`.
    random_state : int, optional, default=0
        Seeds the validation carve-out and the matching order.

    Examples
    --------
    ESOL has 1,128 rows, 11 pairs of which are one molecule after standardisation; a split
    that puts the two rows of a pair on both sides is refused:

    >>> from cliffkit.data import load_dataset
    >>> from cliffkit.split import PredefinedSplit
    >>> ds = load_dataset("esol")
    >>> PredefinedSplit(train_idx=range(1000), test_idx=range(1000, 1128)).make_split(ds)
    Traceback (most recent call last):
    ...
    cliffkit.errors.InvalidDataError: index files <array>, <array>: 2 molecule(s) are in two sets after standardisation, e.g. lines 452 (train) and 1021 (test) are both 'Clc1ccc(C(c2ccc(Cl)cc2)C(Cl)Cl)cc1'; a test molecule must not also be in train: put duplicates in one set or remove them.
    >>> rows = ds.meta["source_row"] - 2  # the file row of each molecule (no blank lines)
    >>> res = PredefinedSplit(train_idx=rows[rows % 10 != 0], test_idx=rows[rows % 10 == 0],
    ...                       val_size=0.1, random_state=0).make_split(ds)
    >>> res.train.size, res.val.size, res.test.size
    (904, 101, 112)
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS,
        "val_size": [Interval(float, 0, 1, closed="left")],
        "chemprop_fold": [Interval(int, 0, None, closed="left")],
        "split_col": [None, str],
        "chemprop_splits": [None, str, os.PathLike],
        "train_idx": [None, str, os.PathLike, _rows_like],
        "val_idx": [None, str, os.PathLike, _rows_like],
        "test_idx": [None, str, os.PathLike, _rows_like],
    }
    _parameter_constraints.pop("test_size")

    _: KW_ONLY
    n_jobs: int | None = None
    show_progress: bool = False

    # ------------------------------------------------------------------ sklearn bits
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out = super().get_params(deep)
        for key in ("train_idx", "val_idx", "test_idx", "chemprop_splits"):
            v = out[key]
            if v is not None and not isinstance(v, str | os.PathLike):
                out[key] = np.asarray(list(v), dtype=np.int64).tolist()
            elif isinstance(v, os.PathLike):
                out[key] = str(v)
        return out

    def split(self, X: Any, y: Any = None, groups: Any = None):
        """Yield the one ``(train, test)`` pair (``X`` must be a Dataset)."""
        res = self.make_split(X, y)
        yield res.train, res.test

    def make_split(self, dataset: Any, y: Any = None, *, groups: Any = None):
        """Resolve the assignment against ``dataset`` and label it; returns a SplitResult.

        Raises
        ------
        InvalidParameterError
            No source or more than one, or ``dataset`` is not a Dataset.
        InvalidDataError
            Unknown split values, a set that is empty, indices out of range, a chemprop
            file for another row count, rows in no set or in two, or merged duplicates in
            different sets. Each message names the file and the offending values.
        """
        if not (hasattr(dataset, "smiles") and hasattr(dataset, "meta")) or y is not None:
            raise InvalidParameterError(
                "PredefinedSplit needs a cliffkit Dataset (from load_dataset), not SMILES and y."
            )
        self._validate_params()
        self._assignment, self._given_info = self._resolve(dataset)
        try:
            return self._run(*_coerce(dataset, None)[:4], groups=None)
        finally:
            del self._assignment, self._given_info

    # -------------------------------------------------------------- assignment
    def _resolve(self, ds: Any) -> tuple[np.ndarray, dict]:
        given = [name for name, v in (("split_col", self.split_col),
                                      ("chemprop_splits", self.chemprop_splits),
                                      ("train_idx/test_idx", self.train_idx if self.train_idx is not None
                                       else self.test_idx)) if v is not None]
        if len(given) != 1:
            raise InvalidParameterError(
                "PredefinedSplit needs exactly one source of the assignment: split_col, "
                f"chemprop_splits, or train_idx + test_idx; got {given or 'none'}."
            )
        lines, ds_row = file_rows(ds)
        n_rows = lines.size
        if self.split_col is not None:
            where, per_row = self._from_column(ds, lines)
        elif self.chemprop_splits is not None:
            where, per_row = self._from_chemprop(n_rows)
        else:
            where, per_row = self._from_indices(n_rows)
        return _to_dataset_rows(ds, where, per_row, lines, ds_row)

    def _from_column(self, ds: Any, lines: np.ndarray) -> tuple[str, np.ndarray]:
        from ..data import read_table

        path = dataset_source_path(ds)
        table = read_table(path, what="data file")
        col = self.split_col
        if col not in table.frame.columns:
            raise InvalidDataError(
                f"{path} has no column {col!r} (columns: {', '.join(map(str, table.frame.columns))}); "
                "fix --split-col."
            )
        orig = table.frame[col].astype(str).str.strip().to_numpy(dtype=object)
        raw = np.array([v.lower() for v in orig], dtype=object)
        bad_rows = [i for i, v in enumerate(raw) if v not in SPLIT_VALUES]
        if bad_rows:
            bad = list(dict.fromkeys(orig[i] for i in bad_rows))
            shown = ", ".join(repr(v if len(v) <= 24 else v[:21] + "...") for v in bad[:3])
            more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
            raise InvalidDataError(
                f"{path}, column {col!r}: {len(bad_rows)} row(s) hold values that are not split "
                f"names: {shown}{more} (first on line {int(table.lines[bad_rows[0]])}); use "
                "train, val (or valid) and test."
            )
        by_line = {int(line): SPLIT_VALUES[v] for line, v in zip(table.lines, raw, strict=True)}
        per_row = np.array([by_line.get(int(line), "") for line in lines], dtype=object)
        return f"{path}, column {col!r}", per_row

    def _from_chemprop(self, n_rows: int) -> tuple[str, np.ndarray]:
        path = Path(self.chemprop_splits)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidDataError(f"chemprop splits file {path} does not exist; check the path.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidDataError(f"chemprop splits file {path} is not valid JSON ({exc}).") from exc
        if isinstance(doc, dict):
            doc = [doc]
        if not isinstance(doc, list) or not doc or not all(isinstance(d, dict) for d in doc):
            raise InvalidDataError(
                f"chemprop splits file {path} must hold a list of {{\"train\": [...], \"val\": [...], "
                "\"test\": [...]}} objects."
            )
        if self.chemprop_fold >= len(doc):
            raise InvalidParameterError(
                f"chemprop splits file {path} holds {len(doc)} split(s); chemprop_fold="
                f"{self.chemprop_fold} is out of range."
            )
        entry = doc[self.chemprop_fold]
        sets = {}
        for name in _SETS:
            key = name if name in entry else ("valid" if name == "val" and "valid" in entry else None)
            values = entry.get(key, []) if key else []
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise InvalidDataError(f"chemprop splits file {path}: {name!r} must list integer row indices.")
            sets[name] = np.asarray(values, dtype=np.int64)
        allidx = np.concatenate(list(sets.values()))
        if allidx.size and (allidx.max() >= n_rows or allidx.min() < 0 or allidx.size != n_rows):
            raise InvalidDataError(
                f"chemprop splits file {path} is for another data file: it indexes "
                f"{allidx.size} rows (largest index {int(allidx.max())}), but the data file has "
                f"{n_rows} rows; use the splits file made for this file."
            )
        return f"chemprop splits file {path}", _label_rows(sets, n_rows, f"chemprop splits file {path}")

    def _from_indices(self, n_rows: int) -> tuple[str, np.ndarray]:
        if self.train_idx is None or self.test_idx is None:
            raise InvalidParameterError(
                "Index lists need both train_idx and test_idx (val_idx is optional)."
            )
        sets = {}
        names = []
        for name, value in (("train", self.train_idx), ("val", self.val_idx), ("test", self.test_idx)):
            if value is None:
                sets[name] = np.zeros(0, dtype=np.int64)
                continue
            label = _source_label(value)
            names.append(label)
            if isinstance(value, str | os.PathLike):
                idx = read_index_file(value, what=f"{name} index file")
            else:
                idx = np.asarray(list(value), dtype=np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n_rows):
                bad = idx[(idx < 0) | (idx >= n_rows)]
                raise InvalidDataError(
                    f"{name} index {label}: indices {bad[:5].tolist()} are out of range for a data "
                    f"file of {n_rows} rows (valid: 0..{n_rows - 1})."
                )
            sets[name] = idx
        where = "index files " + ", ".join(names)
        return where, _label_rows(sets, n_rows, where)

    # ------------------------------------------------------------------ pipeline
    def _sizes(self, n: int) -> tuple[int, int, int]:
        a = self._assignment
        n_tr, n_va, n_te = (int((a == s).sum()) for s in _SETS)
        if n_va == 0 and self.val_size > 0:
            n_va = int(np.ceil(self.val_size * n_tr))
            n_tr -= n_va
            if n_tr < 2:
                raise InvalidParameterError(
                    f"val_size={self.val_size} leaves {n_tr} training molecules; lower val_size."
                )
        return n_tr, n_va, n_te

    def _assign(self, ctx: dict):
        a = self._assignment
        train = np.flatnonzero(a == "train").astype(np.int64)
        val = np.flatnonzero(a == "val").astype(np.int64)
        test = np.flatnonzero(a == "test").astype(np.int64)
        info: dict[str, Any] = {"warnings": [], "given": self._given_info}
        if val.size == 0 and self.val_size > 0:
            perm = ctx["rng"].permutation(train)
            n_va = ctx["n_val"]
            val, train = np.sort(perm[:n_va]), np.sort(perm[n_va:])
            info["val_carved"] = {"fraction": float(self.val_size), "n": int(n_va),
                                  "seed": self.random_state}
        return train, val, test, info


def _label_rows(sets: dict[str, np.ndarray], n_rows: int, where: str) -> np.ndarray:
    per_row = np.full(n_rows, "", dtype=object)
    for name in _SETS:
        idx = sets[name]
        uniq, counts = np.unique(idx, return_counts=True)
        if (counts > 1).any():
            raise InvalidDataError(f"{where}: {name!r} lists rows {uniq[counts > 1][:5].tolist()} twice.")
        clash = idx[per_row[idx] != ""]
        if clash.size:
            raise InvalidDataError(
                f"{where}: rows {clash[:5].tolist()} are in {name!r} and in "
                f"{per_row[clash[0]]!r}; each row belongs to one set."
            )
        per_row[idx] = name
    return per_row


def _to_dataset_rows(ds: Any, where: str, per_row: np.ndarray, lines: np.ndarray,
                     ds_row: np.ndarray) -> tuple[np.ndarray, dict]:
    n = len(ds)
    out = np.full(n, "", dtype=object)
    first_line = np.zeros(n, dtype=np.int64)
    dropped = {s: 0 for s in _SETS}
    conflicts = []
    for r in range(lines.size):
        label, j = per_row[r], int(ds_row[r])
        if j < 0:
            if label:
                dropped[label] += 1
            continue
        if not label:
            continue
        if out[j] and out[j] != label:
            conflicts.append((j, first_line[j], out[j], int(lines[r]), label))
        elif not out[j]:
            out[j], first_line[j] = label, int(lines[r])
    if conflicts:
        j, l1, s1, l2, s2 = conflicts[0]
        raise InvalidDataError(
            f"{where}: {len(conflicts)} molecule(s) are in two sets after standardisation, e.g. "
            f"lines {l1} ({s1}) and {l2} ({s2}) are both {ds.smiles[j]!r}; a test molecule must "
            "not also be in train: put duplicates in one set or remove them."
        )
    missing = np.flatnonzero(out == "")
    if missing.size:
        src = np.asarray(ds.meta["source_row"])
        raise InvalidDataError(
            f"{where}: {missing.size} dataset molecule(s) are in no set (first on line "
            f"{int(src[missing[0]])}, {ds.smiles[missing[0]]!r}); assign every row."
        )
    for name in ("train", "test"):
        if not (out == name).any():
            raise InvalidDataError(
                f"{where}: the {name} set is empty (counts: "
                f"{', '.join(f'{s} {int((out == s).sum())}' for s in _SETS)}); a split needs "
                "training and test molecules."
            )
    info = {"source": where, "dropped_rows": dropped,
            "counts": {s: int((out == s).sum()) for s in _SETS}}
    return out.astype(str), info


def carve_validation(train: Any, fraction: float = 0.1,
                     random_state: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Move a seeded random ``fraction`` of the training rows to a validation set.

    What ``cliffkit train`` does with a split file that has no validation set (a
    predefined split such as MoleculeACE's): early stopping and the choice of ``C``
    need held-out molecules, and they may only come from training.

    Parameters
    ----------
    train : array-like of int, shape (n_train,)
        Training rows.
    fraction : float in (0, 1), default=0.1
        Share of the training rows moved (rounded up).
    random_state : int, optional, default=0

    Returns
    -------
    train, val : numpy.ndarray of int64
        Sorted, disjoint; together the input rows.

    Examples
    --------
    >>> tr, va = carve_validation(range(10), 0.2, random_state=0)
    >>> len(tr), len(va), sorted(set(tr) | set(va)) == list(range(10))
    (8, 2, True)
    """
    train = np.asarray(list(train) if not isinstance(train, np.ndarray) else train, dtype=np.int64)
    if not 0 < fraction < 1:
        raise InvalidParameterError(f"carve_validation: fraction must be in (0, 1); got {fraction!r}.")
    n_val = int(np.ceil(fraction * train.size))
    if train.size - n_val < 2 or n_val < 1:
        raise InvalidParameterError(
            f"carve_validation: {train.size} training rows are too few to move {fraction:.0%} "
            "to validation; give the split a validation set."
        )
    perm = np.random.default_rng(random_state).permutation(train)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])
