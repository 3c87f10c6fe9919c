"""MoleculeACE-compatible activity cliffs (van Tilborg, Alenicheva & Grisoni, 2022).

MoleculeACE calls two molecules an *activity cliff* when they are structurally
similar by **any** of three similarities and their potencies differ by more than a
fold threshold:

- substructure similarity: Tanimoto on Morgan radius 2, 1024 bits (ECFP4-1024);
- scaffold similarity: Tanimoto on Morgan radius 2, 1024 bits of the molecule made
  generic with RDKit's ``MakeScaffoldGeneric`` (every heavy atom carbon, every bond
  single; MoleculeACE applies it to the whole molecule, and falls back to the Murcko
  scaffold when that fails; isotope labels are kept, as in the RDKit MoleculeACE used);
- SMILES similarity: ``1 - levenshtein(s_i, s_j) / max(len(s_i), len(s_j))`` on the
  SMILES strings exactly as given.

A pair is a cliff when ``max(sim) >= similarity_threshold`` (0.9) and
``max(y_i, y_j) / min(y_i, y_j) > potency_fold`` (10) on the nM values; a molecule is
a cliff molecule (``cliff_mol``) when it is in at least one cliff pair. MoleculeACE
computes ``cliff_mol`` over the whole data set (train and test together), and its
"cliff RMSE" is the RMSE over the test molecules with ``cliff_mol == 1``.

This is an independent implementation (numpy Tanimoto on fingerprint bits, rapidfuzz
Levenshtein), checked against the ``cliff_mol`` columns of the MoleculeACE files.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidDataError, ShapeMismatchError
from ..utils import Interval, head_list, user_stacklevel, validate_params

__all__ = [
    "MoleculeACECliffs",
    "moleculeace_cliffs",
    "moleculeace_cliff_rmse",
    "moleculeace_metrics",
    "moleculeace_similarity",
]

_CONSTRAINTS = {
    "similarity_threshold": [Interval(float, 0.0, 1.0, closed="right")],
    "potency_fold": [Interval(float, 1.0, None, closed="left")],
    "block_size": [Interval(int, 1, None)],
    "n_jobs": [Interval(int, -1, None), None],
    "show_progress": ["boolean", None],
}

_RADIUS = 2
_N_BITS = 1024


@dataclass
class MoleculeACECliffs:
    """Result of :func:`moleculeace_cliffs` with ``return_pairs=True``.

    Attributes
    ----------
    cliff_mol : numpy.ndarray of bool, shape (n_samples,)
        True for molecules in at least one cliff pair (MoleculeACE's ``cliff_mol``).
    pairs : numpy.ndarray of int64, shape (n_pairs, 2)
        Cliff pairs ``(i, j)`` with ``i < j``, sorted.
    fold_change : numpy.ndarray of float64, shape (n_pairs,)
        ``max(y_i, y_j) / min(y_i, y_j)`` of each pair.
    """

    cliff_mol: np.ndarray
    pairs: np.ndarray
    fold_change: np.ndarray


def _to_mols(smiles):
    from ..data import check_parsed, mol_from_smiles

    mols, bad = [], []
    for i, s in enumerate(smiles):
        mol = mol_from_smiles(s)  # None for whitespace inside a SMILES too
        if mol is None:
            bad.append(i)
        mols.append(mol)
    check_parsed(mols, smiles, what="moleculeace_cliffs")
    return mols


def _generic_skeleton(mol):
    """MoleculeACE's generic skeleton of a whole molecule, Murcko scaffold on failure.

    Every heavy atom becomes an uncharged, non-aromatic carbon and every bond single,
    as RDKit's ``MakeScaffoldGeneric`` does. Isotope labels are *kept*: the RDKit that
    MoleculeACE used kept them (newer RDKit clears them), and the published
    ``cliff_mol`` columns are only reproduced with them (an ``[18F]`` tracer in
    CHEMBL234_Ki is the one case that differs).
    """
    from rdkit import Chem
    from rdkit.Chem.Scaffolds.MurckoScaffold import GetScaffoldForMol

    generic = Chem.RWMol(mol)
    for atom in generic.GetAtoms():
        if atom.GetAtomicNum() != 1:
            atom.SetAtomicNum(6)
        atom.SetIsAromatic(False)
        atom.SetFormalCharge(0)
        atom.SetChiralTag(Chem.ChiralType.CHI_UNSPECIFIED)
        atom.SetNoImplicit(False)
        atom.SetNumExplicitHs(0)
    for bond in generic.GetBonds():
        bond.SetBondType(Chem.BondType.SINGLE)
        bond.SetIsAromatic(False)
    try:
        return Chem.RemoveHs(generic.GetMol())  # sanitises; fails on e.g. 6-valent carbon
    except Exception:  # noqa: BLE001 - RDKit raises several sanitisation errors
        return GetScaffoldForMol(mol)


def _morgan_bits(mols) -> np.ndarray:
    """Morgan radius-2, 1024-bit fingerprints as a float32 0/1 matrix (n, 1024)."""
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=_RADIUS, fpSize=_N_BITS)
    out = np.zeros((len(mols), _N_BITS), dtype=np.float32)
    for i, mol in enumerate(mols):
        out[i] = gen.GetFingerprintAsNumPy(mol)
    return out


def _tanimoto_block(bits: np.ndarray, counts: np.ndarray, rows: slice) -> np.ndarray:
    """Exact Tanimoto of rows ``rows`` against all, in float64 (c / (a + b - c)).

    The intersection counts come from a float32 matrix product, exact for counts up
    to 2**24.
    """
    inter = (bits[rows] @ bits.T).astype(np.float64)
    union = counts[rows, None] + counts[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(union > 0, inter / union, 0.0)
    return sim


def _levenshtein_block(smiles: list[str], lengths: np.ndarray, rows: slice, workers: int):
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    dist = cdist(smiles[rows], smiles, scorer=Levenshtein.distance, dtype=np.int32,
                 workers=workers)
    longest = np.maximum(lengths[rows, None], lengths[None, :]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(longest > 0, 1.0 - dist / longest, 0.0)
    return sim


def _check(smiles, y_nM=None):
    smiles = [str(s) if isinstance(s, str | np.str_) else s for s in smiles]
    if y_nM is None:
        return smiles, None
    y = np.asarray(y_nM, dtype=np.float64).reshape(-1)
    if y.shape[0] != len(smiles):
        raise ShapeMismatchError(
            f"moleculeace_cliffs: {len(smiles)} SMILES but {y.shape[0]} potency values; "
            "pass one nM value per molecule."
        )
    bad = np.flatnonzero(~np.isfinite(y) | (y <= 0))
    if bad.size:
        raise InvalidDataError(
            f"moleculeace_cliffs: y_nM must be finite positive potencies in nM; "
            f"{bad.size} are not, e.g. at positions {bad[:3].tolist()} "
            f"(values {y[bad[:3]].tolist()}); pass exp_mean [nM], not -log10 values."
        )
    _refuse_repeats(smiles)
    return smiles, y


def _refuse_repeats(smiles) -> None:
    """Refuse a SMILES string given twice: its replicates would be each other's cliff partner.

    MoleculeACE's rule compares rows, so two measurements of one molecule (similarity 1.0)
    more than ``potency_fold`` apart would be labelled an activity cliff. Replicates must be
    merged first, as ``load_dataset`` does (geometric mean of the nM values).
    """
    first: dict[str, int] = {}
    repeats: list[tuple[int, int]] = []
    for i, s in enumerate(smiles):
        if isinstance(s, str):
            j = first.setdefault(s, i)
            if j != i:
                repeats.append((j, i))
    if repeats:
        shown = head_list(repeats, fmt=lambda ji: f"{ji[1]}={ji[0]}")
        raise InvalidDataError(
            f"moleculeace_cliffs: {len(repeats)} SMILES repeat an earlier one (position=first "
            f"position: {shown}); MoleculeACE's rule needs one row per molecule, or "
            "replicates become each other's cliff partner. Merge replicates first "
            "(cliffkit.load_dataset merges them)."
        )


def _warn_units(y: np.ndarray, potency_fold: float) -> None:
    """Warn when nM potencies look like -log10 values (pKi, pIC50) or cannot form a cliff.

    Potencies in nM of a ChEMBL target span orders of magnitude; pKi/pIC50 values lie
    between about 1 and 14 and span a few units, so their max/min fold is small and a
    ``potency_fold`` difference (10x) is rare or impossible: passing them as nM silently
    finds (almost) no cliffs.
    """
    import warnings

    from ..errors import DataWarning

    if y.size < 2:
        return
    lo, hi = float(y.min()), float(y.max())
    fold = hi / lo
    looks_p = lo >= 1.0 and hi <= 14.0
    if fold <= potency_fold or looks_p:
        why = (f"their largest fold difference is {fold:.3g} <= potency_fold={potency_fold:g}, "
               "so no pair can be a cliff" if fold <= potency_fold
               else f"all lie between {lo:.3g} and {hi:.3g}, the range of -log10 potencies")
        warnings.warn(
            f"moleculeace_cliffs: the {y.size} y_nM values look like -log10 potencies (pKi, "
            f"pIC50), not nM: {why}. Pass nM values (MoleculeACE's exp_mean [nM]); from "
            "p-values: nM = 10**(9 - p); from MoleculeACE's y = -log10(nM): nM = 10**(-y).",
            DataWarning,
            stacklevel=user_stacklevel(),
        )


class _Blocks:
    """The three similarity ingredients, computed once, queried per row block."""

    def __init__(self, smiles: list[str], n_jobs: int | None):
        from rdkit import rdBase

        mols = _to_mols(smiles)
        with rdBase.BlockLogs():
            skeletons = [_generic_skeleton(m) for m in mols]
        self.smiles = smiles
        self.n = len(smiles)
        self.fp = _morgan_bits(mols)
        self.fp_count = self.fp.sum(axis=1, dtype=np.float64)
        self.sk = _morgan_bits(skeletons)
        self.sk_count = self.sk.sum(axis=1, dtype=np.float64)
        self.lengths = np.array([len(s) for s in smiles], dtype=np.int64)
        self.workers = -1 if n_jobs is None else int(n_jobs) or 1

    def similar(self, rows: slice, threshold: float) -> np.ndarray:
        """Boolean (rows, n): any similarity >= threshold, self pairs excluded."""
        sim = _tanimoto_block(self.fp, self.fp_count, rows) >= threshold
        sim |= _tanimoto_block(self.sk, self.sk_count, rows) >= threshold
        sim |= _levenshtein_block(self.smiles, self.lengths, rows, self.workers) >= threshold
        r = np.arange(rows.start, rows.stop)
        sim[r - rows.start, r] = False
        return sim


def _row_blocks(n: int, block_size: int, show_progress: bool | None, desc: str):
    starts = range(0, n, block_size)
    if show_progress is None:
        show_progress = sys.stderr.isatty()
    if show_progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, unit="block", disable=not show_progress)
    for s in starts:
        yield slice(s, min(n, s + block_size))


def moleculeace_similarity(
    smiles,
    *,
    similarity_threshold: float = 0.9,
    block_size: int = 512,
    n_jobs: int | None = None,
    show_progress: bool | None = False,
) -> np.ndarray:
    """MoleculeACE's consensus similarity as a boolean matrix.

    Parameters
    ----------
    smiles : sequence of str, shape (n_samples,)
        SMILES exactly as MoleculeACE saw them (the Levenshtein part is string-based).
    similarity_threshold : float, default=0.9
        A pair is similar when any of the three similarities is ``>=`` this value.
    block_size, n_jobs, show_progress
        Rows per block, rapidfuzz workers (None = all cores), progress bar.

    Returns
    -------
    numpy.ndarray of bool, shape (n_samples, n_samples)
        Symmetric, False on the diagonal.
    """
    validate_params(_CONSTRAINTS, {"similarity_threshold": similarity_threshold,
                                   "block_size": block_size, "n_jobs": n_jobs,
                                   "show_progress": show_progress}, "moleculeace_similarity")
    smiles, _ = _check(smiles)
    blocks = _Blocks(smiles, n_jobs)
    out = np.zeros((blocks.n, blocks.n), dtype=bool)
    for rows in _row_blocks(blocks.n, block_size, show_progress, "MoleculeACE similarity"):
        out[rows] = blocks.similar(rows, similarity_threshold)
    return out


def moleculeace_cliffs(
    smiles,
    y_nM,
    *,
    similarity_threshold: float = 0.9,
    potency_fold: float = 10.0,
    return_pairs: bool = False,
    block_size: int = 512,
    n_jobs: int | None = None,
    show_progress: bool | None = False,
):
    """Activity-cliff molecules as MoleculeACE defines them.

    Parameters
    ----------
    smiles : sequence of str, shape (n_samples,)
        SMILES as given (not re-canonicalised: the SMILES similarity is string-based);
        for a loaded set, ``ds.meta["smiles_given"]``, not the canonical ``ds.smiles``.
    y_nM : array-like of float, shape (n_samples,)
        Potencies in nM (MoleculeACE's ``exp_mean [nM]``), positive.
    similarity_threshold : float, default=0.9
        Any of ECFP4-1024, generic-skeleton and SMILES similarity ``>=`` this value.
    potency_fold : float, default=10
        Fold change ``max/min`` of the nM values must be ``>`` this value.
    return_pairs : bool, default=False
        Also return the cliff pairs.
    block_size, n_jobs, show_progress
        Rows per block, rapidfuzz workers (None = all cores), progress bar.

    Returns
    -------
    numpy.ndarray of bool, shape (n_samples,), or MoleculeACECliffs
        ``cliff_mol`` (or the full result with ``return_pairs=True``).

    Examples
    --------
    >>> smi = ["CCCCCCCCCCO", "CCCCCCCCCCN", "c1ccccc1"]
    >>> moleculeace_cliffs(smi, [1.0, 100.0, 1.0]).tolist()
    [True, True, False]
    """
    validate_params(_CONSTRAINTS, {"similarity_threshold": similarity_threshold,
                                   "potency_fold": potency_fold, "block_size": block_size,
                                   "n_jobs": n_jobs, "show_progress": show_progress},
                    "moleculeace_cliffs")
    smiles, y = _check(smiles, y_nM)
    _warn_units(y, potency_fold)
    blocks = _Blocks(smiles, n_jobs)
    n = blocks.n
    cliff_mol = np.zeros(n, dtype=bool)
    pair_i, pair_j, folds = [], [], []
    for rows in _row_blocks(n, block_size, show_progress, "MoleculeACE cliffs"):
        sim = blocks.similar(rows, similarity_threshold)
        yr = y[rows, None]
        fold = np.maximum(yr, y[None, :]) / np.minimum(yr, y[None, :])
        cliff = sim & (fold > potency_fold)
        cliff_mol[rows] |= cliff.any(axis=1)
        if return_pairs:
            ii, jj = np.nonzero(cliff)
            ii = ii + rows.start
            keep = ii < jj
            pair_i.append(ii[keep])
            pair_j.append(jj[keep])
            folds.append(fold[ii[keep] - rows.start, jj[keep]])
    if not return_pairs:
        return cliff_mol
    if pair_i:
        pairs = np.stack([np.concatenate(pair_i), np.concatenate(pair_j)], axis=1).astype(np.int64)
        fc = np.concatenate(folds)
    else:
        pairs, fc = np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return MoleculeACECliffs(cliff_mol=cliff_mol, pairs=pairs[order], fold_change=fc[order])


def moleculeace_cliff_rmse(y_true, y_pred, cliff_mol) -> float:
    """MoleculeACE's cliff RMSE: the RMSE over molecules with ``cliff_mol == 1``.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_test,)
        True and predicted labels of the test molecules (MoleculeACE uses ``y``).
    cliff_mol : array-like of bool or {0, 1}, shape (n_test,)
        The test molecules' ``cliff_mol`` flags.

    Returns
    -------
    float
        ``sqrt(mean((y_true - y_pred)[cliff]**2))``; NaN when no test molecule is a cliff.
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(-1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    cm = np.asarray(cliff_mol).reshape(-1).astype(bool)
    if not (yt.shape == yp.shape == cm.shape):
        raise ShapeMismatchError(
            f"moleculeace_cliff_rmse: y_true, y_pred and cliff_mol must have the same length; "
            f"got {yt.shape[0]}, {yp.shape[0]} and {cm.shape[0]}."
        )
    if not cm.any():
        return float("nan")
    return float(np.sqrt(np.mean((yt[cm] - yp[cm]) ** 2)))


def moleculeace_metrics(y_true, y_pred, cliff_mol) -> dict[str, float | int]:
    """MoleculeACE's two test metrics (van Tilborg et al., JCIM 2022): RMSE over the test
    set and RMSE over its ``cliff_mol == 1`` molecules.

    Parameters
    ----------
    y_true, y_pred : array-like of float, shape (n_test,)
    cliff_mol : array-like of bool or {0, 1}, shape (n_test,)

    Returns
    -------
    dict
        ``{"rmse", "cliff_rmse", "n", "n_cliff"}`` (``cliff_rmse`` NaN without cliff molecules).

    Examples
    --------
    >>> moleculeace_metrics([0.0, 1.0], [0.0, 0.0], [0, 1])
    {'rmse': 0.7071067811865476, 'cliff_rmse': 1.0, 'n': 2, 'n_cliff': 1}
    """
    yt = np.asarray(y_true, dtype=np.float64).reshape(-1)
    yp = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    cliff = moleculeace_cliff_rmse(yt, yp, cliff_mol)
    return {"rmse": float(np.sqrt(np.mean((yt - yp) ** 2))) if yt.size else float("nan"),
            "cliff_rmse": cliff, "n": int(yt.size),
            "n_cliff": int(np.asarray(cliff_mol).astype(bool).sum())}
