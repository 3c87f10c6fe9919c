"""Where the cliff error of a plain model comes from (descriptive, exploratory; issue 18's
"what did not work and why").

Reads the committed ``claims-small`` cells (Lipophilicity and ESOL, CliffSplit, split seeds
0-4, plain ``mlp`` and ``lgbm``; per-molecule predictions with each test molecule's cliff
partner, the training neighbour with the largest similarity × |Δy|) and measures, for the cliff and the
smooth test molecules:

- **toward partner**: the share of molecules whose prediction errs toward the partner's label
  (sign(ŷ − y) = sign(y_partner − y)); 0.5 is what errors blind to the partner give;
- **partner pull**: the median of (ŷ − y) / (y_partner − y): 0 = the truth, 1 = the partner's
  label copied (cliff molecules only; on smooth ones the denominator is near 0);
- **toward partner, against the mean**: the same share among the cliff molecules whose partner
  lies on the other side of their label than the dataset's mean label, so that regression to
  the mean (an extreme label predicted toward the mean) would push the error away from the
  partner: a share above 0.5 there is the neighbour, not the mean;
- **shared error**: Pearson r of the signed errors of mlp and lgbm on the same molecules (same
  split), and r of each model's signed error with the reference predictor's (the
  similarity-weighted mean of the training neighbours' labels).

Per seed, then mean ± sd over the 5 seeds. No test: the numbers describe where the error is,
they were chosen after the study, and they are not a claim.

    .venv/bin/python benchmarks/cliff_error_anatomy.py \\
        --results docs/results/claims-small --json benchmarks/results/cliff_error_anatomy.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cliffkit.bench import load_results
from cliffkit.utils import format_number


def shared_error(err_a: np.ndarray, err_b: np.ndarray, y: np.ndarray, mean_label: float) -> dict:
    """How much two models' signed errors (shape (n,), same molecules) agree: Pearson ``r``;
    ``r_given_y``, r with y held fixed (each error's residual on a line in y: every error
    shares the -y term); ``r_const_a``, the r a constant predictor's error (mean - y) already
    has with model a's."""
    res_a, res_b = (e - np.polyval(np.polyfit(y, e, 1), y) for e in (err_a, err_b))
    return {"r": float(np.corrcoef(err_a, err_b)[0, 1]),
            "r_given_y": float(np.corrcoef(res_a, res_b)[0, 1]),
            "r_const_a": float(np.corrcoef(mean_label - y, err_a)[0, 1])}


def toward_shares(err: np.ndarray, y: np.ndarray, y_partner: np.ndarray, mean_label: float) -> dict:
    """Shares of a model's signed errors (shape (n,)) that point toward the partner's label:
    ``toward``; ``toward_against_mean``, among the molecules whose partner lies on the other
    side of their label than the mean; ``toward_if_mean_only``, what an error that only
    regressed to the mean would score (its share toward the mean where the partner is on the
    mean's side, the rest where it is not); ``n_against_mean``."""
    toward = float(np.mean(np.sign(err) == np.sign(y_partner - y)))
    against = np.sign(y_partner - y) != np.sign(mean_label - y)
    to_mean = float(np.mean(np.sign(err) == np.sign(mean_label - y)))
    side = float(np.mean(~against))
    return {"toward": toward, "n_against_mean": int(against.sum()),
            "toward_if_mean_only": side * to_mean + (1 - side) * (1 - to_mean),
            "toward_against_mean": float(np.mean(np.sign(err[against])
                                                 == np.sign((y_partner - y)[against])))}


def _per_seed(table: pd.DataFrame, dataset: str, mean_label: float) -> list[dict]:
    out = []
    for seed in sorted(table["seed"].unique()):
        frames = {}
        for bb in ("mlp", "lgbm"):
            row = table[(table["dataset"] == dataset) & (table["split"] == "cliff")
                        & (table["loss"] == "plain") & (table["backbone"] == bb)
                        & (table["seed"] == seed) & (table["status"] == "ok")]
            if len(row) != 1:
                break
            frames[bb] = pd.read_csv(row["predictions_path"].iloc[0]).set_index("index")
        if len(frames) != 2:
            continue
        a, b = frames["mlp"], frames["lgbm"]
        if not a.index.equals(b.index) or not np.array_equal(a["y_true"], b["y_true"]):
            raise SystemExit(f"{dataset} seed {seed}: mlp and lgbm were not scored on the same "
                             "test molecules")
        rec = {"seed": int(seed)}
        for stratum in ("cliff", "smooth"):
            m = (a["stratum"] == stratum).to_numpy()
            y, yp = a["y_true"].to_numpy()[m], a["partner_y_true"].to_numpy()[m]
            rec[f"n_{stratum}"] = int(m.sum())
            rec[f"n_partners_{stratum}"] = int(a.loc[m, "partner"].nunique())
            err = {bb: f["y_pred"].to_numpy()[m] - y for bb, f in frames.items()}
            ref = a["y_ref"].to_numpy()[m] - y
            shared = shared_error(err["mlp"], err["lgbm"], y, mean_label)
            rec[f"r_mlp_lgbm_{stratum}"] = shared["r"]
            rec[f"r_mlp_lgbm_given_y_{stratum}"] = shared["r_given_y"]
            rec[f"r_const_mlp_{stratum}"] = shared["r_const_a"]
            for bb, e in err.items():
                rec[f"toward_{bb}_{stratum}"] = toward_shares(e, y, yp, mean_label)["toward"]
                rec[f"r_ref_{bb}_{stratum}"] = float(np.corrcoef(e, ref)[0, 1])
                rec[f"mae_{bb}_{stratum}"] = float(np.mean(np.abs(e)))
                if stratum == "cliff":
                    pull = e / (yp - y)
                    rec[f"pull_{bb}"] = float(np.median(pull))
                    rec[f"pull_q1_{bb}"], rec[f"pull_q3_{bb}"] = map(float, np.percentile(pull, [25, 75]))
                    rec[f"pull_negative_{bb}"] = float(np.mean(pull < 0))
                    t = toward_shares(e, y, yp, mean_label)
                    rec["n_against_mean"] = t["n_against_mean"]
                    rec[f"toward_if_mean_only_{bb}"] = t["toward_if_mean_only"]
                    rec[f"toward_against_mean_{bb}"] = t["toward_against_mean"]
            rec[f"toward_ref_{stratum}"] = float(np.mean(np.sign(ref) == np.sign(yp - y)))
        out.append(rec)
    return out


def _summary(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if k != "seed"]
    return {k: {"mean": float(np.mean([r[k] for r in rows])),
                "sd": float(np.std([r[k] for r in rows], ddof=1)) if len(rows) > 1 else None}
            for k in keys}


def markdown(summary: dict) -> str:
    def c(s, k, d=2):
        v = s[k]
        return f"{format_number(v['mean'], d)} ± {format_number(v['sd'], d)}"

    lines = ["| data | molecules | n per seed | MAE mlp / lgbm | toward partner: mlp / lgbm / "
             "reference | same if the error only regressed to the mean: mlp / lgbm | toward "
             "partner, partner against the mean (n): mlp / lgbm | partner pull: mlp / lgbm | "
             "r(mlp, lgbm) | r(mlp, lgbm), y held fixed | r(constant predictor, mlp) | "
             "r(model, reference): mlp / lgbm |", "|" + "|".join(["---"] * 12) + "|"]
    for ds, s in summary["datasets"].items():
        for st in ("cliff", "smooth"):
            pull = (f"{c(s, 'pull_mlp')} / {c(s, 'pull_lgbm')}" if st == "cliff" else "—")
            mean_only = (f"{c(s, 'toward_if_mean_only_mlp')} / {c(s, 'toward_if_mean_only_lgbm')}"
                         if st == "cliff" else "—")
            against = (f"{c(s, 'toward_against_mean_mlp')} / {c(s, 'toward_against_mean_lgbm')} "
                       f"({format_number(s['n_against_mean']['mean'], 0)})"
                       if st == "cliff" else "—")
            lines.append(
                f"| {ds} | {st} | {format_number(s[f'n_{st}']['mean'], 0)} "
                f"({format_number(s[f'n_partners_{st}']['mean'], 0)} partners) | "
                f"{c(s, f'mae_mlp_{st}', 3)} / {c(s, f'mae_lgbm_{st}', 3)} | "
                f"{c(s, f'toward_mlp_{st}')} / {c(s, f'toward_lgbm_{st}')} / "
                f"{c(s, f'toward_ref_{st}')} | {mean_only} | {against} | {pull} | "
                f"{c(s, f'r_mlp_lgbm_{st}')} | {c(s, f'r_mlp_lgbm_given_y_{st}')} | "
                f"{c(s, f'r_const_mlp_{st}')} | "
                f"{c(s, f'r_ref_mlp_{st}')} / {c(s, f'r_ref_lgbm_{st}')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", type=Path, default=Path("docs/results/claims-small"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    table = load_results(args.results)
    summary = {"results": str(args.results), "seeds_per_dataset": {}, "datasets": {},
               "per_seed": {}}
    from cliffkit.data import load_dataset

    for ds in sorted(table["dataset"].unique()):
        with warnings.catch_warnings():  # the loader's notes on merges are not news here
            warnings.simplefilter("ignore")
            mean_label = float(np.nanmean(load_dataset(ds).y[:, 0]))
        summary.setdefault("mean_label", {})[ds] = mean_label
        rows = _per_seed(table, ds, mean_label)
        if not rows:
            continue
        summary["per_seed"][ds] = rows
        summary["seeds_per_dataset"][ds] = [r["seed"] for r in rows]
        summary["datasets"][ds] = _summary(rows)
    if not summary["datasets"]:
        print(f"no plain mlp + lgbm CliffSplit cells in {args.results}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
