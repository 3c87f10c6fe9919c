"""One parameter base for splitters, backbones, the trainer and the adaptive controller.

sklearn's estimator conventions: ``__init__`` stores its keyword arguments unchanged;
:meth:`Params.get_params` / :meth:`Params.set_params` read and change them; the repr
shows them; ``_validate_params`` checks them against ``_parameter_constraints``, whose
keys must be exactly the parameters (a parameter without a constraint, or a constraint
without a parameter, is a programming error caught by the contract tests).

:func:`params_class` writes that ``__init__`` from annotated class attributes (a
:mod:`dataclasses` dataclass that keeps :class:`Params`' repr and identity equality), so
a group of parameters shared by several classes (the trainer settings of the torch
backbones, the labelling settings of the splitters) is declared once, in a base class.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, ClassVar

from ..errors import InvalidParameterError, unknown_name
from ._validation import validate_params

__all__ = ["Params", "params_class"]


class Params:
    """Mixin: parameters from the ``__init__`` signature, strict constraints, repr.

    Class attributes
    ----------------
    _parameter_constraints : dict
        ``{name: [constraint, ...]}`` for :func:`~cliffkit.utils.validate_params`.
    _not_params : tuple of str
        ``__init__`` arguments that are data, not parameters (not in ``get_params``).
    _repr_defaults : bool
        True: the repr lists every parameter; False: only those that differ from the
        default (sklearn's style).

    Examples
    --------
    >>> from cliffkit.utils import Interval
    >>> class Scaler(Params):
    ...     _parameter_constraints = {"factor": [Interval(float, 0, None)]}
    ...     def __init__(self, factor=1.0):
    ...         self.factor = factor
    >>> Scaler(2.0)
    Scaler(factor=2.0)
    >>> Scaler().set_params(factor=3.0).get_params()
    {'factor': 3.0}
    >>> Scaler(-1.0)._validate_params()
    Traceback (most recent call last):
    ...
    cliffkit.errors.InvalidParameterError: The 'factor' parameter of Scaler must be a float in [0, inf]; got -1.0.
    """

    _parameter_constraints: ClassVar[dict] = {}
    _not_params: ClassVar[tuple[str, ...]] = ()
    _repr_defaults: ClassVar[bool] = True

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.name not in cls._not_params
                and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as given."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any):
        """Set parameters by name; returns self.

        Raises
        ------
        UnknownNameError
            A name that is not a parameter (the message lists them).
        """
        names = self._param_names()
        for key, value in params.items():
            if key not in names:
                raise unknown_name(f"parameter of {type(self).__name__}", key, names)
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        parts = []
        for name, value in self.get_params().items():
            default = sig.parameters[name].default
            if self._repr_defaults or default is inspect.Parameter.empty \
                    or not _same(value, default):
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``.

        Raises
        ------
        InvalidParameterError
            A value outside its constraint, or constraints whose keys are not exactly
            the parameters (a programming error in the class).
        """
        names, keys = set(self._param_names()), set(self._parameter_constraints)
        if names != keys:
            raise InvalidParameterError(
                f"{type(self).__name__}._parameter_constraints must name every parameter and "
                f"nothing else; unconstrained: {sorted(names - keys)}, unknown: {sorted(keys - names)}."
            )
        validate_params(self._parameter_constraints, self.get_params(), type(self).__name__)


def params_class(cls: type | None = None, *, kw_only: bool = False):
    """Class decorator: the constructor of a :class:`Params` class from its annotated fields.

    A :func:`dataclasses.dataclass` with ``repr=False`` and ``eq=False``: ``__init__``
    stores each field unchanged (sklearn's rule), the repr stays :class:`Params`' and two
    instances compare by identity. Fields declared in a decorated base class come first, in
    their order; a subclass that declares a base field again changes only its default.
    Keyword-only fields (``kw_only=True`` here, or ``field(kw_only=True)``) follow the others.

    Examples
    --------
    >>> from cliffkit.utils import Interval
    >>> @params_class(kw_only=True)
    ... class Fit(Params):
    ...     epochs: int = 10
    >>> @params_class
    ... class Net(Fit):
    ...     _parameter_constraints = {"width": [Interval(int, 1, None)],
    ...                               "epochs": [Interval(int, 1, None)]}
    ...     width: int = 8
    >>> Net(16, epochs=3)
    Net(width=16, epochs=3)
    """
    def wrap(c: type) -> type:
        return dataclasses.dataclass(repr=False, eq=False, kw_only=kw_only)(c)

    return wrap if cls is None else wrap(cls)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - arrays etc. compare ambiguously
        return False
