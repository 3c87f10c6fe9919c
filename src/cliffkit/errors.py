"""Every exception a cliffkit user can see.

Each error derives from :class:`CliffkitError` and from the builtin a caller would
expect (``ValueError``, ``KeyError``, ``ImportError`` ...), so ``except ValueError``
keeps working. Messages are one sentence: what, owner, accepted, received, fix.
The CLI prints ``cliffkit: error: <message>`` and exits with code 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

__all__ = [
    "CliffkitError",
    "InvalidParameterError",
    "InvalidSmilesError",
    "InvalidDataError",
    "MissingColumnError",
    "ShapeMismatchError",
    "UnknownNameError",
    "InsufficientSupportError",
    "SplitFileError",
    "PredictionsError",
    "MissingDependencyError",
    "TrainingDivergedError",
    "ConfigError",
    "IncompleteMethodError",
    "CliffkitWarning",
    "DataWarning",
    "SplitWarning",
]


class CliffkitError(Exception):
    """Base class of every error caused by user input or environment."""


class InvalidParameterError(CliffkitError, ValueError, TypeError):
    """A parameter has a value outside what its owner accepts."""


class InvalidDataError(CliffkitError, ValueError):
    """A data file cannot be read or holds no usable rows."""


class InvalidSmilesError(InvalidDataError):
    """SMILES strings could not be parsed by RDKit."""


class MissingColumnError(InvalidDataError, KeyError):
    """A requested column is not in the table."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ShapeMismatchError(CliffkitError, ValueError):
    """Arrays that must align have different lengths or shapes."""


class UnknownNameError(CliffkitError, KeyError, ValueError):
    """A registry lookup failed; the message lists the accepted names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InsufficientSupportError(CliffkitError, ValueError):
    """The data cannot give the requested cliff/smooth cases at these thresholds."""


class SplitFileError(CliffkitError, ValueError):
    """A split file is malformed, of an unknown version, or for other data."""


class PredictionsError(CliffkitError, ValueError):
    """A predictions file misses molecules or holds non-finite values."""


class MissingDependencyError(CliffkitError, ImportError):
    """An optional dependency is not installed; the message names the extra."""


class TrainingDivergedError(CliffkitError, RuntimeError):
    """Training produced a non-finite loss; the run is not a result."""


class ConfigError(CliffkitError, ValueError):
    """A grid or run configuration is invalid."""


class IncompleteMethodError(CliffkitError, NotImplementedError):
    """A method registered from user code lacks a part that a command needs (e.g. a
    backbone without ``_save_weights`` given to ``save``)."""


class CliffkitWarning(UserWarning):
    """Base class of cliffkit warnings (partial problems that did not stop the run)."""


class DataWarning(CliffkitWarning):
    """A loader dropped rows or merged conflicting duplicates; see ``Dataset.report``."""


class SplitWarning(CliffkitWarning):
    """A splitter could not meet a requested size or cliff share; the achieved value is reported."""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` that suggests the closest accepted name."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(choices[:30]) + (f" and {len(choices) - 30} more" if len(choices) > 30 else "")
    return UnknownNameError(
        f"Unknown {kind} {name!r}; choose one of: {shown}.{hint}"
    )


def refuse_unknown_keys(given: Iterable[str], accepted: Sequence[str], lead: str) -> None:
    """Raise :class:`InvalidParameterError` for the first key of ``given`` not in ``accepted``.

    ``lead`` is the message's start, with ``{key}`` (replaced literally, not formatted) where the
    key's repr goes; the closest
    accepted key (if any) and every accepted one follow.

    >>> refuse_unknown_keys({"hiden": 1}, ["hidden", "dropout"], "mlp has no parameter {key}")
    Traceback (most recent call last):
    ...
    cliffkit.errors.InvalidParameterError: mlp has no parameter 'hiden' (did you mean 'hidden'?); accepted: hidden, dropout.
    """
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(accepted), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InvalidParameterError(
            f"{lead.replace('{key}', repr(unknown[0]))}{hint}; accepted: {', '.join(accepted)}.")


def install_hint(extra: str) -> str:
    """The command that installs a cliffkit extra, as error messages and docs give it.

    With the constraints file (as README, "Install"): unpinned, pip may replace the CPU build
    of torch with a multi-GB CUDA build.

    >>> install_hint("ray")
    "pip install -c constraints.txt -e '.[ray]' (in the cliffkit source folder)"
    """
    return f"pip install -c constraints.txt -e '.[{extra}]' (in the cliffkit source folder)"


def require(module: str, extra: str, feature: str | None = None):
    """Import an optional module or raise :class:`MissingDependencyError`.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"chemprop"``.
    extra : str
        The cliffkit extra that installs it, e.g. ``"chemprop"``.
    feature : str, optional
        What needs it, for the message.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = feature or module
        raise MissingDependencyError(
            f"{what} needs the optional package {module!r}, which is not installed; "
            f"install it with: {install_hint(extra)}"
        ) from exc
