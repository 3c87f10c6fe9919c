"""The typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="cliffkit",
    help=(
        "Find where molecular property models fail: property cliffs, "
        "CliffSplit evaluation and CliffLoss training."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

STATE = {"debug": False}


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Show full tracebacks instead of one-line errors."
    ),
    version: bool = typer.Option(False, "--version", help="Print the cliffkit version and exit."),
) -> None:
    """cliffkit command line."""
    STATE["debug"] = debug
    if version:
        from .. import __version__

        typer.echo(f"cliffkit {__version__}")
        raise typer.Exit(0)
