"""Per-sample weights: CliffLoss severity weights and the two baselines.

Every weighting returns a float64 array of shape ``(n_train,)`` aligned with the
training molecules, so any model that takes ``sample_weight`` can use it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ShapeMismatchError
from ..similarity import MIN_SIMILARITY, N_BITS, RADIUS
from ..utils import Interval, Options, check_random_state, validate_params

__all__ = [
    "cliff_severity",
    "cliff_pairs_from_severity",
    "cliff_weights",
    "plain_weights",
    "random_weights",
    "lds_weights",
    "to_mean_one",
]


def _as_1d(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeMismatchError(
            f"{name} must be a 1-D array of shape (n_samples,); got shape {arr.shape}."
        )
    return arr


def _train_rows(train_idx: Any, n: int) -> np.ndarray:
    """``train_idx`` as int64 positions, refused (one line) unless integers in ``[0, n)``
    without repeats: a float was truncated, -1 wrapped to the last row, a repeat counted a
    molecule twice (its own cliff partner at similarity 1.0)."""
    if train_idx is None:
        return np.arange(n, dtype=np.int64)
    arr = np.asarray(train_idx)
    if arr.ndim != 1:
        raise ShapeMismatchError(
            f"cliff_severity: train_idx must be a 1-D array of row positions; got shape {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        what = "booleans (a mask)" if arr.dtype == bool else f"{arr.dtype} values"
        fix = ("pass np.flatnonzero(mask)" if arr.dtype == bool
               else "pass whole row positions (dtype int)")
        raise InvalidParameterError(
            f"cliff_severity: train_idx must hold integer row positions; got {what}, e.g. "
            f"{arr[:3].tolist()}; {fix}.")
    idx = arr.astype(np.int64)
    bad = idx[(idx < 0) | (idx >= n)]
    if bad.size:
        raise InvalidParameterError(
            f"cliff_severity: train_idx {bad[:5].tolist()} out of range for {n} molecules "
            f"(valid positions 0..{n - 1}; negative positions are not read from the end).")
    uniq, counts = np.unique(idx, return_counts=True)
    if uniq.size != idx.size:
        rep = uniq[counts > 1]
        raise InvalidParameterError(
            f"cliff_severity: train_idx repeats rows {rep[:5].tolist()} "
            f"({int((counts - 1).sum())} repeats); give each training row once.")
    return idx


def cliff_severity(
    data: Any,
    y: np.ndarray | None = None,
    train_idx: np.ndarray | None = None,
    *,
    target: str | int | None = None,
    k: int | None = None,
    min_similarity: float = MIN_SIMILARITY,
    m: int | None = None,
    radius: int = RADIUS,
    n_bits: int = N_BITS,
    fingerprints: np.ndarray | None = None,
    return_pairs: bool = False,
    pair_quantile: float = 0.8,
    cliff_definition: str = "cliffkit",
):
    """Train-only severity of every training molecule (a thin wrapper over :mod:`cliffkit.cliffs`).

    Neighbours are searched among the training molecules only (self excluded), and the
    |Δy| scale is the 95th percentile over train–train neighbour pairs, so no validation
    or test label can reach the weights.

    Parameters
    ----------
    data : Dataset or sequence of str
        A :class:`~cliffkit.data.Dataset` or SMILES, shape (n_samples,).
    y : array-like of shape (n_samples,), optional
        Labels; taken from ``data.target(target)`` when ``data`` is a Dataset.
    train_idx : array-like of int, optional
        Rows of the training set (integer positions in ``[0, n_samples)``, each once); all
        rows when None. Labels of other rows are never read.
    target : str or int, optional
        Target of a multi-target Dataset.
    k, min_similarity, m, radius, n_bits
        Neighbour and severity parameters (defaults as docs/protocol.md:
        k = max(4, min(24, ⌊√n_train⌋)), m = max(1, ⌊√k⌋)).
    fingerprints : ndarray, optional
        Precomputed packed fingerprints of *all* rows (from
        :func:`cliffkit.similarity.compute_fingerprints`).
    return_pairs : bool, default=False
        Also return the training cliff pairs of the same graph
        (:func:`cliffkit.cliffs.cliff_pairs`: neighbour pairs whose scaled strength is
        above the ``pair_quantile`` of all pairs).
    pair_quantile : float, default=0.8
    cliff_definition : str, default="cliffkit"
        Entry of :data:`cliffkit.cliffs.CLIFF_DEFINITIONS` that scores severities and
        pairs (the split's, via :attr:`SplitResult.similarity_params`).

    Training SMILES that repeat a molecule (the same string, or another spelling of it)
    are merged as :func:`~cliffkit.data.load_dataset` merges them, with a
    :class:`~cliffkit.errors.DataWarning`: labels averaged (conflicts warned), severities
    computed once per molecule, so a replicate measurement is never a cliff partner at
    similarity 1.0, and every row gets its molecule's severity (``partner``: the partner
    molecule's first training row). A Dataset's molecules are already distinct (it refuses
    a repeated SMILES), so its SMILES are not parsed again.

    Returns
    -------
    Severity
        From :func:`cliffkit.cliffs.compute_severity`, in training order (``partner``
        holds positions inside the training set).
    pairs : ndarray of int64, shape (n_pairs, 2)
        Only with ``return_pairs=True``; positions inside the training set.

    Raises
    ------
    InvalidParameterError
        No labels, non-finite training labels, or a ``train_idx`` that is not integer, out
        of range (negative positions included) or repeats a row.
    ShapeMismatchError
        As many labels as molecules are needed.
    UnknownNameError
        An unknown ``cliff_definition``.
    """
    from ..cliffs import get_cliff_definition
    from ..similarity import compute_fingerprints, default_k, find_neighbors

    is_dataset = hasattr(data, "smiles") and hasattr(data, "target")
    if is_dataset:
        smiles = np.asarray(data.smiles, dtype=object)
        if y is None:
            y = data.target(target)
    else:
        smiles = np.asarray(list(data), dtype=object)
    if y is None:
        raise InvalidParameterError(
            "cliff_severity needs labels: pass y (shape (n_samples,)) or a Dataset."
        )
    y = _as_1d(y, "y")
    if y.shape[0] != smiles.shape[0]:
        raise ShapeMismatchError(
            f"cliff_severity: {smiles.shape[0]} molecules but {y.shape[0]} labels."
        )
    idx = _train_rows(train_idx, len(smiles))
    y_train = y[idx]
    if not np.all(np.isfinite(y_train)):
        bad_all = idx[~np.isfinite(y_train)]
        more = f" and {bad_all.size - 5} more" if bad_all.size > 5 else ""
        raise InvalidParameterError(
            f"cliff_severity: training labels must be finite; rows {bad_all[:5].tolist()}{more} are "
            "not (a multi-target molecule without this target's value: pass the labelled view, "
            "cliffkit.split.labelled_view(split, dataset, target))."
        )
    row_mol = None  # training row -> distinct molecule, when SMILES repeat a molecule
    if not is_dataset:  # a Dataset's molecules are distinct (Dataset refuses a repeated SMILES)
        from ..split._base import _merge_rows

        _, y_mol, row_mol = _merge_rows(
            smiles[idx], y_train[:, None], ["y"], what="cliff_severity's training SMILES",
            note="Severities are computed once per molecule (a repeated measurement is not "
                 "a cliff partner at similarity 1.0) and every row gets its molecule's.")
    first = idx if row_mol is None else idx[_first_rows(row_mol)]
    y_fit = y_train if row_mol is None else y_mol[:, 0]
    if fingerprints is None:
        fps = compute_fingerprints(smiles[first].tolist(), radius=radius, n_bits=n_bits)
    else:
        fps = np.asarray(fingerprints)[first]
    kk = default_k(len(first)) if k is None else int(k)
    graph = find_neighbors(fps, k=kk, min_similarity=min_similarity)
    rule = get_cliff_definition(cliff_definition)
    sev = rule.severity(graph, y_fit, y_fit, m=m)
    pairs = (rule.pairs(graph, y_fit, quantile=pair_quantile, scale=sev.scale)
             if return_pairs else None)
    if row_mol is not None:  # back to training rows: partners are their molecule's first row
        pos = _first_rows(row_mol)
        sev = sev.subset(row_mol)
        sev.partner = np.where(sev.partner >= 0, pos[np.maximum(sev.partner, 0)], -1)
        if pairs is not None:
            pairs = np.sort(pos[pairs], axis=1).astype(np.int64) if len(pairs) else pairs
    return sev if not return_pairs else (sev, pairs)


def _first_rows(row_mol: np.ndarray) -> np.ndarray:
    """Position of each molecule's first row, from row -> molecule (molecules 0..n-1)."""
    first = np.full(int(row_mol.max()) + 1, -1, dtype=np.int64)
    first[row_mol[::-1]] = np.arange(row_mol.shape[0], dtype=np.int64)[::-1]
    return first


def cliff_pairs_from_severity(severity: Any, *, quantile: float = 0.8) -> np.ndarray:
    """Training cliff pairs for the pairwise term: each high-severity molecule and its partner.

    A training molecule ``i`` gives the pair ``(i, partner[i])`` when it is supported
    and its severity is above the ``quantile`` of the supported training severities
    (the same threshold that labels test cliffs). Severities that are 0/1 flags
    (``severity.params["binary"]``, the ``moleculeace`` definition) give a pair for every
    molecule with severity 1, as :func:`~cliffkit.cliffs.assign_strata` labels them
    cliffs. Unordered duplicates are dropped.

    Parameters
    ----------
    severity : Severity
        Train-only severity (``partner`` indexes the training set).
    quantile : float, default=0.8

    Returns
    -------
    ndarray of int64, shape (n_pairs, 2)
        Sorted rows ``(min(i, j), max(i, j))``, lexicographic order.
    """
    validate_params({"quantile": [Interval(float, 0.0, 1.0, closed="left")]},
                    {"quantile": quantile}, "cliff_pairs_from_severity")
    sev = np.asarray(severity.severity, dtype=np.float64)
    supported = np.asarray(severity.supported, dtype=bool)
    partner = np.asarray(severity.partner, dtype=np.int64)
    ok = supported & (partner >= 0)
    if not ok.any():
        return np.empty((0, 2), dtype=np.int64)
    binary = bool((getattr(severity, "params", None) or {}).get("binary"))
    thr = 0.0 if binary else np.quantile(sev[supported], quantile)
    sel = np.flatnonzero(ok & (sev > thr))
    if sel.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.stack([sel, partner[sel]], axis=1)
    pairs = np.sort(pairs, axis=1)
    pairs = np.unique(pairs, axis=0)
    return pairs.astype(np.int64)


#: Largest λ accepted (``cliff_weights``, ``make_loss``, ``--lam``): far above any useful λ
#: (mean-1 weights at λ = 1e3 already equal severity / mean severity to 3 digits), low enough
#: that 1 + λ·severity summed over a million molecules cannot overflow a float64 for any
#: severity below 1e290. ``inf`` gave infinite weights and NaN after rescaling to mean 1.
MAX_LAM = 1e12


def cliff_weights(severity: Any, lam: float = 0.1) -> np.ndarray:
    r"""CliffLoss sample weights :math:`w_i = 1 + \lambda c_i`.

    Parameters
    ----------
    severity : Severity or array-like of shape (n_train,)
        Train-only severities :math:`c_i \ge 0` (unsupported molecules have 0).
    lam : float, default=0.1
        :math:`0 \le \lambda \le` :data:`MAX_LAM` (1e12); 0 gives the plain loss.

    Returns
    -------
    ndarray of float64, shape (n_train,)
        Raw weights (not rescaled). Losses in :mod:`cliffkit.loss` divide by the sum of
        weights, so only the relative emphasis matters; see :func:`to_mean_one`.

    Examples
    --------
    >>> cliff_weights([0.0, 0.5, 2.0], lam=0.1).tolist()
    [1.0, 1.05, 1.2]
    """
    validate_params({"lam": [Interval(float, 0.0, MAX_LAM)]}, {"lam": lam}, "cliff_weights")
    c = _as_1d(getattr(severity, "severity", severity), "severity")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise InvalidParameterError(
            "cliff_weights: severities must be finite and >= 0; "
            "compute them with cliff_severity on the training set."
        )
    return 1.0 + float(lam) * c


def plain_weights(n: int) -> np.ndarray:
    """All-ones weights, shape (n,): the plain loss under the same interface."""
    validate_params({"n": [Interval(int, 0, None)]}, {"n": n}, "plain_weights")
    return np.ones(int(n), dtype=np.float64)


def random_weights(weights: Any, random_state: Any = None) -> np.ndarray:
    """The same multiset of weights, randomly permuted over the molecules.

    The control for CliffLoss: same weight distribution, no link to cliffs.

    Parameters
    ----------
    weights : array-like of shape (n_train,)
    random_state : None, int or numpy Generator

    Returns
    -------
    ndarray of float64, shape (n_train,)
    """
    validate_params({"random_state": ["random_state"]}, {"random_state": random_state},
                    "random_weights")
    w = _as_1d(weights, "weights")
    rng = check_random_state(random_state)
    return w[rng.permutation(w.shape[0])]


def _kernel_window(kernel: str, ks: int, sigma: float) -> np.ndarray:
    half = (ks - 1) // 2
    x = np.arange(-half, half + 1, dtype=np.float64)
    if kernel == "gaussian":
        win = np.exp(-0.5 * (x / sigma) ** 2)
    elif kernel == "laplace":
        win = np.exp(-np.abs(x) / sigma)
    else:  # triang
        win = 1.0 - np.abs(x) / (half + 1)
    return win / win.max()


def lds_weights(
    y: Any,
    *,
    n_bins: int = 50,
    kernel: str = "gaussian",
    ks: int = 5,
    sigma: float = 2.0,
    reweight: str = "sqrt_inv",
) -> np.ndarray:
    r"""Label-distribution-smoothing weights (Yang et al., ICML 2021, "Delving into Deep Imbalanced Regression").

    Labels are binned into ``n_bins`` equal-width bins over their range; the per-bin
    count (its square root for ``reweight="sqrt_inv"``) is convolved with a symmetric
    kernel window of ``ks`` bins (normalised to peak 1) to give the effective density
    :math:`\tilde p(b)`. The weight of a molecule in bin :math:`b` is :math:`1/\tilde p(b)`,
    rescaled so the weights have mean 1. Rare labels get larger weights.

    What differs from the authors' code (github.com/YyzHarry/imbalanced-regression): their
    labels are integers (ages), one bin per value; ours are continuous, so the bins are
    equal-width. Their Gaussian window is scipy's ``gaussian_filter1d`` of a ``ks``-bin
    delta (which reflects the tails back into the window: at ``ks=5, sigma=2`` it is
    0.858, 0.946, 1, 0.946, 0.858); ours samples the Gaussian at the bin offsets (0.607,
    0.882, 1, 0.882, 0.607). On Lipophilicity's 4,200 labels the two give weights with
    correlation 0.9997 and a largest difference of 0.16 (range 0.74-5.7). Their
    ``"inverse"`` reweighting clips counts to [5, 1000]; ours does not. The laplace and
    triang windows are theirs.

    Parameters
    ----------
    y : array-like of shape (n_train,)
        Training labels only.
    n_bins : int, default=50
    kernel : {"gaussian", "laplace", "triang"}, default="gaussian"
    ks : int, default=5
        Kernel window size in bins (odd).
    sigma : float, default=2.0
        Kernel width in bins (gaussian, laplace).
    reweight : {"sqrt_inv", "inverse"}, default="sqrt_inv"

    Returns
    -------
    ndarray of float64, shape (n_train,), mean 1
    """
    validate_params(
        {
            "n_bins": [Interval(int, 1, None)],
            "kernel": [Options("gaussian", "laplace", "triang")],
            "ks": [Interval(int, 1, None)],
            "sigma": [Interval(float, 0.0, None, closed="neither")],
            "reweight": [Options("sqrt_inv", "inverse")],
        },
        {"n_bins": n_bins, "kernel": kernel, "ks": ks, "sigma": sigma, "reweight": reweight},
        "lds_weights",
    )
    if ks % 2 == 0:
        raise InvalidParameterError(f"The 'ks' parameter of lds_weights must be odd; got {ks}.")
    y = _as_1d(y, "y")
    if y.size == 0:
        return np.empty(0, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise InvalidParameterError("lds_weights: labels must be finite (pass training labels only).")
    lo, hi = float(y.min()), float(y.max())
    if hi == lo:
        return np.ones_like(y)
    edges = np.linspace(lo, hi, n_bins + 1)
    b = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(b, minlength=n_bins).astype(np.float64)
    if reweight == "sqrt_inv":
        counts = np.sqrt(counts)
    win = _kernel_window(kernel, ks, sigma)
    half = (win.size - 1) // 2
    smooth = np.convolve(counts, win, mode="full")[half:half + n_bins]
    w = 1.0 / smooth[b]
    return w * (w.size / w.sum())


def to_mean_one(weights: Any) -> np.ndarray:
    """Rescale weights to mean 1 (for models whose loss is a plain mean: LightGBM, chemprop).

    With mean-1 weights, :math:`\\sum_i w_i\\ell_i / n = \\sum_i w_i\\ell_i / \\sum_i w_i`,
    so every backbone sees the same normalised objective.
    """
    w = _as_1d(weights, "weights")
    s = w.sum()
    if w.size == 0:
        return w
    if not np.isfinite(s) or s <= 0:
        raise InvalidParameterError("weights must be finite with a positive sum.")
    return w * (w.size / s)
