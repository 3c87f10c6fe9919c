"""``cliffkit datasets`` and ``cliffkit describe``, plus the dataset-argument helpers
that every other command reuses:

- :func:`dataset_options`: a click decorator adding ``--smiles-col``, ``--target-col``
  (repeatable) and ``--data-dir``;
- :func:`load_from_cli`: load a ``DATASET|FILE`` argument with those options, printing
  data warnings as ``cliffkit: warning: ...`` lines on stderr.

Usage in another command module::

    from ._data import dataset_options, load_from_cli

    @app.command()
    @click.argument("dataset")
    @dataset_options
    def split(dataset, smiles_col, target_cols, data_dir, ...):
        ds = load_from_cli(dataset, smiles_col, target_cols, data_dir)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ._app import STATE, app, cliffkit_warnings_as_lines, output_options

if TYPE_CHECKING:  # pragma: no cover
    from ..data import Dataset

__all__ = ["dataset_options", "load_from_cli"]

DATASET_HELP = (
    "A registered dataset (see 'cliffkit datasets'), 'moleculeace:CHEMBL234_Ki', or the path "
    "of a CSV/TSV/Parquet file."
)


_STANDARDIZE_KEY = "cliffkit.standardize"
_UNIT_KEY = "cliffkit.unit"


def _remember_standardize(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_STANDARDIZE_KEY] = value


def _remember_units(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    if value:
        ctx.meta[_UNIT_KEY] = list(value)


def _standardize_choice() -> str | None:
    """The --standardize given on the command line, or None when it was not given."""
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_STANDARDIZE_KEY) if ctx is not None else None


def _unit_choice() -> list[str] | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(_UNIT_KEY) if ctx is not None else None


def dataset_options(func: Callable) -> Callable:
    """Add ``--smiles-col``, ``--target-col`` (repeatable), ``--data-dir`` and ``--standardize``.

    The command receives the first three as ``smiles_col`` (str or None), ``target_cols``
    (tuple of str, empty when not given) and ``data_dir`` (str or None); pass them on to
    :func:`load_from_cli`. ``--standardize`` is not passed: :func:`load_from_cli` reads it
    from the click context, so every command that loads data offers it.
    """
    func = click.option(
        "--standardize",
        type=click.Choice(["keep", "fragment", "parent"]),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_remember_standardize,
        help="What a molecule is: keep every fragment, charge, isotope and stereocentre as "
        "written; 'fragment' keeps the largest fragment (drops counter-ions); 'parent' takes "
        "RDKit's charge parent without isotopes and stereo (rdMolStandardize). Molecules that "
        "coincide afterwards are merged as duplicates. Default: keep, or the choice recorded "
        "in the split file.",
    )(func)
    func = click.option(
        "--unit",
        "units",
        multiple=True,
        metavar="UNIT",
        expose_value=False,
        callback=_remember_units,
        help="Unit of a file's target (e.g. pKi, 'log10(mol/L)'); once for all targets or once "
        "per --target-col. Shown in tables and on plot axes; recorded in the split file.",
    )(func)
    func = click.option(
        "--data-dir",
        "data_dir",
        default=None,
        metavar="DIR",
        help="Folder holding qm9.csv.gz and moleculeace/<name>.csv (default: $CLIFFKIT_DATA_DIR).",
    )(func)
    func = click.option(
        "--target-col",
        "target_cols",
        multiple=True,
        metavar="COL",
        help="Which COLUMNS of a file to load as targets (repeat for several; default: the only "
        "numeric column), or which targets of a registered dataset to keep (e.g. --target-col "
        "gap). Not to be confused with --target, which picks one of the loaded targets.",
    )(func)
    func = click.option(
        "--smiles-col",
        "smiles_col",
        default=None,
        metavar="COL",
        help="SMILES column of a file (default: a column named 'smiles', any case).",
    )(func)
    return func


def load_from_cli(
    dataset: str,
    smiles_col: str | None = None,
    target_cols: Sequence[str] | None = None,
    data_dir: str | None = None,
    *,
    show_progress: bool | None = None,
    units: Sequence[str] | None = None,
    standardize: str | None = None,
    molecules_only: bool = False,
) -> Dataset:
    """Load ``dataset`` for a command; data warnings go to stderr as one line each.

    Parameters
    ----------
    dataset : str
        Registered name, ``moleculeace:<name>`` or a file path.
    smiles_col, target_cols, data_dir
        As collected by :func:`dataset_options` (an empty ``target_cols`` means None).
    show_progress : bool, optional
        Progress bar while parsing SMILES (default: only on a terminal).
    units, standardize : optional
        Defaults (e.g. recorded in a split file) for ``--unit`` and ``--standardize``;
        the command line wins.
    molecules_only : bool, default False
        For commands that need the molecules only (``neighbors``): a file is loaded without
        target columns (``y`` has shape (n, 0)) unless ``target_cols`` names some.

    Raises
    ------
    CliffkitError
        Any loading problem; ``cliffkit.cli.main`` prints it as one line and exits 2.
    """
    from ..data import load_dataset

    targets = list(target_cols) if target_cols else None
    if molecules_only and targets is None:
        from ..data import get_dataset_info
        from ..errors import UnknownNameError

        try:
            get_dataset_info(str(dataset))
        except UnknownNameError:
            if not str(dataset).lower().startswith("moleculeace:"):
                targets = []  # a file: its molecules only
    with cliffkit_warnings_as_lines():
        ds = load_dataset(
            dataset,
            smiles_col=smiles_col,
            target_cols=targets,
            data_dir=data_dir,
            show_progress=show_progress,
            standardize=_standardize_choice() or standardize or "keep",
        )
    given = _unit_choice()
    if given or units:
        ds = _with_units(ds, given or list(units or []), explicit=bool(given))
    return ds


def _with_units(ds: Dataset, units: list[str], *, explicit: bool) -> Dataset:
    """``ds`` with the units of its targets set (one unit for all, or one per target)."""
    import dataclasses

    from ..errors import InvalidParameterError

    if "smiles_column" not in ds.meta:
        if explicit:
            raise InvalidParameterError(
                f"--unit applies to a file's targets; the registered dataset {ds.name!r} has its "
                f"units ({', '.join(ds.units)}); drop --unit."
            )
        return ds
    if len(units) == 1:
        units = units * ds.n_targets
    if len(units) != ds.n_targets:
        raise InvalidParameterError(
            f"--unit was given {len(units)} times for {ds.n_targets} targets "
            f"({', '.join(ds.target_names)}); give it once for all or once per target, in order."
        )
    from ..data import warn_linear_scale

    ds = dataclasses.replace(ds, units=list(units))
    with cliffkit_warnings_as_lines():
        warn_linear_scale(ds, where=ds.name, units=units, units_only=True)
    return ds


def data_record(dataset: str, ds: Dataset) -> dict[str, Any]:
    """What a split file records about a user file so that later commands can reload it.

    Empty for registered datasets (their split files keep their old bytes). For a file:
    ``path`` (absolute), ``path_as_given``, ``smiles_col``, ``target_cols``, ``units`` and
    ``standardize``. For a MoleculeACE set given by its path (``moleculeace:/x/set.csv``,
    whose name ``moleculeace:set`` alone would not find it): ``moleculeace_path``
    (absolute) and ``path_as_given``.
    """
    from pathlib import Path

    if "smiles_column" not in ds.meta:
        rec: dict[str, Any] = {}
        given = str(dataset).split(":", 1)[1].strip() if ":" in str(dataset) else ""
        if ds.name.startswith("moleculeace:") and given and given != Path(ds.source).stem:
            rec.update(moleculeace_path=ds.source, path_as_given=str(dataset))
        if ds.report.standardize not in (None, "", "keep"):
            rec["standardize"] = ds.report.standardize
        return rec
    return {"path": ds.source, "path_as_given": str(dataset),
            "smiles_col": ds.meta["smiles_column"], "target_cols": list(ds.target_names),
            "units": list(ds.units), "standardize": ds.report.standardize or "keep"}


def load_split_and_data(split_path: str, dataset: str | None, smiles_col: str | None = None,
                        target_cols: Sequence[str] | None = None,
                        data_dir: str | None = None) -> tuple[Dataset, Any]:
    """Read a split file and the data it was made from; return ``(dataset, split)``.

    The split is read twice: once as recorded (to find its data, :func:`load_for_split`),
    then against the loaded data, which checks the data's checksum. ``train``,
    ``weights`` and ``evaluate`` all load a split this way.

    Raises
    ------
    SplitFileError
        Unreadable split file, missing data, data whose checksum differs from the split's,
        or ``target_cols`` (``--target-col``) naming other targets than the split's.
    """
    from ..errors import SplitFileError
    from ..split import load_split

    recorded = load_split(split_path)
    ds = load_for_split(recorded, split_path, dataset, smiles_col, target_cols, data_dir)
    want = (recorded.dataset or {}).get("checksum")
    made_for, given = list(recorded.target_names), list(ds.target_names)
    if target_cols and want and ds.checksum != want and given != made_for:
        # not "other data": the same file read with other target columns
        data = (recorded.dataset or {}).get("path_as_given") or (recorded.dataset or {}).get("name")
        subset = set(given) < set(made_for)
        raise SplitFileError(
            f"Split file {split_path} was made for the target(s) {', '.join(map(repr, made_for))}"
            f" of {data!r}, but --target-col gives {', '.join(map(repr, given))}; a split's cliff "
            "and smooth labels come from its targets' values, so it holds for those targets only. "
            + ("Drop --target-col and choose one of the split's targets with --target NAME, "
               if subset else "Drop --target-col to use the split's target(s), ")
            + f"or make a split for these (cliffkit split {data} --target-col COL ... -o NEW.json)."
        )
    return ds, load_split(split_path, dataset=ds)  # SplitFileError on checksum mismatch


def load_for_split(split: Any, split_path: str, dataset: str | None,
                   smiles_col: str | None = None, target_cols: Sequence[str] | None = None,
                   data_dir: str | None = None) -> Dataset:
    """Load the data a split file was made from (or ``dataset``, which overrides it).

    A user file is reloaded from the absolute path, columns, unit and ``--standardize``
    choice recorded in the split; command-line options win. A MoleculeACE set given by
    its path is reloaded from that path. A registered dataset is loaded by its name (with
    the split's subset of targets if it was made on some).

    Raises
    ------
    SplitFileError
        The split names no data, or the recorded file does not exist any more.
    """
    from pathlib import Path

    from ..errors import InvalidDataError, SplitFileError, UnknownNameError

    rec = dict(split.dataset or {})
    is_file = bool(rec.get("path"))
    mace = rec.get("moleculeace_path")
    by_name = False
    if dataset is None:
        if is_file or mace:
            where = rec["path"] if is_file else mace
            if not Path(where).is_file():
                raise SplitFileError(
                    f"Split file {split_path} was made from the data file {where} (given as "
                    f"{rec.get('path_as_given', where)!r}), which does not exist any more; "
                    f"pass --dataset {'moleculeace:' if mace and not is_file else ''}FILE to "
                    "say where the data is now (--dataset overrides the recorded path)."
                )
            dataset = rec["path"] if is_file else f"moleculeace:{mace}"
        else:
            dataset = rec.get("name")
            by_name = True
    if not dataset:
        raise SplitFileError(
            f"Split file {split_path} does not name its dataset; pass the data with --dataset FILE."
        )
    if is_file:
        smiles_col = smiles_col or rec.get("smiles_col")
        target_cols = target_cols or rec.get("target_cols")
    units = rec.get("units") if is_file else None
    std = rec.get("standardize")
    if by_name and str(dataset).lower().startswith("moleculeace:"):
        from ..data._loaders import _find_moleculeace
        from ..utils import one_line

        spec = str(dataset).split(":", 1)[1].strip()
        try:
            _find_moleculeace(spec, Path(data_dir).expanduser() if data_dir else None)
        except (UnknownNameError, InvalidDataError) as exc:
            # a split file written before moleculeace_path was recorded, or a set moved away
            raise SplitFileError(
                f"Split file {split_path} was made from {dataset!r}, which cannot be found now "
                f"({one_line(exc)}); pass --dataset moleculeace:/path/to/"
                f"{spec}.csv to say where the data is."
            ) from None
    ds = load_from_cli(dataset, smiles_col, target_cols, data_dir, units=units, standardize=std)
    want = rec.get("checksum")
    if (want and ds.checksum != want and not target_cols and not is_file
            and set(split.target_names) < set(ds.target_names)):
        # the split was made on a subset of the targets (e.g. --target-col gap)
        sub = load_from_cli(dataset, smiles_col, list(split.target_names), data_dir,
                            standardize=std)
        if sub.checksum == want:
            ds = sub
    return ds


def _console():
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 120, soft_wrap=False)


def _fmt(v: float) -> str:
    return f"{v:.5g}" if v == v else "n/a"  # NaN: undefined (std of one value, no values)


@app.command("datasets", help="List the registered datasets: size, targets, units and source.")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON instead of a table.")
@output_options
def datasets_cmd(as_json: bool) -> None:
    from rich.table import Table

    from ..data import list_datasets

    infos = list_datasets()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    table = Table(title="cliffkit datasets", title_justify="left")
    for col in ("name", "molecules", "rows", "targets", "units", "source"):
        table.add_column(col, overflow="fold")
    for i in infos:
        units = sorted(set(i.units), key=i.units.index)
        table.add_row(
            i.name,
            f"{i.size:,}" if i.size is not None else "?",
            f"{i.n_rows:,}" if i.n_rows is not None else "?",
            ", ".join(i.target_names),
            ", ".join(units),
            i.source,
        )
    table.add_row(
        "moleculeace:<name>", "", "", "y", "-log10(nM)",
        "CLIFFKIT_DATA_DIR/moleculeace/<name>.csv (MoleculeACE 3.0.0 sets)",
    )
    if STATE["quiet"]:
        return
    _console().print(table)
    click.echo("Any CSV/TSV/Parquet file works too: cliffkit describe FILE --target-col COL")


def _render_describe(summary: dict[str, Any]) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{summary['name']}[/bold]  source: {summary['source']}", highlight=False)
    console.print(f"sha256: {summary['source_sha256']}", highlight=False)
    counts = Table(title="rows", title_justify="left")
    counts.add_column("step")
    counts.add_column("count", justify="right")
    word = summary.get("row_word", "line")
    counts.add_column({"line": "first rows (file line; header = 1)",
                       "record": "first rows (Parquet record, 1-based)"}.get(word, f"first rows ({word})"),
                      overflow="fold")
    counts.add_row("read", f"{summary['n_read']:,}", "")
    for reason, entry in summary["dropped"].items():
        ex = ", ".join(
            f"{r}" + (f" {e}" if e else "") for r, e in zip(entry["first_rows"], entry["examples"], strict=True)
        )
        more = ", ..." if entry["count"] > len(entry["first_rows"]) else ""
        counts.add_row(f"dropped: {reason}", f"{entry['count']:,}", ex + more)
    for target, entry in summary.get("masked", {}).items():
        more = ", ..." if entry["count"] > len(entry["first_rows"]) else ""
        counts.add_row(f"no {target} value (row kept for other targets)", f"{entry['count']:,}",
                       ", ".join(map(str, entry["first_rows"])) + more)
    groups = summary["n_merged_groups"]
    first = ", ".join("+".join(map(str, c["rows"])) + ("+..." if c.get("n_rows", 0) > len(c["rows"]) else "")
                      for c in summary["conflicts"])
    merged_first = ", ".join("+".join(map(str, rows)) for rows in summary["merged_first_rows"])
    counts.add_row(
        f"merged duplicates ({groups:,} group{'' if groups == 1 else 's'})", f"{summary['n_merged_rows']:,}",
        merged_first + (", ..." if groups > len(summary["merged_first_rows"]) else ""),
    )
    counts.add_row(
        "  of which conflicting groups", f"{summary['n_conflicts']:,}",
        first + (", ..." if summary["n_conflicts"] > len(summary["conflicts"]) else ""),
    )
    if summary.get("n_multi_fragment"):
        counts.add_row(f"multi-fragment SMILES (standardize={summary.get('standardize', 'keep')})",
                       f"{summary['n_multi_fragment']:,}", "salts/mixtures; see --standardize")
    counts.add_row("[bold]final molecules[/bold]", f"[bold]{summary['n_final']:,}[/bold]", "")
    console.print(counts)
    stats = Table(title="targets", title_justify="left")
    for col in ("target", "unit", "count", "missing", "mean", "std", "min", "median", "max"):
        stats.add_column(col, justify="left" if col in ("target", "unit") else "right")
    for t in summary["targets"]:
        stats.add_row(
            t["name"], t["unit"] or "-", f"{t['count']:,}", f"{t.get('n_missing', 0):,}",
            *(_fmt(t[k]) for k in ("mean", "std", "min", "median", "max")),
        )
    console.print(stats)
    extra = summary.get("extra", {})
    if "n_cliff_mol" in extra:
        split = ", ".join(f"{k} {v:,}" for k, v in extra.get("moleculeace_split", {}).items())
        console.print(
            f"MoleculeACE: {extra['n_cliff_mol']:,} cliff molecules (cliff_mol = 1); split: {split}",
            highlight=False,
        )
    if extra.get("has_qm9_index"):
        console.print("meta['qm9_index'] links each molecule to its QM9 geometry.", highlight=False)


@app.command(
    "describe",
    help="Load DATASET (a registered name, moleculeace:<name>, or a CSV/TSV/Parquet file) and "
    "report rows read, rows dropped and why, merged duplicates, the final count and per-target "
    "statistics.",
)
@click.argument("dataset", metavar="DATASET|FILE")
@dataset_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of tables.")
@click.option(
    "--progress/--no-progress", default=None,
    help="Show a progress bar while parsing SMILES (default: only on a terminal).",
)
@output_options
def describe_cmd(
    dataset: str,
    smiles_col: str | None,
    target_cols: tuple[str, ...],
    data_dir: str | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    from ..data import describe_dataset

    ds = load_from_cli(dataset, smiles_col, target_cols, data_dir, show_progress=progress)
    summary = describe_dataset(ds)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        if not STATE["quiet"]:
            _render_describe(summary)
