"""Issue 18 (torch side): the ACA triplet loss of ACANet and stochastic weight averaging."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from cliffkit.errors import InvalidParameterError
from cliffkit.loss import ACALoss, aca_triplet_loss, make_loss, triplet_mask

Y = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0])


def _brute(emb: np.ndarray, y: np.ndarray, lower: float, upper: float, p: float, gate=None):
    """Every (a, p, n) by loops: the ACANet definition written out (``gate``: allowed (a, n))."""
    vals = []
    b = len(y)
    for a, q, n in itertools.product(range(b), repeat=3):
        if len({a, q, n}) < 3 or (gate is not None and (a, n) not in gate):
            continue
        if abs(y[a] - y[q]) < lower and abs(y[a] - y[n]) >= upper:
            d_ap = np.sum(np.abs(emb[a] - emb[q]) ** p) ** (1 / p)
            d_an = np.sum(np.abs(emb[a] - emb[n]) ** p) ** (1 / p)
            vals.append(max(0.0, d_ap - d_an + abs(y[a] - y[n]) - abs(y[a] - y[q])))
    vals = np.array(vals)
    return (vals.mean() if vals.size else 0.0), vals.size, int((vals > 0).sum())


@pytest.mark.parametrize("lower,upper,p", [(1.0, 1.0, 2.0), (0.3, 1.2, 2.0), (0.5, 0.5, 1.0)])
def test_triplet_loss_matches_brute_force(lower, upper, p):
    rng = np.random.default_rng(0)
    # labels with exact ties at the cut-offs (0.0 / 1.0 / 0.5 apart) and a spread
    y = np.array([0.0, 0.0, 1.0, 0.5, 2.3, -0.7, 1.5, 0.2, 3.1])
    emb = rng.normal(size=(len(y), 4))
    want, n_want, act_want = _brute(emb, y, lower, upper, p)
    got, n_got, act_got = aca_triplet_loss(torch.tensor(emb), torch.tensor(y), cliff_lower=lower,
                                           cliff_upper=upper, p=p)
    assert n_got == n_want > 0 and act_got == act_want
    assert float(got) == pytest.approx(want, rel=1e-10)
    mask = triplet_mask(torch.tensor(y), lower, upper).numpy()
    assert mask.sum() == n_want
    for a, q, n in zip(*np.nonzero(mask), strict=True):
        assert len({a, q, n}) == 3 and abs(y[a] - y[q]) < lower <= upper <= abs(y[a] - y[n])


def test_gated_triplets_match_brute_force_and_the_module_reads_pair_index():
    rng = np.random.default_rng(3)
    y = np.array([0.0, 0.2, 1.5, -1.2, 0.4, 2.2, 0.1])
    emb = rng.normal(size=(len(y), 3))
    pairs = [(0, 2), (5, 1), (3, 4), (6, 0)]  # training cliff pairs, in-batch positions
    allowed = {(i, j) for i, j in pairs} | {(j, i) for i, j in pairs}
    want, n_want, act_want = _brute(emb, y, 1.0, 1.0, 2.0, gate=allowed)
    gate = torch.zeros(len(y), len(y), dtype=torch.bool)
    for i, j in allowed:
        gate[i, j] = True
    got, n_got, act_got = aca_triplet_loss(torch.tensor(emb), torch.tensor(y), negative_gate=gate)
    assert n_got == n_want > 0 and act_got == act_want
    assert float(got) == pytest.approx(want, rel=1e-10)
    mod = ACALoss(base="l1", alpha=1.0, gate=True)
    pi = torch.tensor(pairs).t()
    pred = torch.zeros(len(y), dtype=torch.float64)
    out = mod(pred, torch.tensor(y), pair_index=pi, embedding=torch.tensor(emb))
    assert mod.last_stats["n_mined"] == n_want
    assert float(out) == pytest.approx(np.abs(y).mean() + want, rel=1e-10)
    mod(pred, torch.tensor(y), embedding=torch.tensor(emb))  # no pairs in the batch: no triplet
    assert mod.last_stats["n_mined"] == 0


def test_gated_aca_spec_carries_the_cliff_pairs_and_a_pair_sampler():
    with pytest.raises(InvalidParameterError, match="cliff pairs"):
        make_loss("aca", Y, aca_params={"gate": True})
    spec = make_loss("aca", Y, pairs=np.array([[0, 5], [1, 4]]), aca_params={"gate": True})
    assert spec.uses_pairs and spec.params["gate"] is True and spec.params["n_pairs"] == 2
    from cliffkit.models import get_backbone

    kw = spec.fit_kwargs(get_backbone("mlp"))
    assert kw["pairs"].tolist() == [[0, 5], [1, 4]] and kw["batch_sampler"] is not None
    assert isinstance(kw["loss"], ACALoss) and kw["loss"].gate
    assert kw["loss"].regression.beta == 0.0  # the pairs gate the triplets; no pair term


def test_triplet_gradient_equals_the_dense_b_cubed_form():
    """The sorted suffix-sum form has the value and gradient of the plain (a, p, n) sum."""
    rng = np.random.default_rng(1)
    y = torch.tensor(rng.normal(size=20))
    emb = torch.tensor(rng.normal(size=(20, 3)), requires_grad=True)
    loss, n, act = aca_triplet_loss(emb, y, cliff_lower=0.5, cliff_upper=1.0)
    loss.backward()
    fast = emb.grad.clone()
    emb.grad = None
    d = torch.cdist(emb, emb)
    dy = (y[:, None] - y[None, :]).abs()
    m = triplet_mask(y, 0.5, 1.0)
    t = torch.relu(d[:, :, None] - d[:, None, :] + dy[:, None, :] - dy[:, :, None])
    dense = (t * m).sum() / m.sum()
    dense.backward()
    assert n == int(m.sum()) and act == int(((t > 0) & m).sum())
    assert float(loss) == pytest.approx(float(dense), rel=1e-10)
    torch.testing.assert_close(fast, emb.grad, rtol=1e-8, atol=1e-10)


def test_no_mined_triplet_adds_nothing_and_keeps_the_graph():
    emb = torch.randn(4, 2, requires_grad=True)
    loss, n, act = aca_triplet_loss(emb, torch.zeros(4))  # all labels equal: no negative
    assert (float(loss.detach()), n, act) == (0.0, 0, 0)
    loss.backward()
    assert torch.equal(emb.grad, torch.zeros(4, 2))


def test_aca_loss_is_regression_plus_alpha_triplet_and_pulls_embeddings():
    pred = torch.tensor([0.1, 0.4, 1.8], requires_grad=True)
    y = torch.tensor([0.0, 0.5, 2.0])
    emb = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 0.1]], requires_grad=True)
    mod = ACALoss(base="mse", alpha=0.3, label_scale=1.5)
    out = mod(pred, y, embedding=emb)
    tsm, n, _ = aca_triplet_loss(emb, y * 1.5)  # mining and margins in label units
    assert n == 2 and float(out.detach()) == pytest.approx(float(((pred - y) ** 2).mean() + 0.3 * tsm))
    out.backward()
    assert emb.grad.abs().sum() > 0 and pred.grad.abs().sum() > 0
    with pytest.raises(InvalidParameterError, match="embedding"):
        mod(pred.detach(), y)
    assert float(ACALoss(alpha=0.0)(pred.detach(), y)) == pytest.approx(
        float(((pred.detach() - y) ** 2).mean()))


@pytest.mark.parametrize("kwargs,match", [
    ({"aca_params": {"alpha": -1.0}}, "alpha"),
    ({"aca_params": {"cliff_lower": 2.0, "cliff_upper": 1.0}}, "cliff_lower <= cliff_upper"),
    ({"aca_params": {"cliff_upper": 0.0}}, "cliff_upper"),
    ({"aca_params": {"margin": 1.0}}, "no parameter 'margin'"),
    ({"aca_params": {"p": 0.5}}, "'p'"),
])
def test_aca_bad_params(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_loss("aca", Y, **kwargs)


def test_swa_bad_params_and_contradictions():
    with pytest.raises(InvalidParameterError, match="no parameter 'start'"):
        make_loss("swa", Y, swa_params={"start": 3})
    with pytest.raises(InvalidParameterError, match="fraction"):
        make_loss("swa", Y, swa_params={"fraction": 0.0})
    with pytest.raises(InvalidParameterError, match="contradicts"):
        make_loss("swa", Y, swa=False)
    with pytest.raises(InvalidParameterError, match="SWA is off"):
        make_loss("plain", Y, swa_params={"epochs": 3})


def test_specs_record_their_parameters():
    spec = make_loss("aca", Y, aca_params={"alpha": 0.5})
    assert spec.params == {"alpha": 0.5, "cliff_lower": 1.0, "cliff_upper": 1.0, "p": 2.0,
                           "gate": False}
    assert spec.aca["label_scale"] == pytest.approx(float(Y.std()))
    assert spec.sample_weight().tolist() == [1.0] * 6 and spec.swa is None
    swa = make_loss("swa", Y)
    assert swa.params["swa"] == {"fraction": 0.25, "epochs": None, "lr": None, "anneal_epochs": 1}
    both = make_loss("aca", Y, swa=True, swa_params={"epochs": 2})
    mod = both.make_module("l1")
    assert isinstance(mod, ACALoss) and mod.swa["epochs"] == 2 and mod.base == "l1"


@pytest.mark.parametrize("name", ["aca", "swa", "cliff-pair-swa"])
@pytest.mark.parametrize("backbone", ["lgbm", "svm"])
def test_backbones_without_a_torch_trainer_get_a_clear_error(name, backbone):
    from cliffkit.cliffs import compute_severity
    from cliffkit.models import get_backbone
    from cliffkit.similarity import compute_fingerprints, find_neighbors

    smiles = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "c1ccccc1"]
    sev = compute_severity(find_neighbors(compute_fingerprints(smiles), k=3, min_similarity=0.1), Y)
    spec = make_loss(name, Y, severity=sev, pairs=np.array([[0, 1]]))
    with pytest.raises(InvalidParameterError, match="no torch trainer") as err:
        spec.fit_kwargs(get_backbone(backbone))
    assert "\n" not in str(err.value)


def test_latent_layer_is_the_input_of_each_output_layer():
    from cliffkit.models import get_backbone, latent_layer

    for name, path in [("mlp", lambda m: m.net[-1]), ("gin", lambda m: m.head[-1]),
                       ("dmpnn", lambda m: m.dmpnn.ffn[-1])]:
        module = get_backbone(name, hidden_channels=8, n_bits=64)._build_module() \
            if name == "mlp" else get_backbone(name, hidden_channels=8)._build_module()
        assert latent_layer(module) is path(module)


# ------------------------------------------------------------ trained end to end
@pytest.fixture(scope="module")
def small():
    from cliffkit.data import load_dataset

    ds = load_dataset("esol")
    return ds, ds.subset(np.arange(0, 120)), ds.subset(np.arange(120, 150)), \
        ds.subset(np.arange(150, 170))


def _fit(small, backbone, loss, **loss_params):
    from cliffkit.models import get_backbone

    ds, train, val, test = small
    spec = make_loss(loss, train.y[:, 0], **loss_params)
    params = {"epochs": 3, "device": "cpu", "show_progress": False, "random_state": 0,
              "hidden_channels": 16}
    if backbone == "mlp":
        params["n_bits"] = 256
    model = get_backbone(backbone, **params)
    model.fit(train, val, **spec.fit_kwargs(model))
    return model, model.predict(test), model.predict(val)


@pytest.mark.parametrize("backbone", ["mlp", "gin"])
def test_aca_trains_logs_triplets_and_is_deterministic(small, backbone):
    model, a, _ = _fit(small, backbone, "aca", aca_params={"alpha": 0.5})
    _, b, _ = _fit(small, backbone, "aca", aca_params={"alpha": 0.5})
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))
    assert all(h["triplets_mined"] > 0 for h in model.history_)
    from cliffkit.models import latent_layer

    assert not latent_layer(model.module_)._forward_pre_hooks  # the hook is gone after fit
    _, plain, _ = _fit(small, backbone, "plain")
    assert not np.array_equal(a, plain)  # the triplet term changed training
    _, zero, _ = _fit(small, backbone, "aca", aca_params={"alpha": 0.0})
    np.testing.assert_array_equal(zero, plain)  # α = 0 is plain, bit for bit


def test_gated_aca_trains_through_the_split_seam():
    from cliffkit.data import load_dataset
    from cliffkit.experiment import fit
    from cliffkit.split import get_splitter

    ds = load_dataset("esol")
    ds = ds.subset(np.arange(300))
    split = get_splitter("random", random_state=0, test_size=0.2, val_size=0.1).make_split(ds)
    params = {"epochs": 2, "device": "cpu", "show_progress": False, "hidden_channels": 16,
              "n_bits": 256}
    model, spec = fit(ds, split, "mlp", "aca", seed=0, backbone_params=params,
                      loss_params={"aca_params": {"gate": True}})
    assert spec.uses_pairs and spec.pairs.shape[0] > 0 and spec.severity_params
    gated = [h["triplets_mined"] for h in model.history_]
    model2, _ = fit(ds, split, "mlp", "aca", seed=0, backbone_params=params)
    assert 0 < gated[0] < model2.history_[0]["triplets_mined"]


@pytest.mark.parametrize("backbone", ["mlp", "gin"])
def test_swa_averages_after_early_stopping_and_is_deterministic(small, backbone):
    model, a, val_pred = _fit(small, backbone, "swa", swa_params={"epochs": 2})
    _, b, _ = _fit(small, backbone, "swa", swa_params={"epochs": 2})
    np.testing.assert_array_equal(a, b)
    phases = [h.get("phase") for h in model.history_]
    assert phases == [None] * 3 + ["swa", "swa"]
    last = model.train_extra_
    assert last["swa_epochs"] == 2
    val_y = small[2].y[:, 0]
    # the logged validation MAE is that of the final (averaged) model
    assert last["swa_val_mae"] == pytest.approx(float(np.mean(np.abs(val_pred - val_y))), rel=1e-6)
    plain_model, plain, _ = _fit(small, backbone, "plain")
    assert not np.array_equal(a, plain)
    # the first phase is the plain fit, bit for bit: the gain is the averaging's alone
    first = [h["val_mae"] for h in model.history_ if h.get("phase") is None]
    assert first == [h["val_mae"] for h in plain_model.history_]


def test_swa_recomputes_batchnorm_statistics_for_the_averaged_weights(small):
    import copy

    from torch.optim.swa_utils import update_bn

    model, _, _ = _fit(small, "gin", "swa", swa_params={"epochs": 2})
    module = copy.deepcopy(model.module_)
    bns = [m for m in module.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bns
    stored = [bn.running_mean.clone() for bn in bns]
    for bn in bns:  # scramble, then recompute from the training set with the final weights
        bn.running_mean.fill_(123.0)
    inputs = model._make_inputs(list(small[1].smiles))
    with torch.no_grad():
        update_bn([inputs.batch(torch.arange(len(inputs)))], module)
    for bn, want in zip(bns, stored, strict=True):
        torch.testing.assert_close(bn.running_mean, want, rtol=1e-5, atol=1e-6)


def test_swa_default_length_is_a_quarter_of_the_epochs_trained(small):
    model, _, _ = _fit(small, "mlp", "swa")
    assert model.train_extra_["swa_epochs"] == math.ceil(0.25 * 3) == 1
    assert len(model.history_) == 4


def test_aca_on_schnet_pools_its_per_atom_latents_per_molecule(monkeypatch, data_dir):
    """SchNet's output layer maps each atom; the embedding is their sum per molecule."""
    from cliffkit.data import load_dataset
    from cliffkit.models import get_backbone

    ds = load_dataset("qm9")
    idx = np.random.default_rng(0).permutation(len(ds))[:80]
    train, val = ds.subset(idx[:64]), ds.subset(idx[64:])
    t = ds.target_index("gap")
    import cliffkit.loss._aca as aca_module

    seen = []
    orig = aca_module.aca_triplet_loss

    def spy(embedding, y, **kw):
        seen.append(tuple(embedding.shape))
        return orig(embedding, y, **kw)

    monkeypatch.setattr(aca_module, "aca_triplet_loss", spy)
    spec = make_loss("aca", train.y[:, t], aca_params={"cliff_lower": 0.5, "cliff_upper": 0.5})
    model = get_backbone("schnet", hidden_channels=16, num_filters=16, num_layers=2,
                         num_gaussians=16, epochs=1, batch_size=32, show_progress=False,
                         device="cpu")
    model.fit(train, val, target="gap", **spec.fit_kwargs(model))
    assert seen == [(32, 8), (32, 8)]  # one row per molecule (hidden_channels // 2 wide)
    assert model.history_[0]["triplets_mined"] > 0


@pytest.mark.parametrize("readout", ["add", "mean"])
def test_per_atom_latents_are_pooled_with_the_models_readout(readout):
    from types import SimpleNamespace

    from cliffkit.train._trainer import _LatentCapture

    model = torch.nn.Sequential(torch.nn.Linear(2, 1))
    model.readout = readout
    cap = _LatentCapture(model)
    cap.value = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0], [9.0, 10.0]])
    got = cap.take(2, SimpleNamespace(batch=torch.tensor([0, 0, 1, 1, 1])))
    want = torch.tensor([[4.0, 6.0], [21.0, 24.0]])
    torch.testing.assert_close(got, want if readout == "add" else want / torch.tensor([[2.0], [3.0]]))
    cap.value = torch.zeros(4, 2)
    with pytest.raises(InvalidParameterError, match="one latent embedding per molecule"):
        cap.take(2, SimpleNamespace(batch=torch.tensor([0, 1, 1])))
