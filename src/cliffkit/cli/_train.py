"""``cliffkit train`` and ``cliffkit predict``: fit a backbone on a split file, predict new molecules.

``train`` writes into ``-o RUN``::

    RUN/model/            the backbone (config.json + model.pt or model.txt)
    RUN/predictions.csv   smiles, index, split, y_true, prediction, split_checksum per dataset row
    RUN/config.json       dataset + checksum, split file + sha256, backbone, loss, seed, metrics
    RUN/train_log.jsonl   one JSON line per epoch (or block of boosting rounds)
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

from ..experiment import VAL_FRACTION
from ._app import (
    STATE,
    RegistryChoice,
    app,
    echo_warning,
    output_options,
    refuse_output_suffix,
    say,
    verbose,
)
from ._data import dataset_options, load_split_and_data


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
@click.argument("dataset_arg", metavar="[DATASET]", required=False)
@click.option("--split", "split_path", type=click.Path(dir_okay=False), required=True,
              help="Split file from 'cliffkit split'; the data it was made from (file, columns, "
                   "unit) is reloaded from what it records. Without a validation set, 10% of "
                   "training (seeded by --seed) is held out.")
@click.option("--dataset", "dataset", default=None, metavar="DATASET|FILE",
              help="Data the split was made from, if not where the split file says (overrides "
                   "the recorded path; the checksum must match).")
@dataset_options
@click.option("--backbone", type=RegistryChoice("cliffkit.models:list_backbones"), default="gin",
              show_default=True, help="Backbone from the cliffkit.models registry.")
@click.option("--target", default=None,
              help="Which loaded target to train on (default: the only one). --target-col "
                   "chooses the file's columns to load.")
@click.option("--loss", "loss_name", type=RegistryChoice("cliffkit.loss:list_losses"),
              default="plain", show_default=True, help="Training loss from the cliffkit.loss registry.")
@click.option("--lam", type=float, default=None,
              help="CliffLoss lambda (start value for cliff-adaptive; default 0.1; 0 to 1e12). "
                   "Only the losses with cliff weights take it.")
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
@click.option("--loss-param", "loss_params", multiple=True, metavar="KEY=VALUE",
              help="Loss parameter (repeatable; values parsed as JSON), e.g. "
                   "--loss-param 'wrapper_params={\"n_members\": 3}' for plain-ensemble.")
@click.option("-o", "--output", "output", type=click.Path(file_okay=False), required=True,
              help="Run folder to write.")
@output_options
def train_command(dataset_arg, split_path, dataset, smiles_col, target_cols, data_dir, backbone,
                  target, loss_name, lam, beta, epochs, seed, device, params, loss_params,
                  output):
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from .._version import __version__
    from ..errors import InvalidParameterError
    from ..evaluate import SPLIT_CHECKSUM_COLUMN
    from ..experiment import fit, with_validation
    from ..models import check_backbone_params, get_backbone_class
    from ..similarity import default_k
    from ..split import labelled_view
    from ..utils import atomic_write_text, sha256_file
    from ._weights import check_lam

    check_lam(lam, "train")
    quiet = STATE["quiet"]
    ds, split = load_split_and_data(split_path, dataset or dataset_arg, smiles_col, target_cols,
                                    data_dir)
    klass = get_backbone_class(backbone)  # UnknownNameError lists the choices
    t_idx = ds.target_index(target)  # UnknownNameError lists the targets
    target_name = ds.target_names[t_idx]
    if target_name not in split.labels:  # no strata for it: evaluate and report would refuse
        other = (f"train with --target {next(iter(split.labels))}, or " if split.labels else "")
        raise InvalidParameterError(
            f"Split file {split_path} labels cliff/smooth cases for target(s) "
            f"{', '.join(split.labels) or '(none)'}, not for --target {target_name!r}; "
            f"{other}make a split with --target {target_name!r}.")
    # Multi-target data: train and score on this target's own molecules only.
    full_ds, full_split = ds, split
    ds, split, _rows = labelled_view(full_split, full_ds, t_idx)
    if len(ds) < len(full_ds):
        click.echo(
            f"cliffkit: note: target {target_name!r} has a value for {len(ds):,} of "
            f"{len(full_ds):,} molecules; training and scoring use those (the others are "
            "predicted, with an empty y_true).", err=True)
    fit_split, carved = with_validation(split, seed=seed)  # the rows that fit and stop
    tr_idx, va_idx = fit_split.train, fit_split.val
    if carved is not None:  # e.g. a predefined split: validation comes out of training
        if not quiet:
            click.echo(f"split file {split_path} has no validation set: {len(va_idx)} training "
                       f"molecules ({VAL_FRACTION:.0%}, seed {seed}) are held out for early "
                       "stopping", err=True)
    bb_params = _parse_params(params)
    names = klass._param_names()
    check_backbone_params(backbone, bb_params)
    for key, option, given in (("random_state", "--seed", True),  # --seed always sets it
                               ("epochs", "--epochs", epochs is not None),
                               ("device", "--device", device is not None)):
        if key in bb_params and given:  # the option would silently replace it
            raise InvalidParameterError(
                f"--param {key}=... duplicates the {option} option; use {option}.")
    bb_params["random_state"] = seed
    if epochs is not None:
        if "epochs" not in names:
            raise InvalidParameterError(
                f"--epochs applies to torch backbones; {backbone!r} has none "
                "(use --param n_estimators=N for lgbm)."
            )
        bb_params["epochs"] = epochs
    if device is not None:
        if "device" not in names:
            raise InvalidParameterError(
                f"--device applies to torch backbones; {backbone!r} runs on the CPU (drop "
                "--device)."
            )
        from ..train import resolve_device

        resolve_device(device)  # an unknown or unavailable device: one line, before training
        bb_params["device"] = device
    if "show_progress" in names and "show_progress" not in bb_params:
        bb_params["show_progress"] = (not quiet) and sys.stderr.isatty()
    model = klass(**bb_params)

    if carved is not None and loss_name == "cliff-adaptive":
        raise InvalidParameterError(
            f"Loss 'cliff-adaptive' needs a labelled validation set, which split file "
            f"{split_path} lacks; re-run 'cliffkit split' with --val-size > 0."
        )
    extra_loss = _parse_params(loss_params)
    from ..loss import check_loss_params

    check_loss_params(extra_loss, prefix="--loss-param ")
    clash = sorted(set(extra_loss) & {"lam", "beta"})
    if clash:
        raise InvalidParameterError(
            f"--loss-param {clash[0]}=... duplicates the --{clash[0]} option; use --{clash[0]}.")
    out = Path(output)
    created = not out.exists()  # a folder this run makes goes again if the run fails
    out.mkdir(parents=True, exist_ok=True)
    import os

    from ._app import cliffkit_warnings_as_lines

    # The log is written beside the run and moved into place with the model: an interrupted
    # or failed run into an old run folder left the old model with the new, partial log.
    log_new = out / f".train_log-{os.getpid()}.jsonl.partial"
    try:
        with cliffkit_warnings_as_lines():  # e.g. svm weights that cannot act: one line each
            model, spec = fit(ds, fit_split, model, loss_name, target=t_idx, seed=seed,
                              loss_params={"lam": lam, "beta": beta, **extra_loss},
                              log_path=log_new)
        pred_all = model.predict(full_ds)  # every molecule, with or without this target's value
        pred = pred_all[_rows]
        _replace_model(model, out)
        if log_new.is_file():
            os.replace(log_new, out / "train_log.jsonl")
        else:  # a backbone that logs nothing: no log of the run this one replaced
            (out / "train_log.jsonl").unlink(missing_ok=True)
    except BaseException:
        # Ctrl-C or an error before the model is in place: an empty folder made by this
        # run would read as a run ('report' skipped it without a word); remove it.
        log_new.unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):  # only if empty
                out.rmdir()
        raise

    part = np.full(len(full_ds), "", dtype=object)
    part[full_split.train], part[full_split.val] = "train", "val"
    part[_rows[va_idx]] = "val"  # a carved validation set comes out of training
    part[full_split.test] = "test"
    frame = pd.DataFrame({"smiles": full_ds.smiles, "index": np.arange(len(full_ds)), "split": part,
                          "y_true": full_ds.target(t_idx), "prediction": pred_all,
                          # identity of the training split: 'evaluate' refuses another split
                          SPLIT_CHECKSUM_COLUMN: full_split.checksum[:16]})
    frame = frame[frame["split"] != ""]
    atomic_write_text(out / "predictions.csv", frame.to_csv(index=False))
    y = ds.target(t_idx)

    metrics = {}
    for name, idx in (("train", tr_idx), ("val", va_idx), ("test", split.test)):
        if len(idx):
            err = pred[idx] - y[idx]
            metrics[name] = {"mae": float(np.mean(np.abs(err))),
                             "rmse": float(np.sqrt(np.mean(err**2))), "n": int(len(idx))}
    sp = full_split.params
    config = {
        "cliffkit_version": __version__,
        "command": "train",
        "dataset": {"name": full_ds.name, "checksum": full_ds.checksum, "n_samples": len(full_ds),
                    "source_sha256": full_ds.source_sha256, "n_labelled": len(ds),
                    "standardize": full_ds.report.standardize,
                    **{k: v for k, v in full_split.dataset.items()
                       if k in ("path", "path_as_given", "smiles_col", "target_cols", "units")}},
        "split": {"path": str(split_path), "abspath": str(Path(split_path).resolve()),
                  "sha256": sha256_file(split_path), "checksum": full_split.checksum,
                  "method": full_split.method, "val_carved": carved,
                  "k": int(full_split.similarity_params["k"] or default_k(len(full_split.train))),
                  "min_similarity": full_split.similarity_params["min_similarity"],
                  "radius": full_split.similarity_params.get("radius", sp.get("radius", 2)),
                  "n_bits": full_split.similarity_params.get("n_bits", sp.get("n_bits", 2048))},
        "target": target_name,
        "unit": ds.unit(t_idx),
        "backbone": {"name": model.name, "repr": repr(model),
                     "params": json.loads(json.dumps(model.get_params(), default=str))},
        "loss": {"name": loss_name, "lam": spec.params.get("lam", spec.params.get("lam0")),
                 "beta": beta, "repr": repr(spec),
                 "params": json.loads(json.dumps(spec.params, default=str)),
                 "severity_params": spec.severity_params,
                 "lambda_history": json.loads(json.dumps(spec.history, default=float))},
        "seed": seed,
        "best_epoch": getattr(model, "best_epoch_", None),
        "n_epochs": len(getattr(model, "history_", [])),
        "fit_seconds": getattr(model, "fit_seconds_", None),
        "metrics": metrics,
    }
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, default=str) + "\n")
    verbose(repr(model))
    unit = ds.unit(t_idx)
    say(f"{model.name} on {full_ds.name} / {target_name} (loss {loss_name}, seed {seed})")
    for name, m in metrics.items():
        say(f"{name:5s} n={m['n']:6d}  MAE {m['mae']:.4f}  RMSE {m['rmse']:.4f}"
            + (f" {unit}" if unit else ""))
    say(f"wrote {out}/ (model/, predictions.csv, config.json, train_log.jsonl)")
    return 0


def _replace_model(model, out) -> None:
    """Save ``model`` as ``out/model``, replacing a previous run's model folder whole.

    Training into an existing run folder used to write over its files one by one: a model
    file of another backbone stayed in ``model/``, and an ``evaluation.json`` written by
    ``cliffkit evaluate -o RUN/evaluation.json`` kept scoring the old model in
    ``cliffkit report``. The new model is saved beside the old one first, so a failed save
    leaves the old run as it was.
    """
    import os
    import shutil
    import uuid
    from pathlib import Path

    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp, trash = Path(out) / f".model-new-{tag}", Path(out) / f".model-old-{tag}"
    tmp.mkdir()  # mode 0o777 minus the umask, as the folder it replaces
    try:
        model.save(tmp)
        old = Path(out) / "model"
        if old.is_dir():
            old.rename(trash)
        tmp.rename(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if (Path(out) / "model").is_dir():  # the old model goes only once the new one is in
            shutil.rmtree(trash, ignore_errors=True)
    stale = Path(out) / "evaluation.json"
    if stale.is_file():
        stale.unlink()
        click.echo(f"cliffkit: warning: removed {stale}: it scored the model this run replaced; "
                   "run 'cliffkit evaluate' again for the new one.", err=True)


@app.command(
    "predict",
    help="Predict the molecules of FILE (CSV/TSV/Parquet with a SMILES column) with the model "
    "of a run folder from 'cliffkit train'. Next to each prediction it writes the Tanimoto "
    "similarity to the nearest training molecule, that molecule, and whether the prediction "
    "is inside the model's domain (similarity >= the split's support threshold).",
)
@click.argument("run", metavar="RUN", type=click.Path(file_okay=False))
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--smiles-col", default=None,
              help="SMILES column (default: a column named 'smiles', any case, else the training "
                   "file's SMILES column).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True,
              help="CSV or .parquet file to write: the input columns plus prediction, "
                   "nearest_train_similarity, nearest_train_smiles, in_domain, roughness and reason.")
@output_options
def predict_command(run, file, smiles_col, output):
    from pathlib import Path

    import numpy as np

    from ..data import read_table
    from ..data._loaders import _detect_smiles_col
    from ..data._read import resolve_column
    from ..data._standardize import (
        _first_rows,
        _warn_smiles,
        canonicalize,
        classify_smiles,
        multi_fragment_lines,
    )
    from ..errors import (
        InvalidDataError,
        InvalidSmilesError,
        MissingColumnError,
    )
    from ..models import Backbone
    from ..utils import atomic_write_text, refuse_input_as_output

    refuse_output_suffix(output, (".csv", ".parquet"), "predict")  # a .parquet got CSV text
    run = Path(run)
    refuse_input_as_output(output, {"input file": file, "run's predictions file":
                                    run / "predictions.csv", "run's config": run / "config.json"})
    model_dir = run / "model" if (run / "model").is_dir() else run
    model = Backbone.load(model_dir)
    cfg_doc: dict = {}
    cfg = run / "config.json"
    if cfg.is_file():
        try:
            cfg_doc = json.loads(cfg.read_text(encoding="utf-8"))
            if not isinstance(cfg_doc, dict):
                cfg_doc = {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            cfg_doc = {}
    trained_bb = cfg_doc.get("backbone", {}).get("name") \
        if isinstance(cfg_doc.get("backbone"), dict) else None
    if trained_bb and model.name and trained_bb != model.name:
        raise InvalidDataError(
            f"{model_dir} holds a {model.name!r} model but {cfg} says the run trained "
            f"{trained_bb!r}: the folder mixes two runs; train again into an empty folder "
            "(cliffkit train ... -o NEW_RUN)."
        )
    ds_doc = cfg_doc.get("dataset", {}) if isinstance(cfg_doc.get("dataset"), dict) else {}
    # molecules are standardised as they were for training
    mode = ds_doc.get("standardize", "keep") or "keep"
    # The loaders' reader: encodings, delimiters (';'), blank lines, gzip, Parquet.
    table = read_table(file, what="input file")
    if smiles_col:
        col = resolve_column(table, smiles_col, role="SMILES")
    else:
        try:
            col = _detect_smiles_col(table)
        except MissingColumnError:
            trained = ds_doc.get("smiles_col")
            if not trained or trained not in table.columns:
                raise
            col = table.check_unique(trained, role="SMILES")
    raw = table.frame[col].to_numpy(dtype=object)
    canon = canonicalize(raw, show_progress=False, standardize=mode)
    has_text, valid, reason, detail, names = classify_smiles(raw, canon, table.lines)
    word = table.row_word  # "line" of a text file, "record" of a Parquet file
    if not valid.any():
        ex = ", ".join(f"{word} {int(table.lines[i])}: {str(raw[i])[:30]!r}"
                       for i in np.flatnonzero(has_text)[:3])
        raise InvalidSmilesError(
            f"None of the {len(raw):,} rows of {file} has a usable SMILES in column {col!r}"
            + (f" ({ex})" if ex else " (the column is empty)")
            + "; check that --smiles-col names the SMILES column."
        )
    with_warn = []
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # salts and mixtures, announced as the loader announces them for training
        multi = multi_fragment_lines(raw, table.lines, np.flatnonzero(valid))
        _warn_smiles(str(file), names, multi, mode, 0, word)
    with_warn.extend(str(w.message) for w in caught)
    ok = np.flatnonzero(valid)
    pred = np.full(len(raw), np.nan)
    pred[ok] = model.predict([canon[i] for i in ok])
    other = _other_element_note(model, [canon[i] for i in ok], table.lines[ok], file, word)
    if other:
        with_warn.append(other)
    frame = table.frame.copy()
    new_cols = ["prediction", "nearest_train_similarity", "nearest_train_smiles", "in_domain"]
    clash = [c for c in new_cols if c in frame.columns]
    if clash:
        raise InvalidDataError(
            f"{file} already has a column {clash[0]!r}; rename it so the output does not "
            "overwrite it."
        )
    reason_col = "reason" if "reason" not in frame.columns else "prediction_reason"
    frame["prediction"] = pred
    domain = _domain(run, cfg_doc, [canon[i] for i in ok])
    n_in = None
    if domain is not None:
        sim, near, tau = domain
        col_sim = np.full(len(raw), np.nan)
        col_sim[ok] = sim
        col_near = np.full(len(raw), "", dtype=object)
        col_near[ok] = near
        col_in = np.full(len(raw), "", dtype=object)
        col_in[ok] = np.where(sim >= tau, "yes", "no")
        frame["nearest_train_similarity"] = col_sim
        frame["nearest_train_smiles"] = col_near
        frame["in_domain"] = col_in
        n_in = int((sim >= tau).sum())
    else:
        with_warn.append(
            f"{run} has no config.json and predictions.csv from 'cliffkit train'; the similarity "
            "to the training set and the domain were not computed.")
    frame[reason_col] = [
        "" if r is None else (r if not d else f"{r}: {d}") for r, d in zip(reason, detail, strict=True)
    ]
    rough_note = _add_roughness(run, frame, canon, ok)
    if str(output).lower().endswith(".parquet"):
        from ..utils import atomic_write

        with atomic_write(output, "wb") as fh:
            frame.to_parquet(fh, index=False)
    else:
        atomic_write_text(output, frame.to_csv(index=False, float_format="%.10g"))
    bad = np.flatnonzero(~valid)
    if bad.size:
        by: dict[str, list[int]] = {}
        for i in bad:
            by.setdefault(str(reason[i]), []).append(int(table.lines[i]))
        parts = "; ".join(f"{len(v):,} {k} ({word} {_first_rows(v)})" for k, v in by.items())
        with_warn.append(
            f"{file}: {bad.size:,} of {len(raw):,} rows could not be read and were not "
            f"predicted: {parts}; they are in {output} with an empty prediction and the "
            f"reason in column {reason_col!r}.")
    for msg in with_warn:
        echo_warning(msg)
    verbose(f"{model!r}")
    say(f"predicted {ok.size:,} of {len(raw):,} molecules ({model.target_}); wrote {output}")
    if n_in is not None:
        say(f"{n_in:,} of {ok.size:,} have a training neighbour with Tanimoto similarity >= "
            f"{domain[2]:g} (in_domain = yes); predictions outside the domain rest on no "
            "close training analogue.")
    say(rough_note)
    return 0


def _other_element_note(model, smiles: list[str], lines, file,
                        row_word: str = "line") -> str | None:
    """A warning for molecules with elements a graph backbone encodes only as 'other'.

    The atom featuriser of gin, dmpnn and schnet (``models._featurize``) has a code for
    H B C N O F Na Si P S Cl K Se Br I; any other element (Fe, Pt, He, ...) shares one
    'other' code, so the model cannot tell such atoms apart. None for other backbones.
    ``lines`` are the molecules' file lines (or Parquet records: ``row_word``).
    """
    if getattr(model, "name", None) not in ("gin", "dmpnn", "schnet") or not smiles:
        return None
    from rdkit import Chem

    from ..data._standardize import _first_rows
    from ..models._featurize import _ELEMENTS

    known = set(_ELEMENTS)
    seen: dict[str, None] = {}
    rows = []
    for s, line in zip(smiles, lines, strict=True):
        mol = Chem.MolFromSmiles(s)
        if mol is None:
            continue
        odd = [a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() not in known]
        if odd:
            rows.append(int(line))
            seen.update(dict.fromkeys(odd))
    if not rows:
        return None
    return (f"{file}: {len(rows):,} of {len(smiles):,} molecules hold elements that the "
            f"{model.name} atom featuriser has no code for ({', '.join(seen)}; {row_word} "
            f"{_first_rows(rows)}); it encodes them all as one 'other' element, so these "
            "predictions cannot tell those atoms apart.")


def _domain(run, cfg: dict, smiles: list[str]):
    """(nearest-train similarity, nearest-train SMILES, threshold) for ``smiles``, or None.

    The training molecules are the ``train`` rows of the run's predictions.csv; the
    fingerprint (Morgan radius, bits) and threshold are the split's (config.json, or the
    split file itself for runs made before they were recorded there).
    """
    import numpy as np
    import pandas as pd

    from ..similarity import compute_fingerprints, find_neighbors

    pfile = run / "predictions.csv"
    split_doc = cfg.get("split") if isinstance(cfg.get("split"), dict) else None
    if not pfile.is_file() or split_doc is None:
        return None
    tau, radius, n_bits = (split_doc.get("min_similarity"), split_doc.get("radius"),
                           split_doc.get("n_bits"))
    if tau is None:
        from pathlib import Path

        from ..errors import SplitFileError
        from ..split import load_split

        for cand in (split_doc.get("abspath"), split_doc.get("path")):
            if cand and Path(cand).is_file():
                try:
                    params = load_split(cand).params
                except SplitFileError:
                    continue
                tau, radius, n_bits = (params.get("min_similarity"), params.get("radius"),
                                       params.get("n_bits"))
                break
    if tau is None:
        return None
    preds = pd.read_csv(pfile, usecols=["smiles", "split"])
    train = preds.loc[preds["split"] == "train", "smiles"].astype(str).to_numpy()
    if train.size == 0 or not smiles:
        return None
    radius, n_bits = int(radius or 2), int(n_bits or 2048)
    q = compute_fingerprints(smiles, radius=radius, n_bits=n_bits)
    ref = compute_fingerprints(list(train), radius=radius, n_bits=n_bits)
    graph = find_neighbors(q, ref_fps=ref, k=1, min_similarity=0.0)
    deg = np.diff(graph.indptr)
    sim = np.zeros(len(smiles))
    near = np.full(len(smiles), "", dtype=object)
    has = deg > 0
    first = graph.indptr[:-1][has]
    sim[has] = graph.similarities[first]
    # At similarity 0 (no bit in common, e.g. [He]) every training molecule ties: naming
    # the first one as "nearest" says something that is not so.
    named = has.copy()
    named[has] = sim[has] > 0
    near[named] = train[graph.indices[graph.indptr[:-1][named]]]
    return sim, near, float(tau)


def _add_roughness(run, frame, canon, ok) -> str:
    """Add the train-only roughness of each molecule (cliffkit.evaluate._roughness).

    Training molecules and labels come from RUN/predictions.csv (rows with split ==
    "train"); k and the similarity threshold from RUN/config.json. Only the rows ``ok``
    (usable SMILES ``canon[i]``) get a value. Returns a line to print.
    """
    import json

    import numpy as np
    import pandas as pd

    from ..evaluate._roughness import roughness_scores
    from ..similarity import MIN_SIMILARITY, compute_fingerprints, find_neighbors

    preds = run / "predictions.csv"
    if not preds.is_file():
        return "roughness: not computed (RUN/predictions.csv with the training labels is missing)"
    table = pd.read_csv(preds)
    if not {"smiles", "split", "y_true"} <= set(table.columns):
        return "roughness: not computed (RUN/predictions.csv lacks smiles, split or y_true)"
    train = table[table["split"] == "train"]
    cfg = {}
    if (run / "config.json").is_file():
        cfg = json.loads((run / "config.json").read_text()).get("split", {})
    k, tau = int(cfg.get("k", 24)), float(cfg.get("min_similarity", MIN_SIMILARITY))
    train = train[np.isfinite(train["y_true"].to_numpy(dtype=float))]
    rough = np.full(len(frame), np.nan)
    if len(ok) and len(train):
        graph = find_neighbors(compute_fingerprints([canon[i] for i in ok]),
                               compute_fingerprints(train["smiles"].tolist()),
                               k=k, min_similarity=tau)
        rough[ok] = roughness_scores(graph, train["y_true"].to_numpy(dtype=float))
    frame["roughness"] = rough
    n = int(np.isfinite(frame["roughness"]).sum())
    return (f"roughness (similarity-weighted SD of the training neighbours' labels, Tanimoto >= "
            f"{tau:g}, top {k}): {n} of {len(frame)} molecules have >= 2 training neighbours; "
            "empty where they do not")
