"""Shared test fixtures.

Tests read the offline data through ``CLIFFKIT_DATA_DIR`` (the Makefile sets it to
``../shared/data``); when run directly with pytest we fall back to the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CLIFFKIT_DATA_DIR", str((REPO / ".." / "shared" / "data").resolve()))
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile(
    "cliffkit",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("cliffkit")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The offline data folder (``CLIFFKIT_DATA_DIR``)."""
    path = Path(os.environ["CLIFFKIT_DATA_DIR"])
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found; set CLIFFKIT_DATA_DIR")
    return path
