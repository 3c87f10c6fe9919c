"""CPU cost of one training epoch of the GNN backbones on the full-QM9 training split (issue 20).

With no GPU, the GNN part of ``qm9-full`` can only be estimated on CPU from measured epoch
times. For each backbone (``gin``, ``dmpnn``, ``schnet``; schnet on QM9's DFT geometries, as
``benchmarks/qm9_gnn_grid.py`` runs it) this fits the library-default model through its
public ``fit`` for one epoch whose batches are the first ``--max-batches`` of the trainer's
own shuffled order (``batch_sampler``: a random permutation of the training rows cut into
``batch_size`` chunks, which is what the trainer does without one). A sampler that notes the
clock when its first batch is asked for and when it runs out splits the fit into

- preparation: featurising the training and validation molecules (schnet: loading their
  DFT geometries) and building the model, once per cell;
- training: the batches timed (forward, loss, backward, optimiser step);
- validation: the end-of-epoch pass over the validation set, every epoch.

A whole epoch is then ``ceil(n_train / batch_size)`` batches at the measured mean per batch
plus one validation pass (**extrapolated** when ``--max-batches`` is below the epoch's
batch count; the record says so). CPU seconds are the process's (``time.process_time``)
with ``--threads`` torch threads (default 1, what each of ``cliffkit bench --n-jobs 2``'s
workers gets on 2 cores); the load average is recorded before and after each backbone.
One JSON line per backbone is appended to ``--out``.

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/qm9_gnn_epoch_cpu.py \\
        --split RESULTS/splits/qm9-gap-cliff-s0-91b94f7297f4.json --target gap \\
        --max-batches gin=0,dmpnn=200,schnet=60 --out benchmarks/results/qm9_gnn_epoch_cpu.jsonl

(``0``: the whole epoch.) Run one backbone per process (``--backbones gin``, then ``dmpnn``
...): featurised graphs are cached in the process, so a second backbone's preparation
would look cheaper than a cell's, which starts fresh. Without ``--split`` a CliffSplit of the target (seed 0) is made
first (about 90 CPU-s on full QM9); ``--subsample N`` runs the same on a seeded subset (the
test uses it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path


class TimedBatches:
    """One epoch's batches (index arrays), noting when the first is taken and when they end."""

    def __init__(self, n: int, batch_size: int, max_batches: int, seed: int) -> None:
        import numpy as np

        perm = np.random.default_rng(seed).permutation(n)
        chunks = [perm[i:i + batch_size] for i in range(0, n, batch_size)]
        self.n_epoch_batches = len(chunks)
        self.batches = chunks if max_batches <= 0 else chunks[:max_batches]
        self.t_first = self.t_last = None

    def __iter__(self):
        self.t_first = (time.perf_counter(), time.process_time())
        yield from self.batches
        self.t_last = (time.perf_counter(), time.process_time())


def _caps(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, n = part.partition("=")
        out[name] = int(n)
    return out


def measure(backbone: str, train, val, *, max_batches: int, threads: int, seed: int = 0,
            data_dir: str | None = None) -> dict:
    """One epoch (or its first ``max_batches`` batches) of ``backbone``: a record (dict)."""
    import torch

    from cliffkit.models import get_backbone

    torch.set_num_threads(threads)
    params = {"epochs": 1, "patience": 1, "device": "cpu", "show_progress": False,
              "random_state": seed}
    if backbone == "schnet":
        params["data_dir"] = data_dir
    model = get_backbone(backbone, **params)
    default = get_backbone(backbone)  # the default budget a cell trains under
    batch_size = int(model.batch_size)
    sampler = TimedBatches(len(train), batch_size, max_batches, seed)
    load0 = os.getloadavg()[0]
    w0, c0 = time.perf_counter(), time.process_time()
    model.fit(train, val, batch_sampler=sampler)
    w1, c1 = time.perf_counter(), time.process_time()
    load1 = os.getloadavg()[0]
    (wf, cf), (wl, cl) = sampler.t_first, sampler.t_last
    n_timed = len(sampler.batches)
    per_batch_cpu = (cl - cf) / n_timed
    per_batch_wall = (wl - wf) / n_timed
    val_cpu, val_wall = c1 - cl, w1 - wl
    rec = {
        "backbone": backbone, "n_train": len(train), "n_val": len(val), "batch_size": batch_size,
        "epoch_batches": sampler.n_epoch_batches, "batches_timed": n_timed,
        "extrapolated": n_timed < sampler.n_epoch_batches, "threads": threads,
        "prepare_cpu_s": round(cf - c0, 2), "prepare_wall_s": round(wf - w0, 2),
        "train_cpu_s": round(cl - cf, 2), "train_wall_s": round(wl - wf, 2),
        "per_batch_cpu_s": round(per_batch_cpu, 4), "per_batch_wall_s": round(per_batch_wall, 4),
        "val_pass_cpu_s": round(val_cpu, 2), "val_pass_wall_s": round(val_wall, 2),
        "epoch_cpu_s": round(per_batch_cpu * sampler.n_epoch_batches + val_cpu, 1),
        "epoch_wall_s": round(per_batch_wall * sampler.n_epoch_batches + val_wall, 1),
        "molecules_per_cpu_s": round(n_timed * batch_size / max(cl - cf, 1e-9), 1),
        "default_epochs": int(default.epochs), "default_patience": int(default.patience),
        "load_before": round(load0, 2), "load_after": round(load1, 2),
    }
    if backbone == "schnet":
        rec["geometry_counts"] = getattr(model, "geometry_counts_", {})
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default=None, help="a split file of the target (e.g. the grid's)")
    ap.add_argument("--target", default="gap")
    ap.add_argument("--subsample", type=int, default=None)
    ap.add_argument("--backbones", default="gin,dmpnn,schnet")
    ap.add_argument("--max-batches", default="", metavar="B=N[,B=N]",
                    help="batches to time per backbone (0 or absent: the whole epoch)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="append one JSON line per backbone here")
    args = ap.parse_args(argv)

    import torch

    from cliffkit.bench._cell import load_task
    from cliffkit.split import CliffSplit, load_split

    torch.set_num_threads(args.threads)
    ds = load_task("qm9", args.target, args.subsample, 0)
    if args.split:
        split = load_split(args.split, dataset=ds)
        split_name = Path(args.split).name
    else:
        split = CliffSplit(targets=[args.target], random_state=args.seed).make_split(ds)
        split_name = f"CliffSplit seed {args.seed} (made here)"
    train, val = ds.subset(split.train), ds.subset(split.val)
    caps = _caps(args.max_batches)
    for bb in [b.strip() for b in args.backbones.split(",") if b.strip()]:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        rec = measure(bb, train, val, max_batches=caps.get(bb, 0), threads=args.threads,
                      seed=args.seed)
        rec.update(target=args.target, split=split_name, subsample=args.subsample,
                   started=started, machine=f"{platform.machine()}, {os.cpu_count()} cores",
                   python=platform.python_version(), torch=torch.__version__)
        print(json.dumps(rec), flush=True)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
