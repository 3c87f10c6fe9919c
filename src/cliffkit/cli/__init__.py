"""The ``cliffkit`` command line: parse, call the library, write files.

Each verb lives in its own module (``_data.py``, ``_split.py`` ...) and registers
itself on the click group :data:`app` with ``@app.command()``. :func:`main` turns every :class:`~cliffkit.errors.CliffkitError`
into one line on stderr and exit code 2; ``--debug`` re-raises instead.
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import CliffkitError
from ._app import STATE, app, reset_state

# Command modules, imported for their registration side effect. A module that
# does not exist yet (work in progress) is skipped.
_COMMAND_MODULES = [
    "_data",        # datasets, describe
    "_neighbors",   # neighbors
    "_split",       # split
    "_evaluate",    # evaluate
    "_train",       # train, predict
    "_weights",     # weights
    "_bench",       # bench, report
]

for _name in _COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")

__all__ = ["app", "main"]


def _error(message: str) -> None:
    first = " ".join(str(message).split())
    print(f"cliffkit: error: {first}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return an exit code (0 success, 2 usage or input error)."""
    args = sys.argv[1:] if argv is None else list(argv)
    reset_state()
    STATE["debug"] = "--debug" in args
    if not [a for a in args if a != "--debug"]:  # bare 'cliffkit': the help, not an error
        args = ["--help"]
    try:
        result = app.main(args=args, prog_name="cliffkit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        _error("aborted by user")
        return 130
    except KeyboardInterrupt:
        _error("interrupted; finished outputs were kept and the run can be resumed")
        return 130
    except click.UsageError as exc:
        if STATE["debug"]:
            raise
        hint = ""
        if exc.ctx is not None:
            hint = f" (see '{exc.ctx.command_path} --help')"
        _error(f"{exc.format_message()}{hint}")
        return 2
    except click.ClickException as exc:
        if STATE["debug"]:
            raise
        _error(exc.format_message())
        return 2
    except CliffkitError as exc:
        if STATE["debug"]:
            raise
        _error(str(exc))
        return 2
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
