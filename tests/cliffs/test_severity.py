"""compute_severity / severity_scale against values worked out by hand (tests/cliffs/_graphs.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cliffkit.cliffs import compute_severity, default_m, severity_scale
from cliffkit.errors import InvalidParameterError, ShapeMismatchError

from ._graphs import TEST_ROWS, TRAIN_ROWS, Y_TEST, Y_TRAIN, make_graph


def test_default_m():
    assert [default_m(k) for k in (1, 3, 4, 8, 9, 24, 25)] == [1, 1, 2, 2, 3, 4, 5]


def test_scale_is_p95_of_abs_delta_over_directed_pairs():
    # |Δy| over the 8 directed edges: 1,3,1,2,0,3,0,2 -> P95 (linear) = 3
    g = make_graph(TRAIN_ROWS)
    assert severity_scale(g, Y_TRAIN) == pytest.approx(3.0)
    assert severity_scale(g, Y_TRAIN, percentile=50) == pytest.approx(1.5)


def test_train_severity_m1_hand_worked():
    g = make_graph(TRAIN_ROWS)  # k=2 -> m=1
    sev = compute_severity(g, Y_TRAIN)
    assert sev.m == 1 and sev.scale == pytest.approx(3.0)
    np.testing.assert_allclose(sev.severity, [1.5 / 3, 0.8 / 3, 1.5 / 3, 0.8 / 3])
    # molecule 1 has a tie (0.8 with both neighbours): the more similar one (0) wins
    np.testing.assert_array_equal(sev.partner, [2, 0, 0, 1])
    np.testing.assert_allclose(sev.partner_delta, [3, -1, -3, -2])
    np.testing.assert_allclose(sev.partner_similarity, [0.5, 0.8, 0.5, 0.4])
    np.testing.assert_allclose(sev.partner_strength, [1.5, 0.8, 1.5, 0.8])
    np.testing.assert_allclose(sev.max_abs_delta, [3, 2, 3, 2])
    assert sev.supported.all()
    np.testing.assert_array_equal(sev.n_neighbors, [2, 2, 2, 2])


def test_train_severity_m2_is_mean_of_both():
    sev = compute_severity(make_graph(TRAIN_ROWS), Y_TRAIN, m=2)
    np.testing.assert_allclose(sev.severity, [2.3 / 2 / 3, 1.6 / 2 / 3, 1.5 / 2 / 3, 0.8 / 2 / 3])


def test_test_severity_uses_train_scale_and_marks_unsupported():
    train = compute_severity(make_graph(TRAIN_ROWS), Y_TRAIN)
    g = make_graph(TEST_ROWS, n_reference=4, k=2)
    sev = compute_severity(g, Y_TEST, Y_TRAIN, scale=train.scale)
    np.testing.assert_allclose(sev.severity, [0.7 / 3, 0.0, 5.0 / 3])
    np.testing.assert_array_equal(sev.supported, [True, False, True])
    np.testing.assert_array_equal(sev.partner, [2, -1, 0])
    np.testing.assert_allclose(sev.partner_delta, [1.0, 0.0, -10.0])
    np.testing.assert_array_equal(sev.n_neighbors, [2, 0, 1])


def test_delta_mode_partner_is_strongest_pair_above_delta():
    # Molecule 0: neighbour 1 (sim .9, Δ=1, strength .9), neighbour 2 (sim .4, Δ=2, strength .8)
    g = make_graph([[(1, 0.9), (2, 0.4)], [(0, 0.9)], [(0, 0.4)]])
    y = np.array([0.0, 1.0, 2.0])
    assert compute_severity(g, y).partner[0] == 1
    assert compute_severity(g, y, delta=1.5).partner[0] == 2
    # no pair reaches delta -> strongest overall
    assert compute_severity(g, y, delta=5.0).partner[0] == 1


def test_zero_scale_leaves_strengths_unscaled():
    g = make_graph([[(1, 0.5)], [(0, 0.5)]])
    sev = compute_severity(g, [1.0, 1.0])
    assert sev.scale == 0.0
    np.testing.assert_array_equal(sev.severity, [0.0, 0.0])


def test_errors():
    g = make_graph(TRAIN_ROWS)
    with pytest.raises(ShapeMismatchError, match=r"y_query must have shape \(4,\)"):
        compute_severity(g, [1.0, 2.0])
    with pytest.raises(InvalidParameterError, match="non-finite"):
        compute_severity(g, [1.0, np.nan, 0.0, 0.0])
    with pytest.raises(InvalidParameterError, match="'m' parameter"):
        compute_severity(g, Y_TRAIN, m=0)
    with pytest.raises(InvalidParameterError, match="must be a NeighborGraph"):
        compute_severity(object(), Y_TRAIN)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"scale": -1.0}, "scale"), ({"scale": float("inf")}, "scale"), ({"scale": "1"}, "scale"),
    ({"delta": -1.0}, "delta"), ({"delta": float("nan")}, "delta"),
    ({"delta": float("inf")}, "delta"),
])
def test_bad_scale_and_delta_refused(kwargs, name):
    """Review h37 F6: scale=-1 was accepted (Severity.scale reported -1, strengths left
    unscaled), delta=-1 and delta=NaN too."""
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of compute_severity"):
        compute_severity(make_graph(TRAIN_ROWS), Y_TRAIN, **kwargs)
    # 0 and NaN (severity_scale of equal labels, passed on to the test variant) still work
    assert compute_severity(make_graph(TRAIN_ROWS), Y_TRAIN, scale=float("nan")).m == 1


def _brute(rows, yq, yr, m, scale):
    out = []
    for i, r in enumerate(rows):
        st_ = sorted((s * abs(yr[j] - yq[i]) for j, s in r), reverse=True)[:m]
        out.append(np.mean(st_) / scale if st_ else 0.0)
    return np.array(out)


@st.composite
def random_graphs(draw):
    n_ref = draw(st.integers(2, 12))
    n_q = draw(st.integers(1, 10))
    rows = []
    for _ in range(n_q):
        deg = draw(st.integers(0, n_ref))
        idx = draw(st.permutations(range(n_ref)))[:deg]
        sims = sorted((draw(st.floats(0.35, 1.0)) for _ in idx), reverse=True)
        rows.append(list(zip(idx, sims, strict=True)))
    yq = draw(st.lists(st.floats(-5, 5), min_size=n_q, max_size=n_q))
    yr = draw(st.lists(st.floats(-5, 5), min_size=n_ref, max_size=n_ref))
    m = draw(st.integers(1, 5))
    return rows, np.array(yq), np.array(yr), n_ref, m


@given(random_graphs())
def test_matches_brute_force(case):
    rows, yq, yr, n_ref, m = case
    g = make_graph(rows, n_reference=n_ref)
    sev = compute_severity(g, yq, yr, m=m, scale=2.0)
    np.testing.assert_allclose(sev.severity, _brute(rows, yq, yr, m, 2.0), rtol=1e-12, atol=1e-12)
    for i, r in enumerate(rows):
        if r:
            strengths = [s * abs(yr[j] - yq[i]) for j, s in r]
            assert sev.partner_strength[i] == pytest.approx(max(strengths))
        else:
            assert sev.partner[i] == -1


def test_clipped_k_gives_the_severity_of_the_k_used():
    """Review h37 F6: find_neighbors(k=100) on 7 molecules searched k=6 but recorded
    k=100, so compute_severity took m = 10 instead of 2 (severity 0.188 against 0.407)."""
    import warnings

    from cliffkit.similarity import compute_fingerprints, find_neighbors

    fps = compute_fingerprints(["CCO", "CCCO", "CCCCO", "c1ccccc1O", "c1ccccc1N", "CCCCCO",
                                "CCCCCCO"])
    y = np.arange(7.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        big = compute_severity(find_neighbors(fps, k=100, min_similarity=0.0), y)
    exact = compute_severity(find_neighbors(fps, k=6, min_similarity=0.0), y)
    assert big.m == exact.m == 2
    np.testing.assert_array_equal(big.severity, exact.severity)


def test_scale_when_most_pairs_tie_keeps_the_unit():
    """Review h42 F5: P95 of |Δy| is 0 once 95% of kept pairs tie (censored or binned
    labels) while the other 5% carry the cliffs; the scale fell back to 1, so severities
    (and CliffLoss weights) grew with the label unit (max severity 1.8 -> 1800 for labels
    x1000). Now the P95 of the nonzero |Δy|: the same severities in any unit."""
    from cliffkit.cliffs import cliff_pairs
    from cliffkit.loss import cliff_weights

    n = 100  # a ring: each molecule's two ring neighbours at similarity 0.6
    g = make_graph([[((i - 1) % n, 0.6), ((i + 1) % n, 0.6)] for i in range(n)])
    y = np.r_[np.full(98, 5.0), 7.0, 8.0]  # 6 of the 200 directed edges differ
    dy = np.abs(y[g.indices] - y[np.repeat(np.arange(n), 2)])
    assert np.percentile(dy, 95) == 0.0
    expected = np.percentile(dy[dy > 0], 95)
    assert severity_scale(g, y) == pytest.approx(expected)
    a, b = compute_severity(g, y), compute_severity(g, 1000 * y)
    assert a.scale == pytest.approx(expected) and b.scale == pytest.approx(1000 * expected)
    np.testing.assert_allclose(b.severity, a.severity, rtol=1e-12)
    np.testing.assert_allclose(cliff_weights(b, 0.1), cliff_weights(a, 0.1), rtol=1e-12)
    assert a.severity.max() < 1.0  # was 1.8 (|Δy| 3 * 0.6, unscaled)
    pa, pb = cliff_pairs(g, y), cliff_pairs(g, 1000 * y)
    assert pa.scale == pytest.approx(expected)
    np.testing.assert_allclose(pb.strength, pa.strength, rtol=1e-12)
    # P95 > 0 (the default path of every committed result): the plain P95, as before
    assert severity_scale(make_graph(TRAIN_ROWS), Y_TRAIN) == pytest.approx(3.0)
