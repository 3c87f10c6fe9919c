"""The issue-18 mitigation study: every candidate against plain of the same backbone, paired
by seed, with the controls, on Lipophilicity/ESOL (CliffSplit and random split) and the
MoleculeACE sets on their own split. Pre-registration: ``docs/cliffloss.md`` ("Mitigation
study (issue 18): pre-registration").

A thin layer over the bench machinery: ``run`` writes one grid config per stage (JSON, under
``<out>/configs``) and runs ``cliffkit bench --config <stage> -o <out> --n-jobs N`` for each
stage in priority order, all stages in one results folder (cell keys are unique, and a rerun
skips finished cells, so the study resumes and a newly merged method only adds cells).
``analyze`` reads the cells, computes the pre-registered endpoints with
``cliffkit.evaluate.evaluate_claim`` (one-sided t across seeds, Holm over the family) and the
MoleculeACE comparison, and writes a JSON summary and the tables into ``docs/cliffloss.md``.

    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/mitigation.py run \
        --out benchmarks/_out/mitigation --n-jobs 2 [--stages lipo-cliff,mace]
    CLIFFKIT_DATA_DIR=../shared/data .venv/bin/python benchmarks/mitigation.py analyze \
        --out benchmarks/_out/mitigation --json benchmarks/results/mitigation.json \
        --write-docs docs/cliffloss.md
    .venv/bin/python benchmarks/mitigation.py render --plan completion \
        --json benchmarks/results/mitigation_completion.json --write-docs docs/cliffloss.md

``render`` rewrites a docs block from its committed JSON summary alone (no raw cells needed),
e.g. after a change of the table layout; every number comes from the JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from cliffkit.utils import format_number

SEEDS = [0, 1, 2, 3, 4]
BACKBONES = ["lgbm", "svm", "mlp"]
CONTROLS = ["random-weights", "lds", "plain-ensemble"]
#: Losses per backbone and stage group, in the pre-registered priority order; a name that is
#: not (yet) registered, or whose model wrapper is not, is skipped. svm: no pairwise term, no
#: mini-batches, and its fit is deterministic (an ensemble of seeds would be n identical SVRs;
#: a blend with the svm itself is the svm), so it gets neither.
LOSSES = {
    "base": {"lgbm": ["plain", "random-weights", "lds", "cliff"],
             "svm": ["plain", "random-weights", "lds", "cliff"],
             "mlp": ["plain", "random-weights", "lds", "cliff", "cliff-pair"]},
    "new": {"lgbm": ["tanimoto-stack", "anchor-delta"],
            "svm": ["anchor-delta"],
            "mlp": ["lds-pair", "tanimoto-stack", "anchor-delta", "aca", "swa", "cliff-pair-swa"]},
    "ens": {"lgbm": ["plain-ensemble"], "mlp": ["plain-ensemble", "cliff-pair-ensemble"]},
}
#: mlp priority groups (probe-promising candidates first, with plain; then the torch-side
#: candidates; then the LDS control and SWA; then the rest).
MLP_GROUPS = [["plain", "tanimoto-stack", "anchor-delta"], ["aca", "cliff-pair"], ["lds", "swa"],
              ["random-weights", "cliff", "lds-pair", "cliff-pair-swa"],
              ["plain-ensemble", "cliff-pair-ensemble"]]
CANDIDATES = ["cliff", "cliff-pair", "anchor-delta", "tanimoto-stack", "lds-pair",
              "cliff-pair-ensemble", "aca", "swa", "cliff-pair-swa"]
#: Margin of the smooth non-inferiority condition and the Lipophilicity target.
SMOOTH_MARGIN = 0.02
CLIFF_TARGET = 0.10
ALPHA = 0.05
MAX_TIME_RATIO = 1.3
MACE_SETS = ["CHEMBL234_Ki", "CHEMBL2034_Ki"]
MACE_GRID = {  # the shipped `moleculeace` grid's settings (ECFP4-1024, 10% validation)
    "split_params": {"predefined": {"split_col": "split", "val_size": 0.1}},
    "backbone_params": {"lgbm": {"n_bits": 1024},
                        "mlp": {"n_bits": 1024, "epochs": 60, "patience": 10}},
}


def _available(name: str) -> bool:
    from cliffkit.loss import list_losses
    from cliffkit.models import WRAPPERS

    if name not in list_losses():
        return False
    wrapper = {"anchor-delta": "anchor-delta"}.get(name)
    if wrapper is None:
        return True
    try:
        WRAPPERS.get(wrapper)
    except Exception:  # noqa: BLE001 - registered loss, wrapper module not merged yet
        return False
    return True


def stages() -> list[tuple[str, dict]]:
    """(name, grid config dict) in the pre-registered priority order, one per backbone."""
    out = []
    lipo, esol = [{"name": "lipophilicity"}], [{"name": "esol"}]
    mace = [{"name": f"moleculeace:{s}", "targets": ["y"]} for s in MACE_SETS]
    plan = [("lipo-cliff", lipo, "cliff", ["base", "new"], None),
            ("mace", mace, "predefined", ["base", "new"], MACE_GRID),
            ("lipo-cliff", lipo, "cliff", ["ens"], None),
            ("esol-cliff", esol, "cliff", ["base", "new"], None),
            ("random", lipo + esol, "random", ["base", "new"], None),
            ("mace", mace, "predefined", ["ens"], MACE_GRID),
            ("esol-cliff", esol, "cliff", ["ens"], None),
            ("random", lipo + esol, "random", ["ens"], None)]
    for name, datasets, split, groups, extra in plan:
        for bb in BACKBONES:
            losses = [m for g in groups for m in LOSSES[g].get(bb, []) if _available(m)]
            if not losses:
                continue
            # mlp cells are the costliest: in small groups so that each finishes all 5 seeds
            # before the next starts (a bench run goes seed-major within its grid)
            parts = [[m for m in grp if m in losses] for grp in MLP_GROUPS] if bb == "mlp" else [losses]
            parts = [p for p in parts if p]
            if bb == "mlp" and sum(map(len, parts)) != len(losses):
                parts.append([m for m in losses if not any(m in p for p in parts)])
            for i, part in enumerate(parts):
                tag = f"{name}-{'+'.join(groups)}-{bb}" + (f"-{i + 1}" if len(parts) > 1 else "")
                out.append((tag, _cfg(name, bb, split, part, datasets, extra)))
    return out


#: The confirmatory study of ``anchor-delta`` (issue 18d; pre-registration in docs/cliffloss.md,
#: "Confirmatory study: anchor-delta (pre-registration)"): the family's 8 cells, in the
#: registered running order (primary cell first), then MoleculeACE (descriptive).
CONFIRM_SEEDS = {"lipo-cliff": [5, 6, 7, 8, 9]}
#: Equal-compute control for lgbm: 1 + 0.5 (n - 1) = 4.5 (anchor-delta's lgbm CPU ratio; one
#: more lgbm member cost about half a plain cell in the study) gives n = 8.
CONFIRM_ENSEMBLE = {"plain-ensemble": {"wrapper_params": {"n_members": 8}}}
CONFIRM_FAMILY = [(ds, split, bb) for ds, split in (("lipophilicity", "cliff"), ("esol", "cliff"),
                                                    ("esol", "random"), ("lipophilicity", "random"))
                  for bb in ("svm", "lgbm")]


def confirm_stages() -> list[tuple[str, dict]]:
    """(name, grid config) of the confirmatory study in its registered running order."""
    out = []
    plan = [("lipo-cliff", "lipophilicity", "cliff"), ("esol-cliff", "esol", "cliff"),
            ("esol-random", "esol", "random"), ("lipo-random", "lipophilicity", "random")]
    for name, ds, split in plan:
        for bb in ("svm", "lgbm"):
            losses = ["plain", "anchor-delta"] + (["plain-ensemble"] if bb == "lgbm" else [])
            cfg = _cfg(f"confirm-{name}", bb, split, losses, [{"name": ds}], None,
                       seeds=CONFIRM_SEEDS.get(name, SEEDS))
            if bb == "lgbm":
                cfg["loss_params"] = CONFIRM_ENSEMBLE
            out.append((f"confirm-{name}-{bb}", cfg))
    mace = [{"name": f"moleculeace:{s}", "targets": ["y"]} for s in MACE_SETS]
    for bb, seeds in (("lgbm", SEEDS), ("svm", [0])):  # svm: one run (deterministic SVR fit)
        out.append((f"confirm-mace-{bb}", _cfg("confirm-mace", bb, "predefined",
                                               ["plain", "anchor-delta"], mace, MACE_GRID,
                                               seeds=seeds)))
    return out


#: The gin arm (registered 2026-11-30, docs/cliffloss.md "gin arm: pre-registration"): plain
#: and ``anchor-delta`` on Lipophilicity CliffSplit, split seeds 0-4, gin at its default
#: budget; its own family of one cell.
GIN_ARMS = ["plain", "anchor-delta"]


def gin_stages() -> list[tuple[str, dict]]:
    """(name, grid config) of the gin arm: one stage, seed-major (both arms per seed)."""
    return [("gin-lipo-cliff", _cfg("gin-lipo-cliff", "gin", "cliff", GIN_ARMS,
                                    [{"name": "lipophilicity"}], None))]


_STAGES = {"study": stages, "confirmatory": confirm_stages, "gin": gin_stages}


def _cfg(name, bb, split, losses, datasets, extra, seeds=None):
    cfg = {"name": f"mitigation-{name}-{bb}", "seeds": list(seeds or SEEDS), "splits": [split],
           "backbones": [bb], "losses": losses, "datasets": datasets,
           "evaluation": {"n_bootstrap": 1000}}
    for k, v in (extra or {}).items():
        v = {b: p for b, p in v.items() if k != "backbone_params" or b == bb}
        if v:
            cfg[k] = v
    return cfg


def _uptime() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "n/a"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def run(out: Path, n_jobs: int, only: list[str] | None, skip: list[str] | None = None,
        plan: str = "study") -> None:
    (out / "configs").mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("cliffkit")
    todo = _STAGES[plan]()
    if skip:  # leave these losses out of this run (their cells stay unrun, keys unchanged)
        todo = [(n, {**c, "losses": [m for m in c["losses"] if m not in skip]}) for n, c in todo]
        todo = [(n, c) for n, c in todo if c["losses"]]
    if only:  # in the order given (a prefix takes its stages in plan order)
        todo = [(n, c) for o in only for n, c in todo if n == o or n.startswith(o + "-")]
    for name, cfg in todo:
        path = out / "configs" / f"{name}.json"
        path.write_text(json.dumps(cfg, indent=1) + "\n", encoding="utf-8")
        rec = {"stage": name, "start": _now(), "load_start": _uptime(), "losses": cfg["losses"]}
        print(f"[{rec['start']}] stage {name}: load {rec['load_start']}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([str(exe), "bench", "--config", str(path), "-o", str(out),
                              "--n-jobs", str(n_jobs), "--no-progress", "--skip-failed"])
        rec.update(end=_now(), load_end=_uptime(), wall_s=round(time.perf_counter() - t0, 1), rc=rc)
        print(f"[{rec['end']}] stage {name}: rc {rc}, {rec['wall_s']} s, load {rec['load_end']}",
              flush=True)
        with open(out / "runlog.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")


# ------------------------------------------------------------------------------ analysis
def _cell_records(out: Path) -> dict[str, dict]:
    recs = {}
    for p in sorted((out / "cells").glob("*.json")):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if rec.get("status") == "ok":
            recs[rec["key"]] = rec
    return recs


def _train_seconds(rec: dict) -> float:
    t = ((rec.get("extra") or {}).get("timing") or {})
    return float(t.get("fit_s", np.nan)) + float(t.get("loss_s", 0.0) or 0.0)


def _est(e, pct=False):
    f = 100.0 if pct else 1.0
    lo = None if e.low is None or not np.isfinite(e.low) else e.low * f
    hi = None if e.high is None or not np.isfinite(e.high) else e.high * f
    return {"value": e.value * f, "low": lo, "high": hi}


def _complete_seeds(cell):
    """``cell`` restricted to the seeds where every arm has an overall MAE."""
    import dataclasses

    keep = [i for i in range(len(cell.seeds)) if np.isfinite(cell.mae[i, :, 0]).all()]
    if len(keep) == len(cell.seeds):
        return cell
    return dataclasses.replace(
        cell, seeds=[cell.seeds[i] for i in keep], mae=cell.mae[keep],
        errors=None if cell.errors is None else [cell.errors[i] for i in keep],
        split_ids=None if cell.split_ids is None else [cell.split_ids[i] for i in keep])


def _run_log(out: Path) -> list[dict]:
    """The stage runs logged in ``out/runlog.jsonl`` (one JSON object a line; [] if none)."""
    path = out / "runlog.jsonl"
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _write_summary(summary: dict, md: str, json_path, docs, marker: str) -> None:
    """Write ``summary`` to ``json_path`` (if given), put ``md`` between the
    ``<!-- marker:start/end -->`` lines of ``docs`` (appended when absent; if given), and
    print ``md``; shared by the study's and the confirmatory analysis."""
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=1, default=float) + "\n", encoding="utf-8")
    if docs:
        text = docs.read_text(encoding="utf-8")
        a, b = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
        if a in text and b in text:
            text = text[:text.index(a)] + md + text[text.index(b) + len(b):]
        else:
            text = text.rstrip("\n") + "\n\n" + md + "\n"
        docs.write_text(text, encoding="utf-8")
    print(md)


def _cell_numbers(r1: dict, r2: dict) -> dict:
    """MAEs of both arms, the changes in % (negative = lower error, with the
    hierarchical-bootstrap CI) and the E1 p-values of one cell (``r1``: its E1 result,
    ``r2``: its E2 result); shared by the study's and the confirmatory tables."""
    est = r1["estimates"]
    return {
        "plain_cliff_mae": est["cliff_0"].value, "cliff_mae": est["cliff_1"].value,
        "plain_smooth_mae": est["smooth_0"].value, "smooth_mae": est["smooth_1"].value,
        "plain_mae": est["overall_0"].value, "mae": est["overall_1"].value,
        "cliff_change_pct": _neg(_est(est["endpoint"], pct=True)),
        "smooth_change_pct": _ratio_change(est, "smooth"),
        "overall_change_pct": _neg(_est(r2["estimates"]["endpoint"], pct=True)),
        "p_e1": r1["p"], "p_noninferiority": r1["p_noninferiority"],
    }


def _endpoint_claims(base: dict) -> dict:
    """The study's three endpoints on the claim template ``base``: E1 (cliff MAE lower, smooth
    non-inferior), E1 strict (cliff MAE at least ``CLIFF_TARGET`` lower) and E2 (overall MAE
    lower); one definition for the study and the confirmatory analysis."""
    return {
        "e1": {**base, "id": "e1", "endpoint": "cliff_mae_reduction", "threshold": 0.0,
               "smooth_margin": SMOOTH_MARGIN},
        "e1_strict": {**base, "id": "e1_strict", "endpoint": "cliff_mae_reduction",
                      "threshold": CLIFF_TARGET, "smooth_margin": SMOOTH_MARGIN},
        "e2": {**base, "id": "e2", "endpoint": "overall_mae_reduction", "threshold": 0.0,
               "smooth_margin": None},
    }


def analyze_mae(table, recs) -> list[dict]:
    """E1, E2 and the strict E1 (threshold 10%) for every Lipophilicity/ESOL cell, Holm over
    the family of cells with >= 5 seeds."""
    from cliffkit.evaluate import evaluate_claim, shown_holm
    from cliffkit.report._claims import claim_cells

    t = table[table["dataset"].isin(["lipophilicity", "esol"])]
    methods = sorted(set(t["loss"]) - {"plain"})
    base = {"test": "t", "quantifier": "any", "alpha": ALPHA, "min_seeds": 5, "baseline": "plain",
            "per": ["dataset", "split", "backbone", "loss"],
            "cells": {"dataset": ["lipophilicity", "esol"], "loss": methods}}
    claims = _endpoint_claims(base)
    # A seed counts when both arms have it: a method run on fewer seeds than plain was not
    # run there (stages cut for time), which is not a failed seed; such cells are exploratory.
    cells = [_complete_seeds(c) for c in claim_cells(claims["e1"], t)]
    full = [c for c in cells if len(c.seeds) >= 5]
    partial = [c for c in cells if 0 < len(c.seeds) < 5]
    res = {k: evaluate_claim(c, full, n_bootstrap=1000, random_state=0) for k, c in claims.items()}
    expl = {k: evaluate_claim(c, partial, n_bootstrap=1000, random_state=0) for k, c in claims.items()}
    rows = []
    for family, R in (("study", res), ("exploratory", expl)):
        for i, r1 in enumerate(R["e1"].cells):
            r2, rs = R["e2"].cells[i], R["e1_strict"].cells[i]
            k = r1["key"]
            rows.append({
                **k, "family": family, "n_seeds": r1["n_seeds"], "seeds": r1["seeds"],
                **_cell_numbers(r1, r2),
                # no corrected p where no test was made (exploratory cells: < 5 seeds)
                "holm_e1": shown_holm(r1, 5), "p_e2": r2["p"], "holm_e2": shown_holm(r2, 5),
                "p_e1_strict": rs["p"], "holm_e1_strict": shown_holm(rs, 5),
            })
    _add_times(rows, table, recs)
    _add_controls(rows)
    for r in rows:
        _set_verdict(r)
    return rows


def _set_verdict(r: dict) -> None:
    """The registered targets (a), (b), (c) and the verdict of one row, from its Holm p-values
    (``holm_e1``, ``holm_e2``) and ``beats_controls``; a row outside the family (< 5 seeds)
    is exploratory and gets no verdict."""
    if r["family"] != "study":
        r["verdict"] = "exploratory (< 5 seeds)"  # no Holm p (shown_holm)
        return
    a = r["cliff_change_pct"]["value"] <= -100 * CLIFF_TARGET and r["holm_e1"] <= ALPHA
    b = r["holm_e2"] <= ALPHA
    c = r.get("beats_controls")
    r["target_a"], r["target_b"], r["target_c"] = bool(a), bool(b), c
    if a and b and c:
        r["verdict"] = "meets (a)(b)(c)"
    elif r["holm_e1"] <= ALPHA and r["cliff_change_pct"]["value"] < 0:
        r["verdict"] = "cliff lower (E1), " + ("overall lower" if b else "overall not lower")
    elif r["holm_e2"] <= ALPHA:
        r["verdict"] = "overall lower only"
    else:
        r["verdict"] = "no significant gain"


def _neg(e):
    return {k: (None if v is None else -v) for k, v in
            (("value", e["value"]), ("low", e["high"]), ("high", e["low"]))}


def _ratio_change(est, g):
    return {"value": 100.0 * (est[f"{g}_1"].value / est[f"{g}_0"].value - 1.0)}


def _add_times(rows, table, recs, baseline="plain"):
    ok = table[table["status"] == "ok"]
    for r in rows:
        sel = ok[(ok["dataset"] == r["dataset"]) & (ok["split"] == r["split"])
                 & (ok["backbone"] == r["backbone"]) & ok["seed"].isin(r["seeds"])]
        tm = [_train_seconds(recs[k]) for k in sel[sel["loss"] == r["loss"]]["key"] if k in recs]
        tp = [_train_seconds(recs[k]) for k in sel[sel["loss"] == baseline]["key"] if k in recs]
        r["train_s_median"] = float(np.median(tm)) if tm else None
        r["plain_train_s_median"] = float(np.median(tp)) if tp else None
        r["time_ratio"] = (r["train_s_median"] / r["plain_train_s_median"]
                           if tm and tp and r["plain_train_s_median"] > 0 else None)
        cm = [float(recs[k]["cpu_seconds"]) for k in sel[sel["loss"] == r["loss"]]["key"] if k in recs]
        cp = [float(recs[k]["cpu_seconds"]) for k in sel[sel["loss"] == baseline]["key"] if k in recs]
        # validation-chosen numbers (e.g. tanimoto-stack's blend weight), per seed where recorded
        r["chosen"] = [((recs[k].get("extra") or {}).get("fitted") or {}).get("weight_")
                       for k in sel[sel["loss"] == r["loss"]]["key"] if k in recs]
        # CPU seconds of the whole cell (fit, predict, evaluate): less sensitive to the load
        r["cpu_ratio"] = float(np.median(cm) / np.median(cp)) if cm and cp else None


def _add_controls(rows):
    by = {}
    for r in rows:
        by.setdefault((r["dataset"], r["split"], r["backbone"], r["family"]), {})[r["loss"]] = r
    for r in rows:
        group = by[(r["dataset"], r["split"], r["backbone"], r["family"])]
        ctrl = {m: g["cliff_mae"] for m, g in group.items() if m in CONTROLS and m != r["loss"]}
        r["control_cliff_mae"] = ctrl
        r["beats_controls"] = (None if r["loss"] in CONTROLS or not ctrl
                               else bool(all(r["cliff_mae"] < v for v in ctrl.values())))


def analyze_mace(table, recs) -> list[dict]:
    """MoleculeACE's RMSE and cliff RMSE per set, backbone and method; paired one-sided t
    (plain − method > 0, across seeds) on cliff RMSE, Holm over the MoleculeACE family."""
    from cliffkit.evaluate import holm, one_sided_t
    from cliffkit.report import published_moleculeace

    pub = published_moleculeace()
    svm = pub[pub["algorithm"] == "SVM"].set_index("dataset")
    t = table[(table["split"] == "predefined") & (table["status"] == "ok")]
    vals = {}
    for key in t["key"]:
        rec = recs.get(key)
        if rec is None:
            continue
        c = rec["cell"]
        m = (rec.get("metrics") or {}).get("moleculeace") or {}
        vals.setdefault((c["dataset"].split(":", 1)[-1], c["backbone"], c["loss"]), {})[c["seed"]] = (
            m.get("rmse", np.nan), m.get("cliff_rmse", np.nan), _train_seconds(rec))
    rows = []
    for (ds, bb, loss), seeds in sorted(vals.items()):
        plain = vals.get((ds, bb, "plain"), {})
        common = sorted(set(seeds) & set(plain))
        if not common:
            continue
        a = np.array([plain[s] for s in common], dtype=float)
        b = np.array([seeds[s] for s in common], dtype=float)
        row = {"set": ds, "backbone": bb, "loss": loss, "n_seeds": len(common), "seeds": common,
               "rmse": float(b[:, 0].mean()), "cliff_rmse": float(b[:, 1].mean()),
               "plain_rmse": float(a[:, 0].mean()), "plain_cliff_rmse": float(a[:, 1].mean()),
               "published_svm_rmse": float(svm.loc[ds, "rmse"]) if ds in svm.index else None,
               "published_svm_cliff_rmse": float(svm.loc[ds, "cliff_rmse"]) if ds in svm.index else None,
               "train_s_median": float(np.median(b[:, 2])),
               "time_ratio": float(np.median(b[:, 2]) / np.median(a[:, 2]))}
        row["rmse_gain_pct"] = 100 * (1 - row["rmse"] / row["plain_rmse"])
        row["cliff_rmse_gain_pct"] = 100 * (1 - row["cliff_rmse"] / row["plain_cliff_rmse"])
        row["p_cliff"] = float(one_sided_t(a[:, 1] - b[:, 1])) if loss != "plain" else None
        row["below_published_svm_cliff"] = (row["published_svm_cliff_rmse"] is not None
                                            and row["cliff_rmse"] < row["published_svm_cliff_rmse"])
        row["cliff_gain_ge_overall_gain"] = row["cliff_rmse_gain_pct"] >= row["rmse_gain_pct"]
        rows.append(row)
    fam = [r for r in rows if r["loss"] != "plain" and r["n_seeds"] >= 5]
    for r, p in zip(fam, holm([r["p_cliff"] for r in fam]), strict=True):
        r["holm_cliff"] = float(p)
    return rows


def winner(rows) -> dict:
    lipo = [r for r in rows if r["dataset"] == "lipophilicity" and r["split"] == "cliff"
            and r["family"] == "study" and r["loss"] not in CONTROLS]
    per = {}
    for r in lipo:
        per.setdefault(r["loss"], []).append(r)
    qual = {}
    for m, rs in per.items():
        ok = [r["backbone"] for r in rs if r.get("verdict") == "meets (a)(b)(c)"]
        if len(ok) >= 2:
            qual[m] = {"backbones": ok, "time_ratio": float(np.median([r["time_ratio"] for r in rs
                                                                       if r["time_ratio"]])),
                       "cliff_change": float(np.mean([r["cliff_change_pct"]["value"] for r in rs]))}
    if not qual:
        return {"winner": None, "qualifying": {},
                "reason": "no method meets targets (a), (b) and (c) on two backbones"}
    best = sorted(qual.items(), key=lambda kv: (round(kv[1]["time_ratio"], 1), kv[1]["cliff_change"]))
    return {"winner": best[0][0], "qualifying": qual, "reason": "pre-registered rule"}


# ------------------------------------------------------------------- confirmatory study
def _claim_rows(t, recs, loss, baseline, backbones, registered) -> list[dict]:
    """E1, E1 strict and E2 of ``loss`` against ``baseline`` on every registered (dataset,
    split, backbone) cell, Holm per endpoint over ``registered`` (a registered cell that did
    not run, or lacks a seed in either arm, stays in the family with p = 1)."""
    from cliffkit.evaluate import evaluate_claim, holm
    from cliffkit.report._claims import claim_cells

    base = {"test": "t", "quantifier": "any", "alpha": ALPHA, "min_seeds": 5, "baseline": baseline,
            "per": ["dataset", "split", "backbone", "loss"],
            "cells": {"dataset": ["lipophilicity", "esol"], "loss": [loss], "backbone": backbones}}
    claims = _endpoint_claims(base)
    # no seed is dropped here: a seed missing in an arm is a failed seed (p = 1)
    cells = claim_cells(claims["e1"], t)
    res = {k: evaluate_claim(c, cells, n_bootstrap=1000, random_state=0) for k, c in claims.items()}
    found = {}
    for i, r1 in enumerate(res["e1"].cells):
        k = r1["key"]
        r2, rs = res["e2"].cells[i], res["e1_strict"].cells[i]
        found[(k["dataset"], k["split"], k["backbone"])] = {
            **k, "baseline": baseline, "n_seeds": r1["n_seeds"], "seeds": r1["seeds"],
            **_cell_numbers(r1, r2), "p_e2": r2["p"], "p_e1_strict": rs["p"]}
    rows = []
    for ds, split, bb in registered:
        r = found.get((ds, split, bb))
        if r is None or r["n_seeds"] < 5 or not all(
                np.isfinite(r[c]) for c in ("plain_cliff_mae", "cliff_mae", "plain_mae", "mae")):
            r = {**(r or {"dataset": ds, "split": split, "backbone": bb, "loss": loss,
                          "baseline": baseline, "n_seeds": 0}),
                 "not_run": True, "p_e1": np.nan, "p_e2": np.nan, "p_e1_strict": np.nan}
        rows.append(r)
    for key in ("p_e1", "p_e2", "p_e1_strict"):
        adj = holm([r[key] if r[key] is not None else np.nan for r in rows])  # NaN counts as 1
        for r, a in zip(rows, adj, strict=True):
            r["holm_" + key[2:]] = float(a)
    run = [r for r in rows if not r.get("not_run")]
    _add_times(run, t, recs, baseline)
    return rows


def confirm_decision(fam, sec) -> dict:
    """The registered decision rule (docs/cliffloss.md, "Confirmatory study: anchor-delta
    (pre-registration)") applied to the family ``fam`` and the secondary family ``sec``."""
    def cell(rows, ds, split, bb):
        return next((r for r in rows if (r["dataset"], r["split"], r["backbone"]) == (ds, split, bb)
                     and not r.get("not_run")), None)

    prim = cell(fam, "lipophilicity", "cliff", "svm")
    replicated = bool(prim and prim["holm_e2"] <= ALPHA and prim["overall_change_pct"]["value"] < 0)
    e1_primary = bool(prim and prim["holm_e1"] <= ALPHA and prim["cliff_change_pct"]["value"] < 0)
    sec_lgbm = cell(sec, "lipophilicity", "cliff", "lgbm")
    beats_ens_sig = bool(sec_lgbm and sec_lgbm["holm_e1"] <= ALPHA
                         and sec_lgbm["cliff_change_pct"]["value"] < 0)
    per = {}
    for bb in ("svm", "lgbm"):
        r = cell(fam, "lipophilicity", "cliff", bb)
        if r is None:
            per[bb] = {"ran": False}
            continue
        c1 = bool(r["cliff_change_pct"]["value"] <= -100 * CLIFF_TARGET and r["holm_e1"] <= ALPHA)
        c2 = bool(r["holm_e2"] <= ALPHA and r["overall_change_pct"]["value"] < 0)
        # (3) is an lgbm condition: svm has no ensemble (deterministic fit), so it is None
        # ("n/a"), not a pass, and does not enter "all".
        c3 = None if bb == "svm" else bool(sec_lgbm and sec_lgbm["cliff_mae"] < sec_lgbm["plain_cliff_mae"])
        tr = r.get("time_ratio")
        c4_time = bool(tr is not None and tr <= MAX_TIME_RATIO)
        c4 = c4_time or beats_ens_sig
        per[bb] = {"ran": True, "1_cliff_10pct_and_e1_holm": c1, "2_e2_holm": c2,
                   "3_below_equal_compute_ensemble": c3, "4_time_le_1.3": c4_time,
                   "4_or_beats_ensemble_e1_holm": beats_ens_sig, "4": c4,
                   "all": c1 and c2 and c3 is not False and c4}
    change = all(p.get("all") for p in per.values())
    return {"primary_replicated_e2": replicated, "primary_e1": e1_primary, "per_backbone": per,
            "change_default": change,
            "decision": ("change --loss cliff to anchor-delta (fixed-λ rule kept as cliff-fixed)"
                         if change else "--loss cliff unchanged (the registered rule is not met)")}


def analyze_confirmatory(out: Path, json_path: Path | None, docs: Path | None) -> dict:
    """The confirmatory anchor-delta study: the family (vs plain, Holm over its 8 registered
    cells), the secondary family (vs the equal-compute lgbm ensemble, Holm over 4), the
    ensemble against plain (descriptive), MoleculeACE (descriptive) and the decision rule."""
    from cliffkit.bench import load_results

    table = load_results(out)
    table = table[table["status"] == "ok"].reset_index(drop=True)
    recs = _cell_records(out)
    t = table[table["dataset"].isin(["lipophilicity", "esol"])]
    lgbm_cells = [c for c in CONFIRM_FAMILY if c[2] == "lgbm"]
    fam = _claim_rows(t, recs, "anchor-delta", "plain", ["svm", "lgbm"], CONFIRM_FAMILY)
    sec = _claim_rows(t, recs, "anchor-delta", "plain-ensemble", ["lgbm"], lgbm_cells)
    ens = _claim_rows(t, recs, "plain-ensemble", "plain", ["lgbm"], lgbm_cells)
    mace = analyze_mace(table, recs)
    for r in mace:  # one fixed split: descriptive only, no test (registration)
        r["p_cliff"] = None
        r.pop("holm_cliff", None)
    runs = _run_log(out)
    summary = {
        "analyzed": _now(), "n_cells_ok": int(len(table)),
        "preregistration": "docs/cliffloss.md, 'Confirmatory study: anchor-delta (pre-registration)'",
        "run_log": runs, "family": fam, "secondary_vs_ensemble": sec, "ensemble_vs_plain": ens,
        "mace_cells": mace, "decision": confirm_decision(fam, sec),
    }
    _write_summary(summary, confirm_markdown(summary), json_path, docs, "confirm")
    return summary


def _chosen(r) -> str:
    """The values a cell's method chose on validation (one per seed), or an em dash."""
    ws = [x for x in (r.get("chosen") or []) if x is not None]
    return ", ".join(f"{x:g}" for x in ws) if ws else "—"


def confirm_markdown(summary) -> str:
    out = ["<!-- confirm:start -->", "", f"Generated by `benchmarks/mitigation.py analyze --plan "
           f"confirmatory` ({summary['analyzed']}; {summary['n_cells_ok']} finished cells).", ""]
    head = ("| data | split | backbone | against | seeds | cliff MAE Δ | smooth Δ | overall MAE Δ | "
            "p E1 | Holm E1 | p E2 | Holm E2 | Holm strict | p smooth NI | CPU × | time × | "
            "blend weight α |")
    for title, rows in (("Family (`anchor-delta` against `plain`; Holm over these 8 cells)",
                         summary["family"]),
                        ("Secondary family (`anchor-delta` against the 8-member `plain-ensemble`; "
                         "Holm over these 4 cells; ratios ÷ the ensemble's)",
                         summary["secondary_vs_ensemble"]),
                        ("Control (`plain-ensemble`, 8 members, against `plain`; descriptive, "
                         "its Holm over these 4 cells)", summary["ensemble_vs_plain"])):
        out += [f"**{title}**", "", head, "|" + "|".join(["---"] * 17) + "|"]
        for r in rows:
            lead = (f"| {r['dataset']} | {r['split']} | {r['backbone']} | {r['baseline']} | "
                    f"{r['n_seeds']} | ")
            if r.get("not_run"):
                out.append(lead + "not run (p = 1 in the family) |" + " |" * 11)
                continue
            out.append(lead + (
                f"{_pct(r['cliff_change_pct'])} | {_signed(r['smooth_change_pct']['value'])}% | "
                f"{_pct(r['overall_change_pct'])} | {_p(r['p_e1'])} | {_p(r['holm_e1'])} | "
                f"{_p(r['p_e2'])} | {_p(r['holm_e2'])} | {_p(r['holm_e1_strict'])} | "
                f"{_p(r['p_noninferiority'])} | {_f(r.get('cpu_ratio'), 2)} | "
                f"{_f(r.get('time_ratio'), 2)} | {_chosen(r) if r['loss'] == 'anchor-delta' else '—'} |"))
        out.append("")
    if summary["mace_cells"]:
        out += ["**MoleculeACE** (their split; descriptive, one split, no test; lgbm: mean over "
                "seeds 0-4; svm: seed 0 only)", "",
                "| set | backbone | method | seeds | RMSE | cliff RMSE | published SVM | "
                "gain RMSE | gain cliff RMSE | time × |", "|" + "|".join(["---"] * 10) + "|"]
        for r in summary["mace_cells"]:
            out.append(
                f"| {r['set']} | {r['backbone']} | {r['loss']} | {r['n_seeds']} | {_f(r['rmse'])} | "
                f"{_f(r['cliff_rmse'])} | {_f(r['published_svm_rmse'])} / "
                f"{_f(r['published_svm_cliff_rmse'])} | {_signed(r['rmse_gain_pct'])}% | "
                f"{_signed(r['cliff_rmse_gain_pct'])}% | {_f(r['time_ratio'], 2)} |")
        out.append("")
    d = summary["decision"]
    prim = next((r for r in summary["family"] if (r["dataset"], r["split"], r["backbone"])
                 == ("lipophilicity", "cliff", "svm")), {})
    seeds = ", ".join(map(str, prim.get("seeds") or [])) or "none"
    out += [f"**Primary hypothesis** (svm, Lipophilicity CliffSplit, seeds {seeds}): E2 "
            f"{'replicated' if d['primary_replicated_e2'] else 'not replicated'} (registered "
            f"criterion: Holm E2 ≤ 0.05 and overall MAE lower); E1 "
            f"{'met' if d['primary_e1'] else 'not met'} (Holm E1 ≤ 0.05, cliff MAE lower).", "",
            "**Decision rule:** " + "; ".join(
                f"{bb}: " + (", ".join(f"{k} {'n/a' if v is None else 'yes' if v else 'no'}" for k, v in p.items() if k != "ran")
                             if p.get("ran") else "not run")
                for bb, p in d["per_backbone"].items()) + f". **{d['decision']}**.", "",
            "<!-- confirm:end -->"]
    return "\n".join(out)


# ------------------------------------------------------------------ completion run (18f)
#: The committed summaries whose 5-seed cells form the registered family with the completion's
#: cells (docs/cliffloss.md, "Completion run: mlp arms at 5 seeds"): the study's 31 cells and
#: the addendum's two ``anchor-delta`` cells.
COMPLETION_BASE = (("study", Path("benchmarks/results/mitigation.json"), None),
                   ("addendum", Path("benchmarks/results/mitigation_anchor_delta.json"),
                    "anchor-delta"))
_P_KEYS = ("p_e1", "p_e2", "p_e1_strict")


def _row_key(r: dict) -> tuple:
    return (r["dataset"], r["split"], r["backbone"], r["loss"])


def completion_family(new: list[dict], base: list[tuple[str, dict]]) -> tuple[list[dict], list[dict]]:
    """The registered family of the completion run: every 5-seed row of ``base`` ((source,
    summary) pairs; rows of the summaries' ``mae_cells`` with ``family == "study"``, restricted
    to ``loss`` where the source names one) plus the new 5-seed rows ``new``, a new row
    replacing a base row of the same cell. Holm per endpoint over that family; verdicts from
    those Holm p-values. Returns (family rows, replaced base rows); base rows are copied."""
    from cliffkit.evaluate import holm

    new_keys = {_row_key(r) for r in new}
    fam, replaced = [], []
    for source, summary, only in base:
        for r in summary["mae_cells"]:
            if r["family"] != "study" or (only and r["loss"] != only):
                continue
            r = {**r, "source": source}
            (replaced if _row_key(r) in new_keys else fam).append(r)
    fam += [{**r, "source": "completion"} for r in new]
    for key in _P_KEYS:
        adj = holm([r[key] if r[key] is not None else np.nan for r in fam])  # NaN counts as 1
        for r, a in zip(fam, adj, strict=True):
            r["holm_" + key[2:]] = float(a)
    for r in fam:
        _set_verdict(r)
    return fam, replaced


def _add_epochs(rows: list[dict], recs: dict) -> None:
    """What each cell chose on validation, per seed of each row: the early-stopping epoch
    (``best_epochs``, and plain's, ``plain_best_epochs``); for ``anchor-delta`` its
    Δ-LightGBM's best iteration (``delta_iterations``; the wrapper's best_epoch_ is that)."""
    epochs, delta_its = {}, {}
    for rec in recs.values():
        c = rec["cell"]
        fitted = (rec.get("extra") or {}).get("fitted") or {}
        k = (c["dataset"], c["split"], c["backbone"], c["loss"], c["seed"])
        if "delta_iteration_" in fitted:
            delta_its[k] = fitted["delta_iteration_"]
        else:
            epochs[k] = fitted.get("best_epoch_")
    for r in rows:
        r["best_epochs"] = [epochs.get((*_row_key(r), s)) for s in r["seeds"]]
        r["delta_iterations"] = [delta_its.get((*_row_key(r), s)) for s in r["seeds"]]
        r["plain_best_epochs"] = [epochs.get((*_row_key(r)[:3], "plain", s)) for s in r["seeds"]]


def analyze_completion(out: Path, json_path: Path | None, docs: Path | None,
                       base_paths=COMPLETION_BASE) -> dict:
    """The completion run of the mlp arms (issue 18f): per new mlp cell E1, E1 strict and E2
    against plain, Holm two ways (the registered family: the study's and the addendum's 5-seed
    cells plus the new ones; and the new mlp cells alone), verdicts and the winner rule on the
    registered family."""
    from cliffkit.bench import load_results

    table = load_results(out)
    table = table[(table["status"] == "ok") & (table["backbone"] == "mlp")].reset_index(drop=True)
    recs = _cell_records(out)
    rows = analyze_mae(table, recs)  # Holm and verdicts over the new mlp cells alone
    for r in rows:
        for k in ("holm_e1", "holm_e2", "holm_e1_strict", "verdict"):
            r[k + "_alone"] = r.pop(k)
        for k in ("target_a", "target_b", "target_c"):
            r.pop(k, None)
    _add_epochs(rows, recs)
    base = [(src, json.loads(p.read_text(encoding="utf-8")), only) for src, p, only in base_paths]
    new = [r for r in rows if r["family"] == "study"]
    fam, replaced = completion_family(new, base)
    by_key = {_row_key(r): r for r in fam if r["source"] == "completion"}
    for r in rows:  # the registered family's Holm p-values and verdict on the new rows
        f = by_key.get(_row_key(r))
        for k in ("holm_e1", "holm_e2", "holm_e1_strict", "verdict", "target_a", "target_b",
                  "target_c"):
            r[k] = f.get(k) if f else None
        if not f:
            r["verdict"] = "exploratory (< 5 seeds)"
    runs = _run_log(out)
    summary = {
        "analyzed": _now(), "n_cells_ok": int(len(table)),
        "preregistration": "docs/cliffloss.md, 'Completion run: mlp arms at 5 seeds'",
        "run_log": runs, "mae_cells": rows,
        "family_size": len(fam), "family_size_alone": len(new),
        "family_sources": {s: sum(r["source"] == s for r in fam) for s in
                           [b[0] for b in base_paths] + ["completion"]},
        "replaced_rows": replaced,
        "family_min_holm": {k: min((r["holm_" + k[2:]], _row_key(r)) for r in fam)
                            for k in _P_KEYS} if fam else {},
        "winner": winner(fam),
    }
    _write_summary(summary, completion_markdown(summary), json_path, docs, "completion")
    return summary


def completion_markdown(summary) -> str:
    def ep(r):  # median early-stopping epoch of the arm and of plain, same seeds
        a = [x for x in r.get("best_epochs") or [] if x is not None]
        b = [x for x in r.get("plain_best_epochs") or [] if x is not None]
        return (f"{np.median(a):g}" if a else "—") + (f" ({np.median(b):g})" if b else "")

    out = ["<!-- completion:start -->", "",
           f"Generated by `benchmarks/mitigation.py analyze --plan completion` "
           f"({summary['analyzed']}; {summary['n_cells_ok']} finished mlp cells). Holm (reg.): "
           f"the registered family of {summary['family_size']} cells ("
           + ", ".join(f"{n} {s}" for s, n in summary["family_sources"].items())
           + f"); Holm (mlp): the {summary['family_size_alone']} new mlp cells with 5 seeds alone. "
           "Changes against mlp `plain` (ratio of seed means; 95% paired hierarchical-bootstrap "
           "CI); one-sided t across seeds.", "",
           "| data | split | method | seeds | cliff MAE Δ | smooth Δ | overall MAE Δ | p E1 | "
           "p smooth NI | p E2 | Holm E1 reg. / mlp | Holm E2 reg. / mlp | Holm strict reg. / mlp | "
           "time × | CPU × | blend weight α | early-stop epoch (plain) | verdict (reg.) |",
           "|" + "|".join(["---"] * 18) + "|"]
    for r in summary["mae_cells"]:
        def hp(k, r=r):
            return f"{_p(r.get(k))} / {_p(r.get(k + '_alone'))}"
        out.append(
            f"| {r['dataset']} | {r['split']} | {r['loss']} | {r['n_seeds']} | "
            f"{_pct(r['cliff_change_pct'])} | {_signed(r['smooth_change_pct']['value'])}% | "
            f"{_pct(r['overall_change_pct'])} | {_p(r['p_e1'])} | {_p(r['p_noninferiority'])} | "
            f"{_p(r['p_e2'])} | {hp('holm_e1')} | {hp('holm_e2')} | {hp('holm_e1_strict')} | "
            f"{_f(r['time_ratio'], 2)} | {_f(r['cpu_ratio'], 2)} | {_chosen(r)} | {ep(r)} | "
            f"{r['verdict']} |")
    if summary["replaced_rows"]:
        out += ["", "Re-run cells that replace a study row in the registered family "
                "(the study's row, for comparison):", ""]
        for r in summary["replaced_rows"]:
            out.append(f"- {r['dataset']} {r['split']} {r['backbone']} `{r['loss']}` (study): "
                       f"cliff {_pct(r['cliff_change_pct'])}, smooth "
                       f"{_signed(r['smooth_change_pct']['value'])}%, overall "
                       f"{_pct(r['overall_change_pct'])}, plain MAE cliff / smooth / overall "
                       f"{_f(r['plain_cliff_mae'], 4)} / {_f(r['plain_smooth_mae'], 4)} / "
                       f"{_f(r['plain_mae'], 4)}, p E1 {_p(r['p_e1'])}, p E2 {_p(r['p_e2'])}")
    m = summary.get("family_min_holm") or {}
    if m:
        out += ["", "Smallest Holm p in the registered family: " + "; ".join(
            f"{k[2:].upper().replace('_', ' ')} "
            + (f"{_p(v[0])} ({' '.join(v[1])})" if v[0] < 1 else "1.000 (every cell)")
            for k, v in m.items()) + "."]
    wn = summary["winner"]
    out += ["", f"**Winner rule** (registered family): {wn['winner'] or 'no winner'} "
            f"({wn['reason']}).", "", "<!-- completion:end -->"]
    return "\n".join(out)


# ------------------------------------------------------------------------------ gin arm
COMPLETION_JSON = Path("benchmarks/results/mitigation_completion.json")


def analyze_gin(out: Path, json_path: Path | None, docs: Path | None,
                completion_json: Path = COMPLETION_JSON, base_paths=COMPLETION_BASE) -> dict:
    """The gin arm (docs/cliffloss.md, "gin arm: pre-registration"): E1, E1 strict and E2 of
    each gin arm against gin ``plain``, Holm over the registered family (the gin cells with 5
    seeds: one); for comparison only, the Holm p-values the cell would have as one more cell
    of the completion run's registered family (the committed ``completion_json`` rows plus
    the study's and the addendum's)."""
    from cliffkit.bench import load_results

    table = load_results(out)
    table = table[(table["status"] == "ok") & (table["backbone"] == "gin")].reset_index(drop=True)
    recs = _cell_records(out)
    rows = analyze_mae(table, recs)  # Holm over the 5-seed gin cells: the registered family
    _add_epochs(rows, recs)
    comp = json.loads(Path(completion_json).read_text(encoding="utf-8"))
    base = [(src, json.loads(p.read_text(encoding="utf-8")), only) for src, p, only in base_paths]
    new = [r for r in comp["mae_cells"] if r["family"] == "study"]
    mine = [r for r in rows if r["family"] == "study"]
    fam, _ = completion_family(new + mine, base)
    by_key = {_row_key(r): r for r in fam}
    for r in rows:
        f = by_key.get(_row_key(r)) if r["family"] == "study" else None
        for k in ("holm_e1", "holm_e2", "holm_e1_strict"):
            r[k + "_completion"] = f.get(k) if f else None
    summary = {
        "analyzed": _now(), "n_cells_ok": int(len(table)),
        "preregistration": "docs/cliffloss.md, 'gin arm: pre-registration'",
        "run_log": _run_log(out), "mae_cells": rows, "family_size": len(mine),
        "completion_family_size": len(fam) if mine else None,
    }
    _write_summary(summary, gin_markdown(summary), json_path, docs, "gin")
    return summary


def gin_markdown(summary) -> str:
    out = ["<!-- gin:start -->", "",
           f"Generated by `benchmarks/mitigation.py analyze --plan gin` ({summary['analyzed']}; "
           f"{summary['n_cells_ok']} finished gin cells). Registered family: the "
           f"{summary['family_size']} gin cell(s) with 5 seeds. Changes against gin `plain` (ratio of "
           "seed means; 95% paired hierarchical-bootstrap CI); one-sided paired t across seeds. "
           "Holm (compl.): the same p-values as one more cell of the completion run's registered "
           f"family ({summary['completion_family_size'] or '—'} cells), for comparison only.", "",
           "| data | split | method | seeds | MAE cliff / smooth / overall (plain) | cliff MAE Δ | "
           "smooth Δ | overall MAE Δ | p E1 | p smooth NI | p E2 | Holm E1 / E2 / strict | "
           "Holm (compl.) E1 / E2 | time × | CPU × | blend weight α | early-stop epoch (plain) | "
           "verdict |",
           "|" + "|".join(["---"] * 18) + "|"]
    for r in summary["mae_cells"]:
        ep_a = [x for x in r.get("plain_best_epochs") or [] if x is not None]
        out.append(
            f"| {r['dataset']} | {r['split']} | {r['loss']} | {r['n_seeds']} | "
            f"{_f(r['cliff_mae'])} / {_f(r['smooth_mae'])} / {_f(r['mae'])} "
            f"({_f(r['plain_cliff_mae'])} / {_f(r['plain_smooth_mae'])} / {_f(r['plain_mae'])}) | "
            f"{_pct(r['cliff_change_pct'])} | {_signed(r['smooth_change_pct']['value'])}% | "
            f"{_pct(r['overall_change_pct'])} | {_p(r['p_e1'])} | {_p(r['p_noninferiority'])} | "
            f"{_p(r['p_e2'])} | {_p(r['holm_e1'])} / {_p(r['holm_e2'])} / "
            f"{_p(r['holm_e1_strict'])} | {_p(r.get('holm_e1_completion'))} / "
            f"{_p(r.get('holm_e2_completion'))} | {_f(r['time_ratio'], 2)} | "
            f"{_f(r['cpu_ratio'], 2)} | {_chosen(r)} | "
            f"{', '.join(f'{x:g}' for x in ep_a) if ep_a else '—'} | {r['verdict']} |")
    out += ["", "<!-- gin:end -->"]
    return "\n".join(out)


# ------------------------------------------------------------------------------ output
def _f(v, d=3):
    return format_number(v, d)


def _signed(v, d=1):
    """A change already in percent, signed, never ``-0.0%`` (``format_number``'s rounding rule)."""
    return format_number(v, d, sign=True)


def _pct(e):
    if e.get("low") is None:
        return f"{_signed(e['value'])}%"
    return f"{_signed(e['value'])}% [{_signed(e['low'])}, {_signed(e['high'])}]"


def _p(v):
    return "—" if v is None or not np.isfinite(v) else (f"{v:.3f}" if v >= 0.001 else f"{v:.0e}")


def markdown(summary) -> str:
    out = ["<!-- mitigation:start -->", "### Results (generated by `benchmarks/mitigation.py analyze`)", "",
           f"Cells read {summary['analyzed']}; runs: {summary['runs']}.", ""]
    out += ["Per cell: change against plain of the same backbone (ratio of seed means; 95% paired "
            "hierarchical-bootstrap CI), one-sided t across seeds, Holm over the "
            f"{summary['family_size']} cells of the family. E1: cliff MAE lower with smooth MAE "
            "within +2%; E2: overall MAE lower; strict: cliff MAE lower by more than 10%. "
            "Time: median training time ÷ plain's (same cells; loaded machine).", ""]
    head = ("| data | split | backbone | method | seeds | cliff MAE Δ | smooth Δ | overall MAE Δ | "
            "p E1 | Holm E1 | p E2 | Holm E2 | Holm strict | time × | CPU × | verdict |")
    out += [head, "|" + "|".join(["---"] * 16) + "|"]
    for r in summary["mae_cells"]:
        out.append(
            f"| {r['dataset']} | {r['split']} | {r['backbone']} | {r['loss']} | {r['n_seeds']} | "
            f"{_pct(r['cliff_change_pct'])} | {_signed(r['smooth_change_pct']['value'])}% | "
            f"{_pct(r['overall_change_pct'])} | {_p(r['p_e1'])} | {_p(r['holm_e1'])} | "
            f"{_p(r['p_e2'])} | {_p(r['holm_e2'])} | {_p(r['holm_e1_strict'])} | "
            f"{_f(r['time_ratio'], 2)} | {_f(r['cpu_ratio'], 2)} | {r['verdict']} |")
    if summary["mace_cells"]:
        out += ["", "MoleculeACE (their split; seeds vary the validation hold-out and model seed; "
                "mean over seeds; gains are % lower than plain; p: one-sided paired t on cliff "
                "RMSE, Holm over the MoleculeACE family):", "",
                "| set | backbone | method | seeds | RMSE | cliff RMSE | published SVM | "
                "gain RMSE | gain cliff RMSE | p | Holm | time × |",
                "|" + "|".join(["---"] * 12) + "|"]
        for r in summary["mace_cells"]:
            out.append(
                f"| {r['set']} | {r['backbone']} | {r['loss']} | {r['n_seeds']} | {_f(r['rmse'])} | "
                f"{_f(r['cliff_rmse'])} | {_f(r['published_svm_rmse'])} / "
                f"{_f(r['published_svm_cliff_rmse'])} | {_signed(r['rmse_gain_pct'])}% | "
                f"{_signed(r['cliff_rmse_gain_pct'])}% | {_p(r['p_cliff'])} | {_p(r.get('holm_cliff'))} | "
                f"{_f(r['time_ratio'], 2)} |")
    w = summary["winner"]
    out += ["", f"**Winner rule:** {w['winner'] or 'no winner'} ({w['reason']}).", "",
            "<!-- mitigation:end -->"]
    return "\n".join(out)


def analyze(out: Path, json_path: Path | None, docs: Path | None) -> dict:
    from cliffkit.bench import load_results

    table = load_results(out)
    table = table[table["status"] == "ok"].reset_index(drop=True)
    recs = _cell_records(out)
    rows = analyze_mae(table, recs)
    mace = analyze_mace(table, recs)
    runs = _run_log(out)
    summary = {
        "analyzed": _now(), "n_cells_ok": int(len(table)),
        "family_size": sum(r["family"] == "study" for r in rows),
        "runs": f"{len(runs)} completed stage runs logged (stages stopped to re-prioritise are not), " + (f"{runs[0]['start']} to {runs[-1]['end']}, load "
                                               f"{runs[0]['load_start']} → {runs[-1]['load_end']}"
                                               if runs else "no run log"),
        "run_log": runs, "mae_cells": rows, "mace_cells": mace, "winner": winner(rows),
        "preregistration": "docs/cliffloss.md, 'Mitigation study (issue 18): pre-registration'",
    }
    _write_summary(summary, markdown(summary), json_path, docs, "mitigation")
    return summary


def check(out: Path, dataset: str, split: str, backbone: str, loss: str, summary: Path | None) -> None:
    """Re-derive one table row by hand, independently of ``cliffkit.evaluate._stats``: the
    cell JSONs and prediction CSVs read with the standard library and pandas, MAEs with
    numpy, the tests with ``scipy.stats.ttest_1samp``; Holm from the summary's raw p-values."""
    import pandas as pd
    from scipy import stats

    def arm(name):
        got = {}
        for p in sorted((out / "cells").glob("*.json")):
            rec = json.loads(p.read_text(encoding="utf-8"))
            c = rec.get("cell", {})
            if (rec.get("status") == "ok" and c.get("dataset") == dataset and c.get("split") == split
                    and c.get("backbone") == backbone and c.get("loss") == name):
                got[c["seed"]] = pd.read_csv(out / rec["predictions"])
        return got

    a, b = arm("plain"), arm(loss)
    seeds = sorted(set(a) & set(b))
    per = []
    for s in seeds:
        fa, fb = a[s], b[s]
        assert (fa["index"].to_numpy() == fb["index"].to_numpy()).all()
        row = []
        for f in (fa, fb):
            e = (f["y_pred"] - f["y_true"]).abs()
            row.append([e.mean(), e[f["stratum"] == "cliff"].mean(), e[f["stratum"] == "smooth"].mean()])
        per.append(row)
    M = np.array(per)  # seeds × arms × (overall, cliff, smooth)
    m = M.mean(axis=0)
    print(f"{dataset} {split} {backbone} {loss} vs plain, seeds {seeds}")
    for i, g in enumerate(("overall", "cliff", "smooth")):
        print(f"  {g:8s} plain {m[0, i]:.4f}  {loss} {m[1, i]:.4f}  change {100 * (m[1, i] / m[0, i] - 1):+.2f}%")
    p_cliff = stats.ttest_1samp(M[:, 0, 1] - M[:, 1, 1], 0.0, alternative="greater").pvalue
    p_ni = stats.ttest_1samp(1.02 * M[:, 0, 2] - M[:, 1, 2], 0.0, alternative="greater").pvalue
    p_e2 = stats.ttest_1samp(M[:, 0, 0] - M[:, 1, 0], 0.0, alternative="greater").pvalue
    print(f"  p cliff lower {p_cliff:.4f}, p smooth non-inferior {p_ni:.4f} -> p E1 {max(p_cliff, p_ni):.4f}; "
          f"p E2 {p_e2:.4f}")
    if summary and summary.is_file():
        data = json.loads(summary.read_text())
        rows = (data["family"] if "family" in data  # the confirmatory study's family
                else [r for r in data["mae_cells"] if r["family"] == "study"])
        for key in ("p_e1", "p_e2"):
            ps = np.array([r[key] for r in rows], dtype=float)
            ps = np.where(np.isfinite(ps), ps, 1.0)  # a cell not run counts as p = 1
            order = np.argsort(ps, kind="stable")
            adj = np.empty_like(ps)
            run = 0.0
            for rank, i in enumerate(order):  # Holm step-down, written out
                run = max(run, min(1.0, (len(ps) - rank) * ps[i]))
                adj[i] = run
            i = next(j for j, r in enumerate(rows) if (r["dataset"], r["split"], r["backbone"], r["loss"])
                     == (dataset, split, backbone, loss))
            # the completion summary's own cells form its "alone" family
            hk = "holm_" + key[2:] + ("_alone" if "family_size_alone" in data else "")
            print(f"  {key}: summary raw {rows[i][key]:.4f}, Holm by hand {adj[i]:.4f} "
                  f"(summary {hk} {rows[i][hk]:.4f}; family of {len(ps)})")


# plan -> (markdown of its summary, the docs marker its block sits between)
_RENDERERS = {"study": (markdown, "mitigation"), "confirmatory": (confirm_markdown, "confirm"),
              "completion": (completion_markdown, "completion"), "gin": (gin_markdown, "gin")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the study's grids (resumable)")
    r.add_argument("--out", type=Path, default=Path("benchmarks/_out/mitigation"))
    r.add_argument("--n-jobs", type=int, default=2)
    r.add_argument("--stages", default=None,
                   help="comma-separated stage names or prefixes (default: all, in priority order): "
                        + ", ".join(n for n, _ in stages()))
    r.add_argument("--skip", default=None, help="comma-separated losses to leave out of this run")
    r.add_argument("--plan", choices=list(_STAGES), default="study",
                   help="the mitigation study (default), the confirmatory anchor-delta study ("
                        + ", ".join(n for n, _ in confirm_stages()) + ") or the gin arm ("
                        + ", ".join(n for n, _ in gin_stages()) + ")")
    a = sub.add_parser("analyze", help="endpoints, Holm, tables")
    a.add_argument("--out", type=Path, default=Path("benchmarks/_out/mitigation"))
    a.add_argument("--json", type=Path, default=None)
    a.add_argument("--write-docs", type=Path, default=None)
    a.add_argument("--plan", choices=["study", "confirmatory", "completion", "gin"], default="study",
                   help="completion: the mlp completion run (issue 18f), Holm with the study's "
                        "and the addendum's committed summaries; gin: the gin arm")
    g = sub.add_parser("render", help="rewrite a docs block from its committed JSON summary")
    g.add_argument("--json", type=Path, required=True)
    g.add_argument("--write-docs", type=Path, default=None)
    g.add_argument("--plan", choices=list(_RENDERERS), default="study")
    c = sub.add_parser("check", help="re-derive one row by hand (independent code)")
    c.add_argument("--out", type=Path, default=Path("benchmarks/_out/mitigation"))
    c.add_argument("--summary", type=Path, default=None)
    c.add_argument("dataset")
    c.add_argument("split")
    c.add_argument("backbone")
    c.add_argument("loss")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        if "CLIFFKIT_DATA_DIR" not in os.environ:
            print("mitigation: error: set CLIFFKIT_DATA_DIR (the MoleculeACE sets)", file=sys.stderr)
            return 2
        run(args.out, args.n_jobs, args.stages.split(",") if args.stages else None,
            args.skip.split(",") if args.skip else None, args.plan)
    elif args.cmd == "render":
        summary = json.loads(args.json.read_text(encoding="utf-8"))
        render, marker = _RENDERERS[args.plan]
        _write_summary(summary, render(summary), None, args.write_docs, marker)
    elif args.cmd == "check":
        check(args.out, args.dataset, args.split, args.backbone, args.loss, args.summary)
    elif args.plan == "confirmatory":
        analyze_confirmatory(args.out, args.json, args.write_docs)
    elif args.plan == "completion":
        analyze_completion(args.out, args.json, args.write_docs)
    elif args.plan == "gin":
        analyze_gin(args.out, args.json, args.write_docs)
    else:
        analyze(args.out, args.json, args.write_docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
