"""Standardisation: RDKit canonical SMILES, numeric targets, drops and merges.

The policy, applied to every source:

1. each SMILES is parsed with RDKit (its logger silenced) and written back as the
   canonical SMILES; an empty cell is ``missing_smiles``, an unparsable one (or one
   with no atoms) is ``invalid_smiles``;
2. each target cell must be a finite number; an empty cell (or ``nan``/``NA``) is
   ``missing_target``, text is ``non_numeric_target``, ``inf`` is ``non_finite_target``;
3. a row with any problem is dropped (the first reason is recorded);
4. rows with the same canonical SMILES are merged into one (targets averaged, the
   first row's id and metadata kept); a group is *conflicting* when, for some target,
   ``max - min > conflict_tol * std(target)``.

Dropped rows and conflicting merges are also announced with a :class:`~cliffkit.errors.DataWarning`
that lists the first row numbers; everything is kept in ``Dataset.report``.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataWarning, InvalidDataError, InvalidSmilesError
from ._dataset import DroppedRow, LoadReport, MergedGroup
from ._read import Table

__all__ = ["canonicalize", "parse_targets", "standardize", "standardize_arrays", "Standardized"]

_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "?"}
_CHUNK = 2000
_PARALLEL_MIN = 20000  # below this many SMILES, one process is faster than starting a pool
_REASON_ORDER = (
    "missing_smiles", "invalid_smiles", "non_numeric_target", "missing_target", "non_finite_target",
)
_N_SHOWN = 5
_CACHE_MIN = 1000  # cache canonical SMILES of sources this large (see cached_canonicalize)
#: Bump when canonicalisation changes; it invalidates cached canonical SMILES.
CANON_VERSION = "1"


def _canon_chunk(chunk: Sequence[object]) -> list[str | None]:
    """Canonical SMILES of each item, ``None`` where RDKit cannot parse it (worker function)."""
    from rdkit import Chem, rdBase

    out: list[str | None] = []
    with rdBase.BlockLogs():
        for s in chunk:
            if not isinstance(s, str) or not s.strip():
                out.append(None)
                continue
            try:
                mol = Chem.MolFromSmiles(s.strip())
                if mol is None or mol.GetNumAtoms() == 0:
                    out.append(None)
                    continue
                out.append(Chem.MolToSmiles(mol))
            except Exception:  # RDKit raises on a few pathological inputs; treat as invalid
                out.append(None)
    return out


def _progress_enabled(show_progress: bool | None) -> bool:
    if show_progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)()) and not os.environ.get("CI")
    return bool(show_progress)


def canonicalize(
    smiles: Sequence[object],
    *,
    n_jobs: int | None = None,
    show_progress: bool | None = None,
    desc: str = "Parsing SMILES",
) -> list[str | None]:
    """RDKit canonical SMILES of each input, ``None`` for invalid or empty ones.

    Parameters
    ----------
    smiles : sequence of str
        Raw SMILES (non-strings count as missing).
    n_jobs : int, optional
        Worker processes. None uses up to 2 processes for 20,000 SMILES or more and
        one below that; 1 never starts a pool.
    show_progress : bool, optional
        Progress bar on stderr; None shows it only on a terminal (and not under CI).
    desc : str
        Label of the progress bar.

    Returns
    -------
    list of (str or None), length n_samples
    """
    from tqdm.auto import tqdm

    items = list(smiles)
    n = len(items)
    if n_jobs is None:
        n_jobs = min(2, os.cpu_count() or 1) if n >= _PARALLEL_MIN else 1
    n_jobs = max(1, int(n_jobs))
    chunks = [items[i : i + _CHUNK] for i in range(0, n, _CHUNK)]
    out: list[str | None] = []
    with tqdm(total=n, desc=desc, unit="mol", disable=not _progress_enabled(show_progress),
              leave=False, dynamic_ncols=True) as bar:
        if n_jobs == 1 or len(chunks) <= 1:
            for chunk in chunks:
                out.extend(_canon_chunk(chunk))
                bar.update(len(chunk))
        else:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            ctx = multiprocessing.get_context(method)
            with ctx.Pool(processes=min(n_jobs, len(chunks))) as pool:
                for res in pool.imap(_canon_chunk, chunks):
                    out.extend(res)
                    bar.update(len(res))
    return out


def cached_canonicalize(
    smiles: np.ndarray,
    *,
    n_jobs: int | None = None,
    show_progress: bool | None = None,
    min_rows: int = _CACHE_MIN,
) -> list[str | None]:
    """:func:`canonicalize`, remembered on disk for inputs of ``min_rows`` or more.

    The key covers the exact input strings, the RDKit version and
    :data:`CANON_VERSION`, so a cached answer is the answer RDKit would give.
    """
    if len(smiles) < min_rows:
        return canonicalize(smiles, n_jobs=n_jobs, show_progress=show_progress)
    import json

    import rdkit

    from ._cache import cache_key, pack_strings, read_cache, unpack_strings, write_cache

    items = [s if isinstance(s, str) else None for s in smiles]
    digest = hashlib.sha256(json.dumps(items).encode("utf-8", "surrogatepass")).hexdigest()
    key = cache_key("canonical-smiles", digest, rdkit.__version__, CANON_VERSION)
    hit = read_cache("smiles", key)
    if hit is not None:
        try:
            canon = unpack_strings(hit["canonical"], len(items))
            return [c if v else None for c, v in zip(canon, hit["valid"].tolist(), strict=True)]
        except (KeyError, ValueError, UnicodeDecodeError):
            pass  # stale or damaged entry: recompute
    out = canonicalize(smiles, n_jobs=n_jobs, show_progress=show_progress)
    write_cache(
        "smiles",
        key,
        {
            "canonical": pack_strings(["" if c is None else c for c in out]),
            "valid": np.array([c is not None for c in out], dtype=bool),
        },
    )
    return out


def parse_targets(
    table: Table, columns: Sequence[str]
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Convert target columns to float64 and classify every bad cell.

    Returns
    -------
    y : ndarray of float64, shape (n_rows, n_targets)
        NaN where the cell is not a finite number.
    problems : list of ndarray of object, one per target
        Per row: ``None`` or the reason (``missing_target``, ``non_numeric_target``,
        ``non_finite_target``).
    texts : list of ndarray of object, one per target
        The stripped cell text, for messages.

    Raises
    ------
    InvalidDataError
        When a column has no numeric value at all (text column or all empty).
    """
    n = len(table)
    y = np.full((n, len(columns)), np.nan)
    problems: list[np.ndarray] = []
    texts: list[np.ndarray] = []
    for j, col in enumerate(columns):
        cells = table.frame[col]
        text = pd.Series(cells.to_numpy(dtype=object), dtype=object).map(
            lambda v: "" if not isinstance(v, str) else v.strip()
        )
        missing = text.map(lambda v: v.lower() in _MISSING).to_numpy(dtype=bool)
        values = pd.to_numeric(pd.Series(np.where(missing, None, text.to_numpy()), dtype=object),
                               errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        non_numeric = ~missing & np.isnan(values)
        non_finite = ~missing & np.isinf(values)
        ok = ~(missing | non_numeric | non_finite)
        if not ok.any():
            if non_numeric.any():
                first = int(np.flatnonzero(non_numeric)[0])
                raise InvalidDataError(
                    f"Target column {col!r} of {table.path} holds text, not numbers "
                    f"(line {int(table.lines[first])}: {text.iloc[first][:40]!r}); "
                    "choose a numeric column with target_cols / --target-col."
                )
            raise InvalidDataError(
                f"Target column {col!r} of {table.path} has no finite numeric value in any of its "
                f"{n} rows; choose another column with target_cols / --target-col."
            )
        reason = np.full(n, None, dtype=object)
        reason[missing] = "missing_target"
        reason[non_numeric] = "non_numeric_target"
        reason[non_finite] = "non_finite_target"
        y[ok, j] = values[ok]
        problems.append(reason)
        texts.append(text.to_numpy(dtype=object))
    return y, problems, texts


@dataclass
class Standardized:
    """Output of :func:`standardize` (before it becomes a :class:`Dataset`)."""

    smiles: np.ndarray  # (n,) object, canonical, unique
    y: np.ndarray  # (n, t) float64
    keep: np.ndarray  # (n,) int64: source row (0-based table row) of each final row's first member
    report: LoadReport


def _first_rows(rows: Sequence[int]) -> str:
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:_N_SHOWN])
    return shown + (", ..." if len(rows) > _N_SHOWN else "")


def standardize(
    table: Table,
    smiles_col: str,
    target_cols: Sequence[str],
    *,
    canonical: Sequence[str | None] | None = None,
    conflict_tol: float = 0.1,
    n_jobs: int | None = None,
    show_progress: bool | None = None,
    label: str | None = None,
    warn: bool = True,
) -> Standardized:
    """Canonicalise, drop bad rows, merge duplicates; see the module docstring.

    Parameters
    ----------
    table : Table
        The source, read by :func:`read_table`.
    smiles_col, target_cols : str, sequence of str
        Existing columns of ``table``.
    canonical : sequence, optional
        Canonical SMILES already computed for every row (skips the RDKit pass).
    conflict_tol : float
        A merged group conflicts when its spread exceeds ``conflict_tol`` times the
        target's standard deviation (over all kept rows).
    n_jobs, show_progress
        See :func:`canonicalize`.
    label : str, optional
        Name of the source in warnings (default: the path).
    warn : bool
        Emit :class:`DataWarning` for dropped rows and conflicting merges.

    Raises
    ------
    InvalidSmilesError
        When no SMILES of the column parses.
    InvalidDataError
        When a target column is not numeric or no row survives.
    """
    y_raw, problems, texts = parse_targets(table, target_cols)
    reason = np.full(len(table), None, dtype=object)
    detail = np.full(len(table), "", dtype=object)
    for j in reversed(range(len(problems))):  # the first target's reason wins
        for r in ("non_finite_target", "missing_target", "non_numeric_target"):
            m = problems[j] == r
            if m.any():
                reason[m] = r
                detail[m] = [f"{target_cols[j]}={t[:40]!r}" for t in texts[j][m]]
    return standardize_arrays(
        table.frame[smiles_col].to_numpy(dtype=object),
        y_raw,
        table.lines,
        reason,
        detail,
        path=table.path,
        smiles_col=smiles_col,
        target_cols=target_cols,
        canonical=canonical,
        conflict_tol=conflict_tol,
        n_jobs=n_jobs,
        show_progress=show_progress,
        label=label,
        warn=warn,
    )


def standardize_arrays(
    raw: np.ndarray,
    y_raw: np.ndarray,
    lines: np.ndarray,
    reason: np.ndarray,
    detail: np.ndarray,
    *,
    path: str,
    smiles_col: str,
    target_cols: Sequence[str],
    canonical: Sequence[str | None] | None = None,
    conflict_tol: float = 0.1,
    n_jobs: int | None = None,
    show_progress: bool | None = None,
    label: str | None = None,
    warn: bool = True,
) -> Standardized:
    """Array form of :func:`standardize`.

    ``raw`` are the SMILES cells, ``y_raw`` the targets (NaN where bad), ``lines`` the
    1-based line of each row, ``reason``/``detail`` the target problem of each row
    (``None``/``""`` when fine). Both arrays are modified in place.
    """
    label = label or path
    n = raw.shape[0]
    if canonical is None:
        canonical = cached_canonicalize(raw, n_jobs=n_jobs, show_progress=show_progress)
    canon = np.asarray(canonical, dtype=object)
    if canon.shape != (n,):
        raise ValueError("canonical SMILES must align with the table rows")  # a bug, not user input

    has_text = np.array([isinstance(s, str) and bool(s.strip()) for s in raw], dtype=bool)
    valid_smiles = np.array([c is not None for c in canon], dtype=bool)
    if not valid_smiles.any():
        if not has_text.any():
            raise InvalidDataError(
                f"SMILES column {smiles_col!r} of {path} is empty in all {n} rows; "
                "name the SMILES column with smiles_col / --smiles-col."
            )
        bad = np.flatnonzero(has_text)[:3]
        examples = ", ".join(f"line {int(lines[i])}: {str(raw[i])[:30]!r}" for i in bad)
        raise InvalidSmilesError(
            f"None of the {int(has_text.sum())} SMILES in column {smiles_col!r} of {path} "
            f"could be parsed by RDKit ({examples}); check that smiles_col / --smiles-col "
            "names the SMILES column."
        )
    bad_smiles = has_text & ~valid_smiles
    if bad_smiles.any():
        reason[bad_smiles] = "invalid_smiles"
        detail[bad_smiles] = [repr(str(s)[:60]) for s in raw[bad_smiles]]
    reason[~has_text] = "missing_smiles"
    detail[~has_text] = ""

    dropped_mask = reason != None  # noqa: E711
    report = LoadReport(n_read=n)
    for i in np.flatnonzero(dropped_mask):
        report.dropped.append(DroppedRow(row=int(lines[i]), reason=str(reason[i]), detail=str(detail[i])))
    kept = np.flatnonzero(~dropped_mask)
    if kept.size == 0:
        counts = report.dropped_by_reason()
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        raise InvalidDataError(
            f"No usable row in {path}: all {n} rows were dropped ({summary}); "
            f"check the target column(s) {', '.join(map(repr, target_cols))}."
        )

    codes, uniques = pd.factorize(pd.Series(canon[kept], dtype=object), sort=False)
    n_out = len(uniques)
    counts = np.bincount(codes, minlength=n_out)
    y_k = y_raw[kept]
    y_out = np.empty((n_out, y_k.shape[1]))
    for j in range(y_k.shape[1]):
        y_out[:, j] = np.bincount(codes, weights=y_k[:, j], minlength=n_out) / counts
    first = np.full(n_out, -1, dtype=np.int64)
    first[codes[::-1]] = kept[::-1]

    if (counts > 1).any():
        std = y_k.std(axis=0)
        tol = conflict_tol * std
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        for g in np.flatnonzero(counts > 1):
            members = kept[order[bounds[g] : bounds[g + 1]]]
            vals = y_raw[members]
            spread = vals.max(axis=0) - vals.min(axis=0)
            report.merged.append(
                MergedGroup(
                    smiles=str(uniques[g]),
                    rows=[int(lines[i]) for i in members],
                    values=vals.tolist(),
                    conflicting=bool((spread > tol).any()),
                )
            )
        report.merged.sort(key=lambda grp: grp.rows[0])

    if warn:
        _warn(report, label, target_cols, conflict_tol)
    return Standardized(smiles=np.asarray(uniques, dtype=object), y=y_out, keep=first, report=report)


def external_stacklevel() -> int:
    """``stacklevel`` that points a warning at the first caller outside cliffkit.data."""
    import inspect

    here = os.path.dirname(os.path.abspath(__file__))
    frame = inspect.currentframe()
    level = 1
    try:
        frame = frame.f_back if frame else None  # the caller of this helper is level 1
        while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
            frame = frame.f_back
            level += 1
    finally:
        del frame
    return level


def _warn(report: LoadReport, label: str, target_cols: Sequence[str], conflict_tol: float) -> None:
    if report.dropped:
        parts = []
        by = report.dropped_by_reason()
        for r in sorted(by, key=lambda k: _REASON_ORDER.index(k) if k in _REASON_ORDER else 99):
            rows = [d.row for d in report.dropped if d.reason == r]
            parts.append(f"{by[r]} {r} (line {_first_rows(rows)})")
        warnings.warn(
            f"{label}: dropped {report.n_dropped} of {report.n_read} rows: {'; '.join(parts)}. "
            "See Dataset.report for every row.",
            DataWarning,
            stacklevel=external_stacklevel(),
        )
    if report.n_conflicts:
        groups = [g for g in report.merged if g.conflicting]
        rows = ["+".join(str(r) for r in g.rows) for g in groups]
        warnings.warn(
            f"{label}: {len(groups)} groups of duplicate molecules have conflicting "
            f"{'/'.join(target_cols) if len(target_cols) <= 3 else 'target'} values "
            f"(spread > {conflict_tol:g} std) and were averaged "
            f"(lines {_first_rows(rows)}).",
            DataWarning,
            stacklevel=external_stacklevel(),
        )
