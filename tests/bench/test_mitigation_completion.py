"""The completion run of the mitigation study's mlp arms (benchmarks/mitigation.py --plan
completion; docs/cliffloss.md, "Completion run: mlp arms at 5 seeds"): the registered family
is the study's and the addendum's 5-seed cells plus the new ones, a re-run cell replacing its
old row, Holm per endpoint over that family, verdicts and the winner rule from it."""

import json
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mit(bench_script):
    return bench_script("mitigation")


def _row(bb, loss, p1, p2, ps=1.0, cliff=-1.0, family="study", ds="lipophilicity", split="cliff",
         beats=True):
    return {"dataset": ds, "split": split, "backbone": bb, "loss": loss, "family": family,
            "p_e1": p1, "p_e2": p2, "p_e1_strict": ps, "cliff_change_pct": {"value": cliff},
            "overall_change_pct": {"value": -1.0}, "beats_controls": beats, "time_ratio": 1.0,
            "cliff_mae": 0.8}


def _holm(ps):  # written out independently of cliffkit.evaluate.holm
    ps = np.where(np.isfinite(ps), ps, 1.0)
    out, run = np.empty_like(ps), 0.0
    for rank, i in enumerate(np.argsort(ps, kind="stable")):
        run = max(run, min(1.0, (len(ps) - rank) * ps[i]))
        out[i] = run
    return out


def test_family_union_replacement_and_holm(mit):
    study = {"mae_cells": [_row("lgbm", "lds", 0.2, 0.01), _row("mlp", "tanimoto-stack", 0.4, 0.3),
                           _row("mlp", "cliff", 0.01, 0.5, family="exploratory")]}
    addendum = {"mae_cells": [_row("svm", "anchor-delta", 0.05, 0.003),
                              _row("svm", "lds", 0.2, 0.01)]}  # only anchor-delta is taken
    new = [_row("mlp", "tanimoto-stack", 0.5, 0.2), _row("mlp", "cliff", 0.001, 0.004, cliff=-12.0)]
    fam, replaced = mit.completion_family(
        new, [("study", study, None), ("addendum", addendum, "anchor-delta")])
    keys = [(r["backbone"], r["loss"], r["source"]) for r in fam]
    assert keys == [("lgbm", "lds", "study"), ("svm", "anchor-delta", "addendum"),
                    ("mlp", "tanimoto-stack", "completion"), ("mlp", "cliff", "completion")]
    assert [r["loss"] for r in replaced] == ["tanimoto-stack"] and replaced[0]["p_e1"] == 0.4
    for key in ("p_e1", "p_e2", "p_e1_strict"):
        got = [r["holm_" + key[2:]] for r in fam]
        assert np.allclose(got, _holm(np.array([r[key] for r in fam], dtype=float)))
    assert study["mae_cells"][0].get("holm_e1") is None  # inputs are not changed
    mlp_cliff = fam[-1]
    assert mlp_cliff["holm_e1"] == pytest.approx(0.004) and mlp_cliff["holm_e2"] == pytest.approx(0.012)
    assert mlp_cliff["verdict"] == "meets (a)(b)(c)"
    # one backbone only: the registered winner rule needs two
    assert mit.winner(fam)["winner"] is None


def test_winner_needs_two_backbones_in_the_family(mit):
    study = {"mae_cells": [_row("lgbm", "cliff", 0.001, 0.001, cliff=-11.0)]}
    new = [_row("mlp", "cliff", 0.001, 0.002, cliff=-12.0)]
    fam, _ = mit.completion_family(new, [("study", study, None)])
    assert mit.winner(fam)["winner"] == "cliff"
    new[0]["beats_controls"] = False  # (c) fails on mlp
    fam, _ = mit.completion_family(new, [("study", study, None)])
    assert mit.winner(fam)["winner"] is None


def test_committed_base_family_is_the_registered_33(mit):
    base = [(s, json.loads((_ROOT / p).read_text()), only) for s, p, only in mit.COMPLETION_BASE]
    fam, replaced = mit.completion_family([], base)
    assert len(fam) == 33 and not replaced
    assert sum(r["source"] == "addendum" for r in fam) == 2
    assert {r["loss"] for r in fam if r["source"] == "addendum"} == {"anchor-delta"}
    # no cell of the study or the addendum meets (a)-(c): the completion cannot make a winner
    assert not any(r["verdict"] == "meets (a)(b)(c)" for r in fam)


@pytest.mark.parametrize("plan, name, marker", [
    ("study", "mitigation", "mitigation"), ("confirmatory", "mitigation_confirmatory", "confirm"),
    ("completion", "mitigation_completion", "completion"), ("gin", "mitigation_gin", "gin")])
def test_docs_blocks_are_their_committed_summaries(mit, plan, name, marker, committed_summary,
                                                  cliffloss_doc):
    """Each generated block of docs/cliffloss.md is exactly what ``render`` makes of its
    committed JSON summary: no hand edit of a generated number, and no signed zero."""
    summary = committed_summary(name)
    render, got_marker = mit._RENDERERS[plan]
    assert got_marker == marker
    text = cliffloss_doc
    a, b = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    block = text[text.index(a):text.index(b) + len(b)]
    md = render(summary)
    assert md == block
    assert "-0.0%" not in md and "[-0.0," not in md


def test_signed_changes_never_show_a_sign_made_by_rounding(mit):
    assert mit._pct({"value": -0.04, "low": -0.049, "high": 0.3}) == "0.0% [0.0, +0.3]"
    assert mit._pct({"value": -0.06}) == "-0.1%"
