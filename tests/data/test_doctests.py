"""The docstring examples of the data-side modules run (STYLE: doctest examples must run)."""

from __future__ import annotations

import doctest
import importlib
import warnings

import pytest

MODULES = [
    "cliffkit.data",
    "cliffkit.data._standardize",
    "cliffkit.data._loaders",
    "cliffkit.split._target",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
