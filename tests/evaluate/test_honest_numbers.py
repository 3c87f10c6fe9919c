"""Issue 14, item 9: no zero-width "95% CI" from one case; table columns never touch."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from cliffkit.data import Dataset
from cliffkit.evaluate import Estimate, bootstrap_ci, evaluate, min_resamples, stratum_metrics
from cliffkit.split import SplitResult, TargetLabels
from cliffkit.utils import format_table

SMILES = ["C", "CC", "CCC", "CCCC", "CCCCC", "CCO", "CCN", "c1ccccc1"]
Y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 2.5, 1.0, 0.0])
GRAPH = SimpleNamespace(  # test rows -> train positions (0..3)
    indptr=np.array([0, 2, 3, 4, 5]), indices=np.array([3, 2, 1, 2, 0]),
    similarities=np.array([0.8, 0.4, 0.6, 0.5, 0.2]),
)


def toy_split(dataset: Dataset) -> SplitResult:
    """4 train, 4 test: cliff, smooth (n = 1), cliff, unsupported."""
    n = len(SMILES)
    strata = np.array(["train"] * 4 + ["cliff", "smooth", "cliff", "unsupported"], dtype="<U12")
    nan, false = np.full(n, np.nan), np.zeros(n, dtype=bool)
    maxsim = nan.copy()
    maxsim[4:] = [0.8, 0.6, 0.5, 0.2]
    labels = TargetLabels(
        target="y", strata=strata, severity=nan, partner=np.array([-1, -1, -1, -1, 3, 1, 2, -1]),
        partner_similarity=maxsim, partner_delta=nan, max_similarity=maxsim, abs_z=nan,
        matched_cliff=false, matched_smooth=false, matched_cliff_z=false,
        matched_smooth_z=false, scale=1.0, cliff_threshold=0.5, smooth_threshold=0.2,
    )
    return SplitResult(
        train=np.arange(4), val=np.zeros(0, dtype=np.int64), test=np.arange(4, 8),
        smiles=np.asarray(SMILES, dtype=object), target_names=["y"], labels={"y": labels},
        method="cliff", params={"min_similarity": 0.35, "k": 2, "k_used": 2},
        dataset={"name": "toy", "checksum": dataset.checksum, "n_samples": n},
    )


def test_one_case_has_no_interval():
    # the issue's example: a stratum with n = 1 and |error| 0.055 printed "0.055 [0.055, 0.055]"
    res = stratum_metrics([1.0, 2.0, 3.0], [1.055, 2.5, 3.5], ["smooth", "cliff", "cliff"],
                          n_bootstrap=500)
    e = res["groups"]["smooth"]["mae"]
    assert e.value == pytest.approx(0.055)
    assert np.isnan(e.low) and np.isnan(e.high) and e.note == "n < 2"
    assert e.format() == "0.055 [—: n < 2]"
    assert e.to_dict() == {"value": pytest.approx(0.055), "low": None, "high": None,
                           "note": "n < 2"}
    # the ratio's denominator has one case: no interval either
    assert res["contrasts"]["cliff_vs_smooth"]["ratio"].note == "n < 2"
    # two cases: an interval (percentiles of the resampled MAE: within the two errors)
    c = res["groups"]["cliff"]["mae"]
    assert c.note == "" and 0.5 <= c.low <= c.high <= 0.5 + 1e-12
    assert bootstrap_ci([1.0], [1.2], n_bootstrap=100).note == "n < 2"


def test_too_few_resamples_have_no_interval():
    assert min_resamples(0.95) == 40 and min_resamples(0.9) == 20
    yt, yp = np.arange(10.0), np.arange(10.0) + np.linspace(0, 1, 10)
    few = bootstrap_ci(yt, yp, n_bootstrap=39)
    assert np.isnan(few.low) and few.note == "< 40 resamples"
    assert few.format(2) == f"{np.mean(np.abs(yp - yt)):.2f} [—: < 40 resamples]"
    enough = bootstrap_ci(yt, yp, n_bootstrap=40)
    assert enough.note == "" and enough.low < enough.high
    off = bootstrap_ci(yt, yp, n_bootstrap=0)  # intervals turned off: no note, no bracket
    assert off.note == "" and off.format() == f"{np.mean(np.abs(yp - yt)):.3f}"


def test_summary_says_why_and_columns_never_touch():
    # test labels almost equal, predictions far off: RMSE small, R² hugely negative
    y = Y.copy()
    y[4:] = [2.0, 2.001, 2.002, 2.003]
    ds = Dataset(name="toy", smiles=SMILES, y=y, target_names=["y"], units=["u"])
    split = toy_split(ds)
    pred = y.copy()
    pred[4:] = [2.157, 2.001 - 0.157, 2.002 + 0.157, 2.003 - 0.157]
    ev = evaluate(split, pred, dataset=ds, n_bootstrap=200, reference_graph=GRAPH)
    yt, yp = y[4:], pred[4:]
    # independent values: RMSE and R² by definition
    rmse = float(np.sqrt(np.mean((yp - yt) ** 2)))
    r2 = 1.0 - np.sum((yp - yt) ** 2) / np.sum((yt - yt.mean()) ** 2)
    assert rmse == pytest.approx(0.157) and r2 < -1000
    text = ev.summary()
    overall = next(line for line in text.splitlines() if line.startswith("overall"))
    tokens = overall.split()
    assert f"{rmse:.3f}" in tokens and f"{r2:.3f}" in tokens  # separate cells
    assert not re.search(r"\d-\d", overall)
    smooth = next(line for line in text.splitlines() if line.startswith("smooth "))
    assert "[—: n < 2]" in smooth  # n = 1 stratum
    assert "a group of one case has no sampling spread" in text
    # every table line has the header's columns at fixed places: all lines equally wide
    # up to the last column, and no two cells joined
    head = next(line for line in text.splitlines() if line.startswith("group"))
    assert "R²" in head.split()


@pytest.mark.parametrize("value", [0.157, -5140.521, 123456789.0, -1e-9, float("nan")])
def test_format_table_keeps_a_gap(value):
    cells = [["overall", 0.157, f"{value:.3f}"], ["cliff", 12345678, "x"]]
    lines = format_table(["group", "RMSE", "R²"], cells)
    for line, row in zip(lines[2:], cells, strict=True):
        assert line.split() == [str(c) for c in row]


def test_estimate_format_without_note_is_unchanged():
    assert Estimate(0.5, 0.4, 0.6).format() == "0.500 [0.400, 0.600]"
    assert Estimate(float("nan")).format() == "—"
