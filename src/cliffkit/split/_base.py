"""Splitter base class (sklearn-style) and the splitter registry."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import (
    InvalidParameterError,
    ShapeMismatchError,
    SplitWarning,
    unknown_name,
)
from ..similarity import MIN_SIMILARITY, N_BITS, RADIUS
from ..utils import (
    Interval,
    Params,
    Registry,
    check_random_state,
    params_class,
    user_stacklevel,
)
from ._label import label_targets
from ._result import SplitResult

__all__ = ["SPLITTERS", "BaseSplitter", "HeldOutSizes", "LabelParams", "get_splitter", "list_splitters",
           "register_splitter"]

#: The splitter registry (``cliffkit split --method`` and the bench's ``splits``).
SPLITTERS: Registry[type[BaseSplitter]] = Registry(
    "splitter", on_register=lambda key, cls: setattr(cls, "name", key))


def register_splitter(name: str):
    """Class decorator: make a splitter available as ``get_splitter(name)`` and in the CLI."""
    return SPLITTERS.register(name)


def list_splitters() -> list[str]:
    """Registry keys, sorted."""
    return sorted(SPLITTERS.list())


def get_splitter(name: str, **params: Any) -> BaseSplitter:
    """Build a registered splitter (``"cliff"``, ``"random"``, ``"scaffold"``) from its key.

    Parameters
    ----------
    name : str
        A name of :func:`list_splitters`.
    **params
        Its constructor parameters (validated when it splits).

    Returns
    -------
    BaseSplitter

    Raises
    ------
    UnknownNameError
        ``name`` is not registered.
    """
    return SPLITTERS.get(name)(**params)


# Parameters every splitter shares (labelling against the final training set).
COMMON_CONSTRAINTS: dict[str, list] = {
    "test_size": [Interval(float, 0, 1, closed="neither")],
    "val_size": [Interval(float, 0, 1, closed="left")],
    "k": [None, Interval(int, 1, None, closed="left")],
    "min_similarity": [Interval(float, 0, 1, closed="right")],
    "radius": [Interval(int, 0, None, closed="left")],
    "n_bits": [Interval(int, 8, None, closed="left")],
    "cliff_quantile": [Interval(float, 0, 1)],
    "smooth_quantile": [Interval(float, 0, 1)],
    "delta": [None, Interval(float, 0, None, closed="neither")],
    "targets": [None, list, tuple, str],
    "random_state": ["random_state"],
    "n_jobs": [None, Interval(int, -1, None, closed="left")],
    "show_progress": ["boolean"],
}


@params_class
class LabelParams(Params):
    """How every splitter labels its held-out molecules against the final training set.

    Declared once for all splitters (see :class:`~cliffkit.split.CliffSplit` for their
    meaning): ``k, min_similarity, radius, n_bits, cliff_quantile, smooth_quantile,
    delta, targets, random_state``.
    """

    k: int | None = None
    min_similarity: float = MIN_SIMILARITY
    radius: int = RADIUS
    n_bits: int = N_BITS
    cliff_quantile: float = 0.8
    smooth_quantile: float = 0.5
    delta: float | None = None
    targets: list[str] | None = None
    random_state: int | None = 0


@params_class
class HeldOutSizes(Params):
    """``test_size`` and ``val_size``: fractions of all molecules (rounded up)."""

    test_size: float = 0.1
    val_size: float = 0.1


class BaseSplitter(LabelParams):
    """Common machinery: params, repr, input coercion, sizes, labelling, ``split``.

    Subclasses implement ``_assign(ctx) -> (train, val, test, info)`` and are
    :func:`~cliffkit.utils.params_class` es. The constructor lists the fields in reverse
    method-resolution order, so parameters that come before the labelling ones (the sizes)
    live in a base listed after this one: ``class RandomSplit(BaseSplitter, HeldOutSizes)``
    takes ``(test_size, val_size, k, ..., random_state)``; the subclass's own fields follow.
    """

    name = "base"
    _repr_defaults = False  # sklearn's repr: only the parameters that differ from the default
    #: whether a short test set means too few supported molecules (_warn); a splitter whose
    #: test size is short for another reason (whole scaffold groups) says so itself
    _short_for_support = True

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.smooth_quantile > self.cliff_quantile:
            raise InvalidParameterError(
                f"The 'smooth_quantile' parameter of {type(self).__name__} must be <= cliff_quantile="
                f"{self.cliff_quantile!r}; got {self.smooth_quantile!r}."
            )

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """Number of (train, test) pairs :meth:`split` yields: always 1."""
        return 1

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield one ``(train, test)`` pair of index arrays.

        The validation set (``val_size``) is left out of both; use :meth:`make_split` to get
        it, or ``val_size=0`` for a two-way split.

        With SMILES, the rows are checked as :func:`~cliffkit.data.load_dataset` checks a
        file: SMILES are canonicalised with RDKit, rows of the same molecule (replicates,
        other spellings) are merged with their labels averaged (a :class:`DataWarning`
        counts them and names conflicting groups), and the split is made on the distinct
        molecules. The yielded indices are positions in ``X``: every row goes to the set
        of its molecule, so one molecule is never on both sides.

        Parameters
        ----------
        X : Dataset or sequence of str
            A :class:`~cliffkit.data.Dataset` or SMILES strings (a list, array, Series,
            one-column DataFrame or ``(n, 1)`` array). With a feature matrix for the
            model, split on the SMILES and pass ``cv=list(splitter.split(smiles, y))``
            to scikit-learn's ``cross_val_score`` / ``GridSearchCV``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), optional
            Targets (required with SMILES for the cliff splitter; a Dataset carries its own).
        groups : array-like of shape (n_samples,), optional
            Group labels (used by the scaffold splitter instead of scaffolds).
        """
        smiles, arr, names, meta, row_mol = _coerce(X, y)
        res = self._run(smiles, arr, names, meta, groups=_molecule_groups(groups, row_mol))
        if row_mol is None:
            yield res.train, res.test
        else:  # every input row goes where its molecule went
            yield (np.flatnonzero(np.isin(row_mol, res.train)),
                   np.flatnonzero(np.isin(row_mol, res.test)))

    def make_split(self, dataset: Any, y: Any = None, *, groups: Any = None) -> SplitResult:
        """Split a dataset into train / validation / test and label the held-out strata.

        Parameters
        ----------
        dataset : Dataset or sequence of str
        y : array-like, optional
            Only with SMILES.
        groups : array-like, optional
            Scaffold splitter only: group labels instead of Bemis–Murcko scaffolds.

        Returns
        -------
        SplitResult
            With SMILES that repeat a molecule, the result indexes the distinct molecules
            (``SplitResult.smiles``, canonical) and ``info["input_molecule"][i]`` is the
            molecule of input row ``i`` (a :class:`DataWarning` says so).

        Raises
        ------
        InvalidSmilesError
            A SMILES cannot be parsed (arrays are not filtered silently).
        InvalidParameterError
            Rows of one molecule carry different ``groups``.
        """
        smiles, arr, names, meta, row_mol = _coerce(dataset, y)
        res = self._run(smiles, arr, names, meta, groups=_molecule_groups(groups, row_mol))
        if row_mol is not None:
            res.info["input_molecule"] = row_mol.tolist()
        return res

    # -------------------------------------------------------------- pipeline
    def _sizes(self, n: int) -> tuple[int, int, int]:
        n_test = math.ceil(self.test_size * n)
        n_val = math.ceil(self.val_size * n) if self.val_size > 0 else 0
        n_train = n - n_test - n_val
        if n_train < 2:
            raise InvalidParameterError(
                f"With n_samples={n}, test_size={self.test_size} and val_size={self.val_size} the "
                f"training set would hold {max(n_train, 0)} molecules (at least 2 are needed); lower "
                "test_size or val_size, or use more data."
            )
        return n_train, n_val, n_test

    def _targets(self, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
        want = self.targets
        if want is None:
            return y, names
        if isinstance(want, str):
            want = [want]
        cols = []
        for t in want:
            if t not in names:
                raise unknown_name("target", t, names)
            cols.append(names.index(t))
        return y[:, cols], [names[c] for c in cols]

    def _run(self, smiles: np.ndarray, y: np.ndarray | None, names: list[str], meta: dict,
             groups: Any = None) -> SplitResult:
        self._validate_params()
        from ..similarity import compute_fingerprints, default_k

        n = smiles.shape[0]
        n_train, n_val, n_test = self._sizes(n)
        if y is not None:
            y, names = self._targets(y, names)
        k = self.k if self.k is not None else default_k(n_train)
        if self.k is not None and k >= n_train > 1:  # a k the user chose
            import warnings

            from ..cliffs._severity import default_m

            warnings.warn(
                f"k={k} is not smaller than the {n_train} training molecules: every training "
                f"neighbour above the similarity threshold is kept, and the severity averages "
                f"the m = floor(sqrt({k})) = {default_m(k)} strongest pairs, as the requested k "
                f"sets it (at most {n_train - 1} exist for a training molecule); pass a smaller "
                "k for another m.", SplitWarning, stacklevel=user_stacklevel())
        fps = compute_fingerprints(list(smiles), radius=self.radius, n_bits=self.n_bits,
                                   n_jobs=self.n_jobs)
        ctx = {
            "smiles": smiles, "y": y, "names": names, "fps": fps, "k": k, "n": n,
            "n_train": n_train, "n_val": n_val, "n_test": n_test, "groups": groups,
            "rng": check_random_state(self.random_state),
        }
        train, val, test, info = self._assign(ctx)
        train, val, test = np.sort(train), np.sort(val), np.sort(test)
        labels: dict = {}
        if y is not None:
            seed = self.random_state if isinstance(self.random_state, int | np.integer) else 0
            labels, linfo = label_targets(
                fps, y, names, train, [val, test], k=k, min_similarity=self.min_similarity,
                cliff_quantile=self.cliff_quantile, smooth_quantile=self.smooth_quantile,
                delta=self.delta, random_state=seed,
                full_graph=info.pop("_graph", None), search_k=info.pop("_search_k", None),
                n_jobs=self.n_jobs,
            )
            info.update(linfo)
        info.pop("_graph", None)
        info.pop("_search_k", None)
        share = _achieved_shares(labels, names, val, test, getattr(self, "cliff_share", None))
        params = {**self.get_params(), "k_used": int(k)}
        params["targets"] = list(names) if params.get("targets") is not None else None
        res = SplitResult(
            train=train, val=val, test=test, smiles=smiles, target_names=list(names),
            labels=labels, method=self.name, params=params,
            dataset={"name": meta.get("name", ""), "checksum": meta.get("checksum", ""),
                     "n_samples": int(n)},
            cliff_share=share, info=info,
        )
        self._warn(res, n_val, n_test)
        return res

    def _assign(self, ctx: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        raise NotImplementedError

    def _warn(self, res: SplitResult, n_val: int, n_test: int) -> None:
        msgs = list(res.info.get("warnings", []))
        if res.test.size < n_test and self._short_for_support:
            msgs.append(
                f"{type(self).__name__} found only {res.test.size} of the {n_test} requested test "
                f"molecules with training support at min_similarity={self.min_similarity}; "
                "lower min_similarity or test_size."
            )
        flat = flat_targets(res)
        for name in res.target_names:
            lab = res.labels[name]
            if lab.counts(res.test)["cliff"] > 0:
                continue
            q = ", ".join(f"{k}={v:.3g}" for k, v in lab.train_severity_quantiles.items())
            if name in flat:
                msgs.append(
                    f"Target {name!r}: the test set holds no cliff cases, and no threshold can "
                    f"make any (training severity quantiles: {q}): {FLAT_REASON}."
                )
            else:
                msgs.append(
                    f"Target {name!r}: the test set holds no cliff cases at these thresholds "
                    f"(training severity quantiles: {q}); lower cliff_quantile (--cliff-quantile) or pass delta (--delta)."
                )
        res.info["warnings"] = msgs
        for m in msgs:
            warnings.warn(m, SplitWarning, stacklevel=user_stacklevel())


#: Why a target whose severities are all 0 has no cliff cases (its labels do not vary).
FLAT_REASON = ("every molecule has the same label as its neighbours (every severity is 0: a "
               "constant or coarsely rounded target?); check the target column")


def flat_targets(res) -> list[str]:
    """Targets of a split on which every severity is 0: no threshold makes a cliff case."""
    out = []
    for name in res.target_names:
        sev = np.asarray(getattr(res.labels[name], "severity", []), dtype=np.float64)
        if sev.size and np.isfinite(sev).any() and np.nanmax(sev) <= 0:
            out.append(name)
    return out


def _achieved_shares(labels, names, val, test, requested) -> dict[str, Any]:
    out: dict[str, Any] = {"requested": requested}
    for sub, rows in (("val", val), ("test", test)):
        per = {}
        any_cliff = np.zeros(rows.shape[0], dtype=bool)
        any_sup = np.zeros(rows.shape[0], dtype=bool)
        for name in names:
            if name not in labels:
                continue
            lab = labels[name].strata[rows]
            per[name] = labels[name].cliff_share(rows)
            any_cliff |= lab == "cliff"
            any_sup |= (lab != "unsupported") & (lab != "unlabelled")
        out[sub] = per
        out[f"{sub}_any"] = float(any_cliff.sum() / any_sup.sum()) if any_sup.any() else float("nan")
    return out


def _molecule_groups(groups: Any, row_mol: np.ndarray | None) -> Any:
    """Group labels per molecule from labels per input row (one label per molecule)."""
    if groups is None or row_mol is None:
        return groups
    g = np.asarray(groups, dtype=object)
    if g.shape != row_mol.shape:
        raise ShapeMismatchError(f"groups must have shape ({row_mol.shape[0]},); got {g.shape}.")
    n_mol = int(row_mol.max()) + 1
    first = np.full(n_mol, -1, dtype=np.int64)
    first[row_mol[::-1]] = np.arange(row_mol.shape[0])[::-1]
    per_mol = g[first]
    clash = np.flatnonzero(g != per_mol[row_mol])
    if clash.size:
        i = int(clash[0])
        j = int(first[row_mol[i]])
        raise InvalidParameterError(
            f"groups: rows {j} and {i} are the same molecule but carry different groups "
            f"({g[j]!r} and {g[i]!r}); {clash.size} rows disagree. Give every row of a "
            "molecule the same group, or merge the rows first."
        )
    return per_mol


_SPLIT_MERGE_NOTE = (
    "split() yields positions in X with every row on its molecule's side; a SplitResult "
    "indexes the distinct molecules (info['input_molecule'] maps each row of X to its "
    "molecule).")


def _merge_rows(smiles: np.ndarray, arr: np.ndarray | None, names: list[str], *,
                what: str = "X", note: str = _SPLIT_MERGE_NOTE):
    """Canonicalise and merge repeated molecules exactly as ``load_dataset`` does.

    ``what`` names the input in messages, ``note`` says what the caller does with the merged
    molecules (the end of the warning). Also used by :func:`cliffkit.loss.cliff_severity`.

    Returns (canonical unique SMILES, merged y or None, row -> molecule or None when every
    row is its own molecule).
    """
    from ..data._standardize import cached_canonicalize, check_parsed, standardize_arrays
    from ..errors import DataWarning

    n = smiles.shape[0]
    canon = cached_canonicalize(smiles, show_progress=False)
    check_parsed(canon, smiles, what=what, fix="fix or drop those rows (y with them)")
    y_raw = arr if arr is not None else np.zeros((n, 0))
    std = standardize_arrays(
        smiles.copy(), np.array(y_raw, dtype=np.float64, copy=True),
        np.arange(n, dtype=np.int64), np.full(n, None, dtype=object), np.full(n, "", dtype=object),
        path=what, smiles_col=what, target_cols=names or ["y"], canonical=canon,
        label=what, row_word="0-based position", warn=True,
    )
    uniq = np.asarray(std.smiles, dtype=object)
    lookup = {s: i for i, s in enumerate(uniq.tolist())}
    row_mol = np.fromiter((lookup[c] for c in canon), dtype=np.int64, count=n)
    y_out = std.y if arr is not None else None
    if uniq.shape[0] == n:
        return uniq, y_out, None
    n_dup = n - uniq.shape[0]
    warnings.warn(
        f"{what} holds {n} rows but {uniq.shape[0]} distinct molecules: {n_dup} rows repeat a "
        f"molecule ({len(std.report.merged)} groups, e.g. positions "
        f"{'+'.join(map(str, std.report.merged[0].rows[:5]))}) and were merged with their "
        f"labels averaged, as load_dataset does. {note}",
        DataWarning, stacklevel=user_stacklevel(),
    )
    return uniq, y_out, row_mol


def _coerce(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray | None, list[str], dict, np.ndarray | None]:
    """(smiles, y (n, t) or None, target names, dataset meta, row -> molecule or None).

    A Dataset is used as is (its molecules are already distinct: a Dataset refuses a
    repeated SMILES). SMILES are
    canonicalised and repeated molecules merged as :func:`~cliffkit.data.load_dataset`
    does; the last element maps each input row to its molecule (None when no row repeats
    a molecule).
    """
    if hasattr(X, "smiles") and hasattr(X, "y") and hasattr(X, "target_names"):
        if y is not None:
            raise InvalidParameterError(
                "Pass y only with SMILES; a Dataset carries its own targets (got both)."
            )
        return (np.asarray(X.smiles, dtype=object), np.asarray(X.y, dtype=np.float64),
                list(X.target_names), {"name": X.name, "checksum": X.checksum}, None)
    if isinstance(X, str) or not hasattr(X, "__len__"):
        raise InvalidParameterError(
            f"X must be a Dataset or a sequence of SMILES strings; got {type(X).__name__}."
        )
    hint = ("; with a feature matrix for the model, make the splits from the SMILES: "
            "cv=list(splitter.split(smiles, y))")
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # a pandas DataFrame
        cols = list(X.columns)
        if len(cols) != 1:  # list(df) is its column names, never its rows
            guess = next((c for c in cols if str(c).lower() == "smiles"),
                         cols[0] if cols else "smiles")
            raise InvalidParameterError(
                f"X is a DataFrame with {len(cols)} columns ({', '.join(map(repr, cols[:5]))}"
                f"{', ...' if len(cols) > 5 else ''}); pass its SMILES column, e.g. "
                f"X=df[{guess!r}]."
            )
        X = X.iloc[:, 0]
    arr_x = np.asarray(X, dtype=object) if hasattr(X, "shape") else None
    if arr_x is not None and arr_x.ndim == 2 and arr_x.shape[1] == 1:
        X = arr_x[:, 0]  # a (n, 1) column of SMILES
    smiles = np.asarray(list(X), dtype=object)
    if smiles.ndim != 1 or not all(isinstance(s, str) for s in smiles):
        shape = f" (got shape {tuple(np.shape(X))})" if np.ndim(X) > 1 else ""
        raise InvalidParameterError(
            f"X must be a Dataset or a sequence of SMILES strings{shape}{hint}.")
    names: list[str] = []
    arr = None
    if y is not None:
        arr = np.asarray(y, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] != smiles.shape[0]:
            raise ShapeMismatchError(
                f"y must have shape ({smiles.shape[0]},) or ({smiles.shape[0]}, n_targets) to match "
                f"X; got {np.asarray(y).shape}."
            )
        # As in a Dataset: NaN marks a missing value of one target of a multi-target y (each
        # target is labelled on its own molecules); inf, or a row with no value, is refused.
        inf = np.isinf(arr)
        empty = np.isnan(arr).all(axis=1)
        if inf.any() or empty.any():
            parts = []
            for what, rows in (("infinite values", np.flatnonzero(inf.any(axis=1))),
                               ("no value for any target (NaN)", np.flatnonzero(empty))):
                if rows.size:
                    more = f" and {rows.size - 5} more" if rows.size > 5 else ""
                    parts.append(f"{what} at rows {rows[:5].tolist()}{more}")
            raise InvalidParameterError(
                f"y holds {'; '.join(parts)}; drop those rows first "
                "(NaN is accepted only for some targets of a multi-target y)."
            )
        names = ["y"] if arr.shape[1] == 1 else [f"y{j}" for j in range(arr.shape[1])]
    from ..utils import sha256_bytes

    smiles, arr, row_mol = _merge_rows(smiles, arr, names)
    blob = "\n".join(smiles.tolist()).encode() + b"\0"
    if arr is not None:
        blob += np.ascontiguousarray(arr, dtype="<f8").tobytes()
    return smiles, arr, names, {"name": "", "checksum": sha256_bytes(blob)}, row_mol
