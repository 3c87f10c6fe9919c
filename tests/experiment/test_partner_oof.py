"""Pair direction accuracy can fail: with out-of-fold partner predictions a memoriser that has
no skill on new molecules scores chance, while its in-sample partner predictions (the old
metric) made it score far above chance."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

from cliffkit.evaluate import evaluate, pair_metrics
from cliffkit.experiment import out_of_fold_partner_predictions, predict_test
from cliffkit.models import Backbone
from cliffkit.similarity import compute_fingerprints, find_neighbors


class Memoriser(Backbone):
    """Reproduces its training labels exactly; any other molecule gets the label of a
    training molecule drawn at random (seeded by its SMILES): no skill on new molecules."""

    name = "memoriser"
    _parameter_constraints: dict = {}

    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, **kwargs):
        self.smiles_ = list(smiles_tr)
        self.y_ = np.asarray(y_tr, dtype=np.float64)

    def _other(self, smiles):
        return np.array([self.y_[np.random.default_rng(zlib.crc32(s.encode())).integers(
            len(self.y_))] for s in smiles])

    def _predict(self, smiles):
        lookup = {s: i for i, s in enumerate(self.smiles_)}
        other = self._other(smiles)
        return np.array([self.y_[lookup[s]] if s in lookup else o
                         for s, o in zip(smiles, other, strict=True)])


class NearestMemoriser(Memoriser):
    """Training labels exactly; a new molecule gets its most similar training molecule's
    label (1-nearest-neighbour regression, Tanimoto on ECFP4): it *does* generalise."""

    def _other(self, smiles):
        fps = compute_fingerprints(self.smiles_)
        g = find_neighbors(compute_fingerprints(list(smiles)), fps, k=1, min_similarity=0.0)
        return self.y_[np.asarray(g.indices)[np.asarray(g.indptr)[:-1]]]


@pytest.fixture(scope="module")
def esol_split():
    from cliffkit.data import load_dataset
    from cliffkit.split import CliffSplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_dataset("esol")
        res = CliffSplit(random_state=0).make_split(data)
    return data, res


def _cliff_pairs(data, res, model):
    y_pred, partner, in_sample = predict_test(model, data, res)
    strata = np.asarray(res.labels[res.target_names[0]].strata)[res.test]
    sel = (strata == "cliff") & (partner >= 0)
    return y_pred, partner, in_sample, sel


@pytest.mark.slow
def test_memoriser_direction_accuracy_is_chance_out_of_fold(esol_split):
    data, res = esol_split
    y = data.target(None)
    model = Memoriser().fit(data.subset(res.train), data.subset(res.val))
    y_pred, partner, in_sample, sel = _cliff_pairs(data, res, model)
    assert sel.sum() >= 30
    # the defect: with in-sample partner predictions (ŷ_j = y_j) a model with no skill on
    # new molecules "gets the direction right" on most cliff pairs
    j = partner[sel]
    old = pair_metrics(y[res.test][sel], y_pred[sel], y[j], y_pred_partner=in_sample[sel],
                       n_bootstrap=0)
    assert old["direction_accuracy"].value > 0.7
    # the default evaluation does not compute it from in-sample partner predictions
    ev = evaluate(res, y_pred, dataset=data, partner_predictions=in_sample, n_bootstrap=0,
                  noise_sd=None, label_free=False)
    assert np.isnan(ev.pairs["model"]["cliff"]["direction_accuracy"].value)
    assert any("in-sample" in n for n in ev.notes) and "in-sample" in ev.summary()
    # out-of-fold partner predictions: chance
    oof = out_of_fold_partner_predictions(data, res, Memoriser(), n_folds=5, seed=0)
    assert np.isfinite(oof[partner >= 0]).all() and np.isnan(oof[partner < 0]).all()
    ev = evaluate(res, y_pred, dataset=data, partner_predictions=oof, partner_out_of_fold=True,
                  n_bootstrap=1000, noise_sd=None, label_free=False)
    d = ev.pairs["model"]["cliff"]["direction_accuracy"]
    assert abs(d.value - 0.5) < 0.15 and d.low < 0.5 < d.high
    # the training-mean baseline predicts no difference: ties, one half each
    assert ev.pairs["baseline"]["cliff"]["direction_accuracy"].value == pytest.approx(0.5)
    # a model that knows the labels up to small noise is far above chance on the same pairs
    good = y + np.random.default_rng(0).normal(0, 0.1, y.shape)
    ev = evaluate(res, good[res.test], dataset=data, partner_out_of_fold=True,
                  partner_predictions=np.where(partner >= 0, good[np.maximum(partner, 0)], np.nan),
                  n_bootstrap=0, noise_sd=None, label_free=False)
    assert ev.pairs["model"]["cliff"]["direction_accuracy"].value > 0.9


@pytest.mark.slow
def test_nearest_label_memoriser_is_a_real_model(esol_split):
    """The 1-nearest-neighbour memoriser generalises (test MAE below the training mean's), so
    it is *not* at chance out of fold; its in-sample score overstated it."""
    data, res = esol_split
    y = data.target(None)
    model = NearestMemoriser().fit(data.subset(res.train), data.subset(res.val))
    y_pred, partner, in_sample, sel = _cliff_pairs(data, res, model)
    oof = out_of_fold_partner_predictions(data, res, NearestMemoriser(), n_folds=5, seed=0)
    ev = evaluate(res, y_pred, dataset=data, partner_predictions=oof, partner_out_of_fold=True,
                  n_bootstrap=0, noise_sd=None, label_free=False)
    assert ev.mae().value < ev.baseline["groups"]["overall"]["mae"].value
    j = partner[sel]
    old = pair_metrics(y[res.test][sel], y_pred[sel], y[j], y_pred_partner=in_sample[sel],
                       n_bootstrap=0)["direction_accuracy"].value
    new = ev.pairs["model"]["cliff"]["direction_accuracy"].value
    assert 0.5 < new < old
