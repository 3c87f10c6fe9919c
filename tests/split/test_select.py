"""Greedy support-preserving selection and CSR helpers on hand-made graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from cliffkit.split._graph import CSRGraph, from_edges, restrict_rows, transpose
from cliffkit.split._select import SupportState, select_heldout, top_contributors


def graph(rows, sims=None):
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    idx = np.array([j for r in rows for j in r], dtype=np.int64)
    if sims is None:
        sims = np.ones(idx.size) * 0.5
    return CSRGraph(indptr, idx, np.asarray(sims, dtype=float), len(rows), {})


CHAIN = [[1], [0, 2], [1, 3], [2]]  # 0 - 1 - 2 - 3


def test_chain_never_strips_last_support():
    state = SupportState.from_graph(graph(CHAIN))
    chosen, from_cliff = select_heldout(state, 2, 0, [], np.array([0, 1, 2, 3]), [])
    # 0 is taken; 1 would strip 0's only neighbour; 2 is fine
    assert chosen.tolist() == [0, 2] and from_cliff.sum() == 0
    assert state.support.tolist() == [1, 0, 2, 0]  # 3 lost its only neighbour (not held)
    assert state.check()


def test_lock_keeps_partner_in_train_and_cliff_quota():
    state = SupportState.from_graph(graph(CHAIN))
    locks = [np.array([[-1], [2], [-1], [-1]])]
    chosen, from_cliff = select_heldout(state, 2, 1, [np.array([1])], np.array([2, 3, 0]), locks)
    assert chosen.tolist() == [1, 3] and from_cliff.tolist() == [True, False]
    assert state.locked[2] and not state.held[2]


def test_isolated_molecule_is_never_held_out():
    state = SupportState.from_graph(graph([[], [2], [1]]))
    chosen, _ = select_heldout(state, 3, 0, [], np.array([0, 1, 2]), [])
    assert chosen.tolist() == [1]


def test_rest_pool_dry_falls_back_to_cliff_pool():
    state = SupportState.from_graph(graph([[1, 2], [0, 2], [0, 1]]))
    pools = [np.array([0, 1])]
    locks = [np.full((3, 1), -1)]
    chosen, from_cliff = select_heldout(state, 2, 0, pools, np.array([], dtype=np.int64), locks)
    assert chosen.tolist() == [0, 1] and from_cliff.sum() == 2


@st.composite
def random_case(draw):
    n = draw(st.integers(2, 25))
    rows = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        rows.append(draw(st.lists(st.sampled_from(others), unique=True, max_size=5)) if others else [])
    order = draw(st.permutations(range(n)))
    n_sel = draw(st.integers(0, n))
    n_cliff = draw(st.integers(0, n_sel))
    split = draw(st.integers(0, n))
    return rows, np.array(order[:split], dtype=np.int64), np.array(order[split:], dtype=np.int64), n_sel, n_cliff


@given(random_case())
def test_every_held_molecule_keeps_a_training_neighbour(case):
    rows, pool, rest, n_sel, n_cliff = case
    state = SupportState.from_graph(graph(rows))
    locks = [np.full((len(rows), 1), -1)]
    a, _ = select_heldout(state, n_sel, n_cliff, [pool], rest, locks)
    b, _ = select_heldout(state, n_sel, n_cliff, [pool], rest, locks)  # a second set (validation)
    held = np.concatenate([a, b])
    assert np.unique(held).size == held.size
    assert len(a) <= n_sel and len(b) <= n_sel
    in_train = np.ones(len(rows), dtype=bool)
    in_train[held] = False
    for i in held:  # recount from scratch
        assert any(in_train[j] for j in rows[i]), (i, rows[i])
    assert state.check()


def test_transpose():
    g = graph([[1, 2], [2], [0]])
    tp, ti = transpose(g.indptr, g.indices, 3)
    assert [ti[tp[j]:tp[j + 1]].tolist() for j in range(3)] == [[2], [0], [0, 1]]


def test_restrict_rows_keeps_order_and_truncates():
    g = graph([[3, 1, 2], [0, 3], [1], [2, 0, 1]], sims=[0.9, 0.8, 0.7, 0.9, 0.6, 0.5, 0.9, 0.8, 0.7])
    ref_pos = np.array([-1, 0, 1, 2])  # reference subset = molecules 1, 2, 3
    out, n_kept = restrict_rows(g, np.array([0, 3]), ref_pos, k=2)
    # row 0: 3 (0.9), 1 (0.8), 2 (0.7) -> first two -> positions 2, 0
    assert out.indices[out.indptr[0]:out.indptr[1]].tolist() == [2, 0]
    assert out.similarities[out.indptr[0]:out.indptr[1]].tolist() == [0.9, 0.8]
    # row 3: 2 (0.9), 0 (outside), 1 (0.7) -> positions 1, 0
    assert out.indices[out.indptr[1]:out.indptr[2]].tolist() == [1, 0]
    assert n_kept.tolist() == [3, 2] and out.n_reference == 3


def test_top_contributors():
    g = graph([[1, 2], [0], [0]], sims=[0.9, 0.5, 0.9, 0.5])
    y = np.array([0.0, 1.0, 3.0])  # strengths of row 0: 0.9, 1.5 -> 2 first
    top = top_contributors(g, y, 2)
    assert top.tolist() == [[2, 1], [0, -1], [0, -1]]


def test_from_edges_empty():
    z = np.zeros(0, dtype=np.int64)
    g = from_edges(3, z, z, np.zeros(0), 5, {})
    assert g.indptr.tolist() == [0, 0, 0, 0] and g.first_similarity().tolist() == [0, 0, 0]


def test_matching_pairs_within_caliper_and_handles_ties():
    from cliffkit.split import match_controls

    # 40 cliff and 60 smooth cases with identical covariates: everything can be matched,
    # even though each cliff case's 32 nearest candidates are shared (all at distance 0)
    cov = np.zeros((100, 1))
    cl, sm = np.arange(40), np.arange(40, 100)
    a, b = match_controls(cl, sm, cov, np.random.default_rng(0))
    assert len(a) == len(b) == 40 and len(set(b.tolist())) == 40
    # far apart groups: nothing within the caliper
    cov = np.r_[np.zeros((5, 1)), np.ones((5, 1)) * 10]
    a, b = match_controls(np.arange(5), np.arange(5, 10), cov, np.random.default_rng(0))
    assert len(a) == 0
    # 1-D hand case: each cliff takes its nearest free smooth case
    cov = np.array([[0.0], [1.0], [0.05], [1.04], [5.0]])
    a, b = match_controls(np.array([0, 1]), np.array([2, 3, 4]), cov, np.random.default_rng(0), caliper=0.1)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 2), (1, 3)]
