"""The confirmatory anchor-delta study (benchmarks/mitigation.py --plan confirmatory): its
stages are the registered ones and its decision rule is the registered rule
(docs/cliffloss.md, "Confirmatory study: anchor-delta (pre-registration)")."""


import pytest


@pytest.fixture(scope="module")
def mit(bench_script):
    return bench_script("mitigation")


def test_stages_are_the_registered_family(mit):
    st = dict(mit.confirm_stages())
    fam = {(c["datasets"][0]["name"], c["splits"][0], c["backbones"][0]) for n, c in st.items()
           if not n.startswith("confirm-mace")}
    assert fam == set(mit.CONFIRM_FAMILY) and len(fam) == 8
    # new Lipophilicity CliffSplit seeds, no overlap with the study's 0-4
    assert st["confirm-lipo-cliff-svm"]["seeds"] == [5, 6, 7, 8, 9]
    assert not set(st["confirm-lipo-cliff-lgbm"]["seeds"]) & set(mit.SEEDS)
    assert st["confirm-esol-cliff-svm"]["seeds"] == [0, 1, 2, 3, 4]
    for n, c in st.items():
        assert c["losses"][:2] == ["plain", "anchor-delta"]
        assert ("plain-ensemble" in c["losses"]) == (c["backbones"] == ["lgbm"] and "mace" not in n)
    ens = st["confirm-lipo-random-lgbm"]["loss_params"]["plain-ensemble"]["wrapper_params"]
    assert ens == {"n_members": 8}
    assert st["confirm-mace-svm"]["seeds"] == [0] and st["confirm-mace-lgbm"]["seeds"] == [0, 1, 2, 3, 4]


def _row(bb, cliff, overall, holm_e1, holm_e2, time_ratio=1.0, cliff_mae=0.8, plain_cliff=1.0,
         ds="lipophilicity", split="cliff"):
    return {"dataset": ds, "split": split, "backbone": bb, "cliff_change_pct": {"value": cliff},
            "overall_change_pct": {"value": overall}, "holm_e1": holm_e1, "holm_e2": holm_e2,
            "time_ratio": time_ratio, "cliff_mae": cliff_mae, "plain_cliff_mae": plain_cliff}


def test_decision_rule_met_on_both_backbones(mit):
    fam = [_row("svm", -12.0, -5.0, 0.01, 0.01), _row("lgbm", -11.0, -4.0, 0.02, 0.03)]
    sec = [_row("lgbm", -3.0, -1.0, 0.5, 0.5, cliff_mae=0.8, plain_cliff=0.85)]
    d = mit.confirm_decision(fam, sec)
    assert d["change_default"] and d["primary_replicated_e2"] and d["primary_e1"]
    # (3) compares with the lgbm ensemble; svm has none: "n/a" (None), not a pass
    assert d["per_backbone"]["svm"]["3_below_equal_compute_ensemble"] is None
    assert d["per_backbone"]["lgbm"]["3_below_equal_compute_ensemble"] is True


@pytest.mark.parametrize("change", [
    {"svm": {"cliff": -9.9}},              # short of -10% on one backbone
    {"lgbm": {"holm_e1": 0.06}},           # E1 not Holm-significant
    {"svm": {"holm_e2": 0.051}},           # overall not Holm-significant
    {"lgbm": {"time_ratio": 4.5}},         # too slow, and no significant gain over the ensemble
    {"ens_cliff": 0.79},                   # the equal-compute ensemble is better on cliff MAE
])
def test_decision_rule_fails_when_one_condition_fails(mit, change):
    kw = {"svm": dict(cliff=-12.0, overall=-5.0, holm_e1=0.01, holm_e2=0.01),
          "lgbm": dict(cliff=-11.0, overall=-4.0, holm_e1=0.02, holm_e2=0.03)}
    for bb in ("svm", "lgbm"):
        kw[bb].update(change.get(bb, {}))
    fam = [_row(bb, **kw[bb]) for bb in ("svm", "lgbm")]
    sec = [_row("lgbm", -3.0, -1.0, 0.5, 0.5, cliff_mae=0.8, plain_cliff=change.get("ens_cliff", 0.85))]
    d = mit.confirm_decision(fam, sec)
    assert not d["change_default"]
    assert d["per_backbone"]["svm"]["3_below_equal_compute_ensemble"] is None
    if "ens_cliff" in change:
        assert d["per_backbone"]["lgbm"]["3_below_equal_compute_ensemble"] is False


def test_slow_method_passes_only_by_beating_the_ensemble(mit):
    fam = [_row("svm", -12.0, -5.0, 0.01, 0.01, time_ratio=10.0),
           _row("lgbm", -11.0, -4.0, 0.02, 0.03, time_ratio=4.5)]
    sec = [_row("lgbm", -5.0, -2.0, 0.04, 0.2, cliff_mae=0.8, plain_cliff=0.85)]
    assert mit.confirm_decision(fam, sec)["change_default"]
    sec[0]["holm_e1"] = 0.2
    assert not mit.confirm_decision(fam, sec)["change_default"]


def test_primary_needs_holm_and_a_lower_error(mit):
    fam = [_row("svm", -5.9, -4.3, 0.37, 0.026), _row("lgbm", -1.3, -0.7, 1.0, 0.5)]
    d = mit.confirm_decision(fam, [])
    assert d["primary_replicated_e2"] and not d["primary_e1"] and not d["change_default"]
    fam[0]["holm_e2"] = 0.06
    assert not mit.confirm_decision(fam, [])["primary_replicated_e2"]
    fam[0].update(holm_e2=0.01, overall_change_pct={"value": 1.0})
    assert not mit.confirm_decision(fam, [])["primary_replicated_e2"]


def test_gin_stage_is_the_registered_cell(mit):
    # docs/cliffloss.md, "gin arm: pre-registration": one cell, two arms, the study's seeds
    ((name, cfg),) = mit.gin_stages()
    assert name == "gin-lipo-cliff"
    assert cfg["backbones"] == ["gin"] and cfg["splits"] == ["cliff"]
    assert cfg["losses"] == ["plain", "anchor-delta"] and cfg["seeds"] == mit.SEEDS == [0, 1, 2, 3, 4]
    assert cfg["datasets"] == [{"name": "lipophilicity"}]
    assert "backbone_params" not in cfg  # the default budget
