"""PairBatchSampler: partners meet, every index once per epoch, seeded."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from cliffkit.errors import InvalidParameterError, ShapeMismatchError  # noqa: E402
from cliffkit.loss import PairBatchSampler  # noqa: E402


def _pairs(n, n_pairs, seed=0):
    rng = np.random.default_rng(seed)
    # disjoint pairs plus a few shared partners (small components)
    a = rng.permutation(n)[: 2 * n_pairs].reshape(-1, 2)
    extra = np.stack([a[:5, 0], rng.integers(0, n, 5)], axis=1)
    return np.concatenate([a, extra])


@pytest.mark.parametrize("batch_size", [8, 32, 50])
def test_covers_every_index_once_and_keeps_partners_together(batch_size):
    n = 300
    pairs = _pairs(n, 60)
    s = PairBatchSampler(n, pairs, batch_size, random_state=0)
    for _ in range(3):  # three epochs
        assert len(s) >= 1
        batches = list(s)
        flat = np.concatenate([np.asarray(b) for b in batches])
        np.testing.assert_array_equal(np.sort(flat), np.arange(n))
        assert max(len(b) for b in batches) <= batch_size
        assert len(batches) <= -(-n // batch_size) + 2
        batch_of = np.empty(n, int)
        for k, b in enumerate(batches):
            batch_of[b] = k
        together = (batch_of[pairs[:, 0]] == batch_of[pairs[:, 1]]).mean()
        assert together == pytest.approx(s.pair_coverage_)
        assert together >= 0.9
    # a plain random batching would put a pair together with probability ~ 1 / n_batches
    assert s.pair_coverage_ > 3 / (n / batch_size)


def test_pairs_spread_over_batches():
    n, bs = 400, 40
    pairs = np.arange(80).reshape(-1, 2)  # 40 disjoint pairs on indices 0..79
    batches = list(PairBatchSampler(n, pairs, bs, random_state=1))
    per_batch = [np.sum(np.asarray(b) < 80) for b in batches]
    assert max(per_batch) - min(per_batch) <= 4


def test_seeded_and_epochs_differ():
    pairs = _pairs(100, 20)
    a = PairBatchSampler(100, pairs, 16, random_state=5)
    b = PairBatchSampler(100, pairs, 16, random_state=5)
    e1a, e1b = list(a), list(b)
    assert e1a == e1b
    assert list(a) != e1a  # the next epoch is reshuffled
    c = list(PairBatchSampler(100, pairs, 16, random_state=6))
    assert c != e1a


def test_len_matches_iteration_and_dataloader():
    from torch.utils.data import DataLoader

    s = PairBatchSampler(50, [[0, 1], [2, 3]], 7, random_state=0)
    n_batches = len(s)
    assert n_batches == len(list(s))
    loader = DataLoader(list(range(50)), batch_sampler=PairBatchSampler(50, [[0, 1]], 7, random_state=0))
    assert sum(len(b) for b in loader) == 50


def test_large_component_is_chunked_and_no_pairs_is_plain():
    star = np.stack([np.zeros(30, int), np.arange(1, 31)], axis=1)  # hub 0 with 30 partners
    s = PairBatchSampler(100, star, 16, random_state=0)
    flat = np.concatenate([np.asarray(b) for b in s])
    np.testing.assert_array_equal(np.sort(flat), np.arange(100))
    s0 = PairBatchSampler(10, np.empty((0, 2)), 4, random_state=0)
    assert sorted(i for b in s0 for i in b) == list(range(10))
    assert np.isnan(s0.pair_coverage_)
    assert repr(s0) == "PairBatchSampler(n=10, n_pairs=0, batch_size=4, random_state=0)"


def test_errors():
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter of PairBatchSampler"):
        PairBatchSampler(10, [[0, 1]], 0)
    with pytest.raises(InvalidParameterError, match=r"pair indices must be in \[0, 10\)"):
        PairBatchSampler(10, [[0, 10]], 4)
    with pytest.raises(ShapeMismatchError, match="pairs must have shape"):
        PairBatchSampler(10, [[0, 1, 2]], 4)


def test_default_keeps_a_whole_component_up_to_the_batch_size():
    star = np.stack([np.zeros(12, int), np.arange(1, 13)], axis=1)  # 13 molecules
    s = PairBatchSampler(60, star, 16, random_state=0)
    batches = list(s)
    assert s.pair_coverage_ == 1.0
    assert any(set(range(13)) <= set(b) for b in batches)
    s4 = PairBatchSampler(60, star, 16, random_state=0, max_unit=4)
    list(s4)
    assert s4.pair_coverage_ < 0.5
