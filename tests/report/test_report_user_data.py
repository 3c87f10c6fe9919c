"""Issue 15, item 3: a report that says what it can and cannot conclude."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliffkit.report import build_report, render_markdown
from cliffkit.report._bench_report import _dataset_label, _is_paper_dataset


def _row(**kw):
    base = {"status": "ok", "subsample": None, "seconds": 1.0, "error_type": None,
            "error_message": None, "predictions_path": None, "lambda_trajectory": None,
            "split": "cliff"}
    base.update(kw)
    base.setdefault("key", f"{kw['dataset']}-{kw['backbone']}-{kw['loss']}-{kw['seed']}")
    return base


def _user_rows(seeds, cliff_n, dataset="/home/me/data/my_assay.csv"):
    rows = []
    for seed in seeds:
        # plain: gap 0.5, ratio 2 (CI low 1.4); cliff loss: gap 0.30-0.32, smaller on every seed
        rows.append(_row(dataset=dataset, target="pKi", backbone="lgbm", loss="plain", seed=seed,
                         mae=0.6, cliff_mae=1.0, smooth_mae=0.5, gap=0.5, ratio=2.0,
                         ratio_lo=1.4, ratio_hi=2.6, ref_ratio=2.5, ref_cliff_mae=1.25,
                         ref_smooth_mae=0.5, cliff_n=cliff_n,
                         smooth_n=40, unit="pKi"))
        rows.append(_row(dataset=dataset, target="pKi", backbone="lgbm", loss="cliff", seed=seed,
                         mae=0.58, cliff_mae=0.8, smooth_mae=0.5, gap=0.3 + 0.01 * seed,
                         ratio=1.6,
                         ratio_lo=1.1, ratio_hi=2.1, ref_ratio=2.5, cliff_n=cliff_n,
                         smooth_n=40, unit="pKi"))
    return rows


def _section(rep, start):
    return next(s for s in rep.iter_items("section") if s.title.startswith(start))


def _tables(section):
    return [i for i in section.items if i.kind == "table"]


def test_user_dataset_gets_its_own_summary_not_the_paper_claims():
    rep = build_report(pd.DataFrame(_user_rows([0, 1, 2], 30)), figures=False)
    md = render_markdown(rep)
    assert "Paper claims" not in md
    assert "/home/me" not in md  # task names are dataset names
    sec = _section(rep, "my_assay/pKi")
    ratio_t, loss_t = _tables(sec)
    assert "pKi" in ratio_t.title
    (row,) = ratio_t.rows
    assert row[0] == "lgbm" and row[1] == 3
    # CI low > 1 with 30 cases; 3 split seeds are fewer than the claims' 5: weak evidence
    assert row[-1] == "cliff error above smooth error — weak evidence: 3 split seeds (< 5, the claims' minimum)"
    assert row[6] == "0.800"  # model ratio 2.0 / reference ratio 2.5
    (lrow,) = loss_t.rows
    assert lrow[:5] == ["lgbm", "cliff", 3, "+38.0%", "3/3"]  # 1 - mean(0.30, 0.31, 0.32)/0.5
    assert lrow[-1] == "smaller gap on every seed — weak evidence: 3 split seeds (< 5, the claims' minimum)"


def test_weak_evidence_is_labelled_at_the_verdict():
    rep = build_report(pd.DataFrame(_user_rows([0], 12)), figures=False)
    (row,) = _tables(_section(rep, "my_assay/pKi"))[0].rows
    assert row[-1] == ("cliff error above smooth error — weak evidence: 1 split seed (< 5, "
                       "the claims' minimum); 12 cliff cases (< 20)")


def test_paper_claims_only_for_paper_datasets_and_capped_label():
    qm9 = [_row(dataset="qm9", target="gap", backbone="mlp", loss="plain", seed=s, mae=0.2,
                cliff_mae=0.26, smooth_mae=0.2, ratio=1.3, gap=0.06, ref_ratio=2.0,
                cliff_n=50, smooth_n=50) for s in range(3)]
    table = pd.DataFrame(qm9 + _user_rows([0, 1, 2], 30))
    rep = build_report(table, figures=False, capped=True)
    claims = _section(rep, "Paper claims")
    (msg,) = [m for m in _section(rep, "Training budget").items if m.kind == "message"]
    assert msg.level == "warning" and "capped budget" in msg.text and "weak evidence" in msg.text
    # the user's file is not part of the paper's claims ...
    assert "my_assay" not in repr(claims)
    # ... whose QM9 verdict carries its caveats at the verdict itself (its seeds: in the
    # verdict, "insufficient seeds", not repeated as a caveat)
    verdicts = [m.text for s in claims.items if s.kind == "section" for m in s.items
                if m.kind == "message" and m.text.startswith("qm9_ratio")]
    assert verdicts and "insufficient seeds" in verdicts[0] and verdicts[0].endswith(
        "— weak evidence: models trained under a capped budget (demo).")
    # ... but has its own summary, its verdicts labelled as from a capped budget
    (row,) = _tables(_section(rep, "my_assay/pKi"))[0].rows
    assert row[-1].endswith("; models trained under a capped budget (demo)")
    # without QM9/Lipophilicity/ESOL/FreeSolv rows there is no paper-claims section at all
    rep = build_report(pd.DataFrame(_user_rows([0, 1, 2], 30)), figures=False, capped=True)
    assert not [s for s in rep.iter_items("section") if s.title.startswith("Paper claims")]


def test_user_file_named_like_a_paper_dataset_is_not_a_paper_dataset():
    # Found by the fresh-user trial: runs on 'lipo200.csv' (the user's own 200 rows) were
    # judged under the paper's "Lipophilicity: CliffLoss reduces the gap" claim, because
    # the check was a name prefix ('lipo'); any 'liposome.csv' or 'qm9_mine.parquet' too.
    for name in ("/tmp/fu4/cases/lipo200.csv", "lipo200.csv", "qm9_mine.parquet",
                 "esol-subset.csv.gz", "data/freesolv.tsv"):
        rep = build_report(pd.DataFrame(_user_rows([0, 1, 2], 30, dataset=name)), figures=False)
        titles = [s.title for s in rep.iter_items("section")]
        assert not [t for t in titles if t.startswith("Paper claims")], name
        assert any(t.startswith(_dataset_label(name)) for t in titles), (name, titles)
    # the registered datasets (and bench names derived from them) still are
    for name in ("qm9", "lipophilicity", "esol", "freesolv"):
        assert _is_paper_dataset(name)


def test_a_claims_file_the_user_names_is_tested_on_their_own_data(tmp_path):
    # fresh-user trial 4: 'cliffkit report --claims my.toml' on a grid of the user's own file
    # gave no claims section and no word (the claims were only for the paper's datasets)
    claims = tmp_path / "mine.toml"
    claims.write_text(
        'alpha = 0.05\nmin_seeds = 5\n\n[[claims]]\nid = "my_ratio"\n'
        'title = "My assay: cliff/smooth ratio >= 1.5"\nendpoint = "ratio"\nthreshold = 1.5\n'
        'test = "t"\nquantifier = "all"\nper = ["dataset", "target", "backbone"]\n'
        '[claims.cells]\nsplit = "cliff"\nloss = "plain"\n', encoding="utf-8")
    table = pd.DataFrame(_user_rows([0, 1, 2, 3, 4], 30))
    rep = build_report(table, figures=False, claims_file=str(claims))
    sec = _section(rep, "Claims")
    texts = [m.text for s in sec.items if s.kind == "section" for m in s.items
             if m.kind == "message"]
    verdict = next(t for t in texts if t.startswith("my_ratio:"))
    assert "over 1 cells" in verdict and "holds" in verdict  # ratio 2.0 on every seed
    assert str(claims) in repr(sec)
    assert "Paper claims" not in render_markdown(rep)
    # the user's own summary is still there
    _section(rep, "my_assay/pKi")
    # without --claims: unchanged, no claims section for a user's file
    rep = build_report(table, figures=False)
    assert not [s for s in rep.iter_items("section") if s.title in ("Claims", "Paper claims")]


def test_compare_names_settings_that_differ_between_the_two_folders():
    # fresh-user trial 4: '--compare' of two grids with lgbm at 50 and 100 trees put the
    # groups side by side as "the same cells" without a word about the different budget
    import json

    def with_cells(rows, n_estimators):
        for r in rows:
            r["cell_json"] = json.dumps({
                "backbone": r["backbone"], "backbone_params": {"n_estimators": n_estimators},
                "dataset": r["dataset"], "loss": r["loss"], "loss_params": {},
                "seed": r["seed"], "split": "cliff", "split_params": {}, "target": "pKi"},
                sort_keys=True)
        return pd.DataFrame(rows)

    here = with_cells(_user_rows([0, 1, 2], 30), 50)
    for there, warned in ((with_cells(_user_rows([0, 1, 2], 30), 100), True),
                          (with_cells(_user_rows([0, 1, 2], 30), 50), False)):
        rep = build_report(here, figures=False, compare=there, compare_label="big")
        sec = _section(rep, "Against big")
        texts = [m.text for m in sec.items if m.kind == "message"]
        hits = [t for t in texts if "other settings" in t]
        assert bool(hits) == warned
        if warned:
            assert ("my_assay/pKi cliff lgbm plain: backbone_params.n_estimators 50 here, "
                    "100 in big") in hits[0]


@pytest.mark.parametrize("edit, match", [
    (('endpoint = "ratio"', 'endpoint = "ratoi"'),
     r"claim 'mine' key 'endpoint': 'ratoi' is not one of .*Did you mean 'ratio'\?"),
    (('per = ["dataset", "target", "backbone"]', 'per = ["dataset", "colour"]'),
     r"claim 'mine' key 'per': 'colour' is not one of dataset, target"),
    (('split = "cliff"', 'splt = "cliff"'), r"key 'cells.splt': 'splt' is not one of .*'split'"),
    (('quantifier = "all"', 'quantifier = "every"'), r"key 'quantifier': 'every'"),
    (("threshold = 1.5", 'threshold = "1.5"'), r"key 'threshold' must be a number"),
])
def test_a_claims_file_with_a_wrong_key_value_is_one_config_error(tmp_path, edit, match):
    # fresh-user trial 4: an unknown endpoint or 'per' column was a KeyError traceback from
    # the report, and a misspelt selector column silently matched no cell
    from cliffkit.errors import ConfigError
    from cliffkit.report._claims import load_claims

    text = ('[[claims]]\nid = "mine"\nendpoint = "ratio"\nthreshold = 1.5\ntest = "t"\n'
            'quantifier = "all"\nper = ["dataset", "target", "backbone"]\n'
            '[claims.cells]\nsplit = "cliff"\nloss = "plain"\n')
    good = tmp_path / "good.toml"
    good.write_text(text, encoding="utf-8")
    assert load_claims(good)["claims"][0]["id"] == "mine"
    assert load_claims()["claims"]  # the shipped claims pass the same checks
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace(*edit), encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_claims(bad)


def test_gap_reduction_is_undefined_for_a_plain_gap_at_or_below_zero():
    # review h34 f1: with a plain gap of -0.093 and a loss gap of +0.088 (cliff error got
    # worse) '1 - mean_b/mean_a' printed '+194.6%' and the verdict "smaller gap on average"
    # beside "seeds better 0/1"; the claims define a gap reduction only for a plain gap > 0
    from cliffkit.report import paired_stats

    st = paired_stats([-0.093], [0.088])
    assert np.isnan(st["reduction"]) and not st["baseline_positive"] and st["wins"] == 0
    assert paired_stats([1.0], [0.5])["reduction"] == pytest.approx(0.5)
    rows = _user_rows([0], 30)
    for r in rows:
        r["gap"] = -0.093 if r["loss"] == "plain" else 0.088
    (lrow,) = _tables(_section(build_report(pd.DataFrame(rows), figures=False),
                               "my_assay/pKi"))[1].rows
    assert lrow[3] == "—" and lrow[4] == "0/1"
    assert lrow[-1].startswith("gap reduction undefined: plain-loss gap -0.093 ≤ 0")
    assert "smaller gap" not in lrow[-1]


def test_random_split_note_follows_the_ratios():
    # review h34 f7: the note said the random split "hides the cliff error that CliffSplit
    # exposes" whatever the numbers; here the random split's ratio (2.2) is the larger
    def rows(r_cliff, r_random):
        out = []
        for split, r in (("cliff", r_cliff), ("random", r_random)):
            out += [_row(dataset="my.csv", target="y", backbone="lgbm", loss="plain", seed=s,
                         split=split, key=f"{split}-{s}", mae=0.5, cliff_mae=0.5 * r,
                         smooth_mae=0.5, gap=0.5 * (r - 1), cliff_n=30, smooth_n=40)
                    for s in range(2)]
        return pd.DataFrame(out)

    for r_cliff, r_random, cell, k in ((1.6, 2.2, "random (2.200 > 1.600)", 0),
                                       (2.2, 1.6, "cliff (2.200 > 1.600)", 1)):
        sec = _section(build_report(rows(r_cliff, r_random), figures=False),
                       "What a random split")
        (table,) = _tables(sec)
        assert table.columns[-1] == "larger ratio, cliff vs random"
        assert table.rows[0][-1] == cell
        assert "hides the cliff error that CliffSplit exposes." not in table.note
        (msg,) = [m.text for m in sec.items if m.kind == "message"]
        assert msg.startswith(f"CliffSplit's cliff/smooth ratio is larger than the random "
                              f"split's in {k} of 1 task/backbone rows")


def test_random_split_rows_with_overlapping_intervals_are_marked():
    # fresh-user trial 5: "cliff (1.433 > 1.390)" was printed as a ranking although the two
    # ratios' intervals overlapped almost entirely; such rows now say so, and the note counts them
    out = []
    for split, ratios in (("cliff", (1.2, 1.7)), ("random", (1.3, 1.5))):
        out += [_row(dataset="my.csv", target="y", backbone="lgbm", loss="plain", seed=s,
                     split=split, key=f"{split}-{s}", mae=0.5, cliff_mae=0.5 * r,
                     smooth_mae=0.5, gap=0.5 * (r - 1), cliff_n=30, smooth_n=40)
                for s, r in enumerate(ratios)]
    sec = _section(build_report(pd.DataFrame(out), figures=False), "What a random split")
    (table,) = _tables(sec)
    assert table.rows[0][-1] == "cliff (1.450 > 1.400); intervals overlap"
    (msg,) = [m.text for m in sec.items if m.kind == "message"]
    assert msg.endswith("In 1 of the 1 rows the two ratios' intervals overlap: their ranking "
                        "is not distinguishable at this size.")


def test_seeds_that_made_one_split_count_once_in_the_summary():
    """Five seeds with one split checksum (a predefined split: only the model seed changes)
    are one split seed, as in the claims: no Fieller interval over them, no verdict from
    them, and the weak-evidence label says so (h48 finding 5: it gave [1.306, 1.358] and
    "cliff error above smooth error" without a caveat)."""
    from cliffkit.report._bench_report import _caveats, _ratio_of_means

    rng = np.random.default_rng(0)
    rows = _user_rows(range(5), 30)
    rows = [r for r in rows if r["loss"] == "plain"]
    for r, c, m in zip(rows, 0.80 + rng.normal(0, 0.01, 5), 0.60 + rng.normal(0, 0.01, 5),
                       strict=True):
        r.update(cliff_mae=c, smooth_mae=m, ratio=c / m, ratio_lo=1.1, ratio_hi=1.5,
                 split_checksum="same")
    sub = pd.DataFrame(rows)
    e = _ratio_of_means(sub)
    assert e.value == pytest.approx(rows[0]["cliff_mae"] / rows[0]["smooth_mae"])
    assert (e.low, e.high) == (1.1, 1.5) and "4 seeds repeating a split counted once" in e.note
    (why,) = _caveats(sub)
    assert why.startswith("1 split seed (< 5") and "5 seeds made 1 distinct split" in why
    (row,) = _tables(_section(build_report(sub, figures=False), "my_assay/pKi"))[0].rows
    assert row[1] == "5 (1 distinct split)"
    assert row[-1].startswith("cliff error above smooth error — weak evidence: 1 split seed")
    # distinct checksums: five split seeds, the Fieller interval over them, no seed caveat
    sub["split_checksum"] = [f"s{i}" for i in range(5)]
    assert _caveats(sub) == [] and _ratio_of_means(sub).note == ""
