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
