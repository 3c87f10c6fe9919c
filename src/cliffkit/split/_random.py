"""RandomSplit: a seeded random train / validation / test split, labelled with cliff strata."""

from __future__ import annotations

from dataclasses import KW_ONLY

import numpy as np

from ..utils import params_class
from ._base import COMMON_CONSTRAINTS, BaseSplitter, HeldOutSizes, register_splitter

__all__ = ["RandomSplit"]


@register_splitter("random")
@params_class
class RandomSplit(BaseSplitter, HeldOutSizes):
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

    _: KW_ONLY
    n_jobs: int | None = None
    show_progress: bool = False

    def _assign(self, ctx: dict):
        perm = ctx["rng"].permutation(ctx["n"]).astype(np.int64)
        n_test, n_val = ctx["n_test"], ctx["n_val"]
        test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
        return train, val, test, {"warnings": []}
