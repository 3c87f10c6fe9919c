"""Scaling on Ray: the neighbour search and a small grid, 1 against 2 workers.

Usage::

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/scaling.py \
        [--n-qm9 20000] [--skip-grid] [--out benchmarks/results/scaling.json]

Neighbour search (all against all, k = 24, min_similarity = 0.35, self excluded):

- "drug-like": every molecule of the bundled Lipophilicity, ESOL, FreeSolv and the two
  MoleculeACE sets, deduplicated (ChEMBL-like molecules, the case of a 2M library);
- "qm9": a seeded QM9 subsample (small molecules: fewer bits, more pruning).

Each set is searched locally (one process, 1 thread) and on a local Ray instance with
1 and with 2 CPUs (one CPU and one thread per task), and the graphs are checked to be
identical. The grid part runs an 8-cell MLP grid (1000 ESOL molecules, 40 epochs, CliffSplit and random
split, plain and CliffLoss, 2 seeds; splits included) on Ray with 1 and with 2 CPUs, after
warming the workers up (imports, data), and checks that both give the same predictions. Speed-up ratios
are wall-clock ratios; on a shared, loaded machine they understate what idle cores give.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

GRID = {
    "name": "scaling", "seeds": [0, 1], "splits": ["cliff", "random"], "backbones": ["mlp"],
    "losses": ["plain", "cliff"], "datasets": [{"name": "esol", "subsample": 1000}],
    "backbone_params": {"mlp": {"epochs": 40, "patience": 40, "hidden_channels": 256}},
    "evaluation": {"n_bootstrap": 100},
}


def drug_like_smiles() -> np.ndarray:
    from cliffkit.data import load_dataset

    names = ["lipophilicity", "esol", "freesolv", "moleculeace:CHEMBL234_Ki",
             "moleculeace:CHEMBL2034_Ki"]
    smiles = np.concatenate([load_dataset(n).smiles for n in names])
    return np.unique(smiles)


def qm9_smiles(n: int) -> np.ndarray:
    from cliffkit.data import load_dataset

    smiles = load_dataset("qm9").smiles
    rng = np.random.default_rng(0)
    return smiles[np.sort(rng.choice(len(smiles), size=min(n, len(smiles)), replace=False))]


def _same(a, b) -> bool:
    return all(getattr(a, f).tobytes() == getattr(b, f).tobytes()
               for f in ("indptr", "indices", "similarities"))


def bench_search(name: str, smiles: np.ndarray) -> dict:
    import ray

    from cliffkit.similarity import compute_fingerprints, find_neighbors, find_neighbors_distributed

    fps = compute_fingerprints(smiles)
    n = len(fps)
    pairs = n * (n - 1)
    out: dict = {"set": name, "n": n, "pairs": pairs}
    t0 = time.perf_counter()
    local = find_neighbors(fps, k=24, n_jobs=1)
    out["local_1thread_s"] = time.perf_counter() - t0
    for cpus in (1, 2):
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="warning")
        try:
            # warm-up: start the workers and import cliffkit in them (not timed)
            find_neighbors_distributed(fps[:512], k=24, rows_per_task=256)
            t0 = time.perf_counter()
            g = find_neighbors_distributed(fps, k=24, num_cpus=1,
                                           rows_per_task=max(256, -(-n // 8)))
            out[f"ray_{cpus}cpu_s"] = time.perf_counter() - t0
        finally:
            ray.shutdown()
        assert _same(local, g), f"{name}: the Ray graph differs from the local one"
    out["identical"] = True
    out["speedup_2_vs_1"] = out["ray_1cpu_s"] / out["ray_2cpu_s"]
    for key in ("local_1thread", "ray_1cpu", "ray_2cpu"):
        out[f"{key}_pairs_per_s"] = pairs / out[f"{key}_s"]
    return out


def _warm_up(ray, n_workers: int) -> None:
    """Start the workers and import torch, the models and the data in each (not timed)."""

    def warm(_):
        import time as _time

        import torch  # noqa: F401

        import cliffkit.models  # noqa: F401
        from cliffkit.bench._cell import load_task

        load_task("esol", "logS", GRID["datasets"][0]["subsample"], 0)
        _time.sleep(1.0)
        return os.getpid()

    ray.get([ray.remote(warm).options(num_cpus=1).remote(i) for i in range(2 * n_workers)])


def bench_grid() -> dict:
    import ray

    from cliffkit.bench import GridConfig, RayExecutor, run_grid

    cfg = GridConfig.from_dict(GRID)
    out: dict = {"n_cells": len(cfg.cells()), "n_splits": len(cfg.split_specs())}
    with tempfile.TemporaryDirectory() as tmp:
        for cpus in (1, 2):
            ray.init(num_cpus=cpus, include_dashboard=False, logging_level="warning")
            try:
                _warm_up(ray, cpus)
                t0 = time.perf_counter()
                summary = run_grid(cfg, Path(tmp) / f"r{cpus}", executor=RayExecutor(num_cpus=1),
                                   show_progress=False)
                out[f"ray_{cpus}cpu_s"] = time.perf_counter() - t0
                assert summary.n_failed == 0, summary.failed
                recs = [json.loads(p.read_text()) for p in (Path(tmp) / f"r{cpus}" / "cells").glob("*.json")]
                out[f"ray_{cpus}cpu_cell_s_sum"] = sum(r["seconds"] for r in recs)
                out[f"ray_{cpus}cpu_cell_cpu_s_sum"] = sum(r["cpu_seconds"] for r in recs)
            finally:
                ray.shutdown()
        a, b = Path(tmp) / "r1", Path(tmp) / "r2"
        out["identical_predictions"] = all(
            p.read_bytes() == (b / "cells" / p.name).read_bytes()
            for p in (a / "cells").glob("*.predictions.csv"))
    out["speedup_2_vs_1"] = out["ray_1cpu_s"] / out["ray_2cpu_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-qm9", type=int, default=20000, help="QM9 subsample size (0: skip).")
    ap.add_argument("--skip-grid", action="store_true", help="Only the neighbour search.")
    ap.add_argument("--skip-search", action="store_true", help="Only the grid.")
    ap.add_argument("--out", default="benchmarks/results/scaling.json", help="JSON output.")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    result: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load avg "
                   f"{os.getloadavg()[0]:.1f} at start",
        "search": [],
    }
    if not args.skip_search:
        result["search"].append(bench_search("drug-like", drug_like_smiles()))
        print(json.dumps(result["search"][-1], indent=1))
    if args.n_qm9 and not args.skip_search:
        result["search"].append(bench_search(f"qm9-{args.n_qm9}", qm9_smiles(args.n_qm9)))
        print(json.dumps(result["search"][-1], indent=1))
    if not args.skip_grid:
        result["grid"] = bench_grid()
        print(json.dumps(result["grid"], indent=1))
    result["load_avg_end"] = os.getloadavg()[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
