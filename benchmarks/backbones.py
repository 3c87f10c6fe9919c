"""Backbone sanity benchmark: random splits of ESOL, FreeSolv and Lipophilicity, GIN
throughput, and a QM9 subsample end to end.

Runs are ordered by priority (every dataset × backbone for seed 0, the QM9 subsample, then
seeds 1, 2, ...) and stop at ``--deadline``, so a loaded machine still yields a complete
first pass. Results are appended to a JSON-lines file (re-running skips finished runs), and
``--write-docs`` rewrites the "Backbones" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/backbones.py --deadline 19:10 \
        --out benchmarks/results/backbones.jsonl --write-docs docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import time
from pathlib import Path

import numpy as np

# Published test RMSE on random splits, checked 2026-11-24 (docs/benchmarks.md gives the
# per-model values and where they were read). MoleculeNet: Wu et al., Chem. Sci. 2018, 9, 513
# (RF/XGBoost; GC, Weave, MPNN). D-MPNN: the chemprop authors' README results (Yang et al.,
# J. Chem. Inf. Model. 2019, 59, 3370).
REFERENCE = {
    "esol": {"RF / XGBoost (MoleculeNet)": "0.99-1.07",
             "GC / Weave / MPNN (MoleculeNet)": "0.58-0.97",
             "D-MPNN (chemprop)": "0.555 ± 0.047"},
    "freesolv": {"RF / XGBoost (MoleculeNet)": "1.74-2.03",
                 "GC / Weave / MPNN (MoleculeNet)": "1.15-1.40",
                 "D-MPNN (chemprop)": "1.075 ± 0.054"},
    "lipophilicity": {"RF / XGBoost (MoleculeNet)": "0.80-0.88",
                      "GC / Weave / MPNN (MoleculeNet)": "0.655-0.719",
                      "D-MPNN (chemprop)": "0.555 ± 0.023"},
}
SOURCES_MD = """Sources, checked on 2026-11-24 against full-text copies (not from memory):
- MoleculeNet: Wu et al., *Chem. Sci.* 2018, 9, 513, random-split test RMSE. The values were read from two papers that reprint its table (Khasahmadi et al., ICLR 2020, Table 2; and a reproduction report of the arXiv v3 Table 8):
  - RF: 1.07 ± 0.19 / 2.03 ± 0.22 / 0.876 ± 0.040;
  - XGBoost: 0.99 ± 0.14 / 1.74 / 0.799 ± 0.054 (the FreeSolv value has the weakest support);
  - GC: 0.97 ± 0.01 / 1.40 ± 0.16 / 0.655 ± 0.036;
  - Weave: 0.61 ± 0.07 on ESOL and 0.715 ± 0.035 on Lipophilicity;
  - MPNN: 0.58 ± 0.03 / 1.15 ± 0.12 / 0.719.
- D-MPNN: the chemprop authors' README ("Results", MolNet splits, optimised hyper-parameters with RDKit features where useful, no ensembling). The JCIM 2019 paper's own tables (Yang et al., 59, 3370) could not be read, and other README versions list other values (e.g. 0.567 / 1.11 / 0.542), so the D-MPNN column is indicative.

"In band" uses a per-family threshold a little above the published range (fingerprint: ESOL 1.25, FreeSolv 2.4, Lipophilicity 0.95; graph: 1.1, 1.8, 0.85), since we run fewer epochs and no hyper-parameter search."""

# Per-family acceptance bands (RMSE) used to flag a "large miss": a bit wider than the
# published ranges, because we train with fewer epochs and no hyper-parameter search.
BANDS = {
    "fingerprint": {"esol": 1.25, "freesolv": 2.4, "lipophilicity": 0.95},
    "graph": {"esol": 1.1, "freesolv": 1.8, "lipophilicity": 0.85},
}
FAMILY = {"mlp": "fingerprint", "lgbm": "fingerprint", "gin": "graph", "dmpnn": "graph",
          "schnet": "graph"}
TARGET = {"esol": None, "freesolv": None, "lipophilicity": None, "qm9": "gap"}


def _split(n: int, seed: int, val: float = 0.1, test: float = 0.1):
    p = np.random.default_rng(seed).permutation(n)
    n_te, n_va = int(round(test * n)), int(round(val * n))
    return p[n_te + n_va:], p[n_te:n_te + n_va], p[:n_te]


def _variant_params(variant: str) -> dict:
    """``"hidden_channels=64,num_layers=3"`` → ``{"hidden_channels": 64, "num_layers": 3}``."""
    out = {}
    for item in filter(None, variant.split(",")):
        k, v = item.split("=")
        out[k] = int(v) if v.lstrip("-").isdigit() else float(v)
    return out


def _params(backbone: str, epochs: int, dataset: str) -> dict:
    if backbone == "lgbm":
        return {"n_jobs": 2}
    p = {"epochs": epochs, "patience": 10, "device": "cpu", "show_progress": False}
    if backbone == "schnet" and dataset != "qm9":
        p["epochs"] = max(5, epochs // 2)
    return p


def _load(name: str, qm9_n: int):
    from cliffkit.data import load_dataset

    ds = load_dataset(name)
    if name == "qm9":
        idx = np.sort(np.random.default_rng(0).permutation(len(ds))[:qm9_n])
        ds = ds.subset(idx, name=f"qm9[{qm9_n}]")
    return ds


def run_one(ds, dataset, backbone, seed, epochs, variant=""):
    from cliffkit.models import get_backbone

    tr, va, te = _split(len(ds), seed)
    target = TARGET[dataset]
    params = {**_params(backbone, epochs, dataset), **_variant_params(variant)}
    model = get_backbone(backbone, random_state=seed, **params)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(ds.subset(tr), ds.subset(va), target=target)
    fit_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
    pred = model.predict(ds.subset(te))
    y = ds.subset(te).target(target)
    err = pred - y
    return {
        "dataset": dataset, "backbone": backbone, "variant": variant, "seed": seed,
        "n_train": int(len(tr)), "n_test": int(len(te)),
        "rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err))),
        "epochs": len(getattr(model, "history_", [])),
        "best_epoch": getattr(model, "best_epoch_", None),
        "fit_s": fit_s, "cpu_s": cpu_s, "load1": os.getloadavg()[0],
        "params": repr(model),
    }


def throughput(epochs: int = 3, variant: str = "") -> dict:
    """GIN training throughput on Lipophilicity (train split; default parameters, or
    those of ``variant``), the trainer's own per-epoch figure (training pass only)."""
    import torch

    from cliffkit.models import get_backbone

    ds = _load("lipophilicity", 0)
    tr, va, _ = _split(len(ds), 0)
    model = get_backbone("gin", epochs=epochs, patience=epochs, device="cpu",
                         show_progress=False, **_variant_params(variant))
    c0 = time.process_time()
    model.fit(ds.subset(tr), ds.subset(va))
    cpu = time.process_time() - c0
    wall = [h["mol_per_s"] for h in model.history_]
    return {"kind": "throughput", "backbone": "gin", "variant": variant,
            "n_train": int(len(tr)), "torch_threads": torch.get_num_threads(), "epochs": epochs,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "unset"),
            "mol_per_s_epochs": [float(w) for w in wall],
            "mol_per_s_wall": float(np.median(wall)),
            "mol_per_cpu_s": float(len(tr) * epochs / cpu),
            "load1": os.getloadavg()[0], "params": repr(model)}


def loop_throughput(hidden: int, layers: int, batch: int, n: int = 2048) -> dict:
    """Training-loop-only GIN throughput on one thread, in molecules per CPU-second.

    CPU time, unlike wall time, is roughly independent of the other jobs on a shared
    machine (cache and hyper-thread contention still inflate it).
    """
    import torch

    from cliffkit.models import GIN, PackedGraphs

    ds = _load("lipophilicity", 0)
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        g = PackedGraphs.from_smiles(list(ds.smiles[:n]))
        m = GIN(hidden, layers, 0.1, "mean")
        opt = torch.optim.AdamW(m.parameters())
        gen = torch.Generator().manual_seed(0)
        rates = []
        for _ in range(3):
            c0 = time.process_time()
            for idx in torch.randperm(n, generator=gen).split(batch):
                loss = m(g.batch(idx)).square().mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            rates.append(n / (time.process_time() - c0))
    finally:
        torch.set_num_threads(prev)
    return {"kind": "loop", "backbone": "gin", "dataset": f"h{hidden}-L{layers}-b{batch}",
            "hidden_channels": hidden, "num_layers": layers, "batch_size": batch,
            "mol_per_cpu_s": float(np.median(rates)), "load1": os.getloadavg()[0]}


def _key(r):
    return (r.get("kind", "fit"), r.get("dataset"), r.get("backbone"), r.get("seed"),
            r.get("variant") or "")


def _gin_variant_label(r: dict) -> str:
    """A record's GIN variant, or for a default run the size it ran with (its ``params``)."""
    if r.get("variant"):
        return r["variant"]
    size = re.findall(r"\b(hidden_channels|num_layers)=(\d+)", r.get("params", ""))
    return "defaults (" + ", ".join(f"{k}={v}" for k, v in size) + ")" if size else "defaults"


def _label(r: dict) -> str:
    v = r.get("variant") or ""
    return r["backbone"] + (f" ({v.replace(',', ', ')})" if v else "")


def write_docs(results: list[dict], path: Path, args) -> None:
    fits = [r for r in results if r.get("kind", "fit") == "fit"]
    lines = ["## Backbones", "",
             "`benchmarks/backbones.py` (random 80/10/10 splits, seeds 0, 1, 2; default backbone "
             "parameters unless a variant is named; torch backbones at most "
             f"{args.epochs} epochs with patience 10, SchNet at most {max(5, args.epochs // 2)}; "
             "LightGBM up to 2,000 rounds with early stopping on validation MAE). Test RMSE, "
             "mean ± std over the seeds (n). Machine: "
             f"{platform.machine()}, {os.cpu_count()} cores; the load average of each run is in "
             "the raw file `benchmarks/results/backbones.jsonl`. Command:", "",
             "    .venv/bin/python benchmarks/backbones.py --backbones mlp,lgbm,gin,dmpnn,schnet "
             "--out benchmarks/results/backbones.jsonl --write-docs docs/benchmarks.md", "",
             "| dataset | backbone | n | test RMSE | test MAE | epochs | fit s | in band? |",
             "|---|---|---|---|---|---|---|---|"]
    groups: dict = {}
    for r in fits:
        groups.setdefault((r["dataset"], _label(r)), []).append(r)
    order = ["esol", "freesolv", "lipophilicity", "qm9"]
    for (d, b), rs in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1])):
        rm = np.array([r["rmse"] for r in rs])
        ma = np.array([r["mae"] for r in rs])
        band = BANDS.get(FAMILY.get(rs[0]["backbone"], "graph"), {}).get(d)
        ok = "—" if band is None else ("yes" if rm.mean() <= band else f"**no** (> {band})")
        unit = " eV" if d == "qm9" else ""
        lines.append(
            f"| {d} | {b} | {len(rs)} | {rm.mean():.3f} ± {rm.std():.3f}{unit} | "
            f"{ma.mean():.3f}{unit} | {np.mean([r['epochs'] for r in rs]):.0f} | "
            f"{np.mean([r['fit_s'] for r in rs]):.0f} | {ok} |")
    lines += ["", "The `fit s` column mixes machine states (some runs shared the 2 cores with "
              "other jobs); compare speed only in the throughput table below.", "",
              "Three seeds for all five backbones under the quick grid's capped epochs (and a "
              "small SchNet) are in [docs/results/README.md](results/README.md#random-split-"
              "sanity-check-three-seeds-test-rmse-plain-loss).", ""]
    lines += ["", "Published test RMSE on random splits that we compare with (ranges over the "
              "models of a family):", "",
              "| dataset | " + " | ".join(REFERENCE["esol"]) + " |",
              "|---|---|---|---|"]
    for d, refs in REFERENCE.items():
        lines.append(f"| {d} | " + " | ".join(refs.values()) + " |")
    lines += ["", SOURCES_MD + " The QM9 row is a 3,000-molecule subsample (gap, eV): an "
              "end-to-end check, not an accuracy claim.", ""]
    tp = [r for r in results if r.get("kind") == "throughput" and "omp_wait_policy" in r]
    if tp:
        lines += ["### GIN training throughput (Lipophilicity)", "",
                  "The trainer's own figure: training molecules per second of the training "
                  "pass (forward, backward, AdamW; the validation pass excluded), median over "
                  "3 epochs, Lipophilicity's 3,360 training molecules, batch 64, 2 torch "
                  "threads, on the 2-core machine with nothing else running "
                  "(`benchmarks/backbones.py --backbones gin --datasets none --no-qm9`; "
                  "one row per run). Target: 5,000 molecules/s on 2 cores.", "",
                  "| parameters | OMP_WAIT_POLICY | molecules/s | load average |",
                  "|---|---|---|---|"]
        for r in tp:
            lines.append(f"| {_gin_variant_label(r)} | "
                         f"{r['omp_wait_policy']} | {r['mol_per_s_wall']:,.0f} | "
                         f"{r['load1']:.1f} |")
        lines.append("")
    loops = [r for r in results if r.get("kind") == "loop"]
    if loops:
        lines += ["**GIN training loop, one thread** (Lipophilicity, 2,048 molecules, "
                  "forward + backward + AdamW, molecules per CPU-second; `--loop-throughput`; "
                  "measured on the loaded machine of an earlier session):",
                  "", "| hidden_channels | num_layers | batch_size | mol / CPU-s |",
                  "|---|---|---|---|"]
        for r in loops:
            lines.append(f"| {r['hidden_channels']} | {r['num_layers']} | {r['batch_size']} | "
                         f"{r['mol_per_cpu_s']:.0f} |")
        lines.append("")
    acc: dict = {}
    for r in fits:
        if r["backbone"] == "gin" and r["dataset"] != "qm9":
            label = _gin_variant_label(r)
            acc.setdefault(label, {}).setdefault(r["dataset"], []).append(r["rmse"])
    if len(acc) > 1:
        lines += ["**Speed against accuracy of `gin`** (test RMSE, mean over the seeds above):",
                  "", "| parameters | esol | freesolv | lipophilicity |", "|---|---|---|---|"]
        for v, by in sorted(acc.items()):
            cells = [f"{np.mean(by[d]):.3f} (n={len(by[d])})" if d in by else "—"
                     for d in ("esol", "freesolv", "lipophilicity")]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Notes:",
              "- **OpenMP wait policy.** Until this run the library set `OMP_WAIT_POLICY=PASSIVE` "
              "on import, because spinning threads made torch 10-20x slower while about ten "
              "processes shared the 2 cores. On cores that the process owns, passive waiting "
              "costs 1.8-2.7x (table above): a GNN step is hundreds of short kernels, and "
              "sleeping threads must be woken for each. cliffkit no longer touches the variable; "
              "on an oversubscribed machine set `OMP_WAIT_POLICY=PASSIVE` (or fewer threads) "
              "yourself. `cliffkit bench` workers run one thread each, where the policy does "
              "not matter.",
              "- **Why the default `gin` misses 5,000/s.** A profile of one epoch (torch "
              "profiler, 2 threads) puts 37% of the time in the dense matmuls of the node MLPs "
              "(each 1,730 × 128 @ 128 × 128 runs at about 190 GFLOP/s, near the 2 cores' fp32 "
              "peak), 21% in the edge messages (gather, add, ReLU, scatter and their "
              "backward), 8% in batch norm and 8% in the embeddings. The matmuls alone cap the "
              "default at about 7,500/s. bf16 autocast (the CPU has AVX-512 BF16) made the "
              "matmuls 30% faster and the step no faster (casts); `torch.compile` was slower "
              "(graph breaks in PyG's message passing); the fused AdamW kernel saved 4%. "
              "With `hidden_channels=64, num_layers=3` the target is met, at the accuracy "
              "cost in the table above; we keep the more accurate default.",
              "- **SchNet.** The plain `schnet` rows use this script's cap of 20 epochs: "
              "every run's best epoch was the last or nearly, and ESOL and Lipophilicity "
              "miss the graph band. Trained to its own defaults (`--variant "
              "epochs=100,patience=20`: up to 100 epochs, lr 5e-4), ESOL and FreeSolv are in "
              "band on all three seeds: undertraining, not a bug. Lipophilicity at the "
              "defaults was not run on this machine: 20 epochs took 770-840 s, so one "
              "100-epoch run is over an hour on the 2 cores; that is a GPU job.",
              "- ESOL is the hardest set for ECFP bit models (no size/count information): "
              "the `mlp` miss on seed 0 is not a tuning problem — dropout 0.2/0.5, lr 1e-3/3e-4, "
              "weight decay up to 1e-3 and a 1×256 network all gave 1.30-1.31 on seed 0 and "
              "1.15-1.18 on seed 1, and `lgbm` scores 1.14 on the same split. MoleculeNet's "
              "ECFP multitask network reports 1.12 ± 0.15.",
              "- `gin` defaults were set from this benchmark: sum pooling with batch 128 gave "
              "FreeSolv RMSE 2.30 (too few optimiser steps on 514 molecules, and sum pooling "
              "starts at a ~10× larger loss); mean pooling with batch 64 gives the figures above.",
              "- GIN batches are gathered from one packed tensor store with vectorised index "
              "arithmetic (no per-molecule Python after featurisation); featurisation is cached "
              "in-process.", ""]
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find("## Backbones")
    section = "\n".join(lines)
    if start >= 0:
        nxt = text.find("\n## ", start + 5)
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="esol,freesolv,lipophilicity")
    ap.add_argument("--backbones", default=None,
                    help="comma list (default: every registered backbone but schnet, chemprop)")
    ap.add_argument("--qm9-backbones", default=None,
                    help="comma list for the QM9 subsample (default: every registered one)")
    ap.add_argument("--loop-throughput", action="store_true",
                    help="only measure the one-thread GIN training loop (3 configurations)")
    ap.add_argument("--docs-only", action="store_true",
                    help="only rewrite the docs section from the results file")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--qm9-n", type=int, default=3000)
    ap.add_argument("--no-qm9", action="store_true")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument("--variant", default="",
                    help="backbone parameters for the fits, e.g. hidden_channels=64,num_layers=3 "
                         "(recorded with each result; use with --backbones)")
    ap.add_argument("--throughput-variants", default=";hidden_channels=64,num_layers=3",
                    help="';'-separated GIN parameter sets to time (empty = the defaults)")
    ap.add_argument("--deadline", default=None, help="HH:MM (UTC): start no run after it")
    ap.add_argument("--out", default="benchmarks/results/backbones.jsonl")
    ap.add_argument("--write-docs", default=None)
    args = ap.parse_args()

    from cliffkit.models import list_backbones

    backbones = (args.backbones.split(",") if args.backbones
                 else [b for b in list_backbones() if b not in ("schnet", "chemprop")])
    qm9_backbones = (args.qm9_backbones.split(",") if args.qm9_backbones
                     else [b for b in list_backbones() if b != "chemprop"])
    datasets = args.datasets.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results = [json.loads(s) for s in out.read_text().splitlines()] if out.exists() else []
    done = {_key(r) for r in results}
    if args.loop_throughput:
        for h, L, b in ((128, 4, 64), (128, 4, 128), (64, 3, 128)):
            r = loop_throughput(h, L, b)
            results.append(r)
            with out.open("a") as f:
                f.write(json.dumps(r) + "\n")
            print(json.dumps(r), flush=True)
        return
    if args.docs_only:
        write_docs(results, Path(args.write_docs or "docs/benchmarks.md"), args)
        return
    deadline = None
    if args.deadline:
        hh, mm = map(int, args.deadline.split(":"))
        now = dt.datetime.now(dt.UTC)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        if deadline <= now:  # a time past midnight
            deadline += dt.timedelta(days=1)

    def emit(r):
        results.append(r)
        with out.open("a") as f:
            f.write(json.dumps(r) + "\n")
        print(json.dumps({k: v for k, v in r.items() if k != "params"}), flush=True)

    def late():
        return deadline is not None and dt.datetime.now(dt.UTC) >= deadline

    if not args.no_throughput:
        for variant in args.throughput_variants.split(";"):
            if ("throughput", None, "gin", None, variant) not in done:
                emit(throughput(variant=variant))
    plan = []
    for i, seed in enumerate(seeds):
        plan += [(d, b, seed) for d in datasets for b in backbones]
        if i == 0 and not args.no_qm9:
            plan += [("qm9", b, 0) for b in qm9_backbones]
    cache = {}
    for d, b, seed in plan:
        if ("fit", d, b, seed, args.variant) in done:
            continue
        if late():
            print(f"deadline reached; skipped the rest from {d}/{b}/seed {seed}")
            break
        try:
            if d not in cache:
                cache[d] = _load(d, args.qm9_n)
            emit(run_one(cache[d], d, b, seed, args.epochs, args.variant))
        except Exception as exc:  # noqa: BLE001 - record and go on
            print(f"FAILED {d}/{b}/seed {seed}: {type(exc).__name__}: {exc}", flush=True)
    if args.write_docs:
        write_docs(results, Path(args.write_docs), args)
    print("max RSS MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
