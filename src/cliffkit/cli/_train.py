"""``cliffkit train`` and ``cliffkit predict``: fit a backbone on a split file, predict new molecules.

``train`` writes into ``-o RUN``::

    RUN/model/            the backbone (config.json + model.pt or model.txt)
    RUN/predictions.csv   smiles, index, split, y_true, prediction, split_checksum per dataset row
    RUN/config.json       dataset + checksum, split file + sha256, backbone, loss, seed, metrics
    RUN/train_log.jsonl   one JSON line per epoch (or block of boosting rounds)
"""

from __future__ import annotations

import json
import sys

import click

from ._app import app
from ._data import dataset_options, load_from_cli

#: Share of the training molecules held out for validation when a split file has none.
VAL_FRACTION = 0.1


def _loss_choices() -> list[str]:
    try:
        from ..loss import list_losses
    except ImportError:  # pragma: no cover - loss package missing
        return ["plain"]
    return list(list_losses())


def _parse_params(items: tuple[str, ...]) -> dict:
    from ..errors import InvalidParameterError

    out = {}
    for item in items:
        if "=" not in item:
            raise InvalidParameterError(
                f"--param must look like KEY=VALUE (e.g. hidden_channels=256); got {item!r}."
            )
        key, raw = item.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key.strip()] = value
    return out


@app.command(
    "train",
    help="Train a backbone on the train/val sets of a split file and predict every molecule; "
    "writes the model, predictions.csv, config.json and train_log.jsonl into -o RUN.",
)
@click.argument("dataset", metavar="DATASET")
@dataset_options
@click.option("--split", "split_path", type=click.Path(dir_okay=False), required=True,
              help="Split file from 'cliffkit split' (its dataset checksum must match). Without "
                   "a validation set, 10% of training (seeded by --seed) is held out.")
@click.option("--backbone", default="gin", show_default=True,
              help="Backbone name: mlp, lgbm, svm, gin, dmpnn, schnet (see cliffkit.models).")
@click.option("--target", default=None,
              help="Target to train on (default: the dataset's only target).")
@click.option("--loss", "loss_name", type=click.Choice(_loss_choices()), default="plain",
              show_default=True, help="Training loss from the cliffkit.loss registry.")
@click.option("--lam", type=float, default=0.1, show_default=True,
              help="CliffLoss lambda (start value for cliff-adaptive).")
@click.option("--beta", type=float, default=None,
              help="Weight of the pairwise cliff term (default: the loss's own).")
@click.option("--epochs", type=int, default=None,
              help="Maximum epochs (torch backbones; default: the backbone's).")
@click.option("--seed", type=int, default=0, show_default=True,
              help="random_state of the backbone and the loss.")
@click.option("--device", default=None, help="Torch device, e.g. cpu or cuda (default: auto).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Backbone parameter (repeatable; values parsed as JSON), e.g. "
                   "--param hidden_channels=256.")
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), required=True,
              help="Run folder to write.")
@click.option("--quiet", is_flag=True, help="Print nothing but warnings and errors.")
def train_command(dataset, smiles_col, target_cols, data_dir, split_path, backbone, target,
                  loss_name, lam, beta, epochs, seed, device, params, output, quiet):
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from .. import __version__
    from ..errors import InvalidParameterError
    from ..evaluate import SPLIT_CHECKSUM_COLUMN
    from ..models import get_backbone_class
    from ..split import load_split
    from ..utils import atomic_write_text, sha256_file

    ds = load_from_cli(dataset, smiles_col, target_cols, data_dir)
    klass = get_backbone_class(backbone)  # UnknownNameError lists the choices
    t_idx = ds.target_index(target)  # UnknownNameError lists the targets
    target_name = ds.target_names[t_idx]
    split = load_split(split_path, dataset=ds)  # SplitFileError on checksum mismatch
    tr_idx, va_idx, carved = split.train, split.val, None
    if len(va_idx) == 0:  # e.g. a predefined split: validation comes out of training
        from ..split import carve_validation

        tr_idx, va_idx = carve_validation(split.train, VAL_FRACTION, random_state=seed)
        carved = {"fraction": VAL_FRACTION, "n": int(len(va_idx)), "seed": seed}
        if not quiet:
            click.echo(f"split file {split_path} has no validation set: {len(va_idx)} training "
                       f"molecules ({VAL_FRACTION:.0%}, seed {seed}) are held out for early "
                       "stopping", err=True)
    bb_params = _parse_params(params)
    names = klass._param_names()
    unknown = sorted(set(bb_params) - set(names))
    if unknown:
        raise InvalidParameterError(
            f"Backbone {backbone!r} has no parameter {unknown[0]!r}; accepted: {', '.join(names)}."
        )
    bb_params["random_state"] = seed
    if epochs is not None:
        if "epochs" not in names:
            raise InvalidParameterError(
                f"--epochs applies to torch backbones; {backbone!r} has none "
                "(use --param n_estimators=N for lgbm)."
            )
        bb_params["epochs"] = epochs
    if device is not None and "device" in names:
        bb_params["device"] = device
    if "show_progress" in names and "show_progress" not in bb_params:
        bb_params["show_progress"] = (not quiet) and sys.stderr.isatty()
    model = klass(**bb_params)

    train, val = ds.subset(tr_idx), ds.subset(va_idx)
    y_train = train.target(t_idx)
    fit_kwargs = {}
    spec = None
    if loss_name != "plain" or beta:
        from ..loss import cliff_severity, make_loss

        severity = cliff_severity(ds, train_idx=tr_idx, target=t_idx)
        extra = {}
        if loss_name == "cliff-adaptive":
            if carved is not None:
                raise InvalidParameterError(
                    f"Loss 'cliff-adaptive' needs a labelled validation set, which split file "
                    f"{split_path} lacks; re-run 'cliffkit split' with --val-size > 0."
                )
            if target_name not in split.labels:
                raise InvalidParameterError(
                    f"Loss 'cliff-adaptive' needs validation strata for target "
                    f"{target_name!r}, which split file {split_path} does not label; "
                    f"re-run 'cliffkit split --target {target_name}'."
                )
            strata = split.strata(target_name, "val")
            extra = dict(y_val=val.target(t_idx), val_cliff_mask=strata == "cliff",
                         val_smooth_mask=strata == "smooth")
        spec = make_loss(loss_name, y_train, severity=severity, lam=lam, beta=beta,
                         random_state=seed, **extra)
        fit_kwargs = spec.fit_kwargs(model)

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.fit(train, val, target=t_idx, log_path=out / "train_log.jsonl", **fit_kwargs)
    pred = model.predict(ds)
    model.save(out / "model")

    part = np.full(len(ds), "", dtype=object)
    part[tr_idx], part[va_idx], part[split.test] = "train", "val", "test"
    y = ds.target(t_idx)
    frame = pd.DataFrame({"smiles": ds.smiles, "index": np.arange(len(ds)), "split": part,
                          "y_true": y, "prediction": pred,
                          # identity of the training split: 'evaluate' refuses another split
                          SPLIT_CHECKSUM_COLUMN: split.checksum[:16]})
    frame = frame[frame["split"] != ""]
    atomic_write_text(out / "predictions.csv", frame.to_csv(index=False))

    metrics = {}
    for name, idx in (("train", tr_idx), ("val", va_idx), ("test", split.test)):
        if len(idx):
            err = pred[idx] - y[idx]
            metrics[name] = {"mae": float(np.mean(np.abs(err))),
                             "rmse": float(np.sqrt(np.mean(err**2))), "n": int(len(idx))}
    config = {
        "cliffkit_version": __version__,
        "command": "train",
        "dataset": {"name": ds.name, "checksum": ds.checksum, "n_samples": len(ds),
                    "source_sha256": ds.source_sha256},
        "split": {"path": str(split_path), "sha256": sha256_file(split_path),
                  "checksum": split.checksum, "method": split.method, "val_carved": carved},
        "target": target_name,
        "unit": ds.unit(t_idx),
        "backbone": {"name": model.name, "repr": repr(model),
                     "params": json.loads(json.dumps(model.get_params(), default=str))},
        "loss": {"name": loss_name, "lam": lam, "beta": beta,
                 "repr": repr(spec) if spec is not None else "plain",
                 "lambda_history": json.loads(json.dumps(spec.history, default=float))
                 if spec is not None else []},
        "seed": seed,
        "best_epoch": getattr(model, "best_epoch_", None),
        "n_epochs": len(getattr(model, "history_", [])),
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "metrics": metrics,
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, default=str) + "\n")
    if not quiet:
        click.echo(repr(model))
        for name, m in metrics.items():
            click.echo(f"{name:5s} n={m['n']:6d}  MAE {m['mae']:.4f}  RMSE {m['rmse']:.4f} "
                       f"{ds.unit(t_idx)}")
        click.echo(f"wrote {out}/ (model/, predictions.csv, config.json, train_log.jsonl)")
    return 0


@app.command(
    "predict",
    help="Predict the molecules of FILE (CSV/TSV/Parquet with a SMILES column) with the model "
    "of a run folder from 'cliffkit train'.",
)
@click.argument("run", metavar="RUN", type=click.Path(file_okay=False))
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--smiles-col", default=None,
              help="SMILES column (default: a column named 'smiles', any case).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True,
              help="CSV to write: the input columns plus 'prediction'.")
@click.option("--quiet", is_flag=True, help="Print nothing but warnings and errors.")
def predict_command(run, file, smiles_col, output, quiet):
    from pathlib import Path

    import pandas as pd
    from rdkit import Chem, RDLogger

    from ..errors import InvalidDataError, InvalidSmilesError, MissingColumnError
    from ..models import Backbone
    from ..utils import atomic_write_text

    run = Path(run)
    model_dir = run / "model" if (run / "model").is_dir() else run
    model = Backbone.load(model_dir)
    path = Path(file)
    if not path.is_file():
        raise InvalidDataError(f"Input file {file} does not exist.")
    suffix = "".join(path.suffixes).lower()
    try:
        if suffix.endswith(".parquet"):
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if suffix.endswith((".tsv", ".tsv.gz", ".txt")) else ","
            frame = pd.read_csv(path, sep=sep)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error
        raise InvalidDataError(f"Cannot read {file}: {exc}") from exc
    if smiles_col is None:
        found = [c for c in frame.columns if str(c).lower() == "smiles"]
        if not found:
            raise MissingColumnError(
                f"{file} has no 'smiles' column (columns: {', '.join(map(str, frame.columns))}); "
                "name it with --smiles-col."
            )
        smiles_col = found[0]
    elif smiles_col not in frame.columns:
        raise MissingColumnError(
            f"{file} has no column {smiles_col!r} (columns: "
            f"{', '.join(map(str, frame.columns))}); fix --smiles-col."
        )
    RDLogger.DisableLog("rdApp.*")
    try:
        canon = []
        bad = []
        for i, s in enumerate(frame[smiles_col].astype(str).tolist()):
            mol = Chem.MolFromSmiles(s)
            if mol is None:
                bad.append(f"row {i + 2} ({s!r})")
            else:
                canon.append(Chem.MolToSmiles(mol))
    finally:
        RDLogger.EnableLog("rdApp.*")
    if bad:
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InvalidSmilesError(
            f"{file}: {len(bad)} SMILES could not be parsed: {', '.join(bad[:5])}{more}; "
            "fix or remove them."
        )
    frame["prediction"] = model.predict(canon)
    atomic_write_text(output, frame.to_csv(index=False))
    if not quiet:
        click.echo(f"{model!r}")
        click.echo(f"predicted {len(frame)} molecules ({model.target_}); wrote {output}")
    return 0
