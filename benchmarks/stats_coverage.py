"""Coverage of cliffkit's across-seed intervals at few seeds (seeded simulation).

Usage::

    .venv/bin/python benchmarks/stats_coverage.py [--reps 1000] [--seeds 5] [--out FILE.json]

For each regime, ``reps`` data sets of ``seeds`` split seeds are simulated: per seed a level
(the split's MAE level, normal around 0.5 with the regime's between-seed SD) and a paired
effect of arm B (0.05 on average, SD 0.03 across seeds), and per molecule exponential
absolute errors (``n_mol`` molecules). The 95% intervals of
:func:`cliffkit.evaluate.hierarchical_bootstrap` (percentile and t-calibrated, 1000
resamples) and :func:`cliffkit.evaluate.t_interval` (across per-seed values) are checked
for containing the true seed-population mean MAE (0.5) and paired difference (0.05).
The same code, at 200 replicates, is ``tests/evaluate/test_stats.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from cliffkit.evaluate import hierarchical_bootstrap, t_interval

REGIMES = {  # name: (between-seed SD of the MAE level, molecules per seed)
    "split variation dominates": (0.10, 200),
    "molecule noise dominates": (0.02, 100),
}


def simulate(between: float, n_mol: int, reps: int, n_seeds: int, seed: int = 11) -> dict:
    rng = np.random.default_rng(seed)
    hits = {k: [0, 0] for k in ("percentile", "t-calibrated", "t across seeds")}
    widths = {k: [0.0, 0.0] for k in hits}
    stats_ = (lambda m: m[..., 0, 0], lambda m: m[..., 1, 0] - m[..., 0, 0])
    truth = (0.5, 0.05)
    t0 = time.time()
    for r in range(reps):
        level = 0.5 + rng.normal(0, between, n_seeds)
        effect = 0.05 + rng.normal(0, 0.03, n_seeds)
        per_seed, seed_vals = [], [[], []]
        for s in range(n_seeds):
            a = rng.exponential(level[s], n_mol)
            b = a * (1 + effect[s] / level[s])
            per_seed.append([np.vstack([a, b])])
            seed_vals[0].append(a.mean())
            seed_vals[1].append(b.mean() - a.mean())
        for k in range(2):
            for method in ("percentile", "t-calibrated"):
                e = hierarchical_bootstrap(per_seed, stats_[k], n_bootstrap=1000, random_state=r,
                                           method=method)
                hits[method][k] += e.low <= truth[k] <= e.high
                widths[method][k] += e.high - e.low
            e = t_interval(seed_vals[k])
            hits["t across seeds"][k] += e.low <= truth[k] <= e.high
            widths["t across seeds"][k] += e.high - e.low
        if (r + 1) % 100 == 0:
            el = time.time() - t0
            print(f"  {r + 1}/{reps} ({el:.0f} s, ETA {el / (r + 1) * (reps - r - 1):.0f} s)",
                  file=sys.stderr)
    return {m: {"coverage_mean": hits[m][0] / reps, "coverage_diff": hits[m][1] / reps,
                "width_mean": widths[m][0] / reps, "width_diff": widths[m][1] / reps}
            for m in hits}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    out = {"reps": a.reps, "n_seeds": a.seeds, "regimes": {}}
    for name, (between, n_mol) in REGIMES.items():
        print(f"{name}: between-seed SD {between}, {n_mol} molecules", file=sys.stderr)
        res = simulate(between, n_mol, a.reps, a.seeds)
        out["regimes"][name] = {"between_sd": between, "n_mol": n_mol, **res}
        for m, v in res.items():
            print(f"{name:28s} {m:15s} coverage mean {v['coverage_mean']:.3f} "
                  f"diff {v['coverage_diff']:.3f}   width mean {v['width_mean']:.3f} "
                  f"diff {v['width_diff']:.3f}")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
