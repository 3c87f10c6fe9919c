"""The click group that every command module registers on, and the output options
(``--quiet``, ``--verbose``) that every command shares."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import click

STATE = {"debug": False, "quiet": False, "verbose": False}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def reset_state() -> None:
    """Forget the flags of an earlier call (``main`` runs several times in one process)."""
    STATE.update(debug=False, quiet=False, verbose=False)


def _store(key: str):
    def callback(ctx: click.Context, param: click.Parameter, value: bool) -> None:
        if value:
            STATE[key] = True

    return callback


def output_options(func: Callable) -> Callable:
    """Add ``--quiet`` and ``--verbose`` to a command (read them with :func:`say`, ``STATE``)."""
    func = click.option(
        "--verbose", "-v", is_flag=True, expose_value=False, callback=_store("verbose"),
        help="Also print every parameter of the splitter / model (their Python repr).",
    )(func)
    func = click.option(
        "--quiet", "-q", is_flag=True, expose_value=False, callback=_store("quiet"),
        help="Print nothing but warnings and errors (files are still written; --json output "
             "is still printed).",
    )(func)
    return func


def say(message: str = "", *, err: bool = False) -> None:
    """``click.echo`` unless ``--quiet`` was given."""
    if not STATE["quiet"]:
        click.echo(message, err=err)


def refuse_output_suffix(output, suffixes: tuple[str, ...], command: str,
                         option: str = "--output") -> None:
    """A one-line error when ``output`` does not end in one of ``suffixes`` (the format
    a command writes; 'weights -o w.parquet' wrote CSV text into a .parquet file)."""
    if output and not str(output).lower().endswith(suffixes):
        from ..errors import InvalidParameterError

        raise InvalidParameterError(
            f"The '{option}' option of 'cliffkit {command}' must end in "
            f"{' or '.join(suffixes)}; got {str(output)!r}."
        )


def echo_warning(message) -> None:
    """``cliffkit: warning: <message>`` on stderr, whitespace collapsed to one line."""
    click.echo("cliffkit: warning: " + " ".join(str(message).split()), err=True)


@contextlib.contextmanager
def cliffkit_warnings_as_lines() -> Iterator[None]:
    """Print each :class:`~cliffkit.errors.CliffkitWarning` raised inside as one line
    ``cliffkit: warning: ...`` on stderr (whitespace collapsed), after the block; other
    warnings keep their normal route.

    The lines are printed also when the block raises, so they come before the one-line
    error (a warning that explains the error, e.g. ignored rows before "misses 11 test
    molecules", was lost)."""
    from ..errors import CliffkitWarning

    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CliffkitWarning)
            yield
    finally:
        for w in caught:
            if issubclass(w.category, CliffkitWarning):
                echo_warning(w.message)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _warning_as_line(previous: Callable) -> Callable:
    """A :func:`warnings.showwarning` that prints a CliffkitWarning as one line
    ``cliffkit: warning: ...`` (no file and line of cliffkit's code, no source line; the
    full form with ``--debug``) and passes other warnings to ``previous``."""
    from ..errors import CliffkitWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, CliffkitWarning) and not STATE["debug"]:
            echo_warning(message)
        else:
            previous(message, category, filename, lineno, file, line)

    return show


def with_option_names(exc: Exception, options: dict[str, str]) -> Exception:
    """``exc`` (an :class:`~cliffkit.errors.InvalidParameterError`) with the command-line
    option named beside the Python parameter: "The '--min-sim' option (parameter
    'min_similarity' of CliffSplit) must be ..." instead of a name the user never typed."""
    import re

    def swap(m: re.Match) -> str:
        option = options.get(m.group(1))
        if option is None:
            return m.group(0)
        return f"The '{option}' option (parameter {m.group(1)!r} of {m.group(2)})"

    text = re.sub(r"The '(\w+)' parameter of (\w+)", swap, str(exc))
    return type(exc)(text) if text != str(exc) else exc


def verbose(message: str) -> None:
    """Print ``message`` only with ``--verbose`` (and without ``--quiet``)."""
    if STATE["verbose"] and not STATE["quiet"]:
        click.echo(message)


@click.group(
    name="cliffkit",
    context_settings=CONTEXT_SETTINGS,
    help=(
        "Find where molecular property models fail: property cliffs, "
        "CliffSplit evaluation and CliffLoss training.\n\n"
        "A typical session with your own file (columns SMILES and pKi):\n\n"
        "\b\n"
        "  cliffkit describe my.csv --smiles-col SMILES --target-col pKi --unit pKi\n"
        "  cliffkit split my.csv --smiles-col SMILES --target-col pKi --unit pKi -o split.json\n"
        "  cliffkit train --split split.json --backbone lgbm -o runs/lgbm\n"
        "  cliffkit evaluate split.json runs/lgbm/predictions.csv\n"
        "  cliffkit predict runs/lgbm new.csv -o predicted.csv\n"
        "  cliffkit report runs/ -o report/\n\n"
        "Options: --target-col picks the COLUMNS of a file to load (or the targets of a "
        "registered dataset to keep); --target picks which loaded target a command labels, "
        "trains on or scores. The split file remembers the data file and its columns, so "
        "later commands need only --split."
    ),
)
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="cliffkit", prog_name="cliffkit", message="%(prog)s %(version)s")
def app(debug: bool) -> None:
    STATE["debug"] = STATE["debug"] or debug
    # Warnings printed while a command runs (a long bench run prints them as they come)
    # read as the commands' own 'cliffkit: warning:' lines; restored when the command ends.
    previous = warnings.showwarning
    warnings.showwarning = _warning_as_line(previous)
    click.get_current_context().call_on_close(lambda: setattr(warnings, "showwarning", previous))


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices are a registry's names, read when needed.

    ``RegistryChoice("cliffkit.split:list_splitters")`` lists every registered splitter
    (a new entry appears in ``--help`` and is accepted without editing the CLI), and
    the registry's package is imported only when the option is parsed or shown.
    """

    def __init__(self, lister: str) -> None:
        self._lister = lister
        super().__init__((), case_sensitive=False)

    @property
    def choices(self):  # type: ignore[override]
        import importlib

        module, attr = self._lister.split(":")
        return tuple(getattr(importlib.import_module(module), attr)())

    @choices.setter
    def choices(self, value) -> None:  # click.Choice.__init__ assigns it
        pass

    def convert(self, value, param, ctx):
        """The normalised registry name, or a usage error with a did-you-mean."""
        from ..errors import unknown_name
        from ..utils import normalize_name

        names = self.choices
        key = normalize_name(value)
        if key in names:
            return key
        kind = param.name if param is not None and param.name else "name"
        self.fail(str(unknown_name(kind.replace("_name", ""), str(value), names)), param, ctx)
