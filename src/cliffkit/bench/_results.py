"""Reading a results folder back: :func:`load_results` gives one row per cell.

Written by :mod:`cliffkit.bench._runner` (``cells/<key>.json``, ``splits/logs``,
``config.json``); read here and by :mod:`cliffkit.report`.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from ..errors import CliffkitError, ConfigError
from ._config import GridConfig, canonical_json
from ._runner import CELLS_DIR

__all__ = ["load_results"]


def _flatten_block(block: dict | None, prefix: str, row: dict) -> None:
    """``{"mae": .., "mae_ci": [lo, hi], "n": ..}`` -> ``prefix_mae``, ``prefix_mae_lo`` ..."""
    if not block:
        return
    for name, value in block.items():
        col = f"{prefix}{name}"
        if isinstance(value, list | tuple) and name.endswith("_ci") and len(value) == 2:
            row[f"{prefix}{name[:-3]}_lo"] = value[0]
            row[f"{prefix}{name[:-3]}_hi"] = value[1]
        elif isinstance(value, int | float | str | bool) or value is None:
            row[col] = value


def _flatten_metrics(metrics: dict | None, row: dict, prefix: str = "") -> None:
    if not metrics:
        return
    for key in ("n_train", "n_val", "n_test", "n_identical_partner", "split_checksum"):
        if key in metrics:
            row[f"{prefix}{key}"] = metrics[key]
    _flatten_block(metrics.get("overall"), prefix, row)
    for stratum, block in (metrics.get("strata") or {}).items():
        _flatten_block(block, f"{prefix}{stratum}_", row)
    _flatten_block({k: v for k, v in metrics.items()
                    if k.endswith(("gap", "gap_ci", "ratio", "ratio_ci", "_auc", "noise_sd"))},
                   prefix, row)
    _flatten_block(metrics.get("pairs"), f"{prefix}pair_", row)
    _flatten_block(metrics.get("moleculeace"), f"{prefix}moleculeace_", row)


@functools.lru_cache(maxsize=256)
def _split_log(path: str) -> tuple[str, ...]:
    try:
        return tuple(json.loads(Path(path).read_text(encoding="utf-8")).get("warnings") or ())
    except (OSError, ValueError):
        return ()


def _split_warnings(out_dir: Path, split_rel: str | None) -> list[str]:
    if not split_rel:
        return []
    split_path = out_dir / split_rel
    return [f"split: {w}" for w in _split_log(str(split_path.parent / "logs" / split_path.name))]


def _machine_label(env: dict | None) -> str | None:
    """One line for the machine a cell ran on: platform, cores, accelerator."""
    if not env:
        return None
    label = f"{env.get('platform', '?')}, {env.get('cpu_count', '?')} cores"
    if env.get("accelerator"):
        label += f", {env['accelerator']}"
    return label


def _predictions_path(out_dir: Path, rel: str | None) -> str | None:
    """A cell's predictions file: as written, else its gzip-compressed copy
    (``<name>.csv.gz``, how committed results keep them small; pandas reads either)."""
    if not rel:
        return None
    path = Path(out_dir) / rel
    gz = path.with_name(path.name + ".gz")
    return str(gz if not path.exists() and gz.exists() else path)


def load_results(out_dir: str | os.PathLike, *, grid_only: bool = False) -> Any:
    """All cell records of a results folder as one flat table (pandas DataFrame).

    One row per cell. Columns: ``key, status, dataset, target, subsample, split,
    backbone, loss, seed, seconds, cpu_seconds, error_type, error_message,
    predictions_path, lambda_trajectory`` (a list or None), ``warnings`` (the cell's and
    its split's, a list), ``started, finished`` (UTC, ISO 8601), ``machine`` (platform,
    cores and GPU of the run that wrote the cell), then the metrics: ``n_train, n_val, n_test,
    n_identical_partner`` (test cases whose partner has similarity 1.0), ``mae, mae_lo,
    mae_hi, rmse, r2``; per stratum ``{cliff,smooth,matched_smooth,
    intermediate,unsupported}_{n,mae,mae_lo,mae_hi,...}``; ``gap, gap_lo, gap_hi,
    ratio, ratio_lo, ratio_hi``; ``pair_n, pair_diff_mae, pair_direction_accuracy``;
    and the reference predictor's as ``ref_*`` with the same names.

    With ``grid_only=True``, only the cells of the grid in the folder's ``config.json``
    are kept (a folder reused after a parameter edit also holds cells made under the old
    settings), and ``table.attrs`` holds ``grid`` (the config dict, or None without a
    readable config.json), ``grid_source`` (the config's source, e.g. its TOML file),
    ``n_stale`` (cells left out), ``n_missing`` (cells of the grid with no result yet) and
    ``missing_cells`` (those cells: one dict each with ``key, dataset, target, split,
    backbone, loss, seed``, in the grid's order), so that a report of a partial grid lists
    them instead of dropping them silently; ``grid_problem`` is None, or a sentence saying
    that config.json is missing or unreadable (so completeness is unknown) for the report to
    show as a warning.

    A cell file that cannot be used (not readable, not valid JSON e.g. truncated, not a JSON
    object, or a field of the wrong type such as ``"cell": null`` or ``"seconds": "abc"``)
    is never dropped: it becomes a row with ``status == "unreadable"``, ``key`` its file
    name, ``error_type`` "unreadable cell file" and ``error_message`` "cells/<file>:
    <what is wrong>", so that a report lists it among the failed cells (one rule for every
    malformed cell; :mod:`benchmarks/publish_results` refuses to publish such a folder).

    Raises
    ------
    ConfigError
        ``out_dir`` holds no cell results.
    """
    table = _load_cells(Path(out_dir))
    if grid_only:
        table = _keep_grid_cells(table, Path(out_dir))
    return table


def _keep_grid_cells(table: Any, out_dir: Path) -> Any:
    path = out_dir / "config.json"
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
        grid = written["config"]
        cells = GridConfig.from_dict(grid, check_names=False).cells()
    except (OSError, ValueError, KeyError, TypeError, AttributeError, CliffkitError) as exc:
        if isinstance(exc, FileNotFoundError):
            why = "is missing"
        elif isinstance(exc, OSError):
            why = f"cannot be read ({exc.strerror or exc})"
        elif isinstance(exc, json.JSONDecodeError):
            why = f"is not valid JSON (truncated or corrupt?): {exc}"
        elif isinstance(exc, KeyError | TypeError | AttributeError):
            why = "holds no grid (no 'config' object)"
        else:
            why = f"holds a grid that cannot be read: {exc}"
        problem = (f"The grid definition {path.name} {why}: whether the grid is complete is "
                   "unknown (cells not run yet cannot be listed, cells made under other settings "
                   "cannot be told apart).")
        table.attrs.update(grid=None, grid_source="", n_stale=0, n_missing=0, missing_cells=[],
                           grid_problem=problem)
        return table
    keys = {c.key for c in cells}
    # an unreadable cell file is kept whatever its name: it is reported, never dropped
    stale = ~table["key"].isin(keys) & (table["status"] != UNREADABLE)
    kept = table[~stale].reset_index(drop=True)
    have = set(table["key"])
    missing = [{"key": c.key, "dataset": c.dataset, "target": c.target, "split": c.split,
                "backbone": c.backbone, "loss": c.loss, "seed": c.seed}
               for c in cells if c.key not in have]
    kept.attrs.update(grid=grid, grid_source=written.get("source", ""), grid_problem=None,
                      n_stale=int(stale.sum()), n_missing=len(missing), missing_cells=missing)
    return kept


#: ``status`` of a cell whose ``cells/<key>.json`` cannot be read (see :func:`load_results`).
UNREADABLE = "unreadable"

#: The cell record's fields and the JSON types each may hold (None: absent or null).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,), "status": (str,), "cell": (dict,), "metrics": (dict,), "error": (dict,),
    "environment": (dict,), "extra": (dict,), "warnings": (list,), "seconds": (int, float),
    "cpu_seconds": (int, float), "started": (str,), "finished": (str,), "predictions": (str,),
    "split": (str,),
}
_NESTED_DICTS = ("reference", "overall", "strata", "pairs", "moleculeace")
_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a number",
               float: "a number", bool: "true/false", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _read_cell(path: Path) -> tuple[dict | None, str | None]:
    """``(record, None)``, or ``(None, why it cannot be used)`` for a cell file that is
    unreadable, not JSON (e.g. truncated) or not shaped like a cell record."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or exc})"
    except ValueError as exc:
        return None, f"not valid JSON (truncated or corrupt?): {exc}"
    if not isinstance(rec, dict):
        return None, f"holds {_json_type(rec)}, not a cell record (a JSON object)"
    for name, types in _FIELD_TYPES.items():
        value = rec.get(name)
        if value is None:
            if name == "cell":
                return None, "has no 'cell' object (dataset, split, backbone, loss, seed)"
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            return None, (f"field {name!r} is {_json_type(value)} ({json.dumps(value)[:40]}), "
                          f"expected {_json_type(types[0]())}")
    for block in (rec.get("metrics") or {}, (rec.get("metrics") or {}).get("reference") or {}):
        for name in _NESTED_DICTS:
            value = block.get(name)
            if value is not None and not isinstance(value, dict):
                return None, f"metrics field {name!r} is {_json_type(value)}, expected an object"
    return rec, None


def _load_cells(out_dir: Path) -> Any:
    import pandas as pd

    folder = out_dir / CELLS_DIR
    # (a name starting with '.' is a write in progress, see _runner)
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith(".")) \
        if folder.is_dir() else []
    if not files:
        raise ConfigError(
            f"No results in {str(out_dir)!r} (no {CELLS_DIR}/*.json); run 'cliffkit bench' first."
        )
    rows = []
    for path in files:
        rec, problem = _read_cell(path)
        if problem is not None:  # reported, never dropped: see load_results
            rows.append({"key": path.stem, "status": UNREADABLE, "error_type": "unreadable cell file",
                         "error_message": f"{CELLS_DIR}/{path.name}: {problem}", "warnings": []})
            continue
        cell = rec.get("cell") or {}
        row: dict[str, Any] = {
            "key": rec.get("key", path.stem),
            "status": rec.get("status"),
            "dataset": cell.get("dataset"),
            "target": cell.get("target"),
            "subsample": cell.get("subsample"),
            "split": cell.get("split"),
            "backbone": cell.get("backbone"),
            "loss": cell.get("loss"),
            "seed": cell.get("seed"),
            "seconds": rec.get("seconds"),
            "cpu_seconds": rec.get("cpu_seconds"),
            "error_type": (rec.get("error") or {}).get("type"),
            "error_message": (rec.get("error") or {}).get("message"),
            "predictions_path": _predictions_path(out_dir, rec.get("predictions")),
            "lambda_trajectory": (rec.get("extra") or {}).get("lambda_trajectory"),
            "warnings": list(rec.get("warnings") or []) + _split_warnings(out_dir, rec.get("split")),
            "cell_json": canonical_json(cell),
            "started": rec.get("started"),
            "finished": rec.get("finished"),
            "machine": _machine_label(rec.get("environment")),
        }
        metrics = rec.get("metrics") or {}
        _flatten_metrics(metrics, row)
        _flatten_metrics(metrics.get("reference"), row, prefix="ref_")
        rows.append(row)
    return pd.DataFrame(rows)
