"""The resumable grid runner.

Layout of an output folder::

    out_dir/
      config.json                       the resolved grid of the latest run
      splits/<split-key>.json           one split per (dataset, target, method, seed)
      splits/logs/<split-key>.json      its timing and warnings
      cells/<cell-key>.json             status, metrics, error, warnings, timing: the commit marker
      cells/<cell-key>.predictions.csv  per test molecule (written before the .json)

Every file is written atomically (temporary file + rename). A cell counts as
finished when its ``.json`` exists with ``status == "ok"`` and, for the real cell
function, its recorded backbone (``extra["backbone"]``, the ``repr`` with every
resolved parameter) is the one the cell would build now; a rerun skips it. An
interrupt loses at most the cells that were running. A cell that raises is written
with ``status == "failed"`` and its error (type, message, traceback); a rerun tries it
again (``retry_failed=True``).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..utils import atomic_write, atomic_write_text
from ._config import Cell, GridConfig, SplitSpec, canonical_json, load_config
from ._executor import Executor, get_executor

__all__ = ["CellResult", "GridSummary", "cell_status", "run_grid"]

CELLS_DIR = "cells"
SPLITS_DIR = "splits"


@dataclass
class CellResult:
    """What a cell function returns.

    Attributes
    ----------
    metrics : dict
        The metrics schema of :func:`cliffkit.bench.load_results` (``overall``,
        ``strata``, ``gap``, ``ratio``, ``pairs``, ``reference`` ...).
    predictions : pandas.DataFrame or None
        One row per test molecule.
    extra : dict
        Anything else worth keeping (``lambda_trajectory``, fit times ...).
    """

    metrics: dict
    predictions: Any = None
    extra: dict = field(default_factory=dict)


@dataclass
class GridSummary:
    """What :func:`run_grid` did."""

    out_dir: Path
    n_cells: int
    n_skipped: int
    n_ran: int
    n_failed: int
    failed: list[str]
    seconds: float
    n_outdated: int = 0

    def __str__(self) -> str:
        outdated = ""
        if self.n_outdated:
            outdated = (f" ({self.n_outdated} finished before with other backbone parameters "
                        "and run again)")
        return (
            f"{self.n_cells} cell{'' if self.n_cells == 1 else 's'}: {self.n_skipped} already "
            f"finished, {self.n_ran} run"
            f"{outdated}, {self.n_failed} failed; {self.seconds:.1f} s; results in {self.out_dir}"
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _environment() -> dict:
    from .._version import __version__

    return {
        "cliffkit": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "accelerator": _accelerator(),
    }


def _accelerator() -> str | None:
    """The GPU torch cells run on (its name), or None for CPU only."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        return None
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return None


def _error_record(exc: BaseException) -> dict:
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    }


def _json_default(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def _clean_nan(obj: Any) -> Any:
    """Replace non-finite floats by None so the JSON is strict."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean_nan(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean_nan(v) for v in obj]
    return obj


def _dumps(record: dict) -> str:
    text = json.dumps(record, default=_json_default, indent=1, sort_keys=False)
    # numpy floats became float/None above; python floats may still be nan/inf
    return json.dumps(_clean_nan(json.loads(text)), indent=1, allow_nan=False) + "\n"


# ---------------------------------------------------------------------------------
# task wrappers (module level so that process pools and Ray can pickle them)
# ---------------------------------------------------------------------------------
def _warning_texts(caught) -> list[str]:
    """Unique warning lines, without other libraries' deprecation notices (Python hides
    those by default: they are for developers, not about this cell's data or results)."""
    seen: list[str] = []
    for w in caught:
        if (issubclass(w.category, DeprecationWarning | PendingDeprecationWarning)
                and f"{os.sep}cliffkit{os.sep}" not in str(w.filename)):
            continue
        text = f"{w.category.__name__}: {w.message}"
        if text not in seen:
            seen.append(text)
    return seen


def _split_task(payload: tuple) -> dict:
    split_fn, spec, path = payload
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = split_fn(spec)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.json")
        try:
            result.save(tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        meta = {"spec": spec.to_dict(), "seconds": time.perf_counter() - t0,
                "warnings": _warning_texts(caught)}
        atomic_write_text(path.parent / "logs" / f"{path.stem}.json", _dumps(meta))
        return {"status": "ok", "seconds": meta["seconds"]}
    except Exception as exc:  # noqa: BLE001 - recorded, the grid goes on
        return {"status": "failed", "error": _error_record(exc), "seconds": time.perf_counter() - t0}


def _cell_task(payload: tuple) -> dict:
    cell_fn, cell, split_path = payload
    started = _now()
    t0 = time.perf_counter()
    c0 = time.process_time()
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = cell_fn(cell, Path(split_path))
        if not isinstance(result, CellResult):
            raise TypeError(f"cell function returned {type(result).__name__}, not CellResult")
        return {
            "status": "ok",
            "metrics": result.metrics,
            "extra": result.extra,
            "predictions": result.predictions,
            "started": started,
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
            "warnings": _warning_texts(caught),
        }
    except Exception as exc:  # noqa: BLE001 - recorded, the grid goes on
        return {
            "status": "failed",
            "error": _error_record(exc),
            "started": started,
            "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.process_time() - c0,
            "warnings": _warning_texts(caught or []),
        }


# ---------------------------------------------------------------------------------
# status and writing
# ---------------------------------------------------------------------------------
def _cell_record(out_dir: str | os.PathLike, key: str) -> dict | None:
    path = Path(out_dir) / CELLS_DIR / f"{key}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def cell_status(out_dir: str | os.PathLike, key: str) -> str | None:
    """``"ok"``, ``"failed"`` or None (not run, or an unreadable file)."""
    record = _cell_record(out_dir, key)
    return None if record is None else record.get("status")


def _is_outdated(record: dict, cell: Cell, signature_fn: Callable[[Cell], str],
                 cache: dict[str, str | None]) -> bool:
    """A finished cell whose recorded backbone is not the one it would build now."""
    recorded = (record.get("extra") or {}).get("backbone")
    if not isinstance(recorded, str):
        return False
    k = canonical_json([cell.backbone, cell.backbone_params, cell.seed])
    if k not in cache:
        try:
            cache[k] = signature_fn(cell)
        except Exception:  # noqa: BLE001 - e.g. a missing extra: keep the finished result
            cache[k] = None
    return cache[k] is not None and recorded != cache[k]


def _write_cell(out_dir: Path, cell: Cell, outcome: dict, split_key: str, environment: dict) -> None:
    cells = out_dir / CELLS_DIR
    key = cell.key
    pred_rel = None
    predictions = outcome.get("predictions")
    if outcome["status"] == "ok" and predictions is not None:
        pred_rel = f"{CELLS_DIR}/{key}.predictions.csv"
        with atomic_write(out_dir / pred_rel, "w", newline="") as fh:
            predictions.to_csv(fh, index=False, lineterminator="\n")
    record = {
        "key": key,
        "status": outcome["status"],
        "cell": cell.to_dict(),
        "split": f"{SPLITS_DIR}/{split_key}.json",
        "predictions": pred_rel,
        "metrics": outcome.get("metrics"),
        "extra": outcome.get("extra", {}),
        "error": outcome.get("error"),
        "started": outcome.get("started"),
        "finished": _now(),
        "seconds": outcome.get("seconds"),
        "cpu_seconds": outcome.get("cpu_seconds"),
        "warnings": outcome.get("warnings", []),
        "environment": environment,
    }
    atomic_write_text(cells / f"{key}.json", _dumps(record))


def _clean_stale_tmp(out_dir: Path) -> None:
    for sub in (CELLS_DIR, SPLITS_DIR):
        folder = out_dir / sub
        if folder.is_dir():
            for p in [*folder.glob(".*.tmp"), *folder.glob(".*.tmp.json")]:
                try:
                    p.unlink()
                except OSError:
                    pass


def _default_cell_fn():
    from ._cell import run_cell

    return run_cell


def _default_signature_fn():
    from ._cell import backbone_signature

    return backbone_signature


def _default_split_fn():
    from ._cell import compute_split

    return compute_split


def _default_checksum_fn():
    from ._cell import task_checksum

    return task_checksum


def _check_data_unchanged(out_dir: Path, cells: list[Cell],
                          checksum_fn: Callable[[SplitSpec], str]) -> None:
    """Refuse a results folder whose splits were made from other data than the grid's now.

    Cell keys hash the grid's settings, not the data: a user file edited after a grid ran
    would otherwise have its finished cells (computed on the old rows) reported as results
    of the new file, and its unfinished cells fail one by one on the old split files.
    """
    seen: set[tuple] = set()
    for cell in cells:
        spec = cell.split_spec
        task = (spec.dataset, spec.target, spec.subsample, spec.subsample_seed, spec.smiles_col)
        path = out_dir / SPLITS_DIR / f"{spec.key}.json"
        if task in seen or not path.is_file():
            continue
        try:
            recorded = json.loads(path.read_text(encoding="utf-8"))["dataset"]["checksum"]
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable split file is recomputed by its cells' errors
        seen.add(task)
        now = checksum_fn(spec)
        if isinstance(recorded, str) and now != recorded:
            raise ConfigError(
                f"Results folder {str(out_dir)!r} was made from other data for "
                f"{spec.dataset} / {spec.target}: its split file {SPLITS_DIR}/{path.name} records "
                f"data checksum {recorded[:12]}…, the data give {now[:12]}… now (the file changed "
                "after the grid ran), so its finished cells are not results of these data; "
                "use a new -o folder, or delete this one to recompute."
            )


# ---------------------------------------------------------------------------------
# the runner
# ---------------------------------------------------------------------------------
def run_grid(
    config: GridConfig | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    executor: str | Executor = "local",
    show_progress: bool = True,
    retry_failed: bool = True,
    executor_params: dict | None = None,
    cell_fn: Callable[[Cell, Path], CellResult] | None = None,
    split_fn: Callable[[SplitSpec], Any] | None = None,
    record_config: GridConfig | None = None,
    signature_fn: Callable[[Cell], str] | None = None,
    checksum_fn: Callable[[SplitSpec], str] | None = None,
) -> GridSummary:
    """Run every unfinished cell of ``config``, writing results under ``out_dir``.

    Parameters
    ----------
    config : GridConfig or str or path
        A validated config, a shipped config name or a config file.
    out_dir : path
        Output folder; created if needed. Reusing it resumes the grid.
    executor : str or Executor, default="local"
        Where tasks run (see :func:`cliffkit.bench.get_executor`).
    show_progress : bool, default=True
        A progress bar over the whole grid (hidden when stderr is not a terminal).
    retry_failed : bool, default=True
        Run cells again that failed in an earlier run.
    executor_params : dict, optional
        Passed to the executor (``{"n_jobs": 2}``).
    cell_fn, split_fn : callable, optional
        Replace the real work (tests, custom pipelines). ``split_fn(spec)`` returns
        an object with ``save(path)``; ``cell_fn(cell, split_path)`` returns a
        :class:`CellResult`. Both must be picklable for a process pool.
    record_config : GridConfig, optional
        The grid written to ``config.json`` (default: ``config``): the whole grid when
        ``config`` is only part of it, so that the report still covers all of it.
    checksum_fn : callable, optional
        ``checksum_fn(split_spec) -> str``, the data checksum of a split's task, compared
        with the one recorded in the folder's existing split files; a difference (the data
        file changed after the grid ran) is a :class:`ConfigError` before anything runs.
        Default: :func:`cliffkit.bench._cell.task_checksum` with the real split function,
        no check with a custom ``split_fn``.
    signature_fn : callable, optional
        ``signature_fn(cell) -> str``, compared with a finished cell's recorded
        ``extra["backbone"]``; a cell that differs is run again (a backbone default
        changed since). Default: :func:`cliffkit.bench._cell.backbone_signature` with
        the real cell function, no check with a custom ``cell_fn``.

    Returns
    -------
    GridSummary

    Raises
    ------
    ConfigError
        ``out_dir`` is a file, or its split files were made from other data (see
        ``checksum_fn``).
    """
    from tqdm.auto import tqdm

    if not isinstance(config, GridConfig):
        config = load_config(config)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"Output path {str(out_dir)!r} exists and is not a folder; choose another -o.")
    if checksum_fn is None and split_fn is None:
        checksum_fn = _default_checksum_fn()
    if checksum_fn is not None:
        _check_data_unchanged(out_dir, config.cells(), checksum_fn)
    (out_dir / CELLS_DIR).mkdir(parents=True, exist_ok=True)
    (out_dir / SPLITS_DIR).mkdir(parents=True, exist_ok=True)
    _clean_stale_tmp(out_dir)
    atomic_write_text(
        out_dir / "config.json",
        json.dumps({"config": (record_config or config).to_dict(), "source": config.source,
                    "written": _now()},
                   indent=1) + "\n",
    )
    if signature_fn is None and cell_fn is None:
        signature_fn = _default_signature_fn()
    cell_fn = cell_fn or _default_cell_fn()
    split_fn = split_fn or _default_split_fn()
    ex = get_executor(executor, **(executor_params or {}))
    environment = _environment()
    environment["executor"] = repr(ex)

    t_start = time.perf_counter()
    cells = config.cells()
    todo = []
    n_skipped = 0
    n_outdated = 0
    signatures: dict[str, str | None] = {}
    for cell in cells:
        record = _cell_record(out_dir, cell.key)
        status = None if record is None else record.get("status")
        if (status == "ok" and signature_fn is not None
                and _is_outdated(record, cell, signature_fn, signatures)):
            n_outdated += 1
            todo.append(cell)
        elif status == "ok" or (status == "failed" and not retry_failed):
            n_skipped += 1
        else:
            todo.append(cell)
    specs: dict[str, SplitSpec] = {}
    for cell in todo:
        spec = cell.split_spec
        specs.setdefault(spec.key, spec)
    split_todo = [s for k, s in specs.items()
                  if not (out_dir / SPLITS_DIR / f"{k}.json").is_file()]

    disable = (not show_progress) or not sys.stderr.isatty()
    bar = tqdm(
        total=len(split_todo) + len(todo),
        desc=f"grid {config.name}",
        unit="task",
        disable=disable,
        dynamic_ncols=True,
    )
    split_errors: dict[str, dict] = {}
    failed: list[str] = []
    n_ran = 0
    try:
        with ex:
            # 1. splits, once each
            payloads = [(split_fn, s, str(out_dir / SPLITS_DIR / f"{s.key}.json")) for s in split_todo]
            for (_, spec, _), outcome in ex.map_unordered(_split_task, payloads):
                if outcome["status"] != "ok":
                    split_errors[spec.key] = outcome["error"]
                bar.set_postfix_str(f"split {spec.key[:40]}")
                bar.update(1)
            # 2. cells; a cell whose split failed is recorded as failed without running
            runnable = []
            for cell in todo:
                skey = cell.split_spec.key
                if skey in split_errors:
                    err = dict(split_errors[skey])
                    err["message"] = f"split {skey} failed: {err['message']}"
                    _write_cell(out_dir, cell, {"status": "failed", "error": err, "started": _now(),
                                                "seconds": 0.0}, skey, environment)
                    failed.append(cell.key)
                    bar.update(1)
                else:
                    runnable.append((cell_fn, cell, str(out_dir / SPLITS_DIR / f"{skey}.json")))
            # seed-major order: an interrupted grid holds whole seeds, not whole datasets
            runnable.sort(key=lambda task: task[1].seed)
            for (_, cell, _), outcome in ex.map_unordered(_cell_task, runnable):
                _write_cell(out_dir, cell, outcome, cell.split_spec.key, environment)
                n_ran += 1
                if outcome["status"] != "ok":
                    failed.append(cell.key)
                bar.set_postfix_str(f"{len(failed)} failed" if failed else cell.key[:40])
                bar.update(1)
    finally:
        bar.close()
    return GridSummary(
        out_dir=out_dir,
        n_cells=len(cells),
        n_skipped=n_skipped,
        n_ran=n_ran,
        n_failed=len(failed),
        failed=failed,
        seconds=time.perf_counter() - t_start,
        n_outdated=n_outdated,
    )


# ---------------------------------------------------------------------------------
# reading results back
# ---------------------------------------------------------------------------------
_STRATA = ("cliff", "smooth", "matched_smooth", "intermediate", "unsupported")
