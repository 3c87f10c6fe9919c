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
