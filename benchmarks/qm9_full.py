"""Full QM9 (130,744 molecules) for one backbone and target, on a GPU: issue 5's last target.

Splits the whole of QM9 (CliffSplit by default), trains ``--backbone`` (gin or schnet)
with the library defaults except for the epoch cap, batch size and a wall-clock budget,
and scores the test set per stratum (cliff, smooth, unsupported) with the reference
predictor beside the model. One JSON line per run goes to ``--out``. For the GNN part of
the ``qm9-full`` grid (every backbone, target, split, loss and seed, as bench cells, within
one wall-clock budget) use ``benchmarks/qm9_gnn_grid.py``.

The wall-clock budget (``--budget-s``) is enforced through the trainer's
``epoch_callback``: after the epoch that crosses it, training stops and the best
checkpoint (on validation MAE) is restored, as for early stopping. The record says
whether the budget or early stopping ended the run, so a budget-limited model is never
passed off as a converged one.

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/qm9_full.py \
        --backbone gin --target gap --budget-s 420 --out benchmarks/results/qm9_full.jsonl
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def _device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return f"CPU x{torch.get_num_threads()} threads (torch {torch.__version__})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="gin", choices=["gin", "schnet", "dmpnn", "mlp"])
    ap.add_argument("--target", default="gap")
    ap.add_argument("--method", default="cliff", choices=["cliff", "random"])
    ap.add_argument("--split", default=None, help="existing split file (else one is made)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--budget-s", type=float, default=420.0,
                    help="stop after the epoch that crosses this many training seconds")
    ap.add_argument("--subsample", type=int, default=None,
                    help="seeded random subset (for a CPU smoke test; default: all of QM9)")
    ap.add_argument("--n-jobs", type=int, default=4, help="processes for the neighbour search")
    ap.add_argument("--out", default="benchmarks/results/qm9_full.jsonl")
    ap.add_argument("--log", default=None, help="per-epoch training log (JSON lines)")
    args = ap.parse_args()

    from cliffkit import CliffSplit, RandomSplit, evaluate, load_dataset
    from cliffkit.bench._cell import load_task
    from cliffkit.models import get_backbone
    from cliffkit.split import load_split
    from cliffkit.utils import to_jsonable

    t0 = time.perf_counter()
    # The whole dataset (every target) matches a split file from `cliffkit split qm9`;
    # a subsample is one target, as in the bench grid.
    ds = (load_dataset("qm9") if args.subsample is None
          else load_task("qm9", args.target, subsample=args.subsample))
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    if args.split:
        split = load_split(args.split, dataset=ds)
    elif args.method == "cliff":
        split = CliffSplit(targets=[args.target], random_state=args.seed,
                           n_jobs=args.n_jobs).make_split(ds)
    else:
        split = RandomSplit(targets=[args.target], random_state=args.seed).make_split(ds)
    t_split = time.perf_counter() - t0
    print(f"qm9: {len(ds)} molecules loaded in {t_load:.1f} s; {args.method} split "
          f"{len(split.train)}/{len(split.val)}/{len(split.test)} in {t_split:.1f} s", flush=True)

    budget_hit = []

    def stop_on_budget(epoch, val_pred):
        if time.perf_counter() - fit_start >= args.budget_s:
            budget_hit.append(epoch)
            return {"stop": True}
        return None

    train, val, test = (ds.subset(i) for i in (split.train, split.val, split.test))
    model = get_backbone(args.backbone, random_state=args.seed, epochs=args.epochs,
                         batch_size=args.batch_size, show_progress=False)
    fit_start = time.perf_counter()  # the budget counts from here (featurisation included)
    model.fit(train, val, target=args.target, epoch_callback=stop_on_budget,
              log_path=args.log)
    t_fit = time.perf_counter() - fit_start
    history = model.history_
    t0 = time.perf_counter()
    pred = model.predict(test)
    t_pred = time.perf_counter() - t0
    ev = evaluate(split, pred, dataset=ds, target=args.target, n_bootstrap=1000)
    print(ev.summary(), flush=True)

    ep_s = sorted(h["seconds"] for h in history)
    record = {
        "dataset": "qm9", "n_molecules": len(ds), "target": args.target,
        "units": ds.unit(args.target),
        "method": args.method, "seed": args.seed, "backbone": args.backbone,
        "params": to_jsonable(model.get_params()),
        "n_train": len(split.train), "n_val": len(split.val), "n_test": len(split.test),
        "epochs_run": len(history), "best_epoch": model.best_epoch_,
        "stopped_by": ("budget" if budget_hit else
                       "early stopping" if len(history) < args.epochs else "epoch cap"),
        "budget_s": args.budget_s, "fit_s": t_fit, "predict_s": t_pred,
        "load_s": t_load, "split_s": t_split,
        "median_epoch_s": ep_s[len(ep_s) // 2],
        "median_mol_per_s": sorted(h["mol_per_s"] for h in history)[len(history) // 2],
        "best_val_mae": model.best_val_mae_,
        "evaluation": to_jsonable(ev.to_dict()),
        "device": _device_name(), "host": platform.node(), "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    print(f"{args.backbone}: {len(history)} epochs ({record['stopped_by']}), "
          f"median {record['median_epoch_s']:.1f} s/epoch; wrote {out}", flush=True)


if __name__ == "__main__":
    main()
