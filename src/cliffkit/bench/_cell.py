"""The real work of one split and one cell, built only from the public APIs of
:mod:`cliffkit.data`, :mod:`cliffkit.split`, :mod:`cliffkit.loss`,
:mod:`cliffkit.models` and :mod:`cliffkit.evaluate`.

A cell: load the task (one target of a dataset, optionally a seeded subsample), load
its split file, build the loss from training data only (train-only severity; the
adaptive variant also gets the validation strata), fit the backbone with early
stopping on validation, predict the test set and the test cases' training partners,
and evaluate per stratum with bootstrap CIs and the reference predictor.
"""

from __future__ import annotations

import functools
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..evaluate import PAIR_SUMMARY, current_pair_names
from ._config import Cell, SplitSpec, subsample_refusal
from ._runner import CellResult

__all__ = ["backbone_signature", "build_backbone", "compute_split", "load_task", "run_cell",
           "task_checksum"]


def _file_stamp(name: str) -> tuple | None:
    """(size, mtime) of a dataset given as a file path, None for a registered name.

    Part of the cache keys below, so that a file edited in a running session is read
    again instead of being served from the cache.
    """
    try:
        st = os.stat(name)
    except (OSError, ValueError):
        return None
    return (st.st_size, st.st_mtime_ns)


def _cached_with_warnings(fn):
    """``fn`` cached per process (8 entries) together with the warnings its computation
    raised; every call replays them (:func:`warnings.warn_explicit`, under the caller's
    filters), so that each split that uses cached data records its data warnings (rows
    dropped, duplicates averaged), not only the first one that read the file. ``replay=False``
    returns the value without them (for callers whose warnings are recorded elsewhere)."""

    @functools.lru_cache(maxsize=8)
    def cached(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = fn(*args, **kwargs)
        return value, tuple(caught)

    @functools.wraps(fn)
    def wrapper(*args, replay: bool = True, **kwargs):
        value, caught = cached(*args, **kwargs)
        if replay:
            for w in caught:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return value

    wrapper.cache_clear = cached.cache_clear
    wrapper.cache_info = cached.cache_info
    return wrapper


@_cached_with_warnings
def _load_full(name: str, smiles_col: str | None = None, target: str | None = None,
               stamp: tuple | None = None):
    from ..data import load_dataset

    if smiles_col is None and target is None:
        return load_dataset(name)
    return load_dataset(name, smiles_col=smiles_col, target_cols=[target] if target else None)


def task_source(dataset: str, target: str, smiles_col: str | None = None):
    """The dataset the tasks of ``dataset`` / ``target`` are cut from, read as a cell reads
    it (a data file with its ``target`` column only), cached, without replaying its load
    warnings (the split tasks record them)."""
    stamp = _file_stamp(dataset)
    return _load_full(dataset, smiles_col, target if _is_file(smiles_col, stamp) else None,
                      stamp, replay=False)


def _is_file(smiles_col: str | None, stamp: tuple | None) -> bool:
    """A user file (a file stamp, or smiles_col given): read with its target column, as a
    file with several numeric columns names its target(s) in the grid, not by detection."""
    return smiles_col is not None or stamp is not None


def load_task(dataset: str, target: str, subsample: int | None = None, subsample_seed: int = 0,
              smiles_col: str | None = None, *, replay_warnings: bool = True):
    """One target of ``dataset`` as a single-target :class:`~cliffkit.data.Dataset`.

    With ``subsample``, a seeded random subset of the molecules (sorted row order;
    the same subset for every grid seed). Array-valued ``meta`` entries aligned with
    the rows (e.g. QM9 ``qm9_index`` for geometries) are subset with them. Loads are
    cached per process; a data file is read again when its size or mtime changed. A data
    file is read with its ``target`` column (and ``smiles_col`` when given).
    The warnings of the load (rows dropped, duplicates averaged) are raised on every
    call, a cached one too, so every split task records them; ``replay_warnings=False``
    leaves them out (a cell: they are its split's, counted per cell through the split log).

    Raises
    ------
    ConfigError
        ``subsample`` is not smaller than the molecules the data give (after invalid rows
        were dropped and duplicates merged): the "subset" would be the whole dataset.
    """
    return _load_task(dataset, target, subsample, subsample_seed, smiles_col,
                      _file_stamp(dataset), replay=replay_warnings)


@_cached_with_warnings
def _load_task(dataset: str, target: str, subsample: int | None, subsample_seed: int,
               smiles_col: str | None, stamp: tuple | None):
    from ..data import Dataset

    full = _load_full(dataset, smiles_col, target if _is_file(smiles_col, stamp) else None, stamp)
    n = len(full)
    idx = np.arange(n)
    if subsample is not None and subsample >= n:
        # never a silent "subsample N" that is the whole dataset (MoleculeACE sets: their
        # size is known only now; a file's usable molecules are checked with the config)
        raise subsample_refusal(f"[[datasets]] entry {dataset!r}", dataset, target, subsample, full)
    if subsample is not None:
        rng = np.random.default_rng(subsample_seed)
        idx = np.sort(rng.choice(n, size=subsample, replace=False))
    j = full.target_index(target)
    meta = {}
    for key, value in full.meta.items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
            meta[key] = value[idx]
        else:
            meta[key] = value
    if subsample is not None:
        meta["subsample"] = {"n": int(subsample), "seed": int(subsample_seed), "of": n}
    return Dataset(
        name=full.name,
        smiles=full.smiles[idx],
        y=full.y[idx][:, [j]],
        target_names=[full.target_names[j]],
        units=[full.units[j]],
        source=full.source,
        source_sha256=full.source_sha256,
        report=full.report,
        ids=None if full.ids is None else full.ids[idx],
        meta=meta,
    )


def task_checksum(spec: SplitSpec) -> str:
    """:attr:`~cliffkit.data.Dataset.checksum` of the task a split of ``spec`` is made from."""
    return load_task(spec.dataset, spec.target, spec.subsample, spec.subsample_seed,
                     spec.smiles_col, replay_warnings=False).checksum


def compute_split(spec: SplitSpec):
    """Split the task of ``spec`` with its method, parameters and seed; returns a SplitResult."""
    from ..split import get_splitter

    ds = load_task(spec.dataset, spec.target, spec.subsample, spec.subsample_seed, spec.smiles_col)
    params = dict(spec.params)
    params.setdefault("random_state", spec.seed)
    return get_splitter(spec.method, **params).make_split(ds)


def build_backbone(cell: Cell) -> Any:
    """The unfitted backbone a cell trains: its parameters, the cell's seed, no progress bar."""
    from ..experiment import build_backbone as build

    return build(cell.backbone, cell.backbone_params, seed=cell.seed)


def backbone_signature(cell: Cell) -> str:
    """``repr`` of :func:`build_backbone`: every resolved parameter, defaults included.

    A finished cell records it (``extra["backbone"]``); the runner reruns a cell whose
    recorded signature differs, e.g. after a backbone's default changed.
    """
    return repr(build_backbone(cell))


def run_cell(cell: Cell, split_path: Path) -> CellResult:
    """Train, predict and evaluate one cell (:func:`cliffkit.experiment.run_experiment`)."""
    import pandas as pd

    from ..experiment import run_experiment
    from ..split import labelled_view, load_split

    t0 = time.perf_counter()
    # the data's load warnings are the split's (its log; the report counts them per cell)
    ds = load_task(cell.dataset, cell.target, cell.subsample, cell.subsample_seed, cell.smiles_col,
                   replay_warnings=False)
    split = load_split(split_path, dataset=ds)
    target = cell.target
    ds, split, _ = labelled_view(split, ds, target)  # multi-target data: its own molecules
    labels = split.labels[target]
    te = np.asarray(split.test, dtype=np.int64)
    y_all = ds.target(target)
    load_s = time.perf_counter() - t0

    # the signature the runner compares (repr of the *base* backbone): a loss that wraps the
    # model (plain-ensemble, tanimoto-stack ...) would otherwise record the wrapper's repr and
    # look outdated on every rerun
    signature = backbone_signature(cell)
    res = run_experiment(ds, split, build_backbone(cell), cell.loss, target=target,
                         seed=cell.seed, loss_params=cell.loss_params,
                         n_bootstrap=int(cell.evaluation.get("n_bootstrap", 1000)))
    timing = {"load_s": load_s, **res.timing}
    ev, spec, model = res.evaluation, res.loss, res.model
    metrics = evaluation_to_metrics(ev)
    metrics.update(n_train=int(split.train.size), n_val=int(split.val.size), n_test=int(te.size),
                   # test cases whose partner has an identical fingerprint (similarity 1.0)
                   n_identical_partner=ev.params.get("n_identical_partner"),
                   # identity of the split: seeds that made the same split count once
                   split_checksum=split.checksum[:16])
    if "cliff_mol" in ds.meta:  # a MoleculeACE set: its own metrics on the same test set
        from ..cliffs import moleculeace_metrics

        metrics["moleculeace"] = moleculeace_metrics(y_all[te], res.y_pred, ds.meta["cliff_mol"][te])

    partner, has_partner = res.partner, res.partner >= 0
    predictions = pd.DataFrame({
        "index": te,
        "smiles": ds.smiles[te],
        "y_true": y_all[te],
        "y_pred": res.y_pred,
        "y_ref": _reference_predictions(ev, te.size),
        "stratum": np.asarray(labels.strata)[te],
        "max_similarity": np.asarray(labels.max_similarity, dtype=float)[te],
        "severity": np.asarray(labels.severity, dtype=float)[te],
        "partner": partner,
        "partner_y_true": np.where(has_partner, y_all[np.maximum(partner, 0)], np.nan),
        "partner_y_pred": res.partner_pred,
        # identity of the split: 'cliffkit evaluate' refuses this file with another split
        "split_checksum": split.checksum[:16],
    })
    history = spec.history
    extra: dict[str, Any] = {
        "lambda_trajectory": [float(h.get("lam", np.nan)) for h in history]
        if history else None,
        "lambda_history": history or None,
        "backbone": signature,
        "model": repr(model),
        # what the fitted model chose on validation (a blend weight, the SVR's C, the best
        # epoch ...): public fitted attributes that are plain numbers
        "fitted": _fitted_scalars(model),
        "loss": repr(spec),
        "best_epoch": getattr(model, "best_epoch_", None),
        "n_epochs": len(getattr(model, "history_", []) or []),
        "timing": timing,
        "cliff_share": getattr(split, "cliff_share", None),
        # torch models reproduce bit for bit only at the same thread count (docs/scaling.md)
        "torch_threads": _torch_threads(),
    }
    return CellResult(metrics=metrics, predictions=predictions, extra=extra)


def _torch_threads() -> int:
    """Threads torch used in this process (its float sums, so GNN results, depend on it)."""
    import torch

    return int(torch.get_num_threads())


def _fitted_scalars(model: Any) -> dict[str, float]:
    """Fitted attributes (``name_``) of ``model`` that are ints or floats, e.g. ``weight_``."""
    out: dict[str, float] = {}
    for k, v in sorted(vars(model).items()):
        if (k.endswith("_") and not k.startswith("_") and not isinstance(v, bool)
                and isinstance(v, int | float | np.integer | np.floating)):
            out[k] = float(v)
    return out


def _reference_predictions(ev, n: int) -> np.ndarray:
    """The reference predictor's test predictions (NaN when it was not computed)."""
    value = ev.reference_predictions
    if value is None:
        return np.full(n, np.nan)
    return np.asarray(value, dtype=float).reshape(-1)


def evaluation_to_metrics(ev: Any) -> dict:
    """Map an :class:`cliffkit.evaluate.Evaluation` to the bench metrics schema.

    ``{"overall": {"n", "mae", "mae_ci", "rmse", "rmse_ci", "r2"}, "strata": {name: same},
    "gap", "gap_ci", "ratio", "ratio_ci", "pairs": {"n", "diff_mae", "diff_mae_ci",
    "direction_accuracy"}, "reference": {same, for the reference predictor}}``.
    """
    d = ev.to_dict() if hasattr(ev, "to_dict") else dict(ev)
    return _metrics_from_dict(d)


def _est(value: Any) -> tuple[float | None, list | None]:
    """An Estimate (object or ``{"value", "low", "high"}``) -> (value, [low, high])."""
    if value is None:
        return None, None
    if isinstance(value, dict):
        if "value" in value:
            lo, hi = value.get("low"), value.get("high")
            return value["value"], [lo, hi] if lo is not None or hi is not None else None
        return None, None
    if hasattr(value, "value"):
        return float(value.value), [float(value.low), float(value.high)]
    try:
        return float(value), None
    except (TypeError, ValueError):
        return None, None


def _block(group: dict) -> dict:
    """Every metric of an evaluation group, under its own name (no list of names here):
    ``n`` as is, each estimate as ``name`` and ``name_ci``."""
    out: dict[str, Any] = {}
    for m, value in group.items():
        if m == "n":
            out["n"] = value
            continue
        v, ci = _est(value)
        out[m] = v
        if ci is not None:
            out[f"{m}_ci"] = ci
    return out


def _metrics_from_dict(d: dict) -> dict:
    strata_src = d.get("strata") or d.get("groups") or {}
    metrics: dict[str, Any] = {}
    if "overall" in strata_src:
        metrics["overall"] = _block(strata_src["overall"])
    elif "overall" in d:
        metrics["overall"] = _block(d["overall"])
    metrics["strata"] = {k: _block(v) for k, v in strata_src.items()
                         if k != "overall" and isinstance(v, dict)}
    contrasts = d.get("contrasts") or {}
    main = contrasts.get("cliff_vs_smooth", d)
    for key in ("gap", "ratio"):
        v, ci = _est(main.get(key))
        metrics[key] = v
        if ci is not None:
            metrics[f"{key}_ci"] = ci
    # the matched controls: matched_similarity_{gap,ratio}, matched_similarity_z_{gap,ratio}
    for name, c in contrasts.items():
        if name == "cliff_vs_smooth" or not isinstance(c, dict):
            continue
        for key in ("gap", "ratio"):
            v, ci = _est(c.get(key))
            metrics[f"{name}_{key}"] = v
            if ci is not None:
                metrics[f"{name}_{key}_ci"] = ci
    pairs = d.get("pairs") or d.get("pair_metrics") or {}
    if pairs:
        pairs = current_pair_names(pairs)  # evaluation files of older versions
        metrics["pairs"] = _block({"n": pairs.get("n"),
                                   **{m: pairs[m] for m in PAIR_SUMMARY if m in pairs}})
    noise = d.get("noise") or {}
    if isinstance(noise, dict) and noise:
        metrics["noise_sd"] = (noise.get("noise_sd") or {}).get("sd")
        floor = noise.get("floor") or {}
        v, ci = _est(floor.get("gap"))
        metrics["noise_floor_gap"] = v
        if ci is not None:
            metrics["noise_floor_gap_ci"] = ci
    lf = d.get("label_free")
    if isinstance(lf, dict) and lf:
        metrics["label_free_auc"] = lf.get("auc")
    ref = d.get("reference")
    if isinstance(ref, dict) and ref:
        metrics["reference"] = _metrics_from_dict(ref)
    return metrics
