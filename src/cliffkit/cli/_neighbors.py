"""``cliffkit neighbors``: exact Tanimoto top-k neighbour pairs of a dataset."""

from __future__ import annotations

import click

from ..similarity._defaults import MIN_SIMILARITY, N_BITS, RADIUS
from ._app import app, echo_warning, output_options, refuse_output_suffix, say, with_option_names
from ._data import dataset_options, load_from_cli

# parameter -> the option that sets it (for error messages)
_OPTIONS = {"min_similarity": "--min-sim", "k": "-k", "radius": "--radius", "n_bits": "--n-bits",
            "n_jobs": "--n-jobs", "ref_shard_size": "--ref-shard-size", "backend": "--backend"}


@app.command(
    "neighbors",
    help=(
        "Find each molecule's top-k Morgan/Tanimoto neighbours (exact, self excluded) and "
        "write the pairs (query, neighbor, similarity, smiles) to Parquet or CSV. "
        "Results are cached, keyed by the data and every parameter."
    ),
)
@click.argument("dataset")
@dataset_options
@click.option("-k", "k", type=int, default=None,
              help="Neighbours per molecule (default: max(4, min(24, floor(sqrt(n))))).")
@click.option("--min-sim", "min_similarity", type=float, default=MIN_SIMILARITY, show_default=True,
              help="Keep neighbours with Tanimoto similarity >= this value, in [0, 1].")
@click.option("--radius", type=int, default=RADIUS, show_default=True, help="Morgan radius.")
@click.option("--n-bits", type=int, default=N_BITS, show_default=True,
              help="Fingerprint length in bits (a multiple of 8).")
@click.option("--backend", type=click.Choice(["auto", "torch", "numpy"]), default="auto",
              show_default=True, help="Search backend; all give identical results.")
@click.option("--n-jobs", type=int, default=None,
              help="Processes/threads to use (default: all available cores).")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache folder (default: $CLIFFKIT_CACHE_DIR/neighbors or the user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), default=None,
              help="Write resumable shards here (long runs; implies --no-cache). A rerun "
                   "with the same folder skips finished shards; a folder from other data "
                   "is refused.")
@click.option("--ref-shard-size", type=int, default=None,
              help="Search the references in shards of this many molecules (bounds memory "
                   "for very large sets; same result; implies --no-cache).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output file: .parquet (default) or .csv, written atomically.")
@output_options
def neighbors(dataset: str, smiles_col: str | None, target_cols: tuple[str, ...],
              data_dir: str | None, k: int | None, min_similarity: float, radius: int,
              n_bits: int, backend: str, n_jobs: int | None, cache_dir: str | None,
              no_cache: bool, checkpoint_dir: str | None, ref_shard_size: int | None,
              no_progress: bool, output: str) -> None:
    import time
    import warnings

    from ..errors import InvalidParameterError
    from ..similarity import (
        cached_neighbors,
        compute_fingerprints,
        default_k,
        find_neighbors,
    )
    from ..utils import atomic_write, refuse_input_as_output

    refuse_output_suffix(output, (".parquet", ".csv"), "neighbors")
    show = None if not no_progress else False
    # the neighbours depend on the molecules only: a file needs no target column
    ds = load_from_cli(dataset, smiles_col, target_cols or None, data_dir,
                       molecules_only=not target_cols)
    refuse_input_as_output(output, {"data file": ds.source})
    k_eff = default_k(len(ds)) if k is None else k
    t0 = time.perf_counter()
    kwargs = {"k": k_eff, "min_similarity": min_similarity, "backend": backend,
              "n_jobs": n_jobs, "show_progress": show}
    with warnings.catch_warnings(record=True) as caught:  # e.g. k clipped: one line each
        warnings.simplefilter("always", UserWarning)
        try:
            if no_cache or checkpoint_dir is not None or ref_shard_size is not None:
                fps = compute_fingerprints(ds.smiles, radius=radius, n_bits=n_bits,
                                           n_jobs=n_jobs)
                graph = find_neighbors(fps, checkpoint_dir=checkpoint_dir,
                                       ref_shard_size=ref_shard_size, **kwargs)
            else:
                graph = cached_neighbors(ds.smiles, radius=radius, n_bits=n_bits,
                                         cache_dir=cache_dir, **kwargs)
        except InvalidParameterError as exc:
            raise with_option_names(exc, _OPTIONS) from None
    for w in caught:
        echo_warning(w.message)
    frame = graph.to_frame()
    frame["query_smiles"] = ds.smiles[frame["query"].to_numpy()]
    frame["neighbor_smiles"] = ds.smiles[frame["neighbor"].to_numpy()]
    with atomic_write(output, "wb") as fh:
        if output.lower().endswith(".csv"):
            frame.to_csv(fh, index=False, float_format="%.17g")
        else:
            frame.to_parquet(fh, index=False)
    rep = getattr(ds, "report", None)
    if rep is not None and (rep.n_merged_rows or rep.n_dropped):
        click.echo(
            f"cliffkit: warning: 'query' and 'neighbor' in {output} are rows of the loaded "
            f"dataset ({len(ds)} molecules: {rep.n_read} rows read, {rep.n_merged_rows} "
            f"duplicate rows merged, {rep.n_dropped} dropped), not rows of {dataset}; match on "
            "query_smiles / neighbor_smiles.",
            err=True,
        )
    deg = graph.degree()
    where = " (from cache)" if graph.params.get("cached") else ""
    k_used = min(k_eff, max(len(ds) - 1, 0))  # clipped to the possible neighbours (warned)
    k_text = f"k={k_used}" + (f" of the {k_eff} asked" if k_used < k_eff else "")
    say(
        f"wrote {len(frame)} pairs for {graph.n_query} molecules to {output}{where} "
        f"({k_text}, min_sim={min_similarity}, {int((deg > 0).sum())} with a neighbour, "
        f"mean degree {deg.mean():.2f}, {time.perf_counter() - t0:.1f} s)",
        err=True,
    )
