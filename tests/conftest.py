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

_HEALTH = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
# `make test` (and CI) draws the same examples every run, so a red run is reproducible and a
# green one is not luck; `HYPOTHESIS_PROFILE=fuzz` explores new random examples (500 per test):
#   HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest -q tests -k fuzz
settings.register_profile("cliffkit", deadline=None, max_examples=60, derandomize=True,
                          suppress_health_check=_HEALTH)
settings.register_profile("fuzz", deadline=None, max_examples=500, suppress_health_check=_HEALTH)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "cliffkit"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The offline data folder (``CLIFFKIT_DATA_DIR``)."""
    path = Path(os.environ["CLIFFKIT_DATA_DIR"])
    if not path.is_dir():
        pytest.skip(f"data folder {path} not found; set CLIFFKIT_DATA_DIR")
    return path


@pytest.fixture(scope="session")
def bench_script():
    """``bench_script("mitigation")``: ``benchmarks/mitigation.py`` loaded as a module (the
    benchmark scripts are not a package), once per session."""
    import importlib.util

    loaded = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(
                f"_bench_{name}", REPO / "benchmarks" / f"{name}.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            loaded[name] = mod
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def committed_summary():
    """``committed_summary("mitigation")``: ``benchmarks/results/mitigation.json`` parsed, a
    benchmark's committed summary, which the docs' generated blocks must render from."""
    import json

    return lambda name: json.loads(
        (REPO / "benchmarks" / "results" / f"{name}.json").read_text("utf-8"))


@pytest.fixture(scope="session")
def cliffloss_doc() -> str:
    """The text of ``docs/cliffloss.md``, where the benchmarks' generated blocks live."""
    return (REPO / "docs" / "cliffloss.md").read_text("utf-8")
