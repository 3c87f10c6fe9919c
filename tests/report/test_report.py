"""Report data model, renderers and the bench report built from a synthetic results table."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest

from cliffkit.errors import InvalidParameterError
from cliffkit.evaluate import fieller_interval
from cliffkit.report import (
    Report,
    build_report,
    paired_stats,
    render_html,
    render_markdown,
    write_report,
)


def _png() -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_report_sections_nest_and_render():
    rep = Report("T", meta={"machine": "x"})
    with rep.section("A"):
        rep.add_message("hello <b>", level="holds")
        with rep.section("A1"):
            rep.add_table([[1, 0.123456, float("nan")]], "tab", columns=["a", "b", "c"])
        rep.add_image(_png(), "My Fig")
        rep.add_image(_png(), "My Fig")
    assert [s.title for s in rep.sections] == ["A"]
    assert rep.sections[0].items[1].title == "A1"
    names = [i.filename for i in rep.iter_items("image")]
    assert names == ["my-fig.png", "my-fig-2.png"]
    md = render_markdown(rep)
    assert "## A" in md and "### A1" in md and "**HOLDS**: hello <b>" in md
    assert "| 1 | 0.1235 | – |" in md
    assert "![My Fig](images/my-fig.png)" in md
    html = render_html(rep)
    assert "hello &lt;b&gt;" in html  # escaped
    assert html.count("data:image/png;base64,") == 2
    assert base64.b64encode(rep.sections[0].items[2].png).decode() in html
    assert rep.to_dict()["sections"][0]["items"][0] == {"kind": "message", "text": "hello <b>",
                                                        "level": "holds"}


def test_report_input_errors():
    rep = Report("T")
    with pytest.raises(InvalidParameterError, match="level"):
        rep.add_message("x", level="great")
    with pytest.raises(InvalidParameterError, match="needs 'columns'"):
        rep.add_table([[1, 2]])
    with pytest.raises(InvalidParameterError, match="row 0 has 1 values for 2 columns"):
        rep.add_table([[1]], columns=["a", "b"])
    with pytest.raises(InvalidParameterError, match="not a PNG"):
        rep.add_image(b"GIF89a")


def test_paired_stats_hand_worked():
    st = paired_stats([1.0, 1.0, 1.0], [0.85, 0.9, 0.95])
    assert st["reduction"] == pytest.approx(0.10)
    assert st["wins"] == 3 and st["n"] == 3
    # d = (-.15, -.1, -.05): t = -0.1 / (0.05 / sqrt(3)) = -3.4641, df = 2 -> p = 0.0742
    assert st["p"] == pytest.approx(0.07418, abs=1e-4)
    assert np.isnan(paired_stats([1.0], [0.5])["p"])


def _row(**kw):
    base = {"status": "ok", "subsample": None, "seconds": 1.0, "error_type": None,
            "error_message": None, "predictions_path": None, "lambda_trajectory": None}
    base.update(kw)
    base.setdefault("key", f"{kw['dataset']}-{kw['target']}-{kw['split']}-{kw['backbone']}-"
                           f"{kw['loss']}-s{kw['seed']}")
    return base


@pytest.fixture
def results(tmp_path):
    rows = []
    rng = np.random.default_rng(0)
    # QM9: homo ratio 1.25 (holds), lumo 1.05 (does not hold); reference ratio 2.0
    for tg, ratios in (("homo", [1.2, 1.3, 1.25]), ("lumo", [1.0, 1.1, 1.05])):
        for seed, r in enumerate(ratios):
            rows.append(_row(dataset="qm9", target=tg, split="cliff", backbone="mlp", loss="plain",
                             seed=seed, mae=0.2, cliff_mae=0.2 * r, smooth_mae=0.2, ratio=r,
                             ratio_lo=r - 0.1, ratio_hi=r + 0.1, gap=0.2 * (r - 1), ref_ratio=2.0))
    # Lipophilicity: gap 1.0 -> 0.8 (20% < 30%), MAE 1.0 -> 0.9 mean (10% >= 9.7%)
    for seed, (mae_c, gap_c) in enumerate(zip([0.85, 0.9, 0.95], [0.8, 0.8, 0.8], strict=True)):
        for loss, mae, gap in (("plain", 1.0, 1.0), ("cliff", mae_c, gap_c)):
            path = tmp_path / f"p-{loss}-{seed}.csv"
            n = 40
            y = rng.normal(size=n)
            pd.DataFrame({
                "index": np.arange(n), "y_true": y, "y_pred": y + rng.normal(scale=mae, size=n),
                "y_ref": y + rng.normal(scale=1.5, size=n), "max_similarity": rng.uniform(0.2, 1, n),
                "stratum": np.where(np.arange(n) % 2 == 0, "cliff", "smooth"),
                "partner_y_true": np.where(np.arange(n) % 2 == 0, y + 1.0, np.nan),
            }).to_csv(path, index=False)
            rows.append(_row(dataset="lipophilicity", target="logd", split="cliff", backbone="mlp",
                             loss=loss, seed=seed, mae=mae, mae_lo=mae - 0.05, mae_hi=mae + 0.05,
                             cliff_mae=mae + gap, smooth_mae=mae, unsupported_mae=mae, gap=gap,
                             ratio=(mae + gap) / mae, ref_ratio=1.8, cliff_n=20, smooth_n=20,
                             predictions_path=str(path),
                             lambda_trajectory=[0.1, 0.15, 0.2] if loss == "cliff" else None))
            rows.append(_row(dataset="lipophilicity", target="logd", split="random", backbone="mlp",
                             loss=loss, seed=seed, mae=0.7, cliff_mae=1.1, smooth_mae=0.6, gap=0.5,
                             ratio=1.83))
    rows.append(_row(dataset="lipophilicity", target="logd", split="cliff", backbone="gin",
                     loss="plain", seed=0, status="failed", error_type="RuntimeError",
                     error_message="CUDA out of memory"))
    return pd.DataFrame(rows)


def _section(rep, title_start):
    return next(s for s in rep.iter_items("section") if s.title.startswith(title_start))


def _verdicts(section):
    return [(m.level, m.text) for m in section.items if m.kind == "message"]


def test_claims_verdicts(results):
    """3 seeds per cell: every claim is 'insufficient seeds', never 'holds'; the numbers are shown."""
    rep = build_report(results, figures=False)
    qm9 = _verdicts(_section(rep, "QM9"))
    assert qm9[0][0] == "insufficient" and "insufficient seeds" in qm9[0][1]
    # a claim about every cell turns on its weakest cell (lumo, 1.05), not its best (homo)
    assert qm9[1][0] == "exploratory" and "weakest of 2 cells" in qm9[1][1]
    assert "qm9, lumo, mlp" in qm9[1][1] and "over 3 seeds" in qm9[1][1]
    qtable = next(i for i in _section(rep, "QM9").items if i.kind == "table")
    by_target = {r[0].split(", ")[1]: r for r in qtable.rows}
    assert by_target["homo"][-1] == "too few seeds" and by_target["lumo"][-1] == "too few seeds"
    # ratio of means over seeds: mean cliff 0.25 / mean smooth 0.2 (no predictions: "—" CI)
    assert by_target["homo"][5] == "1.250 [—]"
    for title in ("Lipophilicity", "CliffLoss lowers overall MAE"):
        levels = [lv for lv, _ in _verdicts(_section(rep, title))]
        assert levels == ["insufficient"]  # one cell: no exploratory best-of line
    gtable = next(i for i in _section(rep, "Lipophilicity").items if i.kind == "table")
    assert gtable.rows[0][0] == "lipophilicity, logd, mlp, cliff" and gtable.rows[0][1] == 3
    # the hierarchical bootstrap ran on the predictions files: a real interval
    assert "[—]" not in gtable.rows[0][2]
    failed = _section(rep, "Failed cells")
    ftable = next(i for i in failed.items if i.kind == "table")
    assert ftable.rows[0][-2:] == ["RuntimeError", "CUDA out of memory"]
    hides = next(i for i in _section(rep, "What a random split").items if i.kind == "table")
    assert hides.columns[2:5] == ["cliff: MAE", "cliff: MAE cliff", "cliff: ratio"]
    assert hides.rows[0][5] == "0.700 ± 0.000"  # random split overall MAE, 3 seeds
    note = _section(rep, "Paper claims").items[-1]
    assert note.kind == "message" and "reproduced by" in note.text


def _five_seed_rows() -> list[dict]:
    """Cells of plain and cliff over 5 seeds: a consistent 10% overall MAE gain, small jitter."""
    rows = []
    for seed in range(5):
        for loss, mae in (("plain", 1.0), ("cliff", 0.9)):
            jitter = 1 + 0.01 * (seed - 2) * (1 if loss == "plain" else -1)
            rows.append({"status": "ok", "dataset": "esol", "target": "logs", "split": "cliff",
                         "backbone": "mlp", "loss": loss, "seed": seed, "mae": mae * jitter,
                         "cliff_mae": 1.5 * mae * jitter,
                         "smooth_mae": 0.8 * (1 + 0.01 * (seed - 2)), "key": f"{loss}{seed}"})
    return rows


def test_claims_hold_with_five_seeds(results):
    """Five seeds of a consistent 10% overall MAE gain: the 0% claims hold after Holm."""
    table = pd.DataFrame(_five_seed_rows())
    rep = build_report(table, figures=False, claims={"mae_improvement": 0.05})
    (level, text), = _verdicts(_section(rep, "CliffLoss lowers overall MAE"))
    assert level == "holds" and "1 of 1 cells pass" in text
    (level, _), = _verdicts(_section(rep, "CliffLoss lowers cliff MAE"))
    assert level == "holds"  # cliff MAE 10% lower, smooth MAE unchanged within +2%
    rep = build_report(table, figures=False)  # the pre-registered 9.7% is not reached (10% ± noise)
    (level, text), = _verdicts(_section(rep, "CliffLoss lowers overall MAE"))
    assert level == "fails"
    # "not shown", never "does not hold", with the minimal detectable effect beside it
    assert "not shown" in text and "does not hold" not in text
    assert "minimal detectable overall_mae_reduction at 5 seeds" in text


def test_claims_file_errors(tmp_path):
    from cliffkit.errors import ConfigError
    from cliffkit.report._claims import load_claims

    bad = tmp_path / "c.toml"
    bad.write_text('[[claims]]\nid = "x"\nendpoint = "gap"\n')
    with pytest.raises(ConfigError, match="lacks threshold, cells"):
        load_claims(bad)
    bad.write_text('[[claims]]\nid = "x"\nendpoint = "gap"\nthreshold = 0\ncells = {}\nbest = 1\n')
    with pytest.raises(ConfigError, match="unknown keys best"):
        load_claims(bad)
    spec = load_claims()
    assert {c["id"] for c in spec["claims"]} >= {"qm9_ratio", "mae_improvement", "lipo_gap_reduction"}
    assert all(c["min_seeds"] == 5 for c in spec["claims"])


def test_claims_not_measured_without_data(results):
    only_random = results[results["split"] == "random"]
    rep = build_report(only_random, figures=False)
    for title in ("QM9", "Lipophilicity", "CliffLoss lowers overall MAE", "What a random split"):
        assert [lv for lv, _ in _verdicts(_section(rep, title)) if lv != "note"] == ["not-measured"]


def test_full_report_writes_md_html_and_pngs(results, tmp_path):
    rep = build_report(results, title="Synthetic")
    paths = write_report(rep, tmp_path / "rep")
    md = paths["markdown"].read_text(encoding="utf-8")
    html = paths["html"].read_text(encoding="utf-8")
    pngs = sorted(p.name for p in (tmp_path / "rep" / "images").glob("*.png"))
    assert pngs == ["error-vs-similarity.png", "gap-by-loss.png", "lambda.png",
                    "pair-differences.png", "strata-mae.png"]
    for name in pngs:
        assert (tmp_path / "rep" / "images" / name).read_bytes().startswith(b"\x89PNG")
        assert f"images/{name}" in md
    assert html.count("data:image/png;base64,") == 5
    assert "**INSUFFICIENT SEEDS**" in md and "CUDA out of memory" in md
    assert "<h2>Paper claims</h2>" in html


def test_claims_count_identical_splits_once_and_show_failed_seeds(results):
    """Two seeds with the same split checksum count once (a warning says so); a seed that
    failed in the loss arm is not dropped: the cell is 'not shown — 1 of 5 seeds failed'."""
    rows = _five_seed_rows()
    for row in rows:
        row["split_checksum"] = f"s{min(row['seed'], 3)}"  # seeds 3 and 4: one split
    table = pd.DataFrame(rows)
    rep = build_report(table, figures=False, claims={"mae_improvement": 0.05})
    items = _verdicts(_section(rep, "CliffLoss lowers overall MAE"))
    assert ("insufficient", ) == tuple(lv for lv, _ in items if lv != "warning")
    assert any(lv == "warning" and "seeds 3 and 4 made identical splits" in t for lv, t in items)
    table["split_checksum"] = [f"s{r}" for r in table["seed"]]
    table = table[~((table["loss"] == "cliff") & (table["seed"] == 2))]  # failed, no row
    rep = build_report(table, figures=False, claims={"mae_improvement": 0.05})
    (level, text), = [v for v in _verdicts(_section(rep, "CliffLoss lowers overall MAE"))
                      if v[0] != "warning"]
    assert level == "fails" and "1 of 5 seeds failed or missing" in text
    sec = _section(rep, "CliffLoss lowers overall MAE")
    tab = next(i for i in sec.items if i.kind == "table")
    assert tab.rows[0][-1] == "not shown — 1 of 5 seeds failed or missing"


def test_seed_means_say_when_a_seed_has_no_value():
    from cliffkit.report._bench_report import _ms

    sub = pd.DataFrame({"mae": [0.5, np.nan, 0.7]})
    text = _ms(sub, "mae")
    assert text.startswith("0.600 ± 0.141") and "(1 of 3 seeds without a value)" in text
    assert "(" not in _ms(pd.DataFrame({"mae": [0.5, 0.7]}), "mae").split("]")[-1]


def test_claims_show_no_holm_p_where_no_test_was_made():
    """A cell with one seed has no p ("—") and so no Holm p ("—", not "1.000"); one with 3
    seeds (fewer than the claim's 5) has a raw p but no Holm p. Both stay in the family
    (a NaN p as 1), so the tested cell's Holm p is the one over all 3 cells."""
    from cliffkit.evaluate import holm

    rows = _five_seed_rows()
    for seeds, bb in (([0], "lgbm"), ([0, 1, 2], "gin")):
        rows += [{**r, "backbone": bb, "key": f"{bb}{r['key']}"} for r in _five_seed_rows()
                 if r["seed"] in seeds]
    rep = build_report(pd.DataFrame(rows), figures=False, claims={"mae_improvement": 0.05})
    tab = next(i for i in _section(rep, "CliffLoss lowers overall MAE").items if i.kind == "table")
    assert tab.columns[-4:] == ["p", "Holm p", "MDE", "result"]
    by_bb = {r[0].split(", ")[2]: r for r in tab.rows}
    assert by_bb["lgbm"][-4:-2] == ["—", "—"]  # no test: neither p
    assert by_bb["gin"][-4] != "—" and by_bb["gin"][-3] == "—"  # 3 seeds: exploratory
    p_mlp, p_gin = float(by_bb["mlp"][-4]), float(by_bb["gin"][-4])
    expect = holm([p_mlp, p_gin, float("nan")])[0]
    assert float(by_bb["mlp"][-3]) == pytest.approx(expect, abs=2e-3)  # printed to 3 digits


def _qm9_rows(n_train: int, ratios: dict, seeds=(0, 1, 2), subsample=None) -> list[dict]:
    """Plain-loss QM9 cells with a reference ratio and matched-control ratios."""
    rows = []
    for (tg, sp, bb), r in ratios.items():
        for seed in seeds:
            rr = r + 0.01 * seed
            sm = 0.1 + 0.02 * seed  # the seeds' smooth MAE differ: mean of ratios != ratio of means
            rows.append(_row(dataset="qm9", target=tg, split=sp, backbone=bb, loss="plain",
                             seed=seed, subsample=subsample, n_train=n_train, mae=0.15,
                             cliff_mae=sm * rr, smooth_mae=sm, ratio=rr, ratio_lo=rr - 0.05,
                             ratio_hi=rr + 0.05, ref_cliff_mae=0.2 * rr, ref_smooth_mae=0.1,
                             ref_ratio=2 * rr, ref_ratio_lo=2 * rr - 0.1,
                             ref_ratio_hi=2 * rr + 0.1, matched_similarity_ratio=rr + 0.1,
                             matched_similarity_ratio_lo=rr + 0.05,
                             matched_similarity_ratio_hi=rr + 0.15,
                             matched_similarity_z_ratio=rr - 0.1, cliff_n=50, smooth_n=60))
    return rows


def test_ratio_summary_shows_reference_and_matched_controls_descriptively():
    table = pd.DataFrame(_qm9_rows(1000, {("gap", "cliff", "lgbm"): 1.5}, seeds=(0,))
                         + _qm9_rows(1000, {("homo", "cliff", "mlp"): 1.2}))
    rep = build_report(table, figures=False)
    sec = _section(rep, "Cliff against smooth per task and backbone (descriptive)")
    assert "Descriptive, not a test" in sec.items[0].text
    tab = next(i for i in sec.items if i.kind == "table")
    rows = {r[0]: dict(zip(tab.columns, r, strict=True)) for r in tab.rows}
    # one seed: the cell's own molecule-bootstrap interval, said so
    gap = rows["qm9/gap"]
    assert gap["ratio"] == "1.500 [1.450, 1.550]†" and "†: one seed" in tab.note
    assert gap["reference ratio"].startswith("3.000 [2.900, 3.100]")
    assert gap["model / reference"] == "0.500"
    assert gap["ratio, matched on similarity"].startswith("1.600 [1.550, 1.650]")
    # three seeds: the ratio of seed means (the claims' ratio), Fieller's interval
    homo = rows["qm9/homo"]
    assert homo["seeds"] == 3 and homo["seed IDs"] == "0, 1, 2"  # a count, then the IDs
    assert gap["seeds"] == 1 and gap["seed IDs"] == "0"
    cliff = [0.1 * 1.2, 0.12 * 1.21, 0.14 * 1.22]
    smooth = [0.1, 0.12, 0.14]
    ratio = sum(cliff) / sum(smooth)
    e = fieller_interval(cliff, smooth)
    assert homo["ratio"] == f"{ratio:.3f} [{e.low:.3f}, {e.high:.3f}]" and e.low < ratio < e.high
    assert homo["ratio"].startswith("1.211 [")  # the mean of the per-seed ratios is 1.210
    assert "ratio of seed means" in tab.note and "Fieller" in tab.note
    assert homo["ratio, matched on similarity and |z|"].startswith("1.110 ± 0.010 [")
    # 3 seeds is below the claims' 5: the claim says so, the descriptive table is still there
    qm9 = _verdicts(_section(rep, "QM9"))
    assert qm9[0][0] == "insufficient"


def test_partial_grid_lists_cells_not_run_and_says_so_everywhere():
    table = pd.DataFrame(_qm9_rows(1000, {("gap", "cliff", "lgbm"): 1.5}, seeds=(0,)))
    missing = [{"key": f"k{s}-{bb}", "dataset": "qm9", "target": "gap", "split": "cliff",
                "backbone": bb, "loss": "plain", "seed": s}
               for bb in ("lgbm", "mlp") for s in (1, 2) if (bb, s) != ("mlp", 9)]
    missing.append({"key": "k0-mlp", "dataset": "qm9", "target": "gap", "split": "cliff",
                    "backbone": "mlp", "loss": "plain", "seed": 0})
    rep = build_report(table, figures=False, missing=missing)
    text = "Partial grid: 5 of 6 cells of the grid have no result yet"
    assert _verdicts(_section(rep, "Overview"))[0] == ("warning", text + " (listed in 'Cells not "
                                                       "run yet'); every number covers the "
                                                       "finished cells only.")
    assert any(lv == "warning" and m.startswith(text) for lv, m in _verdicts(_section(rep, "Paper claims")))
    sec = _section(rep, "Cells not run yet")
    tab = next(i for i in sec.items if i.kind == "table")
    assert tab.title == "5 of 6 cells of the grid have no result yet"
    assert tab.rows == [["qm9/gap", "cliff", "lgbm", "plain", 2, "1, 2"],
                        ["qm9/gap", "cliff", "mlp", "plain", 3, "0, 1, 2"]]
    # a complete grid has no such section
    assert not [s for s in build_report(table, figures=False).iter_items("section")
                if s.title == "Cells not run yet"]


def test_compare_puts_shared_cells_side_by_side_and_names_the_rest():
    full = pd.DataFrame(_qm9_rows(104594, {("gap", "cliff", "lgbm"): 1.4, ("homo", "cliff", "lgbm"): 1.3}))
    sub = pd.DataFrame(_qm9_rows(2400, {("gap", "cliff", "lgbm"): 2.0, ("lumo", "cliff", "lgbm"): 1.8},
                                 seeds=(0, 1), subsample=3000))
    rep = build_report(full, figures=False, compare=sub, compare_label="3k subsample")
    sec = _section(rep, "Against 3k subsample")
    msgs = _verdicts(sec)
    assert "data here: all molecules; in 3k subsample: 3,000-molecule subsample" in msgs[0][1]
    assert ("not-measured", "1 groups only here (not compared): qm9/homo cliff lgbm plain.") in msgs
    assert ("not-measured", "1 groups only in 3k subsample (not compared): "
                            "qm9/lumo cliff lgbm plain.") in msgs
    ratio_t, mae_t = [i for i in sec.items if i.kind == "table"]
    (row,) = ratio_t.rows
    r = dict(zip(ratio_t.columns, row, strict=True))
    assert r["task"] == "qm9/gap" and r["seeds (here / there)"] == "3 / 2"
    here, there = (0.1 * 1.4 + 0.12 * 1.41 + 0.14 * 1.42) / 0.36, (0.1 * 2 + 0.12 * 2.01) / 0.22
    assert r["ratio here"].startswith(f"{here:.3f} [") and r["ratio 3k subsample"].startswith(f"{there:.3f} [")
    assert r["Δ ratio (here − there)"] == f"{here - there:.3f}"
    assert r["reference ratio 3k subsample"] == "4.010"  # (0.2·2.005 mean) / 0.1
    (row,) = mae_t.rows
    m = dict(zip(mae_t.columns, row, strict=True))
    # the ratio column is MAE cliff / MAE smooth of its own row (the seed means)
    assert m["ratio here"] == f"{here:.3f}" and m["ratio 3k subsample"] == f"{there:.3f}"
    assert float(m["MAE cliff here"].split(" ±")[0]) / float(m["MAE smooth here"].split(" ±")[0]) \
        == pytest.approx(here, abs=0.02)
    assert m["n train here"] == "104594" and m["n train 3k subsample"] == "2400"
    # nothing in common: said, no table
    other = pd.DataFrame(_qm9_rows(10, {("mu", "random", "svm"): 1.0}))
    sec = _section(build_report(full, figures=False, compare=other, compare_label="x"), "Against x")
    assert ("not-measured", "No cells in common with x.") in _verdicts(sec)
    assert not [i for i in sec.items if i.kind == "table"]


def test_report_numbers_never_print_a_signed_zero():
    """A change that rounds to zero prints unsigned in the claims and descriptive tables
    (the qm9-full report showed '-0.000 [-0.001, 0.001]' and '-0.0%')."""
    from cliffkit.evaluate._metrics import Estimate
    from cliffkit.report._bench_report import _fmt, _pct
    from cliffkit.report._claims import _ci, _f

    assert _ci(Estimate(-0.0004, -0.0012, 0.0003)) == "0.000 [-0.001, 0.000]"
    assert _ci(Estimate(-0.00004, -0.006, 0.006), pct=True) == "0.0% [-0.6%, +0.6%]"
    assert _f(-0.0001) == "0.000" and _fmt(-0.0004) == "0.000" and _pct(-0.0004) == "0.0%"
    assert _pct(0.0123) == "+1.2%" and _fmt(float("nan")) == "–" and _f(None) == "—"


def test_error_vs_similarity_shows_an_isolated_reference_bin(monkeypatch):
    """A similarity bin between two empty ones (0.85-1.0 after an empty 0.75-0.85) was drawn
    for the model (a marker) but not for the reference predictor (a dashed line of length 0);
    found by the fresh-user trial."""
    from cliffkit.report import _plots

    figs = []
    monkeypatch.setattr(_plots, "_png", lambda fig: figs.append(fig) or b"")
    preds = pd.DataFrame({
        "dataset": "d", "target": "t", "backbone": "lgbm",
        "max_similarity": [0.4, 0.42, 0.5, 0.95, 0.97],
        "y_true": [0.0, 0.0, 0.0, 0.0, 0.0], "y_pred": [1.0, 1.0, 0.5, 0.2, 0.2],
        "y_ref": [2.0, 2.0, 1.0, 0.8, 0.6],
    })
    _plots.plot_error_vs_similarity(preds)
    (ax,) = [a for a in figs[0].axes if a.get_label() != "<colorbar>" and a.lines]
    ref = [ln for ln in ax.lines if ln.get_label() == "reference predictor"][0]
    assert ref.get_marker() not in (None, "", "None")
    x, y = ref.get_data()
    shown = np.isfinite(np.asarray(y, float))
    np.testing.assert_allclose(np.asarray(y, float)[shown], [2.0, 1.0, 0.7])
    assert np.asarray(x)[shown][-1] > 0.85


def test_stratum_counts_say_they_are_per_seed_means(results):
    """'n cliff 10' for seeds holding 10 and 11 cliff cases read as a total; the tables now
    say what the number is (found by the fresh-user trial)."""
    md = render_markdown(build_report(results, title="Synthetic"))
    assert md.count("n cliff, n smooth: test molecules in the stratum per seed, the mean over "
                    "the seeds rounded") >= 2


def test_overview_lists_losses_in_the_report_order(results):
    # fresh-user trial: the overview listed losses alphabetically ('cliff, lds, plain') while
    # every table puts plain first; one order everywhere (plain, the CliffLoss variants, rest)
    extra = results.iloc[[0]].assign(loss="lds", key="extra-lds")
    rep = build_report(pd.concat([results, extra], ignore_index=True), figures=False)
    text = " ".join(m.text for m in _section(rep, "Overview").items if m.kind == "message")
    assert "losses: plain, cliff, lds;" in text


class _TableSink:
    """Stands in for a Report: keeps the last table's rows, columns and note."""

    def add_table(self, rows, title, columns, note):
        self.rows, self.columns, self.note = rows, columns, note


def _claim_cells(n_cells=3, n=5):
    from cliffkit.evaluate import CellData

    rng = np.random.default_rng(5)
    cells = []
    for i in range(n_cells):
        A = np.column_stack([rng.normal(0.5, 0.02, n), rng.normal(0.7, 0.03, n),
                             rng.normal(0.5, 0.02, n)])
        B = A * np.array([0.95, 0.8, 1.0]) + rng.normal(0, 0.01, (n, 3))
        cells.append(CellData({"c": f"c{i}"}, list(range(n)), np.stack([A, B], axis=1)))
    return cells


def test_claims_table_all_claim_shows_no_holm_p():
    """'all' is an unadjusted intersection-union test: its 'Holm p' column is '—' and the
    note says why (h48 finding 2; it printed the raw p there)."""
    from cliffkit.evaluate import ENDPOINTS, CellData, evaluate_claim
    from cliffkit.report._claims import _claim_table

    cells = [CellData(c.key, c.seeds, c.mae[:, :1, :]) for c in _claim_cells()]
    claim = {"id": "r", "endpoint": "ratio", "threshold": 1.3, "quantifier": "all"}
    res = evaluate_claim(claim, cells, n_bootstrap=0)
    sink = _TableSink()
    _claim_table(sink, claim, ENDPOINTS["ratio"], res)
    i = sink.columns.index("Holm p")
    assert [r[i] for r in sink.rows] == ["—"] * 3
    assert [r[i - 1] for r in sink.rows] != ["—"] * 3
    assert "intersection-union test decided on each row's raw p at α, unadjusted" in sink.note
    assert "adjusted over the rows" not in sink.note


@pytest.mark.parametrize("claim, parts", [
    ({"endpoint": "gap_reduction", "threshold": 0.3, "smooth_margin": 0.02},
     ["'gap_reduction ≥ 0.3'", "loss < plain × 1.02", "'plain gap > 0'"]),
    ({"endpoint": "cliff_mae_reduction", "threshold": 0.0},  # default margin, no key
     ["'cliff_mae_reduction ≥ 0'", "loss < plain × 1.02"]),
    ({"endpoint": "overall_mae_reduction", "threshold": 0.0, "smooth_margin": 0.05},
     ["loss < plain × 1.05"]),
])
def test_claims_table_note_names_every_test_of_the_p(claim, parts):
    """The note names each test whose largest p is the cell's p, with the margin in effect
    (h48 finding 3: it named only the endpoint, and no default margin)."""
    from cliffkit.evaluate import ENDPOINTS, evaluate_claim
    from cliffkit.report._claims import _claim_table

    claim = {"id": "x", "quantifier": "any", **claim}
    res = evaluate_claim(claim, _claim_cells(), n_bootstrap=0)
    sink = _TableSink()
    _claim_table(sink, claim, ENDPOINTS[claim["endpoint"]], res)
    for part in parts:
        assert part in sink.note
    assert "intersection-union" in sink.note
