"""``cliffkit bench`` (run an experiment grid) and ``cliffkit report`` (tables, plots, claims)."""

from __future__ import annotations

import contextlib

import click

from ._app import app, output_options, say

_BENCH_HELP = """Run an experiment grid (resumable): splits x backbones x losses x seeds.

\b
Either a grid config (a shipped name or a TOML/JSON file):
  cliffkit bench --config demo -o results/
or your own data file, with the grid on the command line:
  cliffkit bench my.csv --smiles-col SMILES --target-col pKi --unit pKi \\
      --backbones lgbm,gin --losses plain,cliff --seeds 0,1,2 -o results/

The same keys work in a TOML file (see docs/tutorial.md). The number of cells and a rough
time estimate are printed before anything runs.
"""


def _csv_list(value: str | None, what: str, cast=str) -> list | None:
    from ..errors import InvalidParameterError

    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    try:
        out = [cast(v) for v in items]
    except ValueError:
        raise InvalidParameterError(
            f"--{what} must be a comma-separated list (e.g. 0,1,2); got {value!r}."
        ) from None
    if not out:
        raise InvalidParameterError(f"--{what} must name at least one value; got {value!r}.")
    return out


#: Rough CPU seconds per cell (fixed part, and per 1,000 molecules at the default epochs) with
#: one thread per cell; a guide only: the progress bar shows the measured ETA once cells
#: finish, and finished cells of the results folder (median seconds per backbone) replace these
#: when there are some. lgbm, mlp: fitted to the median ``cpu_seconds`` of the published cells
#: (docs/results/qm9-3k: 1.7 and 11.4 CPU-s at 3,000 molecules; docs/results/qm9-full: 206 and
#: 815 CPU-s at 130,744; Lipophilicity plain lgbm 12.9 CPU-s at 4,200): the constants of
#: 2026-11-29 (lgbm 2.0, mlp 20.0 per 1,000) put the qm9-3k grid at 5x its measured 431 s.
#: svm: Lipophilicity plain 5.5 CPU-s (its kernel grows as n^2: beyond ~20,000 molecules the
#: figure is low; docs/benchmarks.md). gin, dmpnn, schnet, chemprop: per-molecule cost depends
#: on molecule size (QM9's 9 heavy atoms against Lipophilicity's 27), so one constant fits
#: neither well (docs/benchmarks.md has the measured epoch times).
_SECONDS_FIXED = {"lgbm": 2.0, "mlp": 5.0, "svm": 1.0, "gin": 15.0, "dmpnn": 20.0,
                  "schnet": 60.0, "chemprop": 20.0}
_SECONDS_PER_1K = {"lgbm": 1.6, "mlp": 6.0, "svm": 1.1, "gin": 120.0, "dmpnn": 150.0,
                   "schnet": 600.0, "chemprop": 150.0}


def _measured_seconds(out_dir: str) -> dict[str, float]:
    """Median seconds of finished cells per backbone in ``out_dir`` (empty if none)."""
    import json
    import statistics
    from pathlib import Path

    times: dict[str, list[float]] = {}
    folder = Path(out_dir) / "cells"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if rec.get("status") == "ok" and isinstance(rec.get("seconds"), int | float):
            times.setdefault(rec.get("cell", {}).get("backbone"), []).append(rec["seconds"])
    return {k: statistics.median(v) for k, v in times.items()}


def _epoch_share(grid, backbone: str) -> float:
    """The grid's epoch cap for ``backbone`` as a share of its default epochs (1.0 if none).

    The per-molecule times above are for a backbone trained to its default budget; a grid
    that caps ``epochs`` (the demo) costs about that share of it.
    """
    import inspect

    cap = (grid.backbone_params or {}).get(backbone, {}).get("epochs")
    if not isinstance(cap, int | float) or cap <= 0:
        return 1.0
    try:
        from ..models import get_backbone_class

        default = inspect.signature(get_backbone_class(backbone)).parameters["epochs"].default
    except (KeyError, ValueError, TypeError, ImportError):
        return 1.0
    if not isinstance(default, int | float) or default <= 0:
        return 1.0
    return min(1.0, float(cap) / float(default))


def _estimate(grid, out_dir: str, n_jobs: int = 2) -> tuple[float, str]:
    """(wall seconds, how) for the cells of ``grid`` not finished in ``out_dir``, run
    ``n_jobs`` at a time."""
    from pathlib import Path

    from ..bench import cell_status

    cells = [c for c in grid.cells()
             if not (Path(out_dir).is_dir() and cell_status(out_dir, c.key) == "ok")]
    sizes = {}
    for d in grid.datasets:
        n = d.subsample
        if n is None:
            try:
                from ..data import get_dataset_info

                n = get_dataset_info(d.name).size
            except Exception:  # noqa: BLE001 - a file: counted below
                n = None
        if n is None:
            try:
                import pandas as pd

                n = sum(1 for _ in open(d.name, "rb")) - 1 if not d.name.endswith(".parquet") \
                    else len(pd.read_parquet(d.name))
            except OSError:
                n = 1000
        sizes[d.name] = max(int(n), 1)
    measured = _measured_seconds(out_dir)
    total = sum(measured[c.backbone] if c.backbone in measured else
                _SECONDS_FIXED.get(c.backbone, 20.0)
                + _SECONDS_PER_1K.get(c.backbone, 120.0) * sizes.get(c.dataset, 1000) / 1000
                * _epoch_share(grid, c.backbone)
                for c in cells)
    total /= max(1, n_jobs)
    how = f"{_n_cells(len(cells))} to run"
    if measured:
        how += ", timed from the finished cells of this folder where possible"
    return total, how


def _n_cells(n: int) -> str:
    return f"{n} cell" if n == 1 else f"{n} cells"


def _fmt_time(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _shipped_grids() -> list[str]:
    """The shipped grid names, from the registry (cliffkit.bench.list_configs)."""
    from ..bench._config import list_configs

    return list_configs()


@app.command("bench", help=_BENCH_HELP)
@click.argument("data", metavar="[DATA_FILE]", required=False)
@click.option("--config", "config", default=None, metavar="NAME|FILE",
              help=f"A shipped grid ({', '.join(_shipped_grids())}) or a .toml/.json grid file.")
@click.option("--smiles-col", default=None, metavar="COL",
              help="With DATA_FILE: its SMILES column (default: a column named 'smiles').")
@click.option("--target-col", "target_cols", multiple=True, metavar="COL",
              help="With DATA_FILE: its target column(s) (repeat; default: the only numeric one).")
@click.option("--unit", default=None, metavar="UNIT",
              help="With DATA_FILE: the unit of its targets, shown in the report.")
@click.option("--backbones", default=None, metavar="B[,B]",
              help="With DATA_FILE: backbones (default: lgbm,mlp).")
@click.option("--losses", default=None, metavar="L[,L]",
              help="With DATA_FILE: losses (default: plain,cliff).")
@click.option("--seeds", default=None, metavar="S[,S]", help="With DATA_FILE: seeds (default: 0,1,2).")
@click.option("--splits", default=None, metavar="M[,M]",
              help="With DATA_FILE: split methods (default: cliff).")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Results folder; rerunning with the same folder skips finished cells.")
@click.option("--executor", default="local", show_default=True,
              help="Where cells run: 'local' (this process or a process pool) or 'ray' "
                   "(Ray tasks; needs the ray extra, README 'Install').")
@click.option("--n-jobs", default=1, show_default=True, type=int,
              help="Worker processes for the local executor (1 = in this process).")
@click.option("--address", default=None, metavar="auto|HOST:PORT|ray://HOST:PORT",
              help="Ray cluster for --executor ray (default: a local Ray instance, "
                   "or RAY_ADDRESS); 'auto' joins the cluster started with 'ray start'.")
@click.option("--cpus-per-cell", default=1.0, show_default=True, type=float,
              help="CPUs each cell declares with --executor ray (torch uses that many threads).")
@click.option("--dry-run", is_flag=True,
              help="Validate the config and list the cells and splits to run; run nothing.")
@click.option("--skip-failed", is_flag=True,
              help="Do not retry cells that failed in an earlier run.")
@click.option("--datasets", "only_datasets", default=None, metavar="NAME[,NAME]",
              help="Run only these datasets of the grid. Cells keep their keys, so parts run "
                   "on several machines can be merged into one results folder.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@output_options
def bench(data: str | None, config: str | None, smiles_col: str | None,
          target_cols: tuple[str, ...], unit: str | None, backbones: str | None,
          losses: str | None, seeds: str | None, splits: str | None, out_dir: str,
          executor: str, n_jobs: int, address: str | None, cpus_per_cell: float, dry_run: bool,
          skip_failed: bool, only_datasets: str | None, no_progress: bool) -> int:
    from pathlib import Path

    from ..bench import cell_status, get_executor, load_config, run_grid
    from ..bench._config import GridConfig
    from ..bench._executor import check_executor_name
    from ..errors import InvalidParameterError

    grid_keys = {"--smiles-col": smiles_col, "--target-col": target_cols, "--unit": unit,
                 "--backbones": backbones, "--losses": losses, "--seeds": seeds,
                 "--splits": splits}
    if data is None and config is None:
        raise InvalidParameterError(
            "cliffkit bench needs a grid: a data file (cliffkit bench my.csv --target-col pKi "
            "-o results/) or --config NAME|FILE (e.g. --config demo).")
    if data is not None and config is not None:
        raise InvalidParameterError(
            f"Give either a data file ({data!r}) or --config ({config!r}), not both; the data "
            "file's grid is set with --backbones/--losses/--seeds/--splits.")
    if data is None:
        given = [k for k, v in grid_keys.items() if v]
        if given:
            raise InvalidParameterError(
                f"{given[0]} applies with a data file (cliffkit bench FILE {given[0]} ...); with "
                "--config, set it in the config file.")
    check_executor_name(executor)
    if n_jobs < 1:
        raise InvalidParameterError(f"The '--n-jobs' option of bench must be >= 1; got {n_jobs}.")
    if address is not None and executor != "ray":
        raise InvalidParameterError(
            f"The '--address' option of bench needs --executor ray; got --executor {executor}."
        )
    source = click.get_current_context().get_parameter_source
    if executor != "ray" and source("cpus_per_cell") is not click.core.ParameterSource.DEFAULT:
        raise InvalidParameterError(
            f"The '--cpus-per-cell' option of bench needs --executor ray (got --executor "
            f"{executor}, where it would be ignored); the local executor takes --n-jobs."
        )
    if executor == "ray" and source("n_jobs") is not click.core.ParameterSource.DEFAULT:
        raise InvalidParameterError(
            "The '--n-jobs' option of bench is for the local executor (with --executor ray it "
            "would be ignored); Ray runs as many cells as the cluster has CPUs for "
            "--cpus-per-cell."
        )
    # built first, so a missing extra is reported before any work
    if executor == "ray":
        ex = get_executor("ray", address=address, num_cpus=cpus_per_cell)
    else:
        ex = get_executor(executor, **({"n_jobs": n_jobs} if executor == "local" else {}))
    if data is not None:
        from ._data import load_from_cli

        ds = load_from_cli(data, smiles_col, target_cols, None)  # one-line errors up front
        if "smiles_column" not in ds.meta:
            raise InvalidParameterError(
                f"{data!r} is a registered dataset; 'cliffkit bench DATA_FILE' takes a file. "
                "Write a grid config for registered datasets (see --config).")
        entry = {"name": data, "targets": list(ds.target_names),
                 "smiles_col": ds.meta["smiles_column"]}
        if unit:
            entry["unit"] = unit
        doc = {"name": Path(data).stem, "datasets": [entry],
               "backbones": _csv_list(backbones, "backbones") or ["lgbm", "mlp"],
               "losses": _csv_list(losses, "losses") or ["plain", "cliff"],
               "seeds": _csv_list(seeds, "seeds", int) or [0, 1, 2],
               "splits": _csv_list(splits, "splits") or ["cliff"]}
        grid = full_grid = GridConfig.from_dict(doc, source=f"command line ({data})")
    else:
        from ._app import cliffkit_warnings_as_lines

        with cliffkit_warnings_as_lines():  # a data file the config loads: one line each
            grid = full_grid = load_config(config)
    if only_datasets is not None:
        grid = _only_datasets(grid, only_datasets)
    cells = grid.cells()
    if dry_run:
        done = sum(cell_status(out_dir, c.key) == "ok" for c in cells) if Path(out_dir).is_dir() else 0
        click.echo(f"grid {grid.name!r} from {grid.source}")
        for d in grid.datasets:
            sub = f" (subsample {d.subsample}, seed {d.subsample_seed})" if d.subsample else ""
            click.echo(f"  dataset {d.name}: targets {', '.join(d.targets)}{sub}")
        click.echo(f"  splits: {', '.join(grid.splits)}; backbones: {', '.join(grid.backbones)}; "
                   f"losses: {', '.join(grid.losses)}; seeds: {', '.join(map(str, grid.seeds))}")
        for e in grid.exclude:
            click.echo("  left out (exclude): " + ", ".join(f"{k} {v}" for k, v in e.items()))
        click.echo(f"  {_n_cells(len(cells))} ({done} already finished in {out_dir}), "
                   f"{len(grid.split_specs())} splits")
        click.echo("  cells:")
        for cell in cells:
            click.echo(f"    {cell.key}")
        click.echo("  splits:")
        for spec in grid.split_specs():
            click.echo(f"    {spec.key}")
        seconds, how = _estimate(grid, out_dir, n_jobs)
        click.echo(f"  rough estimate for the {how}: {_fmt_time(seconds)} with --n-jobs {n_jobs}")
        return 0
    seconds, how = _estimate(grid, out_dir, n_jobs)
    say(f"grid {grid.name!r}: {_n_cells(len(cells))} ({how}); rough estimate {_fmt_time(seconds)} "
        f"with --n-jobs {n_jobs} (from typical per-backbone times on idle CPU cores, scaled by "
        "the grid's epoch caps; the progress bar shows the measured ETA)")
    with _sigterm_as_interrupt():
        summary = run_grid(grid, out_dir, executor=ex, show_progress=not no_progress,
                           retry_failed=not skip_failed, record_config=full_grid)
    say(str(summary))
    say(f"Next: cliffkit report {out_dir} -o <report folder>")
    if summary.failed:
        click.echo(f"{_n_cells(summary.n_failed)} failed (see {out_dir}/cells/<key>.json); "
                   f"'cliffkit report' lists them.", err=True)
    return 0


def _units(table) -> list[str]:
    """The unit of each row's target: from the grid config (a user file's 'unit') or the
    dataset registry; '' when unknown."""
    from ..data import get_dataset_info
    from ..errors import CliffkitError

    grid = table.attrs.get("grid") or {}
    given = {d.get("name"): d.get("unit") for d in grid.get("datasets", []) if isinstance(d, dict)}
    cache: dict[tuple, str] = {}
    out = []
    for ds, tg in zip(table["dataset"], table["target"], strict=False):
        key = (ds, tg)
        if key not in cache:
            unit = given.get(ds) or ""
            if not unit:
                try:
                    info = get_dataset_info(str(ds))
                    names = list(info.target_names)
                    unit = info.units[names.index(tg)] if tg in names else ""
                except (CliffkitError, ValueError, AttributeError, IndexError):
                    unit = ""
            cache[key] = unit
        out.append(cache[key])
    return out


#: Shipped grids whose training budgets are capped (their verdicts are labelled so).
_CAPPED_GRIDS = ("demo", "smoke")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """``kill PID`` stops a grid like Ctrl-C: finished cells kept, workers stopped."""
    import signal

    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a thread): leave it
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _only_datasets(grid, names: str):
    """The grid restricted to the comma-separated dataset ``names`` (ConfigError if unknown)."""
    import dataclasses

    from ..errors import ConfigError

    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = [d.name for d in grid.datasets]
    unknown = [n for n in wanted if n not in known]
    if unknown or not wanted:
        raise ConfigError(
            f"--datasets {names!r}: grid {grid.name!r} has no dataset {unknown[0] if unknown else ''!r}; "
            f"its datasets are: {', '.join(known)}."
        )
    return dataclasses.replace(grid, datasets=[d for d in grid.datasets if d.name in wanted])


@app.command(
    "report",
    help="Build report.md and a self-contained report.html from RESULTS: a 'cliffkit bench' "
    "results folder, or a folder of 'cliffkit train' run folders and/or 'cliffkit evaluate -o' "
    "JSON files (each run is scored on its split's test molecules).",
)
@click.argument("results", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.md, report.html and images/*.png.")
@click.option("--title", default=None, help="Report title (default: from the grid config).")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures (tables and claims only).")
@click.option("--claims", "claims_file", default=None, type=click.Path(dir_okay=False),
              help="Pre-registered claims (TOML, the layout of the shipped report/claims/paper.toml, which is the default and covers the paper's datasets only); a file you name is tested on every cell, your own data included.")
@click.option("--compare", "compare_dir", default=None,
              type=click.Path(file_okay=False, exists=True),
              help="A second 'cliffkit bench' results folder (e.g. the same grid on a subsample): "
                   "its cells that share (dataset, target, split, backbone, loss) with RESULTS "
                   "are shown side by side.")
@click.option("--compare-label", default=None, metavar="TEXT",
              help="The second folder's name in the report (default: its folder name).")
@output_options
def report(results: str, out_dir: str, title: str | None, no_figures: bool,
           claims_file: str | None, compare_dir: str | None, compare_label: str | None) -> int:
    import platform
    import shlex
    from pathlib import Path

    from ..bench import load_results
    from ..errors import ConfigError
    from ..report import build_report, write_report

    # only the cells of the grid in config.json: a folder reused after an edit also holds
    # cells made under the old settings, which would mix settings in one table
    if (Path(results) / "cells").is_dir():
        table = load_results(results, grid_only=True)
    else:
        from ..bench._runs import load_runs
        from ._app import cliffkit_warnings_as_lines

        with cliffkit_warnings_as_lines():
            table = load_runs(results, out_dir)
        say(f"{table.attrs['n_runs']} train runs and {table.attrs['n_evaluations']} evaluation "
            f"files found under {results}", err=True)
        for text in table.attrs.get("repeats") or []:
            click.echo(f"cliffkit: warning: {text}", err=True)
    if "unit" not in table:
        table["unit"] = _units(table)
    meta = {"results": str(results)}  # as given: a committed report names no machine path
    grid = table.attrs.get("grid")
    grid_name = None
    if grid is not None:
        grid_name = grid.get("name")
        meta["grid"] = f"{grid_name} ({table.attrs['grid_source']})"
        if table.attrs["n_stale"]:
            meta["ignored"] = (f"{table.attrs['n_stale']} cells made under other settings "
                               "(not in this grid's config.json)")
        if table.attrs["n_missing"]:
            n_grid = len(table) + table.attrs["n_missing"]
            meta["missing"] = (f"{table.attrs['n_missing']} of {n_grid} cells of this grid "
                               "have no result yet")
    machines = sorted(set(table["machine"].dropna())) if "machine" in table else []
    meta["machine"] = "; ".join(machines) or f"{platform.machine()}, {platform.platform()}"
    if "started" in table and table["started"].notna().any():
        meta["run"] = (f"{table['started'].dropna().min()} to {table['finished'].dropna().max()} "
                       f"(UTC), {table['seconds'].fillna(0).sum() / 3600:.2f} cell-hours")
    from ..report._bench_report import _task

    tasks = sorted({_task(d, t) for d, t in zip(table["dataset"], table["target"], strict=False)})
    default_title = (f"cliffkit bench report: {grid_name}" if grid_name
                     else f"cliffkit report: {', '.join(tasks[:4])}" + (" …" if len(tasks) > 4 else ""))
    # the shipped demo and smoke grids cap epochs far short of convergence
    capped = grid_name in _CAPPED_GRIDS
    if capped:
        meta["budget"] = (f"capped (the '{grid_name}' grid stops training early to fit its time "
                          "budget): the numbers show the workflow, not findings")
    compare = None
    if compare_label is not None and compare_dir is None:
        raise ConfigError("--compare-label names the folder of --compare; add --compare DIR "
                          "(or drop --compare-label).")
    if compare_dir is not None:
        if not (Path(compare_dir) / "cells").is_dir():
            raise ConfigError(f"--compare {compare_dir!r} is not a 'cliffkit bench' results folder "
                              "(no cells/ in it); name the folder that 'cliffkit bench -o' wrote.")
        compare = load_results(compare_dir, grid_only=True)
        compare_label = compare_label or Path(compare_dir).name
        n_cmp_missing = compare.attrs.get("n_missing", 0)
        meta["compared with"] = (f"{compare_label} ({compare_dir}"
                                 + (f"; {n_cmp_missing} of {len(compare) + n_cmp_missing} of its "
                                    "grid's cells have no result yet" if n_cmp_missing else "")
                                 + ")")
    command = f"cliffkit report {results} -o {out_dir}" + (f" --claims {claims_file}" if claims_file else "")
    if compare_dir is not None:
        command += f" --compare {compare_dir} --compare-label {shlex.quote(compare_label)}"
    src = str(table.attrs.get("grid_source") or "")
    published = (Path(results) / "splits" / "SHA256SUMS").is_file()
    shipped = bool(grid_name) and src.startswith("cliffkit:bench/configs/")
    if shipped and published:
        # a folder published by benchmarks/publish_results.py: the report comes from its
        # cells alone; remaking the cells goes into a scratch folder, never the published one
        meta["cells remade by"] = (f"cliffkit bench --config {grid_name} -o SCRATCH_DIR, then "
                                   f"python benchmarks/publish_results.py publish SCRATCH_DIR "
                                   f"{results} (see docs/results/README.md)")
    elif shipped:
        # a shipped grid: the one command that remakes the results (finished cells are
        # skipped) and then this report
        command = f"cliffkit bench --config {grid_name} -o {results} && {command}"
    grid_warnings = [table.attrs.get("grid_problem")]
    if compare is not None and compare.attrs.get("grid_problem"):
        grid_warnings.append(f"In {compare_label}: {compare.attrs['grid_problem']}")
    if compare is not None and (compare["status"] == "unreadable").any():
        bad = compare[compare["status"] == "unreadable"]
        grid_warnings.append(
            f"In {compare_label}: {len(bad)} cell file(s) could not be read and are left out of "
            "the comparison: " + "; ".join(bad["error_message"].astype(str).head(5))
            + (" …" if len(bad) > 5 else ""))
    rep = build_report(table, title=title or default_title, meta=meta, figures=not no_figures,
                       claims_file=claims_file, command=command, capped=capped,
                       missing=table.attrs.get("missing_cells"), compare=compare,
                       compare_label=compare_label, warnings=grid_warnings)
    paths = write_report(rep, out_dir)
    say(f"Report: {paths['html']} (markdown: {paths['markdown']})")
    return 0
