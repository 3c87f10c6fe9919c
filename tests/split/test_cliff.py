"""CliffSplit options and error paths on toy data (fast)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cliffkit.errors import (
    CliffkitWarning,
    InsufficientSupportError,
    InvalidParameterError,
    ShapeMismatchError,
    SplitWarning,
    UnknownNameError,
)
from cliffkit.split import CliffSplit, RandomSplit, format_summary, summarize_split

from .test_result import SMILES, Y


def _split(**params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        return CliffSplit(min_similarity=0.2, test_size=0.2, val_size=0.1, **params).make_split(SMILES, Y)


def test_delta_mode_labels_by_abs_difference():
    res = _split(delta=1.0)
    lab = res.labels["y0"]
    held = np.concatenate([res.val, res.test])
    assert lab.mode == "delta" and lab.cliff_threshold == 1.0
    for i in held[lab.strata[held] == "cliff"]:
        assert abs(lab.partner_delta[i]) >= 1.0
    assert res.to_dict()["targets"]["y0"]["mode"] == "delta"


def test_cliff_target_and_balance_rules():
    assert _split(cliff_target="y1").info["cliff_rule"] == "target:y1"
    assert _split(balance="first").info["cliff_rule"] == "first"
    assert _split().info["cliff_rule"] == "balanced-over-targets"
    with pytest.raises(UnknownNameError, match="Unknown cliff_target 'y9'"):
        _split(cliff_target="y9")


def test_targets_subset():
    res = _split(targets=["y1"])
    assert res.target_names == ["y1"] and list(res.labels) == ["y1"]
    assert res.params["targets"] == ["y1"]


@pytest.mark.parametrize("param, value, match", [
    ("test_size", 1.5, r"The 'test_size' parameter of CliffSplit must be a float in \(0, 1\); got 1.5"),
    ("cliff_share", -0.1, r"'cliff_share' parameter of CliffSplit must be a float in \[0, 1\]"),
    ("k", 0, r"'k' parameter of CliffSplit must be an int in \[1, inf\), or None \(not set\); got 0"),
    ("min_similarity", 0.0, r"'min_similarity' parameter of CliffSplit must be a float in \(0, 1\]"),
    ("balance", "all", r"'balance' parameter of CliffSplit must be one of"),
    ("random_state", "x", r"'random_state' parameter of CliffSplit must be None, an int"),
    ("smooth_quantile", 0.9, r"'smooth_quantile' parameter of CliffSplit must be <= cliff_quantile"),
])
def test_parameter_errors(param, value, match):
    with pytest.raises(InvalidParameterError, match=match):
        CliffSplit(**{param: value}).make_split(SMILES, Y)


def test_input_errors():
    with pytest.raises(InvalidParameterError, match="CliffSplit needs targets"):
        CliffSplit(min_similarity=0.2).make_split(SMILES)
    with pytest.raises(ShapeMismatchError, match=r"y must have shape \(20,\)"):
        CliffSplit().make_split(SMILES, Y[:5])
    with pytest.raises(InvalidParameterError, match=r"no value for any target \(NaN\) at rows \[3\]"):
        CliffSplit().make_split(SMILES, np.where(np.arange(20) == 3, np.nan, 1.0))
    with pytest.raises(InvalidParameterError, match="X must be a Dataset or a sequence of SMILES"):
        CliffSplit().make_split("CCO", [1.0])
    with pytest.raises(InvalidParameterError, match=r"training set would hold 0 molecules \(at least 2 are needed\)"):
        CliffSplit(test_size=0.5, val_size=0.4).make_split(SMILES[:3], Y[:3])


def test_no_support_raises():
    smiles = ["C", "O", "N", "S", "Cl", "F", "Br", "I", "P", "[Na+].[Cl-]"]
    with pytest.raises(InsufficientSupportError, match="No molecule has a neighbour with Tanimoto"):
        CliffSplit(min_similarity=0.99, test_size=0.2, val_size=0.0).make_split(smiles, np.arange(10.0))


def test_share_shortfall_warns():
    with pytest.warns(SplitWarning, match="reached a test cliff share of"):
        CliffSplit(min_similarity=0.2, test_size=0.3, val_size=0.0, cliff_share=1.0).make_split(SMILES, Y)


def test_random_split_labels_unsupported():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CliffkitWarning)
        res = RandomSplit(test_size=0.3, val_size=0.0, min_similarity=0.5).make_split(SMILES, Y)
    lab = res.labels["y0"]
    assert "unsupported" in set(lab.strata[res.test])
    assert (lab.partner[res.test][lab.strata[res.test] == "unsupported"] == -1).all()
    with pytest.raises(InsufficientSupportError, match="No training molecule has a neighbour"):
        RandomSplit(test_size=0.3, val_size=0.0, min_similarity=0.9).make_split(SMILES, Y)


def test_summary():
    res = _split()
    s = summarize_split(res)
    assert s["sizes"] == {"train": res.train.size, "val": res.val.size, "test": res.test.size}
    t = s["targets"]["y0"]
    assert t["counts"]["test"] == res.labels["y0"].counts(res.test)
    assert t["matching"]["n_pairs_similarity"] == int(res.labels["y0"].matched_cliff[res.test].sum())
    text = format_summary(res)
    assert "target y0" in text and "target y1" in text and "sizes: train" in text


def test_constant_labels_say_why_there_are_no_cliffs(lipo300):
    """Issue trial: one label value for every molecule. The warnings advised 'lower
    cliff_quantile to get more', which cannot help; they now name the cause."""
    from cliffkit.data import Dataset

    flat = Dataset(name="flat", smiles=lipo300.smiles, y=np.ones(len(lipo300)),
                   target_names=["logD"], units=[""])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliffSplit(random_state=0).make_split(flat)
    texts = [str(w.message) for w in caught if issubclass(w.category, SplitWarning)]
    assert res.labels["logD"].counts(res.test)["cliff"] == 0
    assert texts and not any("lower cliff_quantile" in t for t in texts)
    assert any(t.startswith("CliffSplit reached a test cliff share of 0.000 instead of the "
                            "requested 0.500: no molecule can be a cliff case, since for 'logD', "
                            "every molecule has the same label as its neighbours") for t in texts)
    # labels that vary somewhere keep the old advice (thresholds can still find cliffs)
    y = np.ones(len(lipo300))
    y[:5] = 5.0
    some = Dataset(name="some", smiles=lipo300.smiles, y=y, target_names=["logD"], units=[""])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CliffSplit(random_state=0).make_split(some)
    assert not any("same label" in str(w.message) for w in caught)


def test_k_not_smaller_than_the_training_set_is_announced():
    """CliffSplit(k=5000) on a small set recorded k=5000 and m=70 without a word (review h37),
    while find_neighbors clips k and records the k it used; the split keeps the requested k
    (and its m) but says so."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = CliffSplit(min_similarity=0.2, test_size=0.2, val_size=0.1, k=5000,
                         random_state=0).make_split(SMILES, Y)
    msgs = [str(w.message) for w in caught if issubclass(w.category, SplitWarning)]
    assert any("k=5000 is not smaller than the" in m and "m = floor(sqrt(5000)) = 70" in m
               for m in msgs), msgs
    assert res.params["k_used"] == 5000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _split(k=3)
    assert not any("is not smaller than the" in str(w.message) for w in caught)
