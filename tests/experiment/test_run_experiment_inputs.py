"""run_experiment / fit / build_loss with the inputs a user gets wrong (review h37 F2-F4,
F7, F8): a split of other data is refused before any fit; a backbone object is copied and
seeded (never fitted in place); a split without a validation set gets one carved out of
training; typos and non-Datasets give one-line cliffkit errors."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest

from cliffkit.errors import (
    InvalidDataError,
    InvalidParameterError,
    SplitFileError,
    SplitWarning,
    UnknownNameError,
)
from cliffkit.experiment import build_loss, fit, run_experiment
from cliffkit.models import Backbone, get_backbone

LGBM = {"n_estimators": 20, "n_jobs": 1}


class Counting(Backbone):
    """Predicts the training mean; counts its fits (class-wide: run_experiment fits a copy)."""

    name = "counting"
    _parameter_constraints: dict = {}
    n_fits = 0

    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, **kwargs):
        type(self).n_fits += 1
        self.mean_ = float(np.mean(y_tr))

    def _predict(self, smiles):
        return np.full(len(smiles), self.mean_)


@pytest.fixture(scope="module")
def esol():
    from cliffkit.data import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset("esol")


@pytest.fixture(scope="module")
def small(esol):
    from cliffkit.split import RandomSplit

    ds = esol.subset(np.arange(150))
    return ds, RandomSplit(random_state=0).make_split(ds)


def test_split_of_other_data_is_refused_before_any_fit(esol, small):
    _, split = small
    other = esol.subset(np.arange(150, 300))  # same size and target name, other molecules
    Counting.n_fits = 0
    calls = [lambda: run_experiment(other, split, Counting(), evaluate=False),
             lambda: fit(other, split, Counting()),
             lambda: build_loss("cliff", other, split)]
    for call in calls:
        with pytest.raises(SplitFileError, match="fit with the data the split was made from"):
            call()
    assert Counting.n_fits == 0


def test_backbone_object_is_copied_and_takes_the_seed(small):
    ds, split = small
    bb = get_backbone("lgbm", **LGBM)
    r0 = run_experiment(ds, split, bb, seed=0, evaluate=False)
    r1 = run_experiment(ds, split, bb, seed=1, evaluate=False)
    assert not np.array_equal(r0.y_pred, r1.y_pred)  # the seed reaches the backbone
    # the same model as from the name with that seed
    named = run_experiment(ds, split, "lgbm", seed=1, backbone_params=LGBM, evaluate=False)
    np.testing.assert_array_equal(named.y_pred, r1.y_pred)
    # every result keeps its own fitted model; the object given is left unfitted
    assert r0.model is not r1.model and bb not in (r0.model, r1.model)
    test = ds.subset(np.asarray(split.test))
    np.testing.assert_array_equal(r0.model.predict(test), r0.y_pred)
    assert bb.random_state == 0 and not hasattr(bb, "target_")


@pytest.mark.parametrize("backbone", ["lgbm", "svm"])
def test_split_without_validation_set_gets_one_carved(small, backbone):
    from cliffkit.split import RandomSplit

    ds, _ = small
    split = RandomSplit(val_size=0, random_state=0).make_split(ds)
    assert split.val.size == 0
    params = LGBM if backbone == "lgbm" else None
    with pytest.warns(SplitWarning, match="no validation set: 1[0-9] training molecules"):
        res = run_experiment(ds, split, backbone, backbone_params=params, n_bootstrap=20)
    assert res.y_pred.shape == split.test.shape and np.isfinite(res.y_pred).all()


@pytest.mark.parametrize("backbone", ["lgbm", "svm"])
def test_fit_refuses_an_empty_training_or_validation_set(small, backbone):
    ds, _ = small
    full, empty = ds.subset(np.arange(100)), ds.subset(np.arange(0))
    with pytest.raises(InvalidDataError, match="validation set given to fit has no molecule"):
        get_backbone(backbone).fit(full, empty)
    with pytest.raises(InvalidDataError, match="training set given to fit has no molecule"):
        get_backbone(backbone).fit(empty, full)


def test_user_mistakes_are_one_line_cliffkit_errors(small, tmp_path):
    ds, split = small
    with pytest.raises(InvalidParameterError, match=r"'n_estimator' \(did you mean 'n_estimators'"):
        run_experiment(ds, split, "lgbm", backbone_params={"n_estimator": 10})
    with pytest.raises(InvalidParameterError, match=r"'lamda' is not a loss parameter \(did you"):
        run_experiment(ds, split, "lgbm", "cliff", loss_params={"lamda": 2.0})
    with pytest.raises(InvalidParameterError, match=r"load_dataset\('esol'\)"):
        run_experiment("esol", split, "lgbm")
    with pytest.raises(InvalidParameterError, match="needs a split"):
        run_experiment(ds, "split.json", "lgbm")
    # a split of data with another target name: both targets named
    renamed = replace(ds, target_names=["solubility"])
    with pytest.raises(SplitFileError, match=r"\(target logS\) .* \(target solubility\)"):
        run_experiment(renamed, split, "lgbm")


def test_target_the_split_does_not_label_is_named(small, tmp_path):
    from cliffkit.data import load_dataset
    from cliffkit.split import RandomSplit

    ds, _ = small
    path = tmp_path / "two.csv"
    path.write_text("smiles,y,y2\n" + "".join(
        f"{s},{v},{2 * v}\n" for s, v in zip(ds.smiles[:80], ds.y[:80, 0], strict=True)))
    two = load_dataset(path, smiles_col="smiles", target_cols=["y", "y2"])
    split = RandomSplit(targets=["y"], random_state=0).make_split(two)
    Counting.n_fits = 0
    with pytest.raises(UnknownNameError, match=r"Target 'y2' .* labels 'y'"):
        run_experiment(two, split, Counting(), target="y2")
    assert Counting.n_fits == 0
