"""Featurisation: hand-worked atom/bond codes, packed batching against PyG's own collate."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pyg_data = pytest.importorskip("torch_geometric.data")

from cliffkit.errors import InvalidSmilesError  # noqa: E402
from cliffkit.models import (  # noqa: E402
    ATOM_FEATURE_DIM,
    ATOM_FIELD_SIZES,
    BOND_FIELD_SIZES,
    PackedGraphs,
    ecfp_features,
    one_hot_atoms,
    to_graphs,
)


def test_ethanol_codes_by_hand():
    (g,) = to_graphs(["CCO"])
    # element C=2, O=4; degree; charge 0 -> 2; total Hs; SP3 -> 3; not aromatic; no ring
    expected = [[2, 1, 2, 3, 3, 0, 0, 0], [2, 2, 2, 2, 3, 0, 0, 0], [4, 1, 2, 1, 3, 0, 0, 0]]
    assert g.x.tolist() == expected
    assert g.z.tolist() == [6, 6, 8]
    assert g.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert g.edge_attr.tolist() == [[0, 0, 0, 0]] * 4  # single, not conjugated, no ring


def test_charges_aromatic_and_bonds():
    (g,) = to_graphs(["c1ccccc1C(=O)[O-]"])
    assert (g.x[:6, 5] == 1).all() and (g.x[:6, 6] == 1).all()  # aromatic, in ring
    assert g.x[-1, 2].item() == 1  # charge -1 -> code 1
    assert set(g.edge_attr[:, 0].tolist()) == {0, 1, 3}  # single, double, aromatic
    for j, size in enumerate(ATOM_FIELD_SIZES):
        assert int(g.x[:, j].max()) < size
    for j, size in enumerate(BOND_FIELD_SIZES):
        assert int(g.edge_attr[:, j].max()) < size


def test_reverse_edges_are_xor_one():
    g = PackedGraphs.from_smiles(["CC(C)O", "c1ccncc1", "C#N"])
    b = g.batch([2, 0, 1])
    e = torch.arange(b.edge_index.shape[1])
    assert torch.equal(b.edge_index[:, e ^ 1], b.edge_index.flip(0))


def test_batch_matches_pyg_collate():
    smiles = ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "[NH4+]", "C"]
    g = PackedGraphs.from_smiles(smiles)
    order = [3, 1, 4, 0, 2]
    ours = g.batch(order)
    ref = pyg_data.Batch.from_data_list([to_graphs(smiles)[i] for i in order])
    for key in ("x", "z", "edge_index", "edge_attr", "batch", "ptr"):
        assert torch.equal(ours[key], ref[key]), key
    assert ours.num_graphs == 5


def test_one_hot_width_and_rows():
    (g,) = to_graphs(["CCO"])
    oh = one_hot_atoms(g.x)
    assert oh.shape == (3, ATOM_FEATURE_DIM)
    assert torch.equal(oh.sum(1), torch.full((3,), float(len(ATOM_FIELD_SIZES))))


def test_ecfp_matches_rdkit():
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1"]
    X = ecfp_features(smiles, radius=2, n_bits=1024)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    ref = np.stack([gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in smiles])
    assert X.shape == (3, 1024)
    np.testing.assert_array_equal(X, ref)


def test_invalid_smiles_error_names_position():
    with pytest.raises(InvalidSmilesError, match=r"position.*1 \('C1CC'\)"):
        PackedGraphs.from_smiles(["CCO", "C1CC"])


@pytest.mark.parametrize("blank", ["", "  "])
def test_empty_smiles_is_refused_not_an_all_zero_molecule(blank):
    # h46 F4: a zero-atom molecule was featurised as no bits / no atoms
    with pytest.raises(InvalidSmilesError, match=r"positions 1 .*empty or blank"):
        ecfp_features(["CCO", blank])
    with pytest.raises(InvalidSmilesError, match=r"positions 0 .*empty or blank"):
        PackedGraphs.from_smiles([blank, "CCO"])


def test_cached_features_cannot_be_edited_through_a_caller():
    # h46 F6: the in-process cache handed out its own arrays; an in-place edit by one
    # caller changed what every later call returned
    import warnings

    smiles = ["CCO", "c1ccccc1O", "CC(=O)N"]
    X = ecfp_features(smiles)
    before = X.copy()
    with pytest.raises(ValueError, match="read-only"):
        X[:] = 0
    np.testing.assert_array_equal(ecfp_features(smiles), before)
    g = PackedGraphs.from_smiles(smiles)
    x0 = g.x.clone()
    g.x[:, 0] = 15  # a pack owns its tensors
    assert PackedGraphs.from_smiles(smiles).x.equal(x0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns about a non-writable numpy array
        g2 = PackedGraphs.from_smiles(smiles)
        b = g2.batch([2, 0])
        from cliffkit.models._featurize import TensorBatcher

        t = TensorBatcher(ecfp_features(smiles))
        t.X[0, 0] = 7.0
    assert b.num_graphs == 2 and ecfp_features(smiles)[0, 0] == before[0, 0]
