"""What one cell of the ``qm9-full`` grid costs on CPU: issue 20's cost table.

Runs the bench's own cell function (:func:`cliffkit.bench._cell.run_cell`) on one cell
of the ``qm9-full`` config (all of QM9, one target, one split, one seed), optionally
with a capped budget (``--epochs`` for torch backbones, ``--n-estimators`` for lgbm) so
that a fraction of a cell can be timed and the rest extrapolated from the measured time
per epoch or per boosting round. The split is the one the grid computes for that cell
(:func:`cliffkit.bench._cell.compute_split`), made once and kept in ``--work``.

``--threads`` sets the threads a cell gets (OMP/MKL and torch); ``cliffkit bench
--n-jobs 2`` on 2 cores gives each worker process 1 thread, hence the default.

One JSON line per run goes to ``--out``: wall and CPU seconds, the cell's timing
breakdown, epochs or rounds run, seconds per epoch/round, the 1-minute load average
before and after, and the test MAE (so a fraction is not mistaken for a result: the
record says ``"capped": true``).

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/qm9_cost.py \
        --backbone lgbm --target gap --n-estimators 200

``--svm-train N`` instead times a Tanimoto-kernel SVR (the ``svm`` backbone, one C) on
the first ``N`` training molecules of the split, to see whether ``svm`` scales to full
QM9 (kernel memory grows as N^2, libsvm time between N^2 and N^3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cpu() -> float:
    """CPU seconds of this process and its finished children (fingerprint workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default="lgbm", choices=["lgbm", "mlp", "svm", "gin", "dmpnn"])
    ap.add_argument("--loss", default="plain")
    ap.add_argument("--target", default="gap", choices=["homo", "lumo", "gap"])
    ap.add_argument("--split", default="cliff", choices=["cliff", "random"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--config", default="qm9-full", help="grid config the cell is taken from")
    ap.add_argument("--epochs", type=int, default=None, help="cap torch epochs (a fraction)")
    ap.add_argument("--n-estimators", type=int, default=None, help="cap lgbm rounds (a fraction)")
    ap.add_argument("--svm-train", type=int, default=None,
                    help="time one SVR fit (svm backbone, C=1) on this many training molecules")
    ap.add_argument("--threads", type=int, default=1, help="threads per cell")
    ap.add_argument("--work", default="benchmarks/_out/qm9_cost_splits",
                    help="where the split file is kept (not in git: 14 MB)")
    ap.add_argument("--out", default="benchmarks/results/qm9_cost.jsonl")
    args = ap.parse_args(argv)

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import torch

    torch.set_num_threads(args.threads)

    from cliffkit.bench import load_config
    from cliffkit.bench._cell import compute_split, load_task, run_cell

    grid = load_config(args.config)
    cells = [c for c in grid.cells()
             if (c.dataset, c.target, c.split, c.loss, c.seed)
             == ("qm9", args.target, args.split, args.loss, args.seed)]
    if not cells:
        print(f"no such cell in {args.config}", file=sys.stderr)
        return 2
    cell = cells[0]
    if args.svm_train is None and cell.backbone != args.backbone:
        # a backbone outside the config (a GNN timed on CPU): the same cell, its defaults
        cell.backbone = args.backbone
        cell.backbone_params = dict(grid.backbone_params.get(args.backbone, {}))
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    split_path = work / f"{cell.split_spec.key}.json"
    split_s = None
    if not split_path.is_file():
        t0 = time.perf_counter()
        compute_split(cell.split_spec).save(split_path)
        split_s = time.perf_counter() - t0
        print(f"split {split_path.name}: {split_s:.1f} s", flush=True)

    record: dict = {"backbone": args.backbone, "loss": args.loss, "target": args.target,
                    "split": args.split, "seed": args.seed, "threads": args.threads,
                    "split_s": split_s, "load_before": _load()}
    if args.svm_train is not None:
        record.update(_time_svm(cell, split_path, args.svm_train, load_task))
    else:
        params = dict(cell.backbone_params)
        if args.epochs is not None:
            params["epochs"] = args.epochs
        if args.n_estimators is not None:
            params["n_estimators"] = args.n_estimators
        cell.backbone_params = params
        cpu = _phase_cpu_timers()
        t0, c0 = time.perf_counter(), _cpu()
        res = run_cell(cell, split_path)
        wall, cpu_total = time.perf_counter() - t0, _cpu() - c0
        timing = res.extra["timing"]
        n_ep = res.extra["n_epochs"]
        record.update({
            "capped": args.epochs is not None or args.n_estimators is not None,
            "backbone_params": params, "wall_s": wall, "cpu_s": cpu_total,
            "cpu_phases_s": cpu, "timing": timing,
            "n_epochs": n_ep, "best_epoch": res.extra["best_epoch"],
            "test_mae": res.metrics["overall"]["mae"], "ratio": res.metrics.get("ratio"),
            "n_train": res.metrics["n_train"],
        })
    record.update({
        "load_after": _load(), "max_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
        "cpu_count": os.cpu_count(), "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(), "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    })
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=1), flush=True)
    return 0


def _phase_cpu_timers() -> dict:
    """CPU seconds of the fit, the test predictions and the evaluation of a cell.

    Wall time on a shared machine says little (other processes take the cores), so the
    phases are also timed in CPU seconds of this process and its fingerprint workers: the fit, prediction and
    evaluation functions that :func:`cliffkit.experiment.run_experiment` calls are wrapped
    (a measurement script only; the library is not changed).
    """
    import cliffkit.evaluate
    import cliffkit.experiment._experiment as exp

    cpu: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            c0 = _cpu()
            try:
                return fn(*a, **kw)
            finally:
                cpu[name] = cpu.get(name, 0.0) + _cpu() - c0
        return wrapper

    exp.fit = timed("fit", exp.fit)
    exp.predict_test = timed("predict", exp.predict_test)
    cliffkit.evaluate.evaluate = timed("evaluate", cliffkit.evaluate.evaluate)
    return cpu


def _time_svm(cell, split_path: Path, n_train: int, load_task) -> dict:
    """One SVR fit (C=1, precomputed Tanimoto kernel) on the first ``n_train`` training
    molecules; the kernel and the fit are timed apart."""
    import numpy as np

    from cliffkit.models._svm import SVMBackbone, tanimoto_kernel
    from cliffkit.split import load_split

    ds = load_task(cell.dataset, cell.target, cell.subsample, cell.subsample_seed)
    split = load_split(split_path, dataset=ds)
    tr = np.asarray(split.train)[:n_train]
    va = np.asarray(split.val)[:2000]
    y = ds.target(cell.target)
    model = SVMBackbone(C=1.0)
    t0, c0 = time.perf_counter(), _cpu()
    x_tr = model._bits(list(ds.smiles[tr]))
    x_va = model._bits(list(ds.smiles[va]))
    t_bits, c_bits = time.perf_counter() - t0, _cpu() - c0
    t0, c0 = time.perf_counter(), _cpu()
    # row blocks of the library's kernel: the same values, a third of the peak memory
    k_tr = np.empty((len(tr), len(tr)))
    for i in range(0, len(tr), 2000):
        k_tr[i:i + 2000] = tanimoto_kernel(x_tr[i:i + 2000], x_tr)
    k_va = tanimoto_kernel(x_va, x_tr)
    t_kernel, c_kernel = time.perf_counter() - t0, _cpu() - c0
    from sklearn.svm import SVR

    t0, c0 = time.perf_counter(), _cpu()
    svr = SVR(kernel="precomputed", C=1.0, epsilon=0.1).fit(k_tr, y[tr])
    t_fit, c_fit = time.perf_counter() - t0, _cpu() - c0
    pred = svr.predict(k_va)
    return {"svm_train": int(n_train), "bits_s": t_bits, "kernel_s": t_kernel, "fit_s": t_fit,
            "bits_cpu_s": c_bits, "kernel_cpu_s": c_kernel, "fit_cpu_s": c_fit,
            "n_support": int(svr.support_.size), "kernel_gb": k_tr.nbytes / 1e9,
            "val_mae_2000": float(np.mean(np.abs(pred - y[va])))}


if __name__ == "__main__":
    sys.exit(main())
