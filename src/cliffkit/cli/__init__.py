"""The ``cliffkit`` command line: parse, call the library, write files.

Each verb lives in its own module (``_data.py``, ``_split.py`` ...) and registers
itself on the click group :data:`app` with ``@app.command()``. :func:`main` turns every :class:`~cliffkit.errors.CliffkitError`
into one line on stderr and exit code 2; ``--debug`` re-raises instead.
"""

from __future__ import annotations

import errno
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


#: Said on Ctrl-C (or SIGTERM in bench): what was kept and how to go on.
_INTERRUPTED = ("interrupted; finished outputs were kept (every file is written whole or not at "
                "all); rerun the same command to continue ('cliffkit bench' skips its finished "
                "cells)")


def _error(message: str) -> None:
    first = " ".join(str(message).split())
    print(f"cliffkit: error: {first}", file=sys.stderr)


#: What to do about a file-system error, by errno (the path and the system's reason come first).
_OS_FIXES = {
    errno.EEXIST: "a file of that name is in the way of a folder; choose another path or move "
                  "the file",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EISDIR: "that is a folder; give a file name",
    errno.EACCES: "no permission (a read-only folder?); choose a folder you can write to",
    errno.EPERM: "no permission (a read-only folder?); choose a folder you can write to",
    errno.EROFS: "choose a folder on a writable disk",
    errno.ENOSPC: "the disk is full; free space or choose another folder",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
    errno.EPIPE: "the command reading the output stopped early",
}


def os_error_message(exc: OSError) -> str:
    """One line for a file-system error (an output folder that cannot be made, a read-only
    folder, a full disk): the path, the system's reason and the fix."""
    where = exc.filename if exc.filename is not None else "a file"
    reason = exc.strerror or exc.__class__.__name__
    fix = _OS_FIXES.get(exc.errno, "check the path and its permissions")
    return f"cannot use {str(where)!r}: {reason}; {fix}."


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
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C (KeyboardInterrupt) into Abort; an Abort of its own (a prompt
        # answered no) has no such cause
        _error(_INTERRUPTED if isinstance(exc.__cause__, KeyboardInterrupt) else "aborted by user")
        return 130
    except KeyboardInterrupt:
        _error(_INTERRUPTED)
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
    except OSError as exc:  # the file system refused (an output path through a file, no permission)
        if STATE["debug"]:
            raise
        _error(os_error_message(exc))
        return 2
    if isinstance(result, int):
        return result
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
