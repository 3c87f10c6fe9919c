"""The backbone registry: ``get_backbone(name, **params)``, ``list_backbones()``.

Built-in backbones live in their own modules and are imported on first use, so listing
the names does not import torch. Third-party backbones register with
``@register_backbone("name")``.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterError
from ..utils import Registry

__all__ = ["BACKBONES", "WRAPPERS", "register_backbone", "get_backbone", "list_backbones",
           "check_backbone_params",
           "get_backbone_class", "list_wrappers"]

_BUILTIN = {
    "mlp": "cliffkit.models._mlp",
    "lgbm": "cliffkit.models._lgbm",
    "svm": "cliffkit.models._svm",
    "gin": "cliffkit.models._gin",
    "dmpnn": "cliffkit.models._dmpnn",
    "schnet": "cliffkit.models._schnet",
    "chemprop": "cliffkit.models._chemprop",  # needs the chemprop extra at fit time
}

#: What a backbone must implement to train and predict (saving needs _save_weights/_load_weights).
REQUIRED_HOOKS = ("_fit", "_predict")


def _check_backbone(key: str, cls: Any) -> None:
    """Refuse a class that is not a complete :class:`~cliffkit.models.Backbone`; name it ``key``."""
    from ._base import Backbone

    if not (isinstance(cls, type) and issubclass(cls, Backbone)):
        what = cls.__name__ if isinstance(cls, type) else type(cls).__name__
        raise InvalidParameterError(
            f"register_backbone({key!r}): {what} is not a cliffkit.models.Backbone; subclass "
            "Backbone (a @params_class with _parameter_constraints, _fit and _predict, and "
            "_save_weights/_load_weights for saving) or a built-in backbone; see "
            "docs/tutorial.md, 'Your own backbone or loss'."
        )
    missing = [h for h in REQUIRED_HOOKS if getattr(cls, h) is getattr(Backbone, h)]
    if missing:
        raise InvalidParameterError(
            f"register_backbone({key!r}): {cls.__name__} does not implement "
            f"{' and '.join(missing)}; a backbone needs _fit(smiles_tr, y_tr, smiles_va, y_va, "
            "**kwargs) and _predict(smiles) -> (n,) array (see docs/tutorial.md, 'Your own "
            "backbone or loss')."
        )
    cls.name = key


#: The backbone registry; built-ins are imported on first use.
BACKBONES: Registry[type] = Registry("backbone", builtins=_BUILTIN, on_register=_check_backbone)


def register_backbone(name: str):
    """Class decorator: register a :class:`~cliffkit.models.Backbone` under ``name``.

    The name is normalised (lowercase, dashes); it is also set as the class attribute ``name``.
    """
    return BACKBONES.register(name)


def list_backbones() -> list[str]:
    """Names accepted by :func:`get_backbone` (the CLI's ``--backbone`` choices)."""
    return BACKBONES.list()


def get_backbone_class(name: str) -> type:
    """The class registered under ``name`` (imports a built-in on first use).

    Raises
    ------
    UnknownNameError
        ``name`` is not registered; the message lists the accepted names.
    """
    return BACKBONES.get(name)


def get_backbone(name: str, **params: Any):
    """A new, unfitted backbone ``name`` with ``params`` (e.g. ``hidden_channels=128``).

    Returns
    -------
    Backbone

    Raises
    ------
    UnknownNameError
        ``name`` is not registered.
    InvalidParameterError
        A parameter the backbone's constructor does not take (the message names it and
        the accepted ones; also a ``TypeError``).

    Examples
    --------
    >>> get_backbone("lgbm", n_estimators=50)  # doctest: +ELLIPSIS
    LGBMBackbone(n_estimators=50, ...)
    """
    klass = get_backbone_class(name)
    check_backbone_params(name, params)
    return klass(**params)


def check_backbone_params(name: str, params: Any) -> None:
    """Refuse a key of ``params`` that backbone ``name`` does not take.

    Raises
    ------
    UnknownNameError
        ``name`` is not registered.
    InvalidParameterError
        Naming the unknown key, the closest accepted one and every accepted one.
    """
    from ..errors import refuse_unknown_keys

    names = get_backbone_class(name)._param_names()
    refuse_unknown_keys(params, names, f"Backbone {name!r} has no parameter {{key}}")


_BUILTIN_WRAPPERS = {
    "ensemble": "cliffkit.models._wrappers",
    "blend": "cliffkit.models._wrappers",
    "anchor-delta": "cliffkit.models._anchor",
}

#: Wrappers: mitigations that change the model (a loss names one in ``LossSpec.wrapper``);
#: each is a Backbone around an unfitted base backbone (:mod:`cliffkit.models._wrappers`).
WRAPPERS: Registry[type] = Registry(
    "wrapper", builtins=_BUILTIN_WRAPPERS,
    on_register=lambda key, cls: setattr(cls, "wrapper_name", key))


def list_wrappers() -> list[str]:
    """Names accepted by :func:`cliffkit.models.wrap`."""
    return WRAPPERS.list()
