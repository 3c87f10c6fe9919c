"""CliffLoss benchmark: loss overhead, and the effect on the Lipophilicity CliffSplit.

Usage::

    .venv/bin/python benchmarks/cliffloss.py overhead [--out benchmarks/results/cliffloss_overhead.json]
    .venv/bin/python benchmarks/cliffloss.py effect --backbones mlp,lgbm,gin,dmpnn --seeds 0,1,2 \
        [--max-epochs 30] [--out benchmarks/results/cliffloss_effect.jsonl]
    .venv/bin/python benchmarks/cliffloss.py summarize benchmarks/results/cliffloss_effect.jsonl

``overhead`` times one training epoch of an ECFP MLP on Lipophilicity-sized data with
(a) a plain ``l1_loss``, (b) CliffLoss with precomputed weights and (c) CliffLoss with the
pair term and :class:`PairBatchSampler`, interleaved, and reports medians.

``effect`` trains every backbone with every loss variant (and a λ / β sweep) on one
CliffSplit of Lipophilicity for several seeds, evaluates MAE per validation/test stratum
and appends one JSON line per run (resumable: finished runs are skipped).
``summarize`` turns the lines into the tables of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


# ----------------------------------------------------------------------------- overhead
def _lipo_like(n_train: int, seed: int = 0):
    """ECFP bits and labels of Lipophilicity when the loaders are in place, else random bits."""
    try:
        from cliffkit.data import load_dataset
        from cliffkit.similarity import compute_fingerprints

        ds = load_dataset("lipophilicity")
        fps = compute_fingerprints(ds.smiles.tolist())
        x = np.unpackbits(fps, axis=1)[:n_train].astype(np.float32)
        y = ds.target(None)[:n_train]
        return x, y, "lipophilicity"
    except Exception:  # noqa: BLE001 - benchmark fallback
        rng = np.random.default_rng(seed)
        x = (rng.random((n_train, 2048)) < 0.03).astype(np.float32)
        y = rng.normal(2.2, 1.2, n_train)
        return x, y, "random"


def run_overhead(args) -> dict:
    import torch
    from torch import nn

    from cliffkit.loss import CliffLoss, PairBatchSampler, cliff_weights, pair_positions

    torch.set_num_threads(args.threads)
    n, bs = args.n_train, args.batch_size
    x_np, y_np, source = _lipo_like(n)
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(((y_np - y_np.mean()) / y_np.std()).astype(np.float32))
    rng = np.random.default_rng(0)
    sev = rng.gamma(1.0, 0.3, n)
    w = torch.from_numpy(cliff_weights(sev, 0.1).astype(np.float32))
    n_pairs = int(args.pair_fraction * n)
    pairs = np.sort(rng.choice(n, size=(n_pairs, 2)), axis=1)
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    pairs_t = torch.from_numpy(pairs)

    def make_model():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(2048, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                             nn.Linear(256, 1))

    def epoch(model, opt, batches, mode, loss_mod):
        for idx in batches:
            idx_t = torch.as_tensor(idx, dtype=torch.long)
            pred = model(x[idx_t])[:, 0]
            if mode == "plain":
                loss = nn.functional.l1_loss(pred, y[idx_t])
            elif mode == "cliff":
                loss = loss_mod(pred, y[idx_t], weight=w[idx_t])
            else:
                pi = pair_positions(idx_t, pairs_t, n)
                loss = loss_mod(pred, y[idx_t], weight=w[idx_t], pair_index=pi)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    modes = {"plain": None, "cliff": CliffLoss(base="l1"), "cliff-pair": CliffLoss(base="l1", beta=0.5)}
    models = {m: make_model() for m in modes}
    opts = {m: torch.optim.AdamW(models[m].parameters(), lr=1e-3) for m in modes}
    sampler = PairBatchSampler(n, pairs, bs, random_state=0)
    times: dict[str, list[float]] = {m: [] for m in modes}
    perm_rng = np.random.default_rng(1)
    for rep in range(args.repeats + 1):
        order = list(modes)
        perm_rng.shuffle(order)
        for m in order:
            if m == "cliff-pair":
                batches = list(sampler)  # sampler cost counted below
                t0 = time.perf_counter()
                batches = list(sampler)
            else:
                t0 = time.perf_counter()
                p = perm_rng.permutation(n)
                batches = [p[i:i + bs] for i in range(0, n, bs)]
            epoch(models[m], opts[m], batches, m, modes[m])
            dt = time.perf_counter() - t0
            if rep > 0:  # first round is warm-up
                times[m].append(dt)
    med = {m: float(np.median(t)) for m, t in times.items()}
    out = {
        "source": source, "n_train": n, "batch_size": bs, "n_pairs": int(len(pairs)),
        "threads": args.threads, "repeats": args.repeats,
        "median_epoch_s": med,
        "ratio_cliff": med["cliff"] / med["plain"],
        "ratio_cliff_pair": med["cliff-pair"] / med["plain"],
        "pair_coverage": sampler.pair_coverage_,
        "all_s": times,
    }
    print(json.dumps({k: v for k, v in out.items() if k != "all_s"}, indent=2))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("overhead", help="time plain vs CliffLoss epochs")
    o.add_argument("--n-train", type=int, default=3360)
    o.add_argument("--batch-size", type=int, default=64)
    o.add_argument("--pair-fraction", type=float, default=0.5, help="pairs per training molecule")
    o.add_argument("--repeats", type=int, default=9)
    o.add_argument("--threads", type=int, default=1)
    o.add_argument("--out", default=str(RESULTS / "cliffloss_overhead.json"))
    e = sub.add_parser("effect", help="train backbones x losses x seeds on the Lipophilicity CliffSplit")
    _effect_args(e)
    s = sub.add_parser("summarize", help="tables from an effect JSONL file")
    s.add_argument("path")
    s.add_argument("--markdown", default=None, help="write the tables to this file")
    args = ap.parse_args(argv)
    if args.cmd == "overhead":
        out = run_overhead(args)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2))
        return 0
    if args.cmd == "effect":
        return run_effect(args)
    return summarize(args)


def _effect_args(e) -> None:  # filled in below
    pass


def run_effect(args) -> int:  # filled in below
    raise NotImplementedError


def summarize(args) -> int:  # filled in below
    raise NotImplementedError


if __name__ == "__main__":
    os.environ.setdefault("CLIFFKIT_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    sys.exit(main())
