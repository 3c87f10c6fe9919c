"""Metrics core: sklearn agreement, bootstrap intervals, pair metrics, paired tests."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from cliffkit.errors import InvalidParameterError, ShapeMismatchError
from cliffkit.evaluate import (
    Estimate,
    bootstrap_ci,
    pair_metrics,
    paired_test,
    regression_metrics,
    stratum_metrics,
)
from cliffkit.evaluate._metrics import _group_rng


def _data(n, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return y, y + rng.normal(0, noise, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regression_metrics_match_sklearn(seed):
    y, p = _data(57, seed)
    m = regression_metrics(y, p)
    assert m["n"] == 57
    assert m["mae"] == pytest.approx(mean_absolute_error(y, p), rel=1e-12)
    assert m["rmse"] == pytest.approx(np.sqrt(mean_squared_error(y, p)), rel=1e-12)
    assert m["r2"] == pytest.approx(r2_score(y, p), rel=1e-12)


def test_regression_metrics_undefined_r2_is_nan():
    assert np.isnan(regression_metrics([1.0, 1.0], [1.0, 2.0])["r2"])
    assert np.isnan(regression_metrics([1.0], [2.0])["r2"])
    empty = regression_metrics([], [])
    assert empty["n"] == 0 and np.isnan(empty["mae"])
    with pytest.raises(ShapeMismatchError, match="same length"):
        regression_metrics([1, 2], [1])


def test_r2_of_labels_equal_up_to_round_off_is_undefined():
    """[3.2]*3 has SS_tot ~6e-31 from round-off: R² is NaN (undefined), not -1e29; the same
    holds for every bootstrap resample, so a small group's R² interval is not wrecked."""
    assert np.isnan(regression_metrics([3.2, 3.2, 3.2], [3.0, 3.1, 3.3])["r2"])
    assert np.isnan(regression_metrics([0.1 + 0.2, 0.3, 0.3], [0.3, 0.3, 0.3])["r2"])
    # a real spread far below the labels' magnitude is still a spread
    assert regression_metrics([1e-20, 1e-20, 2e-20], [0.0, 0.0, 0.0])["r2"] == pytest.approx(-8.0)
    e = bootstrap_ci([1.83, 3.2, 2.79], [2.1, 3.0, 2.5], metric="r2", n_bootstrap=500)
    assert -10 < e.low <= e.value <= e.high <= 1
    # every resample of identical labels is constant: no R², printed as "—", JSON null
    g = stratum_metrics([3.2] * 5, [3.0, 3.1, 3.3, 3.2, 3.4], n_bootstrap=200)["groups"]["overall"]
    assert np.isnan(g["r2"].value) and np.isnan(g["r2"].low) and np.isnan(g["r2"].high)
    assert g["r2"].format() == "—" and g["r2"].to_dict()["value"] is None


def test_r2_interval_of_two_cases_is_not_given():
    """Two cases: a resample repeats one (R² undefined) or holds both (R² = the point value),
    so the interval would have zero width whatever the model; it is not given."""
    e = bootstrap_ci([1.83, 3.2], [2.1, 3.0], metric="r2", n_bootstrap=200)
    assert np.isfinite(e.value) and np.isnan(e.low) and np.isnan(e.high) and e.note == "n < 3"
    assert e.format() == f"{e.value:.3f} [—: n < 3]"
    mae = bootstrap_ci([1.83, 3.2], [2.1, 3.0], metric="mae", n_bootstrap=200)
    assert mae.low < mae.high  # MAE of two cases keeps its interval
    g = stratum_metrics([1.0, 2.0, 3.0, 4.0], [1.1, 2.2, 2.9, 4.3], ["cliff", "cliff", "smooth",
                        "smooth"], n_bootstrap=200)["groups"]
    assert g["cliff"]["r2"].note == "n < 3" and np.isnan(g["cliff"]["r2"].low)
    assert np.isfinite(g["overall"]["r2"].low)


def _strata(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice(["cliff", "smooth", "intermediate", "unsupported"], size=n)


def test_stratum_metrics_groups_and_contrasts():
    y, p = _data(400, 3)
    p = p + np.where(_strata(400, 3) == "cliff", 0.4, 0.0)  # cliff cases err more
    lab = _strata(400, 3)
    res = stratum_metrics(y, p, lab, n_bootstrap=300, random_state=0)
    g = res["groups"]
    assert list(g)[:3] == ["overall", "cliff", "smooth"]
    for name in ("cliff", "smooth", "intermediate", "unsupported"):
        m = lab == name
        ref = regression_metrics(y[m], p[m])
        assert g[name]["n"] == m.sum()
        assert g[name]["mae"].value == pytest.approx(ref["mae"], rel=1e-12)
        assert g[name]["rmse"].value == pytest.approx(ref["rmse"], rel=1e-12)
        assert g[name]["r2"].value == pytest.approx(ref["r2"], rel=1e-12)
    assert g["overall"]["n"] == 400
    c = res["contrasts"]["cliff_vs_smooth"]
    mc, ms = g["cliff"]["mae"].value, g["smooth"]["mae"].value
    assert c["gap"].value == pytest.approx(mc - ms)
    assert c["ratio"].value == pytest.approx(mc / ms)
    assert c["ratio"].low > 1.0  # the injected error is detected
    # matched contrasts appear only with their masks
    assert "matched_similarity" not in res["contrasts"]
    masks = {"matched_cliff": np.flatnonzero(lab == "cliff")[:20],
             "matched_smooth": np.flatnonzero(lab == "smooth")[:20]}
    res2 = stratum_metrics(y, p, lab, masks=masks, n_bootstrap=100)
    assert res2["groups"]["matched_cliff"]["n"] == 20
    assert "matched_similarity" in res2["contrasts"]
    # a group's interval does not depend on which other groups are present
    assert res2["groups"]["cliff"]["mae"] == stratum_metrics(y, p, lab, n_bootstrap=100)[
        "groups"]["cliff"]["mae"]


def test_bootstrap_matches_a_plain_loop():
    y, p = _data(40, 5)
    lab = np.array(["cliff"] * 40)
    res = stratum_metrics(y, p, lab, n_bootstrap=200, random_state=7)
    # the same stream, one resample at a time
    idx = _group_rng(7, "cliff").integers(0, 40, size=(200, 40))
    maes = [np.mean(np.abs(p[i] - y[i])) for i in idx]
    rmses = [np.sqrt(np.mean((p[i] - y[i]) ** 2)) for i in idx]
    e = res["groups"]["cliff"]
    assert (e["mae"].low, e["mae"].high) == pytest.approx(tuple(np.percentile(maes, [2.5, 97.5])))
    assert (e["rmse"].low, e["rmse"].high) == pytest.approx(tuple(np.percentile(rmses, [2.5, 97.5])))


def test_intervals_contain_estimate_are_seeded_and_narrow_with_n():
    y, p = _data(2000, 9)
    lab = np.where(np.arange(2000) < 100, "cliff", "smooth")  # 100 cliff, 1900 smooth
    a = stratum_metrics(y, p, lab, n_bootstrap=1000, random_state=1)
    b = stratum_metrics(y, p, lab, n_bootstrap=1000, random_state=1)
    c = stratum_metrics(y, p, lab, n_bootstrap=1000, random_state=2)
    assert a["groups"]["intermediate"]["n"] == 0  # empty strata are reported as NaN
    assert np.isnan(a["groups"]["intermediate"]["mae"].value)
    for name, g in a["groups"].items():
        if g["n"] == 0:
            continue
        for m in ("mae", "rmse", "r2"):
            e = g[m]
            assert e.low <= e.value <= e.high, (name, m, e)
            assert e == b["groups"][name][m]
    assert a["groups"]["cliff"]["mae"] != c["groups"]["cliff"]["mae"]
    width = {k: g["mae"].high - g["mae"].low for k, g in a["groups"].items() if g["n"]}
    assert width["smooth"] < width["cliff"] / 2  # ~sqrt(19) narrower
    ct = a["contrasts"]["cliff_vs_smooth"]
    assert ct["gap"].low <= ct["gap"].value <= ct["gap"].high
    assert ct["ratio"].low <= ct["ratio"].value <= ct["ratio"].high


def test_percentile_interval_covers_the_true_mae():
    # errors ~ N(0, 1): the true MAE is sqrt(2 / pi)
    rng = np.random.default_rng(11)
    truth = np.sqrt(2 / np.pi)
    hits = 0
    for rep in range(200):
        e = rng.normal(size=60)
        ci = bootstrap_ci(np.zeros(60), e, n_bootstrap=400, random_state=rep)
        hits += ci.low <= truth <= ci.high
    assert 0.88 <= hits / 200 <= 0.99


def test_bootstrap_ci_and_validation():
    y, p = _data(30, 4)
    e = bootstrap_ci(y, p, metric="rmse", n_bootstrap=500, random_state=0)
    assert isinstance(e, Estimate) and e.low < e.value < e.high
    assert e.to_dict()["value"] == pytest.approx(e.value)
    assert bootstrap_ci(y, p, n_bootstrap=0).to_dict()["low"] is None
    with pytest.raises(InvalidParameterError, match="metric"):
        bootstrap_ci(y, p, metric="mse")
    with pytest.raises(InvalidParameterError, match="n_bootstrap"):
        stratum_metrics(y, p, n_bootstrap=-1)
    with pytest.raises(InvalidParameterError, match="finite"):
        stratum_metrics([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ShapeMismatchError, match="one label per case"):
        stratum_metrics(y, p, ["cliff"])


def test_pair_metrics_hand_worked():
    # case: (y_i, ŷ_i, y_j, ŷ_j)
    y = np.array([5.0, 1.0, 2.5, 3.0, 0.0])
    yp = np.array([4.0, 2.0, 2.0, 3.5, 0.5])
    yj = np.array([4.0, 3.0, 2.0, 3.0, 2.0])
    ypj = np.array([3.0, 2.5, 2.0, np.nan, 1.0])
    r = pair_metrics(y, yp, yj, y_pred_partner=ypj, n_bootstrap=200, random_state=0)
    # |(ŷi - yj) - (yi - yj)| = |ŷi - yi|
    assert r["diff_mae_true"].value == pytest.approx(np.mean([1, 1, 0.5, 0.5, 0.5]))
    # |(ŷi - ŷj) - (yi - yj)|: 0, 1.5, 0.5, (no ŷj), 1.5
    assert r["diff_mae"].value == pytest.approx(np.mean([0.0, 1.5, 0.5, 1.5]))
    # direction vs y_j: sign(ŷi-yj) vs sign(yi-yj): 0 vs + (tie: 1/2), - vs -, 0 vs + (1/2);
    # case 4 has yi == yj (no direction); - vs -  -> 3 of 4
    assert r["n_directed"] == 4
    assert r["direction_accuracy_true"].value == pytest.approx(0.75)
    # direction vs ŷ_j: + vs +, - vs -, 0 vs + (tie: 1/2), (none), - vs - -> 3.5 of 4
    assert r["direction_accuracy"].value == pytest.approx(0.875)
    # in-sample partner predictions: the direction is not computed (it could not fail)
    ins = pair_metrics(y, yp, yj, y_pred_partner=ypj, n_bootstrap=50, partner_in_sample=True)
    assert np.isnan(ins["direction_accuracy"].value) and ins["direction_accuracy"].note == "in-sample partner"
    assert ins["diff_mae"].value == pytest.approx(r["diff_mae"].value)
    # a constant predictor predicts no difference: one half, not 0
    const = pair_metrics(y, np.full(5, 2.0), yj, y_pred_partner=np.full(5, 2.0), n_bootstrap=0)
    assert const["direction_accuracy"].value == pytest.approx(0.5)
    assert r["n_with_partner_prediction"] == 4
    assert r["mean_abs_delta"].value == pytest.approx(np.mean([1, 2, 0.5, 0, 2]))
    for k in ("diff_mae_true", "diff_mae", "direction_accuracy_true", "direction_accuracy"):
        assert r[k].low <= r[k].value <= r[k].high
    none = pair_metrics(y, yp, yj, n_bootstrap=10)
    assert none["n_with_partner_prediction"] == 0 and np.isnan(none["diff_mae"].value)
    empty = pair_metrics([], [], [], n_bootstrap=10)
    assert empty["n"] == 0 and np.isnan(empty["direction_accuracy_true"].value)


def test_paired_test_against_scipy():
    a = np.array([0.50, 0.48, 0.52, 0.47, 0.49, 0.51, 0.46])
    b = np.array([0.53, 0.50, 0.52, 0.50, 0.52, 0.50, 0.49])
    r = paired_test(a, b)
    d = a - b
    assert r["n"] == 7
    assert r["mean_diff"] == pytest.approx(d.mean())
    t = stats.ttest_rel(a, b)
    assert r["t_pvalue"] == pytest.approx(t.pvalue)
    assert r["t_statistic"] == pytest.approx(t.statistic)
    half = stats.t.ppf(0.975, 6) * d.std(ddof=1) / np.sqrt(7)
    assert (r["diff_low"], r["diff_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert r["wilcoxon_pvalue"] == pytest.approx(stats.wilcoxon(a, b).pvalue)
    # wins: a < b on 5 seeds, one tie, one loss
    assert r["win_rate"] == pytest.approx((5 + 0.5) / 7)
    assert paired_test(a, b, lower_is_better=False)["win_rate"] == pytest.approx(1.5 / 7)
    small = paired_test(a[:3], b[:3])
    assert small["wilcoxon_pvalue"] is None and np.isfinite(small["t_pvalue"])
    # plain Python numbers (json.dumps, repr): diff_low/diff_high were numpy float64
    assert all(type(v) in (int, float) for v in r.values())
    with pytest.raises(ShapeMismatchError):
        paired_test([1.0, 2.0], [1.0])


def test_nan_predictions_are_refused_like_sklearn():
    """Fresh-user trial: regression_metrics / bootstrap_ci with one NaN prediction returned
    MAE = RMSE = R² = NaN with n = 50 (stratum_metrics already refused; sklearn raises)."""
    y = np.linspace(0.0, 1.0, 50)
    p = y + 0.1
    p[3] = np.nan
    with pytest.raises(ValueError):
        mean_absolute_error(y, p)
    with pytest.raises(InvalidParameterError, match=r"regression_metrics needs finite values; 1 cases .*\[3\]"):
        regression_metrics(y, p)
    with pytest.raises(InvalidParameterError, match="bootstrap_ci needs finite values"):
        bootstrap_ci(y, p, n_bootstrap=10)
    with pytest.raises(InvalidParameterError, match="regression_metrics needs finite values"):
        regression_metrics(np.where(np.arange(50) == 0, np.inf, y), y)
    assert regression_metrics(y, y + 0.1)["mae"] == pytest.approx(0.1)


def test_stratum_labels_that_differ_by_case_or_space_warn():
    """'Cliff' is not 'cliff': such cases count only in overall, and the user is told
    (found by the fresh-user trial); exact labels give no warning."""
    import warnings

    from cliffkit.errors import CliffkitWarning

    y, p = [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 5.0]
    with pytest.warns(CliffkitWarning, match=r"'Cliff' \(1 case; did you mean 'cliff'\?\)"):
        r = stratum_metrics(y, p, ["Cliff", "smooth", "smooth", "cliff"], n_bootstrap=0)
    assert r["groups"]["cliff"]["n"] == 1 and r["groups"]["overall"]["n"] == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error", CliffkitWarning)
        stratum_metrics(y, p, ["cliff", "smooth", "smooth", "cliff"], n_bootstrap=0)


def test_paired_test_nan_pairs_follow_nan_policy():
    """A NaN pair was counted in n and as a loss in win_rate (0.5); now as scipy's nan_policy."""
    a, b = [1.0, np.nan, 2.0, 2.5], [1.5, 2.0, 3.0, 3.0]
    r = paired_test(a, b)  # propagate: no number from the pairs
    assert r["n_nan"] == 1 and np.isnan(r["win_rate"]) and np.isnan(r["t_pvalue"])
    assert np.isnan(r["mean_diff"]) and r["wilcoxon_pvalue"] is None
    o = paired_test(a, b, nan_policy="omit")
    t = stats.ttest_rel(a, b, nan_policy="omit")
    assert (o["n"], o["n_nan"], o["win_rate"]) == (3, 1, 1.0)
    assert o["t_pvalue"] == pytest.approx(t.pvalue) and o["mean_diff"] == pytest.approx(-2 / 3)
    with pytest.raises(InvalidParameterError, match=r"1 of 4 pairs .* \(positions \[1\]\)"):
        paired_test(a, b, nan_policy="raise")
    with pytest.raises(InvalidParameterError, match="nan_policy"):
        paired_test(a, b, nan_policy="drop")
