"""``svm``: support vector regression on a precomputed Tanimoto kernel over ECFP4 bits.

The kernel is the Tanimoto (Jaccard) similarity of binary fingerprints,
``K(a, b) = |a ∧ b| / (|a| + |b| − |a ∧ b|)``, a positive semi-definite kernel on bit
vectors (Ralaivola et al., *Neural Networks* 18, 1093 (2005); Gower 1971), given to
scikit-learn's :class:`~sklearn.svm.SVR` as ``kernel="precomputed"``. The regularisation
constant ``C`` is chosen on the validation set (lowest validation RMSE over ``C_grid``),
so no cross-validation runs inside a fit.

Per-sample weights go to ``SVR.fit(sample_weight=...)``, which rescales ``C`` per
molecule: CliffLoss weights ``1 + λ·c`` make errors on cliff molecules costlier. They act
only through molecules whose dual coefficient reaches its bound ``C·w_i``; when none does
(a large ``C`` fits every training label within ``epsilon``) the fit equals the unweighted
one, and a :class:`~cliffkit.errors.CliffkitWarning` says so (``weights_active_``). A
molecule of weight 0 is left out of the fit (the same model by definition): scikit-learn's
SVR with a precomputed kernel drops zero-weight rows itself but then reports
``support_`` at the wrong rows (scikit-learn issues #5150, #25380). With an
``epoch_callback`` (adaptive λ) the SVR is refitted up to ``adaptive_rounds`` times; after
each fit the callback sees the validation predictions and returns the weights of the
next fit. An SVR has no pairwise loss term and no mini-batches (``beta > 0`` raises).

Kernel blocks are cached in-process (keyed by the fingerprints' bytes), so the cells of
one split that differ only in the loss share the training kernel.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidParameterError
from ..utils import (
    Interval,
    atomic_write_bytes,
    atomic_write_text,
    is_seed,
    params_class,
    user_stacklevel,
)
from ._base import Backbone, apply_epoch_callback, refuse_pair_training
from ._featurize import ecfp_features
from ._registry import register_backbone

__all__ = ["SVMBackbone", "tanimoto_kernel"]

MODEL_FILE = "svr.npz"
_KERNEL_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_KERNEL_CACHE_SIZE = 6


def tanimoto_kernel(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Tanimoto similarity between the rows of two binary fingerprint matrices.

    Parameters
    ----------
    a : array of {0, 1}, shape (n_a, n_bits)
    b : array of {0, 1}, shape (n_b, n_bits), optional
        Default: ``a`` (the Gram matrix).

    Returns
    -------
    numpy.ndarray of float64, shape (n_a, n_b)
        ``|a_i ∧ b_j| / (|a_i| + |b_j| − |a_i ∧ b_j|)``; 0.0 for two empty fingerprints
        (the convention of :func:`cliffkit.similarity.find_neighbors`).

    Examples
    --------
    >>> import numpy as np
    >>> tanimoto_kernel(np.array([[1, 1, 0, 0], [1, 0, 1, 0]]))
    array([[1.        , 0.33333333],
           [0.33333333, 1.        ]])
    """
    a32 = np.asarray(a, dtype=np.float32)
    b32 = a32 if b is None else np.asarray(b, dtype=np.float32)
    if a32.ndim != 2 or b32.ndim != 2 or a32.shape[1] != b32.shape[1]:
        raise InvalidParameterError(
            f"tanimoto_kernel needs two 2-D arrays with the same number of bits; got shapes "
            f"{a32.shape} and {b32.shape}."
        )
    # counts are integers < 2**24, so float32 products and sums are exact
    inter = (a32 @ b32.T).astype(np.float64)
    union = a32.sum(axis=1, dtype=np.float64)[:, None] + b32.sum(axis=1, dtype=np.float64)[None, :]
    union -= inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def _digest(x: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()


def _cached_kernel(a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    key = (_digest(a), None if b is None else _digest(b), a.shape, None if b is None else b.shape)
    hit = _KERNEL_CACHE.get(key)
    if hit is not None:
        _KERNEL_CACHE.move_to_end(key)
        return hit
    k = tanimoto_kernel(a, b)
    k.setflags(write=False)
    _KERNEL_CACHE[key] = k
    while len(_KERNEL_CACHE) > _KERNEL_CACHE_SIZE:
        _KERNEL_CACHE.popitem(last=False)
    return k


def _positive_floats(v: Any) -> bool:
    """a non-empty list or tuple of positive numbers"""
    return (isinstance(v, list | tuple) and len(v) > 0
            and all(isinstance(c, int | float) and not isinstance(c, bool) and c > 0 for c in v))


@register_backbone("svm")
@params_class
class SVMBackbone(Backbone):
    """``svm``: :class:`sklearn.svm.SVR` on a precomputed Tanimoto kernel over ECFP4-1024.

    Parameters
    ----------
    C : float, optional
        Fixed regularisation constant. None (default): chosen on the validation set
        from ``C_grid`` (lowest validation RMSE; ties go to the smaller C).
    C_grid : list of float, default=(0.1, 0.3, 1, 3, 10, 30)
        Candidates for ``C``.
    epsilon : float, default=0.1
        Width of the ε-insensitive tube, in target units (MoleculeACE's value).
    radius, n_bits : int, default=2, 1024
        ECFP radius and length (ECFP4 with 1024 bits, as in MoleculeACE).
    adaptive_rounds : int, default=5
        Refits when an ``epoch_callback`` (adaptive λ) is given.
    cache_size : float, default=500
        libsvm kernel cache in MB (unused with a precomputed kernel but passed on).
    random_state : int, default=0
        Recorded for the grid; SVR fitting is deterministic.

    Examples
    --------
    >>> from cliffkit.models import get_backbone
    >>> get_backbone("svm", C=1.0)  # doctest: +ELLIPSIS
    SVMBackbone(C=1.0, C_grid=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0), epsilon=0.1, ...)
    """

    _parameter_constraints: ClassVar[dict] = {
        "C": [Interval(float, 0.0, None, closed="neither"), None],
        "C_grid": [_positive_floats],
        "epsilon": [Interval(float, 0.0, None)],
        "radius": [Interval(int, 0, None)],
        "n_bits": [Interval(int, 8, None)],
        "adaptive_rounds": [Interval(int, 1, None)],
        "cache_size": [Interval(float, 0.0, None, closed="neither")],
        "random_state": [is_seed],
    }

    C: float | None = None
    C_grid: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0)
    epsilon: float = 0.1
    radius: int = 2
    n_bits: int = 1024
    adaptive_rounds: int = 5
    cache_size: float = 500.0
    random_state: int = 0

    def _bits(self, smiles: list[str]) -> np.ndarray:
        return ecfp_features(smiles, radius=self.radius, n_bits=self.n_bits)

    def _select_and_fit(self, K_tr, y_tr, K_va, y_va, weight):
        from sklearn.svm import SVR

        grid = [float(self.C)] if self.C is not None else sorted(float(c) for c in self.C_grid)
        # zero-weight molecules are left out (the same model): sklearn's precomputed-kernel
        # SVR drops them itself but then indexes support_ into the wrong rows
        keep = np.arange(len(y_tr))
        if weight is not None and np.any(np.asarray(weight) <= 0):
            keep = np.flatnonzero(np.asarray(weight) > 0)
            K_tr, y_tr, K_va = K_tr[np.ix_(keep, keep)], y_tr[keep], K_va[:, keep]
            weight = np.asarray(weight)[keep]
        best = None
        scores = {}
        for c in grid:
            svr = SVR(kernel="precomputed", C=c, epsilon=float(self.epsilon),
                      cache_size=float(self.cache_size))
            svr.fit(K_tr, y_tr, sample_weight=weight)
            pred = svr.predict(K_va)
            rmse = float(np.sqrt(np.mean((pred - y_va) ** 2)))
            scores[c] = rmse
            if best is None or rmse < best[0] - 1e-12:
                best = (rmse, c, svr, pred)
        return best, scores, keep[np.asarray(best[2].support_, dtype=np.int64)]

    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, *, sample_weight=None, loss=None,
             pairs=None, batch_sampler=None, epoch_callback=None, log_path=None) -> None:
        refuse_pair_training("svm", loss, batch_sampler, pairs)
        t0 = time.perf_counter()
        X_tr = self._bits(smiles_tr)
        X_va = self._bits(smiles_va)
        K_tr = _cached_kernel(X_tr, None)
        K_va = _cached_kernel(X_va, X_tr)
        weight = sample_weight
        history: list[dict[str, Any]] = []
        rounds = self.adaptive_rounds if epoch_callback is not None else 1
        for r in range(1, rounds + 1):
            (rmse, c, svr, pred), scores, sv = self._select_and_fit(K_tr, y_tr, K_va, y_va,
                                                                    weight)
            record = {"epoch": r, "C": c, "val_rmse": rmse,
                      "val_mae": float(np.mean(np.abs(pred - y_va))),
                      "val_rmse_by_C": {str(k): v for k, v in scores.items()}}
            out = (epoch_callback(r, np.asarray(pred, dtype=np.float64))
                   if epoch_callback is not None and r < rounds else None)
            weight, stop = apply_epoch_callback(out, record, history, weight, len(y_tr))
            if stop:
                break
        self._set_model(svr, X_tr, sv)
        self.weights_active_ = _weights_active(svr, weight, float(c), sv)
        if not self.weights_active_:
            import warnings

            from ..errors import CliffkitWarning

            warnings.warn(
                f"svm: the sample weights did not change this fit: no training molecule's "
                f"dual coefficient reached its weighted bound C·w_i (C={c:g}: the SVR fits "
                "the training labels within epsilon), so it is the same model as without "
                "weights; weights act on an SVR only through molecules at the bound, e.g. "
                "with a smaller C (--param C=1).", CliffkitWarning, stacklevel=user_stacklevel())
        self.C_ = float(c)
        self.best_epoch_ = len(history)
        self.best_val_rmse_ = float(rmse)
        self.history_ = history
        self.fit_seconds_ = time.perf_counter() - t0
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(log_path, "".join(json.dumps(h) + "\n" for h in history))

    def _set_model(self, svr, X_tr: np.ndarray, sv: np.ndarray) -> None:
        """``sv``: the support vectors' rows of ``X_tr`` (``svr.support_`` mapped back)"""
        self.support_bits_ = np.ascontiguousarray(X_tr[sv], dtype=np.uint8)
        self.dual_coef_ = np.asarray(svr.dual_coef_, dtype=np.float64).reshape(-1)
        self.intercept_ = float(np.asarray(svr.intercept_).reshape(-1)[0])

    def _predict(self, smiles: list[str]) -> np.ndarray:
        X = self._bits(smiles)
        if self.support_bits_.shape[0] == 0:
            return np.full(len(smiles), self.intercept_)
        return tanimoto_kernel(X, self.support_bits_) @ self.dual_coef_ + self.intercept_

    def _fitted_state(self) -> dict[str, Any]:
        return {"C_": getattr(self, "C_", None), "best_val_rmse_": getattr(self, "best_val_rmse_", None)}

    def _save_weights(self, path: Path) -> None:
        import io

        buf = io.BytesIO()
        np.savez(buf, support_bits=np.packbits(self.support_bits_, axis=1),
                 dual_coef=self.dual_coef_, intercept=np.array([self.intercept_]))
        atomic_write_bytes(path / MODEL_FILE, buf.getvalue())

    def _load_weights(self, path: Path) -> None:
        with np.load(path / MODEL_FILE, allow_pickle=False) as z:
            self.support_bits_ = np.unpackbits(z["support_bits"], axis=1)[:, :self.n_bits]
            self.dual_coef_ = np.asarray(z["dual_coef"], dtype=np.float64)
            self.intercept_ = float(z["intercept"][0])


def _weights_active(svr, weight, C: float, sv: np.ndarray) -> bool:
    """False when non-uniform ``weight`` provably left the SVR as it is without weights.

    Weights only rescale the box of the dual (``|α_i| <= C·w_i``). The weighted solution
    is also the unweighted one when it lies in the unweighted box (``|α_i| <= C``) and
    every molecule at its weighted bound has ``w_i = 1`` (the other coordinates are
    interior, where the optimality conditions do not involve the box). ``sv``: the
    support vectors' rows of ``weight``. Zero weights left molecules out: active.
    """
    if weight is None:
        return True
    w = np.asarray(weight, dtype=np.float64)
    if np.allclose(w, w[0], rtol=0, atol=1e-12) or np.any(w <= 0):
        return True  # uniform: the same model as rescaling C; zeros: molecules left out
    alpha = np.abs(np.asarray(svr.dual_coef_, dtype=np.float64).reshape(-1))
    bound = C * w[sv]
    at_bound = alpha >= bound * (1.0 - 1e-8)
    inside = bool(np.all(alpha <= C * (1.0 + 1e-8)))
    return not (inside and np.all(np.abs(w[sv][at_bound] - 1.0) <= 1e-12))
