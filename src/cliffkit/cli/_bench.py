"""``cliffkit bench`` (run an experiment grid) and ``cliffkit report`` (tables, plots, claims)."""

from __future__ import annotations

import contextlib

import click

from ._app import app


@app.command("bench", help="Run an experiment grid (resumable): splits x backbones x losses x seeds.")
@click.option("--config", "config", required=True, metavar="NAME|FILE",
              help="A shipped grid (smoke, demo, quick, paper, moleculeace) or a .toml/.json grid file.")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Results folder; rerunning with the same folder skips finished cells.")
@click.option("--executor", default="local", show_default=True,
              help="Where cells run: 'local' (this process or a process pool) or 'ray' "
                   "(Ray tasks; needs pip install 'cliffkit[ray]').")
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
def bench(config: str, out_dir: str, executor: str, n_jobs: int, address: str | None,
          cpus_per_cell: float, dry_run: bool, skip_failed: bool, only_datasets: str | None,
          no_progress: bool) -> int:
    from pathlib import Path

    from ..bench import cell_status, get_executor, load_config, run_grid
    from ..bench._executor import check_executor_name
    from ..errors import InvalidParameterError

    check_executor_name(executor)
    if n_jobs < 1:
        raise InvalidParameterError(f"The '--n-jobs' option of bench must be >= 1; got {n_jobs}.")
    if address is not None and executor != "ray":
        raise InvalidParameterError(
            f"The '--address' option of bench needs --executor ray; got --executor {executor}."
        )
    # built first, so a missing extra is reported before any work
    if executor == "ray":
        ex = get_executor("ray", address=address, num_cpus=cpus_per_cell)
    else:
        ex = get_executor(executor, **({"n_jobs": n_jobs} if executor == "local" else {}))
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
        click.echo(f"  {len(cells)} cells ({done} already finished in {out_dir}), "
                   f"{len(grid.split_specs())} splits")
        for cell in cells:
            click.echo(f"  {cell.key}")
        return 0
    with _sigterm_as_interrupt():
        summary = run_grid(grid, out_dir, executor=ex, show_progress=not no_progress,
                           retry_failed=not skip_failed, record_config=full_grid)
    click.echo(str(summary))
    click.echo(f"Next: cliffkit report {out_dir} -o <report folder>")
    if summary.failed:
        click.echo(f"{summary.n_failed} cells failed (see {out_dir}/cells/<key>.json); "
                   f"'cliffkit report' lists them.", err=True)
    return 0


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


@app.command("report", help="Build report.md and a self-contained report.html from bench results.")
@click.argument("results", type=click.Path(file_okay=False))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Folder for report.md, report.html and images/*.png.")
@click.option("--title", default=None, help="Report title (default: from the grid config).")
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures (tables and claims only).")
@click.option("--claims", "claims_file", default=None, type=click.Path(dir_okay=False),
              help="Pre-registered claims (TOML; default: the shipped report/claims/paper.toml).")
def report(results: str, out_dir: str, title: str | None, no_figures: bool,
           claims_file: str | None) -> int:
    import platform
    from pathlib import Path

    from ..bench import load_results
    from ..report import build_report, write_report

    # only the cells of the grid in config.json: a folder reused after an edit also holds
    # cells made under the old settings, which would mix settings in one table
    table = load_results(results, grid_only=True)
    meta = {"results": str(Path(results).resolve())}
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
    command = f"cliffkit report {results} -o {out_dir}" + (f" --claims {claims_file}" if claims_file else "")
    rep = build_report(table, title=title or f"cliffkit bench report: {grid_name or Path(results).name}",
                       meta=meta, figures=not no_figures, claims_file=claims_file, command=command)
    paths = write_report(rep, out_dir)
    click.echo(f"Report: {paths['html']} (markdown: {paths['markdown']})")
    return 0
