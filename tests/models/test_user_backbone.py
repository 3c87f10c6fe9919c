"""A user's own backbone: a half-done registration says what is missing (fresh-user trial 4).

Before: ``register_backbone("rf")(RandomForestRegressor)`` was accepted (and set ``name`` on
sklearn's class); training then failed with sklearn's "unexpected keyword argument 'target'".
A Backbone subclass without ``_predict`` trained, then raised a bare ``NotImplementedError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from cliffkit.data import Dataset
from cliffkit.errors import IncompleteMethodError, InvalidParameterError
from cliffkit.models import Backbone, get_backbone, list_backbones, register_backbone
from cliffkit.models._featurize import ecfp_features
from cliffkit.models._registry import BACKBONES
from cliffkit.utils import Interval, is_seed, params_class

SMILES = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "c1ccccc1O", "c1ccccc1N", "CC(=O)O"]
Y = np.array([0.1, 0.4, 0.9, 0.0, 0.3, 1.5, 1.2, -0.3])


def _ds(idx):
    return Dataset(name="toy", smiles=np.array([SMILES[i] for i in idx]), y=Y[idx, None],
                   target_names=["y"], units=["u"])


@pytest.fixture
def cleanup():
    names = []
    yield names
    for name in names:
        BACKBONES._entries.pop(name, None)


def test_a_class_that_is_not_a_backbone_is_refused_at_registration(cleanup):
    with pytest.raises(InvalidParameterError, match=r"register_backbone\('sk-rf'\): "
                       r"RandomForestRegressor is not a cliffkit.models.Backbone"):
        register_backbone("sk-rf")(RandomForestRegressor)
    assert "sk-rf" not in list_backbones()
    assert not hasattr(RandomForestRegressor, "name")  # sklearn's class is left alone


def test_a_backbone_without_predict_is_refused_at_registration(cleanup):
    with pytest.raises(InvalidParameterError, match="does not implement _predict"):
        @register_backbone("no-predict")
        @params_class
        class NoPredict(Backbone):
            _parameter_constraints: ClassVar[dict] = {"random_state": [is_seed]}
            random_state: int = 0

            def _fit(self, smiles_tr, y_tr, smiles_va, y_va, **kwargs):
                pass
    assert "no-predict" not in list_backbones()


def test_a_complete_user_backbone_trains_predicts_and_names_a_missing_save(cleanup, tmp_path):
    cleanup.append("user-rf")

    @register_backbone("user-rf")
    @params_class
    class UserRF(Backbone):
        _parameter_constraints: ClassVar[dict] = {"n_estimators": [Interval(int, 1, None)],
                                                  "random_state": [is_seed]}
        n_estimators: int = 20
        random_state: int = 0

        def _fit(self, smiles_tr, y_tr, smiles_va, y_va, *, sample_weight=None, **kwargs):
            self.model_ = RandomForestRegressor(n_estimators=self.n_estimators,
                                                random_state=self.random_state)
            self.model_.fit(ecfp_features(smiles_tr), y_tr, sample_weight=sample_weight)

        def _predict(self, smiles):
            return self.model_.predict(ecfp_features(smiles))

    model = get_backbone("user-rf", n_estimators=10).fit(_ds(range(6)), _ds([6, 7]))
    assert model.name == "user-rf" and model.predict(SMILES[:3]).shape == (3,)
    with pytest.raises(IncompleteMethodError,
                       match="UserRF does not implement _save_weights, which save"):
        model.save(Path(tmp_path) / "m")


def test_loading_a_model_of_an_unregistered_user_backbone_says_to_import_it(cleanup, tmp_path):
    # fresh-user trial 4: 'cliffkit predict RUN' of a user's backbone said only "Unknown
    # backbone 'mean-model'; choose one of: ..." (the module that registers it was not imported)
    from cliffkit.errors import UnknownNameError

    cleanup.append("mean-model")

    @register_backbone("mean-model")
    @params_class
    class MeanModel(Backbone):
        _parameter_constraints: ClassVar[dict] = {"random_state": [is_seed]}
        random_state: int = 0

        def _fit(self, smiles_tr, y_tr, smiles_va, y_va, **kwargs):
            self.mean_ = float(np.mean(y_tr))

        def _predict(self, smiles):
            return np.full(len(smiles), self.mean_)

        def _save_weights(self, path):
            (path / "mean.txt").write_text(repr(self.mean_), encoding="utf-8")

        def _load_weights(self, path):
            self.mean_ = float((path / "mean.txt").read_text(encoding="utf-8"))

    saved = get_backbone("mean-model").fit(_ds(range(6)), _ds([6, 7])).save(tmp_path / "m")
    assert Backbone.load(saved).predict(["CCO"]) == pytest.approx([Y[:6].mean()])
    BACKBONES._entries.pop("mean-model")  # a new process that did not import the module
    with pytest.raises(UnknownNameError, match=r"holds a model of backbone 'mean-model', which "
                       r"is not registered in this process .*import the module that registers"):
        Backbone.load(saved)
