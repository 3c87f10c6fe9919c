"""Evaluation benchmarks: MoleculeACE reproduction and the cost of ``evaluate``.

Usage::

    python benchmarks/evaluate.py moleculeace            # both bundled MoleculeACE sets
    python benchmarks/evaluate.py lipophilicity [--seed 0]  # CliffSplit + LightGBM + evaluate

Prints one JSON line per measurement. Needs ``CLIFFKIT_DATA_DIR`` (the Makefile sets it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np


def bench_moleculeace() -> None:
    import pandas as pd

    from cliffkit.cliffs import moleculeace_cliffs

    root = Path(os.environ["CLIFFKIT_DATA_DIR"]) / "moleculeace"
    for name in ("CHEMBL2034_Ki", "CHEMBL234_Ki"):
        df = pd.read_csv(root / f"{name}.csv")
        t0 = time.perf_counter()
        res = moleculeace_cliffs(df["smiles"].tolist(), df["exp_mean [nM]"].to_numpy(),
                                 return_pairs=True)
        dt = time.perf_counter() - t0
        ref = df["cliff_mol"].to_numpy().astype(bool)
        print(json.dumps({"bench": "moleculeace_cliffs", "set": name, "n": len(df),
                          "seconds": round(dt, 2), "n_cliff_mol": int(res.cliff_mol.sum()),
                          "n_pairs": len(res.pairs),
                          "mismatches": int((res.cliff_mol != ref).sum())}), flush=True)


def bench_lipophilicity(seed: int) -> None:
    import lightgbm as lgb

    from cliffkit.data import load_dataset
    from cliffkit.evaluate import evaluate
    from cliffkit.similarity import compute_fingerprints, unpack_fingerprints
    from cliffkit.split import CliffSplit

    warnings.simplefilter("ignore")
    ds = load_dataset("lipophilicity")
    split = CliffSplit(random_state=seed).make_split(ds)
    x = unpack_fingerprints(compute_fingerprints(list(ds.smiles))).astype(np.float32)
    y = ds.target()
    model = lgb.LGBMRegressor(n_estimators=500, learning_rate=0.05, num_leaves=63,
                              random_state=seed, verbose=-1, n_jobs=2)
    model.fit(x[split.train], y[split.train])
    pred = model.predict(x)  # every row, so the partners' predictions are known
    t0 = time.perf_counter()
    ev = evaluate(split, pred, dataset=ds, n_bootstrap=1000, random_state=seed)
    dt = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate(split, pred, dataset=ds, n_bootstrap=1000, random_state=seed)  # graph memoised
    dt2 = time.perf_counter() - t0
    print(json.dumps({
        "bench": "evaluate", "dataset": "lipophilicity", "seed": seed, "n_test": ev.n_test,
        "seconds_first": round(dt, 2), "seconds_memoised": round(dt2, 2),
        "mae": ev.mae().value, "ratio": ev.ratio().to_dict(),
        "reference_ratio": ev.ratio(predictor="reference").to_dict(),
    }), flush=True)
    print(ev.summary())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["moleculeace", "lipophilicity"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.what == "moleculeace":
        bench_moleculeace()
    else:
        bench_lipophilicity(args.seed)


if __name__ == "__main__":
    main()
