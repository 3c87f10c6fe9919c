"""Plain backbones against each other on the same CliffSplit test sets (exploratory, post hoc;
issue 18's "gin arm: results").

Reads the ``plain`` cells of several results folders (one backbone each, or several), keeps
one dataset, split and set of split seeds, checks that every backbone was scored on the same
test molecules in every seed, and reports per backbone: mean MAE over seeds in the cliff, smooth
and overall strata, the cliff/smooth ratio of those means, and the median CPU seconds of a cell;
for ``--focus`` (gin) against each other backbone: the change of each MAE (ratio of seed means),
the seeds where it is lower, the per-seed differences and a paired two-sided t-test across seeds
(exploratory, unadjusted); on the cliff and on the smooth molecules, how much the backbones'
signed errors agree (Pearson r; r with y held fixed; a constant predictor's r) and the share of
cliff errors that point toward the partner's label with its regression-to-the-mean baseline
(definitions: ``benchmarks/cliff_error_anatomy.py``).

No claim is made: the comparison was chosen after the gin cells were seen, the backbones
differ in representation, architecture and training budget at once, and the 5 test sets
overlap.

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/backbone_comparison.py \\
        --cells gin=/work/runs/gin-mitigation --cells lgbm,svm=/work/runs/mitigation \\
        --cells mlp=/work/wt-18f-runs/mitigation \\
        --json benchmarks/results/backbone_comparison.json --write-docs docs/cliffloss.md
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cliffkit.utils import format_number

_HERE = Path(__file__).resolve().parent
MARKER = "backbones"


def _anatomy():
    spec = importlib.util.spec_from_file_location("_anatomy", _HERE / "cliff_error_anatomy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_cells(folders: dict[str, Path], dataset: str, split: str, seeds: list[int]) -> dict:
    """``{(backbone, seed): (predictions frame indexed by test index, CPU seconds)}`` of the
    ``plain`` cells; ``folders`` maps a backbone to the results folder its cells are in."""
    got = {}
    for bb, folder in folders.items():
        for path in sorted((folder / "cells").glob("*.json")):
            rec = json.loads(path.read_text(encoding="utf-8"))
            c = rec.get("cell") or {}
            if (rec.get("status") == "ok" and c.get("backbone") == bb and c.get("loss") == "plain"
                    and c.get("dataset") == dataset and c.get("split") == split
                    and c.get("seed") in seeds):
                frame = pd.read_csv(folder / rec["predictions"]).set_index("index")
                got[(bb, c["seed"])] = (frame, float(rec["cpu_seconds"]))
    return got


def compare(cells: dict, backbones: list[str], seeds: list[int], focus: str,
            mean_label: float) -> dict:
    """The summary described in the module docstring (JSON-ready)."""
    from scipy import stats

    an = _anatomy()
    missing = [(bb, s) for bb in backbones for s in seeds if (bb, s) not in cells]
    if missing:
        raise SystemExit(f"no plain cell for {missing}")
    for s in seeds:  # every backbone on the same test molecules with the same labels
        ref = cells[(backbones[0], s)][0]
        for bb in backbones[1:]:
            f = cells[(bb, s)][0]
            if not (f.index.equals(ref.index) and np.array_equal(f["y_true"], ref["y_true"])
                    and np.array_equal(f["stratum"], ref["stratum"])):
                raise SystemExit(f"seed {s}: {bb} and {backbones[0]} were not scored on the same "
                                 "test molecules")
    per_seed = {bb: {g: [] for g in ("overall", "cliff", "smooth")} for bb in backbones}
    for bb, s in itertools.product(backbones, seeds):
        f = cells[(bb, s)][0]
        e = (f["y_pred"] - f["y_true"]).abs()
        per_seed[bb]["overall"].append(float(e.mean()))
        for g in ("cliff", "smooth"):
            per_seed[bb][g].append(float(e[f["stratum"] == g].mean()))
    rows = []
    for bb in backbones:
        m = {g: float(np.mean(v)) for g, v in per_seed[bb].items()}
        rows.append({"backbone": bb, **{f"{g}_mae": v for g, v in m.items()},
                     "cliff_smooth_ratio": m["cliff"] / m["smooth"],
                     "cpu_s_median": float(np.median([cells[(bb, s)][1] for s in seeds]))})
    against = []
    for other in [b for b in backbones if b != focus]:
        row = {"backbone": other}
        for g in ("cliff", "smooth", "overall"):
            a, b = np.array(per_seed[focus][g]), np.array(per_seed[other][g])
            row[g] = {"change_pct": 100 * (a.mean() / b.mean() - 1), "lower_in": int((a < b).sum()),
                      "diffs": (a - b).tolist(), "p_two_sided": float(stats.ttest_rel(a, b).pvalue)}
        against.append(row)
    agree = []
    for a, b in itertools.combinations(backbones, 2):
        row = {"pair": [a, b]}
        for g in ("cliff", "smooth"):
            vals = []
            for s in seeds:
                fa, fb = cells[(a, s)][0], cells[(b, s)][0]
                mask = (fa["stratum"] == g).to_numpy()
                y = fa["y_true"].to_numpy()[mask]
                vals.append(an.shared_error(fa["y_pred"].to_numpy()[mask] - y,
                                            fb["y_pred"].to_numpy()[mask] - y, y, mean_label))
            row[g] = {k: [v[k] for v in vals] for k in ("r", "r_given_y")}
        agree.append(row)
    toward, const = [], []
    for bb in backbones:
        t, c = [], []
        for s in seeds:
            f = cells[(bb, s)][0]
            mask = (f["stratum"] == "cliff").to_numpy()
            y, yp = f["y_true"].to_numpy()[mask], f["partner_y_true"].to_numpy()[mask]
            e = f["y_pred"].to_numpy()[mask] - y
            t.append(an.toward_shares(e, y, yp, mean_label))
            c.append(float(np.corrcoef(mean_label - y, e)[0, 1]))
        toward.append({"backbone": bb, **{k: [v[k] for v in t] for k in
                                          ("toward", "toward_if_mean_only", "toward_against_mean")}})
        const.append({"backbone": bb, "r_const_cliff": c})
    return {"seeds": seeds, "focus": focus, "mean_label": mean_label,
            "n_test": int(len(cells[(backbones[0], seeds[0])][0])), "backbones": rows,
            "focus_against": against, "error_agreement": agree, "toward_partner": toward,
            "constant_predictor": const}


def _f(v, d=3):
    return format_number(v, d)


def _span(vals, d=2):
    lo, hi = min(vals), max(vals)
    return _f(lo, d) if format_number(lo, d) == format_number(hi, d) else f"{_f(lo, d)} to {_f(hi, d)}"


def markdown(summary: dict) -> str:
    """The docs block (between ``<!-- backbones:start/end -->``)."""
    out = [f"<!-- {MARKER}:start -->", "",
           "Generated by `benchmarks/backbone_comparison.py` from the committed summary "
           "`benchmarks/results/backbone_comparison.json`; `plain` cells, split seeds "
           f"{', '.join(map(str, summary['seeds']))}, {summary['n_test']} test molecules per seed, "
           "mean over seeds.", "",
           "| backbone | cliff MAE | smooth MAE | overall MAE | cliff / smooth | median CPU-s per cell |",
           "|---|---|---|---|---|---|"]
    for r in summary["backbones"]:
        out.append(f"| {r['backbone']} | {_f(r['cliff_mae'])} | {_f(r['smooth_mae'])} | "
                   f"{_f(r['overall_mae'])} | {_f(r['cliff_smooth_ratio'], 2)} | "
                   f"{format_number(r['cpu_s_median'], 1)} |")
    focus = summary["focus"]
    out += ["", f"{focus} against each: change of the mean MAE (seeds where {focus} is lower; "
                "per-seed differences; paired two-sided t across seeds, exploratory, unadjusted).",
            "", "| against | cliff | smooth | overall |", "|---|---|---|---|"]
    for r in summary["focus_against"]:
        cells = []
        for g in ("cliff", "smooth", "overall"):
            x = r[g]
            cells.append(f"{format_number(x['change_pct'], 1, sign=True)}% ({x['lower_in']} of "
                         f"{len(x['diffs'])}; {_span(x['diffs'])}; p {x['p_two_sided']:.1g})")
        out.append(f"| {r['backbone']} | " + " | ".join(cells) + " |")
    out += ["", "Agreement of signed errors (Pearson r, range over seeds; y held fixed: each "
                "error's residual on a line in y):", "",
            "| pair | r cliff | r cliff, y fixed | r smooth | r smooth, y fixed |",
            "|---|---|---|---|---|"]
    for r in summary["error_agreement"]:
        out.append(f"| {r['pair'][0]}, {r['pair'][1]} | {_span(r['cliff']['r'])} | "
                   f"{_span(r['cliff']['r_given_y'])} | {_span(r['smooth']['r'])} | "
                   f"{_span(r['smooth']['r_given_y'])} |")
    out += ["", "Cliff molecules: share of errors toward the partner's label, what errors that "
                "only regressed to the mean would score, the share where the partner is against "
                "the mean, and a constant predictor's error r with the backbone's (mean over "
                "seeds):", "",
            "| backbone | toward partner | if regression to the mean only | toward partner, "
            "against the mean | r(constant predictor, backbone) |", "|---|---|---|---|---|"]
    for t, c in zip(summary["toward_partner"], summary["constant_predictor"], strict=True):
        out.append(f"| {t['backbone']} | {_f(np.mean(t['toward']), 2)} | "
                   f"{_f(np.mean(t['toward_if_mean_only']), 2)} | "
                   f"{_f(np.mean(t['toward_against_mean']), 2)} | "
                   f"{_f(np.mean(c['r_const_cliff']), 2)} |")
    out += ["", f"<!-- {MARKER}:end -->"]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", action="append", default=[],
                    help="BACKBONE[,BACKBONE...]=FOLDER (repeatable)")
    ap.add_argument("--dataset", default="lipophilicity")
    ap.add_argument("--split", default="cliff")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--focus", default="gin")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--write-docs", type=Path, default=None)
    ap.add_argument("--render", type=Path, default=None,
                    help="render this committed JSON summary instead of reading cells")
    args = ap.parse_args(argv)
    if args.render:
        summary = json.loads(args.render.read_text(encoding="utf-8"))
    else:
        folders = {}
        for spec in args.cells:
            names, _, folder = spec.partition("=")
            for bb in names.split(","):
                folders[bb] = Path(folder)
        if args.focus not in folders:
            print(f"--focus {args.focus} is not among --cells", file=sys.stderr)
            return 2
        from cliffkit.data import load_dataset

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean_label = float(np.nanmean(load_dataset(args.dataset).y[:, 0]))
        seeds = [int(s) for s in args.seeds.split(",")]
        backbones = [args.focus] + [b for b in folders if b != args.focus]
        summary = compare(read_cells(folders, args.dataset, args.split, seeds), backbones, seeds,
                          args.focus, mean_label)
        summary.update(dataset=args.dataset, split=args.split,
                       folders={b: str(p) for b, p in folders.items()})
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    md = markdown(summary)
    if args.write_docs:
        text = args.write_docs.read_text(encoding="utf-8")
        a, b = f"<!-- {MARKER}:start -->", f"<!-- {MARKER}:end -->"
        if a not in text or b not in text:
            print(f"{args.write_docs} has no {a} ... {b} block", file=sys.stderr)
            return 2
        args.write_docs.write_text(text[:text.index(a)] + md + text[text.index(b) + len(b):],
                                   encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
