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
