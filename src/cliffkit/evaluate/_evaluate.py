"""Score predictions on a split: :func:`evaluate`, :class:`Evaluation`, :func:`read_predictions`."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import (
    InvalidParameterError,
    MissingColumnError,
    PredictionsError,
    ShapeMismatchError,
    SplitFileError,
    unknown_name,
)
from ..similarity import default_k
from ..utils import format_table, one_line, to_jsonable, user_stacklevel
from ._metrics import Estimate, pair_metrics, stratum_metrics
from ._reference import reference_predictions

__all__ = ["Evaluation", "evaluate", "read_predictions", "check_trained_on", "PREDICTION_COLUMNS",
           "SPLIT_CHECKSUM_COLUMN"]

#: Column names tried, in order, for the predictions (after ``--pred-col``).
PREDICTION_COLUMNS = ("prediction", "pred", "y_pred")

_MATCHED = ("matched_cliff", "matched_smooth", "matched_cliff_z", "matched_smooth_z")
_GROUP_TITLES = {
    "overall": "overall",
    "cliff": "cliff",
    "smooth": "smooth",
    "matched_cliff": "cliff (sim-matched)",
    "matched_smooth": "smooth (sim-matched)",
    "matched_cliff_z": "cliff (sim+|z|-matched)",
    "matched_smooth_z": "smooth (sim+|z|-matched)",
    "intermediate": "intermediate",
    "unsupported": "unsupported",
    "roughest": "roughest (≥ train p80, label-free)",
    "calmest": "calmest (≤ train p50, label-free)",
}


def _show(items, k: int = 5) -> str:
    items = list(items)
    shown = ", ".join(str(x) for x in items[:k])
    return shown + (", ..." if len(items) > k else "")


def _json(obj: Any) -> Any:
    return to_jsonable(
        obj,
        float_fn=lambda v: float(v) if math.isfinite(v) else None,
        hook=lambda o: o.to_dict() if isinstance(o, Estimate) else NotImplemented,
    )


@dataclass
class Evaluation:
    """Cliff-aware scores of one model on one split and target.

    Attributes
    ----------
    dataset, target, split_method : str
    n_test : int
    model : dict
        :func:`~cliffkit.evaluate.stratum_metrics` of the model: ``groups`` (n, MAE,
        RMSE, R² with CIs per stratum) and ``contrasts`` (gap and ratio with CIs).
    reference : dict or None
        The same for the reference predictor (similarity-weighted mean of training
        neighbours' labels), scored on the same cases.
    pairs : dict
        ``{"model": {"cliff": ..., "smooth": ...}, "reference": {...}}``:
        :func:`~cliffkit.evaluate.pair_metrics` against each case's training partner.
    params : dict
        Bootstrap settings, seed, reference-predictor settings.
    notes : list of str
        Caveats (small strata, missing partner predictions ...).
    reference_predictions : numpy.ndarray or None, shape (n_test,)
        The reference predictor's predictions, in the order of ``split_result.test``.
    moleculeace : dict or None
        For MoleculeACE data (``dataset.meta["cliff_mol"]``): MoleculeACE's cliff RMSE
        (RMSE over test molecules with ``cliff_mol == 1``) with its CI, and the count.
    baseline : dict or None
        :func:`~cliffkit.evaluate.stratum_metrics` of the trivial baseline that predicts
        the training mean for every molecule (a metric that does not separate the model
        from it cannot fail).
    noise : dict or None
        ``noise_sd`` (:class:`NoiseEstimate` as a dict) and ``floor``
        (:func:`noise_floor`: the cliff/smooth gap and ratio a perfect model shows under
        that noise), or the reason it is missing.
    label_free : dict or None
        ``auc`` (ROC AUC of the train-only roughness for the label-based cliff cases),
        ``n_scored`` and the roughest / calmest cut points (80th and 50th percentiles of
        the training molecules' scores) with the shares of test molecules beyond them.
    roughness : numpy.ndarray or None, shape (n_test,)
        Train-only roughness of each test molecule (NaN with < 2 training neighbours).
    """

    dataset: str
    target: str
    split_method: str
    n_test: int
    model: dict[str, Any]
    reference: dict[str, Any] | None
    pairs: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reference_predictions: np.ndarray | None = field(default=None, repr=False)
    moleculeace: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    noise: dict[str, Any] | None = None
    label_free: dict[str, Any] | None = None
    roughness: np.ndarray | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        ratio = self.ratio().value
        return (f"Evaluation(dataset={self.dataset!r}, target={self.target!r}, "
                f"n_test={self.n_test}, mae={self.mae().value:.4g}, ratio={ratio:.3g})")

    def mae(self, group: str = "overall", predictor: str = "model") -> Estimate:
        """MAE (with CI) of one group, for the model or the reference predictor."""
        res = self.model if predictor == "model" else self.reference
        if res is None or group not in res["groups"]:
            return Estimate(float("nan"))
        return res["groups"][group]["mae"]

    def ratio(self, contrast: str = "cliff_vs_smooth", predictor: str = "model") -> Estimate:
        """MAE_cliff / MAE_smooth (with CI)."""
        res = self.model if predictor == "model" else self.reference
        if res is None or contrast not in res["contrasts"]:
            return Estimate(float("nan"))
        return res["contrasts"][contrast]["ratio"]

    def gap(self, contrast: str = "cliff_vs_smooth", predictor: str = "model") -> Estimate:
        """MAE_cliff − MAE_smooth (with CI)."""
        res = self.model if predictor == "model" else self.reference
        if res is None or contrast not in res["contrasts"]:
            return Estimate(float("nan"))
        return res["contrasts"][contrast]["gap"]

    def to_frame(self):
        """One row per predictor and group: n, MAE, RMSE, R² with their CI bounds."""
        return self._long_frame("groups", "group", ("n",), ("mae", "rmse", "r2"))

    def contrasts_frame(self):
        """One row per predictor and contrast: gap and ratio with their CI bounds."""
        return self._long_frame("contrasts", "contrast", ("numerator", "denominator"),
                                ("gap", "ratio"))

    def _long_frame(self, section: str, label: str, keys: tuple[str, ...],
                    estimates: tuple[str, ...]):
        """One row per predictor and entry of ``section`` (``groups`` or ``contrasts``).

        Columns: ``predictor``, the entry's name as ``label``, the entry's ``keys`` as they
        are, then each of ``estimates`` as ``m``, ``m_low``, ``m_high``.
        """
        import pandas as pd

        rows = []
        for pred_name, res in (("model", self.model), ("reference", self.reference)):
            if res is None:
                continue
            for name, entry in res[section].items():
                row = {"predictor": pred_name, label: name, **{k: entry[k] for k in keys}}
                for m in estimates:
                    e = entry[m]
                    row[m], row[f"{m}_low"], row[f"{m}_high"] = e.value, e.low, e.high
                rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: every number, CIs as ``{"value", "low", "high"}``, NaN as null.

        The model's results are at the top level (``groups``, ``contrasts``, ``pairs`` for
        the cliff cases, ``pairs_by_stratum``); ``reference`` holds the same keys for the
        reference predictor (or None).
        """
        ref = None
        if self.reference is not None:
            ref = {"groups": self.reference["groups"],
                   "contrasts": self.reference["contrasts"],
                   "pairs": self.pairs.get("reference", {}).get("cliff"),
                   "pairs_by_stratum": self.pairs.get("reference", {})}
        return _json({
            "format": "cliffkit-evaluation",
            "version": 1,
            "dataset": self.dataset,
            "target": self.target,
            "split_method": self.split_method,
            "n_test": self.n_test,
            "groups": self.model["groups"],
            "contrasts": self.model["contrasts"],
            "pairs": self.pairs.get("model", {}).get("cliff"),
            "pairs_by_stratum": self.pairs.get("model", {}),
            "reference": ref,
            "moleculeace": self.moleculeace,
            "baseline": (None if self.baseline is None else
                         {"groups": self.baseline["groups"], "contrasts": self.baseline["contrasts"],
                          "pairs_by_stratum": self.pairs.get("baseline", {})}),
            "noise": self.noise,
            "label_free": self.label_free,
            "roughness": None if self.roughness is None else self.roughness.tolist(),
            "params": self.params,
            "notes": self.notes,
        })

    def summary(self, digits: int = 3) -> str:
        """A plain-text report: the per-stratum table, gaps and ratios, pair metrics."""
        ci = f"{int(round(self.params.get('confidence', 0.95) * 100))}% CI"
        n_boot = self.params.get("n_bootstrap", 0)
        boot = f"{n_boot} bootstrap resamples, {ci}" if n_boot else "no bootstrap intervals"
        lines = [
            f"{self.dataset} / {self.target} — {self.split_method} split, {self.n_test} test "
            f"molecules; {boot}.",
            "",
        ]
        has_ref = self.reference is not None
        header = ["group", "n", f"MAE [{ci}]", "RMSE", "R²"]
        if has_ref:
            header.append(f"reference MAE [{ci}]")
        rows = []
        for group, g in self.model["groups"].items():
            row = [_GROUP_TITLES.get(group, group), g["n"], g["mae"].format(digits),
                   _fmt(g["rmse"].value, digits), _fmt(g["r2"].value, digits)]
            if has_ref:
                row.append(self.reference["groups"][group]["mae"].format(digits))
            rows.append(row)
        lines.extend(format_table(header, rows, align="lrlrr" + ("l" if has_ref else "")))
        lines.append("")
        for name, c in self.model["contrasts"].items():
            if not (np.isfinite(c["gap"].value) or np.isfinite(c["ratio"].value)):
                continue
            title = {"cliff_vs_smooth": "cliff vs smooth",
                     "matched_similarity": "matched on similarity",
                     "matched_similarity_z": "matched on similarity and |z|",
                     "label_free": "roughest vs calmest (label-free)"}.get(name, name)
            line = (f"{title + ':':<31} gap {c['gap'].format(digits)}   "
                    f"ratio {c['ratio'].format(digits)}")
            if has_ref and name in self.reference["contrasts"]:
                line += f"   (reference ratio {self.reference['contrasts'][name]['ratio'].format(digits)})"
            lines.append(line)
        for group in ("cliff", "smooth"):
            p = self.pairs.get("model", {}).get(group)
            if not p or not p["n"]:
                continue
            k = p["n_with_partner_prediction"]
            line = (f"pairs vs training partner ({group}, n={p['n']}"
                    + (f"; these metrics over the {k} whose partner is predicted"
                       if 0 < k < p["n"] else "") + "): ")
            if not k:
                lines.append(line + "no partner predictions given: the predicted-difference "
                             "metrics are not computed")
                continue
            cells = []
            for who in ("model", "reference", "baseline"):
                q = self.pairs.get(who, {}).get(group)
                if q and q["n"]:
                    cells.append(f"{who} direction {q['direction_accuracy'].format(digits)}, "
                                 f"|Δŷ−Δy| {q['diff_mae'].format(digits)}")
            lines.append(line + "; ".join(cells) + "  (direction of ŷ_i − ŷ_j vs y_i − y_j)")
        if self.baseline is not None:
            b = self.baseline["groups"]
            lines.append("training-mean baseline MAE: " + ", ".join(
                f"{g} {b[g]['mae'].format(digits)}" for g in ("overall", "cliff", "smooth") if g in b))
        if self.noise is not None:
            ns = self.noise.get("noise_sd") or {}
            fl = self.noise.get("floor")
            obs = self.gap().format(digits)
            if fl:
                lines.append(f"noise floor (noise_sd {_fmt(ns.get('sd') if ns.get('sd') is not None else float('nan'), digits)}, "
                             f"{ns.get('source', '')}): a perfect model's gap "
                             f"{fl['gap'].format(digits)}, ratio {fl['ratio'].format(digits)}; "
                             f"observed gap {obs}")
            else:
                lines.append(f"noise floor: not estimated ({self.noise.get('reason', '')}); "
                             f"observed gap {obs}")
        if self.label_free is not None:
            lf = self.label_free
            c = self.model["contrasts"].get("label_free")
            line = (f"label-free strata (train-only roughness, {lf['n_scored']} scored): AUC for "
                    f"the cliff cases {_fmt(lf['auc'], digits)}")
            if c is not None:
                g = self.model["groups"]
                line += (f"; cut points from the training molecules' scores (p80 "
                         f"{_fmt(lf['roughest_cut'] if lf['roughest_cut'] is not None else float('nan'), digits)}, p50 "
                         f"{_fmt(lf['calmest_cut'] if lf['calmest_cut'] is not None else float('nan'), digits)}); "
                         f"MAE roughest ({g['roughest']['n']} test molecules) "
                         f"{g['roughest']['mae'].format(digits)}, calmest ({g['calmest']['n']}) "
                         f"{g['calmest']['mae'].format(digits)}, gap {c['gap'].format(digits)}")
            lines.append(line)
        if self.moleculeace:
            m = self.moleculeace
            lines.append(f"MoleculeACE cliff RMSE (cliff_mol == 1, n={m['n']}): "
                         f"{m['cliff_rmse'].format(digits)}; reference "
                         f"{m['reference_cliff_rmse'].format(digits)}")
        why = sorted(_missing_interval_notes(self))
        notes = list(self.notes)
        if why:
            notes.append(
                "[—: ...] marks an interval that cannot be estimated: "
                + "; ".join(_why_no_interval(w) for w in why)
            )
        if notes:
            lines.append("")
            lines.extend(f"note: {n}" for n in notes)
        return "\n".join(lines)


def _estimates(obj):
    if isinstance(obj, Estimate):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _estimates(v)


def _why_no_interval(note: str) -> str:
    if note == "in-sample partner":
        return ("'in-sample partner': the model's direction accuracy is not computed, its "
                "predictions of the training partners are in-sample")
    if note == "n < 2":
        return "'n < 2': a group of one case has no sampling spread to resample"
    if note == "n < 3":
        return ("'n < 3' (R², in the JSON and to_frame): a group of two cases gets no R² "
                "interval, each resample's R² is undefined or equal to the value")
    return (f"'{note}': too few finite bootstrap resamples for a percentile interval "
            "(raise --n-bootstrap / n_bootstrap)")


def _missing_interval_notes(ev: Evaluation) -> set[str]:
    """The ``note`` of every estimate of ``ev`` printed without an interval."""
    return {e.note for part in (ev.model, ev.reference, ev.pairs, ev.moleculeace)
            for e in _estimates(part or {}) if e.note}


def _fmt(x: float, digits: int) -> str:
    if np.isnan(x):
        return "—"
    return ("inf" if x > 0 else "-inf") if np.isinf(x) else f"{x:.{digits}f}"


def _resolve_target(split_result, dataset, target) -> str:
    names = list(split_result.target_names)
    if target is None:
        if len(names) != 1:
            raise unknown_name("target (the split has several; pass target=)", "None", names)
        target = names[0]
    if target not in split_result.labels:
        raise unknown_name("target of this split", str(target), names)
    if target not in dataset.target_names:
        raise unknown_name(f"target of dataset {dataset.name!r}", str(target), dataset.target_names)
    return target


def _check_dataset(split_result, dataset, action: str = "evaluate") -> None:
    """Refuse ``dataset`` unless it is the data ``split_result`` was made for (checksum and
    size); ``action`` names what to do with the right data (``"evaluate"``, ``"fit"``)."""
    want = split_result.dataset.get("checksum")
    if want and want != dataset.checksum:
        theirs = list(getattr(split_result, "target_names", None) or [])
        ours = list(dataset.target_names)
        tt, to = ((f" (target {', '.join(theirs)})", f" (target {', '.join(ours)})")
                  if theirs and theirs != ours else ("", ""))
        raise SplitFileError(
            f"The split was made for dataset {split_result.dataset.get('name')!r}{tt} with "
            f"checksum {str(want)[:12]}…, but dataset {dataset.name!r}{to} has checksum "
            f"{dataset.checksum[:12]}…; {action} with the data the split was made from."
        )
    if len(dataset) != split_result.n_samples:
        raise ShapeMismatchError(
            f"The split covers {split_result.n_samples} molecules but dataset {dataset.name!r} "
            f"has {len(dataset)}; {action} with the data the split was made from."
        )


def _labelled_rows(predictions, n: int, what: str) -> np.ndarray | None:
    """The dataset rows that label a pandas Series (or one-column DataFrame), if any.

    None for anything else and for a default index (0, 1, 2 ...: positions). An index of
    other values must be dataset row numbers in ``[0, n)``, each once; anything else (SMILES,
    names, repeated or out-of-range rows) is refused, since reading the values by position
    would pair each prediction with another molecule's label.
    """
    import pandas as pd

    if isinstance(predictions, pd.DataFrame) and predictions.shape[1] == 1:
        predictions = predictions.iloc[:, 0]
    if not isinstance(predictions, pd.Series):
        return None
    index = predictions.index
    if index.equals(pd.RangeIndex(len(index))):
        return None  # positions
    raw = index.to_numpy()
    rows = None
    if pd.api.types.is_numeric_dtype(index) and not pd.api.types.is_bool_dtype(index):
        r = raw.astype(np.float64)
        if (np.isfinite(r).all() and (r == np.round(r)).all() and (r >= 0).all()
                and (r < n).all() and index.is_unique):
            rows = r.astype(np.int64)
    if rows is None:
        bad = [v for v in raw.tolist() if not (isinstance(v, int | float | np.number)
                                              and float(v).is_integer() and 0 <= v < n)]
        dup = index[index.duplicated()].tolist()
        example = (f"{_show([repr(v) for v in bad], 3)} not in [0, {n})" if bad
                   else f"{_show([repr(v) for v in dup], 3)} more than once")
        raise PredictionsError(
            f"{what} is a pandas {type(predictions).__name__} whose index is not the dataset's "
            f"row numbers (each of [0, {n}) at most once; this one has {example}), so it "
            "cannot be aligned on its index, and read by position its values would meet other "
            "molecules' labels. Index it by dataset row (e.g. pd.Series(values, "
            "index=split_result.test)), or pass .to_numpy() in the order of split_result.test."
        )
    return rows


def _full_predictions(split_result, predictions, rows: np.ndarray | None) -> np.ndarray:
    """Predictions over every dataset row (NaN where not given).

    ``rows``: the dataset rows of a pandas Series indexed by dataset row
    (:func:`_labelled_rows`), on which it is aligned; None: read by position.
    """
    n, test = split_result.n_samples, split_result.test
    if rows is not None:
        full = np.full(n, np.nan)
        try:
            full[rows] = np.asarray(predictions, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError) as exc:
            raise PredictionsError(
                f"predictions must be numbers; got a pandas {type(predictions).__name__} of "
                f"{one_line(exc, 80)}."
            ) from None
        return full
    try:
        p = np.asarray(predictions, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise PredictionsError(
            f"predictions must be numbers (an array of float) or the path of a predictions "
            f"file; got {type(predictions).__name__} ({one_line(exc, 80)})."
        ) from None
    if p.shape[0] == n:
        return p.copy()
    if p.shape[0] == test.shape[0]:
        full = np.full(n, np.nan)
        full[test] = p
        return full
    raise ShapeMismatchError(
        f"predictions must have one value per test molecule ({test.shape[0]}, in the order of "
        f"split_result.test) or per dataset row ({n}); got {p.shape[0]}."
    )


def _check_test_predictions(split_result, full: np.ndarray, source: str = "predictions") -> None:
    test = split_result.test
    bad = test[~np.isfinite(full[test])]
    if bad.size:
        smi = split_result.smiles[bad]
        raise PredictionsError(
            f"{source} hold no finite value for {bad.size} of {test.size} test molecules "
            f"(dataset rows {_show(bad.tolist())}; SMILES {_show(smi.tolist(), 3)}); "
            "predict every test molecule."
        )


_GRAPH_MEMO: dict[str, Any] = {}  # a few test->train graphs, reused within a process
_DISK_CACHE_MIN_PAIRS = 20_000_000  # test x train pairs from which graphs go to the disk cache


def _similarity_params(split_result) -> dict[str, Any]:
    """The split's own similarity parameters (a SplitResult, or any object with ``params``)."""
    if hasattr(split_result, "similarity_params"):
        return split_result.similarity_params
    from ..split import SplitResult

    return SplitResult.similarity_params.fget(split_result)


def _reference_graph(split_result, dataset, k: int, show_progress):
    """Top-k training neighbours of each test molecule (any similarity), cached.

    Scoring many models on one split (the bench grid) needs the same graph every time:
    it is memoised in the process, and at QM9 scale also kept in the dataset cache
    folder (``CLIFFKIT_CACHE_DIR``), keyed by the data checksum, the split's indices and
    the fingerprint and k settings.
    """
    from ..data._cache import cache_key, read_cache, write_cache
    from ..similarity import NeighborGraph, compute_fingerprints, find_neighbors
    from ..utils import sha256_bytes

    sim = _similarity_params(split_result)
    radius, n_bits = sim["radius"], sim["n_bits"]
    test, train = split_result.test, split_result.train
    k = min(k, train.shape[0])
    key = cache_key("reference-graph-v1", dataset.checksum, radius, n_bits, k,
                    sha256_bytes(np.ascontiguousarray(train, dtype="<i8").tobytes()),
                    sha256_bytes(np.ascontiguousarray(test, dtype="<i8").tobytes()))
    if key in _GRAPH_MEMO:
        return _GRAPH_MEMO[key]
    on_disk = test.shape[0] * train.shape[0] >= _DISK_CACHE_MIN_PAIRS
    arrays = read_cache("reference-graph", key) if on_disk else None
    if arrays is not None and {"indptr", "indices", "similarities"} <= set(arrays):
        graph = NeighborGraph(arrays["indptr"], arrays["indices"], arrays["similarities"],
                              n_reference=train.shape[0], params={"k": k, "min_similarity": 0.0})
    else:
        rows = np.concatenate([test, train])
        fps = compute_fingerprints(list(dataset.smiles[rows]), radius=radius, n_bits=n_bits)
        n_test = test.shape[0]
        graph = find_neighbors(fps[:n_test], fps[n_test:], k=k, min_similarity=0.0,
                               show_progress=show_progress)
        if on_disk:
            write_cache("reference-graph", key, {
                "indptr": np.asarray(graph.indptr), "indices": np.asarray(graph.indices),
                "similarities": np.asarray(graph.similarities)})
    if len(_GRAPH_MEMO) >= 4:
        _GRAPH_MEMO.pop(next(iter(_GRAPH_MEMO)))
    _GRAPH_MEMO[key] = graph
    return graph


def _support_graphs(split_result, k: int, tau: float):
    """Train→train (self excluded) and held-out (test, then validation)→train graphs at τ_s."""
    from ..similarity import compute_fingerprints
    from ..split._label import train_graphs

    sim = _similarity_params(split_result)
    key = ("support", split_result.dataset.get("checksum"), k, tau,
           hash(split_result.train.tobytes()), hash(split_result.test.tobytes()))
    if key in _GRAPH_MEMO:
        return _GRAPH_MEMO[key]
    fps = compute_fingerprints(list(split_result.smiles), radius=sim["radius"],
                               n_bits=sim["n_bits"])
    heldout = np.concatenate([split_result.test, split_result.val])
    graphs = train_graphs(fps, split_result.train, heldout, k=k, min_similarity=tau)[:2]
    if len(_GRAPH_MEMO) >= 4:
        _GRAPH_MEMO.pop(next(iter(_GRAPH_MEMO)))
    _GRAPH_MEMO[key] = graphs
    return graphs


def evaluate(
    split_result,
    predictions,
    *,
    dataset,
    target: str | None = None,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    confidence: float = 0.95,
    reference: bool = True,
    reference_fallback: str = "nearest",
    reference_graph=None,
    partner_predictions=None,
    partner_out_of_fold: bool = False,
    trained_on=None,
    show_progress: bool | None = False,
    noise_sd: float | str | None = "auto",
    n_noise_sim: int = 200,
    label_free: bool = True,
    baseline: bool = True,
) -> Evaluation:
    """Score predictions on a split's test molecules, per stratum, with bootstrap CIs.

    Parameters
    ----------
    split_result : SplitResult
        The split (from :meth:`CliffSplit.make_split` or :func:`~cliffkit.split.load_split`).
    predictions : array-like of float, or path of a predictions file
        One value per test molecule, in the order of ``split_result.test``, or one per
        dataset row (NaN where unknown). A pandas Series whose index is not the default
        0, 1, 2 ... is aligned on its index, which must hold dataset row numbers (any other
        index is refused; a note says it was aligned). Predictions for training molecules,
        when given, are used for the pair metric with the partner's *predicted* value. A
        path (str or :class:`os.PathLike`) is read with :func:`read_predictions`, which
        also checks that the file comes from a model trained on this split.
    dataset : Dataset
        The data the split was made from (its checksum must match); gives the labels.
    target : str, optional
        Target to score; may be omitted when the split has one target.
    n_bootstrap : int, default=1000
        Bootstrap resamples per group (see :mod:`cliffkit.evaluate._metrics`).
    random_state : int, default=0
        Seed of the bootstrap.
    confidence : float, default=0.95
    reference : bool, default=True
        Also score the reference predictor (needs a neighbour search of test against
        train; pass ``reference_graph`` to reuse one).
    reference_fallback : {"nearest", "train_mean"}, default="nearest"
        Prediction of the reference predictor for unsupported molecules.
    reference_graph : NeighborGraph, optional
        Test → train neighbours (rows in ``split_result.test`` order, indices into
        ``split_result.train``), top-k with any threshold.
    partner_predictions : array-like of float, shape (n_test,), optional
        The model's prediction for each test case's cliff partner (NaN where none), an
        alternative to passing predictions for every dataset row. Read by position: a
        pandas object with an index other than 0, 1, 2 ... is refused.
    partner_out_of_fold : bool, default=False
        The partners' predictions (``partner_predictions``, or those of training rows in
        ``predictions``) come from models that did not train on them
        (:func:`cliffkit.experiment.out_of_fold_partner_predictions`). Only then is the
        model's pair direction accuracy computed: the partner is a training molecule, so
        an in-sample prediction of it lets a memoriser score close to 1 (the metric
        cannot fail). The reference predictor's partner prediction always leaves the
        partner out; the baseline's is the training mean.
    trained_on : SplitResult or str, optional
        The split the model was trained on (or its :attr:`SplitResult.checksum`). When it
        is not ``split_result``, scoring is refused: test molecules the model saw in
        training would be scored as if held out.
    show_progress : bool, optional
    noise_sd : float, "auto" or None, default="auto"
        Label noise SD for the noise floor: a value in target units, ``"auto"``
        (:func:`estimate_noise_sd`: replicates merged as duplicates, else a literature
        value for the assay type, else not estimated) or None (no floor).
    n_noise_sim : int, default=200
        Draws of the noise floor simulation (:func:`noise_floor`).
    label_free : bool, default=True
        Score the roughest / calmest test molecules by train-only roughness (cut at the
        80th / 50th percentiles of the training molecules' roughness)
        (:mod:`cliffkit.evaluate._roughness`) and its AUC for the cliff cases.
    baseline : bool, default=True
        Also score the trivial baseline (the training mean for every molecule).

    Returns
    -------
    Evaluation

    Raises
    ------
    PredictionsError
        A test molecule has no finite prediction, the model was trained on another
        split (``trained_on``, or the predictions file's ``split_checksum``/``split``), or
        a pandas Series of predictions has an index that is not dataset row numbers.
    SplitFileError
        The dataset is not the one the split was made for.
    """
    if not isinstance(reference, bool | np.bool_):
        raise InvalidParameterError(f"The 'reference' parameter of evaluate must be a bool; got {reference!r}.")
    _check_dataset(split_result, dataset)
    target = _resolve_target(split_result, dataset, target)
    if trained_on is not None:
        check_trained_on(split_result, trained_on)
    if isinstance(predictions, str | os.PathLike):
        predictions = read_predictions(predictions, split_result, target=target,
                                       dataset=dataset)
    indexed_rows = _labelled_rows(predictions, split_result.n_samples, "predictions")
    full = _full_predictions(split_result, predictions, indexed_rows)
    split_checksum = split_result.checksum  # of the split as given (before any labelled view)
    view_notes: list[str] = []
    if indexed_rows is not None:
        view_notes.append(f"the predictions (a pandas {type(predictions).__name__}) were "
                          "aligned on their index, read as dataset row numbers")
    import pandas as pd

    if (isinstance(partner_predictions, pd.Series | pd.DataFrame)
            and not partner_predictions.index.equals(pd.RangeIndex(len(partner_predictions)))):
        raise PredictionsError(
            "partner_predictions is read by position (one value per test case, in the order "
            "of split_result.test), but it is a pandas object with another index than 0, 1, "
            "2 ...; pass .to_numpy() in that order.")
    if not dataset.labelled(target).all():
        # Multi-target data: score this target on the test molecules that have its value.
        from ..split import labelled_view

        has = dataset.labelled(target)
        n_out = int((~has[split_result.test]).sum())
        if partner_predictions is not None:
            pp_all = np.asarray(partner_predictions, dtype=np.float64).reshape(-1)
            if pp_all.shape[0] == split_result.test.shape[0]:
                partner_predictions = pp_all[has[split_result.test]]
        if reference_graph is not None and n_out:
            reference_graph = None  # its rows follow the full test set; search again
        dataset, split_result, rows = labelled_view(split_result, dataset, target)
        full = full[rows]
        if n_out:
            view_notes.append(
                f"{n_out} of {n_out + split_result.test.shape[0]} test molecules have no {target} "
                "value and are not scored for it")
    _check_test_predictions(split_result, full)

    labels = split_result.labels[target]
    y = dataset.target(target)
    test, train = split_result.test, split_result.train
    partner = np.asarray(labels.partner)[test]
    if partner_predictions is not None:
        pp = np.asarray(partner_predictions, dtype=np.float64).reshape(-1)
        if pp.shape[0] != test.shape[0]:
            raise ShapeMismatchError(
                f"partner_predictions must have one value per test molecule ({test.shape[0]}); "
                f"got {pp.shape[0]}."
            )
        given = (partner >= 0) & np.isfinite(pp)
        full[partner[given]] = pp[given]
    yt, yp = y[test], full[test]
    strata = np.asarray(labels.strata)[test]
    masks = {m: np.asarray(getattr(labels, m))[test] for m in _MATCHED if hasattr(labels, m)}
    kw = {"n_bootstrap": n_bootstrap, "random_state": random_state, "confidence": confidence}
    sim = _similarity_params(split_result)  # the split's own k and threshold
    k_sp = int(sim["k"] or default_k(split_result.train.shape[0]))
    tau_sp = sim["min_similarity"]
    graphs = None
    if label_free or reference or (noise_sd is not None):
        graphs = _support_graphs(split_result, k_sp, tau_sp)
    rough, lf_info = None, None
    if label_free and graphs is not None:
        from ._roughness import roughness_auc, roughness_masks, roughness_scores

        rough = roughness_scores(graphs[1], y[train])[:test.shape[0]]
        # cut points from the TRAINING molecules' scores (each from its other training
        # neighbours): they exist before any test label is seen
        rough_train = roughness_scores(graphs[0], y[train])
        lf_masks = roughness_masks(rough, reference=rough_train)
        cut_hi, cut_lo = lf_masks.pop("cuts")
        masks.update(lf_masks)
        fin = rough[np.isfinite(rough)]
        lf_info = {"auc": roughness_auc(rough, strata), "n_scored": int(fin.size),
                   "n_train_scored": int(np.isfinite(rough_train).sum()),
                   "roughest_cut": cut_hi if np.isfinite(cut_hi) else None,
                   "calmest_cut": cut_lo if np.isfinite(cut_lo) else None,
                   "roughest_share": float(lf_masks["roughest"].sum() / fin.size) if fin.size else None,
                   "calmest_share": float(lf_masks["calmest"].sum() / fin.size) if fin.size else None,
                   "definition": "similarity-weighted SD of the training neighbours' labels "
                                 "(Tanimoto >= min_similarity, top-k); roughest = at or above "
                                 "the training molecules' 80th percentile, calmest = at or "
                                 "below their median"}
    model = stratum_metrics(yt, yp, strata, masks=masks, **kw)
    base_res = None
    if baseline:
        base_pred = np.full(yt.shape[0], float(np.nanmean(y[train])))
        base_res = stratum_metrics(yt, base_pred, strata, masks=masks, **kw)

    pairs: dict[str, Any] = {"model": {}, "reference": {}, "baseline": {}}
    notes: list[str] = list(view_notes)
    same = labels.identical_partner(test) if hasattr(labels, "identical_partner") else np.zeros(0, bool)
    notes.append(
        f"{int(same.sum())} of {test.shape[0]} test cases have a cliff partner at Tanimoto "
        "similarity 1.0 (identical fingerprints, e.g. salts/parents, stereoisomers, isotopologues, "
        "homologues longer than the fingerprint radius)"
        + ("; no fingerprint model can separate these" if same.any() else ""))

    ref_res, ref_pred = None, None
    params: dict[str, Any] = {"n_bootstrap": int(n_bootstrap), "random_state": model["params"]["random_state"],
                              "confidence": float(confidence), "bootstrap": model["params"]["method"],
                              "n_identical_partner": int(same.sum()),
                              "split_checksum": split_checksum,
                              "partner_out_of_fold": bool(partner_out_of_fold)}
    if reference:
        k, tau = k_sp, tau_sp
        graph = reference_graph if reference_graph is not None else _reference_graph(
            split_result, dataset, k, show_progress)
        if graph.indptr.shape[0] - 1 != test.shape[0]:
            raise ShapeMismatchError(
                f"reference_graph has {graph.indptr.shape[0] - 1} rows but the split has "
                f"{test.shape[0]} test molecules."
            )
        ref_pred = reference_predictions(graph, y[train], min_similarity=tau,
                                         fallback=reference_fallback)
        ref_res = stratum_metrics(yt, ref_pred, strata, masks=masks, **kw)
        params["reference"] = {"k": k, "min_similarity": tau, "fallback": reference_fallback,
                               "definition": "similarity-weighted mean of the labels of the "
                                             "training neighbours (top-k, similarity >= "
                                             "min_similarity)"}

    ref_partner = None
    if ref_pred is not None and graphs is not None:
        # the reference predictor's prediction for a training partner: its other training
        # neighbours' weighted mean (self excluded), so both ends of a pair are predicted
        pos = np.full(split_result.n_samples, -1, dtype=np.int64)
        pos[train] = np.arange(train.shape[0])
        ref_train = reference_predictions(graphs[0], y[train], min_similarity=tau_sp,
                                          fallback="train_mean")
        ref_partner = lambda j: ref_train[pos[j]]  # noqa: E731
    for group in ("cliff", "smooth"):
        sel = (strata == group) & (partner >= 0)
        j = partner[sel]
        given = np.isfinite(full[j])  # pairs whose partner the model predicts
        # the predicted-difference metrics of all three over the same pairs: those whose
        # partner the model predicts (NaN for the model elsewhere); when it predicts none,
        # the reference and the baseline keep every pair (the model has no value to compare)
        over = np.where(given | (not given.any()), 1.0, np.nan)
        pairs["model"][group] = pair_metrics(yt[sel], yp[sel], y[j], y_pred_partner=full[j],
                                             name=f"pairs:{group}",
                                             partner_in_sample=not partner_out_of_fold, **kw)
        if ref_pred is not None:
            pairs["reference"][group] = pair_metrics(
                yt[sel], ref_pred[sel], y[j], name=f"pairs:{group}",
                y_pred_partner=None if ref_partner is None else ref_partner(j) * over, **kw)
        if base_res is not None:
            mean_tr = float(np.nanmean(y[train]))
            pairs["baseline"][group] = pair_metrics(
                yt[sel], np.full(sel.sum(), mean_tr), y[j], name=f"pairs:{group}",
                y_pred_partner=np.full(sel.sum(), mean_tr) * over, **kw)
        if 0 < given.sum() < given.size:
            notes.append(
                f"the predictions cover the training partner of only {int(given.sum())} of "
                f"{given.size} {group} pairs: the pairs' direction and |Δŷ−Δy| of the model, "
                f"the reference and the baseline are over those {int(given.sum())}")
    mace = _moleculeace_block(dataset, test, yt, yp, ref_pred, kw)
    n_cliff = model["groups"].get("cliff", {}).get("n", 0)
    if (pairs["model"].get("cliff", {}).get("n_with_partner_prediction")
            and not partner_out_of_fold):
        notes.append("the model's direction accuracy is not computed: its predictions of the "
                     "training partners are in-sample, so a model that memorises its training "
                     "set would score close to 1 (the metric could not fail); give out-of-fold "
                     "partner predictions (cliffkit.experiment.out_of_fold_partner_predictions) "
                     "with partner_out_of_fold=True")
    if pairs["model"].get("cliff", {}).get("n") and not pairs["model"]["cliff"]["n_with_partner_prediction"]:
        notes.append("no predictions for the training partners were given, so the error of the "
                     "predicted difference uses the partner's true label and equals the cliff MAE")
    for group in ("cliff", "smooth"):
        n_g = model["groups"].get(group, {}).get("n", 0)
        if 0 < n_g < 30:
            notes.append(f"only {n_g} {group} cases: their MAE and the ratio are uncertain "
                         "(see the CIs); pool several splits or seeds")
    if n_cliff == 0 and "cliff" in model["groups"]:
        notes.append("no cliff cases in the test set: gap and ratio are undefined")
    noise = None
    if noise_sd is not None:
        from ._noise import estimate_noise_sd, noise_floor

        est = estimate_noise_sd(dataset, target, None if noise_sd == "auto" else noise_sd,
                                confidence=confidence)
        noise = {"noise_sd": est.to_dict(), "floor": None}
        if np.isfinite(est.sd) and graphs is not None:
            noise["floor"] = noise_floor(split_result, dataset, est.sd, target=target,
                                         n_sim=n_noise_sim, random_state=random_state,
                                         confidence=confidence, graphs=graphs,
                                         noise_sd_dof=est.dof or None)
        else:
            noise["reason"] = est.source

    return Evaluation(
        dataset=str(split_result.dataset.get("name", dataset.name)),
        target=target,
        split_method=str(getattr(split_result, "method", "")),
        n_test=int(test.shape[0]),
        model=model,
        reference=ref_res,
        pairs=pairs,
        params=params,
        notes=notes,
        reference_predictions=ref_pred,
        moleculeace=mace,
        baseline=base_res,
        noise=noise,
        label_free=lf_info,
        roughness=rough,
    )


def _moleculeace_block(dataset, test, yt, yp, ref_pred, kw) -> dict[str, Any] | None:
    """MoleculeACE's cliff RMSE when the dataset carries its ``cliff_mol`` flags."""
    flags = dataset.meta.get("cliff_mol") if isinstance(dataset.meta, dict) else None
    if flags is None or len(flags) != len(dataset):
        return None
    from ._metrics import bootstrap_ci

    cm = np.asarray(flags).astype(bool)[test]
    out = {"n": int(cm.sum()), "definition": "RMSE over test molecules with cliff_mol == 1 "
           "(MoleculeACE, van Tilborg et al. 2022)"}
    out["cliff_rmse"] = bootstrap_ci(yt[cm], yp[cm], metric="rmse", **kw)
    out["reference_cliff_rmse"] = (bootstrap_ci(yt[cm], ref_pred[cm], metric="rmse", **kw)
                                   if ref_pred is not None else Estimate(float("nan")))
    return out


def read_predictions(
    path: str | os.PathLike,
    split_result,
    *,
    pred_col: str | None = None,
    target: str | None = None,
    dataset=None,
) -> np.ndarray:
    """Read a predictions CSV and align it to the split's dataset rows.

    The file has a ``smiles`` column (canonicalised with RDKit, with the ``standardize``
    mode the split's data was loaded with, and matched to the split's canonical SMILES)
    or an ``index`` column (dataset row numbers; when both
    are present they must agree), and a
    prediction column: ``pred_col`` if given, else the first of ``prediction``,
    ``pred``, ``y_pred`` or the target name. Rows for molecules outside the split are
    ignored, with a :class:`DataWarning` that counts them. Predictions for training molecules are kept (pair metrics use them).

    Tools such as chemprop copy the measured label column (named like the target) next
    to their own prediction column (e.g. ``pred_0``): when the target name is the only
    known name found and another column's name contains ``pred``, the choice is
    ambiguous and refused. With ``dataset`` given, a column whose values equal the
    measured ``target`` values of every test molecule (relative tolerance 1e-6) is
    refused as well: it holds the labels, and scoring it would report an error of 0.

    The file must come from a model trained on *this* split: when it has a
    ``split_checksum`` column (written by ``cliffkit train``) it must match
    :attr:`SplitResult.checksum`, and when it has a ``split`` column no molecule that
    this split holds out for testing may be marked ``train`` or ``val``. A file written
    by ``cliffkit predict`` (a ``nearest_train_smiles`` column) copies the input file's
    columns, so its ``split`` column is the input's, not the run's, and is not read;
    instead no test molecule of this split may be its own nearest training molecule.
    With ``dataset`` and ``target`` given, a ``y_true`` column (``cliffkit train`` writes
    the labels it trained on there) must hold ``target``'s values (within 0.005): a run
    trained on another target is refused, naming the target its labels match.

    Parameters
    ----------
    path : path-like
    split_result : SplitResult
    pred_col : str, optional
    target : str, optional
        Target name, tried as a prediction column.
    dataset : Dataset, optional
        The split's dataset; when given (as :func:`evaluate` and ``cliffkit evaluate``
        do), predictions equal to its ``target`` labels are refused.

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples,)
        Predictions per dataset row, NaN where the file has none.

    Raises
    ------
    PredictionsError
        Test molecules without a prediction, NaN/inf predictions for test molecules,
        unparsable SMILES, out-of-range indices, one molecule predicted twice,
        predictions of a model trained on another split (the message counts this split's
        test molecules that the model saw in training or validation) or on another target
        (``y_true``), or a prediction column that holds the measured labels of every test
        molecule.
    MissingColumnError
        No identifier or prediction column, or (without ``pred_col``) only the
        target-named column beside another column named like a prediction (``pred_0``).
    """
    from ..data import read_table

    path = Path(path)
    if not path.is_file():
        raise PredictionsError(f"Predictions file {path} does not exist.")
    table = read_table(path, what="predictions file")
    frame = table.frame if hasattr(table, "frame") else table
    cols = {str(c).strip().lower(): c for c in frame.columns}
    lines = _source_lines(table, len(frame))

    if pred_col is not None:
        from ..data._read import resolve_column

        pcol = resolve_column(table, pred_col, role="prediction (--pred-col)")
    else:
        candidates = [*PREDICTION_COLUMNS, *([target.lower()] if target else [])]
        found = [cols[c] for c in candidates if c in cols]
        if not found:
            raise MissingColumnError(
                f"Predictions file {path} has no prediction column (tried "
                f"{', '.join(candidates)}); columns are: {', '.join(map(str, frame.columns))}. "
                "Name it with --pred-col."
            )
        pcol = found[0]
        if target and str(pcol).strip().lower() == target.lower():
            # the target's name: in files of other tools often the MEASURED label column
            other = [str(c) for c in frame.columns
                     if c != pcol and "pred" in str(c).strip().lower()]
            if other:
                raise MissingColumnError(
                    f"Predictions file {path}: which column holds the predictions is "
                    f"ambiguous: {pcol!r} is named like the target (often the measured "
                    f"values, copied by the tool) and {_show([repr(o) for o in other], 3)} is named like a "
                    f"prediction; name the prediction column with --pred-col (pred_col=)."
                )

    table.check_unique(pcol, role="prediction")  # a name the header repeats is ambiguous
    for name in ("index", "smiles"):
        if name in cols:
            table.check_unique(cols[name], role=name)
    values = _numeric(frame[pcol])
    n = split_result.n_samples
    if "index" in cols:
        raw = _numeric(frame[cols["index"]])
        ok = np.isfinite(raw) & (raw == np.round(raw)) & (raw >= 0) & (raw < n)
        if not ok.all():
            bad = np.flatnonzero(~ok)
            raise PredictionsError(
                f"Predictions file {path}: {bad.size} 'index' values are not row numbers in "
                f"[0, {n}) (lines {_show(lines[bad].tolist())}); use the dataset row index."
            )
        rows = raw.astype(np.int64)
        if "smiles" in cols:
            by_smiles = _rows_from_smiles(frame[cols["smiles"]], split_result, path, lines,
                                          _standardize_mode(split_result, dataset))
            clash = np.flatnonzero(by_smiles != rows)
            if clash.size:
                i = clash[0]
                raise PredictionsError(
                    f"Predictions file {path}: these predictions do not match this split's "
                    f"data: 'index' and 'smiles' disagree on {clash.size} of {len(rows)} rows "
                    f"(line {lines[i]}: in the split, row {rows[i]} is "
                    f"{split_result.smiles[rows[i]]}, not {frame[cols['smiles']].iloc[i]}); "
                    "score them with the split file of the data they were made for."
                )
    elif "smiles" in cols:
        rows = _rows_from_smiles(frame[cols["smiles"]], split_result, path, lines,
                                 _standardize_mode(split_result, dataset))
    else:
        raise MissingColumnError(
            f"Predictions file {path} needs a 'smiles' or an 'index' column to identify "
            f"molecules; columns are: {', '.join(map(str, frame.columns))}."
        )
    _check_split_identity(frame, cols, rows, split_result, path, dataset)
    known = rows >= 0
    if not known.all():
        import warnings

        from ..errors import DataWarning

        outside = np.flatnonzero(~known)
        warnings.warn(
            f"Predictions file {path}: {outside.size} of {known.size} rows name molecules that "
            f"are not in the split's dataset (lines {_show(lines[outside].tolist())}); they "
            "were ignored.",
            DataWarning, stacklevel=user_stacklevel(),
        )
    rows_k, vals_k, lines_k = rows[known], values[known], lines[known]
    order = np.argsort(rows_k, kind="stable")
    dup = rows_k[order][1:][np.diff(rows_k[order]) == 0]
    if dup.size:
        first = np.flatnonzero(rows_k == dup[0])
        raise PredictionsError(
            f"Predictions file {path}: {np.unique(dup).size} molecules are predicted more than "
            f"once (e.g. {split_result.smiles[dup[0]]} on lines {_show(lines_k[first].tolist())}); "
            "keep one row per molecule."
        )
    full = np.full(n, np.nan)
    full[rows_k] = vals_k
    test = split_result.test
    present = np.zeros(n, dtype=bool)
    present[rows_k] = True
    missing = test[~present[test]]
    if missing.size:
        raise PredictionsError(
            f"Predictions file {path} misses {missing.size} of {test.size} test molecules "
            f"(SMILES {_show(split_result.smiles[missing].tolist(), 3)}; dataset rows "
            f"{_show(missing.tolist())}); predict every test molecule."
        )
    bad = test[~np.isfinite(full[test])]
    if bad.size:
        where = np.flatnonzero(np.isin(rows, bad))
        raise PredictionsError(
            f"Predictions file {path} holds NaN, inf or non-numeric values in column {pcol!r} "
            f"for {bad.size} test molecules (lines {_show(lines[where].tolist())}; SMILES "
            f"{_show(split_result.smiles[bad].tolist(), 3)}); predict every test molecule."
        )
    if dataset is not None and target is not None:
        _refuse_label_column(full, split_result, dataset, target, path, pcol)
        if "y_true" in cols:
            _check_y_true(_numeric(frame[cols["y_true"]])[known], rows_k, lines_k,
                          split_result, dataset, target, path)
    return full


#: |y_true - label| above this (plus 1e-6 relative) is a disagreement; 0.005 lets through
#: a file of another tool that rounds its y_true column to 2 decimals.
_Y_TRUE_TOL = 5e-3


def _check_y_true(y_file, rows, lines, split_result, dataset, target, path) -> None:
    """Refuse a file whose ``y_true`` column holds other labels than ``target``'s.

    ``cliffkit train`` writes the labels it trained on as ``y_true``: when they are not
    the ``target`` values of the same molecules, the run was trained on another target
    (or other data), and scoring its predictions as ``target`` gives a wrong number.
    Only rows where both are numbers are compared.
    """
    names = list(getattr(dataset, "target_names", []) or [])
    if target not in names or len(dataset) != split_result.n_samples:
        return  # the dataset check of the caller names the mismatch

    def disagree(name):
        y = dataset.target(name)[rows]
        both = np.isfinite(y_file) & np.isfinite(y)
        with np.errstate(invalid="ignore"):
            off = both & (np.abs(y_file - y) > _Y_TRUE_TOL + 1e-6 * np.abs(y))
        return both, off

    both, off = disagree(target)
    if not off.any():
        return
    i = np.flatnonzero(off)[0]
    y = dataset.target(target)
    others = []
    for t in names:  # the targets whose values the y_true column does hold
        if t != target:
            t_both, t_off = disagree(t)
            if t_both.any() and not t_off.any():
                others.append(t)
    if others:
        why = (f"they are the {others[0]!r} values: the run was trained on target "
               f"{others[0]!r}, not {target!r}. Score it as {others[0]!r} (--target "
               f"{others[0]}, target={others[0]!r}), or evaluate a run trained on {target!r}")
    else:
        why = ("the predictions were made for other labels (another target, or other "
               "data). Evaluate predictions of a model trained on this split's "
               f"{target!r} values (or drop the y_true column if it is not the labels)")
    raise PredictionsError(
        f"Predictions file {path}: its y_true column (where 'cliffkit train' writes the "
        f"labels the run was trained on) is not target {target!r}: it differs from the dataset's {target} "
        f"values on {int(off.sum())} of {int(both.sum())} molecules (line {lines[i]}: "
        f"y_true {y_file[i]:.6g}, {target} {y[rows[i]]:.6g}); {why}."
    )


def _refuse_label_column(full, split_result, dataset, target, path, pcol) -> None:
    """Refuse predictions that equal the measured labels of every test molecule.

    A predictions file of another tool often carries the measured values in a column
    named like the target; read as predictions they score an error of exactly 0.
    """
    names = list(getattr(dataset, "target_names", []) or [])
    if target not in names or len(dataset) != split_result.n_samples:
        return  # the dataset check of the caller names the mismatch
    y = dataset.target(target)
    test = split_result.test
    test = test[np.isfinite(y[test])]
    if test.size and np.allclose(full[test], y[test], rtol=1e-6, atol=1e-9):
        raise PredictionsError(
            f"Predictions file {path}: column {pcol!r} equals the measured {target} values "
            f"of all {test.size} test molecules, so it holds the labels, not a model's "
            "predictions (scored, it would report an error of 0); name the prediction "
            "column with --pred-col (pred_col=)."
        )


#: Column of a predictions file that names the split the model was trained on.
SPLIT_CHECKSUM_COLUMN = "split_checksum"
_CHECKSUM_CHARS = 16  # hex characters of SplitResult.checksum written per row
_PART_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val",
               "validation": "val", "test": "test"}


def _overlap_text(counts: dict[str, int] | None, n_test: int) -> str:
    if counts is None:
        return "which molecules that run held out is unknown (the file has no 'split' column)"
    n_bad = counts["train"] + counts["val"]
    return (f"{n_bad} of this split's {n_test} test molecules were in that run's training "
            f"({counts['train']}) or validation ({counts['val']}) set")


def _check_split_identity(frame, cols, rows: np.ndarray, split_result, path,
                          dataset=None) -> None:
    """Refuse a predictions file made by a run trained on another split.

    Two signals, both written by ``cliffkit train``: the ``split_checksum`` column
    (:attr:`SplitResult.checksum` of the training split) and the ``split`` column (the
    set each molecule was in). A test molecule of ``split_result`` that the file marks as
    ``train`` or ``val`` was seen in training, so scoring it as "test" understates the
    error. Without ``split_checksum`` the ``split`` column may be another tool's copy of
    its input's (a MoleculeACE set's own split): then the file is refused with what is
    known (the marks, and whether they equal the dataset's own MoleculeACE split) and both
    ways on.
    """
    n = split_result.n_samples
    is_test = np.zeros(n, dtype=bool)
    is_test[split_result.test] = True
    hit = (rows >= 0) & is_test[np.maximum(rows, 0)]
    counts = None
    if "nearest_train_smiles" in cols and SPLIT_CHECKSUM_COLUMN not in cols:
        # 'cliffkit predict' output: its 'split' column (if any) is the INPUT file's (e.g. a
        # MoleculeACE set's own split), not the run's. What the run trained on shows in
        # nearest_train_smiles instead: a test molecule of this split whose nearest training
        # molecule is itself was in that model's training set.
        near = frame[cols["nearest_train_smiles"]].astype(str).str.strip().to_numpy(dtype=object)
        own = np.array([hit[i] and near[i] == split_result.smiles[rows[i]]
                        for i in range(len(rows))], dtype=bool)
        if own.any():
            raise PredictionsError(
                f"Predictions file {path} (written by 'cliffkit predict'): {int(own.sum())} of "
                f"this split's {int(split_result.test.size)} test molecules are their own "
                "nearest training molecule (nearest_train_smiles), so that model was trained on "
                "them; scoring them as test molecules would understate the error. Evaluate "
                "with the split file the model was trained on."
            )
        return
    if "split" in cols:
        part = frame[cols["split"]].astype(str).str.strip().str.lower().map(_PART_NAMES)
        part = part.fillna("").to_numpy(dtype=object)
        counts = {sub: int((hit & (part == sub)).sum()) for sub in ("train", "val")}
    want = split_result.checksum
    n_test = int(split_result.test.size)
    if SPLIT_CHECKSUM_COLUMN in cols:
        raw = frame[cols[SPLIT_CHECKSUM_COLUMN]].astype(str).str.strip().str.lower()
        given = sorted({v for v in raw if v and v not in ("nan", "none")})
        if len(given) > 1:
            raise PredictionsError(
                f"Predictions file {path} mixes rows of {len(given)} runs trained on different "
                f"splits ({SPLIT_CHECKSUM_COLUMN} {_show(given, 3)}); keep the rows of one run."
            )
        if given and not (len(given[0]) >= 8 and want.startswith(given[0])):
            raise PredictionsError(
                f"Predictions file {path} was written by a run trained on another split "
                f"({SPLIT_CHECKSUM_COLUMN} {given[0][:_CHECKSUM_CHARS]} in the file, "
                f"{want[:_CHECKSUM_CHARS]} for this split): {_overlap_text(counts, n_test)}; "
                "scoring them as test molecules would understate the error. Evaluate with the "
                "split file the run was trained on (named in its config.json) or retrain on "
                "this split."
            )
    if counts is not None and counts["train"] + counts["val"]:
        # No split_checksum: not written by 'cliffkit train', so whose split the column is
        # (the run's, or the input's copied by the tool) is not known.
        copied = ""
        given = getattr(dataset, "meta", None)
        given = given.get("moleculeace_split") if isinstance(given, dict) else None
        known = rows >= 0
        if given is not None and len(given) == n and known.any():
            theirs = np.array([_PART_NAMES.get(str(v).strip().lower(), "") for v in given],
                              dtype=object)
            if (theirs[rows[known]] == part[known]).all():
                copied = (", exactly as the MoleculeACE set's own 'split' column (so it may "
                          "be a copy of the input's)")
        raise PredictionsError(
            f"Predictions file {path}: its 'split' column marks {counts['train'] + counts['val']} "
            f"of this split's {n_test} test molecules as 'train' ({counts['train']}) or 'val' "
            f"({counts['val']}){copied}. Which molecules the model was trained on is not "
            f"known: the file has no {SPLIT_CHECKSUM_COLUMN!r} column (written by 'cliffkit "
            "train'), and a tool that copies its input's columns copies a 'split' column too. "
            "If the model was trained on the split in that column, scoring them as test "
            "molecules would understate the error: evaluate with a split file of it "
            "('cliffkit split DATA --method predefined --split-col split'). If it was trained "
            "on this split's training molecules, drop or rename the file's 'split' column "
            "and evaluate again."
        )


def check_trained_on(split_result, trained_on) -> None:
    """Refuse to score a model trained on another split than ``split_result``.

    Parameters
    ----------
    split_result : SplitResult
        The split whose test molecules are scored.
    trained_on : SplitResult or str
        The split the model was trained on, or its :attr:`SplitResult.checksum` (the
        full hex digest or at least its first 8 characters, as in the
        ``split_checksum`` column of ``cliffkit train``'s predictions file).

    Raises
    ------
    PredictionsError
        The splits differ; with a SplitResult the message counts this split's test
        molecules that were in the other split's training or validation set.
    InvalidParameterError
        ``trained_on`` is neither.
    """
    want = split_result.checksum
    n_test = int(split_result.test.size)
    if isinstance(trained_on, str):
        got = trained_on.strip().lower()
        if len(got) < 8 or not want.startswith(got):
            raise PredictionsError(
                f"The predictions come from a model trained on another split (checksum "
                f"{got[:_CHECKSUM_CHARS]}, this split {want[:_CHECKSUM_CHARS]}); evaluate "
                "with the split the model was trained on."
            )
        return
    if not all(hasattr(trained_on, a) for a in ("train", "val", "test", "checksum", "dataset")):
        raise InvalidParameterError(
            "The 'trained_on' parameter of evaluate must be a SplitResult or its checksum "
            f"(str); got {type(trained_on).__name__}."
        )
    if trained_on.checksum == want:
        return
    a, b = split_result.dataset.get("checksum"), trained_on.dataset.get("checksum")
    if a and b and a != b:
        raise PredictionsError(
            f"The model was trained on a split of other data (dataset checksum {str(b)[:12]}…, "
            f"this split's {str(a)[:12]}…); evaluate with the split it was trained on."
        )
    test = split_result.test
    counts = {"train": int(np.isin(test, trained_on.train).sum()),
              "val": int(np.isin(test, trained_on.val).sum())}
    raise PredictionsError(
        f"The predictions come from a model trained on another split (checksum "
        f"{trained_on.checksum[:_CHECKSUM_CHARS]}, this split {want[:_CHECKSUM_CHARS]}): "
        f"{_overlap_text(counts, n_test)}; scoring them as test molecules would understate "
        "the error. Evaluate with the split the model was trained on."
    )


def _source_lines(table, n: int) -> np.ndarray:
    lines = getattr(table, "lines", None)
    if lines is not None and len(lines) == n:
        return np.asarray(lines, dtype=np.int64)
    return np.arange(2, n + 2, dtype=np.int64)  # header is line 1


def _numeric(col) -> np.ndarray:
    import pandas as pd

    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


def _standardize_mode(split_result, dataset) -> str:
    """The ``standardize`` mode the split's data was loaded with ("keep" if not recorded)."""
    mode = (getattr(split_result, "dataset", None) or {}).get("standardize")
    if not mode and dataset is not None:
        mode = getattr(getattr(dataset, "report", None), "standardize", None)
    return str(mode or "keep")


def _rows_from_smiles(col, split_result, path, lines: np.ndarray,
                      standardize: str = "keep") -> np.ndarray:
    """Dataset row of each SMILES (-1 if the molecule is not in the split).

    SMILES are canonicalised with the split data's ``standardize`` mode, so a salt in the
    file finds its parent when the data was loaded with ``fragment`` or ``parent``.
    """
    raw = col.astype(object).where(col.notna(), None).tolist()
    lookup = {s: i for i, s in enumerate(split_result.smiles.tolist())}
    rows = np.full(len(raw), -1, dtype=np.int64)
    todo = []
    for i, s in enumerate(raw):
        hit = lookup.get(s.strip()) if isinstance(s, str) else None
        if hit is None:
            todo.append(i)
        else:
            rows[i] = hit
    if todo:
        from ..data import canonicalize

        canon = canonicalize([raw[i] for i in todo], show_progress=False,
                             standardize=standardize)
        bad = [i for i, c in zip(todo, canon, strict=True) if c is None]
        if bad:
            raise PredictionsError(
                f"Predictions file {path}: {len(bad)} SMILES could not be parsed by RDKit "
                f"(lines {_show(lines[bad].tolist())}: {_show([raw[i] for i in bad], 3)}); "
                "fix them or identify molecules by 'index'."
            )
        from ..data._standardize import _warn_smiles, classify_smiles

        # "CCO ethanol" (.smi style) is matched as CCO, and said so: never a silent change
        names = classify_smiles([raw[i] for i in todo], canon, lines[todo])[4]
        if names:
            _warn_smiles(f"Predictions file {path}", names, [], "keep", 0)
        for i, c in zip(todo, canon, strict=True):
            rows[i] = lookup.get(c, -1)
    return rows
