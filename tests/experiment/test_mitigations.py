"""The mitigations of issue 18 through the experiment seam (FreeSolv, small budgets).

- a loss that names a wrapper is fitted as that wrapper around the backbone;
- choices made on validation (blend weights) cannot see the test labels;
- the equal-compute control with one member is the plain model, bit for bit;
- ``cliffkit train`` / ``cliffkit predict`` work with a wrapped model.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cliffkit.cli import main
from cliffkit.data import load_dataset
from cliffkit.errors import InvalidParameterError
from cliffkit.experiment import build_loss, fit, predict_test
from cliffkit.loss import make_loss
from cliffkit.split import CliffSplit

pytestmark = pytest.mark.filterwarnings("ignore::cliffkit.errors.SplitWarning")

LGBM = {"n_estimators": 40, "n_jobs": 1, "early_stopping_rounds": 10}
ANCHOR = {"k": 5, "n_random": 1, "n_estimators": 40, "n_jobs": 1, "early_stopping_rounds": 10}


@pytest.fixture(scope="module")
def data():
    ds = load_dataset("freesolv")
    split = CliffSplit(min_similarity=0.4, k=8, random_state=0, n_jobs=1).make_split(ds)
    return ds, split


def _test_labels_scrambled(ds, split):
    """The same data with the test labels permuted and shifted (train/val untouched)."""
    y = ds.y.copy()
    te = np.asarray(split.test)
    y[te, 0] = np.random.default_rng(1).permutation(y[te, 0]) + 5.0
    return replace(ds, y=y)


@pytest.mark.parametrize("loss, params", [
    ("tanimoto-stack", {"wrapper_params": {"other_params": {"C": 1.0}}}),
    ("anchor-delta", {"wrapper_params": ANCHOR}),
])
def test_test_labels_cannot_change_the_chosen_weight(data, loss, params):
    ds, split = data
    model, spec = fit(ds, split, "lgbm", loss, backbone_params=LGBM, loss_params=params)
    assert spec.wrapper in ("blend", "anchor-delta") and spec.params["wrapper"] == spec.wrapper
    scrambled = _test_labels_scrambled(ds, split)
    # the same assignment, recorded for the scrambled data (fit refuses a split of other data)
    split_s = replace(split, dataset={**split.dataset, "checksum": scrambled.checksum})
    other, _ = fit(scrambled, split_s, "lgbm", loss, backbone_params=LGBM, loss_params=params)
    assert other.weight_ == model.weight_
    assert other.val_mae_by_weight_ == model.val_mae_by_weight_
    p, _, _ = predict_test(model, ds, split)
    q, _, _ = predict_test(other, ds, split)
    np.testing.assert_array_equal(p, q)
    assert p.shape == (len(split.test),)


def test_plain_ensemble_of_one_is_plain(data):
    ds, split = data
    plain, spec_p = fit(ds, split, "lgbm", "plain", backbone_params=LGBM, seed=2)
    ens, spec = fit(ds, split, "lgbm", "plain-ensemble", backbone_params=LGBM, seed=2,
                    loss_params={"wrapper_params": {"n_members": 1}})
    assert spec.fit_kwargs(plain) == spec_p.fit_kwargs(plain) == {}  # no weights passed
    np.testing.assert_array_equal(predict_test(ens, ds, split)[0],
                                  predict_test(plain, ds, split)[0])
    three, spec3 = fit(ds, split, "lgbm", "plain-ensemble", backbone_params=LGBM, seed=2,
                       loss_params={"wrapper_params": {"n_members": 3}})
    assert spec3.wrapper_params == {"n_members": 3}
    assert [m.random_state for m in three.members_] == [2, 3, 4]


def test_anchor_delta_reads_the_split_similarity(data):
    ds, split = data
    spec = build_loss("anchor-delta", ds, split)
    assert spec.wrapper == "anchor-delta"
    assert spec.wrapper_params["min_similarity"] == 0.4
    assert spec.wrapper_params["n_bits"] == split.similarity_params["n_bits"]
    assert spec.severity_params == {}  # no training cliffs are computed for it
    own = build_loss("anchor-delta", ds, split, wrapper_params={"min_similarity": 0.6})
    assert own.wrapper_params["min_similarity"] == 0.6


def test_lds_pair_is_lds_weights_with_the_pair_term(data):
    ds, split = data
    lp = build_loss("lds-pair", ds, split)
    lds = build_loss("lds", ds, split)
    assert lp.beta == 0.5 and lp.uses_pairs and lds.beta == 0.0
    np.testing.assert_array_equal(lp.sample_weight(), lds.sample_weight())
    with pytest.raises(InvalidParameterError, match="beta > 0"):
        build_loss("lds-pair", ds, split, beta=0.0)
    with pytest.raises(InvalidParameterError, match="pairwise"):
        fit(ds, split, "lgbm", "lds-pair", backbone_params=LGBM)


def test_any_loss_under_a_wrapper_and_bad_combinations():
    y = np.arange(6.0)
    spec = make_loss("lds", y, wrapper="ensemble", wrapper_params={"n_members": 2})
    assert spec.wrapper == "ensemble" and spec.params["wrapper_params"] == {"n_members": 2}
    assert make_loss("plain", y).wrapper is None
    with pytest.raises(InvalidParameterError, match="cannot take wrapper='blend'"):
        make_loss("plain-ensemble", y, wrapper="blend")
    with pytest.raises(InvalidParameterError, match="wrapper_params"):
        make_loss("plain-ensemble", y, wrapper_params=[("n_members", 2)])


def test_cliff_pair_ensemble_trains_torch_members(data):
    ds, split = data
    model, spec = fit(ds, split, "mlp", "cliff-pair-ensemble", seed=0,
                      backbone_params={"epochs": 2},
                      loss_params={"wrapper_params": {"n_members": 2}})
    assert spec.uses_pairs and spec.wrapper == "ensemble"
    assert len(model.members_) == 2
    p = predict_test(model, ds, split)[0]
    assert p.shape == (len(split.test),) and np.all(np.isfinite(p))


def test_cli_train_and_predict_a_wrapped_model(data, tmp_path, capsys):
    ds, split = data
    path = tmp_path / "split.json"
    split.save(path)
    run = tmp_path / "run"
    rc = main(["train", "--split", str(path), "--backbone", "lgbm", "--loss", "plain-ensemble",
               "--loss-param", 'wrapper_params={"n_members": 2}', "--param", "n_estimators=20",
               "--param", "n_jobs=1", "-o", str(run), "--quiet"])
    assert rc == 0
    import json

    cfg = json.loads((run / "config.json").read_text())
    assert cfg["loss"]["params"]["wrapper_params"] == {"n_members": 2}
    assert json.loads((run / "model" / "config.json").read_text())["wrapper"] == "ensemble"
    new = tmp_path / "new.csv"
    new.write_text("smiles\nCCO\nc1ccccc1O\n")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(run), str(new), "-o", str(out), "--quiet"]) == 0
    assert np.isfinite(pd.read_csv(out)["prediction"]).all()
    capsys.readouterr()
    rc = main(["train", "--split", str(path), "--backbone", "lgbm", "--loss", "plain-ensemble",
               "--loss-param", "nmembers=2", "-o", str(tmp_path / "bad")])
    assert rc == 2
    assert "not a loss parameter" in capsys.readouterr().err


def test_bench_config_checks_wrapper_params(tmp_path):
    from cliffkit.bench import load_config
    from cliffkit.errors import ConfigError

    base = ('name = "w"\nseeds = [0]\nsplits = ["cliff"]\nbackbones = ["lgbm"]\n'
            'losses = ["plain", "plain-ensemble"]\n[[datasets]]\nname = "freesolv"\n')
    good = tmp_path / "good.toml"
    good.write_text(base + "[loss_params.plain-ensemble]\nwrapper_params = {n_members = 3}\n")
    cfg = load_config(good)
    cell = next(c for c in cfg.cells() if c.loss == "plain-ensemble")
    assert cell.loss_params == {"wrapper_params": {"n_members": 3}}
    for bad, msg in (("wrapper_params = {n_members = 0}", "n_members"),
                     ("wrapper_params = {members = 3}", "no parameter 'members'")):
        path = tmp_path / "bad.toml"
        path.write_text(base + "[loss_params.plain-ensemble]\n" + bad + "\n")
        with pytest.raises(ConfigError, match=msg):
            load_config(path)


def test_ensemble_resets_the_adaptive_controller_per_member(data):
    ds, split = data
    model, spec = fit(ds, split, "lgbm", "cliff-adaptive",
                      backbone_params={**LGBM, "rounds_per_block": 10},
                      loss_params={"wrapper": "ensemble", "wrapper_params": {"n_members": 2}})
    assert spec.wrapper == "ensemble" and len(model.members_) == 2
    blocks = [len(m.history_) for m in model.members_]
    assert all(b >= 1 for b in blocks)
    # the λ trajectory is the last member's alone (reset before each member)
    assert len(spec.history) == blocks[-1]
    assert all("lam" in h for m in model.members_ for h in m.history_)
