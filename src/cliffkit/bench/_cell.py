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
import inspect
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._config import Cell, SplitSpec
from ._runner import CellResult

__all__ = ["backbone_signature", "build_backbone", "compute_split", "load_task", "run_cell"]


@functools.lru_cache(maxsize=8)
def _load_full(name: str):
    from ..data import load_dataset

    return load_dataset(name)


@functools.lru_cache(maxsize=8)
def load_task(dataset: str, target: str, subsample: int | None = None, subsample_seed: int = 0):
    """One target of ``dataset`` as a single-target :class:`~cliffkit.data.Dataset`.

    With ``subsample``, a seeded random subset of the molecules (sorted row order;
    the same subset for every grid seed). Array-valued ``meta`` entries aligned with
    the rows (e.g. QM9 ``qm9_index`` for geometries) are subset with them.
    """
    from ..data import Dataset

    full = _load_full(dataset)
    n = len(full)
    idx = np.arange(n)
    if subsample is not None and subsample < n:
        rng = np.random.default_rng(subsample_seed)
        idx = np.sort(rng.choice(n, size=subsample, replace=False))
    j = full.target_index(target)
    meta = {}
    for key, value in full.meta.items():
        if isinstance(value, np.ndarray) and value.shape[:1] == (n,):
            meta[key] = value[idx]
        else:
            meta[key] = value
    if subsample is not None and subsample < n:
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


def _accepts(fn, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def compute_split(spec: SplitSpec):
    """Split the task of ``spec`` with its method, parameters and seed; returns a SplitResult."""
    from .. import split as split_mod

    ds = load_task(spec.dataset, spec.target, spec.subsample, spec.subsample_seed)
    params = dict(spec.params)
    params.setdefault("random_state", spec.seed)
    if hasattr(split_mod, "make_split"):
        return split_mod.make_split(ds, method=spec.method, **params)
    splitter = split_mod.get_splitter(spec.method, **params)
    return splitter.make_split(ds)


@functools.lru_cache(maxsize=4)
def _train_severity(split_path: str, dataset: str, target: str, subsample, subsample_seed):
    """Train-only severity for a split (shared by the cells of one split in a process)."""
    from ..loss import cliff_severity
    from ..split import labelled_view, load_split

    ds = load_task(dataset, target, subsample, subsample_seed)
    split = load_split(split_path, dataset=ds)
    ds, split, _ = labelled_view(split, ds, target)  # this target's own molecules
    return cliff_severity(ds, train_idx=np.asarray(split.train), target=target)


_NO_SEVERITY = {"plain", "lds"}


def build_backbone(cell: Cell) -> Any:
    """The unfitted backbone a cell trains: its parameters, the cell's seed, no progress bar."""
    from ..models import get_backbone

    params = dict(cell.backbone_params)
    model = get_backbone(cell.backbone, **params)
    if "random_state" not in params and "random_state" in model.get_params():
        model.set_params(random_state=cell.seed)
    if "show_progress" not in params and "show_progress" in model.get_params():
        model.set_params(show_progress=False)
    return model


def backbone_signature(cell: Cell) -> str:
    """``repr`` of :func:`build_backbone`: every resolved parameter, defaults included.

    A finished cell records it (``extra["backbone"]``); the runner reruns a cell whose
    recorded signature differs, e.g. after a backbone's default changed.
    """
    return repr(build_backbone(cell))


def run_cell(cell: Cell, split_path: Path) -> CellResult:
    """Train, predict and evaluate one cell; see the module docstring."""
    import pandas as pd

    from ..evaluate import evaluate
    from ..loss import make_loss
    from ..split import load_split

    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    ds = load_task(cell.dataset, cell.target, cell.subsample, cell.subsample_seed)
    split = load_split(split_path, dataset=ds)
    target = cell.target
    from ..split import labelled_view

    ds, split, _ = labelled_view(split, ds, target)  # multi-target data: its own molecules
    labels = split.labels[target]
    tr, va, te = (np.asarray(a, dtype=np.int64) for a in (split.train, split.val, split.test))
    train, val, test = ds.subset(tr), ds.subset(va), ds.subset(te)
    y_all = ds.target(target)
    timing["load_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    severity = None
    if cell.loss not in _NO_SEVERITY:
        severity = _train_severity(str(split_path), cell.dataset, target, cell.subsample,
                                   cell.subsample_seed)
    val_strata = np.asarray(labels.strata)[va]
    loss_kwargs = dict(cell.loss_params)
    loss_kwargs.setdefault("random_state", cell.seed)
    spec = make_loss(
        cell.loss, y_all[tr], severity=severity, y_val=y_all[va],
        val_cliff_mask=val_strata == "cliff", val_smooth_mask=val_strata == "smooth",
        **loss_kwargs,
    )
    timing["loss_s"] = time.perf_counter() - t0

    model = build_backbone(cell)
    t0 = time.perf_counter()
    model.fit(train, val, target=target, **spec.fit_kwargs(model))
    timing["fit_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    y_pred = np.asarray(model.predict(test), dtype=np.float64).reshape(-1)
    partner = np.asarray(labels.partner, dtype=np.int64)[te]
    has_partner = partner >= 0
    partner_pred = np.full(te.shape[0], np.nan)
    if has_partner.any():
        uniq, inv = np.unique(partner[has_partner], return_inverse=True)
        partner_pred[has_partner] = np.asarray(model.predict(ds.subset(uniq)), dtype=np.float64)[inv]
    timing["predict_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ev = evaluate(split, y_pred, target=target, dataset=ds,
                  n_bootstrap=int(cell.evaluation.get("n_bootstrap", 1000)),
                  random_state=cell.seed, **_partner_kwarg(evaluate, partner_pred, te))
    timing["evaluate_s"] = time.perf_counter() - t0
    metrics = evaluation_to_metrics(ev)
    metrics.update(n_train=int(tr.size), n_val=int(va.size), n_test=int(te.size),
                   # test cases whose partner has an identical fingerprint (similarity 1.0)
                   n_identical_partner=ev.params.get("n_identical_partner"))
    if "cliff_mol" in ds.meta:  # a MoleculeACE set: its own metrics on the same test set
        from ..cliffs import moleculeace_metrics

        metrics["moleculeace"] = moleculeace_metrics(y_all[te], y_pred, ds.meta["cliff_mol"][te])

    y_ref = _reference_predictions(ev, te.size)
    predictions = pd.DataFrame({
        "index": te,
        "smiles": ds.smiles[te],
        "y_true": y_all[te],
        "y_pred": y_pred,
        "y_ref": y_ref,
        "stratum": np.asarray(labels.strata)[te],
        "max_similarity": np.asarray(labels.max_similarity, dtype=float)[te],
        "severity": np.asarray(labels.severity, dtype=float)[te],
        "partner": partner,
        "partner_y_true": np.where(has_partner, y_all[np.maximum(partner, 0)], np.nan),
        "partner_y_pred": partner_pred,
        # identity of the split: 'cliffkit evaluate' refuses this file with another split
        "split_checksum": split.checksum[:16],
    })
    history = getattr(spec, "history", []) or []
    extra: dict[str, Any] = {
        "lambda_trajectory": [float(h.get("lam", np.nan)) for h in history]
        if history else None,
        "lambda_history": history or None,
        "backbone": repr(model),
        "loss": repr(spec),
        "best_epoch": getattr(model, "best_epoch_", None),
        "n_epochs": len(getattr(model, "history_", []) or []),
        "timing": timing,
        "cliff_share": getattr(split, "cliff_share", None),
    }
    return CellResult(metrics=metrics, predictions=predictions, extra=extra)


def _partner_kwarg(evaluate_fn, partner_pred, te) -> dict:
    """Pass the partners' predictions to ``evaluate`` if it takes them."""
    if _accepts(evaluate_fn, "partner_predictions"):
        return {"partner_predictions": partner_pred}
    return {}


def _reference_predictions(ev, n: int) -> np.ndarray:
    for attr in ("reference_predictions", "y_reference", "reference_pred"):
        value = getattr(ev, attr, None)
        if value is not None:
            arr = np.asarray(value, dtype=float).reshape(-1)
            if arr.shape[0] == n:
                return arr
    return np.full(n, np.nan)


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
    out: dict[str, Any] = {}
    if "n" in group:
        out["n"] = group["n"]
    for m in ("mae", "rmse", "r2"):
        if m in group:
            v, ci = _est(group[m])
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
        p: dict[str, Any] = {"n": pairs.get("n")}
        for src, dst in (("diff_error_pred", "diff_mae"), ("diff_error_true", "diff_mae_true"),
                         ("direction_pred", "direction_accuracy"),
                         ("direction_true", "direction_accuracy_true")):
            if src in pairs:
                v, ci = _est(pairs[src])
                p[dst] = v
                if ci is not None:
                    p[f"{dst}_ci"] = ci
        metrics["pairs"] = p
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
