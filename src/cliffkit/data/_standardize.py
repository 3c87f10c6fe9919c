"""Standardisation: RDKit canonical SMILES, numeric targets, drops, masks and merges.

The policy, applied to every source:

1. each SMILES cell is stripped and parsed with RDKit (its logger silenced) and written
   back as the canonical SMILES; an empty cell (or ``NA``, ``nan``, ``-`` ...) is
   ``missing_smiles``, an unparsable one
   (or one with no atoms) is ``invalid_smiles``. RDKit reads text after whitespace as a
   *name*, so a cell with whitespace inside is checked first: when the text around the
   whitespace is itself SMILES (``C C O``, ``CC(C) C(=O)O``: removing the whitespace,
   or a later word alone, parses) the row is ``smiles_with_whitespace`` (invalid); when
   the first word is a SMILES and the rest is not (``CCO ethanol``, ``.smi`` style) the
   rest is ignored as a name and a warning says so;
2. ``standardize`` chooses what a molecule is (see :data:`STANDARDIZE_MODES`):
   ``"keep"`` (default) keeps every fragment, charge, isotope and stereocentre as written;
   ``"fragment"`` keeps the largest fragment (RDKit ``rdMolStandardize.LargestFragmentChooser``);
   ``"parent"`` takes RDKit's charge parent (largest fragment, neutralised) without
   isotopes and stereochemistry (``ChargeParent``, ``IsotopeParent``, ``StereoParent``).
   Multi-fragment SMILES (salts, mixtures) are counted and announced in every mode;
3. each target cell must be a finite number; an empty cell (or ``nan``/``NA``) is
   ``missing_target``, text is ``non_numeric_target``, ``inf`` is ``non_finite_target``;
4. a row is dropped when its SMILES is unusable or when *no* target has a usable value
   (the first reason is recorded). With several targets, a row that has a value for some
   targets is kept and the others are NaN for it (masked, listed in ``LoadReport.masked``):
   each target keeps every molecule that has its value;
5. rows with the same canonical SMILES are merged into one (each target averaged over the
   rows that have it, the first row's id and metadata kept); a group is *conflicting*
   when, for some target, ``max - min > conflict_tol * std(target)``.

Dropped rows, masked cells, ignored names, multi-fragment SMILES and conflicting merges
are also announced with a :class:`~cliffkit.errors.DataWarning` that lists the first row
numbers (and how many more); everything is kept in ``Dataset.report``.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataWarning, InvalidDataError, InvalidSmilesError
from ..utils import user_stacklevel
from ._dataset import DroppedRow, LoadReport, MergedGroup
from ._read import Table

__all__ = [
    "STANDARDIZE_MODES", "canonicalize", "classify_smiles", "is_molecule", "mol_from_smiles", "parse_targets", "smiles_whitespace", "standardize",
    "standardize_arrays", "Standardized",
]

#: What ``standardize=`` may be (see the module docstring); ``"keep"`` is the default
#: because a salt and its parent, or two stereoisomers, are different substances with
#: possibly different measured values: cliffkit never changes a molecule unasked.
STANDARDIZE_MODES = ("keep", "fragment", "parent")

_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "?"}
_CHUNK = 2000
_PARALLEL_MIN = 20000  # below this many SMILES, one process is faster than starting a pool
_REASON_ORDER = (
    "missing_smiles", "invalid_smiles", "smiles_with_whitespace", "non_numeric_target",
    "missing_target", "non_finite_target",
)
_N_SHOWN = 5
_CACHE_MIN = 1000  # cache canonical SMILES of sources this large (see cached_canonicalize)
#: Bump when canonicalisation changes; it invalidates cached canonical SMILES.
CANON_VERSION = "2"
_SPACE = re.compile(r"\s+")


def is_molecule(mol: object) -> bool:
    """Whether an RDKit parse result is a molecule: not None and at least one atom.

    The one rule every cliffkit entry point applies: RDKit reads ``""`` (and a blank
    string once stripped) as a zero-atom ``Mol`` with no fingerprint bits and no graph,
    which is no molecule; loaders drop it, the array APIs refuse it.

    Examples
    --------
    >>> from rdkit import Chem
    >>> is_molecule(Chem.MolFromSmiles("C")), is_molecule(Chem.MolFromSmiles("")), is_molecule(None)
    (True, False, False)
    """
    return mol is not None and mol.GetNumAtoms() > 0


def _parses(text: str) -> bool:
    from rdkit import Chem

    try:
        mol = Chem.MolFromSmiles(text)
    except Exception:  # noqa: BLE001 - RDKit raises on a few pathological inputs
        return False
    return is_molecule(mol)


def smiles_whitespace(cell: str) -> tuple[str | None, str, str]:
    """Classify whitespace inside a (stripped) SMILES cell.

    Returns
    -------
    kind, smiles, rest : (None | "name" | "split", str, str)
        ``None``: no whitespace inside. ``"name"``: the first word is a SMILES and the
        rest is not SMILES (``.smi`` style ``CCO ethanol``; ``rest`` is ignored).
        ``"split"``: the SMILES itself holds whitespace (``C C O``): removing it, or a
        later word on its own, parses, so reading only the first word would silently
        change the molecule.

    Examples
    --------
    >>> smiles_whitespace("CCO ethanol")
    ('name', 'CCO', 'ethanol')
    >>> smiles_whitespace("C C O")[0]
    'split'
    """
    from rdkit import rdBase

    text = cell.strip()
    words = _SPACE.split(text)
    if len(words) < 2:
        return None, text, ""
    rest = text[len(words[0]):].strip()
    with rdBase.BlockLogs():
        if _parses("".join(words)) or any(_parses(w) for w in words[1:]):
            return "split", text, rest
        return ("name" if _parses(words[0]) else "split"), words[0], rest


def check_parsed(parsed: Sequence, smiles: Sequence, *, what: str = "",
                 fix: str = "fix or remove them") -> None:
    """Refuse SMILES that RDKit could not parse, naming the first positions.

    Parameters
    ----------
    parsed : sequence, shape (n,)
        One result per SMILES (a Mol, canonical SMILES, ...); None where parsing failed.
    smiles : sequence of str, shape (n,)
        The SMILES as given.
    what : str, optional
        Who asks, put before the message (e.g. ``"X"``).
    fix : str, optional
        What the user should do.

    Raises
    ------
    InvalidSmilesError
        Some entry of ``parsed`` is None.

    Examples
    --------
    >>> check_parsed(["CCO", None], ["CCO", "C1CC"], what="X")
    Traceback (most recent call last):
    ...
    cliffkit.errors.InvalidSmilesError: X: RDKit could not parse 1 SMILES at 0-based positions 1 ('C1CC'); fix or remove them.
    """
    from ..utils import head_list

    bad = [i for i, p in enumerate(parsed) if p is None]
    if bad:
        shown = head_list(bad, fmt=lambda i: f"{i} ({str(smiles[i])[:30]!r})")
        raise InvalidSmilesError(f"{what + ': ' if what else ''}RDKit could not parse "
                                 f"{len(bad)} SMILES at 0-based positions {shown}; {fix}.")


def mol_from_smiles(text: object):
    """RDKit ``Mol`` of one SMILES string for the array APIs, or None.

    None when ``text`` is not a string, does not parse, holds whitespace inside (RDKit
    would read only the part before the whitespace: ``"C C O"`` would be methane, so
    such a string is refused rather than silently changed) or is empty or blank (RDKit's
    zero-atom molecule is no molecule, :func:`is_molecule`). Surrounding whitespace is
    stripped.

    Examples
    --------
    >>> mol_from_smiles("CCO").GetNumAtoms(), mol_from_smiles("C C O"), mol_from_smiles("  ")
    (3, None, None)
    """
    if not isinstance(text, str):
        return None
    t = text.strip()
    if _SPACE.search(t):
        return None
    from rdkit import Chem

    mol = Chem.MolFromSmiles(t)
    return mol if is_molecule(mol) else None


@functools.lru_cache(maxsize=4)
def _standardizer(mode: str):
    """``mol -> mol`` for a :data:`STANDARDIZE_MODES` entry (RDKit rdMolStandardize)."""
    if mode == "keep":
        return None
    from rdkit.Chem.MolStandardize import rdMolStandardize

    if mode == "fragment":
        chooser = rdMolStandardize.LargestFragmentChooser()
        return chooser.choose
    if mode == "parent":
        from rdkit import Chem

        def parent(mol):
            m = rdMolStandardize.ChargeParent(mol)
            # deuterium becomes explicit [H] atoms: make them implicit again
            m = Chem.RemoveHs(rdMolStandardize.IsotopeParent(m, skipStandardize=True))
            return rdMolStandardize.StereoParent(m, skipStandardize=True)
        return parent
    raise ValueError(f"unknown standardize mode {mode!r}")  # validated by the callers


def check_mode(mode: object, where: str = "load_dataset") -> str:
    """Return ``mode`` if it is one of :data:`STANDARDIZE_MODES`, else raise.

    Raises
    ------
    InvalidParameterError
    """
    from ..errors import InvalidParameterError

    if not isinstance(mode, str) or mode.strip().lower() not in STANDARDIZE_MODES:
        raise InvalidParameterError(
            f"The 'standardize' parameter of {where} must be one of "
            f"{', '.join(map(repr, STANDARDIZE_MODES))}; got {mode!r}."
        )
    return mode.strip().lower()


def _canon_chunk(chunk: Sequence[object], mode: str = "keep") -> list[str | None]:
    """Canonical SMILES of each item, ``None`` where RDKit cannot parse it (worker function)."""
    from rdkit import Chem, rdBase

    fix = _standardizer(mode)
    out: list[str | None] = []
    with rdBase.BlockLogs():
        for s in chunk:
            if not isinstance(s, str) or not s.strip():
                out.append(None)
                continue
            text = s.strip()
            if _SPACE.search(text):
                kind, text, _ = smiles_whitespace(text)
                if kind == "split":
                    out.append(None)
                    continue
            try:
                mol = Chem.MolFromSmiles(text)
                if not is_molecule(mol):
                    out.append(None)
                    continue
                if fix is not None:
                    mol = fix(mol)
                    if not is_molecule(mol):
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
    standardize: str = "keep",
) -> list[str | None]:
    """RDKit canonical SMILES of each input, ``None`` for invalid or empty ones.

    A cell with whitespace inside the SMILES (``"C C O"``) is invalid; a SMILES followed
    by a name (``"CCO ethanol"``) gives the SMILES (see :func:`smiles_whitespace`).

    Parameters
    ----------
    smiles : sequence of str
        Raw SMILES (non-strings count as missing).
    standardize : {"keep", "fragment", "parent"}
        See :data:`STANDARDIZE_MODES` and the module docstring.
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
        work = functools.partial(_canon_chunk, mode=standardize)
        if n_jobs == 1 or len(chunks) <= 1:
            for chunk in chunks:
                out.extend(work(chunk))
                bar.update(len(chunk))
        else:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
            ctx = multiprocessing.get_context(method)
            with ctx.Pool(processes=min(n_jobs, len(chunks))) as pool:
                for res in pool.imap(work, chunks):
                    out.extend(res)
                    bar.update(len(res))
    return out


def cached_canonicalize(
    smiles: np.ndarray,
    *,
    n_jobs: int | None = None,
    show_progress: bool | None = None,
    min_rows: int = _CACHE_MIN,
    standardize: str = "keep",
) -> list[str | None]:
    """:func:`canonicalize`, remembered on disk for inputs of ``min_rows`` or more.

    The key covers the exact input strings, the RDKit version and
    :data:`CANON_VERSION`, so a cached answer is the answer RDKit would give.
    """
    if len(smiles) < min_rows:
        return canonicalize(smiles, n_jobs=n_jobs, show_progress=show_progress,
                            standardize=standardize)
    import json

    import rdkit

    from ._cache import cache_key, pack_strings, read_cache, unpack_strings, write_cache

    items = [s if isinstance(s, str) else None for s in smiles]
    digest = hashlib.sha256(json.dumps(items).encode("utf-8", "surrogatepass")).hexdigest()
    key = cache_key("canonical-smiles", digest, rdkit.__version__, CANON_VERSION, standardize)
    hit = read_cache("smiles", key)
    if hit is not None:
        try:
            canon = unpack_strings(hit["canonical"], len(items))
            return [c if v else None for c, v in zip(canon, hit["valid"].tolist(), strict=True)]
        except (KeyError, ValueError, UnicodeDecodeError):
            pass  # stale or damaged entry: recompute
    out = canonicalize(smiles, n_jobs=n_jobs, show_progress=show_progress, standardize=standardize)
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
                shown = text[non_numeric]
                if shown.str.fullmatch(_DECIMAL_COMMA).mean() >= 0.9:
                    raise InvalidDataError(
                        f"Target column {col!r} of {table.path} holds numbers with decimal "
                        f"commas (line {int(table.lines[first])}: {text.iloc[first][:40]!r}), "
                        "which cliffkit does not read as numbers (a comma can also separate "
                        "thousands); save the file with '.' as the decimal mark (e.g. "
                        "pandas.read_csv(..., decimal=',') then to_csv)."
                    )
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


def _first_rows(rows: Sequence[object], n_shown: int = _N_SHOWN) -> str:
    """The first ``n_shown`` items, then how many more (every list in a message is capped)."""
    rows = list(rows)
    shown = ", ".join(str(r) for r in rows[:n_shown])
    extra = len(rows) - n_shown
    return shown + (f" and {extra:,} more" if extra > 0 else "")


def _group_rows(rows: Sequence[int], n_shown: int = 3) -> str:
    """``2+5+9`` for a small group; ``2+5+9+... (1,000 rows)`` for a large one."""
    rows = list(rows)
    if len(rows) <= n_shown + 1:
        return "+".join(str(r) for r in rows)
    return "+".join(str(r) for r in rows[:n_shown]) + f"+... ({len(rows):,} rows)"


def classify_smiles(raw: Sequence[object], canonical: Sequence[str | None], lines: np.ndarray):
    """Why each SMILES cell is unusable, given its canonical form from :func:`canonicalize`.

    Returns
    -------
    has_text, valid : numpy.ndarray of bool, shape (n,)
        The cell holds text; it gave a molecule.
    reason, detail : numpy.ndarray of object, shape (n,)
        ``None`` for a usable cell, else ``"missing_smiles"``, ``"invalid_smiles"`` or
        ``"smiles_with_whitespace"`` and a short description.
    names_ignored : list of (line, smiles, ignored text)
        Cells read as ``SMILES name`` (``.smi`` style), whose name was ignored.
    """
    raw = np.asarray(list(raw), dtype=object)
    canon = np.asarray(list(canonical), dtype=object)
    n = raw.shape[0]
    # "NA", "nan", "-" ... are missing cells (as in target columns), not bad SMILES
    has_text = np.array([isinstance(s, str) and s.strip().lower() not in _MISSING for s in raw],
                        dtype=bool)
    valid = np.array([c is not None for c in canon], dtype=bool) & has_text
    split_ws = np.zeros(n, dtype=bool)
    names_ignored: list[tuple[int, str, str]] = []
    for i in np.flatnonzero(has_text):
        if not _SPACE.search(raw[i].strip()):
            continue
        kind, head, rest = smiles_whitespace(raw[i])
        if kind == "split":
            split_ws[i] = True
        elif kind == "name" and valid[i]:
            names_ignored.append((int(lines[i]), head, rest))
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, "", dtype=object)
    bad = has_text & ~valid & ~split_ws
    if bad.any():
        reason[bad] = "invalid_smiles"
        detail[bad] = [repr(str(s)[:60]) for s in raw[bad]]
    if split_ws.any():
        reason[split_ws] = "smiles_with_whitespace"
        detail[split_ws] = [
            f"{str(s).strip()[:60]!r}: whitespace inside the SMILES; remove it (or put a name "
            "in its own column)" for s in raw[split_ws]
        ]
    reason[~has_text] = "missing_smiles"
    return has_text, valid, reason, detail, names_ignored


def standardize(table: Table, smiles_col: str, target_cols: Sequence[str],
                **options: Any) -> Standardized:
    """Canonicalise, drop bad rows, mask missing targets, merge duplicates (module docstring).

    Parameters
    ----------
    table : Table
        The source, read by :func:`read_table`.
    smiles_col, target_cols : str, sequence of str
        Existing columns of ``table``.
    **options
        The keyword options of :func:`standardize_arrays`: ``canonical, conflict_tol,
        n_jobs, show_progress, label, warn, standardize, target_names``.

    Raises
    ------
    InvalidSmilesError
        When no SMILES of the column parses.
    InvalidDataError
        When a target column is not numeric or no row survives.
    """
    y_raw, problems, texts = parse_targets(table, target_cols)
    n, t = len(table), len(target_cols)
    bad = np.column_stack([p != None for p in problems]) if t else np.zeros((n, 0), bool)  # noqa: E711
    all_bad = bad.all(axis=1)
    reason = np.full(n, None, dtype=object)
    detail = np.full(n, "", dtype=object)
    for j in reversed(range(t)):  # the first target's reason wins
        for r in ("non_finite_target", "missing_target", "non_numeric_target"):
            m = (problems[j] == r) & all_bad
            if m.any():
                reason[m] = r
                detail[m] = [f"{target_cols[j]}={x[:40]!r}" for x in texts[j][m]]
    cell_reason = np.full((n, t), None, dtype=object)
    cell_detail = np.full((n, t), "", dtype=object)
    part = bad & ~all_bad[:, None]
    for j in range(t):
        m = part[:, j]
        if m.any():
            cell_reason[m, j] = problems[j][m]
            cell_detail[m, j] = [f"{target_cols[j]}={x[:40]!r}" for x in texts[j][m]]
    return standardize_arrays(
        table.frame[smiles_col].to_numpy(dtype=object),
        y_raw,
        table.lines,
        reason,
        detail,
        path=table.path,
        smiles_col=smiles_col,
        target_cols=target_cols,
        cell_reason=cell_reason if part.any() else None,
        cell_detail=cell_detail,
        **{"row_word": table.row_word, **options},
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
    standardize: str = "keep",
    cell_reason: np.ndarray | None = None,
    cell_detail: np.ndarray | None = None,
    target_names: Sequence[str] | None = None,
    row_word: str = "line",
) -> Standardized:
    """Array form of :func:`standardize`.

    ``raw`` are the SMILES cells, ``y_raw`` the targets (NaN where bad), ``lines`` the
    1-based line of each row, ``reason``/``detail`` the problem that drops a row
    (``None``/``""`` when fine). ``cell_reason``/``cell_detail`` (shape (n, t)) give the
    problem of single target cells of rows that are kept (masked). ``reason`` and
    ``detail`` are modified in place.

    Parameters
    ----------
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
        Emit :class:`DataWarning` for dropped rows, masked cells and conflicting merges.
    standardize : {"keep", "fragment", "parent"}
        See :data:`STANDARDIZE_MODES`.
    target_names : sequence of str, optional
        Names of the targets in messages and ``LoadReport.masked`` (default: the columns).
    row_word : str, default="line"
        What ``lines`` are, in warnings and ``LoadReport.row_word``: ``"line"`` (of a text
        file), ``"record"`` (of a Parquet file) or ``"0-based position"`` (of arrays).
    """
    label = label or path
    names = list(target_names) if target_names is not None else list(target_cols)
    n = raw.shape[0]
    if canonical is None:
        canonical = cached_canonicalize(raw, n_jobs=n_jobs, show_progress=show_progress,
                                        standardize=standardize)
    canon = np.asarray(canonical, dtype=object)
    if canon.shape != (n,):
        raise ValueError("canonical SMILES must align with the table rows")  # a bug, not user input

    has_text, valid_smiles, bad_reason, bad_detail, names_ignored = classify_smiles(raw, canon, lines)
    if not valid_smiles.any():
        if not has_text.any():
            raise InvalidDataError(
                f"SMILES column {smiles_col!r} of {path} is empty in all {n} rows; "
                "name the SMILES column with smiles_col / --smiles-col."
            )
        bad = np.flatnonzero(has_text)[:3]
        examples = ", ".join(f"{row_word} {int(lines[i])}: {str(raw[i])[:30]!r}" for i in bad)
        raise InvalidSmilesError(
            f"None of the {int(has_text.sum())} SMILES in column {smiles_col!r} of {path} "
            f"could be parsed by RDKit ({examples}); check that smiles_col / --smiles-col "
            "names the SMILES column."
        )
    smiles_bad = bad_reason != None  # noqa: E711
    reason[smiles_bad] = bad_reason[smiles_bad]
    detail[smiles_bad] = bad_detail[smiles_bad]

    dropped_mask = reason != None  # noqa: E711
    report = LoadReport(n_read=n, standardize=standardize, row_word=row_word)
    for i in np.flatnonzero(dropped_mask):
        report.dropped.append(DroppedRow(row=int(lines[i]), reason=str(reason[i]), detail=str(detail[i])))
    kept = np.flatnonzero(~dropped_mask)
    if kept.size == 0:
        counts = report.dropped_by_reason()
        summary = ", ".join(f"{v} {k}" for k, v in counts.items())
        raise InvalidDataError(
            f"No usable row in {path}: all {n} rows were dropped ({summary}); "
            f"check the target column(s) {_first_rows(map(repr, target_cols))}."
        )
    if cell_reason is not None:
        for j in range(cell_reason.shape[1]):
            for i in kept[cell_reason[kept, j] != None]:  # noqa: E711
                report.masked.append(DroppedRow(
                    row=int(lines[i]), reason=str(cell_reason[i, j]),
                    detail=str(cell_detail[i, j]) if cell_detail is not None else "",
                    target=names[j]))
    multi = multi_fragment_lines(raw, lines, kept)
    report.n_multi_fragment = len(multi)

    codes, uniques = pd.factorize(pd.Series(canon[kept], dtype=object), sort=False)
    n_out = len(uniques)
    counts = np.bincount(codes, minlength=n_out)
    y_k = y_raw[kept]
    present = np.isfinite(y_k)
    y_out = np.empty((n_out, y_k.shape[1]))
    for j in range(y_k.shape[1]):
        # each target averaged over the rows that have it (all of them, without masking)
        sums = np.bincount(codes, weights=np.where(present[:, j], y_k[:, j], 0.0), minlength=n_out)
        have = np.bincount(codes, weights=present[:, j].astype(np.float64), minlength=n_out)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            y_out[:, j] = np.where(have > 0, sums / np.maximum(have, 1), np.nan)
            overflow = (have > 0) & ~np.isfinite(y_out[:, j])
            if overflow.any():
                # finite values near the float64 limit overflow in the sum: average y/n instead
                # (each term at most max|y|/n), only for those molecules, so every other mean
                # keeps its bits
                part = np.where(present[:, j], y_k[:, j], 0.0) / np.maximum(have, 1)[codes]
                scaled = np.bincount(codes, weights=part, minlength=n_out)
                y_out[overflow, j] = scaled[overflow]
    first = np.full(n_out, -1, dtype=np.int64)
    first[codes[::-1]] = kept[::-1]

    if (counts > 1).any():
        std = np.array([y_k[present[:, j], j].std() if present[:, j].any() else 0.0
                        for j in range(y_k.shape[1])])
        tol = conflict_tol * std
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(counts)])
        as_written: dict[int, str] = {}
        if standardize != "keep":  # which merged rows are one molecule as written
            rows = kept[np.isin(codes, np.flatnonzero(counts > 1))]
            as_written = dict(zip(rows.tolist(), cached_canonicalize(
                np.asarray(raw, dtype=object)[rows], n_jobs=n_jobs, show_progress=False),
                strict=True))
        for g in np.flatnonzero(counts > 1):
            members = kept[order[bounds[g] : bounds[g + 1]]]
            vals = y_raw[members]
            spread = np.zeros(vals.shape[1])
            for j in range(vals.shape[1]):
                v = vals[np.isfinite(vals[:, j]), j]
                spread[j] = v.max() - v.min() if v.size else 0.0
            report.merged.append(
                MergedGroup(
                    smiles=str(uniques[g]),
                    rows=[int(lines[i]) for i in members],
                    values=vals.tolist(),
                    conflicting=bool((spread > tol).any()),
                    written=[str(as_written[int(i)]) for i in members] if as_written else [],
                )
            )
        report.merged.sort(key=lambda grp: grp.rows[0])

    if warn:
        _warn(report, label, names, conflict_tol, row_word)
        multi_set = set(multi)
        n_with = sum(len(g.rows) - 1 for g in report.merged if multi_set.intersection(g.rows))
        _warn_smiles(label, names_ignored, multi, standardize, n_with, row_word)
    return Standardized(smiles=np.asarray(uniques, dtype=object), y=y_out, keep=first, report=report)


def multi_fragment_lines(raw, lines, rows) -> list[int]:
    """The ``lines`` of the ``rows`` whose SMILES cell (``raw``) has several fragments (a '.'
    in the SMILES itself, not in a name written after it): salts and mixtures."""
    return [int(lines[i]) for i in rows if "." in str(raw[i]).split()[0]]


def _warn_smiles(label: str, names_ignored: list[tuple[int, str, str]], multi: list[int],
                 mode: str, n_merged: int, row_word: str = "line") -> None:
    if names_ignored:
        ex = _first_rows([f"{row_word} {r}: {rest[:30]!r} after {head[:30]!r}"
                          for r, head, rest in names_ignored], 3)
        warnings.warn(
            f"{label}: {len(names_ignored):,} SMILES cells hold text after the SMILES, read as "
            f"a name and ignored ({ex}); put names in their own column to silence this.",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    if multi:
        if mode == "keep":
            what = (
                "kept as written (salts/mixtures: fingerprints see the counter-ions, and a salt "
                "and its parent can be each other's cliff partner at similarity 1.0); "
                "standardize='fragment' / --standardize fragment keeps the largest fragment"
            )
        else:
            what = (
                f"reduced by standardize={mode!r} (RDKit rdMolStandardize); {n_merged:,} rows "
                "were merged with a molecule that coincides with such a reduced one"
            )
        warnings.warn(
            f"{label}: {len(multi):,} SMILES {'has' if len(multi) == 1 else 'have'} several fragments ({row_word} {_first_rows(multi)}); "
            f"{what}.",
            DataWarning,
            stacklevel=user_stacklevel(),
        )


#: A number written with a decimal comma ('2,5', '-0,75'), not read as a number.
_DECIMAL_COMMA = r"^[-+]?\d+,\d+$"


def _warn(report: LoadReport, label: str, target_cols: Sequence[str], conflict_tol: float,
          row_word: str = "line") -> None:
    if report.dropped:
        parts = []
        by = report.dropped_by_reason()
        for r in sorted(by, key=lambda k: _REASON_ORDER.index(k) if k in _REASON_ORDER else 99):
            rows = [d.row for d in report.dropped if d.reason == r]
            extra = ""
            if r == "non_numeric_target":
                texts = [d.detail for d in report.dropped if d.reason == r]
                cens = [t for t in texts if re.search(r"=['\"]\s*(?:[<>]=?|[≤≥~])", t)]
                commas = [t for t in texts if re.search(r"=['\"]" + _DECIMAL_COMMA[1:-1] + "['\"]", t)]
                extra = f": {_first_rows(texts, 3)}" + (
                    f"; {len(cens):,} are censored values (>, <), which are not exact numbers"
                    if cens else "") + (
                    f"; {len(commas):,} look like decimal commas ('2,5'), which cliffkit does not "
                    "read as numbers (it cannot tell them from thousands separators)"
                    if commas else "")
            parts.append(f"{by[r]:,} {r} ({row_word} {_first_rows(rows)}{extra})")
        allmiss = (
            " (a row is dropped only when it has no value for any target)"
            if len(target_cols) > 1 and any(r.endswith("_target") for r in by) else ""
        )
        warnings.warn(
            f"{label}: dropped {report.n_dropped:,} of {report.n_read:,} rows: {'; '.join(parts)}"
            f"{allmiss}. See Dataset.report (cliffkit describe) for every row.",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    if report.masked:
        parts = []
        by_target = report.masked_by_target()
        for name, count in list(by_target.items())[:_N_SHOWN]:
            rows = [d.row for d in report.masked if d.target == name]
            parts.append(f"{name!r}: {count:,} ({row_word} {_first_rows(rows)})")
        if len(by_target) > _N_SHOWN:
            parts.append(f"and {len(by_target) - _N_SHOWN} more targets")
        warnings.warn(
            f"{label}: {len(report.masked):,} target cells are empty or not a finite number "
            f"while the row has a value for another target: {'; '.join(parts)}. Those "
            "molecules are kept with that target missing (NaN): each target uses every "
            "molecule that has its value. See Dataset.report.masked.",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
    if report.n_conflicts:
        groups = [g for g in report.merged if g.conflicting]
        rows = [_group_rows(g.rows) for g in groups]
        one = len(groups) == 1
        warnings.warn(
            f"{label}: {len(groups):,} group{'' if one else 's'} of duplicate molecules "
            f"{'has' if one else 'have'} conflicting "
            f"{'/'.join(target_cols) if len(target_cols) <= 3 else 'target'} values "
            f"(spread > {conflict_tol:g} std) and {'was' if one else 'were'} averaged "
            f"({row_word}s {_first_rows(rows)}).",
            DataWarning,
            stacklevel=user_stacklevel(),
        )
