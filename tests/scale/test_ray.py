"""The Ray executor and the distributed neighbour search against their local twins.

One local Ray instance (2 CPUs) serves the whole module. Skipped without ray.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from cliffkit.bench import (  # noqa: E402
    CellResult,
    GridConfig,
    RayExecutor,
    get_executor,
    load_results,
    run_grid,
)
from cliffkit.bench._config import Cell  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# a trimmed copy of the shipped smoke grid: one split, the torch MLP, plain vs CliffLoss
SMOKE = {
    "name": "smoke-ray", "seeds": [0], "splits": ["cliff"], "backbones": ["mlp"],
    "losses": ["plain", "cliff"], "datasets": [{"name": "esol", "subsample": 300}],
    "backbone_params": {"mlp": {"epochs": 5, "patience": 3, "hidden_channels": 64}},
    "evaluation": {"n_bootstrap": 100},
}


@pytest.fixture(scope="module")
def cluster(data_dir):
    if ray.is_initialized():  # pragma: no cover - someone else's instance
        pytest.skip("ray is already initialised in this process")
    # the fake split/cell functions below live in a test module that workers cannot import
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="warning",
             runtime_env={"env_vars": {"CLIFFKIT_DATA_DIR": str(data_dir)}})
    yield ray
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


# ------------------------------------------------------------------ neighbour search
def _assert_same_graph(local, dist):
    for name in ("indptr", "indices", "similarities"):
        a, b = getattr(local, name), getattr(dist, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert local.n_reference == dist.n_reference
    # the parameters that define the result (timings and search diagnostics may differ)
    keys = ("k", "min_similarity", "exclude_self", "n_bits", "backend")
    assert {k: local.params[k] for k in keys} == {k: dist.params[k] for k in keys}
    # the local search's keys, diagnostics merged from the tasks (h46: only backend was)
    assert set(local.params) <= set(dist.params)


def test_neighbor_search_is_byte_identical(cluster):
    from cliffkit.data import load_dataset
    from cliffkit.similarity import (
        compute_fingerprints,
        default_k,
        find_neighbors,
        find_neighbors_distributed,
    )

    smiles = load_dataset("lipophilicity").smiles[:500]
    fps = compute_fingerprints(smiles)
    # duplicates before and after their twins (ties at similarity 1 with self), and a
    # molecule without bits (similarity 0 with everything, itself included)
    fps = np.vstack([fps[:3], fps, np.zeros((1, fps.shape[1]), np.uint8)])
    k = default_k(len(fps))
    local = find_neighbors(fps, k=k)
    dist = find_neighbors_distributed(fps, k=k, rows_per_task=197)
    _assert_same_graph(local, dist)
    assert local.nnz > len(fps)  # a real graph, not an empty one
    assert 0 in dist.row(3)[0] and 3 not in dist.row(3)[0]  # the duplicate, never self

    # everything is a candidate: the self-exclusion tie rule is exercised on every row
    local0 = find_neighbors(fps, k=5, min_similarity=0.0)
    dist0 = find_neighbors_distributed(fps, k=5, min_similarity=0.0, rows_per_task=251)
    _assert_same_graph(local0, dist0)
    # each task with the references in shards (of 150, not aligned with the tasks)
    _assert_same_graph(local0, find_neighbors_distributed(
        fps, k=5, min_similarity=0.0, rows_per_task=251, ref_shard_size=150))
    assert dist0.row(len(fps) - 1)[0].tolist() == [0, 1, 2, 3, 4]

    # queries against a different reference set (test -> train)
    q, r = fps[:120], fps[120:]
    _assert_same_graph(find_neighbors(q, r, k=k, backend="numpy"),
                       find_neighbors_distributed(q, r, k=k, backend="numpy", rows_per_task=60))


# ------------------------------------------------------------------ the grid
@pytest.mark.cli
def test_smoke_grid_on_ray_matches_local(cluster, tmp_path, capsys):
    import torch

    from cliffkit.cli import main

    cfg = GridConfig.from_dict(SMOKE)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the Ray tasks below hold 1 CPU each, so use 1 thread
    try:
        local = run_grid(cfg, tmp_path / "local", show_progress=False)
    finally:
        torch.set_num_threads(threads)
    assert local.n_failed == 0 and local.n_ran == 2
    # the Ray run goes through the CLI (it joins the running Ray instance)
    (tmp_path / "smoke.json").write_text(json.dumps(SMOKE), encoding="utf-8")
    rc = main(["bench", "--config", str(tmp_path / "smoke.json"), "-o", str(tmp_path / "ray"),
               "--executor", "ray", "--cpus-per-cell", "1", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "2 cells: 0 already finished, 2 run, 0 failed" in captured.out

    a, b = tmp_path / "local", tmp_path / "ray"
    splits = sorted(p.name for p in (a / "splits").glob("*.json"))
    assert splits and splits == sorted(p.name for p in (b / "splits").glob("*.json"))
    for name in splits:
        assert (a / "splits" / name).read_bytes() == (b / "splits" / name).read_bytes()
    for path in sorted((a / "cells").glob("*.json")):
        rec_a = json.loads(path.read_text())
        rec_b = json.loads((b / "cells" / path.name).read_text())
        assert rec_a["status"] == rec_b["status"] == "ok"
        assert rec_a["metrics"] == rec_b["metrics"]
        assert rec_a["metrics"]["overall"]["mae"] > 0
        pred = path.with_suffix(".predictions.csv")
        assert pred.read_bytes() == (b / "cells" / pred.name).read_bytes()
    assert "RayExecutor" in rec_b["environment"]["executor"]


# ------------------------------------------------------------------ fault tolerance
class _FakeSplit:
    def __init__(self, spec):
        self.spec = spec

    def save(self, path):
        Path(path).write_text(json.dumps(self.spec.to_dict()), encoding="utf-8")


def _fake_split(spec):
    return _FakeSplit(spec)


def _deaths(cell) -> int:
    """How many times a cell kills its worker before it succeeds."""
    if cell.backbone == "mlp" and cell.loss == "cliff" and cell.seed == 0:
        return 1  # retried by Ray within the run
    if cell.backbone == "lgbm" and cell.loss == "cliff" and cell.seed == 1:
        return 2  # more than max_retries=1: failed, then run again by a rerun
    return 0


def _fake_cell(cell, split_path):
    """Kills its worker (``os._exit``) on its first ``_deaths(cell)`` attempts."""
    marks = Path(split_path).parents[1] / "marks"
    marks.mkdir(exist_ok=True)
    attempts = len(list(marks.glob(f"{cell.key}.attempt.*")))
    (marks / f"{cell.key}.attempt.{attempts}").write_text("started")
    if attempts < _deaths(cell):
        os._exit(1)
    # one file per completed run: counting them shows whether a cell ran twice
    (marks / f"{cell.key}.done.{uuid.uuid4().hex}").write_text("ok")
    return CellResult(metrics={"overall": {"mae": 1.0 + cell.seed}}, predictions=None)


def _fake_grid():
    return GridConfig.from_dict({
        "name": "fake", "seeds": [0, 1], "splits": ["cliff"], "backbones": ["mlp", "lgbm"],
        "losses": ["plain", "cliff"], "datasets": [{"name": "esol", "targets": ["y"]}],
    }, check_names=False)


def _count(out: Path, what: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in (out / "marks").glob(f"*.{what}.*"):
        key = p.name.split(f".{what}.")[0]
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_killed_workers_are_retried_and_no_cell_is_lost_or_run_twice(cluster, tmp_path):
    cfg = _fake_grid()
    cells = {c.key: c for c in cfg.cells()}
    keys = sorted(cells)
    once = sorted(k for k, c in cells.items() if _deaths(c) == 1)
    twice = sorted(k for k, c in cells.items() if _deaths(c) == 2)
    assert len(keys) == 8 and len(once) == len(twice) == 1
    out = tmp_path / "res"
    run = {"executor": RayExecutor(max_retries=1), "show_progress": False,
           "cell_fn": _fake_cell, "split_fn": _fake_split}

    first = run_grid(cfg, out, **run)
    # the worker killed once was retried; the one killed twice is a failed cell
    assert first.n_ran == 8 and first.failed == twice
    table = load_results(out).set_index("key")
    assert table.loc[twice[0], "error_type"] == "WorkerCrashedError"
    assert _count(out, "done") == {k: 1 for k in keys if k not in twice}
    assert _count(out, "attempt")[once[0]] == 2 and _count(out, "attempt")[twice[0]] == 2

    second = run_grid(cfg, out, **run)  # only the failed cell runs again
    assert second.n_skipped == 7 and second.n_ran == 1 and second.n_failed == 0
    third = run_grid(cfg, out, **run)
    assert third.n_ran == 0 and third.n_skipped == 8
    # every cell finished exactly once, none lost
    assert _count(out, "done") == dict.fromkeys(keys, 1)
    table = load_results(out)
    assert sorted(table["key"]) == keys and (table["status"] == "ok").all()
    assert table.set_index("key")["mae"].to_dict() == {k: 1.0 + c.seed for k, c in cells.items()}


# ------------------------------------------------------------------ resources, registry
def test_torch_cells_ask_for_a_gpu_only_when_the_cluster_has_one():
    ex = get_executor("ray", address="auto", num_cpus=2)
    assert isinstance(ex, RayExecutor)
    assert repr(ex) == "RayExecutor(address='auto', num_cpus=2, num_gpus=None, max_retries=3)"
    cfg = GridConfig.from_dict({**SMOKE, "backbones": ["mlp", "lgbm"], "datasets": [
        {"name": "esol", "targets": ["logS"]}]}, check_names=False)
    cells = {c.backbone: c for c in cfg.cells()}
    mlp, lgbm = ("fn", cells["mlp"], "s.json"), ("fn", cells["lgbm"], "s.json")
    assert isinstance(cells["mlp"], Cell)
    assert ex._gpus(mlp, cluster_gpus=1) == 1 and ex._gpus(mlp, cluster_gpus=0) == 0
    assert ex._gpus(lgbm, cluster_gpus=4) == 0
    assert ex._gpus(("fn", cfg.split_specs()[0], "s.json"), cluster_gpus=4) == 0
    assert RayExecutor(num_gpus=0.5)._gpus(mlp, cluster_gpus=0) == 0.5


def test_invalid_executor_parameters_are_reported(cluster):
    from cliffkit.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"'num_cpus' parameter of RayExecutor"):
        list(RayExecutor(num_cpus=0).map_unordered(abs, [1]))
    assert sorted(RayExecutor().map_unordered(abs, [-1, -2])) == [(-2, 2), (-1, 1)]
