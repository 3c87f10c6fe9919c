"""The ``moleculeace`` cliff definition (MoleculeACERule) against hand-made graphs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cliffkit.cliffs import assign_strata, get_cliff_definition, moleculeace_cliffs
from cliffkit.errors import DataWarning, InvalidParameterError

from ._graphs import make_graph


def test_partner_is_a_neighbour_that_makes_the_cliff():
    """Review h42 F1: the partner gate checked |Δy| only, so a dissimilar neighbour
    (similarity 0.5, Δy 3, strength 1.5) beat the one MoleculeACE neighbour (0.95, Δy 1.2,
    strength 1.14) that makes the molecule a cliff."""
    g = make_graph([[(0, 0.95), (1, 0.5)]], n_reference=2)
    sev = get_cliff_definition("moleculeace").severity(g, np.array([0.0]), np.array([1.2, 3.0]))
    assert sev.severity.tolist() == [1.0]
    assert sev.partner.tolist() == [0] and sev.partner_similarity.tolist() == [0.95]
    assert sev.partner_delta.tolist() == [1.2]
    # no MoleculeACE neighbour: severity 0, partner the strongest neighbour overall
    sev = get_cliff_definition("moleculeace").severity(g, np.array([0.0]), np.array([0.5, 3.0]))
    assert sev.severity.tolist() == [0.0] and sev.partner.tolist() == [1]


def test_exactly_ten_fold_is_not_a_cliff_as_in_moleculeace():
    """Review h42 F3: MoleculeACE keeps pairs with fold > potency_fold (and similarity >=
    threshold), as moleculeace_cliffs does; the rule used |Δy| >= 1, so a pair exactly
    10-fold apart was a cliff for one and not the other."""
    smi = ["CCCCCCCCCCO", "CCCCCCCCCCN"]  # SMILES similarity 1 - 1/11 >= 0.9
    g = make_graph([[(1, 0.95)], [(0, 0.95)]])
    rule = get_cliff_definition("moleculeace")
    for nM, cliff in (([10.0, 100.0], False), ([10.0, 100.01], True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)  # "fold 10 <= potency_fold": no cliff
            ace = moleculeace_cliffs(smi, nM).tolist()
        y = -np.log10(np.array(nM))  # MoleculeACE's y
        assert ace == [cliff, cliff]
        assert rule.severity(g, y).severity.tolist() == [float(cliff)] * 2
        assert rule.pairs(g, y).tolist() == ([[0, 1]] if cliff else [])
    # similarity exactly at the threshold is similar (>=), for both
    at = make_graph([[(1, 0.9)], [(0, 0.9)]])
    assert rule.severity(at, np.array([0.0, 2.0])).severity.tolist() == [1.0, 1.0]


def _pairs_graph(n_cliff_pairs):
    """10 training molecules in 5 neighbour pairs, the first n_cliff_pairs of them
    MoleculeACE cliffs (similarity 0.95, 100-fold), the others not (0.5, 1.26-fold)."""
    y = np.zeros(10)
    rows = [[] for _ in range(10)]
    for p in range(5):
        a, b = 2 * p, 2 * p + 1
        cliff = p < n_cliff_pairs
        y[b] = 2.0 if cliff else 0.1
        s = 0.95 if cliff else 0.5
        rows[a].append((b, s))
        rows[b].append((a, s))
    return make_graph(rows), y


@pytest.mark.parametrize("n_cliff_pairs", [1, 2, 3, 5])
def test_strata_of_binary_severities_are_cliff_or_smooth(n_cliff_pairs):
    """Review h42 F2: 0/1 severities cut at the training P80/P50 labelled no test
    molecule a cliff once >20% of training molecules were cliffs, and cliff molecules
    'smooth' above 50%. Now cliff = severity 1, smooth = 0, at any share."""
    g_tt, y_tr = _pairs_graph(n_cliff_pairs)
    rule = get_cliff_definition("moleculeace")
    tr = rule.severity(g_tt, y_tr)
    g_ht = make_graph([[(0, 0.95)], [(8, 0.5)], []], n_reference=10)
    ho = rule.severity(g_ht, np.array([2.0, 0.1, 0.0]), y_tr, m=tr.m, scale=tr.scale)
    st = assign_strata(ho, tr)
    assert st.labels.tolist() == ["cliff", "smooth", "unsupported"]
    assert tr.params["binary"] is True
    assert st.mode == "binary" and st.cliff_threshold == st.smooth_threshold == 0.0
    assert st.params == {"definition": "moleculeace"}
    with pytest.raises(InvalidParameterError, match="sets its own thresholds; delta=1.0"):
        assign_strata(ho, tr, delta=1.0)
    with pytest.raises(InvalidParameterError, match="delta=1.0 does not apply"):
        rule.severity(g_ht, np.array([2.0, 0.1, 0.0]), y_tr, delta=1.0)
    cliffkit = get_cliff_definition("cliffkit").severity(g_tt, y_tr)
    with pytest.raises(InvalidParameterError, match="different cliff definitions"):
        assign_strata(ho, cliffkit)


def test_pairs_from_binary_severity_take_every_cliff_molecule():
    """The graph-free pairs of CliffLoss cut severities at a quantile too: with 60% of
    molecules MoleculeACE cliffs the P80 of 0/1 is 1 and no pair was left."""
    from cliffkit.loss import cliff_pairs_from_severity

    g, y = _pairs_graph(3)
    sev = get_cliff_definition("moleculeace").severity(g, y)
    assert np.quantile(sev.severity, 0.8) == 1.0
    np.testing.assert_array_equal(cliff_pairs_from_severity(sev), [[0, 1], [2, 3], [4, 5]])
