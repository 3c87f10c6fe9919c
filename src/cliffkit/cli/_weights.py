"""``cliffkit weights``: CliffLoss (or baseline) sample weights as a CSV column for chemprop."""

from __future__ import annotations

import click

from ._app import app, output_options, refuse_output_suffix, say
from ._data import dataset_options, load_split_and_data

_STATIC = ("plain", "cliff", "random-weights", "lds")


def check_lam(lam: float | None, command: str) -> None:
    """One-line error for a ``--lam`` that is not a finite number in [0, ``MAX_LAM``].

    ``MAX_LAM`` is the library's bound (``cliffkit.loss._weights``); this error names --lam.
    """
    import math

    from ..errors import InvalidParameterError
    from ..loss._weights import MAX_LAM

    if lam is not None and not (math.isfinite(lam) and 0 <= lam <= MAX_LAM):
        raise InvalidParameterError(
            f"The '--lam' option of 'cliffkit {command}' must be a finite number from 0 to "
            f"{MAX_LAM:g}; got {lam:g}."
        )


@app.command(
    "weights",
    help=(
        "Write per-molecule training weights (smiles,weight) for chemprop's --weight-column. "
        "Weights are computed from training molecules and labels only."
    ),
)
@click.argument("dataset_arg", metavar="[DATASET]", required=False)
@click.option("--split", "split_path", required=True, type=click.Path(dir_okay=False),
              help="Split file (JSON) from 'cliffkit split'; its training set gets the weights, "
                   "and the data is reloaded from what it records.")
@click.option("--dataset", "dataset", default=None, metavar="DATASET|FILE",
              help="Data the split was made from, if not where the split file says (overrides "
                   "the recorded path).")
@dataset_options
@click.option("--target", default=None,
              help="Which loaded target to weight (needed when there are several). --target-col "
                   "chooses the file's columns to load.")
@click.option("--loss", "loss_name", default="cliff", show_default=True,
              help="Weighting: " + " | ".join(_STATIC) + ".")
@click.option("--lam", type=float, default=None,
              help="λ of the cliff weights w = 1 + λ·severity (also for random-weights; "
                   "default 0.1; plain and lds have no λ; 0 to 1e12).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random-weights permutation.")
@click.option("--raw", is_flag=True,
              help="Write raw weights (1 + λ·c) instead of weights rescaled to mean 1.")
@click.option("--all-rows", is_flag=True,
              help="Write every dataset row (one per molecule, in the order of 'cliffkit split "
                   "--chemprop-data') with its target (weight 1 outside train): chemprop's data "
                   "file for the --chemprop-splits file written together with --chemprop-data "
                   "(not for one that indexes the rows of your own file).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Output CSV path (written atomically).")
@output_options
def weights(dataset_arg: str | None, split_path: str, dataset: str | None, smiles_col: str | None, target_cols: tuple[str, ...],
            data_dir: str | None, target: str | None, loss_name: str, lam: float,
            seed: int, raw: bool, all_rows: bool, output: str) -> None:
    import numpy as np
    import pandas as pd

    from ..errors import InvalidParameterError, unknown_name
    from ..experiment import build_loss
    from ..loss import list_losses
    from ..utils import atomic_write, refuse_input_as_output

    key = loss_name.lower().replace("_", "-")
    if key not in list_losses():
        raise unknown_name("loss", loss_name, _STATIC)
    if key not in _STATIC:
        raise InvalidParameterError(
            f"The '--loss' option of 'cliffkit weights' must be one of {', '.join(_STATIC)}; "
            f"got {loss_name!r}: it acts inside the training loop (a pairwise term, per-epoch λ, "
            "a triplet term on embeddings or weight averaging), which a static weight column "
            "cannot carry (train it with 'cliffkit train --loss ...')."
        )
    check_lam(lam, "weights")
    ds, split = load_split_and_data(split_path, dataset or dataset_arg, smiles_col, target_cols,
                                    data_dir)
    refuse_input_as_output(output, {"split file": split_path, "data file": ds.source})
    refuse_output_suffix(output, (".csv",), "weights", "-o")
    t = ds.target_index(target)
    from ..split import labelled_view

    full_ds = ds
    ds, split, rows = labelled_view(split, ds, t)  # weights for this target's own molecules
    if len(ds) < len(full_ds):
        click.echo(f"cliffkit: note: target {ds.target_names[t]!r} has a value for {len(ds):,} of "
                   f"{len(full_ds):,} molecules; weights cover those"
                   f"{' (the other rows get weight 1 and an empty target)' if all_rows else ''}.",
                   err=True)
    train = np.asarray(split.train, dtype=np.int64)
    spec = build_loss(key, ds, split, target=t, seed=seed, lam=lam)
    w = spec.sample_weight(mean_one=not raw)
    if all_rows:
        # every molecule of the dataset, in dataset order: the rows that 'cliffkit split
        # --chemprop-data' writes and its --chemprop-splits indices refer to
        full = np.ones(len(full_ds), dtype=np.float64)
        full[rows[train]] = w
        frame = pd.DataFrame({"smiles": full_ds.smiles, full_ds.target_names[t]: full_ds.y[:, t],
                              "weight": full})
        _warn_file_rows(full_ds, output)
    else:
        frame = pd.DataFrame({"smiles": ds.smiles[train], "weight": w})
    with atomic_write(output, "w") as fh:
        frame.to_csv(fh, index=False, float_format="%.10g")
    if not all_rows:
        _note_rewritten_smiles(ds, train, output)
    say(
        f"wrote {len(frame)} rows to {output} (loss={key}"
        + (f", lam={spec.params['lam']}" if "lam" in spec.params else "") + ", "
        f"{'raw' if raw else 'mean-1'} weights, min {w.min():.4g}, max {w.max():.4g})",
        err=True,
    )


def _note_rewritten_smiles(ds, train, output: str) -> None:
    """Say how many written SMILES differ from the text of the user's file: a join of the
    weights to that file on the SMILES column would silently lose those rows."""
    col, lines = ds.meta.get("smiles_column"), ds.meta.get("source_row")
    if not col or lines is None:
        return  # a registered dataset: no file of the user's to join to
    from ..data._read import read_table
    from ..errors import CliffkitError

    try:
        table = read_table(ds.source)
    except (CliffkitError, OSError):
        return
    text = dict(zip(table.lines.tolist(), table.frame[col].astype(str).str.strip(), strict=True))
    differ = sum(text.get(int(line)) != s for line, s in
                 zip(lines[train].tolist(), ds.smiles[train], strict=True))
    if differ:
        click.echo(
            f"cliffkit: note: {differ:,} of {len(train):,} SMILES in {output} are cliffkit's "
            f"canonical form and differ from their text in {ds.source}; join the weights on "
            "canonical SMILES, or write --all-rows: its rows are those of the data file that "
            "'cliffkit split --chemprop-data' writes.", err=True)


def _warn_file_rows(ds, output: str) -> None:
    """Say so when the dataset's rows are not the rows of the user's file (rows dropped or
    merged): a chemprop splits file that indexes the file's rows does not fit ``output``."""
    import numpy as np

    from ..errors import CliffkitError
    from ..split._result import source_row_molecule

    try:
        row_mol, where = source_row_molecule(ds)
    except CliffkitError:  # a registered dataset: no file of the user's to confuse it with
        return
    if np.array_equal(row_mol, np.arange(len(ds))):
        return
    n_dropped = int((row_mol < 0).sum())
    n_merged = int(row_mol.size - n_dropped - len(ds))
    click.echo(
        f"cliffkit: warning: {output} has one row per molecule ({len(ds):,} rows), but {where} "
        f"has {row_mol.size:,} data rows ({n_dropped:,} dropped, {n_merged:,} merged into "
        "another row's molecule): use it with the splits file that 'cliffkit split "
        "--chemprop-splits S.json --chemprop-data D.csv' writes (its rows are these), not with "
        "one that indexes the rows of your file.", err=True)
