"""cliff_pairs on the hand-worked graph of tests/cliffs/_graphs.py."""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.cliffs import cliff_pairs
from cliffkit.errors import InvalidParameterError

from ._graphs import TRAIN_ROWS, Y_TRAIN, make_graph


def test_quantile_pairs_unique_and_oriented():
    # unique pairs: (0,1) s=.8 Δ=1; (0,2) s=.5 Δ=3; (1,3) s=.4 Δ=2; (2,3) s=.9 Δ=0
    p = cliff_pairs(make_graph(TRAIN_ROWS), Y_TRAIN, quantile=0.0)
    assert list(zip(p.i.tolist(), p.j.tolist(), strict=True)) == [(0, 1), (0, 2), (1, 3)]
    np.testing.assert_allclose(p.delta, [1.0, 3.0, 2.0])
    np.testing.assert_allclose(p.similarity, [0.8, 0.5, 0.4])
    np.testing.assert_allclose(p.strength, [0.8 / 3, 1.5 / 3, 0.8 / 3])
    p = cliff_pairs(make_graph(TRAIN_ROWS), Y_TRAIN, quantile=0.5)
    assert (p.i.tolist(), p.j.tolist()) == ([0], [2])


def test_delta_and_strength_modes():
    g = make_graph(TRAIN_ROWS)
    p = cliff_pairs(g, Y_TRAIN, delta=2.0)
    assert (p.i.tolist(), p.j.tolist(), p.mode) == ([0, 1], [2, 3], "delta")
    p = cliff_pairs(g, Y_TRAIN, min_strength=0.3)
    assert (p.i.tolist(), p.j.tolist(), p.mode) == ([0], [2], "strength")


def test_one_directional_edge_is_a_pair():
    g = make_graph([[(1, 0.6)], []])
    p = cliff_pairs(g, [2.0, 0.0], quantile=0.0, min_strength=0.0)
    assert (p.i.tolist(), p.j.tolist(), p.delta.tolist()) == ([0], [1], [-2.0])


def test_errors():
    with pytest.raises(InvalidParameterError, match="'quantile' parameter of cliff_pairs"):
        cliff_pairs(make_graph(TRAIN_ROWS), Y_TRAIN, quantile=2.0)
    with pytest.raises(InvalidParameterError, match="'delta' parameter of cliff_pairs"):
        cliff_pairs(make_graph(TRAIN_ROWS), Y_TRAIN, delta=0.0)
