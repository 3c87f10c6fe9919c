"""The torch CliffLoss against hand-computed values."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from cliffkit.errors import InvalidParameterError, ShapeMismatchError, UnknownNameError  # noqa: E402
from cliffkit.loss import CliffLoss, HuberCliffLoss, MSECliffLoss, pair_positions  # noqa: E402

PRED = torch.tensor([1.0, 2.0, 4.0])
TARGET = torch.tensor([0.0, 2.0, 1.0])
WEIGHT = torch.tensor([1.0, 2.0, 1.0])
PAIRS = torch.tensor([[0, 0], [2, 1]])  # pairs (0, 2) and (0, 1), shape (2, p)
# residuals r = [1, 0, 3]; pair errors |(1-4)-(0-1)| = 2, |(1-2)-(0-2)| = 1 -> mean 1.5

# base: (mean, weighted sum / sum of weights)
HAND = {
    "l1": (4 / 3, (1 + 0 + 3) / 4),
    "mse": (10 / 3, (1 + 0 + 9) / 4),
    "huber": ((0.5 + 0 + 2.5) / 3, (0.5 + 0 + 2.5) / 4),
}


@pytest.mark.parametrize("base", ["l1", "mse", "huber"])
@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_loss_hand_worked(base, beta):
    loss = CliffLoss(base=base, beta=beta)
    mean, weighted = HAND[base]
    got = loss(PRED, TARGET, weight=WEIGHT, pair_index=PAIRS)
    assert got.item() == pytest.approx(weighted + beta * 1.5, abs=1e-6)
    got = loss(PRED[:, None], TARGET[:, None], pair_index=PAIRS.t())  # (b, 1) and (p, 2)
    assert got.item() == pytest.approx(mean + beta * 1.5, abs=1e-6)
    assert loss(PRED, TARGET).item() == pytest.approx(mean, abs=1e-6)  # no pairs given


def test_weighted_pair_mean_and_huber_delta():
    loss = CliffLoss(base="l1", beta=1.0)
    got = loss(PRED, TARGET, pair_index=PAIRS, pair_weight=torch.tensor([3.0, 1.0]))
    assert got.item() == pytest.approx(4 / 3 + (3 * 2 + 1 * 1) / 4)
    h = CliffLoss(base="huber", delta=2.0)  # r=3 -> 2*(3-1)=4, r=1 -> 0.5
    assert h(PRED, TARGET).item() == pytest.approx((0.5 + 0 + 4) / 3)


def test_normalised_by_sum_of_weights():
    """Scaling all weights by a constant changes nothing; w = 1 + lam*c only reweights."""
    loss = CliffLoss(base="mse")
    a = loss(PRED, TARGET, weight=WEIGHT)
    b = loss(PRED, TARGET, weight=WEIGHT * 17.0)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    ones = loss(PRED, TARGET, weight=torch.ones(3))
    assert ones.item() == pytest.approx(loss(PRED, TARGET).item())
    # gradient scale stays bounded as lambda grows: the weighted loss is a convex combination
    c = torch.tensor([0.0, 0.0, 1.0])
    for lam in [0.0, 1.0, 100.0]:
        val = loss(PRED, TARGET, weight=1 + lam * c).item()
        assert 0.0 <= val <= 9.0


def test_gradient_flows_through_pair_term_only_for_pair_members():
    pred = torch.tensor([1.0, 2.0, 4.0, 0.0], requires_grad=True)
    target = torch.tensor([0.0, 2.0, 1.0, 0.0])
    loss = CliffLoss(base="l1", beta=1.0)
    loss.pair_loss(pred, target, torch.tensor([[0], [2]])).backward()
    # d|(p0-p2) - (y0-y2)| = sign(-2) * (+1, -1)
    np.testing.assert_allclose(pred.grad.numpy(), [-1.0, 0.0, 1.0, 0.0])


def test_subclasses_repr_and_copy():
    loss = CliffLoss(base="MSE", beta=0.25)
    assert isinstance(loss, MSECliffLoss) and isinstance(loss, CliffLoss)
    assert repr(loss) == "CliffLoss(base='mse', beta=0.25)"
    h = copy.deepcopy(CliffLoss(base="huber", delta=0.5))
    assert isinstance(h, HuberCliffLoss) and repr(h) == "CliffLoss(base='huber', beta=0.0, delta=0.5)"
    assert repr(MSECliffLoss()) == "CliffLoss(base='mse', beta=0.0)"


def test_errors():
    with pytest.raises(InvalidParameterError, match="'beta' parameter of CliffLoss"):
        CliffLoss(beta=-1.0)
    with pytest.raises(InvalidParameterError, match="'delta' parameter of CliffLoss"):
        CliffLoss(base="huber", delta=0.0)
    with pytest.raises(UnknownNameError, match="Did you mean 'mse'"):
        CliffLoss(base="msee")
    with pytest.raises(ShapeMismatchError, match="pred has shape"):
        CliffLoss()(PRED, TARGET[:2])
    with pytest.raises(ShapeMismatchError, match=r"shape \(b,\) or \(b, 1\)"):
        CliffLoss()(torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ShapeMismatchError, match="pair_index must have shape"):
        CliffLoss(beta=1.0)(PRED, TARGET, pair_index=torch.zeros(3, 3, dtype=torch.long))


def test_pair_positions_vectorised():
    batch = np.array([7, 3, 0, 5])
    pairs = np.array([[0, 7], [3, 4], [5, 3], [9, 0]])
    got = pair_positions(batch, pairs, n_total=10)
    np.testing.assert_array_equal(got.numpy(), [[2, 3], [0, 1]])  # (0,7)->(2,0), (5,3)->(3,1)
    assert pair_positions(torch.tensor([1, 2]), np.empty((0, 2))).shape == (2, 0)
    # no n_total: inferred
    np.testing.assert_array_equal(pair_positions([1, 2], [[2, 1]]).numpy(), [[1], [0]])


def test_unnormalised_mean_for_comparison():
    loss = CliffLoss(base="mse", normalize=False)
    # (1*1 + 2*0 + 1*9) / 3: divided by the batch size, not by the sum of weights (4)
    assert loss(PRED, TARGET, weight=WEIGHT).item() == pytest.approx(10 / 3)
    assert loss(PRED, TARGET, weight=WEIGHT * 2).item() == pytest.approx(20 / 3)  # scales
    assert repr(loss) == "CliffLoss(base='mse', beta=0.0, normalize=False)"
    with pytest.raises(InvalidParameterError, match="'normalize' parameter of CliffLoss"):
        CliffLoss(normalize="yes")


def test_bad_weights_and_pair_positions_are_refused():
    """Fresh-user trial, own training loop: all-zero weights gave a NaN loss, negative
    weights were used as given (docstring: w >= 0, sum > 0), a negative pair position
    silently indexed from the end of the batch, and numpy weights were an AttributeError."""
    pred, target = torch.tensor([0.0, 1.0, 2.0, 3.0]), torch.tensor([0.5, 1.0, 1.0, 3.5])
    loss = CliffLoss("l1", beta=1.0)
    with pytest.raises(InvalidParameterError, match="sum > 0"):
        loss(pred, target, torch.zeros(4))
    with pytest.raises(InvalidParameterError, match=">= 0"):
        loss(pred, target, torch.tensor([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(InvalidParameterError, match="positions in the batch"):
        loss(pred, target, None, torch.tensor([[0], [-1]]))
    with pytest.raises(InvalidParameterError, match="positions in the batch"):
        loss(pred, target, None, torch.tensor([[0], [4]]))
    with pytest.raises(InvalidParameterError, match="integer"):
        loss(pred, target, None, torch.tensor([[0.0], [1.0]]))
    w = np.array([1.0, 2.0, 1.0, 1.0])
    assert float(loss(pred, target, w)) == pytest.approx(float(loss(pred, target, torch.tensor(w))))
    # an empty pair set is no pair term, as before
    assert float(loss(pred, target, None, torch.empty(2, 0, dtype=torch.long))) == pytest.approx(0.5)


def test_pair_weights_and_infinite_weights_are_refused():
    """Review h42 f6: pair_weight had no check (all zero: NaN; [2, -1]: a total loss of 0,
    the pair term a reward for error), an infinite sample weight gave NaN, and
    pair_positions read batch row -1 as the last row."""
    pred, target = torch.tensor([0.0, 1.0, 0.0, 3.0]), torch.zeros(4)
    pairs = torch.tensor([[0, 2], [1, 3]])  # (0, 1) and (2, 3), errors 1 and 3
    loss = CliffLoss("l1", beta=1.0)
    for pw, got in (([0.0, 0.0], "sum 0"), ([2.0, -1.0], "min -1"),
                    ([float("nan"), 1.0], "sum nan"), ([float("inf"), 1.0], "sum inf")):
        with pytest.raises(InvalidParameterError, match="pair weights must be finite and >= 0 "
                                                        f"with sum > 0 .*{got}"):
            loss(pred, target, pair_index=pairs, pair_weight=torch.tensor(pw))
    with pytest.raises(ShapeMismatchError, match=r"pair weights have shape \(1,\)"):
        loss(pred, target, pair_index=pairs, pair_weight=torch.tensor([1.0]))
    # a valid weighting, as a numpy array too: (1·1 + 3·3) / 4 on top of the base L1 (1.0)
    assert float(loss(pred, target, pair_index=pairs, pair_weight=np.array([1.0, 3.0]))) \
        == pytest.approx(1.0 + 10 / 4)
    with pytest.raises(InvalidParameterError, match="sample weights must be finite"):
        CliffLoss("l1")(pred, target, weight=torch.tensor([float("inf"), 1.0, 1.0, 1.0]))
    with pytest.raises(InvalidParameterError, match="batch_index must hold training-set "
                                                    "indices 0 to 4; got -1"):
        pair_positions([0, -1], [[0, 4]], n_total=5)
    with pytest.raises(InvalidParameterError, match="pairs must hold training-set indices >= 0"):
        pair_positions([0, 1], [[0, -1]])
    with pytest.raises(InvalidParameterError, match="batch_index must hold"):
        pair_positions([0, 7], [[0, 1]], n_total=5)
