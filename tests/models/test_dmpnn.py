"""D-MPNN: hand-worked message step, a loop reference, invariances, the backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cliffkit.models._dmpnn import (
    DMPNN,
    DMPNNBackbone,
    _DMPNNOnGraphs,
    _exclusive_adjacency,
    reverse_edge_index,
)
from cliffkit.models._featurize import PackedGraphs, one_hot_atoms, one_hot_bonds

# Chain 0-1-2 as directed edges e0: 0->1, e1: 1->0, e2: 1->2, e3: 2->1.
CHAIN = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])


def test_reverse_edge_index():
    assert reverse_edge_index(CHAIN).tolist() == [1, 0, 3, 2]
    shuffled = torch.tensor([[2, 0, 1, 1], [1, 1, 0, 2]])
    assert reverse_edge_index(shuffled).tolist() == [3, 2, 1, 0]
    with pytest.raises(ValueError, match="no reverse edge"):
        reverse_edge_index(torch.tensor([[0, 1], [1, 2]]))


def _scalar_dmpnn(num_layers: int) -> DMPNN:
    """hidden = 1: W_i = [1, 0] (atom feature only), W_h = 1, W_o = [1, 1], no bias."""
    model = DMPNN(1, 1, hidden_channels=1, num_layers=num_layers, ffn_num_layers=0)
    with torch.no_grad():
        model.W_i.weight.copy_(torch.tensor([[1.0, 0.0]]))
        model.W_h.weight.fill_(1.0)
        model.W_o.weight.copy_(torch.tensor([[1.0, 1.0]]))
        model.W_o.bias.zero_()
    return model


def test_hand_worked_message_step():
    # x = (1, 2, 3): a_e = x_src = (1, 2, 2, 3) = h0.
    # Incoming sums: atom0 = h(e1) = 2, atom1 = h(e0) + h(e3) = 4, atom2 = h(e2) = 2.
    # m_e = incoming[src] - h[rev] = (2-2, 4-1, 4-3, 2-2) = (0, 3, 1, 0);
    # h1 = relu(a + m) = (1, 5, 3, 3). Readout: incoming = (5, 1+3, 3) -> relu(x + incoming)
    # = (6, 6, 6); mean 6, sum 18.
    x = torch.tensor([[1.0], [2.0], [3.0]])
    e = torch.zeros(4, 1)
    model = _scalar_dmpnn(num_layers=2)
    rev = reverse_edge_index(CHAIN)
    assert model.encode(x, CHAIN, e, rev).item() == pytest.approx(6.0)
    model.aggr = "sum"
    assert model.encode(x, CHAIN, e, rev).item() == pytest.approx(18.0)
    # Depth 1: no message step; readout incoming = (2, 1+3, 2) -> x + incoming = (3, 6, 5).
    model = _scalar_dmpnn(num_layers=1)
    assert model.encode(x, CHAIN, e, rev).item() == pytest.approx(14.0 / 3.0)


def _loop_reference(model: DMPNN, x, edge_index, edge_attr, batch, n_graphs):
    """The D-MPNN equations with explicit Python loops over edges and atoms."""
    src, dst = edge_index.tolist()
    n_edges, n_atoms = len(src), x.shape[0]
    relu = torch.relu
    a = [model.W_i(torch.cat([x[src[k]], edge_attr[k]])) for k in range(n_edges)]
    h = [relu(v) for v in a]
    for _ in range(1, model.num_layers):
        new = []
        for k in range(n_edges):
            v, w = src[k], dst[k]
            m = torch.zeros(model.hidden_channels)
            for j in range(n_edges):  # bonds u -> v with u != w
                if dst[j] == v and src[j] != w:
                    m = m + h[j]
            new.append(relu(a[k] + model.W_h(m)))
        h = new
    atoms = []
    for v in range(n_atoms):
        m = sum((h[j] for j in range(n_edges) if dst[j] == v), torch.zeros(model.hidden_channels))
        atoms.append(relu(model.W_o(torch.cat([x[v], m]))))
    out = []
    for g in range(n_graphs):
        members = [atoms[v] for v in range(n_atoms) if batch[v] == g]
        out.append(torch.stack(members).mean(0))
    return model.ffn(torch.stack(out))


@pytest.mark.parametrize("sparse", [True, False])
def test_matches_loop_reference_on_real_molecules(sparse):
    torch.manual_seed(0)
    g = PackedGraphs.from_smiles(["CC(=O)Nc1ccc(O)cc1", "C#N", "OCC1OC(O)C(O)C1O", "[Na+]"])
    b = g.batch([0, 1, 2, 3])
    x, e = one_hot_atoms(b.x), one_hot_bonds(b.edge_attr)
    model = DMPNN(x.shape[1], e.shape[1], hidden_channels=8, num_layers=3).eval()
    model.sparse_messages = sparse
    rev = reverse_edge_index(b.edge_index)
    # The featuriser stores both directions of a bond next to each other: rev = e ^ 1.
    assert torch.equal(rev, torch.arange(b.edge_index.shape[1]) ^ 1)
    got = model(x, b.edge_index, e, rev, b.batch, 4)
    want = _loop_reference(model, x, b.edge_index, e, b.batch.tolist(), 4)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # Gradients agree between the sparse and the index form of the message step.
    grads = []
    for flag in (True, False):
        model.zero_grad()
        model.sparse_messages = flag
        model(x, b.edge_index, e, rev, b.batch, 4).sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for g1, g2 in zip(*grads, strict=True):
        torch.testing.assert_close(g1, g2, rtol=1e-4, atol=1e-6)


def test_message_operator_against_dense_definition():
    g = PackedGraphs.from_smiles(["CC(C)(C)O", "c1ccccc1", "C=O"])
    b = g.batch([0, 1, 2])
    src, dst = b.edge_index
    rev = reverse_edge_index(b.edge_index)
    n_edges = src.shape[0]
    a = _exclusive_adjacency(src, dst, rev, b.x.shape[0], torch.float32).to_dense()
    want = torch.zeros(n_edges, n_edges)
    for e in range(n_edges):
        for f in range(n_edges):
            if dst[f] == src[e] and src[f] != dst[e]:
                want[e, f] = 1.0
    torch.testing.assert_close(a, want)
    a_t = _exclusive_adjacency(dst, src, rev, b.x.shape[0], torch.float32).to_dense()
    torch.testing.assert_close(a_t, want.t())
    # sum over atoms of deg * (deg - 1): tert-butanol 4 * 3, benzene 6 * 2 * 1, C=O 0
    assert a.sum() == 4 * 3 + 6 * 2 * 1


def test_shapes_repr_reset_and_permutation_invariance():
    torch.manual_seed(0)
    smiles = ["CCO", "c1ccccc1O", "CC(C)(C)N"]
    net = _DMPNNOnGraphs(hidden_channels=16, num_layers=3).eval()
    g = PackedGraphs.from_smiles(smiles)
    out = net(g.batch([0, 1, 2]))
    assert out.shape == (3,)
    # Another molecule order permutes the outputs.
    torch.testing.assert_close(net(g.batch([2, 0, 1])), out[[2, 0, 1]])
    # Renumbering the atoms (another SMILES of the same molecule) leaves the output unchanged.
    g2 = PackedGraphs.from_smiles(["OCC", "Oc1ccccc1", "NC(C)(C)C"])
    torch.testing.assert_close(net(g2.batch([0, 1, 2])), out, rtol=1e-5, atol=1e-6)
    assert repr(net.dmpnn) == (
        "DMPNN(50, 15, hidden_channels=16, num_layers=3, dropout=0.0, aggr='mean', "
        "out_channels=1)"
    )
    before = [p.detach().clone() for p in net.parameters()]
    net.reset_parameters()
    for p, q in zip(before, net.parameters(), strict=True):
        assert not torch.equal(p, q)


def test_sum_aggregation_and_constructor_checks():
    x = torch.tensor([[1.0], [2.0], [3.0]])
    model = DMPNN(1, 1, hidden_channels=4, aggr="sum")
    assert model(x, CHAIN, torch.zeros(4, 1), reverse_edge_index(CHAIN)).shape == (1, 1)
    with pytest.raises(ValueError, match="aggr"):
        DMPNN(1, 1, aggr="max")


def _lipo_slice(n=100):
    from cliffkit.data import load_dataset

    ds = load_dataset("lipophilicity")
    idx = np.random.default_rng(0).permutation(len(ds))[:n]
    return ds.subset(idx[: int(0.8 * n)]), ds.subset(idx[int(0.8 * n):])


def test_backbone_fit_predict_save_load(tmp_path):
    from cliffkit.models._base import Backbone
    from cliffkit.models._registry import get_backbone

    train, val = _lipo_slice(60)
    w = np.linspace(1.0, 2.0, len(train))
    model = get_backbone("dmpnn", hidden_channels=32, epochs=2, show_progress=False)
    assert isinstance(model, DMPNNBackbone)
    assert repr(model).startswith("DMPNNBackbone(hidden_channels=32, num_layers=3, dropout=0.0")
    model.fit(train, val, sample_weight=w)
    assert len(model.history_) == 2 and all(np.isfinite(h["val_mae"]) for h in model.history_)
    pred = model.predict(val)
    assert pred.shape == (len(val),) and np.all(np.isfinite(pred))
    # After two epochs the predictions are on the scale of the targets (logD ~ 2 +- 1.2).
    assert abs(pred.mean() - train.y.mean()) < 1.5
    loaded = Backbone.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict(val), pred, rtol=1e-5, atol=1e-6)
    # Same seed, same weights.
    again = get_backbone("dmpnn", hidden_channels=32, epochs=2, show_progress=False)
    np.testing.assert_array_equal(again.fit(train, val, sample_weight=w).predict(val), pred)


def test_backbone_rejects_bad_params():
    from cliffkit.errors import InvalidParameterError

    train, val = _lipo_slice(20)
    with pytest.raises(InvalidParameterError, match="'aggr' parameter of DMPNNBackbone"):
        DMPNNBackbone(aggr="max").fit(train, val)
