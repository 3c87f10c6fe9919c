"""assign_strata on the hand-worked graphs of tests/cliffs/_graphs.py."""

from __future__ import annotations

import numpy as np
import pytest

from cliffkit.cliffs import assign_strata, compute_severity, severity_quantiles
from cliffkit.errors import InsufficientSupportError, InvalidParameterError

from ._graphs import TEST_ROWS, TRAIN_ROWS, Y_TEST, Y_TRAIN, make_graph


@pytest.fixture
def train():
    return compute_severity(make_graph(TRAIN_ROWS), Y_TRAIN)  # [.5, .2667, .5, .2667]


def test_quantile_thresholds_on_train(train):
    s = assign_strata(train)
    # P80 of [.2667,.2667,.5,.5] = .5 -> nothing strictly above; P50 = (.2667+.5)/2
    assert s.cliff_threshold == pytest.approx(0.5)
    assert s.smooth_threshold == pytest.approx((0.8 / 3 + 0.5) / 2)
    assert s.labels.tolist() == ["intermediate", "smooth", "intermediate", "smooth"]
    assert s.counts() == {"cliff": 0, "intermediate": 2, "smooth": 2, "unsupported": 0}


def test_test_molecules_against_train_thresholds(train):
    test = compute_severity(make_graph(TEST_ROWS, n_reference=4, k=2), Y_TEST, Y_TRAIN,
                            scale=train.scale)
    s = assign_strata(test, train)
    assert s.labels.tolist() == ["smooth", "unsupported", "cliff"]
    np.testing.assert_array_equal(s.mask("cliff"), [False, False, True])


def test_delta_mode(train):
    s = assign_strata(train, delta=2.5)
    assert s.mode == "delta" and s.smooth_threshold == 1.25
    assert s.labels.tolist() == ["cliff", "intermediate", "cliff", "intermediate"]
    s = assign_strata(train, delta=2.5, smooth_delta=2.5)
    assert s.labels.tolist() == ["cliff", "smooth", "cliff", "smooth"]


def test_errors(train):
    empty = compute_severity(make_graph([[], []]), [0.0, 1.0])
    with pytest.raises(InsufficientSupportError, match="No training molecule has a neighbour"):
        assign_strata(empty)
    with pytest.raises(InvalidParameterError, match="smooth_quantile <= cliff_quantile"):
        assign_strata(train, cliff_quantile=0.3, smooth_quantile=0.5)
    with pytest.raises(InvalidParameterError, match="'delta' parameter"):
        assign_strata(train, delta=-1.0)
    with pytest.raises(InvalidParameterError, match="Unknown stratum"):
        assign_strata(train).mask("cliffs")


def test_severity_quantiles(train):
    q = severity_quantiles(train)
    assert q["q50"] == pytest.approx((0.8 / 3 + 0.5) / 2)
    assert q["q99"] == pytest.approx(0.5)
