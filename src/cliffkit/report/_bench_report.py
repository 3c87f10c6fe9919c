"""Turn a results table (one row per grid cell) into a :class:`Report`.

The table is what :func:`cliffkit.bench.load_results` returns; its columns are
documented there (``dataset, target, split, backbone, loss, seed, status`` and the
flattened metrics ``mae, cliff_mae, smooth_mae, gap, ratio, ref_ratio ...``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..utils import format_number
from ._claims import claims_section, load_claims
from ._moleculeace import moleculeace_section
from ._report import Report

__all__ = ["PAPER_CLAIMS", "build_report"]

#: The thresholds of the shipped pre-registered claims (``report/claims/paper.toml``), by id.
#: The claims themselves (cells, endpoint, test) are data: see :func:`load_claims`.
PAPER_CLAIMS = {c["id"]: c["threshold"] for c in load_claims()["claims"]}

_STRATA = ("cliff", "smooth", "matched_smooth", "intermediate", "unsupported")

#: The paper's benchmark datasets (name prefixes: the bundled MoleculeNet sets and QM9); the
#: pre-registered claims are tested on these only, other data (a user's file, MoleculeACE
#: sets) get their own summary.
PAPER_DATASETS = ("qm9", "lipo", "esol", "freesolv")

_FILE_SUFFIXES = (".csv", ".tsv", ".parquet", ".txt")


# ---------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------
def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _fmt(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` decimals; a value that rounds to zero prints without a sign."""
    return format_number(v, digits, missing="–")


def _pct(v: float) -> str:
    return format_number(v, 1, sign=True, percent=True, missing="–")


def _mean_std(values) -> tuple[float, float, int]:
    arr = np.asarray([_num(v) for v in values], dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return float("nan"), float("nan"), 0
    std = float(arr.std(ddof=1)) if arr.size > 1 else float("nan")
    return float(arr.mean()), std, int(arr.size)


def _ms(sub, col: str, ci: bool = True) -> str:
    """``mean ± std [t-interval of the mean]`` over the rows of ``sub`` (seeds).

    The bracket is the 95% Student-t interval of the seed mean
    (:func:`cliffkit.evaluate.t_interval`), "—" with fewer than two seeds: an interval for
    the number printed, not an average of per-seed intervals.
    """
    if col not in sub:
        return "–"
    m, s, n = _mean_std(sub[col])
    if n == 0:
        return "–"
    text = _fmt(m) if n == 1 else f"{_fmt(m)} ± {_fmt(s)}"
    vals = [_num(v) for v in sub[col]]
    if ci:
        from ..evaluate import t_interval

        e = t_interval(vals, nan_policy="omit")
        text += f" [{_fmt(e.low)}, {_fmt(e.high)}]" if math.isfinite(e.low) else " [—]"
    if n < len(vals):  # a seed without a value is said, never averaged away silently
        text += f" ({len(vals) - n} of {len(vals)} seeds without a value)"
    return text


def _col(table, name):
    return table[name] if name in table else None


def _loss_order(loss: str) -> tuple[int, str]:
    """plain first, then the CliffLoss variants, then the baselines."""
    rank = {"plain": 0, "cliff": 1, "cliff-adaptive": 2, "cliff-pair": 3}
    return rank.get(loss, 9), loss


def _dataset_label(ds: str) -> str:
    """A dataset's name for tables: a file path becomes its file name without suffixes."""
    text = str(ds)
    if "/" not in text and "\\" not in text and not text.lower().endswith(_FILE_SUFFIXES):
        return text
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".gz", *_FILE_SUFFIXES):
        if base.lower().endswith(suffix):
            base = base[: -len(suffix)]
    return base or text


def _task(ds: str, tg: str) -> str:
    ds = _dataset_label(ds)
    return ds if tg in (None, "", ds) else f"{ds}/{tg}"


def _is_paper_dataset(ds: str) -> bool:
    """QM9, Lipophilicity, ESOL, FreeSolv: the datasets the paper's claims are about.

    Only the registered datasets (and grid names made from them): a user's file is never
    one, whatever its name ('lipo200.csv', 'qm9_mine.parquet' are the user's data).
    """
    text = str(ds)
    if "/" in text or "\\" in text or text.lower().endswith((".gz", *_FILE_SUFFIXES)):
        return False
    return text.lower().startswith(PAPER_DATASETS)


#: Below these, a verdict is labelled as weak evidence where it is printed. MIN_SEEDS counts
#: distinct splits (:func:`_n_splits`), and is the claims' minimum (``min_seeds``, 5).
MIN_SEEDS = 5
MIN_STRATUM = 20


def _split_ids(sub) -> list:
    """Per row, its split checksum (None where the results have none)."""
    if "split_checksum" not in sub:
        return [None] * len(sub)
    return [v if isinstance(v, str) else None for v in sub["split_checksum"]]


def _n_splits(sub) -> tuple[int, int]:
    """(seeds, distinct splits) of the rows ``sub``: seeds whose splits have the same
    checksum made one split and count once, as in the claims
    (:func:`cliffkit.evaluate.distinct_splits`); a seed without a checksum counts."""
    from ..evaluate import distinct_splits

    if "seed" not in sub or not len(sub):
        return 0, 0
    per_seed = sub.drop_duplicates("seed")
    return len(per_seed), len(distinct_splits(_split_ids(per_seed))[0])


def _one_per_split(sub, cols=()):
    """The rows ``sub`` (one per seed) with one row per distinct split, as the claims count
    them: of seeds with the same split checksum the first whose ``cols`` all have values is
    kept (:func:`cliffkit.evaluate.distinct_splits`). Returns (rows, seeds left out)."""
    from ..evaluate import distinct_splits

    if len(sub) < 2 or "split_checksum" not in sub:
        return sub, 0
    usable = np.ones(len(sub), dtype=bool)
    for c in cols:
        if c in sub:
            usable &= np.isfinite(sub[c].map(_num).to_numpy(dtype=float))
    keep, dups = distinct_splits(_split_ids(sub), usable)
    return (sub, 0) if not dups else (sub.iloc[keep], len(dups))


def _caveats(sub, *, capped: bool = False, strata=("cliff", "smooth"),
             seeds: bool = True) -> list[str]:
    """Why a verdict from the rows ``sub`` is weak: few distinct splits (``seeds=False``: not
    said, for a claim, whose verdict applies its own ``min_seeds``), small strata, capped
    budget."""
    out = []
    n_seeds, n_splits = _n_splits(sub)
    if seeds and n_splits < MIN_SEEDS:
        text = (f"{n_splits} split seed{'s' if n_splits != 1 else ''} (< {MIN_SEEDS}, the "
                "claims' minimum)")
        if n_splits < n_seeds:
            text += (f": {n_seeds} seeds made {n_splits} distinct split"
                     f"{'s' if n_splits != 1 else ''} (same split checksum), so the others "
                     "vary only the model")
        out.append(text)
    for st in strata:
        col = f"{st}_n"
        if col in sub:
            m, _, k = _mean_std(sub[col])
            if k and m < MIN_STRATUM:
                out.append(f"{m:.0f} {st} cases (< {MIN_STRATUM})")
    if capped:
        out.append("models trained under a capped budget (demo)")
    return out


def _label(text: str, caveats: list[str]) -> str:
    return text if not caveats else f"{text} — weak evidence: {'; '.join(caveats)}"


def paired_stats(a, b) -> dict:
    """Paired comparison of per-seed values ``a`` (baseline) and ``b`` (treatment).

    Returns the mean relative change ``1 - mean(b)/mean(a)``, the number of seeds
    where ``b < a`` and the two-sided paired t-test p-value of
    :func:`cliffkit.evaluate.paired_test` (NaN for fewer than 2 pairs or zero variance
    of the differences).

    The relative change is defined only for a positive baseline mean (as the claims'
    gap reduction, :func:`cliffkit.evaluate.evaluate_claim`): for ``mean(a) <= 0`` (e.g. a
    plain-loss gap where the cliff MAE is below the smooth MAE) its sign has no meaning,
    so ``reduction`` is NaN and ``baseline_positive`` is False.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    n = int(a.size)
    if n == 0:
        return {"n": 0, "reduction": float("nan"), "wins": 0, "p": float("nan"),
                "mean_a": float("nan"), "mean_b": float("nan"), "baseline_positive": False}
    mean_a, mean_b = float(a.mean()), float(b.mean())
    red = 1.0 - mean_b / mean_a if mean_a > 0 else float("nan")
    p = float("nan")
    if n >= 2 and np.std(b - a) > 0:
        from ..evaluate import paired_test

        p = _num(paired_test(b, a)["t_pvalue"])
    return {"n": n, "reduction": red, "wins": int(np.sum(b < a)), "p": p,
            "mean_a": mean_a, "mean_b": mean_b, "baseline_positive": mean_a > 0}


def _pairs(table, keys, baseline: str = "plain"):
    """Yield (key tuple, loss, baseline rows, loss rows) aligned on seed, one seed per
    distinct split (the baseline's split checksum; :func:`_one_per_split`)."""
    for key, sub in table.groupby(list(keys), sort=True):
        base = sub[sub["loss"] == baseline].set_index("seed")
        if base.empty:
            continue
        for lo, g in sub[sub["loss"] != baseline].groupby("loss", sort=True):
            g = g.set_index("seed")
            seeds = sorted(set(base.index) & set(g.index))
            if seeds:
                b = base.loc[seeds]
                both = b.assign(_gap_loss=g.loc[seeds, "gap"]) if "gap" in g else b
                kept, _ = _one_per_split(both, ("gap", "_gap_loss"))
                seeds = list(kept.index)
                yield key, lo, base.loc[seeds], g.loc[seeds]


# ---------------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------------
def _overview(report: Report, table, warnings: list[str] | None = None) -> None:
    ok = table[table["status"] == "ok"]
    with report.section("Overview"):
        for text in warnings or []:
            report.add_message(text, level="warning")
        n_bad = int((table["status"] == "unreadable").sum())
        n_fail = int((table["status"] != "ok").sum()) - n_bad
        bad = f", {n_bad} unreadable (listed in 'Failed cells')" if n_bad else ""
        if n_bad:
            report.add_message(
                f"{n_bad} cell file{'s' if n_bad != 1 else ''} could not be read (truncated, not "
                "JSON or not shaped like a cell record): counted as failed, listed with file "
                "name and reason in 'Failed cells'; their results are in no table.",
                level="warning")
        report.add_message(
            f"{len(table)} cells: {len(ok)} finished, {n_fail} failed{bad}. "
            f"Datasets: {', '.join(sorted({_task(d, t) for d, t in zip(table['dataset'], table['target'], strict=False)}))}; "
            f"splits: {', '.join(sorted(table['split'].dropna().unique()))}; "
            f"backbones: {', '.join(sorted(table['backbone'].dropna().unique()))}; "
            f"losses: {', '.join(sorted(table['loss'].dropna().unique(), key=_loss_order))}; "
            f"seeds: {', '.join(str(int(s)) for s in sorted(table['seed'].dropna().unique()))}."
        )
        if "seconds" in table and table["seconds"].notna().any():
            cpu = ""
            if "cpu_seconds" in table and table["cpu_seconds"].notna().any():
                cpu = f", {table['cpu_seconds'].sum() / 60:.1f} CPU-min"
            report.add_message(
                f"Compute: {table['seconds'].sum() / 60:.1f} min wall-clock in cells{cpu} "
                f"(median {table['seconds'].median():.1f} s per cell)."
            )
        report.add_message(
            "Numbers are mean ± std over seeds; the brackets hold the 95% Student-t interval of "
            "the seed mean ('—' with one seed; the claims section adds hierarchical bootstrap "
            "intervals over seeds and molecules). Strata: cliff = supported test "
            "molecules with high severity, smooth = supported with low severity, unsupported = no "
            "training neighbour at the similarity threshold. Gap = MAE(cliff) − MAE(smooth); "
            "ratio = MAE(cliff) / MAE(smooth), over seeds the ratio of the seed means (Fieller's "
            "interval). The reference predictor (similarity-weighted mean of "
            "the training neighbours' labels) is scored on the same strata: its ratio shows how much "
            "of a gap the cliff definition creates by itself.",
            level="note",
        )


def _results_tables(report: Report, ok) -> None:
    with report.section("Results"):
        for split, sub_split in ok.groupby("split", sort=True):
            rows_a, rows_b = [], []
            groups = sorted(sub_split.groupby(["dataset", "target", "backbone", "loss"]),
                            key=lambda kv: (*kv[0][:3], _loss_order(kv[0][3])))
            for (ds, tg, bb, lo), sub in groups:
                rows_a.append([_task(ds, tg), bb, lo, len(sub), _ms(sub, "mae"),
                               _ms(sub, "cliff_mae"), _ms(sub, "smooth_mae"),
                               _ms(sub, "unsupported_mae"),
                               _fmt(_mean_std(sub["cliff_n"])[0], 0) if "cliff_n" in sub else "–",
                               _fmt(_mean_std(sub["smooth_n"])[0], 0) if "smooth_n" in sub else "–"])
                rows_b.append([_task(ds, tg), bb, lo, _ms(sub, "gap"),
                               _ms(sub, "noise_floor_gap", ci=False), _ratio_text(sub),
                               _ratio_text(sub, "ref_", ci=False),
                               _ms(sub, "label_free_gap", ci=False),
                               _ms(sub, "label_free_auc", ci=False),
                               _ms(sub, "matched_similarity_ratio", ci=False),
                               _ms(sub, "matched_similarity_z_ratio", ci=False),
                               _ms(sub, "pair_diff_mae", ci=False),
                               _ms(sub, "pair_direction_accuracy", ci=False)])
            report.add_table(
                rows_a, f"{split} split: MAE overall and per stratum",
                columns=["task", "backbone", "loss", "seeds", "MAE", "MAE cliff", "MAE smooth",
                         "MAE unsupported", "n cliff", "n smooth"],
                note=_N_NOTE,
            )
            report.add_table(
                rows_b, f"{split} split: gap, ratio and pair-level errors",
                columns=["task", "backbone", "loss", "gap", "noise-floor gap", "ratio",
                         "reference ratio", "label-free gap", "roughness AUC",
                         "ratio, matched on similarity", "ratio, matched on similarity and |z|",
                         "pair Δ-error", "direction accuracy"],
                note=_RATIO_NOTE + " reference ratio: the same for the reference predictor. "
                     "noise-floor gap: the gap a perfect model shows under the dataset's label "
                     "noise (cliffkit.evaluate.noise_floor; '–' where noise_sd is unknown). "
                     "label-free gap: MAE of the roughest minus the calmest test molecules by "
                     "train-only roughness, cut at the training molecules' 80th and 50th "
                     "percentiles of it; roughness AUC: how well that score "
                     "finds the cliff cases. "
                     "Matched ratios compare cliff cases with smooth controls paired 1:1 on "
                     "similarity to train (and on label extremeness |z|), so that novelty or "
                     "extreme labels cannot explain the gap. pair Δ-error = mean "
                     "|(ŷ_i − ŷ_p) − (y_i − y_p)| over cliff cases i with training partner p; "
                     "direction accuracy = share of pairs with the right sign of ŷ_i − ŷ_p "
                     "(both predicted by the model, ties count 1/2); computed only from "
                     "out-of-fold partner predictions ('–' otherwise: an in-sample ŷ_p lets a "
                     "memoriser score near 1), and never used in a verdict.",
            )


def _dataset_summary(report: Report, ok, capped: bool = False) -> None:
    """Per dataset outside the paper's: cliff vs smooth per backbone, the reference
    predictor, and whether CliffLoss helped, with seeds, CIs and evidence labels."""
    with report.section("Your datasets: what these results show"):
        report.add_message(
            "For each dataset and backbone (plain loss): the MAE on cliff and on smooth test "
            "molecules with their bootstrap 95% CIs, the ratio, and the same ratio for the "
            "reference predictor (similarity-weighted mean of the training neighbours' labels). "
            "A model/reference ratio below 1 means the model handles cliffs better than copying "
            "its neighbours. Seeds count as split seeds: seeds whose splits are identical "
            "(same split checksum, e.g. a predefined split where only the model seed changes) "
            "count once, as in the claims, and the MAEs, ratio and paired tests use one seed "
            f"per split. Verdicts from fewer than {MIN_SEEDS} split seeds (the claims' minimum), "
            f"from fewer than {MIN_STRATUM} cliff or smooth test molecules, or "
            "from capped training budgets are marked 'weak evidence'.",
            level="note",
        )
        for (ds, tg), task_rows in ok.groupby(["dataset", "target"], sort=True):
            split = "cliff" if (task_rows["split"] == "cliff").any() else \
                sorted(task_rows["split"].unique())[0]
            rows_t = task_rows[task_rows["split"] == split]
            unit = ""
            if "unit" in rows_t and rows_t["unit"].notna().any():
                unit = str(rows_t["unit"].dropna().iloc[0])
            with report.section(f"{_task(ds, tg)} ({split} split)"):
                plain = rows_t[rows_t["loss"] == "plain"]
                rows = []
                for bb, rows_bb in plain.groupby("backbone", sort=True):
                    # seeds that repeat a split count once here as in the claims
                    sub, _ = _one_per_split(rows_bb, ("cliff_mae", "smooth_mae"))
                    n_seeds, n_splits = _n_splits(rows_bb)
                    est = _ratio_of_means(sub)
                    n, lo = int(math.isfinite(est.value)), est.low
                    if n == 0:
                        verdict = "not measured"
                    elif math.isfinite(lo) and lo > 1:
                        verdict = "cliff error above smooth error"
                    else:
                        verdict = "no clear cliff/smooth difference"
                    rows.append([bb, n_seeds if n_splits == n_seeds else
                                 f"{n_seeds} ({n_splits} distinct split{'s' if n_splits != 1 else ''})",
                                 _ms(sub, "cliff_mae"),
                                 _ms(sub, "smooth_mae"), _ratio_text(sub),
                                 _ratio_text(sub, "ref_", ci=False), _ratio_over_reference(sub),
                                 _label(verdict, _caveats(rows_bb, capped=capped))])
                if rows:
                    report.add_table(
                        rows, f"Cliff against smooth test molecules (plain loss{', ' + unit if unit else ''})",
                        columns=["backbone", "seeds", "MAE cliff", "MAE smooth", "ratio",
                                 "reference ratio", "model / reference", "verdict"],
                        note="'cliff error above smooth error' when the lower end of the ratio's "
                             "95% interval is above 1. " + _RATIO_NOTE + " " + _ONE_SEED)
                else:
                    report.add_message("No plain-loss results for this dataset.",
                                       level="not-measured")
                rows = []
                for (_, bb), lo_name, base, g in _pairs(rows_t, ["dataset", "backbone"]):
                    st_gap = paired_stats(base["gap"], g["gap"]) if "gap" in g else {}
                    st_mae = paired_stats(base["mae"], g["mae"])
                    red = st_gap.get("reduction", float("nan"))
                    red_text = _pct(red)
                    if st_gap.get("n", 0) == 0:
                        verdict = "not measured"
                    elif not st_gap["baseline_positive"]:
                        # no cliff gap under the plain loss: a reduction (and a verdict on it)
                        # is undefined, as for the claims' gap reduction
                        red_text = "—"
                        verdict = (f"gap reduction undefined: plain-loss gap "
                                   f"{_fmt(st_gap['mean_a'])} ≤ 0 (no cliff gap to reduce)")
                    elif red > 0 and st_gap["wins"] == st_gap["n"]:
                        verdict = "smaller gap on every seed"
                    elif red > 0:
                        verdict = "smaller gap on average, not on every seed"
                    else:
                        verdict = "no smaller gap"
                    used = rows_t[(rows_t["backbone"] == bb) & rows_t["loss"].isin(["plain", lo_name])]
                    rows.append([bb, lo_name, st_gap.get("n", 0), red_text,
                                 f"{st_gap.get('wins', 0)}/{st_gap.get('n', 0)}",
                                 _fmt(st_gap.get("p", float("nan")), 3), _pct(st_mae["reduction"]),
                                 _label(verdict, _caveats(used, capped=capped))])
                if rows:
                    report.add_table(
                        rows, "Did CliffLoss (or another loss) help? Against the plain loss, same seeds",
                        columns=["backbone", "loss", "seeds", "gap reduction", "seeds better",
                                 "paired t p", "overall MAE improvement", "verdict"],
                        note="gap reduction = 1 − mean gap(loss) / mean gap(plain), defined only "
                             "for a positive mean plain-loss gap ('—' otherwise: with the cliff "
                             "MAE at or below the smooth MAE there is no gap to reduce, and the "
                             "ratio's sign would mislead); seeds better = seeds where the loss's "
                             "gap is below the plain loss's; "
                             "improvement = 1 − mean MAE(loss) / mean MAE(plain).")
                else:
                    report.add_message("No backbone was run with both the plain loss and another "
                                       "loss: train one backbone with --loss cliff beside --loss "
                                       "plain (same split, same seeds) to see whether CliffLoss "
                                       "helps.",
                                       level="not-measured")


def _random_vs_cliff(report: Report, ok) -> None:
    with report.section("What a random split hides"):
        plain = ok[ok["loss"] == "plain"]
        splits = set(plain["split"].unique())
        if "cliff" not in splits or not (splits - {"cliff"}):
            report.add_message("This grid did not run CliffSplit beside a random or scaffold split "
                               "with the plain loss.", level="not-measured")
            return
        others = sorted(splits - {"cliff"})
        rows = []
        # [CliffSplit's ratio larger, compared, of those compared: the two intervals overlap]
        larger = {sp: [0, 0, 0] for sp in others}
        for (ds, tg, bb), sub in plain.groupby(["dataset", "target", "backbone"], sort=True):
            row = [_task(ds, tg), bb]
            for sp in ["cliff", *others]:
                s = sub[sub["split"] == sp]
                row += [_ms(s, "mae", ci=False), _ms(s, "cliff_mae", ci=False),
                        _ratio_text(s, ci=False)]
            e_cliff = _ratio_of_means(sub[sub["split"] == "cliff"])
            r_cliff = e_cliff.value
            for sp in others:
                e_sp = _ratio_of_means(sub[sub["split"] == sp])
                r_sp = e_sp.value
                text = _larger_ratio(r_cliff, r_sp, sp)
                if math.isfinite(r_cliff) and math.isfinite(r_sp):
                    larger[sp][1] += 1
                    larger[sp][0] += int(r_cliff > r_sp)
                    # not apart unless both intervals exist and do not overlap
                    apart = (all(math.isfinite(v) for v in (e_cliff.low, e_cliff.high,
                                                             e_sp.low, e_sp.high))
                             and (e_cliff.low > e_sp.high or e_sp.low > e_cliff.high))
                    if not apart:
                        larger[sp][2] += 1
                        text += "; intervals overlap"
                row.append(text)
            rows.append(row)
        cols = ["task", "backbone"]
        for sp in ["cliff", *others]:
            cols += [f"{sp}: MAE", f"{sp}: MAE cliff", f"{sp}: ratio"]
        cols += [f"larger ratio, cliff vs {sp}" for sp in others]
        report.add_table(rows, "The same model (plain loss) under each split", columns=cols,
                         note="Every split is scored with the same strata definition (severity "
                              "against its own training set). Where CliffSplit's cliff/smooth "
                              "ratio is the larger, the other split's overall MAE hides cliff "
                              "error that CliffSplit exposes; where it is not, these results do "
                              "not show that. Descriptive: point ratios (their intervals are in "
                              "the Results tables); 'intervals overlap' marks a row whose two "
                              "95% intervals (Fieller across seeds; one seed: its molecule "
                              "bootstrap) overlap or are missing, so that the ranking is not "
                              "distinguishable from noise at this size (not a test).")
        for sp in others:
            k, n, o = larger[sp]
            if n:
                report.add_message(
                    f"CliffSplit's cliff/smooth ratio is larger than the {sp} split's in {k} of "
                    f"{n} task/backbone rows (same model, plain loss)"
                    + ("" if k == n else
                       f"; in the other {n - k} the {sp} split shows the larger (or an equal) "
                       f"ratio: there these results do not show the {sp} split hiding cliff "
                       "error that CliffSplit exposes")
                    + (f". In {o} of the {n} rows the two ratios' intervals overlap: their "
                       "ranking is not distinguishable at this size." if o else "."),
                    level="note")


def _larger_ratio(r_cliff: float, r_other: float, other: str) -> str:
    """Which split's cliff/smooth ratio is larger, with both numbers ('–' if one is missing)."""
    if not (math.isfinite(r_cliff) and math.isfinite(r_other)):
        return "–"
    if r_cliff > r_other:
        return f"cliff ({_fmt(r_cliff)} > {_fmt(r_other)})"
    if r_cliff < r_other:
        return f"{other} ({_fmt(r_other)} > {_fmt(r_cliff)})"
    return f"equal ({_fmt(r_cliff)})"


def _ratio_of_means(sub, prefix: str = ""):
    """The cliff/smooth ratio of the rows ``sub`` (seeds): ``mean(MAE cliff) / mean(MAE
    smooth)`` over the seeds with both, the claims' definition, as an
    :class:`~cliffkit.evaluate.Estimate` with Fieller's 95% interval across seeds
    (:func:`cliffkit.evaluate.fieller_interval`); with one seed, that cell's own
    molecule-bootstrap interval (``ratio_lo/hi``) and note "one seed". ``prefix="ref_"``:
    the reference predictor's."""
    from ..evaluate import Estimate, fieller_interval

    c, m = f"{prefix}cliff_mae", f"{prefix}smooth_mae"
    if c not in sub or m not in sub or sub.empty:
        return Estimate(float("nan"))
    sub, n_dup = _one_per_split(sub, (c, m))
    num = sub[c].map(_num).to_numpy(dtype=float)
    den = sub[m].map(_num).to_numpy(dtype=float)
    est = fieller_interval(num, den)
    ok = np.isfinite(num) & np.isfinite(den)
    dup = (f"{n_dup} seed{'s' if n_dup != 1 else ''} repeating a split counted once"
           if n_dup else "")
    if ok.sum() == 1:
        row = sub[ok].iloc[0]
        lo, hi = _num(row.get(f"{prefix}ratio_lo")), _num(row.get(f"{prefix}ratio_hi"))
        return Estimate(est.value, lo, hi, note="one seed" + (f"; {dup}" if dup else ""))
    if dup:
        est = Estimate(est.value, est.low, est.high, note="; ".join(x for x in (est.note, dup) if x))
    return est


def _ratio_text(sub, prefix: str = "", ci: bool = True) -> str:
    """``ratio [interval]`` of :func:`_ratio_of_means`; † marks a one-seed molecule interval."""
    e = _ratio_of_means(sub, prefix)
    if not math.isfinite(e.value):
        return "–"
    text = _fmt(e.value)
    if not ci:
        return text
    if e.note.startswith("one seed"):
        return text + (f" [{_fmt(e.low)}, {_fmt(e.high)}]†" if math.isfinite(e.low) else " [—]")
    if "unbounded" in e.note:
        return text + f" [{e.note[e.note.index('unbounded'):]}]"
    text += f" [{_fmt(e.low)}, {_fmt(e.high)}]" if math.isfinite(e.low) else " [—]"
    return text + (f" ({e.note})" if e.note else "")


#: How every cliff/smooth ratio column is computed (a table note).
_N_NOTE = ("n cliff, n smooth: test molecules in the stratum per seed, the mean over the "
           "seeds rounded (the seeds' splits can hold different numbers).")
_RATIO_NOTE = ("ratio = mean MAE cliff / mean MAE smooth over the seeds (the ratio of seed means, "
               "as in the claims), so it equals the row's MAE cliff over its MAE smooth; the "
               "bracket is Fieller's 95% interval of that ratio across seeds (the ratios R that "
               "a paired t-test of MAE cliff − R·MAE smooth does not reject; 'unbounded' when "
               "the smooth MAE is not distinguishable from 0). Seeds whose splits are identical "
               "(same split checksum) count once in the ratio and its interval, as in the claims "
               "(the bracket then says how many were left out).")

#: Marks an interval from one seed: the cell's own molecule bootstrap, not a seed interval.
_ONE_SEED = "†: one seed; the interval is that cell's molecule bootstrap, not an interval over seeds."


def _ratio_ci(sub, col: str) -> str:
    """``mean ± std [t]`` over seeds; with one seed, the cell's own molecule-bootstrap CI (†)."""
    if col not in sub:
        return "–"
    _, _, n = _mean_std(sub[col])
    lo_col, hi_col = f"{col}_lo", f"{col}_hi"
    if n == 1 and lo_col in sub and hi_col in sub:
        row = sub[np.isfinite(sub[col].map(_num).to_numpy(dtype=float))].iloc[0]
        lo, hi = _num(row[lo_col]), _num(row[hi_col])
        if math.isfinite(lo) and math.isfinite(hi):
            return f"{_fmt(_num(row[col]))} [{_fmt(lo)}, {_fmt(hi)}]†"
    return _ms(sub, col)


def _ratio_over_reference(sub) -> str:
    m, rm = _ratio_of_means(sub).value, _ratio_of_means(sub, "ref_").value
    return _fmt(m / rm) if math.isfinite(m) and math.isfinite(rm) and rm > 0 else "–"


def _ratio_summary(report: Report, ok) -> None:
    """Cliff/smooth ratio per task and backbone (plain loss, every split), with CIs, beside
    the reference predictor and the matched controls: descriptive, not a test."""
    plain = ok[ok["loss"] == "plain"]
    with report.section("Cliff against smooth per task and backbone (descriptive)"):
        report.add_message(
            "Descriptive, not a test (the claims above are the tests, with their seed "
            "rules): the plain-loss MAE ratio cliff / smooth per task, split and backbone, "
            "as the ratio of seed means (mean MAE cliff / mean MAE smooth, the claims' "
            "definition) with Fieller's 95% interval across seeds in brackets "
            "(with one seed, marked †: that cell's molecule-bootstrap interval), beside the same ratio of "
            "the reference predictor (similarity-weighted mean of the training neighbours' "
            "labels) and of the matched controls (cliff cases against smooth cases paired 1:1 "
            "on similarity to train, and on similarity and label extremeness |z|).",
            level="note")
        if plain.empty:
            report.add_message("No finished plain-loss cells.", level="not-measured")
            return
        rows = []
        groups = sorted(plain.groupby(["dataset", "target", "split", "backbone"]),
                        key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] != "cliff", kv[0][2], kv[0][3]))
        for (ds, tg, sp, bb), sub in groups:
            ids = sorted(sub["seed"].dropna().unique())
            rows.append([_task(ds, tg), sp, bb, len(ids), ", ".join(str(int(s)) for s in ids), _ms(sub, "cliff_mae", ci=False),
                         _ms(sub, "smooth_mae", ci=False), _ratio_text(sub),
                         _ratio_text(sub, "ref_"), _ratio_over_reference(sub),
                         _ratio_ci(sub, "matched_similarity_ratio"),
                         _ratio_ci(sub, "matched_similarity_z_ratio"),
                         _fmt(_mean_std(sub["cliff_n"])[0], 0) if "cliff_n" in sub else "–",
                         _fmt(_mean_std(sub["smooth_n"])[0], 0) if "smooth_n" in sub else "–"])
        report.add_table(
            rows, "Cliff/smooth MAE ratio, plain loss",
            columns=["task", "split", "backbone", "seeds", "seed IDs", "MAE cliff", "MAE smooth", "ratio",
                     "reference ratio", "model / reference", "ratio, matched on similarity",
                     "ratio, matched on similarity and |z|", "n cliff", "n smooth"],
            note=_N_NOTE + " " + _RATIO_NOTE + " reference ratio: the same for the reference predictor; model / "
                 "reference: the ratio over the reference ratio (below 1: the model handles "
                 "cliffs better than copying its neighbours). The matched ratios are each "
                 "cell's own matched-control ratio, mean ± std over seeds [Student-t interval]. "
                 + _ONE_SEED)


def _subsample_text(table) -> str:
    if "subsample" not in table:
        return "?"
    vals = sorted({("all molecules" if v is None or (isinstance(v, float) and not math.isfinite(v))
                    else f"{int(v):,}-molecule subsample") for v in table["subsample"]})
    return ", ".join(vals) or "?"


def _same_splits(ok, other_ok) -> str:
    """Whether the two folders' seeds used the same split files (by their checksums)."""
    cols = ["dataset", "target", "split", "seed", "split_checksum"]
    if "split_checksum" not in ok or "split_checksum" not in other_ok:
        return "split checksums not recorded: seeds are not paired"
    a = {tuple(r[:4]): r[4] for r in ok[cols].dropna().itertuples(index=False)}
    b = {tuple(r[:4]): r[4] for r in other_ok[cols].dropna().itertuples(index=False)}
    both = set(a) & set(b)
    same = sum(a[k] == b[k] for k in both)
    if not both or same == 0:
        return "no seed's split is the same in both (by split checksum), so seeds are not paired"
    if same == len(both):
        return (f"all {same} shared (task, split, seed) splits are the same in both by split "
                "checksum; seeds are still not paired here")
    return (f"{same} of {len(both)} shared (task, split, seed) splits are the same in both by "
            "split checksum, the others differ; seeds are not paired")


def _cell_settings(rows) -> dict[str, str]:
    """A group's cell settings other than the seed and the data subset, flattened
    (``backbone_params.n_estimators`` -> its JSON value); values shared by every row only."""
    import json

    flat: dict[str, set[str]] = {}
    for text in rows["cell_json"].dropna() if "cell_json" in rows else []:
        try:
            cell = json.loads(text)
        except (TypeError, ValueError):
            continue
        for key, value in cell.items():
            if key in ("seed", "subsample", "subsample_seed", "dataset", "format"):
                continue
            items = value.items() if isinstance(value, dict) else [(None, value)]
            for sub, v in items:
                name = key if sub is None else f"{key}.{sub}"
                flat.setdefault(name, set()).add(json.dumps(v, sort_keys=True))
    return {k: " or ".join(sorted(v)) for k, v in flat.items()}


def _settings_differ(a, b, label: str) -> str:
    """What differs between two groups' cell settings ('' when nothing does or unknown)."""
    sa, sb = _cell_settings(a), _cell_settings(b)
    if not sa or not sb:
        return ""
    names = sorted(k for k in set(sa) | set(sb) if sa.get(k) != sb.get(k))
    return ", ".join(f"{k} {sa.get(k, 'default')} here, {sb.get(k, 'default')} in {label}"
                     for k in names)


def _comparison(report: Report, ok, other, label: str) -> None:
    """Side by side with another results table for the cells both share by (dataset,
    target, split, backbone, loss); cells in only one of the two are counted and named."""
    keys = ["dataset", "target", "split", "backbone", "loss"]
    other = other.copy()
    for col in keys:
        other[col] = other[col].fillna("?").astype(str)
    other_ok = other[other["status"] == "ok"]
    with report.section(f"Against {label}"):
        mine = {k: g for k, g in ok.groupby(keys, sort=True)}
        theirs = {k: g for k, g in other_ok.groupby(keys, sort=True)}
        shared = sorted(set(mine) & set(theirs),
                        key=lambda k: (k[0], k[1], k[2] != "cliff", k[2], k[3], _loss_order(k[4])))
        n_n = f"{len(ok)} finished cells here, {len(other_ok)} in {label}"
        report.add_message(
            f"The same cells (dataset, target, split, backbone, loss) in these results and in "
            f"{label}: data here: {_subsample_text(ok)}; in {label}: {_subsample_text(other_ok)}. "
            f"{n_n}; {len(shared)} (dataset, target, split, backbone, loss) groups in both. "
            f"Numbers are means over each folder's own seeds ({_same_splits(ok, other_ok)}); brackets: the 95% Student-t interval of the seed "
            "mean, for a ratio Fieller's interval. " + _RATIO_NOTE
            + " n train is the mean training-set size.", level="note")
        only_mine = sorted(set(mine) - set(theirs))
        only_theirs = sorted(set(theirs) - set(mine))
        for what, ks in (("only here", only_mine), (f"only in {label}", only_theirs)):
            if ks:
                names = "; ".join(f"{_task(k[0], k[1])} {k[2]} {k[3]} {k[4]}" for k in ks[:12])
                more = f" and {len(ks) - 12} more" if len(ks) > 12 else ""
                report.add_message(f"{len(ks)} groups {what} (not compared): {names}{more}.",
                                   level="not-measured")
        if not shared:
            report.add_message(f"No cells in common with {label}.", level="not-measured")
            return
        differ = [f"{_task(k[0], k[1])} {k[2]} {k[3]} {k[4]}: {d}" for k in shared
                  if (d := _settings_differ(mine[k], theirs[k], label))]
        if differ:
            more = f"; and {len(differ) - 8} more groups" if len(differ) > 8 else ""
            report.add_message(
                "These groups were trained or evaluated with other settings in the two folders, "
                "so their rows compare different setups, not the same cells on other data: "
                + "; ".join(differ[:8]) + more + ".", level="warning")
        rows_r, rows_m = [], []
        for k in shared:
            a, b = mine[k], theirs[k]
            seeds = f"{a['seed'].nunique()} / {b['seed'].nunique()}"
            ra, rb = _ratio_of_means(a).value, _ratio_of_means(b).value
            if k[4] == "plain":
                rows_r.append([_task(k[0], k[1]), k[2], k[3], seeds, _ratio_text(a),
                               _ratio_text(b),
                               _fmt(ra - rb), _ratio_text(a, "ref_", ci=False),
                               _ratio_text(b, "ref_", ci=False),
                               _ms(a, "matched_similarity_ratio", ci=False),
                               _ms(b, "matched_similarity_ratio", ci=False),
                               _ms(a, "matched_similarity_z_ratio", ci=False),
                               _ms(b, "matched_similarity_z_ratio", ci=False)])
            rows_m.append([_task(k[0], k[1]), k[2], k[3], k[4], seeds,
                           _fmt(_mean_std(a["n_train"])[0], 0) if "n_train" in a else "–",
                           _fmt(_mean_std(b["n_train"])[0], 0) if "n_train" in b else "–",
                           _ms(a, "mae", ci=False), _ms(b, "mae", ci=False),
                           _ms(a, "cliff_mae", ci=False), _ms(b, "cliff_mae", ci=False),
                           _ms(a, "smooth_mae", ci=False), _ms(b, "smooth_mae", ci=False),
                           _fmt(ra), _fmt(rb)])
        here, there = "here", label
        if rows_r:
            report.add_table(
                rows_r, f"Cliff/smooth ratio, plain loss: here and in {label}",
                columns=["task", "split", "backbone", "seeds (here / there)", f"ratio {here}",
                         f"ratio {there}", "Δ ratio (here − there)", f"reference ratio {here}",
                         f"reference ratio {there}", f"matched on similarity {here}",
                         f"matched on similarity {there}", f"matched on similarity and |z| {here}",
                         f"matched on similarity and |z| {there}"],
                note="Descriptive, not a test. " + _RATIO_NOTE + " " + _ONE_SEED)
        report.add_table(
            rows_m, f"Every shared cell: MAE here and in {label}",
            columns=["task", "split", "backbone", "loss", "seeds (here / there)",
                     f"n train {here}", f"n train {there}", f"MAE {here}", f"MAE {there}",
                     f"MAE cliff {here}", f"MAE cliff {there}", f"MAE smooth {here}",
                     f"MAE smooth {there}", f"ratio {here}", f"ratio {there}"])


def _not_run(report: Report, missing: list[dict] | None, n_grid: int) -> None:
    """The grid's cells without a result, grouped by (task, split, backbone, loss)."""
    with report.section("Cells not run yet"):
        if not missing:
            report.add_message("None: every cell of the grid has a result.")
            return
        groups: dict[tuple, list[int]] = {}
        for c in missing:
            k = (_task(c["dataset"], c["target"]), c["split"], c["backbone"], c["loss"])
            groups.setdefault(k, []).append(int(c["seed"]))
        order = sorted(groups, key=lambda k: (k[0], k[1] != "cliff", k[1], k[2], _loss_order(k[3])))
        rows = [[*k, len(groups[k]), ", ".join(str(s) for s in sorted(groups[k]))] for k in order]
        report.add_table(rows, f"{len(missing)} of {n_grid} cells of the grid have no result yet",
                         columns=["task", "split", "backbone", "loss", "cells", "seeds"])
        report.add_message(
            f"Partial grid: {len(missing)} of {n_grid} cells not run yet; every table and claim "
            "above covers the finished cells only (a claim's cell with fewer seeds says so).",
            level="warning")


def _failed(report: Report, table) -> None:
    bad = table[table["status"] != "ok"]
    with report.section("Failed cells"):
        if bad.empty:
            report.add_message("None: every cell finished.")
            return
        rows = []
        for rec in bad.itertuples(index=False):
            msg = str(rec.error_message or "")
            rows.append([rec.key, _task(rec.dataset, rec.target), rec.split, rec.backbone, rec.loss,
                         rec.seed, rec.error_type or "", msg[:300] + ("…" if len(msg) > 300 else "")])
        report.add_table(rows, f"{len(rows)} failed cells (the traceback is in cells/<key>.json; "
                               "an unreadable cell file's reason is its message)",
                         columns=["key", "task", "split", "backbone", "loss", "seed", "error",
                                  "message"])
        report.add_message(f"{len(rows)} cells failed; their results are missing from every table "
                           "above.", level="warning")


def _warnings(report: Report, table) -> None:
    if "warnings" not in table:
        return
    counts: dict[str, set] = {}
    for rec in table.itertuples(index=False):
        for w in rec.warnings if isinstance(rec.warnings, list) else []:
            counts.setdefault(str(w), set()).add(rec.key)
    with report.section("Warnings"):
        if not counts:
            report.add_message("None.")
            return
        rows = [[w[:400] + ("…" if len(w) > 400 else ""), len(keys)]
                for w, keys in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        report.add_table(rows, "Warnings raised while splitting, training and evaluating",
                         columns=["warning", "cells"],
                         note="A warning about a split counts once for every cell that uses it.")


def _load_predictions(ok, splits=("cliff",)):
    import pandas as pd

    frames = []
    if "predictions_path" not in ok:
        return None
    for rec in ok.itertuples(index=False):
        path = getattr(rec, "predictions_path", None)
        if rec.split not in splits or not isinstance(path, str):
            continue
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError):
            continue
        df["dataset"], df["target"], df["backbone"] = rec.dataset, rec.target, rec.backbone
        df["loss"], df["seed"], df["split"] = rec.loss, rec.seed, rec.split
        df["unit"] = getattr(rec, "unit", "") or ""
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else None


def _figure_or_note(report: Report, data, plot, title: str, caption: str, filename: str,
                    missing: str) -> None:
    """Add the figure ``plot(data)``, or the not-measured note ``missing`` when ``data`` is None."""
    if data is None:
        report.add_message(missing, level="not-measured")
    else:
        report.add_image(plot(data), title, caption=caption, filename=filename)


def _figures(report: Report, ok) -> None:
    from . import _plots

    cliff = ok[ok["split"] == "cliff"]
    main_split = cliff if not cliff.empty else ok
    split_name = "CliffSplit" if not cliff.empty else "all splits"
    preds = _load_predictions(ok, splits=("cliff",) if not cliff.empty else tuple(ok["split"].unique()))
    with report.section("Figures"):
        plain = main_split[main_split["loss"] == "plain"]
        if plain.empty:
            plain = main_split
        _figure_or_note(
            report, plain if not plain.empty and "cliff_mae" in plain else None,
            _plots.plot_strata_mae, "MAE per stratum",
            f"{split_name}, plain loss; bars are means over seeds, whiskers one std (none with "
            "one seed).", "strata_mae", "MAE per stratum: no finished cells.")
        p = None
        if preds is not None and {"max_similarity", "y_pred", "y_true"} <= set(preds.columns):
            p = preds[preds["loss"] == "plain"] if (preds["loss"] == "plain").any() else preds
        _figure_or_note(
            report, p, _plots.plot_error_vs_similarity, "Error against similarity to train",
            f"{split_name} test molecules, plain loss, all seeds pooled; the dotted line is the "
            "support threshold.", "error_vs_similarity",
            "Error against similarity to train: no predictions files.")
        _figure_or_note(
            report, main_split if main_split["loss"].nunique() > 1 and "gap" in main_split else None,
            _plots.plot_gap_by_loss, "Gap under each loss",
            f"{split_name}: MAE(cliff) − MAE(smooth), mean ± std over seeds (no whiskers with one "
            "seed).", "gap_by_loss", "Gap under plain and CliffLoss: only one loss in these results.")
        lam = ok[ok["lambda_trajectory"].apply(lambda v: isinstance(v, list) and len(v) > 0)] \
            if "lambda_trajectory" in ok else ok.iloc[:0]
        _figure_or_note(
            report, None if lam.empty else lam, _plots.plot_lambda_trajectories, "λ trajectories",
            "The adaptive CliffLoss λ after each epoch / round block, moved by the validation "
            "cliff/smooth gap.", "lambda", "λ trajectories: no finished cliff-adaptive cells.")
        cp = None
        if preds is not None and "partner_y_true" in preds and "stratum" in preds:
            cp = preds[(preds["stratum"] == "cliff") & preds["partner_y_true"].notna()]
        _figure_or_note(
            report, None if cp is None or cp.empty else cp, _plots.plot_pair_differences,
            "Predicted against true difference for cliff pairs",
            "Each point is a cliff test molecule and its training partner; the diagonal is a "
            "perfect prediction.", "pair_differences",
            "Cliff-pair differences: no cliff test cases with training partners.")


def build_report(table, *, title: str | None = None, meta: dict | None = None,
                 claims: dict | None = None, figures: bool = True,
                 claims_file: str | None = None, command: str | None = None,
                 n_bootstrap: int = 1000, capped: bool = False,
                 missing: list[dict] | None = None, compare=None,
                 compare_label: str | None = None, warnings: list[str] | None = None) -> Report:
    """Build the bench report from a results table.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per cell (:func:`cliffkit.bench.load_results`).
    title : str, optional
    meta : dict, optional
        Facts shown under the title (config, machine, date).
    claims : dict, optional
        Override thresholds of the claims file, by claim id (e.g. ``{"qm9_ratio": 1.2}``).
    claims_file : path-like, optional
        Pre-registered claims (TOML, layout of ``report/claims/paper.toml``, the default).
        The default claims are tested on the paper's datasets only; a file given here is
        tested on every cell (section "Claims"), a user's own dataset included.
    command : str, optional
        The command that reproduces the report, printed under the claims section.
    n_bootstrap : int, default=1000
        Resamples of the hierarchical bootstrap in the claims section.
    figures : bool, default=True
        Draw the PNG figures (reads the predictions files).
    capped : bool, default=False
        The models were trained under a capped budget (the ``demo`` grid); every verdict
        says so.
    missing : list of dict, optional
        The grid's cells that have no result yet (``table.attrs["missing_cells"]`` of
        :func:`cliffkit.bench.load_results` with ``grid_only=True``): a partial grid. They
        are listed in a "Cells not run yet" section and said in the overview and the
        claims section, never dropped silently.
    compare : pandas.DataFrame, optional
        A second results table (e.g. the same grid on a subsample): a section "Against
        ``compare_label``" puts the cells both share by (dataset, target, split, backbone,
        loss) side by side, and names the groups found in only one of them.
    compare_label : str, optional
        The second table's name in that section (default "the other results").
    warnings : list of str, optional
        Said at the top of the overview and of the claims section (e.g.
        ``table.attrs["grid_problem"]``: an unreadable config.json, so completeness is unknown).

    Returns
    -------
    Report
    """
    report = Report(title or "cliffkit bench report", meta=meta)
    table = table.copy()
    for col in ("dataset", "target", "split", "backbone", "loss"):
        table[col] = table[col].fillna("?").astype(str)
    ok = table[table["status"] == "ok"]
    missing = list(missing or [])
    n_grid = len(table) + len(missing)
    partial = [w for w in (warnings or []) if w]
    if missing:
        partial += [f"Partial grid: {len(missing)} of {n_grid} cells of the grid have no result "
                   "yet (listed in 'Cells not run yet'); every number covers the finished cells "
                   "only."]
    _overview(report, table, partial)
    moleculeace_section(report, ok)
    paper = table["dataset"].map(_is_paper_dataset)
    # The shipped claims are the paper's: only for the paper's datasets (issue 15). A claims
    # file the user names is about their cells, whatever the data: tested on every cell.
    own_claims = claims_file is not None
    if paper.any() or own_claims:
        spec = load_claims(claims_file)
        for c in spec["claims"]:
            c["threshold"] = float((claims or {}).get(c["id"], c["threshold"]))
        if capped:
            with report.section("Training budget"):
                report.add_message(
                    "Every verdict below comes from models trained under a capped budget (the "
                    "demo grid): weak evidence, shown to demonstrate the workflow.",
                    level="warning")
        claims_section(report, ok if own_claims else ok[paper[ok.index]], spec=spec,
                       command=command, n_bootstrap=n_bootstrap,
                       # a claim's own seed rule (min_seeds distinct splits) is in its verdict
                       caveats=lambda rows: _caveats(rows, capped=capped, seeds=False),
                       warnings=partial,
                       title="Claims" if own_claims else "Paper claims")
        if paper.any():
            _ratio_summary(report, ok[paper[ok.index]])
    if compare is not None:
        _comparison(report, ok, compare, compare_label or "the other results")
    if (~paper).any():
        _dataset_summary(report, ok[~paper[ok.index]], capped=capped)
    _results_tables(report, ok)
    _random_vs_cliff(report, ok)
    if figures:
        _figures(report, ok)
    if missing:
        _not_run(report, missing, n_grid)
    _failed(report, table)
    _warnings(report, table)
    return report
