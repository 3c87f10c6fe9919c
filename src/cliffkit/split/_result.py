"""SplitResult and the versioned split file (``"format": "cliffkit-split", "version": 1``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, SplitFileError
from ..utils import atomic_write_text, refuse_input_as_output, to_jsonable, user_stacklevel
from ._label import TargetLabels

__all__ = ["SplitResult", "line_molecules", "load_split", "source_row_molecule", "to_chemprop_splits", "FORMAT",
           "VERSION"]

FORMAT = "cliffkit-split"
VERSION = 1
_SUBSETS = ("train", "val", "test")
#: Settings that change how a split is computed, never which split: the file records them at
#: these fixed values, so its bytes depend only on the data, the parameters and the seed
#: (``cliffkit split --n-jobs 1`` and ``--n-jobs 2``, with or without a progress bar, write the
#: same file). The values are those the bench grid has always passed, so published split
#: files and their SHA256SUMS stay valid.
EXECUTION_PARAMS = {"n_jobs": None, "show_progress": False}
_DIGITS = 10  # floats in split files are rounded to this many decimals


@dataclass
class SplitResult:
    """A train / validation / test assignment with per-target strata.

    Attributes
    ----------
    train, val, test : numpy.ndarray of int64
        Sorted dataset row indices; disjoint, together every row.
    smiles : numpy.ndarray of str, shape (n_samples,)
        Canonical SMILES of every row.
    target_names : list of str
    labels : dict of str to TargetLabels
        Per target: strata, partners, severity, similarity to train, matched masks
        (arrays over all rows; training rows hold ``"train"``).
    method : str
        Registry key of the splitter (``"cliff"``, ``"random"``, ``"scaffold"``).
    params : dict
        Every splitter parameter.
    dataset : dict
        ``name``, ``checksum`` (content sha256), ``n_samples``.
    cliff_share : dict
        Requested and achieved cliff shares (per subset and target).
    info : dict
        Anything else worth recording (graph statistics, warnings).
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    smiles: np.ndarray
    target_names: list[str]
    labels: dict[str, TargetLabels]
    method: str
    params: dict[str, Any]
    dataset: dict[str, Any]
    cliff_share: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_invariants(self)

    def __repr__(self) -> str:
        return (f"SplitResult(method={self.method!r}, n_train={self.train.size}, "
                f"n_val={self.val.size}, n_test={self.test.size}, targets={self.target_names!r})")

    @property
    def n_samples(self) -> int:
        return int(self.smiles.shape[0])

    @property
    def similarity_params(self) -> dict[str, Any]:
        """The similarity parameters this split was labelled with, for every consumer.

        Training (CliffLoss severities and cliff pairs), ``cliffkit weights``, the bench
        and the evaluation's reference predictor read them from here, so a split made at
        ``min_similarity=0.5`` is trained and scored at 0.5, not at a default.

        Returns
        -------
        dict
            ``k`` (the neighbourhood size the split used: ``params["k_used"]``, else
            ``params["k"]``; None means :func:`cliffkit.similarity.default_k` of the
            training set), ``min_similarity``, ``radius``, ``n_bits`` and ``m`` (strongest
            pairs per severity, ``info["m"]``; None means
            :func:`cliffkit.cliffs.default_m` of ``k``), and ``cliff_definition`` (the
            entry of :data:`cliffkit.cliffs.CLIFF_DEFINITIONS`). Missing entries (a split file from
            another tool) fall back to the defaults in :mod:`cliffkit.similarity`.

        Examples
        --------
        >>> from cliffkit.split import RandomSplit
        >>> smiles = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "CCCCN", "c1ccccc1", "c1ccccc1O"]
        >>> res = RandomSplit(min_similarity=0.5, val_size=0.0).make_split(smiles, list(range(8)))
        >>> res.similarity_params["min_similarity"], res.similarity_params["n_bits"]
        (0.5, 2048)
        """
        from ..similarity import MIN_SIMILARITY, N_BITS, RADIUS

        p = self.params
        k = p.get("k_used", p.get("k"))
        m = (getattr(self, "info", None) or {}).get("m")
        return {
            "k": None if k is None else int(k),
            "min_similarity": float(p.get("min_similarity", MIN_SIMILARITY)),
            "radius": int(p.get("radius", RADIUS)),
            "n_bits": int(p.get("n_bits", N_BITS)),
            "m": None if m is None else int(m),
            "cliff_definition": str(p.get("cliff_definition", "cliffkit")),
        }

    @property
    def checksum(self) -> str:
        """Identity of the assignment: sha256 (hex) of the dataset checksum and the
        train / val / test indices.

        Two splits with the same checksum hold out exactly the same molecules of the same
        data; ``cliffkit train`` writes it into its predictions file (``split_checksum``)
        so that :func:`~cliffkit.evaluate.read_predictions` refuses predictions scored on
        another split.
        """
        import hashlib

        h = hashlib.sha256(str(self.dataset.get("checksum", "")).encode())
        for name in _SUBSETS:
            idx = np.ascontiguousarray(getattr(self, name), dtype="<i8")
            h.update(f"\0{name}:{idx.size}\0".encode())
            h.update(idx.tobytes())
        return h.hexdigest()

    def subset(self, name: str) -> np.ndarray:
        """Indices of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in _SUBSETS:
            raise SplitFileError(f"Unknown subset {name!r}; choose one of train, val, test.")
        return getattr(self, name)

    def strata(self, target: str | None = None, subset: str = "test") -> np.ndarray:
        """Stratum of each molecule of ``subset`` (aligned with ``self.<subset>``)."""
        return self._target(target).strata[self.subset(subset)]

    def _target(self, target: str | None) -> TargetLabels:
        if target is None:
            target = self.target_names[0]
        if target not in self.labels:
            from ..errors import unknown_name

            raise unknown_name("target of this split", target, self.labels)
        return self.labels[target]

    # ------------------------------------------------------------------ file
    def to_dict(self) -> dict[str, Any]:
        """The JSON document written by :meth:`save`."""
        return _to_doc(self)

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, fixed float rounding, trailing newline)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, allow_nan=False,
                          ensure_ascii=True) + "\n"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the split file atomically; the same inputs and seed give the same bytes.

        Raises
        ------
        InvalidParameterError
            ``path`` is the data file the split records (``dataset["path"]``): writing
            there would replace the data.
        """
        refuse_input_as_output(path, {"data file of this split": self.dataset.get("path")})
        return atomic_write_text(path, self.to_json())


def _r(x: float) -> float | None:
    x = float(x)
    if not np.isfinite(x):
        return None
    v = round(x, _DIGITS)
    return 0.0 if v == 0 else v


def _floats(a: np.ndarray) -> list[float | None]:
    return [_r(v) for v in np.asarray(a, dtype=np.float64)]


def _json_safe(obj: Any) -> Any:
    return to_jsonable(obj, float_fn=_r)


def _to_doc(res: SplitResult) -> dict[str, Any]:
    from .._version import __version__

    targets = {}
    for name in res.target_names:
        lab = res.labels[name]
        per = {}
        for sub in ("val", "test"):
            rows = res.subset(sub)
            per[sub] = {
                "stratum": lab.strata[rows].tolist(),
                "partner": lab.partner[rows].tolist(),
                "severity": _floats(lab.severity[rows]),
                "max_similarity": _floats(lab.max_similarity[rows]),
                "partner_similarity": _floats(lab.partner_similarity[rows]),
                "partner_delta": _floats(lab.partner_delta[rows]),
                "abs_z": _floats(lab.abs_z[rows]),
                "matched_cliff": rows[lab.matched_cliff[rows]].tolist(),
                "matched_smooth": rows[lab.matched_smooth[rows]].tolist(),
                "matched_cliff_z": rows[lab.matched_cliff_z[rows]].tolist(),
                "matched_smooth_z": rows[lab.matched_smooth_z[rows]].tolist(),
                "counts": lab.counts(rows),
            }
        targets[name] = {
            "mode": lab.mode,
            "scale": _r(lab.scale),
            "cliff_threshold": _r(lab.cliff_threshold),
            "smooth_threshold": _r(lab.smooth_threshold),
            "train_severity_quantiles": _json_safe(lab.train_severity_quantiles),
            **per,
        }
    return {
        "format": FORMAT,
        "version": VERSION,
        "cliffkit_version": __version__,
        "method": res.method,
        "params": _json_safe({k: EXECUTION_PARAMS[k] if k in EXECUTION_PARAMS else v
                              for k, v in res.params.items()}),
        "random_state": _json_safe(res.params.get("random_state")),
        "dataset": _json_safe(res.dataset),
        "target_names": list(res.target_names),
        "train": res.train.tolist(),
        "val": res.val.tolist(),
        "test": res.test.tolist(),
        "smiles": {s: res.smiles[res.subset(s)].tolist() for s in _SUBSETS},
        "targets": targets,
        "cliff_share": _json_safe(res.cliff_share),
        "info": _json_safe(res.info),
    }


def check_invariants(res: SplitResult) -> None:
    """Raise :class:`SplitFileError` unless the split is self-consistent.

    Disjoint sets without duplicates covering every row; every cliff and smooth case
    supported (a training neighbour at or above ``min_similarity``); partners in train.
    """
    n = res.n_samples
    parts = [np.asarray(getattr(res, s)) for s in _SUBSETS]
    allidx = np.concatenate(parts)
    if allidx.size and (allidx.min() < 0 or allidx.max() >= n):
        raise SplitFileError(f"Split indices must lie in [0, {n}); got {int(allidx.min())}..{int(allidx.max())}.")
    counts = np.bincount(allidx, minlength=n)
    if (counts > 1).any():
        first = int(np.flatnonzero(counts > 1)[0])
        raise SplitFileError(f"Row {first} appears more than once across train/val/test; the split is corrupt.")
    if (counts == 0).any():
        first = int(np.flatnonzero(counts == 0)[0])
        raise SplitFileError(f"Row {first} is in none of train/val/test ({int((counts == 0).sum())} rows missing).")
    in_train = np.zeros(n, dtype=bool)
    in_train[res.train] = True
    tau = float(res.params.get("min_similarity", 0.0) or 0.0)
    for name, lab in res.labels.items():
        if (lab.strata[res.train] != "train").any():
            raise SplitFileError(f"Target {name!r}: training rows must hold stratum 'train'.")
        held = np.concatenate([res.val, res.test])
        st = lab.strata[held]
        case = held[(st == "cliff") | (st == "smooth")]
        p = lab.partner[case]
        if (p < 0).any() or not in_train[p].all():
            bad = int(case[(p < 0) | ~in_train[np.maximum(p, 0)]][0])
            raise SplitFileError(f"Target {name!r}: the partner of row {bad} is not a training molecule.")
        if (lab.max_similarity[case] < tau - 1e-9).any():
            bad = int(case[lab.max_similarity[case] < tau - 1e-9][0])
            raise SplitFileError(
                f"Target {name!r}: row {bad} is labelled cliff/smooth but has no training neighbour "
                f"with similarity >= {tau:g}."
            )


def _require(doc: dict, key: str, path: Any) -> Any:
    if key not in doc:
        raise SplitFileError(f"Split file {path} has no {key!r} entry; it is not a cliffkit split file.")
    return doc[key]


def _from_doc(doc: dict[str, Any], path: Any) -> SplitResult:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SplitFileError(f"{path} is not a cliffkit split file (format must be {FORMAT!r}).")
    version = doc.get("version")
    if version != VERSION:
        raise SplitFileError(
            f"Split file {path} has version {version!r}; this cliffkit reads version {VERSION}. "
            "Recreate it with 'cliffkit split'."
        )
    ds = _require(doc, "dataset", path)
    n = int(_require(ds, "n_samples", path))
    idx = {s: np.asarray(_require(doc, s, path), dtype=np.int64) for s in _SUBSETS}
    smiles = np.empty(n, dtype=object)
    smiles[:] = ""
    for s in _SUBSETS:
        sm = _require(doc, "smiles", path).get(s, [])
        if len(sm) != idx[s].size:
            raise SplitFileError(f"Split file {path}: {s!r} has {idx[s].size} indices but {len(sm)} SMILES.")
        if idx[s].size and (idx[s].min() < 0 or idx[s].max() >= n):
            raise SplitFileError(f"Split file {path}: {s!r} indices must lie in [0, {n}).")
        smiles[idx[s]] = sm
    names = list(_require(doc, "target_names", path))
    labels = {}
    for name in names:
        t = _require(doc["targets"], name, path)

        def arr(fill, dtype):
            return np.full(n, fill, dtype=dtype)

        strata = arr("train", "<U12")
        floats = {k: arr(np.nan, np.float64) for k in
                  ("severity", "max_similarity", "partner_similarity", "partner_delta", "abs_z")}
        partner = arr(-1, np.int64)
        masks = {k: arr(False, bool) for k in
                 ("matched_cliff", "matched_smooth", "matched_cliff_z", "matched_smooth_z")}
        for sub in ("val", "test"):
            rows = idx[sub]
            part = _require(t, sub, path)
            strata[rows] = part["stratum"]
            partner[rows] = part["partner"]
            for k in floats:
                floats[k][rows] = np.array([np.nan if v is None else v for v in part[k]], dtype=np.float64)
            for k in masks:
                masks[k][np.asarray(part[k], dtype=np.int64)] = True
        labels[name] = TargetLabels(
            target=name, strata=strata, partner=partner, scale=float(t["scale"] if t["scale"] is not None else np.nan),
            cliff_threshold=float(t["cliff_threshold"]), smooth_threshold=float(t["smooth_threshold"]),
            mode=t.get("mode", "quantile"), train_severity_quantiles=t.get("train_severity_quantiles", {}),
            **floats, **masks,
        )
    return SplitResult(
        train=idx["train"], val=idx["val"], test=idx["test"], smiles=smiles, target_names=names,
        labels=labels, method=doc.get("method", ""), params=doc.get("params", {}), dataset=ds,
        cliff_share=doc.get("cliff_share", {}), info=doc.get("info", {}),
    )


def load_split(path: str | os.PathLike, dataset=None) -> SplitResult:
    """Read a split file and check it.

    Parameters
    ----------
    path : path-like
    dataset : Dataset, optional
        When given, its content checksum must match the one recorded in the file.

    Returns
    -------
    SplitResult

    Raises
    ------
    SplitFileError
        Not a cliffkit split file, an unknown version, broken invariants (overlap,
        duplicates, unsupported cliff/smooth cases, partners outside train) or a dataset
        that is not the one the split was made for.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SplitFileError(f"Split file {path} does not exist; create it with 'cliffkit split'.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SplitFileError(f"Split file {path} is not valid JSON ({exc}).") from exc
    try:
        res = _from_doc(doc, path)
    except SplitFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise SplitFileError(f"Split file {path} is malformed ({type(exc).__name__}: {exc}).") from exc
    if dataset is not None:
        want = res.dataset.get("checksum")
        got = dataset.checksum
        if want != got:
            raise SplitFileError(
                f"Split file {path} was made for dataset {res.dataset.get('name')!r} with checksum "
                f"{str(want)[:12]}…, but the given dataset {dataset.name!r} has checksum {got[:12]}…; "
                "use the same data or recreate the split."
            )
    return res


def source_row_molecule(dataset) -> tuple[np.ndarray, str]:
    """Molecule of every data row of the file ``dataset`` was loaded from.

    Parameters
    ----------
    dataset : Dataset
        Loaded from a table file by :func:`~cliffkit.data.load_dataset` (it records the
        file line of each molecule's first row, the merged duplicates and the dropped rows).

    Returns
    -------
    row_molecule : numpy.ndarray of int64, shape (n_file_rows,)
        For each data row of the file (0-based, the header is not a row, blank lines are
        skipped as pandas and chemprop skip them), the dataset row of its molecule, or -1
        for a row that was dropped (invalid SMILES, missing target ...).
    path : str
        The file.

    Raises
    ------
    SplitFileError
        The dataset was not loaded from a file the user has (a registered dataset read
        from the package), or its load report does not account for every row.
    """
    source = str(getattr(dataset, "source", "") or "")
    meta = dataset.meta if isinstance(getattr(dataset, "meta", None), dict) else {}
    first = meta.get("source_row")
    report = getattr(dataset, "report", None)
    if first is None or report is None or not source or not Path(source).is_file():
        raise SplitFileError(
            f"Dataset {dataset.name!r} was not loaded from a file of yours, so chemprop split "
            "indices would refer to rows of a file you do not have; write that file too with "
            "data_path= / --chemprop-data (smiles + targets, one row per molecule)."
        )
    lines, row_molecule = line_molecules(first, report)
    if lines.size != int(report.n_read):
        raise SplitFileError(
            f"The load report of {source} accounts for {lines.size} of its {report.n_read} "
            "rows, so its rows cannot be matched to molecules; use data_path= / --chemprop-data."
        )
    return row_molecule, source


def line_molecules(source_row, report) -> tuple[np.ndarray, np.ndarray]:
    """File line → dataset row, for every line a load report accounts for.

    Parameters
    ----------
    source_row : array-like of int, shape (n_molecules,)
        File line of each molecule's first row (``Dataset.meta["source_row"]``).
    report : LoadReport
        Its ``merged`` groups (every line of a group maps to the group's molecule) and
        ``dropped`` rows (mapped to -1).

    Returns
    -------
    lines : numpy.ndarray of int64, shape (n_lines,)
        The accounted file lines, ascending.
    row_molecule : numpy.ndarray of int64, shape (n_lines,)
        The dataset row of each line's molecule, -1 for a dropped line.
    """
    line_mol = {int(line): i for i, line in enumerate(np.asarray(source_row).tolist())}
    for group in report.merged:
        rows = [int(r) for r in group.rows]
        mol = next((line_mol[r] for r in rows if r in line_mol), None)
        if mol is not None:
            for r in rows:
                line_mol.setdefault(r, mol)
    for row in report.dropped:
        line_mol.setdefault(int(row.row), -1)
    lines = np.array(sorted(line_mol), dtype=np.int64)
    return lines, np.array([line_mol[int(x)] for x in lines], dtype=np.int64)




def to_chemprop_splits(result: SplitResult, path: str | os.PathLike, *,
                       data_path: str | os.PathLike | None = None, dataset=None) -> Path:
    """Write chemprop v2's ``--splits-file`` JSON: ``[{"train": [...], "val": [...], "test": [...]}]``.

    chemprop's indices are rows of the CSV it reads, so they must fit that file:

    - With ``data_path`` (and ``dataset``): the indices are dataset rows and the CSV they
      refer to (``smiles`` + target columns, one row per molecule) is written there.
    - Without ``data_path``, with a ``dataset`` loaded from the user's file: the indices
      are that file's data rows (0-based, header excluded). Every row whose molecule was
      kept goes to that molecule's set, so replicate rows merged by cliffkit stay
      together; rows cliffkit dropped are in no set (a :class:`DataWarning` counts both).
    - Without either, for a split made from SMILES arrays: the indices are positions in
      those arrays (every row on its molecule's side).

    Raises
    ------
    SplitFileError
        The dataset is not the one the split was made for, or no file exists that the
        indices could refer to (a registered dataset without ``data_path``; a split of a
        named dataset without ``dataset``).
    InvalidParameterError
        ``path`` or ``data_path`` is the data file itself (writing would replace it), or
        both are the same file.
    """
    if data_path is not None and dataset is None:
        raise SplitFileError("to_chemprop_splits needs the dataset to write data_path; pass dataset=.")
    source = getattr(dataset, "source", None) if dataset is not None else None
    for out_path, option in ((path, "--chemprop-splits"), (data_path, "--chemprop-data")):
        refuse_input_as_output(out_path, {"data file": result.dataset.get("path"),
                                          "dataset's source file": source}, option=option)
    if data_path is not None and Path(path).resolve() == Path(data_path).resolve():
        raise InvalidParameterError(
            f"--chemprop-splits and --chemprop-data name the same file {str(path)!r}; the "
            "splits (JSON) and the data (CSV) need two files."
        )
    want = result.dataset.get("checksum")
    if dataset is not None and want and want != dataset.checksum:
        raise SplitFileError(
            f"The split was made for dataset {result.dataset.get('name')!r} (checksum {want[:12]}…), "
            f"not for {dataset.name!r}; export it with the dataset it was made from."
        )
    if data_path is not None:
        doc = [{s: result.subset(s).tolist() for s in _SUBSETS}]
    else:
        if dataset is not None:
            row_mol, where = source_row_molecule(dataset)
        elif not result.dataset.get("name"):  # made from SMILES arrays
            row_mol = np.asarray(result.info.get("input_molecule", np.arange(result.n_samples)),
                                 dtype=np.int64)
            where = "the SMILES arrays the split was made from"
        else:
            raise SplitFileError(
                f"The split of dataset {result.dataset.get('name')!r} indexes its molecules, "
                "not the rows of a file; pass dataset= (the indices then refer to the rows of "
                "its source file) or data_path= (to write the file they refer to)."
            )
        if row_mol.size and row_mol.max() >= result.n_samples:
            raise SplitFileError(f"The rows of {where} do not fit this split; pass data_path=.")
        doc = [{s: np.flatnonzero(np.isin(row_mol, result.subset(s))).tolist() for s in _SUBSETS}]
        n_dropped = int((row_mol < 0).sum())
        n_repeat = int(row_mol.size - n_dropped - np.unique(row_mol[row_mol >= 0]).size)
        if n_dropped or n_repeat:
            import warnings

            from ..errors import DataWarning

            parts = []
            if n_repeat:
                parts.append(f"{n_repeat} rows that repeat a molecule are in that molecule's set")
            if n_dropped:
                shown = ", ".join(str(i) for i in np.flatnonzero(row_mol < 0)[:5])
                more = ", ..." if n_dropped > 5 else ""
                parts.append(
                    f"{n_dropped} rows cliffkit dropped (rows {shown}{more}; see "
                    "'cliffkit describe') are in no set, but chemprop still reads them: remove "
                    "them or write a clean file with --chemprop-data"
                )
            warnings.warn(
                f"chemprop splits {path} index the {row_mol.size} data rows of {where} "
                f"(0-based, header excluded): {'; '.join(parts)}.",
                DataWarning, stacklevel=user_stacklevel(),
            )
    out = atomic_write_text(path, json.dumps(doc) + "\n")
    if data_path is not None:
        import pandas as pd

        frame = pd.DataFrame({"smiles": dataset.smiles})
        for j, name in enumerate(dataset.target_names):
            frame[name] = dataset.y[:, j]
        atomic_write_text(data_path, frame.to_csv(index=False))
    return out
