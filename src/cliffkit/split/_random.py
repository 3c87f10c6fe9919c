"""RandomSplit: a seeded random train / validation / test split, labelled with cliff strata."""

from __future__ import annotations

import numpy as np

from ..similarity import MIN_SIMILARITY, N_BITS, RADIUS
from ._base import COMMON_CONSTRAINTS, BaseSplitter, register_splitter

__all__ = ["RandomSplit"]


@register_splitter("random")
class RandomSplit(BaseSplitter):
    """Random split, with held-out molecules labelled on the same strata as :class:`CliffSplit`.

    Parameters
    ----------
    test_size, val_size : float, default=0.1
        Fractions of all molecules (rounded up).
    k, min_similarity, radius, n_bits, cliff_quantile, smooth_quantile, delta, targets
        Labelling parameters, as in :class:`~cliffkit.split.CliffSplit`.
    random_state : int, optional, default=0

    Examples
    --------
    >>> from cliffkit.split import RandomSplit
    >>> smiles = ["CCO", "CCCO", "CCCCO", "CCN", "CCCN", "c1ccccc1O", "c1ccccc1N", "c1ccccc1C"]
    >>> train, test = next(RandomSplit(test_size=0.25, val_size=0.0).split(smiles))
    >>> len(train), len(test), sorted(set(train) | set(test)) == list(range(8))
    (6, 2, True)
    """

    _parameter_constraints = dict(COMMON_CONSTRAINTS)

    def __init__(
        self,
        test_size: float = 0.1,
        val_size: float = 0.1,
        k: int | None = None,
        min_similarity: float = MIN_SIMILARITY,
        radius: int = RADIUS,
        n_bits: int = N_BITS,
        cliff_quantile: float = 0.8,
        smooth_quantile: float = 0.5,
        delta: float | None = None,
        targets: list[str] | None = None,
        random_state: int | None = 0,
        *,
        n_jobs: int | None = None,
        show_progress: bool = False,
    ) -> None:
        self.test_size = test_size
        self.val_size = val_size
        self.k = k
        self.min_similarity = min_similarity
        self.radius = radius
        self.n_bits = n_bits
        self.cliff_quantile = cliff_quantile
        self.smooth_quantile = smooth_quantile
        self.delta = delta
        self.targets = targets
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.show_progress = show_progress

    def _assign(self, ctx: dict):
        perm = ctx["rng"].permutation(ctx["n"]).astype(np.int64)
        n_test, n_val = ctx["n_test"], ctx["n_val"]
        test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
        return train, val, test, {"warnings": []}
