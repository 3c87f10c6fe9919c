"""The resumable runner, driven by fake split and cell functions (no training)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliffkit.bench import (
    CellResult,
    GridConfig,
    LocalExecutor,
    get_executor,
    load_results,
    run_grid,
)
from cliffkit.errors import ConfigError, UnknownNameError

CALLS: list[str] = []


class FakeSplit:
    def __init__(self, spec):
        self.spec = spec

    def save(self, path):
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.spec.to_dict(), fh)


def fake_split(spec):
    if spec.seed == 0:
        warnings.warn("cliff share 0.3 instead of 0.5", UserWarning, stacklevel=1)
    return FakeSplit(spec)


def fake_cell(cell, split_path):
    """Deterministic metrics from the seed; fails for the lgbm/cliff cells."""
    CALLS.append(cell.key)
    split = json.loads(split_path.read_text())
    assert split["method"] == cell.split and split["seed"] == cell.seed
    if cell.backbone == "lgbm" and cell.loss == "cliff":
        raise RuntimeError("boom: lgbm cannot")
    if cell.seed == 1:
        warnings.warn("only 2 cliff cases", UserWarning, stacklevel=1)
        warnings.warn("only 2 cliff cases", UserWarning, stacklevel=1)
    base = 1.0 + 0.1 * cell.seed
    metrics = {
        "n_test": 4,
        "overall": {"mae": base, "mae_ci": [base - 0.1, base + 0.1], "rmse": 2 * base, "r2": 0.5},
        "strata": {"cliff": {"n": 2, "mae": 1.5 * base}, "smooth": {"n": 2, "mae": base}},
        "gap": 0.5 * base, "ratio": 1.5, "ratio_ci": [1.2, 1.8],
        "pairs": {"n": 2, "diff_mae": 0.3, "direction_accuracy": 0.5},
        "reference": {"overall": {"mae": 2.0}, "strata": {"cliff": {"mae": 3.0}}, "ratio": 1.9},
    }
    preds = pd.DataFrame({"index": [0, 1, 2, 3], "y_true": [0.0, 1.0, 2.0, 3.0],
                          "y_pred": [0.5, 1.0, 2.5, 2.0]})
    return CellResult(metrics=metrics, predictions=preds, extra={"lambda_trajectory": [0.1, 0.2]})


def _config(**over):
    data = {
        "name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp", "lgbm"],
        "losses": ["plain", "cliff"], "datasets": [{"name": "esol", "targets": ["y"]}],
    }
    data.update(over)
    return GridConfig.from_dict(data, check_names=False)


def _run(cfg, out, **kw):
    return run_grid(cfg, out, show_progress=False, cell_fn=fake_cell, split_fn=fake_split, **kw)


def test_runs_every_cell_records_failures_and_resumes(tmp_path):
    CALLS.clear()
    cfg = _config()
    summary = _run(cfg, tmp_path)
    assert summary.n_cells == 8 and summary.n_ran == 8 and summary.n_skipped == 0
    # the two lgbm/cliff cells failed, and the grid went on past them
    assert summary.n_failed == 2 and len(CALLS) == 8
    for cell in cfg.cells():
        rec = json.loads((tmp_path / "cells" / f"{cell.key}.json").read_text())
        assert rec["cell"] == json.loads(cell.canonical_json())
        if cell.backbone == "lgbm" and cell.loss == "cliff":
            assert rec["status"] == "failed"
            assert rec["error"]["type"] == "RuntimeError"
            assert rec["error"]["message"] == "boom: lgbm cannot"
            assert "Traceback" in rec["error"]["traceback"] and "fake_cell" in rec["error"]["traceback"]
            assert rec["predictions"] is None
        else:
            assert rec["status"] == "ok"
            assert (tmp_path / rec["predictions"]).is_file()
            # warnings raised in a cell are kept in its record (once each), not printed
            assert rec["warnings"] == (["UserWarning: only 2 cliff cases"] if cell.seed == 1 else [])
    # one split file per (dataset, target, method, seed)
    assert len(list((tmp_path / "splits").glob("*.json"))) == 2

    # rerun: finished cells are skipped; failed ones are retried
    CALLS.clear()
    again = _run(cfg, tmp_path)
    assert again.n_skipped == 6 and again.n_ran == 2
    assert sorted(CALLS) == sorted(summary.failed)
    # and with retry_failed=False nothing runs at all
    CALLS.clear()
    third = _run(cfg, tmp_path, retry_failed=False)
    assert third.n_ran == 0 and CALLS == []


def test_changed_parameter_makes_new_cells_only(tmp_path):
    CALLS.clear()
    _run(_config(backbones=["mlp"]), tmp_path)
    CALLS.clear()
    summary = _run(_config(backbones=["mlp"], loss_params={"cliff": {"lam": 1.0}}), tmp_path)
    assert summary.n_ran == 2 and all("-mlp-cliff-" in k for k in CALLS)


def _cell_with_backbone(cell, split_path):
    CALLS.append(cell.key)
    result = fake_cell(cell, split_path)
    result.extra["backbone"] = f"{cell.backbone.upper()}(seed={cell.seed}, width=128)"
    return result


def test_cell_made_with_other_resolved_parameters_runs_again(tmp_path):
    """A finished cell whose recorded backbone differs from what it would build now
    (a default changed; the cell key hashes only the explicit parameters) reruns."""
    cfg = _config(backbones=["mlp"])
    width = {"value": 128}

    def signature(cell):
        return f"{cell.backbone.upper()}(seed={cell.seed}, width={width['value']})"

    def run():
        return run_grid(cfg, tmp_path, show_progress=False, cell_fn=_cell_with_backbone,
                        split_fn=fake_split, signature_fn=signature)

    first = run()
    assert first.n_ran == 4 and first.n_outdated == 0
    CALLS.clear()
    same = run()
    assert same.n_ran == 0 and same.n_skipped == 4 and CALLS == []
    width["value"] = 64  # the default changed: every recorded backbone is outdated
    CALLS.clear()
    changed = run()
    assert changed.n_outdated == 4 and changed.n_ran == 4 and changed.n_skipped == 0
    assert len(CALLS) // 2 == 4  # each cell ran once (fake_cell records the key again)
    assert "4 finished before with other backbone parameters" in str(changed)
    # a cell without a recorded backbone (custom cell function) is never outdated
    CALLS.clear()
    plain = run_grid(cfg, tmp_path / "plain", show_progress=False, cell_fn=fake_cell,
                     split_fn=fake_split)
    again = run_grid(cfg, tmp_path / "plain", show_progress=False, cell_fn=fake_cell,
                     split_fn=fake_split, signature_fn=signature)
    assert plain.n_ran == 4 and again.n_skipped == 4 and again.n_outdated == 0

    # a backbone that cannot be built now (a missing extra) keeps its finished result
    def broken(cell):
        raise ImportError("chemprop is not installed")

    kept = run_grid(cfg, tmp_path, show_progress=False, cell_fn=_cell_with_backbone,
                    split_fn=fake_split, signature_fn=broken)
    assert kept.n_skipped == 4 and kept.n_outdated == 0


def test_backbone_signature_holds_resolved_defaults():
    from cliffkit.bench._cell import backbone_signature
    from cliffkit.models import get_backbone

    cell = _config(backbones=["gin"]).cells()[0]
    sig = backbone_signature(cell)
    # every default is spelled out, and the cell's seed replaces random_state
    expected = get_backbone("gin", random_state=cell.seed, show_progress=False)
    assert sig == repr(expected)
    assert "hidden_channels=" in sig and f"random_state={cell.seed}" in sig


def test_interrupt_loses_only_the_running_cell(tmp_path):
    CALLS.clear()
    cfg = _config(backbones=["mlp"])
    state = {"n": 0}

    def interrupting(cell, split_path):
        state["n"] += 1
        if state["n"] == 3:
            raise KeyboardInterrupt
        return fake_cell(cell, split_path)

    with pytest.raises(KeyboardInterrupt):
        run_grid(cfg, tmp_path, show_progress=False, cell_fn=interrupting, split_fn=fake_split)
    files = sorted(p.name for p in (tmp_path / "cells").iterdir())
    assert len([f for f in files if f.endswith(".json")]) == 2
    assert not [f for f in files if f.startswith(".")]  # no temporary leftovers
    CALLS.clear()
    summary = _run(cfg, tmp_path)
    assert summary.n_skipped == 2 and summary.n_ran == 2


def test_interrupt_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    cfg = _config(backbones=["mlp"], losses=["plain"], seeds=[0])

    def broken_to_csv(self, fh, **kw):
        fh.write("index,y_true\n0,")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken_to_csv)
    with pytest.raises(KeyboardInterrupt):
        _run(cfg, tmp_path)
    assert list((tmp_path / "cells").iterdir()) == []
    monkeypatch.undo()
    summary = _run(cfg, tmp_path)
    assert summary.n_ran == 1
    key = cfg.cells()[0].key
    frame = pd.read_csv(tmp_path / "cells" / f"{key}.predictions.csv")
    assert frame["y_pred"].tolist() == [0.5, 1.0, 2.5, 2.0]


def test_failed_split_fails_its_cells_and_others_go_on(tmp_path):
    def split_fails_seed1(spec):
        if spec.seed == 1:
            raise ValueError("no cliffs at these thresholds")
        return FakeSplit(spec)

    cfg = _config(backbones=["mlp"], losses=["plain"])
    summary = run_grid(cfg, tmp_path, show_progress=False, cell_fn=fake_cell, split_fn=split_fails_seed1)
    assert summary.n_failed == 1
    table = load_results(tmp_path)
    bad = table[table["status"] == "failed"].iloc[0]
    assert bad["seed"] == 1 and bad["error_type"] == "ValueError"
    assert "no cliffs at these thresholds" in bad["error_message"]


def test_load_results_flattens_metrics(tmp_path):
    _run(_config(backbones=["mlp"], losses=["plain"]), tmp_path)
    table = load_results(tmp_path).sort_values("seed")
    assert table["mae"].tolist() == pytest.approx([1.0, 1.1])
    assert table["mae_lo"].tolist() == pytest.approx([0.9, 1.0])
    assert table["cliff_mae"].tolist() == pytest.approx([1.5, 1.65])
    assert table["ratio_hi"].tolist() == pytest.approx([1.8, 1.8])
    assert table["pair_diff_mae"].tolist() == pytest.approx([0.3, 0.3])
    assert table["ref_ratio"].tolist() == pytest.approx([1.9, 1.9])
    assert table["ref_cliff_mae"].tolist() == pytest.approx([3.0, 3.0])
    assert table["lambda_trajectory"].iloc[0] == [0.1, 0.2]
    assert table["warnings"].tolist() == [["split: UserWarning: cliff share 0.3 instead of 0.5"],
                                          ["UserWarning: only 2 cliff cases"]]
    assert np.isnan(table["seconds"]).sum() == 0
    with pytest.raises(ConfigError, match="No results in"):
        load_results(tmp_path / "empty")


def test_load_results_reads_gzipped_predictions(tmp_path):
    """Committed results keep their predictions as <cell>.predictions.csv.gz: the table
    points at the compressed copy when the CSV is gone, and pandas reads it back."""
    import gzip
    import shutil

    _run(_config(backbones=["mlp"], losses=["plain"], seeds=[0]), tmp_path)
    path = Path(load_results(tmp_path)["predictions_path"].iloc[0])
    before = pd.read_csv(path)
    with open(path, "rb") as src, gzip.open(f"{path}.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    path.unlink()
    gz = load_results(tmp_path)["predictions_path"].iloc[0]
    assert gz == f"{path}.gz"
    pd.testing.assert_frame_equal(pd.read_csv(gz), before)


def test_load_results_grid_only_keeps_the_grid_of_config_json(tmp_path):
    _run(_config(backbones=["mlp"], losses=["plain"], backbone_params={"mlp": {"epochs": 3}}),
         tmp_path)
    new = _config(backbones=["mlp"], losses=["plain"], seeds=[0, 1, 2])
    _run(new, tmp_path)
    keys = [c.key for c in new.cells()]
    (tmp_path / "cells" / f"{keys[2]}.json").unlink()
    everything = load_results(tmp_path)
    grid = load_results(tmp_path, grid_only=True)
    assert len(everything) == 4  # 2 cells of the old settings + 2 of the new grid
    assert sorted(grid["key"]) == sorted(keys[:2])
    assert grid.attrs["n_stale"] == 2 and grid.attrs["n_missing"] == 1
    assert grid.attrs["grid"]["seeds"] == [0, 1, 2]
    # no config.json: nothing to filter by, every cell is kept
    (tmp_path / "config.json").unlink()
    kept = load_results(tmp_path, grid_only=True)
    assert len(kept) == 4 and kept.attrs["grid"] is None


def test_executor_registry():
    ex = get_executor("local", n_jobs=1)
    assert isinstance(ex, LocalExecutor) and repr(ex) == "LocalExecutor(n_jobs=1)"
    assert list(ex.map_unordered(lambda x: x * 2, [1, 2])) == [(1, 2), (2, 4)]
    with pytest.raises(UnknownNameError, match=r"Unknown executor 'lokal'.*Did you mean 'local'"):
        get_executor("lokal")


def test_process_pool_gives_the_same_results(tmp_path):
    cfg = _config(backbones=["mlp"], losses=["plain"])
    run_grid(cfg, tmp_path / "a", show_progress=False, cell_fn=fake_cell, split_fn=fake_split)
    summary = run_grid(cfg, tmp_path / "b", show_progress=False, cell_fn=fake_cell,
                       split_fn=fake_split, executor_params={"n_jobs": 2})
    assert summary.n_ran == 2 and summary.n_failed == 0
    a = load_results(tmp_path / "a").sort_values("key").reset_index(drop=True)
    b = load_results(tmp_path / "b").sort_values("key").reset_index(drop=True)
    cols = ["key", "status", "mae", "cliff_mae", "ratio"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


_SLOW_CELLS = '''
import os, time
from pathlib import Path

def split_fn(spec):
    from test_runner import FakeSplit
    return FakeSplit(spec)

def slow_cell(cell, split_path):
    Path(os.environ["PID_DIR"], str(os.getpid())).write_text("running")
    time.sleep(120)
'''

_DRIVER = '''
import sys
from slow_cells import slow_cell, split_fn
from cliffkit.bench import GridConfig, run_grid
cfg = GridConfig.from_dict({"name": "slow", "seeds": [0, 1], "splits": ["cliff"],
    "backbones": ["mlp"], "losses": ["plain"], "datasets": [{"name": "esol", "targets": ["y"]}]},
    check_names=False)
if __name__ == "__main__":
    import signal
    # a shell that starts a job in the background makes it ignore SIGINT; undo that here
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run_grid(cfg, sys.argv[1], show_progress=False, cell_fn=slow_cell, split_fn=split_fn,
             executor_params={"n_jobs": 2})
'''


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_stopping_the_driver_stops_the_workers(tmp_path, sig):
    """Signalling only the driver (not its process group) ends the running cells at once."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    (tmp_path / "slow_cells.py").write_text(_SLOW_CELLS)
    (tmp_path / "driver.py").write_text(
        _DRIVER if sig == "SIGINT" else _DRIVER.replace(
            "if __name__", "from cliffkit.cli._bench import _sigterm_as_interrupt\nif __name__"
        ).replace("    run_grid(", "    with _sigterm_as_interrupt():\n        run_grid("))
    assert sig == "SIGINT" or "_sigterm_as_interrupt():" in (tmp_path / "driver.py").read_text()
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    here = str(Path(__file__).resolve().parent)
    env = {**os.environ, "PID_DIR": str(pid_dir),
           "PYTHONPATH": os.pathsep.join([str(tmp_path), here, os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "driver.py"), str(tmp_path / "res")],
                            env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while len(list(pid_dir.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(p.name) for p in pid_dir.iterdir()]
    assert len(workers) == 2, proc.stderr.read().decode() if proc.poll() is not None else "no cells"
    t0 = time.monotonic()
    proc.send_signal(getattr(signal, sig))
    proc.wait(timeout=30)
    assert time.monotonic() - t0 < 20  # not the 120 s the cells would take
    time.sleep(0.5)
    for pid in workers:
        status = Path(f"/proc/{pid}/status")
        alive = status.exists() and "zombie" not in status.read_text()
        assert not alive, f"worker {pid} still running after {sig}"
    assert not list((tmp_path / "res" / "cells").glob("*.json"))  # no cell was recorded


def test_cell_warnings_leave_out_other_libraries_deprecations(tmp_path):
    def cell(cell, split_path):
        warnings.warn_explicit("`torch.jit.script` is deprecated", DeprecationWarning,
                               "/site-packages/torch_geometric/nn/conv.py", 1)
        warnings.warn("only 2 cliff cases", UserWarning, stacklevel=1)
        return fake_cell(cell, split_path)

    run_grid(_config(backbones=["mlp"], losses=["plain"], seeds=[0]), tmp_path, show_progress=False,
             cell_fn=cell, split_fn=fake_split)
    table = load_results(tmp_path)
    assert table.loc[0, "warnings"][0] == "UserWarning: only 2 cliff cases"
    assert not any("jit" in w for w in table.loc[0, "warnings"])


def test_wrapped_loss_cell_is_not_outdated_on_rerun(tmp_path):
    """A loss that wraps the model (plain-ensemble) records the base backbone's signature,
    so a rerun skips the finished cell instead of running it again every time."""
    from cliffkit.bench._cell import backbone_signature

    cfg = GridConfig.from_dict({
        "name": "wrapped", "seeds": [0], "splits": ["random"], "backbones": ["lgbm"],
        "losses": ["plain-ensemble"],
        "datasets": [{"name": "esol", "targets": ["logS"], "subsample": 150}],
        "backbone_params": {"lgbm": {"n_estimators": 20}},
        "loss_params": {"plain-ensemble": {"wrapper_params": {"n_members": 2}}},
        "evaluation": {"n_bootstrap": 0},
    })
    first = run_grid(cfg, tmp_path, show_progress=False)
    assert first.n_ran == 1 and first.n_failed == 0, first.failed
    rec = json.loads(next((tmp_path / "cells").glob("*.json")).read_text())
    assert rec["extra"]["backbone"] == backbone_signature(cfg.cells()[0])
    assert rec["extra"]["model"] != rec["extra"]["backbone"]  # the wrapper's own repr
    assert isinstance(rec["extra"]["fitted"], dict)  # fitted numbers (e.g. a blend weight)
    import torch

    # in-process cell: the thread count torch has here (results depend on it)
    assert rec["extra"]["torch_threads"] == torch.get_num_threads() >= 1
    again = run_grid(cfg, tmp_path, show_progress=False)
    assert again.n_ran == 0 and again.n_skipped == 1 and again.n_outdated == 0


def _ok_cell(cell, split_path):
    """A finished cell without training (the data check is what is tested)."""
    preds = pd.DataFrame({"index": [0], "y_true": [0.0], "y_pred": [0.0]})
    return CellResult(metrics={"n_test": 1, "overall": {"mae": 0.0}}, predictions=preds)


def test_resume_refuses_a_data_file_changed_since(tmp_path, data_dir):
    """Issue trial: a user file edited after its grid ran.

    Cell keys hash the settings, not the data, so before the fix the finished cells
    (computed on the old rows) were 'already finished' for the new file and its report
    showed them without a word. The folder's split files record the data checksum.
    """
    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:80][["smiles", "exp"]]
    data = tmp_path / "mine.csv"
    src.to_csv(data, index=False)
    cfg = GridConfig.from_dict(
        {"name": "mine", "seeds": [0], "splits": ["random"], "backbones": ["mlp"],
         "losses": ["plain"],
         "datasets": [{"name": str(data), "smiles_col": "smiles", "targets": ["exp"]}]},
        check_names=False)
    out = tmp_path / "res"
    assert run_grid(cfg, out, show_progress=False, cell_fn=_ok_cell).n_ran == 1
    assert run_grid(cfg, out, show_progress=False, cell_fn=_ok_cell).n_skipped == 1
    src.loc[:9, "exp"] += 1.0  # ten labels corrected in the file
    src.to_csv(data, index=False)
    with pytest.raises(ConfigError, match=r"'.*res' was made from other data for .*mine.csv / "
                                          r"exp: its split file splits/.*\.json records data "
                                          r"checksum"):
        run_grid(cfg, out, show_progress=False, cell_fn=_ok_cell)
    # a new folder runs on the new data
    assert run_grid(cfg, tmp_path / "res2", show_progress=False, cell_fn=_ok_cell).n_ran == 1


def test_data_warnings_are_recorded_for_every_split_of_cached_data(tmp_path, data_dir):
    """Review h34 f5: the data loads are cached per process, so a load warning (rows
    dropped) was recorded only by the first split that read the file; the report's
    Warnings table then counted 1 of the 2 cells that use those rows."""
    from cliffkit.bench._cell import _load_full, _load_task
    from cliffkit.report import build_report

    src = pd.read_csv(data_dir / "lipophilicity.csv").iloc[:150][["smiles", "exp"]]
    src.loc[::3, "smiles"] = "not_a_smiles"
    data = tmp_path / "bad.csv"
    src.to_csv(data, index=False)
    _load_full.cache_clear()
    _load_task.cache_clear()
    cfg = GridConfig.from_dict(
        {"name": "w", "seeds": [0], "splits": ["random", "scaffold"], "backbones": ["mlp"],
         "losses": ["plain"],
         "datasets": [{"name": str(data), "smiles_col": "smiles", "targets": ["exp"]}]},
        check_names=False)
    assert run_grid(cfg, tmp_path / "res", show_progress=False, cell_fn=_ok_cell).n_ran == 2
    table = load_results(tmp_path / "res")
    for ws in table["warnings"]:
        data_ws = [w for w in ws if "dropped 50 of 150 rows" in w]
        assert len(data_ws) == 1 and data_ws[0].startswith("split: DataWarning"), ws
    (sec,) = [s for s in build_report(table, figures=False).iter_items("section")
              if s.title == "Warnings"]
    (tab,) = [i for i in sec.items if i.kind == "table"]
    assert [r[1] for r in tab.rows if "dropped 50 of 150 rows" in r[0]] == [2]
