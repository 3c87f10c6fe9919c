"""The GNN part of the ``qm9-full`` grid (gin, dmpnn, schnet on DFT geometries), for a GPU.

One prepared script for a GPU lease of limited length (issue 20). It takes the
``qm9-full`` config (all of QM9; homo, lumo, gap; CliffSplit and random; 3 seeds; plain,
cliff, lds), swaps its CPU backbones for ``--backbones`` (default gin, dmpnn, schnet;
schnet reads QM9's DFT geometries), and runs the cells through the bench runner into
``-o``, so the folder is an ordinary, resumable results folder (``cells/*.json``,
predictions, ``config.json`` with the whole GNN grid) that ``cliffkit report`` reads.

Time: ``--budget-s`` is the wall-clock budget of the whole run. Cells run one at a time in
priority order (seed 0 first, then plain before cliff before lds, CliffSplit before
random, the backbones and targets in the order given), and a cell is started only when
the time left covers its expected length: the median of the finished cells of its
backbone in the folder (before one has finished: ``--first-cell-s``). Cells not started
are listed as such; a second run with the same arguments resumes. Training budgets are
the library defaults unless ``--epochs`` caps them (e.g. ``gin=20,dmpnn=10,schnet=3``);
a cap is part of the cell's parameters and key, so a capped cell is never taken for one
trained at the default budget.

Splits: the 18 split files of the grid are the same as the CPU grid's (same data, method,
parameters, seed), so ``--splits-from`` copies them from the CPU results folder instead of
computing them again on the lease (each is about a minute of CPU on full QM9). The published
``docs/results/qm9-full`` does not commit its split files (7.5 MB each): rebuild them there
first with ``benchmarks/publish_results.py splits docs/results/qm9-full`` (checked against
its ``splits/SHA256SUMS``), or point ``--splits-from`` at the CPU run's own folder; a split
file not found is computed on the lease.

A diverged cell (NaN or an exploding loss) is recorded as failed with its reason by the
runner, never as a number. One JSON line describing the run (device, budget, cells run,
failed, not started, seconds) is appended to ``<out>/gnn_runs.jsonl``.

CPU check on a small subsample (the test runs the same on 400 molecules; 143 s for this
one at load 12 on the 2-core machine)::

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/qm9_gnn_grid.py \\
        --subsample 2000 --epochs gin=1,dmpnn=1,schnet=1 --targets gap --seeds 0 \\
        --losses plain --splits cliff -o /tmp/qm9-gnn-smoke --budget-s 900

On a GPU lease (15 minutes, of which a few go to start-up), the claim cells first::

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/qm9_gnn_grid.py \\
        --splits-from docs/results/qm9-full --epochs gin=20,dmpnn=10,schnet=3 \\
        --targets gap --seeds 0 --splits cliff --batch-size 128 --budget-s 540 \\
        -o docs/results/qm9-full-gnn

(one target, one seed, CliffSplit: each backbone's plain cell, then its cliff and lds
cells, as far as the budget goes; at the H100's measured 10.5 s per gin epoch and 56 s per
schnet epoch these caps are about 3.5 and 3 minutes a cell; dmpnn's full-QM9 epoch time is
not measured yet, so its cap is a guess). A run without the filters and caps is the whole
GNN grid at the default budgets: about 100 GPU-hours (docs/benchmarks.md, "Full QM9").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

_LOSS_ORDER = ("plain", "cliff", "lds")
_SPLIT_ORDER = ("cliff", "random")


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _epochs(value: str | None) -> dict[str, int]:
    """``gin=20,dmpnn=10`` -> {"gin": 20, "dmpnn": 10}; a bare number caps every backbone."""
    if not value:
        return {}
    out: dict[str, int] = {}
    for part in _csv(value) or []:
        name, _, n = part.rpartition("=")
        out[name or "*"] = int(n)
    return out


def _device() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return f"CPU x{torch.get_num_threads()} threads (torch {torch.__version__})"


def build_grid(args: argparse.Namespace):
    """The GNN grid: ``qm9-full`` with the GNN backbones, optional caps and filters."""
    from cliffkit.bench import load_config

    base = load_config(args.config)
    backbones = _csv(args.backbones) or ["gin", "dmpnn", "schnet"]
    caps = _epochs(args.epochs)
    params: dict[str, dict] = {}
    for b in backbones:
        p = dict(base.backbone_params.get(b, {}))
        cap = caps.get(b, caps.get("*"))
        if cap is not None:
            p["epochs"] = cap
        if args.batch_size is not None:
            p["batch_size"] = args.batch_size
        if p:
            params[b] = p
    datasets = []
    for d in base.datasets:
        targets = tuple(t for t in d.targets if t in (_csv(args.targets) or d.targets))
        datasets.append(dataclasses.replace(d, targets=targets, subsample=args.subsample))
    grid = dataclasses.replace(
        base, name=f"{base.name}-gnn", backbones=backbones, backbone_params=params,
        datasets=datasets,
        description=f"{base.description} GNN part: {', '.join(backbones)}.",
        splits=[s for s in base.splits if s in (_csv(args.splits) or base.splits)],
        losses=[v for v in base.losses if v in (_csv(args.losses) or base.losses)],
        seeds=[s for s in base.seeds if str(s) in (_csv(args.seeds) or map(str, base.seeds))],
    )
    return grid


def priority(cell, backbones: list[str], targets: list[str]) -> tuple:
    """Seed 0 first, then plain, cliff, lds; CliffSplit first; backbones, targets in order."""
    loss = _LOSS_ORDER.index(cell.loss) if cell.loss in _LOSS_ORDER else len(_LOSS_ORDER)
    split = _SPLIT_ORDER.index(cell.split) if cell.split in _SPLIT_ORDER else len(_SPLIT_ORDER)
    return (cell.seed, loss, split, backbones.index(cell.backbone), targets.index(cell.target))


def _copy_splits(grid, src: Path, out: Path) -> int:
    """Copy the split files (and their logs) of ``grid`` found in ``src/splits``."""
    n = 0
    for spec in grid.split_specs():
        name = f"{spec.key}.json"
        for sub in ("splits", "splits/logs"):
            s, d = src / sub / name, out / sub / name
            if s.is_file() and not d.is_file():
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(s, d)
                n += sub == "splits"
    return n


def _finished_seconds(out: Path) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    for path in sorted((out / "cells").glob("*.json")):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if rec.get("status") == "ok" and isinstance(rec.get("seconds"), int | float):
            times.setdefault(rec["cell"]["backbone"], []).append(float(rec["seconds"]))
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", required=True, help="results folder (resumable)")
    ap.add_argument("--config", default="qm9-full")
    ap.add_argument("--backbones", default="gin,dmpnn,schnet")
    ap.add_argument("--targets", default=None, help="e.g. gap,homo (default: the config's)")
    ap.add_argument("--splits", default=None, help="e.g. cliff (default: the config's)")
    ap.add_argument("--losses", default=None, help="e.g. plain,cliff (default: the config's)")
    ap.add_argument("--seeds", default=None, help="e.g. 0 (default: the config's)")
    ap.add_argument("--epochs", default=None,
                    help="epoch caps, 'gin=20,dmpnn=10,schnet=3' or one number for all "
                         "(default: each backbone's default budget)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--subsample", type=int, default=None,
                    help="seeded random subset of QM9 (a CPU check; default: all of QM9)")
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="wall-clock budget of the whole run; no cell starts that would not fit")
    ap.add_argument("--first-cell-s", type=float, default=0.0,
                    help="expected seconds of a backbone's first cell (before one has finished)")
    ap.add_argument("--splits-from", default=None,
                    help="results folder of the CPU grid whose split files to reuse")
    ap.add_argument("--dry-run", action="store_true", help="list the cells in order and stop")
    args = ap.parse_args(argv)

    from cliffkit.bench import cell_status, run_grid

    t_start = time.perf_counter()
    grid = build_grid(args)
    out = Path(args.out)
    targets = list(grid.datasets[0].targets)
    cells = sorted(grid.cells(), key=lambda c: priority(c, grid.backbones, targets))
    print(f"{grid.name}: {len(cells)} cells ({', '.join(grid.backbones)}; "
          f"{', '.join(targets)}; {', '.join(grid.splits)}; {', '.join(grid.losses)}; "
          f"seeds {grid.seeds}); budget {args.budget_s:.0f} s; {_device()}", flush=True)
    if args.dry_run:
        for c in cells:
            print(f"  {c.key}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    if args.splits_from:
        n = _copy_splits(grid, Path(args.splits_from), out)
        print(f"copied {n} split files from {args.splits_from}", flush=True)

    ran, failed, not_started, skipped = [], [], [], 0
    for cell in cells:
        if cell_status(out, cell.key) == "ok":
            skipped += 1
            continue
        done = _finished_seconds(out).get(cell.backbone)
        expected = statistics.median(done) if done else args.first_cell_s
        left = args.budget_s - (time.perf_counter() - t_start)
        if expected > left:
            not_started.append(cell.key)
            continue
        one = dataclasses.replace(
            grid, backbones=[cell.backbone], losses=[cell.loss], splits=[cell.split],
            seeds=[cell.seed],
            datasets=[dataclasses.replace(grid.datasets[0], targets=(cell.target,))])
        summary = run_grid(one, out, show_progress=False, record_config=grid)
        status = cell_status(out, cell.key)
        rec = json.loads((out / "cells" / f"{cell.key}.json").read_text(encoding="utf-8"))
        print(f"{cell.key}: {status} in {rec.get('seconds') or 0:.1f} s"
              + ("" if status == "ok" else f" ({(rec.get('error') or {}).get('type')}: "
                 f"{str((rec.get('error') or {}).get('message'))[:200]})")
              + f"; {summary.seconds:.1f} s with the split", flush=True)
        (ran if status == "ok" else failed).append(cell.key)

    record = {
        "grid": grid.name, "n_cells": len(cells), "already_finished": skipped,
        "ran": len(ran), "failed": failed, "not_started": not_started,
        "budget_s": args.budget_s, "seconds": time.perf_counter() - t_start,
        "epochs": _epochs(args.epochs), "batch_size": args.batch_size,
        "subsample": args.subsample, "device": _device(), "host": platform.node(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    with (out / "gnn_runs.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
    print(f"{len(ran)} cells ran, {len(failed)} failed, {len(not_started)} not started "
          f"(budget), {skipped} already finished; {record['seconds']:.0f} s; "
          f"results in {out}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
