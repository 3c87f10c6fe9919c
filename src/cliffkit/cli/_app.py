"""The click group that every command module registers on."""

from __future__ import annotations

import click

STATE = {"debug": False}

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    name="cliffkit",
    context_settings=CONTEXT_SETTINGS,
    help=(
        "Find where molecular property models fail: property cliffs, "
        "CliffSplit evaluation and CliffLoss training."
    ),
)
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.version_option(package_name="cliffkit", prog_name="cliffkit", message="%(prog)s %(version)s")
def app(debug: bool) -> None:
    STATE["debug"] = STATE["debug"] or debug
