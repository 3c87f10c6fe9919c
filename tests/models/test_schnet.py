"""SchNet: radius graph against brute force, invariances, the backbone on QM9 geometries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cliffkit.models._schnet import (
    RadiusGraph,
    SchNet,
    SchNetBackbone,
    pack_geometries,
    radius_graph,
)


def _brute_force(pos, batch, cutoff, max_num_neighbors=None):
    edges = set()
    n = pos.shape[0]
    for i in range(n):
        cand = []
        for j in range(n):
            if i != j and batch[i] == batch[j]:
                d = float(torch.linalg.norm(pos[i] - pos[j]))
                if d <= cutoff:
                    cand.append((d, j))
        cand.sort()
        if max_num_neighbors is not None:
            cand = cand[:max_num_neighbors]
        edges |= {(j, i) for _, j in cand}
    return edges


@pytest.mark.parametrize("max_num_neighbors", [None, 3])
def test_radius_graph_matches_brute_force(max_num_neighbors):
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(40, 3, generator=gen) * 2.0
    batch = torch.tensor([0] * 7 + [1] * 1 + [2] * 20 + [3] * 12)
    ei = radius_graph(pos, batch, cutoff=2.5, max_num_neighbors=max_num_neighbors)
    got = set(map(tuple, ei.t().tolist()))
    assert len(got) == ei.shape[1]  # no duplicates
    assert got == _brute_force(pos, batch.tolist(), 2.5, max_num_neighbors)
    assert ei.shape[1] > 40  # the test has real edges


def test_radius_graph_edge_cases():
    assert radius_graph(torch.zeros(0, 3)).shape == (2, 0)
    assert radius_graph(torch.zeros(1, 3)).shape == (2, 0)  # one atom, no self loop
    pos = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0]])
    ei, w = RadiusGraph(cutoff=1.0)(pos, torch.zeros(3, dtype=torch.long))
    assert ei.tolist() == [[1, 0], [0, 1]] and w.tolist() == [1.0, 1.0]  # cutoff inclusive


def _random_rotation(gen):
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.float()


def test_schnet_invariances_shape_repr_reset():
    torch.manual_seed(0)
    model = SchNet(hidden_channels=16, num_filters=16, num_layers=2, num_gaussians=10).eval()
    gen = torch.Generator().manual_seed(1)
    pos = torch.randn(11, 3, generator=gen)
    z = torch.tensor([6, 1, 1, 1, 1, 8, 1, 1, 7, 1, 1])
    batch = torch.tensor([0] * 5 + [1] * 3 + [2] * 3)
    out = model(z, pos, batch)
    assert out.shape == (3, 1)
    rot = _random_rotation(gen)
    moved = pos @ rot.T + torch.tensor([3.0, -2.0, 10.0])
    torch.testing.assert_close(model(z, moved, batch), out, rtol=1e-4, atol=1e-5)
    perm = torch.tensor([3, 0, 4, 2, 1, 7, 5, 6, 10, 8, 9])  # atoms permuted within molecules
    torch.testing.assert_close(model(z[perm], pos[perm], batch), out, rtol=1e-4, atol=1e-5)
    # A changed distance changes the output.
    stretched = pos.clone()
    stretched[1] = stretched[1] * 1.3
    assert not torch.allclose(model(z, stretched, batch)[0], out[0])
    assert repr(model) == (
        "SchNet(hidden_channels=16, num_filters=16, num_layers=2, num_gaussians=10, "
        "cutoff=5.0, readout='add')"
    )
    before = {k: p.detach().clone() for k, p in model.named_parameters()}
    model.reset_parameters()
    weights = [k for k in before if k.endswith("weight")]  # biases are reset to zero
    assert len(weights) >= 8
    for k, p in model.named_parameters():
        if k in weights:
            assert not torch.equal(before[k], p), k
    with pytest.raises(ValueError, match="no dropout"):
        SchNet(dropout=0.1)


def test_pack_geometries_batch():
    z = [np.array([6, 1, 1, 1, 1], np.uint8), np.array([8, 1, 1], np.uint8)]
    pos = [np.arange(15, dtype=np.float32).reshape(5, 3), -np.ones((3, 3), np.float32)]
    b = pack_geometries(z, pos).batch([1, 0])
    assert b.z.tolist() == [8, 1, 1, 6, 1, 1, 1, 1]
    assert b.batch.tolist() == [0, 0, 0, 1, 1, 1, 1, 1] and b.num_graphs == 2
    assert b.pos.dtype == torch.float32 and b.pos[3].tolist() == [0.0, 1.0, 2.0]


def test_backbone_on_qm9_geometries(tmp_path):
    from cliffkit.data import load_dataset
    from cliffkit.models._base import Backbone
    from cliffkit.models._registry import get_backbone

    ds = load_dataset("qm9")
    idx = np.random.default_rng(0).permutation(len(ds))[:120]
    train, val = ds.subset(idx[:96]), ds.subset(idx[96:])
    model = get_backbone("schnet", hidden_channels=16, num_filters=16, num_layers=2,
                         num_gaussians=16, epochs=2, show_progress=False)
    assert isinstance(model, SchNetBackbone)
    model.fit(train, val, target="gap")
    assert model.geometry_counts_ == {"qm9": 96}
    pred = model.predict(val)
    assert pred.shape == (len(val),) and np.all(np.isfinite(pred))
    assert len(model.history_) == 2
    loaded = Backbone.load(model.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict(val), pred, rtol=1e-5, atol=1e-5)
    # Inputs are the DFT geometries with explicit hydrogens: atoms match n_atoms.
    n_atoms = [len(model._geometries[s][0]) for s in val.smiles]
    from rdkit import Chem

    assert n_atoms == [Chem.AddHs(Chem.MolFromSmiles(s)).GetNumAtoms() for s in val.smiles]
    assert math.isfinite(model.best_val_mae_)


def test_backbone_on_rdkit_conformers(tmp_path, monkeypatch):
    from cliffkit.data import load_dataset

    monkeypatch.setenv("CLIFFKIT_CACHE_DIR", str(tmp_path))
    ds = load_dataset("esol")
    train, val = ds.subset(np.arange(0, 24)), ds.subset(np.arange(24, 32))
    model = SchNetBackbone(hidden_channels=8, num_filters=8, num_layers=1, num_gaussians=8,
                           epochs=1, n_jobs=1, show_progress=False).fit(train, val)
    assert model.geometry_counts_ == {"mmff": 24}
    assert model.predict(list(val.smiles)).shape == (8,)
    assert len(list((tmp_path / "conformers").rglob("*.npz"))) == 32
