"""benchmarks/qm9_gnn_grid.py, the GPU script of issue 20, on CPU: a QM9 subsample, one epoch
of gin, dmpnn and schnet (DFT geometries), through the bench runner; resume and budget."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "qm9_gnn_grid.py"


def _script():
    spec = importlib.util.spec_from_file_location("qm9_gnn_grid", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_gnn_grid_runs_resumes_and_keeps_to_its_budget(tmp_path, data_dir):
    from cliffkit.bench import load_results

    mod = _script()
    out = tmp_path / "gnn"
    args = ["--subsample", "400", "--epochs", "1", "--targets", "gap", "--seeds", "0",
            "--losses", "plain", "--splits", "cliff", "--budget-s", "3600", "-o", str(out)]
    assert mod.main(args) == 0
    table = load_results(out, grid_only=True)
    assert sorted(table["backbone"]) == ["dmpnn", "gin", "schnet"]
    assert (table["status"] == "ok").all() and (table["n_test"] > 0).all()
    grid = json.loads((out / "config.json").read_text())["config"]
    assert grid["name"] == "qm9-full-gnn" and grid["datasets"][0]["subsample"] == 400
    assert all(p["epochs"] == 1 for p in grid["backbone_params"].values())
    schnet = json.loads(next((out / "cells").glob("*schnet*.json")).read_text())
    assert "epochs=1" in schnet["extra"]["backbone"]
    assert not any("geometr" in w.lower() for w in schnet["warnings"])  # DFT, no fallback

    # a second run resumes: nothing left to do
    assert mod.main(args) == 0
    run = [json.loads(line) for line in (out / "gnn_runs.jsonl").read_text().splitlines()]
    assert run[-1]["already_finished"] == 3 and run[-1]["ran"] == 0

    # a budget that no cell fits: nothing starts, and each cell is listed as not started
    # (a finished cell's time sets the expectation, and on a fast machine a 400-molecule,
    # one-epoch cell takes under a second: the budget must be below any cell's time)
    tight = [*args, "--losses", "cliff", "--budget-s", "1e-6", "--first-cell-s", "60"]
    assert mod.main(tight) == 0
    last = json.loads((out / "gnn_runs.jsonl").read_text().splitlines()[-1])
    assert last["ran"] == 0 and len(last["not_started"]) == 3


def test_priority_puts_the_claim_cells_first():
    mod = _script()
    args = mod.argparse.Namespace(config="qm9-full", backbones="gin,schnet", epochs=None,
                                  batch_size=None, targets=None, subsample=None, splits=None,
                                  losses=None, seeds=None)
    grid = mod.build_grid(args)
    assert len(grid.cells()) == 2 * 3 * 2 * 3 * 3
    cells = sorted(grid.cells(), key=lambda c: mod.priority(c, grid.backbones, ["homo", "lumo", "gap"]))
    first = cells[:6]
    assert {(c.seed, c.loss, c.split) for c in first} == {(0, "plain", "cliff")}
    assert [c.backbone for c in first] == ["gin"] * 3 + ["schnet"] * 3
    assert cells[-1].seed == 2 and cells[-1].loss == "lds" and cells[-1].split == "random"
