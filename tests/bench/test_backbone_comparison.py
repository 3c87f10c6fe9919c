"""benchmarks/backbone_comparison.py: the docs block is what the committed JSON renders to, and
the comparison refuses backbones scored on different test molecules."""

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def mod(bench_script):
    return bench_script("backbone_comparison")


def test_docs_block_is_the_committed_summary(mod, committed_summary, cliffloss_doc):
    md = mod.markdown(committed_summary("backbone_comparison"))
    assert md in cliffloss_doc
    assert "-0.0%" not in md


def _cell(pred, index=None):
    y = [1.0, 3.0, 2.2, 2.0, 2.5]
    return (pd.DataFrame({"y_true": y, "y_pred": pred,
                          "stratum": ["cliff", "cliff", "cliff", "smooth", "smooth"],
                          "partner_y_true": [3.0, 1.0, 3.0, np.nan, np.nan]},
                         index=pd.Index(index or [0, 1, 2, 3, 4], name="index")), 10.0)


def test_hand_made_cells(mod):
    cells = {("a", 0): _cell([1.5, 2.5, 2.4, 2.1, 2.4]), ("b", 0): _cell([2.0, 2.0, 2.0, 2.2, 2.4]),
             ("a", 1): _cell([1.2, 2.9, 2.3, 2.1, 2.45]), ("b", 1): _cell([2.5, 1.5, 2.0, 2.0, 2.7])}
    s = mod.compare(cells, ["a", "b"], [0, 1], "a", mean_label=2.0)
    a, b = s["backbones"]
    assert a["cliff_mae"] == pytest.approx((0.4 + 0.4 / 3) / 2)
    assert b["cliff_mae"] == pytest.approx((2.2 / 3 + 3.2 / 3) / 2)
    assert a["smooth_mae"] == pytest.approx((0.1 + 0.075) / 2)
    row = s["focus_against"][0]
    assert row["cliff"]["lower_in"] == 2
    assert row["cliff"]["change_pct"] == pytest.approx(100 * (a["cliff_mae"] / b["cliff_mae"] - 1))
    # b's cliff errors +1, -1, -0.2 (seed 0): toward partners 3 and 1, away from partner 3
    assert s["toward_partner"][1]["toward"] == pytest.approx([2 / 3, 2 / 3])
    cells[("b", 1)] = _cell([2.5, 1.5, 2.0, 2.0, 2.7], index=[0, 1, 2, 3, 9])
    with pytest.raises(SystemExit, match="not scored on the same test molecules"):
        mod.compare(cells, ["a", "b"], [0, 1], "a", mean_label=2.0)
