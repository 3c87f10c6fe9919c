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
    """ECFP bits, labels, train-only severity and cliff pairs of the first ``n_train``
    Lipophilicity molecules (random bits and pairs when the data is not available)."""
    try:
        from cliffkit.data import load_dataset
        from cliffkit.loss import cliff_severity
        from cliffkit.similarity import compute_fingerprints

        ds = load_dataset("lipophilicity")
        fps = compute_fingerprints(ds.smiles.tolist())
        x = np.unpackbits(fps, axis=1)[:n_train].astype(np.float32)
        y = ds.target(None)[:n_train]
        sev, pairs = cliff_severity(ds, None, np.arange(n_train), return_pairs=True)
        return x, y, sev.severity, pairs, "lipophilicity"
    except Exception:  # noqa: BLE001 - benchmark fallback
        rng = np.random.default_rng(seed)
        x = (rng.random((n_train, 2048)) < 0.03).astype(np.float32)
        y = rng.normal(2.2, 1.2, n_train)
        pairs = np.sort(rng.choice(n_train, size=(n_train, 2)), axis=1)
        pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
        return x, y, rng.gamma(1.0, 0.3, n_train), pairs, "random"


def run_overhead(args) -> dict:
    import torch
    from torch import nn

    from cliffkit.loss import CliffLoss, PairBatchSampler, cliff_weights, pair_positions

    torch.set_num_threads(args.threads)
    n, bs = args.n_train, args.batch_size
    x_np, y_np, sev, pairs, source = _lipo_like(n)
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(((y_np - y_np.mean()) / y_np.std()).astype(np.float32))
    w = torch.from_numpy(cliff_weights(sev, 0.1).astype(np.float32))
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
    best = {m: float(np.min(t)) for m, t in times.items()}
    # the loss alone (forward + backward on a batch of predictions), load-independent share
    loss_us = {}
    idx_t = torch.as_tensor(next(iter(PairBatchSampler(n, pairs, bs, random_state=1))))
    pi = pair_positions(idx_t, pairs_t, n)
    pred = torch.randn(idx_t.numel(), requires_grad=True)
    for m, fn in {
        "plain": lambda: nn.functional.l1_loss(pred, y[idx_t]),
        "cliff": lambda: modes["cliff"](pred, y[idx_t], weight=w[idx_t]),
        "cliff-pair": lambda: modes["cliff-pair"](pred, y[idx_t], weight=w[idx_t],
                                                  pair_index=pair_positions(idx_t, pairs_t, n)),
    }.items():
        reps = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(200):
                fn().backward()
            reps.append((time.perf_counter() - t0) / 200 * 1e6)
        loss_us[m] = float(np.min(reps))
    n_batches = -(-n // bs)
    out = {
        "source": source, "n_train": n, "batch_size": bs, "n_pairs": int(len(pairs)),
        "threads": args.threads, "repeats": args.repeats,
        "median_epoch_s": med,
        "ratio_cliff": med["cliff"] / med["plain"],
        "ratio_cliff_pair": med["cliff-pair"] / med["plain"],
        "min_epoch_s": best,
        "ratio_cliff_min": best["cliff"] / best["plain"],
        "ratio_cliff_pair_min": best["cliff-pair"] / best["plain"],
        "loss_us_per_batch": loss_us,
        "in_batch_pairs": int(pi.shape[1]),
        "loss_extra_share_cliff": (loss_us["cliff"] - loss_us["plain"]) * n_batches / 1e6 / best["plain"],
        "loss_extra_share_cliff_pair": (loss_us["cliff-pair"] - loss_us["plain"]) * n_batches / 1e6 / best["plain"],
        "pair_coverage": sampler.pair_coverage_,
        "loadavg": os.getloadavg(),
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
    o.add_argument("--repeats", type=int, default=9)
    o.add_argument("--threads", type=int, default=1)
    o.add_argument("--out", default=str(RESULTS / "cliffloss_overhead.json"))
    e = sub.add_parser("effect", help="train backbones x losses x seeds on the Lipophilicity CliffSplit")
    _effect_args(e)
    s = sub.add_parser("summarize", help="tables from an effect JSONL file")
    s.add_argument("path", nargs="+")
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


# ------------------------------------------------------------------------------- effect
# (name, loss, params, tier): tier 0 = the main comparison, 1 = the sweeps
VARIANTS = [
    ("plain", "plain", {}, 0),
    ("cliff", "cliff", {"lam": 0.1}, 0),
    ("cliff-adaptive", "cliff-adaptive", {"lam": 0.1}, 0),
    ("cliff-pair", "cliff-pair", {"lam": 0.1, "beta": 0.5}, 0),
    ("random-weights", "random-weights", {"lam": 0.1}, 0),
    ("lds", "lds", {}, 0),
    ("cliff-lam0.3", "cliff", {"lam": 0.3}, 1),
    ("cliff-lam1", "cliff", {"lam": 1.0}, 1),
    ("cliff-lam3", "cliff", {"lam": 3.0}, 1),
    ("random-lam1", "random-weights", {"lam": 1.0}, 1),
    ("random-lam3", "random-weights", {"lam": 3.0}, 1),
    ("pair-only-b0.5", "plain", {"beta": 0.5}, 1),
    ("cliff-pair-b0.1", "cliff-pair", {"lam": 0.1, "beta": 0.1}, 1),
    ("cliff-pair-b1", "cliff-pair", {"lam": 0.1, "beta": 1.0}, 1),
    ("cliff-pair-b2", "cliff-pair", {"lam": 0.1, "beta": 2.0}, 1),
    ("cliff-pair-b5", "cliff-pair", {"lam": 0.1, "beta": 5.0}, 1),
    ("pair-only-b2", "plain", {"beta": 2.0}, 1),
    ("cliff-pair-lam1-b0.5", "cliff-pair", {"lam": 1.0, "beta": 0.5}, 1),
    ("cliff-lam1-mean", "cliff", {"lam": 1.0, "normalize": False}, 1),
    ("cliff-lam3-mean", "cliff", {"lam": 3.0, "normalize": False}, 1),
    ("cliff-pair-q0.5", "cliff-pair", {"lam": 0.1, "beta": 0.5, "pair_quantile": 0.5}, 1),
    ("cliff-pair-q0.95", "cliff-pair", {"lam": 0.1, "beta": 0.5, "pair_quantile": 0.95}, 1),
    ("all-pairs-b2", "cliff-pair", {"lam": 0.1, "beta": 2.0, "pair_quantile": 0.0}, 1),
]


def _effect_args(e) -> None:
    e.add_argument("--dataset", default="lipophilicity")
    e.add_argument("--target", default=None)
    e.add_argument("--backbones", default="mlp,lgbm,gin,dmpnn")
    e.add_argument("--seeds", default="0,1,2")
    e.add_argument("--split-seed", type=int, default=0)
    e.add_argument("--max-epochs", type=int, default=25, help="epochs of the mlp")
    e.add_argument("--graph-epochs", type=int, default=4, help="epochs of gin / dmpnn")
    e.add_argument("--patience", type=int, default=6)
    e.add_argument("--order", choices=["backbone", "seed"], default="backbone",
                   help="loop order inside a tier: backbone-major or seed-major")
    e.add_argument("--threads", type=int, default=1, help="torch threads")
    e.add_argument("--variants", default=None, help="comma-separated variant names to run (default: all)")
    e.add_argument("--tiers", default="0,1", help="variant tiers to run (0 main, 1 sweeps)")
    e.add_argument("--sweep-backbones", default="mlp,lgbm", help="backbones that get tier 1")
    e.add_argument("--deadline", default=None, help="UTC HH:MM; no new run starts after it")
    e.add_argument("--split-file", default=str(RESULTS / "lipophilicity_cliffsplit.json"))
    e.add_argument("--out", default=str(RESULTS / "cliffloss_effect.jsonl"))


# benchmark sizes (smaller than the defaults: a loaded 2-core CPU machine)
BB_PARAMS = {
    "mlp": {"hidden_channels": 128, "num_layers": 2, "batch_size": 128},
    "gin": {"hidden_channels": 64, "num_layers": 3, "batch_size": 128},
    "dmpnn": {"hidden_channels": 128, "num_layers": 3, "batch_size": 128},
}


def _backbone_params(name: str, seed: int, args) -> dict:
    if name == "lgbm":
        return {"random_state": seed}
    epochs = args.max_epochs if name == "mlp" else args.graph_epochs
    return {**BB_PARAMS.get(name, {}), "random_state": seed, "epochs": epochs,
            "patience": args.patience, "show_progress": False}


class _FallbackLGBM:
    """LightGBM on ECFP for this benchmark, used only while ``cliffkit.models`` has no ``lgbm``.

    Trains in blocks of ``block`` rounds (continuing the booster) so that an
    ``epoch_callback`` can change the sample weights between blocks (adaptive λ); keeps the
    block with the best validation MAE (early stopping at block granularity).
    """

    def __init__(self, random_state=0, n_blocks=8, block=100, learning_rate=0.05,
                 num_leaves=31):
        self.random_state = random_state
        self.n_blocks = n_blocks
        self.block = block
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves

    @staticmethod
    def _x(ds):
        from cliffkit.similarity import compute_fingerprints

        return np.unpackbits(compute_fingerprints(ds.smiles.tolist()), axis=1).astype(np.float32)

    def fit(self, train, val, *, target=None, sample_weight=None, epoch_callback=None, **kw):
        import lightgbm as lgb

        if kw.get("loss") is not None or kw.get("pairs") is not None:
            raise ValueError("LightGBM cannot train a pairwise term")
        xt, xv = self._x(train), self._x(val)
        yt, yv = train.target(target), val.target(target)
        params = {"objective": "regression", "learning_rate": self.learning_rate,
                  "num_leaves": self.num_leaves, "seed": self.random_state,
                  "deterministic": True, "num_threads": 1, "verbose": -1,
                  "feature_fraction": 0.5, "bagging_fraction": 0.8, "bagging_freq": 1}
        w = sample_weight
        booster = None
        best = (np.inf, 0)
        self.history_ = []
        for blk in range(1, self.n_blocks + 1):
            dtrain = lgb.Dataset(xt, yt, weight=w, free_raw_data=False)
            booster = lgb.train(params, dtrain, num_boost_round=self.block, init_model=booster,
                                keep_training_booster=True)
            pv = booster.predict(xv)
            mae = float(np.mean(np.abs(pv - yv)))
            self.history_.append({"block": blk, "val_mae": mae})
            if mae < best[0]:
                best = (mae, blk * self.block)
            if epoch_callback is not None:
                out = epoch_callback(blk, pv) or {}
                if out.get("sample_weight") is not None:
                    w = out["sample_weight"]
        self.booster_ = booster
        self.best_iteration_ = best[1]
        self.best_epoch_ = best[1]
        return self

    def predict(self, ds):
        return self.booster_.predict(self._x(ds), num_iteration=self.best_iteration_)


def _past(deadline: str | None) -> bool:
    if not deadline:
        return False
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    hh, mm = (int(x) for x in deadline.split(":"))
    return (now.hour, now.minute) >= (hh, mm)


def _stratum_metrics(pred, y, strata) -> dict:
    err = np.abs(np.asarray(pred) - np.asarray(y))
    out = {"mae": float(err.mean()), "n": int(err.size)}
    for s in ("cliff", "smooth", "intermediate", "unsupported"):
        m = strata == s
        out[f"mae_{s}"] = float(err[m].mean()) if m.any() else float("nan")
        out[f"n_{s}"] = int(m.sum())
    out["gap"] = out["mae_cliff"] - out["mae_smooth"]
    out["ratio"] = out["mae_cliff"] / out["mae_smooth"]
    return out


def _get_split(ds, args, target):
    from cliffkit.split import CliffSplit, load_split

    path = Path(args.split_file)
    if path.exists():
        return load_split(path, dataset=ds)
    res = CliffSplit(random_state=args.split_seed).make_split(ds)
    path.parent.mkdir(parents=True, exist_ok=True)
    res.save(path)
    return res


def run_effect(args) -> int:
    import warnings

    from cliffkit.data import load_dataset
    from cliffkit.loss import cliff_severity, make_loss
    from cliffkit.models import get_backbone

    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out_path.exists():
        for line in out_path.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                done.add((r["backbone"], r["variant"], r["seed"]))
    ds = load_dataset(args.dataset)
    t = ds.target_index(args.target)
    tname = ds.target_names[t]
    y = ds.y[:, t]
    t0 = time.perf_counter()
    split = _get_split(ds, args, tname)
    train, val, test = (np.asarray(a, dtype=np.int64) for a in (split.train, split.val, split.test))
    st_val = np.asarray(split.strata(tname, subset="val"))
    st_test = np.asarray(split.strata(tname, subset="test"))
    sev, pairs = cliff_severity(ds, y, train, return_pairs=True)
    pair_cache = {0.8: pairs}
    prep_s = time.perf_counter() - t0
    print(f"split + train severity: {prep_s:.1f} s; n_train={train.size} n_val={val.size} "
          f"n_test={test.size}; train pairs={len(pairs)}; test strata "
          f"{ {s: int((st_test == s).sum()) for s in ('cliff', 'smooth')} }", flush=True)
    tr_ds, va_ds, te_ds = ds.subset(train), ds.subset(val), ds.subset(test)
    backbones = [b for b in args.backbones.split(",") if b]
    sweep_bb = set(args.sweep_backbones.split(","))
    seeds = [int(s) for s in args.seeds.split(",")]
    tiers = {int(x) for x in args.tiers.split(",")}
    plan = []
    for tier in sorted(tiers):
        combos = [(bb, seed) for bb in backbones for seed in seeds]
        if args.order == "seed":
            combos = [(bb, seed) for seed in seeds for bb in backbones]
        for bb, seed in combos:
            if tier > 0 and bb not in sweep_bb:
                continue
            for vname, lname, params, vt in VARIANTS:
                if args.variants and vname not in args.variants.split(","):
                    continue
                if vt == tier:
                    plan.append((bb, vname, lname, params, seed))
    import torch

    torch.set_num_threads(args.threads)
    missing = set()
    for bb, vname, lname, params, seed in plan:
        if (bb, vname, seed) in done:
            continue
        if _past(args.deadline):
            print(f"deadline {args.deadline} UTC reached; stopping", flush=True)
            break
        q = params.get("pair_quantile", 0.8)
        if q not in pair_cache:
            pair_cache[q] = cliff_severity(ds, y, train, return_pairs=True, pair_quantile=q)[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec = make_loss(lname, y[train], severity=sev, pairs=pair_cache[q], y_val=y[val],
                             val_cliff_mask=st_val == "cliff", val_smooth_mask=st_val == "smooth",
                             random_state=seed, **params)
        if bb in missing:
            continue
        try:
            model = get_backbone(bb, **_backbone_params(bb, seed, args))
        except Exception as exc:  # noqa: BLE001 - a backbone not available yet
            if bb != "lgbm":
                print(f"skip backbone {bb}: {exc}", flush=True)
                missing.add(bb)
                continue
            model = _FallbackLGBM(random_state=seed)
        try:
            kw = spec.fit_kwargs(model)
        except Exception as exc:  # noqa: BLE001 - e.g. a pair term on lgbm
            print(f"skip {bb} {vname}: {exc}", flush=True)
            continue
        t1 = time.perf_counter()
        model.fit(tr_ds, va_ds, target=tname, **kw)
        fit_s = time.perf_counter() - t1
        rec = {
            "backbone": bb, "variant": vname, "loss": lname, "params": params, "seed": seed,
            "impl": type(model).__name__,
            "fit_s": fit_s, "n_epochs": len(getattr(model, "history_", []) or []),
            "best_epoch": getattr(model, "best_epoch_", None),
            "test": _stratum_metrics(model.predict(te_ds), y[test], st_test),
            "val": _stratum_metrics(model.predict(va_ds), y[val], st_val),
            "lambda_trajectory": [h["lam"] for h in spec.history] if spec.adaptive else None,
            "n_pairs": int(spec.pairs.shape[0]) if spec.uses_pairs else 0,
        }
        with out_path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(f"{bb:6s} {vname:22s} seed {seed}: test MAE {rec['test']['mae']:.4f} "
              f"gap {rec['test']['gap']:.4f} ratio {rec['test']['ratio']:.3f} "
              f"({fit_s:.0f} s, {rec['n_epochs']} epochs)", flush=True)
    return 0


# ---------------------------------------------------------------------------- summarize
def _paired(a, b) -> dict:
    """Paired comparison over seeds (cliffkit.evaluate.paired_test, lower is better)."""
    try:
        from cliffkit.evaluate import paired_test

        return paired_test(np.asarray(a), np.asarray(b), lower_is_better=True)
    except ImportError:  # pragma: no cover - evaluate not installed
        from scipy import stats

        d = np.asarray(a) - np.asarray(b)
        p = float(stats.ttest_rel(a, b).pvalue) if d.size > 1 and d.std() > 0 else float("nan")
        return {"t_pvalue": p, "win_rate": float(np.mean(d < 0) + 0.5 * np.mean(d == 0))}


def _sd(x: np.ndarray) -> float:
    return float(x.std(ddof=1)) if x.size > 1 else 0.0


def _load_rows(paths) -> list[dict]:
    rows = []
    for path in paths:
        rows += [json.loads(x) for x in Path(path).read_text().splitlines() if x.strip()]
    return rows


def summarize(args) -> int:
    from cliffkit.evaluate import ENDPOINTS, CellData, evaluate_claim

    rows = _load_rows(args.path)
    by: dict = {}
    for r in rows:
        by.setdefault((r["backbone"], r["variant"]), {})[r["seed"]] = r
    known = ["mlp", "lgbm", "gin", "dmpnn", "schnet"]
    backbones = sorted({r["backbone"] for r in rows}, key=lambda b: known.index(b) if b in known else 99)
    order = [v[0] for v in VARIANTS]
    lines = []
    for bb in backbones:
        plain = by.get((bb, "plain"), {})
        if not plain:
            continue
        ep = sorted({r["n_epochs"] for r in rows if r["backbone"] == bb})
        lines.append(f"\n**{bb}** — test set of one CliffSplit; mean ± sd over model seeds "
                     f"(n per row); epochs run: {ep[0]}–{ep[-1]}. Endpoints as in "
                     "cliffkit.evaluate.ENDPOINTS (one definition, shared with the report): "
                     "gap = mean MAE_cliff − mean MAE_smooth; gap reduction = 1 − gap/gap(plain) "
                     "(ratio of means over seeds); p = intersection-union test, the largest of "
                     "three one-sided t-tests across seeds (gap reduction > 0, smooth MAE within "
                     "+2% of plain's, plain gap > 0), Holm over this table's variants. The seeds "
                     "are model seeds "
                     "on one split, so no row is a claim (claims need >= 5 split seeds).\n")
        lines.append("| variant | n | MAE | ΔMAE vs plain | MAE cliff | MAE smooth | gap | ratio "
                     "| gap red. vs plain | p (Holm) | win | gap red. vs random-weights | vs lds |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        rand = by.get((bb, "random-weights"), {})
        lds = by.get((bb, "lds"), {})

        def cell(base, runs, ss, key):
            m = [[[d[s]["test"][k] for k in ("mae", "mae_cliff", "mae_smooth")]
                  for d in (base, runs)] for s in ss]
            return CellData(key, list(ss), np.asarray(m, dtype=float))

        table_rows, cells = [], []
        for v in order:
            runs = by.get((bb, v))
            if not runs or v == "plain":
                continue
            seeds = sorted(set(runs) & set(plain))
            if seeds:
                cells.append(cell(plain, runs, seeds, {"variant": v}))
        res = evaluate_claim({"id": bb, "endpoint": "gap_reduction", "threshold": 0.0,
                              "min_seeds": 1}, cells, intervals=False)
        holm_p = {r["key"]["variant"]: r["p_holm"] for r in res.cells}
        for v in order:
            runs = by.get((bb, v))
            if not runs:
                continue
            seeds = sorted(set(runs) & set(plain))
            if not seeds:
                continue

            def g(d, k, ss=seeds):
                return np.array([d[s]["test"][k] for s in ss])

            mae, gap = g(runs, "mae"), g(runs, "gap")
            c = cell(plain, runs, seeds, {"variant": v})
            red = float(ENDPOINTS["gap_reduction"].estimate(c.mae.mean(axis=0)))
            dmae = -float(ENDPOINTS["overall_mae_reduction"].estimate(c.mae.mean(axis=0)))
            win = float(np.mean(gap < g(plain, "gap"))) if v != "plain" else float("nan")

            def vs(base, seeds=seeds, runs=runs):
                ss = [s for s in seeds if s in base]
                if not ss:
                    return "–"
                m = cell(base, runs, ss, {}).mae.mean(axis=0)
                return f"{float(ENDPOINTS['gap_reduction'].estimate(m)):+.1%}"

            table_rows.append(
                f"| {v} | {len(seeds)} | {mae.mean():.4f} ± {_sd(mae):.4f} | {dmae:+.1%} "
                f"| {g(runs, 'mae_cliff').mean():.4f} | {g(runs, 'mae_smooth').mean():.4f} "
                f"| {gap.mean():.4f} ± {_sd(gap):.4f} "
                f"| {float(ENDPOINTS['ratio'].estimate(c.mae.mean(axis=0)[1:])):.3f} "
                f"| {red:+.1%} | {holm_p.get(v, float('nan')):.3g} | {win:.2f} "
                f"| {vs(rand)} | {vs(lds)} |"
            )
        lines.extend(table_rows)
        traj = [r["lambda_trajectory"] for r in by.get((bb, "cliff-adaptive"), {}).values()
                if r.get("lambda_trajectory")]
        if traj:
            lines.append("\nAdaptive λ trajectories (λ used per epoch): " + "; ".join(
                "[" + ", ".join(f"{x:.2g}" for x in t) + "]" for t in traj))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("CLIFFKIT_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    sys.exit(main())
