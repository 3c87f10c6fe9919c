"""``cliffkit evaluate``: score a predictions CSV on a split file, per stratum, with CIs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ._app import app, cliffkit_warnings_as_lines, output_options, refuse_output_suffix, say
from ._data import dataset_options, load_split_and_data


def _run_target(predictions_file: str) -> tuple[str | None, Path | None]:
    """The target of the ``cliffkit train`` run that wrote ``predictions_file``.

    That run's ``config.json`` sits beside its ``predictions.csv``; ``(None, None)`` for
    any other file (or an unreadable config).
    """
    path = Path(predictions_file)
    config = path.parent / "config.json"
    if path.name != "predictions.csv" or not config.is_file():
        return None, None
    try:
        doc = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None, None
    if not isinstance(doc, dict) or doc.get("command") != "train":
        return None, None
    target = doc.get("target")
    return (target, config) if isinstance(target, str) and target else (None, None)


@app.command(
    "evaluate",
    help=(
        "Score predictions on a split's test molecules: n, MAE [95% CI], RMSE and R² per "
        "stratum (cliff, smooth, matched controls, intermediate, unsupported), the cliff/smooth "
        "gap and ratio with CIs, pair-level errors against each case's training partner, and "
        "the reference predictor (similarity-weighted mean of training neighbours' labels) "
        "beside the model. PREDICTIONS is a CSV with a 'smiles' or 'index' column and a "
        "'prediction' column, or a run folder of 'cliffkit train' (its predictions.csv)."
    ),
)
@click.argument("split_file", metavar="SPLIT.json", type=click.Path(dir_okay=False))
@click.argument("predictions_file", metavar="PREDICTIONS.csv", type=click.Path())
@click.option("--target", "target", default=None, metavar="T",
              help="Which of the split's targets to score (needed when it has several; "
                   "for a run folder of 'cliffkit train', the run's target, and no other). "
                   "--target-col chooses a file's columns to load.")
@click.option("--pred-col", "pred_col", default=None, metavar="COL",
              help="Prediction column (default: prediction, pred, y_pred or the target name).")
@click.option("--n-bootstrap", "n_bootstrap", default=1000, show_default=True, type=int,
              help="Bootstrap resamples per stratum for the confidence intervals (0: none).")
@click.option("--seed", "seed", default=0, show_default=True, type=int,
              help="Seed of the bootstrap (the same seed gives the same intervals).")
@click.option("--no-reference", "no_reference", is_flag=True,
              help="Skip the reference predictor (saves the test-to-train neighbour search).")
@click.option("--dataset", "dataset", default=None, metavar="DATASET|FILE",
              help="Data the split was made from (default: the file or dataset recorded in the "
                   "split file; this overrides it).")
@dataset_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the full evaluation as JSON instead of the table.")
@click.option("-o", "--output", "output", default=None, type=click.Path(dir_okay=False),
              help="Also write the evaluation as JSON to this file.")
@click.option("--noise-sd", "noise_sd", default=None, type=float, metavar="SD",
              help="Label noise SD in target units for the noise floor (default: from "
                   "replicates merged as duplicates, else a literature value for the assay).")
@click.option("--partner-out-of-fold", "partner_oof", is_flag=True,
              help="The file's predictions for training molecules (the cliff partners) are "
                   "out-of-fold (cliffkit.experiment.out_of_fold_partner_predictions): only "
                   "then is the pair direction accuracy computed, since an in-sample partner "
                   "prediction lets a memoriser score near 1.")
@output_options
def evaluate_cmd(split_file, predictions_file, target, pred_col, n_bootstrap, seed,
                 no_reference, dataset, smiles_col, target_cols, data_dir, as_json,
                 output, noise_sd, partner_oof) -> None:
    from ..errors import InvalidParameterError
    from ..evaluate import evaluate, read_predictions
    from ..utils import atomic_write_text, refuse_input_as_output

    if Path(predictions_file).is_dir():  # a run folder from 'cliffkit train'
        inside = Path(predictions_file) / "predictions.csv"
        if not inside.is_file():
            raise InvalidParameterError(
                f"{predictions_file} is a folder without predictions.csv; give the predictions "
                "CSV, or a run folder written by 'cliffkit train'."
            )
        predictions_file = str(inside)
    if n_bootstrap < 0:
        raise InvalidParameterError(
            f"--n-bootstrap must be 0 or more (1000 or more recommended); got {n_bootstrap}."
        )
    if seed < 0:
        raise InvalidParameterError(f"--seed must be 0 or more; got {seed}.")
    if noise_sd is not None and not (noise_sd >= 0 and noise_sd != float("inf")):
        raise InvalidParameterError(f"--noise-sd must be a finite number >= 0; got {noise_sd}.")
    ds, split = load_split_and_data(split_file, dataset, smiles_col, target_cols, data_dir)
    refuse_input_as_output(output, {"split file": split_file, "predictions file": predictions_file,
                                    "data file": ds.source})
    refuse_output_suffix(output, (".json",), "evaluate", "-o")
    run_target, config = _run_target(predictions_file)
    if (target is None and len(split.target_names) > 1
            and run_target in split.target_names):
        target = run_target  # the run's own target: clear, and said
        click.echo(f"cliffkit: note: scoring target {run_target!r}, the one the run was "
                   f"trained on ({config}); --target chooses another.", err=True)
    if target is None and len(split.target_names) > 1:
        from ..errors import unknown_name

        raise unknown_name("target (the split has several; pass --target)", "None",
                           split.target_names)
    tname = target or split.target_names[0]
    if run_target is not None and run_target != tname:
        raise InvalidParameterError(
            f"{predictions_file} comes from a run trained on target {run_target!r} "
            f"({config}), but target {tname!r} is to be scored: its predictions are of "
            f"{run_target}, so any score against {tname} is wrong. Pass --target "
            f"{run_target}, or evaluate a run trained on {tname!r} "
            f"('cliffkit train --target {tname}')."
        )
    with cliffkit_warnings_as_lines():  # printed before an error too (it may explain it)
        preds = read_predictions(predictions_file, split, pred_col=pred_col, target=tname,
                                 dataset=ds)
        ev = evaluate(split, preds, dataset=ds, target=tname, n_bootstrap=n_bootstrap,
                      random_state=seed, reference=not no_reference, show_progress=None,
                      noise_sd="auto" if noise_sd is None else noise_sd,
                      partner_out_of_fold=partner_oof)
    doc = ev.to_dict()
    doc["inputs"] = {"split_file": str(split_file), "predictions_file": str(predictions_file)}
    doc["inputs"].update(split_file_abspath=str(Path(split_file).resolve()),
                         predictions_file_abspath=str(Path(predictions_file).resolve()))
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    if output:
        atomic_write_text(output, text)
    if as_json:
        click.echo(text, nl=False)
    else:
        say(ev.summary())
        if output:
            say(f"\nWrote {output}")
