"""Train-only roughness (label-free strata) and its AUC for the cliff cases."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cliffkit.errors import InvalidParameterError
from cliffkit.evaluate._roughness import roughness_auc, roughness_masks, roughness_scores


def test_roughness_is_weighted_sd_of_training_labels():
    g = SimpleNamespace(indptr=np.array([0, 3, 4, 4]), indices=np.array([0, 1, 2, 2]),
                        similarities=np.array([0.9, 0.6, 0.5, 0.8]))
    y = np.array([1.0, 2.0, 4.0])
    w = np.array([0.9, 0.6, 0.5])
    m = (w * y).sum() / w.sum()
    out = roughness_scores(g, y)
    assert out[0] == pytest.approx(np.sqrt((w * (y - m) ** 2).sum() / w.sum()))
    assert np.isnan(out[1]) and np.isnan(out[2])  # one neighbour, none


def test_masks_and_auc():
    s = np.array([0.1, 0.5, np.nan, 0.9, 0.3, 0.7, 0.2, 0.4, 0.8, 0.6, 0.05])
    m = roughness_masks(s, top=0.2, bottom=0.5)
    assert np.flatnonzero(m["roughest"]).tolist() == [3, 8]
    assert np.flatnonzero(m["calmest"]).tolist() == [0, 4, 6, 7, 10]
    assert not (m["roughest"] & m["calmest"]).any() and not m["roughest"][2]
    strata = np.array(["smooth", "cliff", "cliff", "cliff", "smooth", "cliff", "smooth",
                       "intermediate", "cliff", "smooth", "smooth"])
    # cliff scores {0.5, 0.9, 0.7, 0.8} vs smooth {0.1, 0.3, 0.2, 0.6, 0.05}: 19 of 20 pairs
    assert roughness_auc(s, strata) == pytest.approx(19 / 20)
    assert np.isnan(roughness_auc(s, np.full(s.size, "smooth")))
    with pytest.raises(InvalidParameterError):
        roughness_masks(s, top=0.6, bottom=0.6)


def test_masks_cut_at_training_quantiles():
    train = np.linspace(0.0, 1.0, 101)  # p80 = 0.8, p50 = 0.5
    test = np.array([0.1, 0.45, 0.5, 0.6, 0.79, 0.8, 0.95, 3.0, np.nan])
    m = roughness_masks(test, reference=train)
    assert m["cuts"] == pytest.approx((0.8, 0.5))
    assert m["calmest"].tolist() == [True, True, True] + [False] * 6
    assert m["roughest"].tolist() == [False] * 5 + [True, True, True, False]
    # a rough test set: most of it above the training p80 (own quantiles would say 20%)
    own = roughness_masks(test)
    assert own["roughest"].sum() == round(0.2 * 8) and m["roughest"].sum() == 3
    none = roughness_masks(test, reference=[np.nan])
    assert not none["roughest"].any() and np.isnan(none["cuts"][0])


@pytest.mark.slow
def test_evaluate_label_free_cuts_come_from_training_scores():
    import warnings

    from cliffkit.data import load_dataset
    from cliffkit.evaluate import evaluate
    from cliffkit.evaluate._evaluate import _support_graphs
    from cliffkit.similarity import default_k
    from cliffkit.split import CliffSplit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_dataset("esol")
        res = CliffSplit(random_state=0).make_split(data)
    y = data.target(None)
    ev = evaluate(res, np.full(res.test.size, y[res.train].mean()), dataset=data,
                  n_bootstrap=0, noise_sd=None)
    sim = res.similarity_params
    g_tt, _ = _support_graphs(res, int(sim["k"] or default_k(res.train.size)),
                              sim["min_similarity"])
    train_scores = roughness_scores(g_tt, y[res.train])
    q80, q50 = np.nanquantile(train_scores, [0.8, 0.5])
    lf = ev.label_free
    assert lf["roughest_cut"] == pytest.approx(q80) and lf["calmest_cut"] == pytest.approx(q50)
    test_scores = ev.roughness
    assert ev.model["groups"]["roughest"]["n"] == int((test_scores >= q80).sum())
    # CliffSplit's test set is rougher than its training set
    assert lf["roughest_share"] > 0.2
