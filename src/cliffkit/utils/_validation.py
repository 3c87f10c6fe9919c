"""Declarative parameter validation in the style of scikit-learn.

A class lists ``_parameter_constraints = {"k": [Interval(int, 1, None)], ...}`` and
calls ``validate_params(self._parameter_constraints, self.get_params(), owner)``
once, when its public method starts. Each constraint is one of:

- a type (``int``, ``float``, ``str``, ``bool``, ``np.ndarray`` ...);
- ``None`` (the value may be None);
- :class:`Interval` (a numeric range);
- :class:`Options` (a set of accepted values);
- ``"random_state"`` (None, an int or a ``numpy.random.Generator``/``RandomState``);
- ``"boolean"`` (a bool or numpy bool);
- a callable returning True for valid values (described by its ``__doc__``).
"""

from __future__ import annotations

import functools
import inspect
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidParameterError


@dataclass(frozen=True)
class Interval:
    """A numeric range. ``closed`` is one of "both", "left", "right", "neither"."""

    type: type
    left: float | None
    right: float | None
    closed: str = "both"

    def _type_ok(self, value: Any) -> bool:
        if isinstance(value, bool | np.bool_):
            return False
        if self.type is int:
            return isinstance(value, numbers.Integral)
        return isinstance(value, numbers.Real)

    def is_satisfied_by(self, value: Any) -> bool:
        if not self._type_ok(value):
            return False
        if isinstance(value, numbers.Real) and np.isnan(value):
            return False
        lo_ok = self.left is None or (
            value >= self.left if self.closed in ("both", "left") else value > self.left
        )
        hi_ok = self.right is None or (
            value <= self.right if self.closed in ("both", "right") else value < self.right
        )
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        kind = "an int" if self.type is int else "a float"
        if self.left is None and self.right is None:
            return kind
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        left = "-inf" if self.left is None else f"{self.left:g}"
        right = "inf" if self.right is None else f"{self.right:g}"
        return f"{kind} in {lb}{left}, {right}{rb}"


@dataclass(frozen=True)
class Options:
    """A finite set of accepted values."""

    options: tuple

    def __init__(self, *options: Any) -> None:
        if len(options) == 1 and isinstance(options[0], set | frozenset | list | tuple):
            options = tuple(options[0])
        object.__setattr__(self, "options", tuple(options))

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.options
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of {" + ", ".join(repr(o) for o in sorted(self.options, key=str)) + "}"


#: How a type constraint reads in an error message.
_TYPE_WORDS = {int: "an int", float: "a number", str: "a string", bool: "a bool", dict: "a dict",
               list: "a list", tuple: "a tuple", np.ndarray: "an array"}


def _accepted(options: list) -> str:
    """The accepted values in words, the real ones first and None last, as 'not set': "an
    int in [1, inf), or None (not set)" (it read "None or an int ...", and None is not what
    a user means to give)."""
    words = [_describe(c) for c in options if c is not None]
    text = " or ".join(words)
    if any(c is None for c in options):
        text = f"{text}, or None (not set)" if words else "None"
    return text


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return _TYPE_WORDS.get(constraint, f"an instance of {constraint.__name__!r}")
    if constraint == "random_state":
        return "None, an int or a numpy Generator"
    if constraint == "boolean":
        return "a bool"
    if callable(constraint):
        return (constraint.__doc__ or constraint.__name__).strip()
    return str(constraint)


def _satisfied(constraint: Any, value: Any) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        if constraint in (int, float) and isinstance(value, bool):
            return False
        if constraint is float:
            return isinstance(value, numbers.Real)
        if constraint is int:
            return isinstance(value, numbers.Integral)
        return isinstance(value, constraint)
    if constraint == "random_state":
        return value is None or (
            isinstance(value, numbers.Integral | np.random.Generator | np.random.RandomState)
            and not isinstance(value, bool)
        )
    if constraint == "boolean":
        return isinstance(value, bool | np.bool_)
    if isinstance(constraint, Interval | Options):
        return constraint.is_satisfied_by(value)
    if callable(constraint):
        return bool(constraint(value))
    raise TypeError(f"unknown constraint {constraint!r}")


def validate_params(constraints: dict[str, list], params: dict[str, Any], owner: str) -> None:
    """Check every parameter in ``params`` that has a constraint list.

    Raises
    ------
    InvalidParameterError
        "The 'k' parameter of CliffSplit must be an int in [1, inf); got 0."
    """
    for name, value in params.items():
        options = constraints.get(name)
        if options is None or options == "no_validation":
            continue
        if any(_satisfied(c, value) for c in options):
            continue
        accepted = _accepted(options)
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {accepted}; got {value!r}."
        )


def validated(constraints: dict[str, list]):
    """Decorator: check a function's arguments against ``constraints`` on every call.

    sklearn's ``validate_params`` decorator in cliffkit's form: the arguments named in
    ``constraints`` (in the order of the signature) are checked with
    :func:`validate_params`, the function's name as the owner, before the body runs.

    Raises
    ------
    InvalidParameterError
        (from the decorated function) an argument outside its constraint.

    Examples
    --------
    >>> @validated({"k": [Interval(int, 1, None)]})
    ... def top(values, k=3):
    ...     return sorted(values)[-k:]
    >>> top([3, 1, 2], k=2)
    [2, 3]
    >>> top([3, 1, 2], k=0)
    Traceback (most recent call last):
    ...
    cliffkit.errors.InvalidParameterError: The 'k' parameter of top must be an int in [1, inf]; got 0.
    """
    def decorate(func):
        sig = inspect.signature(func)
        names = [n for n in sig.parameters if n in constraints]

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            validate_params(constraints, {n: bound.arguments[n] for n in names}, func.__name__)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def check_random_state(seed: Any) -> np.random.Generator:
    """Turn None, an int, a Generator or a RandomState into a ``numpy.random.Generator``."""
    if seed is None or isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(seed)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(0, 2**31 - 1))
    raise InvalidParameterError(
        f"random_state must be None, an int or a numpy Generator; got {seed!r}."
    )


def is_seed(value: Any) -> bool:
    """an int ≥ 0"""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0


def head_list(items, n: int = 5, fmt=str) -> str:
    """The first ``n`` items joined by commas, then how many more there are.

    Every list inside a message is capped this way, so a message names a few examples and
    counts the rest instead of listing thousands of rows.

    Examples
    --------
    >>> head_list([3, 8, 9], n=2)
    '3, 8 and 1 more'
    >>> head_list(["a"], fmt=repr)
    "'a'"
    """
    items = list(items)
    shown = ", ".join(fmt(x) for x in items[:n])
    return shown + (f" and {len(items) - n} more" if len(items) > n else "")
