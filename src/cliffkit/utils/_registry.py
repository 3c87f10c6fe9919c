"""One registry type for every pluggable noun: splitters, backbones, losses, datasets,
executors and cliff definitions.

A new method is one entry::

    SPLITTERS = Registry("splitter")

    @SPLITTERS.register("cliff")
    class CliffSplit: ...

Names are normalised (lowercase, ``_`` → ``-``, surrounding blanks dropped), so
``get("Cliff_Pair")`` finds ``"cliff-pair"``; an unknown name raises
:class:`~cliffkit.errors.UnknownNameError` with the accepted names and a did-you-mean.
Built-ins that need optional dependencies are listed by module and imported on first
``get`` (listing them imports nothing).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from ..errors import InvalidParameterError, unknown_name

__all__ = ["Registry", "normalize_name", "user_registrations", "import_user_registrations"]

T = TypeVar("T")
_MISSING = object()
#: Every registry made, so that worker processes can be given the user's own entries.
_REGISTRIES: list[Registry] = []


def normalize_name(name: Any) -> str:
    """The registry key of ``name``: stripped, lowercase, underscores as dashes.

    Examples
    --------
    >>> normalize_name(" Cliff_Pair ")
    'cliff-pair'
    """
    return str(name).strip().lower().replace("_", "-")


class Registry(Mapping[str, T], Generic[T]):
    """Names → objects, with lazy built-ins and did-you-mean errors.

    Parameters
    ----------
    kind : str
        What the entries are, for messages (``"backbone"``, ``"loss"`` ...).
    builtins : dict of str to str, optional
        Built-in names and the module that registers each; imported on first
        :meth:`get` (a module whose optional dependency is missing stays listed and
        raises its own error when used).
    on_register : callable, optional
        ``on_register(key, obj)``, called for each new entry before it is stored (e.g. to
        set ``obj.name``, or to refuse an incomplete entry by raising).

    Examples
    --------
    >>> reg = Registry("colour")
    >>> @reg.register("dark_red")
    ... def dark_red():
    ...     return "#8b0000"
    >>> reg.get("Dark-Red")()
    '#8b0000'
    >>> reg.list()
    ['dark-red']
    >>> "dark_red" in reg
    True
    >>> reg.get("dark-rod")
    Traceback (most recent call last):
    ...
    cliffkit.errors.UnknownNameError: Unknown colour 'dark-rod'; choose one of: dark-red. Did you mean 'dark-red'?
    """

    def __init__(self, kind: str, *, builtins: Mapping[str, str] | None = None,
                 on_register: Callable[[str, Any], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._builtins = {normalize_name(k): v for k, v in (builtins or {}).items()}
        self._on_register = on_register
        _REGISTRIES.append(self)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.list()!r})"

    # ------------------------------------------------------------ register
    def register(self, name: str, obj: Any = _MISSING, *, overwrite: bool = False) -> Any:
        """Add ``obj`` under ``name``; without ``obj``, a decorator that does so.

        Raises
        ------
        InvalidParameterError
            ``name`` is taken by another object and ``overwrite`` is False (re-running
            the same definition, e.g. a module reload, replaces it silently).
        """

        def deco(value: Any) -> Any:
            key = normalize_name(name)
            old = self._entries.get(key, _MISSING)
            if old is not _MISSING and old is not value and not overwrite \
                    and _qualname(old) != _qualname(value):
                raise InvalidParameterError(
                    f"{self.kind} {key!r} is already registered ({_qualname(old)}); "
                    "pass overwrite=True to replace it."
                )
            if self._on_register is not None:  # first: it may refuse the entry (raise)
                self._on_register(key, value)
            self._entries[key] = value
            return value

        return deco if obj is _MISSING else deco(obj)

    # ---------------------------------------------------------------- read
    def get(self, name: str) -> T:
        """The entry of ``name`` (imports a built-in on first use).

        Raises
        ------
        UnknownNameError
            ``name`` is not registered; the message lists the names and the closest one.
        """
        key = normalize_name(name)
        if key not in self._entries and key in self._builtins:
            module = self._builtins[key]
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        if key not in self._entries:
            raise unknown_name(self.kind, str(name), self.list())
        return self._entries[key]

    def list(self) -> list[str]:
        """Every name: built-ins first (in their order), then the others as registered."""
        names = [k for k, mod in self._builtins.items() if _importable(mod)]
        return names + [k for k in self._entries if k not in names]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        key = normalize_name(name)
        return key in self._entries or key in self._builtins

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        return len(self.list())


def user_registrations() -> dict[str, list[str]]:
    """Entries registered from outside cliffkit, by module: ``{module: ["backbone 'rf'", ...]}``.

    A worker process started with ``spawn`` (``cliffkit bench --n-jobs 2``) imports a fresh
    cliffkit, which knows only the built-ins: it must import these modules to see the
    user's own backbones, losses, splitters ... (:func:`import_user_registrations`).
    Entries of the main script appear under ``__main__``.
    """
    found: dict[str, list[str]] = {}
    for reg in _REGISTRIES:
        for key, obj in reg._entries.items():
            module = str(getattr(obj, "__module__", "") or "")
            if module == "cliffkit" or module.startswith("cliffkit.") or not module:
                continue
            found.setdefault(module, []).append(f"{reg.kind} {key!r}")
    return found


def import_user_registrations(modules: list[str]) -> None:
    """Import ``modules`` (from :func:`user_registrations`) in a worker process.

    ``__main__`` and ``__mp_main__`` are skipped: ``spawn`` runs the parent's main script
    again as ``__mp_main__``, which registers its entries. A module that cannot be imported
    here is skipped (a worker that died in its initializer would break the whole pool): a
    task that needs one of its entries fails with the unknown-name error.
    """
    for module in modules:
        if module not in ("__main__", "__mp_main__") and module not in sys.modules:
            try:
                importlib.import_module(module)
            except ImportError:
                continue


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # pragma: no cover - a parent package is missing
        return False
