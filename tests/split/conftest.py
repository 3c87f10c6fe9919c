"""Small real-data fixtures for splitter tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def lipo300(data_dir):
    from cliffkit.data import load_dataset

    ds = load_dataset("lipophilicity")
    return ds.subset(np.arange(300), name="lipophilicity-300")


@pytest.fixture(scope="session")
def esol200(data_dir):
    from cliffkit.data import load_dataset

    ds = load_dataset("esol")
    return ds.subset(np.arange(200), name="esol-200")
