"""``cliffkit weights``: CliffLoss (or baseline) sample weights as a CSV column for chemprop."""

from __future__ import annotations

import click

from ._app import app, output_options, say
from ._data import dataset_options, load_split_and_data

_STATIC = ("plain", "cliff", "random-weights", "lds")


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
@click.option("--lam", type=float, default=0.1, show_default=True,
              help="λ of the cliff weights w = 1 + λ·severity (also for random-weights).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the random-weights permutation.")
@click.option("--raw", is_flag=True,
              help="Write raw weights (1 + λ·c) instead of weights rescaled to mean 1.")
@click.option("--all-rows", is_flag=True,
              help="Write every dataset row in order with its target (weight 1 outside train), "
                   "usable directly as chemprop's data file with --splits-file.")
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
    if lam < 0:
        raise InvalidParameterError(f"The '--lam' option of 'cliffkit weights' must be >= 0; got {lam}.")
    ds, split = load_split_and_data(split_path, dataset or dataset_arg, smiles_col, target_cols,
                                    data_dir)
    refuse_input_as_output(output, {"split file": split_path, "data file": ds.source})
    t = ds.target_index(target)
    from ..split import labelled_view

    n_all = len(ds)
    ds, split, _ = labelled_view(split, ds, t)  # weights for this target's own molecules
    if len(ds) < n_all:
        click.echo(f"cliffkit: note: target {ds.target_names[t]!r} has a value for {len(ds):,} of "
                   f"{n_all:,} molecules; weights cover those.", err=True)
    y = ds.y[:, t]
    train = np.asarray(split.train, dtype=np.int64)
    spec = build_loss(key, ds, split, target=t, seed=seed, lam=lam)
    w = spec.sample_weight(mean_one=not raw)
    if all_rows:
        full = np.ones(len(ds), dtype=np.float64)
        full[train] = w
        frame = pd.DataFrame({"smiles": ds.smiles, ds.target_names[t]: y, "weight": full})
    else:
        frame = pd.DataFrame({"smiles": ds.smiles[train], "weight": w})
    with atomic_write(output, "w") as fh:
        frame.to_csv(fh, index=False, float_format="%.10g")
    say(
        f"wrote {len(frame)} rows to {output} (loss={key}, lam={lam}, "
        f"{'raw' if raw else 'mean-1'} weights, min {w.min():.4g}, max {w.max():.4g})",
        err=True,
    )
