"""The backbone registry: ``get_backbone(name, **params)``, ``list_backbones()``.

Built-in backbones live in their own modules and are imported on first use, so listing
the names does not import torch. Third-party backbones register with
``@register_backbone("name")``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from ..errors import unknown_name

__all__ = ["BACKBONES", "register_backbone", "get_backbone", "list_backbones",
           "get_backbone_class"]

BACKBONES: dict[str, type] = {}

_BUILTIN = {
    "mlp": "cliffkit.models._mlp",
    "lgbm": "cliffkit.models._lgbm",
    "svm": "cliffkit.models._svm",
    "gin": "cliffkit.models._gin",
    "dmpnn": "cliffkit.models._dmpnn",
    "schnet": "cliffkit.models._schnet",
    "chemprop": "cliffkit.models._chemprop",  # needs the chemprop extra at fit time
}


def register_backbone(name: str):
    """Class decorator: register a :class:`~cliffkit.models.Backbone` under ``name``.

    The name is lowercase with dashes; it is also set as the class attribute ``name``.
    """

    def deco(cls):
        cls.name = name
        BACKBONES[name] = cls
        return cls

    return deco


def _available_builtins() -> list[str]:
    out = []
    for name, mod in _BUILTIN.items():
        try:
            if importlib.util.find_spec(mod) is not None:
                out.append(name)
        except ModuleNotFoundError:  # pragma: no cover
            pass
    return out


def list_backbones() -> list[str]:
    """Names accepted by :func:`get_backbone` (the CLI's ``--backbone`` choices)."""
    names = list(_available_builtins())
    names += [n for n in BACKBONES if n not in names]
    return names


def _normalise(name: str) -> str:
    return str(name).strip().lower().replace("_", "-")


def get_backbone_class(name: str) -> type:
    """The class registered under ``name`` (imports a built-in on first use).

    Raises
    ------
    UnknownNameError
        ``name`` is not registered; the message lists the accepted names.
    """
    key = _normalise(name)
    if key not in BACKBONES and key in _BUILTIN:
        try:
            importlib.import_module(_BUILTIN[key])
        except ModuleNotFoundError as exc:
            if exc.name != _BUILTIN[key]:
                raise
    if key not in BACKBONES:
        raise unknown_name("backbone", str(name), list_backbones())
    return BACKBONES[key]


def get_backbone(name: str, **params: Any):
    """A new, unfitted backbone ``name`` with ``params`` (e.g. ``hidden_channels=128``).

    Examples
    --------
    >>> get_backbone("lgbm", n_estimators=50)  # doctest: +ELLIPSIS
    LGBMBackbone(n_estimators=50, ...)
    """
    return get_backbone_class(name)(**params)
