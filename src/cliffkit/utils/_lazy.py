"""Names of a package imported on first use (PEP 562 module ``__getattr__``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, lazy: dict[str, str]) -> tuple[Callable[[str], Any],
                                                                Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for names loaded on first use.

    So that ``import cliffkit.loss`` does not import torch: the torch parts are named
    in ``lazy`` and their module is imported when one of them is first read.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    lazy : dict of str to str
        ``{name: module}``, the module relative to ``package`` (e.g. ``"._cliffloss"``).

    Returns
    -------
    tuple of (callable, callable)
        ``(__getattr__, __dir__)``, to assign at the package's top level. ``__getattr__``
        raises ``AttributeError`` for a name that is neither defined nor in ``lazy``;
        ``__dir__`` lists the package's names and the lazy ones.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("json", {"JSONDecoder": ".decoder"})
    >>> getattr_("JSONDecoder").__name__
    'JSONDecoder'
    >>> "JSONDecoder" in dir_()
    True
    >>> getattr_("nothing")
    Traceback (most recent call last):
    ...
    AttributeError: module 'json' has no attribute 'nothing'
    """
    def __getattr__(name: str) -> Any:
        if name in lazy:
            return getattr(importlib.import_module(lazy[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *lazy})

    return __getattr__, __dir__
