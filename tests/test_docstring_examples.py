"""Every docstring example in ``src/cliffkit`` runs (``make test`` runs this file).

Modules that need an optional third-party package which is not installed are skipped.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import cliffkit

MODULES = sorted(m.name for m in pkgutil.walk_packages(cliffkit.__path__, "cliffkit.")
                 if not m.name.endswith("__main__"))


@pytest.mark.filterwarnings("ignore::cliffkit.errors.CliffkitWarning")
@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:  # an optional extra, never cliffkit itself
        if exc.name is None or exc.name.split(".")[0] == "cliffkit":
            raise
        pytest.skip(f"{name} needs {exc.name}")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"


CORE_API = [
    "cliffkit.data:load_dataset", "cliffkit.split:get_splitter", "cliffkit.split:load_split",
    "cliffkit.loss:make_loss", "cliffkit.loss:make_loss_for_split", "cliffkit.loss:train_cliffs",
    "cliffkit.loss:cliff_severity", "cliffkit.models:get_backbone", "cliffkit.evaluate:evaluate",
    "cliffkit.evaluate:read_predictions", "cliffkit.cliffs:compute_severity",
    "cliffkit.experiment:run_experiment", "cliffkit.experiment:fit",
    "cliffkit.experiment:build_loss",
]


@pytest.mark.parametrize("name", CORE_API)
def test_core_api_docstrings_are_numpydoc_with_raises(name):
    module, attr = name.split(":")
    doc = getattr(importlib.import_module(module), attr).__doc__ or ""
    for section in ("Raises\n", "Returns\n"):
        assert section in doc.replace(" ", ""), f"{name} has no {section.strip()} section"
