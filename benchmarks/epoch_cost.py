"""Epoch-time cost of a training-loop loss against ``plain`` (issue 18: the <= 1.3x budget).

Fits the same backbone on the same training set with each loss for a fixed number of epochs
(no early stopping), interleaving the losses round by round so that a changing machine load
hits them alike, and prints the median wall seconds per epoch, the process CPU seconds per
epoch (less sensitive to other jobs on a shared machine) and their ratios to the first loss.
One torch thread by default (the machine is shared); the load average is printed beside.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/epoch_cost.py lipophilicity \\
        --backbone mlp --losses plain,aca,swa --epochs 3 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("--backbone", default="mlp")
    ap.add_argument("--losses", default="plain,aca")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    from cliffkit.data import load_dataset
    from cliffkit.experiment import build_loss
    from cliffkit.models import get_backbone
    from cliffkit.split import get_splitter

    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    split = get_splitter("random", random_state=args.seed, test_size=0.1,
                         val_size=0.1).make_split(ds)
    train, val = ds.subset(split.train), ds.subset(split.val)
    losses = args.losses.split(",")
    # SWA adds epochs after training; per-epoch cost is what is compared here
    specs = {name: build_loss(name, ds, split, seed=args.seed,
                              **({"swa_params": {"epochs": 1}} if "swa" in name else {}))
             for name in losses}
    per_epoch: dict[str, list[float]] = {name: [] for name in losses}
    cpu_per_epoch: dict[str, list[float]] = {name: [] for name in losses}
    print(f"{args.dataset}: {len(train)} training molecules, backbone {args.backbone}, "
          f"{args.epochs} epochs x {args.rounds} rounds, {args.threads} thread(s)")
    for r in range(args.rounds):
        for name in losses:
            model = get_backbone(args.backbone, epochs=args.epochs, patience=args.epochs,
                                 device="cpu", show_progress=False, random_state=args.seed)
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(train, val, **specs[name].fit_kwargs(model))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            secs = [h["seconds"] for h in model.history_ if h.get("phase") is None]
            per_epoch[name] += secs
            cpu_per_epoch[name].append(cpu / len(model.history_))  # SWA epochs included
            print(f"  round {r} {name:>15}: {np.median(secs):.3f} s/epoch wall, "
                  f"{cpu_per_epoch[name][-1]:.3f} CPU s/epoch (fit {wall:.1f} s) "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    base = statistics.median(per_epoch[losses[0]])
    cbase = statistics.median(cpu_per_epoch[losses[0]])
    print(f"{'loss':>15}  wall s/epoch  ratio  CPU s/epoch  ratio   (medians; ratio to "
          f"{losses[0]})")
    for name in losses:
        med = statistics.median(per_epoch[name])
        cmed = statistics.median(cpu_per_epoch[name])
        print(f"{name:>15}  {med:12.3f}  {med / base:5.2f}  {cmed:11.3f}  {cmed / cbase:5.2f}")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
