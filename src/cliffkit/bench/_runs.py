"""Results tables from ``cliffkit train`` run folders and ``cliffkit evaluate --json`` files.

:func:`load_runs` turns a folder of one's own runs into the same one-row-per-result
table that :func:`cliffkit.bench.load_results` reads from a bench folder, so that
``cliffkit report`` works on both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CliffkitError, CliffkitWarning, ConfigError
from ..utils import user_stacklevel

__all__ = ["find_runs", "load_runs"]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_evaluation(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == "cliffkit-evaluation" and "groups" in doc


def find_runs(folder: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """(train run folders, evaluation JSON files) under ``folder`` (searched recursively).

    A run folder holds the ``config.json`` (``"command": "train"``) and
    ``predictions.csv`` that ``cliffkit train`` writes; an evaluation file is the output
    of ``cliffkit evaluate --json`` / ``-o``. A run that also holds an ``evaluation.json``
    is counted once (as the run).
    """
    root = Path(folder)
    runs, evals = [], []
    for cfg in sorted(root.rglob("config.json")):
        doc = _read_json(cfg)
        if isinstance(doc, dict) and doc.get("command") == "train" and \
                (cfg.parent / "predictions.csv").is_file():
            runs.append(cfg.parent)
    run_set = set(runs)
    for path in sorted(root.rglob("*.json")):
        if path.parent in run_set or path.name == "config.json":
            continue
        if _is_evaluation(_read_json(path)):
            evals.append(path)
    return runs, evals


def _input_path(inputs: dict, key: str, eval_file: Path) -> Path | None:
    """An input file of an evaluation: absolute path, else as given from here or from the
    evaluation file's folder."""
    for cand in (inputs.get(f"{key}_abspath"), inputs.get(key)):
        if not cand:
            continue
        for p in (Path(cand), eval_file.parent / cand):
            if p.is_file():
                return p
    return None


def _load_split_data(split, split_path: Path):
    """The dataset a split was made from, as the split file records it."""
    from ..data import load_dataset

    rec = split.dataset or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        if rec.get("path"):
            if not Path(rec["path"]).is_file():
                raise ConfigError(
                    f"Split file {split_path} was made from {rec['path']}, which does not exist "
                    "any more; move it back or re-run 'cliffkit evaluate --dataset FILE -o "
                    "RUN/evaluation.json' for these runs."
                )
            ds = load_dataset(rec["path"], smiles_col=rec.get("smiles_col"),
                              target_cols=rec.get("target_cols"),
                              standardize=rec.get("standardize") or "keep")
            if rec.get("units"):
                ds = dataclasses.replace(ds, units=list(rec["units"]))
        else:
            ds = load_dataset(rec.get("name", ""), standardize=rec.get("standardize") or "keep")
            if ds.checksum != rec.get("checksum") and set(split.target_names) < set(ds.target_names):
                ds = load_dataset(rec.get("name", ""), target_cols=list(split.target_names),
                                  standardize=rec.get("standardize") or "keep")
    return ds


@contextlib.contextmanager
def _naming(what: str):
    """Prefix a cliffkit error raised inside with ``what`` (e.g. ``Run runs/t1``), so that a
    folder of many runs says which one failed; the error keeps its type."""
    try:
        yield
    except CliffkitError as exc:
        text = str(exc)
        if text.startswith(what):
            raise
        try:
            named = type(exc)(f"{what}: {text}")
        except Exception:  # noqa: BLE001 - an error class with another signature: as it is
            raise exc from None
        raise named from exc


def _split_path(cfg: dict, run: Path) -> Path | None:
    sp = cfg.get("split") or {}
    for cand in (sp.get("abspath"), sp.get("path")):
        if cand:
            p = Path(cand)
            if not p.is_absolute():
                p = run / p if (run / p).is_file() else p
            if p.is_file():
                return p
    return None


def _row(kind: str, key: str, ev_doc: dict, *, dataset: str, target: str, split: str,
         backbone: str, loss: str, seed: Any, unit: str, extra: dict) -> dict:
    from ._cell import _metrics_from_dict
    from ._results import _flatten_metrics

    row: dict[str, Any] = {
        "key": key, "status": "ok", "dataset": dataset, "target": target, "subsample": None,
        "split": split, "backbone": backbone, "loss": loss, "seed": seed, "unit": unit,
        "source": kind, "seconds": extra.get("seconds"), "cpu_seconds": None,
        "error_type": None, "error_message": None,
        "predictions_path": extra.get("predictions_path"),
        "lambda_trajectory": extra.get("lambda_trajectory"), "warnings": [],
        "started": None, "finished": None, "machine": None,
    }
    metrics = _metrics_from_dict(ev_doc)
    for name in ("train", "val", "test"):
        if name in extra.get("n", {}):
            metrics[f"n_{name}"] = extra["n"][name]
    _flatten_metrics(metrics, row)
    _flatten_metrics(metrics.get("reference"), row, prefix="ref_")
    return row


def _per_molecule(ev, split, ds, target: str, y_pred: np.ndarray) -> Any:
    """The test molecules as the bench writes them (for the report's figures)."""
    import pandas as pd

    lab = split.labels[target]
    te = split.test
    y = ds.y[:, ds.target_index(target)]
    partner = np.asarray(lab.partner, dtype=np.int64)[te]
    has = partner >= 0
    y_ref = np.full(te.size, np.nan)
    ref = getattr(ev, "reference_predictions", None) if ev is not None else None
    if ref is not None and np.asarray(ref).shape[0] == te.size:
        y_ref = np.asarray(ref, dtype=float)
    return pd.DataFrame({
        "index": te, "smiles": ds.smiles[te], "y_true": y[te], "y_pred": y_pred[te],
        "y_ref": y_ref, "stratum": np.asarray(lab.strata)[te],
        "max_similarity": np.asarray(lab.max_similarity, dtype=float)[te],
        "severity": np.asarray(lab.severity, dtype=float)[te], "partner": partner,
        "partner_y_true": np.where(has, y[np.maximum(partner, 0)], np.nan),
        "partner_y_pred": np.where(has, y_pred[np.maximum(partner, 0)], np.nan),
    })


def _task_name(name: str) -> str:
    """A dataset's name for the table: a file's name without folders, suffix kept.

    The suffix marks the user's file (the report shows it without, and never takes a
    file for one of the paper's datasets, whatever its name: 'lipo200.csv').
    """
    return Path(str(name)).name or str(name)


def load_runs(folder: str | os.PathLike, work_dir: str | os.PathLike, *,
              n_bootstrap: int = 1000, seed: int = 0, show_progress: bool = False) -> Any:
    """One row per ``cliffkit train`` run or ``cliffkit evaluate`` file under ``folder``.

    Each run is scored on its split's test molecules with :func:`cliffkit.evaluate.evaluate`
    (its ``evaluation.json`` is used instead when ``cliffkit evaluate -o RUN/evaluation.json``
    wrote one); the data are reloaded from what the split file records. The per-molecule
    test predictions are written to ``work_dir/runs/<run>.csv`` for the report's figures.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`cliffkit.bench.load_results` plus ``unit`` and ``source``
        (``"train"`` or ``"evaluate"``); ``table.attrs["n_runs"]``, ``["n_evaluations"]``,
        ``["repeats"]`` (one line per run left out as a repeat of another: the same cell
        and seed, split and test predictions, e.g. a run trained twice or an evaluation
        file of a run in the folder; the kept row carries the same line in its warnings).

    Raises
    ------
    ConfigError
        ``folder`` holds neither runs nor evaluation files, a split file is missing, or two
        runs of one cell (dataset, target, split method, backbone, loss) and seed differ
        (another split or other predictions: they would count as two seeds).
    CliffkitError
        Any error of one run or evaluation file (its split, data, predictions or target)
        keeps its type and names that run folder or file: ``Run runs/t1: ...``.
    """
    import pandas as pd

    from ..evaluate import evaluate, read_predictions
    from ..split import load_split
    from ..utils import atomic_write_text

    root = Path(folder)
    runs, evals = find_runs(root)
    if not runs and not evals:
        raise ConfigError(
            f"No results in {str(root)!r}: no bench cells (cells/*.json), no 'cliffkit train' run "
            "folders (config.json + predictions.csv) and no 'cliffkit evaluate -o' files."
        )
    out = Path(work_dir) / "runs"
    rows = []
    docs: list[tuple[dict, dict]] = []  # (evaluation, config) of each row
    for run in runs:
        with _naming(f"Run {run}"):  # an error of one run names its folder
            cfg = _read_json(run / "config.json")
            split_path = _split_path(cfg, run)
            if split_path is None:
                raise ConfigError(
                    f"Run {run}: its split file {cfg.get('split', {}).get('path')!r} does not exist "
                    "(config.json names it); put it back or re-run 'cliffkit train'."
                )
            split = load_split(split_path)
            ds = _load_split_data(split, split_path)
            split = load_split(split_path, dataset=ds)
            target = cfg.get("target") or split.target_names[0]
            y_pred = read_predictions(run / "predictions.csv", split, target=target, dataset=ds)
            ev_doc = _read_json(run / "evaluation.json")
            ev = None
            notes: list[str] = []
            if _is_evaluation(ev_doc) and not _scores(ev_doc, split, ds, target, y_pred):
                # e.g. the run folder was trained again after 'cliffkit evaluate -o RUN/evaluation.json'
                notes.append(f"{run.relative_to(root).as_posix() if run != root else run.name}"
                             "/evaluation.json was ignored: it does not score this run's "
                             "predictions.csv (its split or test MAE differ); the run was "
                             "evaluated again")
                ev_doc = None
            if not _is_evaluation(ev_doc):
                ev = evaluate(split, y_pred, dataset=ds, target=target, n_bootstrap=n_bootstrap,
                              random_state=seed, show_progress=show_progress)
                ev_doc = ev.to_dict()
            rel = run.relative_to(root).as_posix() if run != root else run.name
            name = rel.replace("/", "__") or "run"
            frame = _per_molecule(ev, split, ds, target, y_pred)
            pred_csv = out / f"{name}.csv"
            atomic_write_text(pred_csv, frame.to_csv(index=False))
            loss = cfg.get("loss") or {}
            hist = loss.get("lambda_history") or []
            for text in notes:
                warnings.warn(text, CliffkitWarning, stacklevel=user_stacklevel())
            rows.append(_row(
                "train", rel, ev_doc, dataset=_task_name(cfg.get("dataset", {}).get("name", "")),
                target=target, split=split.method or "?", backbone=(cfg.get("backbone") or {}).get("name", "?"),
                loss=loss.get("name", "plain"), seed=cfg.get("seed"), unit=cfg.get("unit") or "",
                extra={"seconds": cfg.get("fit_seconds"), "predictions_path": str(pred_csv),
                       "lambda_trajectory": [float(h.get("lam", np.nan)) for h in hist
                                             if isinstance(h, dict)] or None,
                       "n": {k: v.get("n") for k, v in (cfg.get("metrics") or {}).items()
                             if isinstance(v, dict)}},
            ))
            rows[-1]["warnings"] = [*rows[-1]["warnings"], *notes]
            docs.append((ev_doc, cfg))
    for path in evals:
        with _naming(f"Evaluation file {path}"):
            doc = _read_json(path)
            inputs = doc.get("inputs", {})
            pred = _input_path(inputs, "predictions_file", path) or Path("")
            cfg = _read_json(pred.parent / "config.json") if pred.name else None
            cfg = cfg if isinstance(cfg, dict) else {}
            split_file = _input_path(inputs, "split_file", path)
            split_doc = _read_json(split_file) if split_file else None
            sd = (split_doc or {}).get("dataset", {}) if isinstance(split_doc, dict) else {}
            if not cfg.get("unit") and sd.get("units"):
                cfg["unit"] = sd["units"][0]
            name = cfg.get("dataset", {}).get("name") or sd.get("name") or doc.get("dataset") or "?"
            rows.append(_row(
                "evaluate", path.relative_to(root).as_posix(), doc, dataset=_task_name(name),
                target=doc.get("target") or cfg.get("target") or "?",
                split=doc.get("split_method") or "?",
                backbone=(cfg.get("backbone") or {}).get("name") or pred.stem or path.stem,
                loss=(cfg.get("loss") or {}).get("name", "plain"), seed=cfg.get("seed", 0),
                unit=doc.get("unit") or cfg.get("unit") or "", extra={},
            ))
            docs.append((doc, cfg))
    rows, repeats = _one_row_per_cell(rows, docs)
    table = pd.DataFrame(rows)
    table.attrs.update(n_runs=len(runs), n_evaluations=len(evals), grid=None, grid_source="",
                       n_stale=0, n_missing=0, repeats=repeats)
    return table


_CELL_FIELDS = ("dataset", "target", "split", "backbone", "loss", "seed")


def _scores(ev_doc: dict, split, ds, target: str, y_pred: np.ndarray) -> bool:
    """Whether an evaluation file scored these predictions on this split.

    Compares its split checksum and its overall test MAE with the MAE of ``y_pred``
    recomputed here (same test molecules, relative tolerance 1e-9).
    """
    params = ev_doc.get("params") or {}
    if params.get("split_checksum") not in (None, split.checksum):
        return False
    recorded = ((ev_doc.get("groups") or {}).get("overall") or {}).get("mae", {}).get("value")
    y = ds.target(target)
    test = split.test[np.isfinite(y[split.test])]
    if not isinstance(recorded, int | float) or not test.size:
        return False
    mae = float(np.mean(np.abs(y_pred[test] - y[test])))
    return bool(np.isclose(mae, recorded, rtol=1e-9, atol=1e-12))


def _fingerprint(doc: dict) -> tuple:
    """What identifies one scored model: its split and its test MAEs (overall, cliff, smooth)."""
    groups = doc.get("groups") or {}
    maes = tuple((groups.get(g) or {}).get("mae", {}).get("value") for g in
                 ("overall", "cliff", "smooth"))
    return ((doc.get("params") or {}).get("split_checksum"), maes)


def _one_row_per_cell(rows: list[dict], docs: list[tuple[dict, dict]]) -> tuple[list[dict], list[str]]:
    """Count each cell (task, split, backbone, loss, seed) once.

    The report treats the rows of one cell as its seeds, so two runs of one cell with the
    same seed would count as two seeds (a zero-width interval from two copies of one
    result). A run repeated with the same split and the same predictions (trained twice,
    copied, or scored again by ``cliffkit evaluate -o``) is kept once, and the others are
    named in a warning; runs of one cell and seed that differ are refused.
    """
    kept: dict[tuple, int] = {}  # cell -> position in rows of its first run
    out: list[dict] = []
    repeats: list[str] = []
    for i, (row, (doc, cfg)) in enumerate(zip(rows, docs, strict=True)):
        cell = tuple(str(row[f]) for f in _CELL_FIELDS)
        if cell not in kept:
            kept[cell] = i
            out.append(row)
            continue
        first, (doc0, cfg0) = rows[kept[cell]], docs[kept[cell]]
        if _fingerprint(doc) == _fingerprint(doc0):
            text = (f"{row['key']} repeats {first['key']} (same cell {', '.join(cell[:-1])}, "
                    f"seed {cell[-1]}, same split and predictions); counted once")
            repeats.append(text)
            first["warnings"] = [*first["warnings"], text]
            continue
        why = _difference(doc0, cfg0, doc, cfg)
        raise ConfigError(
            f"{first['key']} and {row['key']} are the same cell of the report "
            f"({', '.join(cell[:-1])}) with the same seed {cell[-1]}, but {why}; the report "
            "counts each seed once, so it cannot tell which to use: report them from separate "
            "folders, or train the second with another --seed."
        )
    return out, repeats


def _difference(doc0: dict, cfg0: dict, doc: dict, cfg: dict) -> str:
    (sp0, mae0), (sp, mae) = _fingerprint(doc0), _fingerprint(doc)
    if sp0 != sp:
        return f"were scored on different splits (checksums {str(sp0)[:12]}, {str(sp)[:12]})"
    diff = [f"{sec}.{k}" for sec in ("backbone", "loss")
            for k in sorted(set(cfg0.get(sec) or {}) | set(cfg.get(sec) or {}))
            if k not in ("lambda_history",)
            and (cfg0.get(sec) or {}).get(k) != (cfg.get(sec) or {}).get(k)]
    where = f" (their config.json differ in {', '.join(diff[:5])})" if diff and cfg0 and cfg else ""
    return (f"their predictions differ (test MAE {_num(mae0[0])} vs {_num(mae[0])})" + where)


def _num(v) -> str:
    return f"{v:.4f}" if isinstance(v, int | float) else "?"
