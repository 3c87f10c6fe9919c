"""Trainer: plug-in contract (loss, pairs, sampler, callbacks), divergence, log, standardising."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cliffkit.errors import ShapeMismatchError, TrainingDivergedError  # noqa: E402
from cliffkit.models import TensorBatcher  # noqa: E402
from cliffkit.train import Trainer  # noqa: E402


class Linear(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = torch.nn.Linear(d, 1)

    def reset_parameters(self):
        self.lin.reset_parameters()

    def forward(self, x):
        return self.lin(x).squeeze(-1)


def _data(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = 10.0 + 3.0 * (X @ rng.normal(size=d))
    return X, y


def _fit(trainer=None, **kw):
    X, y = _data()
    trainer = trainer or Trainer(epochs=30, batch_size=16, lr=0.05, device="cpu",
                                 show_progress=False)
    model = Linear(X.shape[1])
    res = trainer.fit(model, TensorBatcher(X[:100]), TensorBatcher(X[100:]), y[:100],
                      y[100:], **kw)
    return model, res, trainer, X, y


def test_learns_linear_target_and_standardises_on_train():
    model, res, trainer, X, y = _fit()
    assert res.y_mean == pytest.approx(y[:100].mean())
    assert res.y_std == pytest.approx(y[:100].std())
    pred = trainer.predict(model, TensorBatcher(X[100:]), res.y_mean, res.y_std)
    assert np.mean(np.abs(pred - y[100:])) < 0.05 * y.std()
    assert res.best_val_mae == pytest.approx(min(h["val_mae"] for h in res.history))
    assert res.history[res.best_epoch - 1]["val_mae"] == res.best_val_mae


def test_best_checkpoint_is_restored():
    X, y = _data()
    trainer = Trainer(epochs=40, batch_size=16, lr=0.05, device="cpu", show_progress=False)
    model = Linear(5)
    res = trainer.fit(model, TensorBatcher(X[:100]), TensorBatcher(X[100:]), y[:100], y[100:])
    pred = trainer.predict(model, TensorBatcher(X[100:]), res.y_mean, res.y_std)
    assert np.mean(np.abs(pred - y[100:])) == pytest.approx(res.best_val_mae, rel=1e-5)


def test_loss_object_gets_weights_and_pair_positions():
    seen = []

    def loss(pred, target, weight=None, pair_index=None):
        seen.append((weight.clone(), pair_index.clone()))
        return (weight * (pred - target) ** 2).sum() / weight.sum()

    w = np.arange(100, dtype=float) + 1.0
    pairs = np.array([[0, 1], [2, 50]])
    batches = [[0, 1, 2, 3], [50, 2, 60, 61]] + [list(range(4 + 4 * k, 8 + 4 * k))
                                                 for k in range(11)]
    _fit(Trainer(epochs=1, batch_size=4, device="cpu", show_progress=False),
         sample_weight=w, loss=loss, pairs=pairs, batch_sampler=batches)
    w0, p0 = seen[0]
    assert w0.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert p0.tolist() == [[0], [1]]  # pair (0, 1) at positions 0, 1; (2, 50) split
    w1, p1 = seen[1]
    assert w1.tolist() == [51.0, 3.0, 61.0, 62.0]
    assert p1.tolist() == [[1], [0]]  # pair (2, 50): 2 at position 1, 50 at position 0


def test_epoch_callback_updates_weights_logs_and_stops(tmp_path):
    seen_w = []

    def loss(pred, target, weight=None, pair_index=None):
        seen_w.append(float(weight[0]))
        return ((pred - target) ** 2).mean()

    calls = []

    def cb(epoch, val_pred):
        calls.append((epoch, val_pred.shape))
        return {"lam": 0.5 * epoch, "sample_weight": np.full(100, epoch + 1.0),
                "stop": epoch == 3}

    log = tmp_path / "log.jsonl"
    _, res, *_ = _fit(Trainer(epochs=10, batch_size=50, device="cpu", show_progress=False),
                      sample_weight=np.ones(100), loss=loss, epoch_callback=cb, log_path=log)
    assert calls == [(1, (20,)), (2, (20,)), (3, (20,))]
    assert seen_w == [1.0, 1.0, 2.0, 2.0, 3.0, 3.0]  # two batches per epoch
    lines = [json.loads(s) for s in log.read_text().splitlines()]
    assert [r["lam"] for r in lines] == [0.5, 1.0, 1.5]
    assert {"epoch", "train_loss", "val_mae", "val_rmse", "lr", "mol_per_s"} <= set(lines[0])
    assert res.n_epochs == 3 and res.stopped_early


def test_early_stopping_patience():
    # lr tiny: validation never improves after epoch 1 beyond noise -> stops at patience
    _, res, *_ = _fit(Trainer(epochs=50, batch_size=16, lr=1e-9, patience=3, device="cpu",
                              show_progress=False))
    assert res.n_epochs < 50 and res.n_epochs - res.best_epoch == 3


def test_nan_loss_raises_diverged():
    def loss(pred, target, weight=None, pair_index=None):
        return (pred - target).sum() * float("nan")

    with pytest.raises(TrainingDivergedError, match="diverged at epoch 1.*not a result"):
        _fit(loss=loss)


def test_huge_lr_diverges_with_message():
    X, y = _data()
    y = y * 1e30
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        Trainer(epochs=20, batch_size=16, lr=1e30, device="cpu", show_progress=False).fit(
            Linear(5), TensorBatcher(X[:100]), TensorBatcher(X[100:]), y[:100], y[100:])


def test_finite_loss_that_explodes_raises_diverged():
    """A loss that stays finite but grows by orders of magnitude is a divergence too."""
    calls = []

    def loss(pred, target, weight=None, pair_index=None):
        calls.append(1)
        # epoch 1 (7 batches of 16): the plain MSE; from epoch 2 on, 1e4 times it
        scale = 1.0 if len(calls) <= 7 else 1e4
        return (pred - target).square().mean() * scale

    with pytest.raises(TrainingDivergedError, match=r"epoch 2: the mean training loss exploded"):
        _fit(loss=loss)


def test_batch_loss_over_the_ceiling_raises_diverged():
    def loss(pred, target, weight=None, pair_index=None):
        return (pred - target).square().mean() + 1e7

    with pytest.raises(TrainingDivergedError, match=r"epoch 1: the loss became 1e\+07 \(exploded\)"):
        _fit(loss=loss)


def test_shape_errors():
    X, y = _data()
    with pytest.raises(ShapeMismatchError, match=r"sample_weight has shape \(3,\)"):
        _fit(sample_weight=[1, 2, 3])
    n = len(y) - 20  # _fit's training rows
    with pytest.raises(ShapeMismatchError, match=r"sample_weight has shape \(\d+, 2\)"):
        _fit(sample_weight=np.ones((n // 2, 2)))  # was flattened and accepted
    with pytest.raises(ShapeMismatchError, match="pairs"):
        _fit(pairs=[[0, 100]])


def test_same_seed_identical_weights():
    m1, *_ = _fit(Trainer(epochs=3, batch_size=16, random_state=5, device="cpu",
                          show_progress=False))
    m2, *_ = _fit(Trainer(epochs=3, batch_size=16, random_state=5, device="cpu",
                          show_progress=False))
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(a, b)


def test_global_rng_untouched():
    X, y = _data()
    model = Linear(5)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    Trainer(epochs=2, device="cpu", show_progress=False).fit(
        model, TensorBatcher(X[:100]), TensorBatcher(X[100:]), y[:100], y[100:])
    assert torch.equal(torch.rand(3), expected)


def test_cliffloss_plugs_in():
    cl = pytest.importorskip("cliffkit.loss")
    loss = cl.CliffLoss("l1", beta=0.5)
    _, res, *_ = _fit(sample_weight=np.linspace(1, 2, 100), loss=loss,
                      pairs=np.array([[0, 1], [5, 9]]))
    assert np.isfinite(res.best_val_mae)
