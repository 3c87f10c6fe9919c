"""The "Paper claims" section: pre-registered claims read from a TOML file, tested on a results table.

The claims are data (``report/claims/paper.toml``, or any file with the same layout), not
code: each names its cells, endpoint, threshold and test. The statistics are
:func:`cliffkit.evaluate.evaluate_claim` (one-sided t across split seeds, Holm over the
cells, hierarchical bootstrap and t intervals).
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..utils import format_number, sha256_bytes

__all__ = ["DEFAULT_CLAIMS", "load_claims", "claim_cells", "claims_section"]

#: The shipped claims file (package data).
DEFAULT_CLAIMS = "paper.toml"

_KEYS = {"id", "title", "source", "endpoint", "threshold", "test", "quantifier", "per", "cells",
         "baseline", "alpha", "min_seeds", "smooth_margin"}
#: The results columns a claim's ``cells`` selectors and ``per`` may name.
CELL_COLUMNS = ("dataset", "target", "subsample", "split", "backbone", "loss")


def load_claims(path: str | Path | None = None) -> dict[str, Any]:
    """Read a claims file: ``{"claims": [...], "path": str, "sha256": str, ...defaults}``.

    Parameters
    ----------
    path : path-like, optional
        A TOML file; default: the shipped ``report/claims/paper.toml``.

    Raises
    ------
    ConfigError
        Unreadable TOML, a claim without ``id``/``endpoint``/``threshold``/``cells``, or an
        unknown key.
    """
    if path is None:
        raw = resources.files("cliffkit.report").joinpath("claims", DEFAULT_CLAIMS).read_bytes()
        where = f"cliffkit/report/claims/{DEFAULT_CLAIMS}"
    else:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"Claims file {path} cannot be read ({exc.strerror}).") from exc
        where = str(path)
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Claims file {where} is not valid TOML: {exc}; fix the file.") from exc
    claims = doc.get("claims", [])
    defaults = {k: doc[k] for k in ("alpha", "min_seeds", "smooth_margin") if k in doc}
    for i, c in enumerate(claims):
        missing = [k for k in ("id", "endpoint", "threshold", "cells") if k not in c]
        if missing:
            raise ConfigError(f"Claims file {where}: claim {i + 1} lacks {', '.join(missing)}; "
                              "add it.")
        extra = set(c) - _KEYS
        if extra:
            raise ConfigError(f"Claims file {where}: claim {c['id']!r} has unknown keys "
                              f"{', '.join(sorted(extra))}; allowed: {', '.join(sorted(_KEYS))}.")
        _check_claim(c, where)
        for k, v in defaults.items():
            if k == "smooth_margin" and c["endpoint"] not in ("cliff_mae_reduction",
                                                                 "gap_reduction"):
                continue
            c.setdefault(k, v)
    return {"claims": claims, "path": where, "sha256": sha256_bytes(raw), **defaults}


def _check_claim(c: dict[str, Any], where: str) -> None:
    """Refuse a claim the report could not evaluate (a KeyError traceback before), naming the
    claim, the key and the accepted values."""
    import difflib

    from ..evaluate import ENDPOINTS

    def bad(key: str, got: Any, accepted: list[str]) -> ConfigError:
        close = difflib.get_close_matches(str(got), accepted, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return ConfigError(f"Claims file {where}: claim {c['id']!r} key {key!r}: {got!r} is not "
                           f"one of {', '.join(accepted)}; fix the file.{hint}")

    if c["endpoint"] not in ENDPOINTS:
        raise bad("endpoint", c["endpoint"], list(ENDPOINTS))
    if c.get("quantifier", "any") not in ("any", "all"):
        raise bad("quantifier", c.get("quantifier"), ["any", "all"])
    if c.get("test", "t") != "t":
        raise bad("test", c.get("test"), ["t"])
    if isinstance(c["threshold"], bool) or not isinstance(c["threshold"], int | float):
        raise ConfigError(f"Claims file {where}: claim {c['id']!r} key 'threshold' must be a "
                          f"number; got {c['threshold']!r}.")
    if not isinstance(c["cells"], dict):
        raise ConfigError(f"Claims file {where}: claim {c['id']!r} key 'cells' must be a table "
                          "of column = value(s) (e.g. [claims.cells] split = \"cliff\").")
    per = c.get("per", ["dataset", "target", "backbone", "loss"])
    for col in (per if isinstance(per, list) else [per]):
        if col not in CELL_COLUMNS:
            raise bad("per", col, list(CELL_COLUMNS))
    for col in c["cells"]:
        if col not in CELL_COLUMNS:
            raise bad(f"cells.{col}", col, list(CELL_COLUMNS))


def _matches(series, want) -> np.ndarray:
    vals = series.astype(str).str.lower()
    wants = [want] if isinstance(want, str) else list(want)
    ok = np.zeros(len(series), dtype=bool)
    for w in wants:
        w = str(w).lower()
        ok |= (vals.str.startswith(w[:-1]) if w.endswith("*") else vals == w).to_numpy()
    return ok


def _read_preds(path) -> Any:
    import pandas as pd

    if not isinstance(path, str):
        return None
    try:
        df = pd.read_csv(path, usecols=["index", "y_true", "y_pred", "stratum"])
    except (OSError, ValueError):
        return None
    return df


def claim_cells(claim: dict[str, Any], table) -> list:
    """The :class:`~cliffkit.evaluate.CellData` of every cell a claim ranges over.

    Rows of ``table`` (finished cells) are selected by ``claim["cells"]``; a cell is one
    value of the ``per`` columns. For two-arm endpoints the baseline arm is the row with
    ``loss == baseline`` and the same other ``per`` values and seed. Per-molecule errors
    (for the hierarchical bootstrap) are read from ``predictions_path`` when every seed's
    file exists and both arms cover the same test molecules; else the cell has none.
    """
    from ..evaluate import ENDPOINTS, CellData

    ep = ENDPOINTS[claim["endpoint"]]
    per = list(claim.get("per", ["dataset", "target", "backbone", "loss"]))
    sel = np.ones(len(table), dtype=bool)
    for col, want in claim["cells"].items():
        if col not in table:
            return []
        sel &= _matches(table[col], want)
    treated = table[sel]
    cells = []
    base_loss = claim.get("baseline", "plain")
    for key, sub in treated.groupby(per, sort=True):
        key = dict(zip(per, key if isinstance(key, tuple) else (key,), strict=True))
        arms = [sub.set_index("seed")]
        if ep.arms == 2:
            bsel = np.ones(len(table), dtype=bool)
            for col, v in key.items():
                bsel &= (table[col].astype(str) == str(base_loss if col == "loss" else v)).to_numpy()
            for col, want in claim["cells"].items():
                if col != "loss":
                    bsel &= _matches(table[col], want)
            base = table[bsel].set_index("seed")
            arms = [base, arms[0]]
        # every seed of either arm: one that is missing or failed in an arm is a failed
        # seed of the cell (NaN; evaluate_claim counts it as p = 1), never dropped silently
        seeds = sorted(set.union(*(set(a.index) for a in arms)))
        if not seeds:
            continue
        mae = np.array([[[float(a.loc[s, c]) if (c in a and s in a.index) else np.nan
                          for c in ("mae", "cliff_mae", "smooth_mae")] for a in arms] for s in seeds])
        split_ids = [_split_id(arms[-1], s) for s in seeds]
        errors = []
        for s in seeds:
            if any(s not in a.index for a in arms):
                errors = None
                break
            frames = [_read_preds(a.loc[s, "predictions_path"]) if "predictions_path" in a else None
                      for a in arms]
            if any(f is None for f in frames) or any(
                    not np.array_equal(f["index"].to_numpy(), frames[0]["index"].to_numpy())
                    for f in frames):
                errors = None
                break
            yt = frames[0]["y_true"].to_numpy(dtype=float)
            ae = np.abs(np.vstack([f["y_pred"].to_numpy(dtype=float) for f in frames]) - yt)
            st = frames[0]["stratum"].astype(str).to_numpy()
            errors.append([ae, ae[:, st == "cliff"], ae[:, st == "smooth"]])
        if errors is not None:  # the files' MAEs are the ones tested
            mae = np.array([[[g[a].mean() if g.shape[1] else np.nan for g in e]
                             for a in range(len(arms))] for e in errors])
        cells.append(CellData(key, [int(s) for s in seeds], mae, errors,
                              split_ids if any(i is not None for i in split_ids) else None))
    return cells


def _split_id(arm, seed) -> str | None:
    """The split checksum of one seed: the results column, else the predictions file's."""
    if seed not in arm.index:
        return None
    if "split_checksum" in arm and isinstance(arm.loc[seed, "split_checksum"], str):
        return arm.loc[seed, "split_checksum"]
    path = arm.loc[seed, "predictions_path"] if "predictions_path" in arm else None
    if not isinstance(path, str):
        return None
    import pandas as pd

    try:
        col = pd.read_csv(path, usecols=["split_checksum"], nrows=1)["split_checksum"]
    except (OSError, ValueError):
        return None
    return str(col.iloc[0]) if len(col) else None


def _f(v: float, digits: int = 3) -> str:
    return format_number(v, digits)


def _ci(e, pct: bool = False) -> str:
    if not math.isfinite(e.value):
        return "—"

    def fmt(v):
        return format_number(v, 1, sign=True, percent=True) if pct else format_number(v)

    if not (math.isfinite(e.low) and math.isfinite(e.high)):
        return f"{fmt(e.value)} [—]"
    return f"{fmt(e.value)} [{fmt(e.low)}, {fmt(e.high)}]"


def _key_text(key: dict) -> str:
    return ", ".join(str(v) for v in key.values())


def _claim_rows(claim: dict[str, Any], table):
    """The rows of ``table`` that a claim's ``cells`` selectors pick (its treated arm)."""
    sel = np.ones(len(table), dtype=bool)
    for col, want in claim["cells"].items():
        if col not in table:
            return table.iloc[:0]
        sel &= _matches(table[col], want)
    return table[sel]


def claims_section(report, table, *, spec: dict | None = None,
                   command: str | None = None, n_bootstrap: int = 1000,
                   caveats=None, warnings: list[str] | None = None,
                   title: str = "Paper claims") -> None:
    """Add the ``title`` section: one subsection per claim of ``spec`` (:func:`load_claims`).

    ``caveats(rows) -> list[str]``, when given, says why a verdict drawn from those results
    rows is weak evidence (few seeds, small strata, a capped training budget); the reasons
    are printed at the verdict. ``warnings`` (e.g. "partial grid: ...") are printed under
    the section's introduction.
    """
    from ..evaluate import ENDPOINTS, evaluate_claim, shown_holm

    spec = load_claims() if spec is None else spec
    with report.section(title):
        report.add_message(
            f"Pre-registered claims from {spec['path']} (sha256 {spec['sha256'][:12]}…). Each is "
            "tested by a one-sided t-test across split seeds on the endpoint's per-seed contrast; "
            "a claim about some cell (quantifier 'any') is Holm-adjusted over the cells it ranges "
            "over, a claim about every cell ('all') needs each cell's test to pass at α; 'holds' "
            f"needs the corrected test to pass, and every cell needs at least {spec.get('min_seeds', 5)} split seeds (else "
            "'insufficient seeds'). Intervals: hierarchical (seeds × molecules) paired bootstrap "
            "(boot) and Student-t across seeds (t); '—' where not estimable (fewer than 2 seeds, "
            "or no predictions files). The cell named under a claim (its best for a claim about "
            "some cell, its weakest for a claim about every cell) is exploratory: chosen after "
            "seeing the data, it is not a test.", level="note")
        for text in warnings or []:
            report.add_message(text, level="warning")
        for claim in spec["claims"]:
            ep = ENDPOINTS[claim["endpoint"]]
            with report.section(str(claim.get("title", claim["id"]))):
                cells = claim_cells(claim, table)
                res = evaluate_claim(claim, cells, n_bootstrap=n_bootstrap)
                _claim_table(report, claim, ep, res)
                level = {"holds": "holds", "not shown": "fails",
                         "insufficient seeds": "insufficient"}.get(res.verdict, "not-measured")
                thr = claim["threshold"]
                thr_txt = f"{100 * thr:.1f}%" if ep.percent else f"{thr:g}"
                why = caveats(_claim_rows(claim, table)) if caveats is not None else []
                weak = f" — weak evidence: {'; '.join(why)}" if why and res.n_cells else ""
                report.add_message(
                    f"{claim['id']}: {ep.title} ≥ {thr_txt}, quantifier '{claim.get('quantifier', 'any')}'"
                    f" over {res.n_cells} cells: {res.verdict} ({res.reason}){weak}.", level=level)
                for w in res.warnings:
                    report.add_message(f"{claim['id']}: {w}.", level="warning")
                shown = _exploratory_cell(res, claim)
                if shown is not None and res.n_cells > 1:
                    b, which = shown
                    report.add_message(
                        f"Exploratory ({which} of {res.n_cells} cells, selected post hoc): "
                        f"{_key_text(b['key'])}: {_ci(b['estimates']['endpoint'], ep.percent)} "
                        f"over {b['n_seeds']} seed{'s' if b['n_seeds'] != 1 else ''}, raw p = "
                        f"{_f(b['p'])}, " + (
                            "no Holm p (all: intersection-union, unadjusted)."
                            if claim.get("quantifier", "any") == "all" else
                            f"Holm p = {_f(shown_holm(b, claim.get('min_seeds', 5)))}."),
                        level="exploratory")
        report.add_message(
            "Every number in this section is reproduced by: "
            f"`{command or 'cliffkit report RESULTS -o OUT'}` "
            f"(claims file {spec['path']}, bootstrap seed 0, {n_bootstrap} resamples).",
            level="note")


def _exploratory_cell(res, claim: dict) -> tuple[dict, str] | None:
    """The cell the exploratory line shows, and how it was picked.

    A claim about some cell ('any') shows its best cell; a claim about every cell ('all')
    is decided by its weakest, so that one is shown (the best cell of an 'all' claim says
    nothing about whether every cell reaches the threshold).
    """
    if claim.get("quantifier", "any") != "all":
        return (res.best, "best") if res.best is not None else None
    finite = [r for r in res.cells if math.isfinite(r["estimates"]["endpoint"].value)]
    if not finite:
        return None
    return min(finite, key=lambda r: r["estimates"]["endpoint"].value), "weakest"


def _claim_table(report, claim, ep, res) -> None:
    from ..evaluate import claim_conditions, shown_holm

    if not res.cells:  # the verdict line says "not measured"
        return
    rows = []
    for r in res.cells:
        e = r["estimates"]
        row = [_key_text(r["key"]), r["n_seeds"]]
        if ep.arms == 2:
            grp = "overall" if ep.name == "overall_mae_reduction" else "cliff"
            row += [_ci(e[f"{grp}_0"]), _ci(e[f"{grp}_1"]),
                    f"{_ci(e[f'{grp}_diff'])} / t {_ci(e[f'{grp}_diff_t'])}",
                    _ci(e["endpoint"], True), _ci(e["smooth_diff"]),
                    f"{_ci(e['gap_0'])}" + (" (unstable)" if r["unstable"] else "")]
        else:
            row += [_ci(e["cliff_0"]), _ci(e["smooth_0"]),
                    f"{_ci(e['gap_0'])} / t {_ci(e['gap_0_t'])}", _ci(e["endpoint"])]
        if r["passes"]:
            status = "pass"
        elif r.get("n_failed"):
            status = f"not shown — {r['n_failed']} of {r['n_seeds']} seeds failed or missing"
        elif r["n_seeds"] < claim.get("min_seeds", 5):
            status = "too few seeds"
        else:
            status = "not shown"
        mde = r.get("mde", float("nan"))
        row += [_f(r["p"]), _f(shown_holm(r, claim.get("min_seeds", 5))),
                format_number(mde, 1, sign=True, percent=True) if ep.percent else _f(mde),
                status]
        rows.append(row)
    if ep.arms == 2:
        grp = "overall" if ep.name == "overall_mae_reduction" else "cliff"
        cols = ["cell", "seeds", f"{grp} MAE plain [boot]", f"{grp} MAE loss [boot]",
                f"Δ {grp} MAE [boot] / t [t]", f"{ep.name} [boot]", "Δ smooth MAE [boot]",
                "plain gap [boot]", "p", "Holm p", "MDE", "result"]
    else:
        cols = ["cell", "seeds", "MAE cliff [boot]", "MAE smooth [boot]", "gap [boot] / t [t]",
                "ratio of means [boot]", "p", "Holm p", "MDE", "result"]
    conds = claim_conditions(claim)
    if len(conds) == 1:
        p_txt = f"p: one-sided t-test across seeds of H1 '{conds[0]}'"
    else:
        p_txt = ("p: the largest of the one-sided t-tests across seeds of H1 "
                 + ", ".join(f"'{c}'" for c in conds)
                 + " (intersection-union test: a cell passes only when all of them do)")
    if claim.get("quantifier", "any") == "all":
        holm_txt = ("; Holm p: '—' for every row: a claim about every cell ('all') is an "
                    "intersection-union test decided on each row's raw p at α, unadjusted")
    else:
        holm_txt = ("; Holm p: adjusted over the rows of this table ('—' where no test was made: "
                    "fewer than 2 seeds, or fewer than the claim's minimum; such a row still "
                    "counts in the family, a missing p as 1)")
    note = (p_txt + holm_txt
            + ". MDE: the endpoint value this "
              "cell's test detects with 80% power at its seeds and per-cell α (Holm's first "
              "step α/m for 'any'). 'not shown' is not evidence of no effect. [boot]: "
              "hierarchical bootstrap, t-calibrated. A gap reduction is unstable when "
              "the plain gap's interval includes 0.")
    report.add_table(rows, f"{claim['id']}: per cell", columns=cols, note=note)
