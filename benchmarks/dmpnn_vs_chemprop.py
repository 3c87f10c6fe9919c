"""Our ``dmpnn`` against chemprop 2.3.1: epoch time on Lipophilicity; QM9 subsample runs.

Speed (default mode), in one run:
- the same random 80/10/10 split of Lipophilicity (cliffkit ``RandomSplit``, seed 0);
- the same model size: hidden 300, depth 3, mean aggregation, one 300-wide FFN layer,
  no dropout, batch size 64, MSE loss, CPU with the same number of torch threads;
- both featurise once before training (chemprop: ``MoleculeDataset.cache = True``, as
  its CLI does by default), so an epoch is training plus the validation pass;
- rounds alternate ours / chemprop so that machine load hits both alike; the figure is
  the median epoch time without each run's first epoch (warm-up).
chemprop runs in its own Python (its Lightning ``Trainer`` with a timing callback), as
this same file with ``--chemprop-worker``; point ``--chemprop-python`` at an environment
with chemprop 2.3.1 (default: the Python of ``CLIFFKIT_CHEMPROP``, else this one).

QM9 (``--qm9 N``): ``dmpnn`` and ``schnet`` end to end on a random subsample of N QM9
molecules (random 80/10/10 split, DFT geometries for SchNet), test MAE on ``--target``.

    python benchmarks/dmpnn_vs_chemprop.py --epochs 4 --rounds 2 -o bench_dmpnn.json
    python benchmarks/dmpnn_vs_chemprop.py --qm9 3000 --epochs 10 -o bench_qm9.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HIDDEN, DEPTH, BATCH = 300, 3, 64


# ------------------------------------------------------------------ chemprop side
def chemprop_worker(args: argparse.Namespace) -> None:
    """Train chemprop with its Python API and print per-epoch times as JSON."""
    import numpy as np
    import pandas as pd
    import torch
    from chemprop import data, featurizers, models, nn
    from lightning import pytorch as pl

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    frame = pd.read_csv(args.data)
    splits = json.loads(Path(args.splits).read_text())[0]
    points = [data.MoleculeDatapoint.from_smi(s, [y]) for s, y in
              zip(frame["smiles"], frame["target"], strict=True)]
    feat = featurizers.SimpleMoleculeMolGraphFeaturizer()
    train = data.MoleculeDataset([points[i] for i in splits["train"]], feat)
    val = data.MoleculeDataset([points[i] for i in splits["val"]], feat)
    t0 = time.perf_counter()
    train.cache = True
    val.cache = True
    featurize_s = time.perf_counter() - t0
    scaler = train.normalize_targets()
    val.normalize_targets(scaler)
    mp = nn.BondMessagePassing(d_h=HIDDEN, depth=DEPTH)
    ffn = nn.RegressionFFN(input_dim=mp.output_dim, hidden_dim=HIDDEN, n_layers=1,
                           output_transform=nn.UnscaleTransform.from_standard_scaler(scaler))
    model = models.MPNN(mp, nn.MeanAggregation(), ffn, batch_norm=False,
                        metrics=[nn.metrics.MAE()])
    train_loader = data.build_dataloader(train, batch_size=BATCH, num_workers=0, seed=0)
    val_loader = data.build_dataloader(val, batch_size=BATCH, num_workers=0, shuffle=False)
    times: list[float] = []
    maes: list[float] = []

    class Timer(pl.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.t = time.perf_counter()

        def on_train_epoch_end(self, trainer, module):  # after the validation pass
            times.append(time.perf_counter() - self.t)
            mae = trainer.callback_metrics.get("val/mae")
            maes.append(float(mae) if mae is not None else float("nan"))

    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=1,
                         max_epochs=args.epochs, callbacks=[Timer()], num_sanity_val_steps=0)
    trainer.fit(model, train_loader, val_loader)
    # Our own validation MAE in target units (predict_step unscales; raw targets).
    preds = torch.cat(trainer.predict(model, val_loader)).reshape(-1).numpy()
    y_val = frame["target"].to_numpy()[splits["val"]]
    final_val_mae = float(np.mean(np.abs(preds - y_val)))
    import chemprop

    print(json.dumps({"epoch_seconds": times, "val_mae": maes, "featurize_seconds": featurize_s,
                      "final_val_mae": final_val_mae,
                      "chemprop": chemprop.__version__, "torch": torch.__version__,
                      "n_train": len(train), "n_val": len(val),
                      "n_params": int(sum(p.numel() for p in model.parameters())),
                      "y_std": float(np.std(frame["target"].to_numpy()[splits["train"]]))}))


def _chemprop_python(given: str | None) -> str:
    if given:
        return given
    cmd = os.environ.get("CLIFFKIT_CHEMPROP")
    if cmd:
        exe = Path(shlex.split(cmd)[0])
        for name in ("python", "python3"):
            if (exe.parent / name).is_file():
                return str(exe.parent / name)
    return sys.executable


# ------------------------------------------------------------------ our side
def run_speed(args: argparse.Namespace) -> dict:
    import numpy as np
    import pandas as pd
    import torch

    from cliffkit.data import load_dataset
    from cliffkit.models import get_backbone
    from cliffkit.models._featurize import PackedGraphs
    from cliffkit.split import RandomSplit

    torch.set_num_threads(args.threads)
    ds = load_dataset("lipophilicity")
    split = RandomSplit(test_size=0.1, val_size=0.1, random_state=0).make_split(ds)
    train, val = ds.subset(split.train), ds.subset(split.val)
    work = Path(tempfile.mkdtemp(prefix="bench-dmpnn-"))
    pd.DataFrame({"smiles": ds.smiles, "target": ds.y[:, 0]}).to_csv(work / "data.csv",
                                                                     index=False)
    (work / "splits.json").write_text(json.dumps([{"train": split.train.tolist(),
                                                   "val": split.val.tolist(), "test": []}]))
    t0 = time.perf_counter()
    PackedGraphs.from_smiles(list(train.smiles))
    PackedGraphs.from_smiles(list(val.smiles))
    our_featurize = time.perf_counter() - t0
    py = _chemprop_python(args.chemprop_python)
    ours_runs, theirs_runs = [], []
    for r in range(args.rounds):
        model = get_backbone("dmpnn", hidden_channels=HIDDEN, num_layers=DEPTH,
                             batch_size=BATCH, epochs=args.epochs, patience=args.epochs,
                             device="cpu", random_state=r, show_progress=False)
        model.fit(train, val)
        ours_runs.append({"epoch_seconds": [h["seconds"] for h in model.history_],
                          "val_mae": [h["val_mae"] for h in model.history_]})
        print(f"round {r}: ours {ours_runs[-1]['epoch_seconds']}", file=sys.stderr)
        proc = subprocess.run([py, __file__, "--chemprop-worker", "--data",
                               str(work / "data.csv"), "--splits", str(work / "splits.json"),
                               "--epochs", str(args.epochs), "--threads", str(args.threads)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"chemprop worker failed:\n{proc.stderr[-3000:]}")
        theirs_runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"round {r}: chemprop {theirs_runs[-1]['epoch_seconds']}", file=sys.stderr)

    def steady(runs):
        return [t for run in runs for t in run["epoch_seconds"][1:]] or \
               [t for run in runs for t in run["epoch_seconds"]]

    ours_med = statistics.median(steady(ours_runs))
    theirs_med = statistics.median(steady(theirs_runs))
    return {
        "mode": "speed",
        "dataset": "lipophilicity",
        "n_train": len(train), "n_val": len(val),
        "hidden": HIDDEN, "depth": DEPTH, "batch_size": BATCH, "epochs": args.epochs,
        "rounds": args.rounds, "threads": args.threads,
        "ours": {"runs": ours_runs, "median_epoch_seconds": ours_med,
                 "featurize_seconds": our_featurize,
                 "n_params": int(sum(p.numel() for p in model.module_.parameters()))},
        "chemprop": {"runs": theirs_runs, "median_epoch_seconds": theirs_med,
                     "version": theirs_runs[0]["chemprop"],
                     "n_params": theirs_runs[0]["n_params"]},
        "ratio": ours_med / theirs_med,
        "torch": torch.__version__,
        # both sides run under the same value (the chemprop worker inherits it)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg(),
        "cpu_count": os.cpu_count(),
        "np": np.__version__,
    }


def run_qm9(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from cliffkit.data import load_dataset
    from cliffkit.models import get_backbone
    from cliffkit.split import RandomSplit

    torch.set_num_threads(args.threads)
    full = load_dataset("qm9")
    rows = np.sort(np.random.default_rng(0).permutation(len(full))[: args.qm9])
    ds = full.subset(rows, name="qm9")
    split = RandomSplit(test_size=0.1, val_size=0.1, random_state=0).make_split(ds)
    train, val, test = (ds.subset(getattr(split, k)) for k in ("train", "val", "test"))
    out = {"mode": "qm9", "n_subsample": args.qm9, "subsample_seed": 0, "target": args.target,
           "unit": ds.unit(args.target), "n_train": len(train), "n_val": len(val),
           "n_test": len(test), "epochs": args.epochs, "threads": args.threads, "models": {}}
    y_test = test.target(args.target)
    out["mean_predictor_mae"] = float(np.mean(np.abs(y_test - train.target(args.target).mean())))
    specs = {
        "dmpnn": {"hidden_channels": HIDDEN, "num_layers": DEPTH},
        "schnet": {"hidden_channels": 64, "num_filters": 64, "num_layers": 3, "cutoff": 5.0},
    }
    for name, params in specs.items():
        model = get_backbone(name, **params, epochs=args.epochs, patience=args.epochs,
                             device="cpu", random_state=0, show_progress=False)
        t0 = time.perf_counter()
        model.fit(train, val, target=args.target)
        fit_s = time.perf_counter() - t0
        pred = model.predict(test)
        out["models"][name] = {
            "params": params,
            "test_mae": float(np.mean(np.abs(pred - y_test))),
            "best_val_mae": float(model.best_val_mae_),
            "best_epoch": int(model.best_epoch_),
            "fit_seconds": fit_s,
            "median_epoch_seconds": statistics.median(h["seconds"] for h in model.history_),
            "geometry_counts": getattr(model, "geometry_counts_", None),
        }
        print(name, out["models"][name], file=sys.stderr)
    out["load_average"] = os.getloadavg()
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=4, help="Epochs per run.")
    p.add_argument("--rounds", type=int, default=2, help="Alternating ours/chemprop rounds.")
    p.add_argument("--threads", type=int, default=2, help="torch threads for both.")
    p.add_argument("--chemprop-python", default=None, help="Python with chemprop 2.3.1.")
    p.add_argument("--qm9", type=int, default=None, help="Run the QM9 subsample mode.")
    p.add_argument("--target", default="gap", help="QM9 target.")
    p.add_argument("-o", "--output", default=None, help="Write the results JSON here.")
    p.add_argument("--append", default=None,
                   help="Also append it as one line to this JSON-lines file "
                        "(benchmarks/results/dmpnn_vs_chemprop.jsonl).")
    p.add_argument("--chemprop-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--splits", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.chemprop_worker:
        chemprop_worker(args)
        return
    result = run_qm9(args) if args.qm9 else run_speed(args)
    text = json.dumps(result, indent=1)
    if args.output:
        Path(args.output).write_text(text + "\n")
    if args.append:
        with open(args.append, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")
    print(text)


if __name__ == "__main__":
    main()
