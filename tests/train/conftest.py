"""Small real-data fixtures for backbone tests (a slice of Lipophilicity)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def lipo_small(data_dir):
    """(train, val, test) with 160/40/40 Lipophilicity molecules."""
    from cliffkit.data import load_dataset

    ds = load_dataset("lipophilicity")
    idx = np.random.default_rng(0).permutation(len(ds))[:240]
    return ds.subset(idx[:160]), ds.subset(idx[160:200]), ds.subset(idx[200:])
