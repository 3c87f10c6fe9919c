"""``cliffkit split``: make a CliffSplit / random / scaffold split file and print its summary."""

from __future__ import annotations

import sys
import warnings

import click

from ..similarity._defaults import MIN_SIMILARITY
from ._app import (
    STATE,
    RegistryChoice,
    app,
    output_options,
    refuse_output_suffix,
    say,
    verbose,
    with_option_names,
)
from ._data import data_record, dataset_options, load_from_cli

# splitter parameter -> the option that sets it (for error messages)
_OPTIONS = {"min_similarity": "--min-sim", "k": "-k", "cliff_quantile": "--cliff-quantile",
            "smooth_quantile": "--smooth-quantile", "delta": "--delta", "test_size": "--test-size",
            "val_size": "--val-size", "cliff_share": "--cliff-share", "random_state": "--seed",
            "n_jobs": "--n-jobs", "chemprop_fold": "--chemprop-fold"}


@app.command(
    "split",
    help="Split a dataset into train/val/test, label cliff/smooth/unsupported test cases per "
    "target against the training set, and write a versioned split file.",
)
@click.argument("dataset", metavar="DATASET")
@dataset_options
@click.option("--method", type=RegistryChoice("cliffkit.split:list_splitters"), default="cliff",
              show_default=True,
              help="Splitter: cliff (CliffSplit: supported, cliff-exposed test set), random, "
                   "scaffold (Bemis-Murcko groups, shuffled by seed), or predefined (a given "
                   "split: --split-col, --from-chemprop or --train-idx/--test-idx).")
@click.option("--split-col", default=None, metavar="COL",
              help="predefined: column of DATA's file holding train/val/test (or valid), e.g. "
                   "MoleculeACE's 'split'.")
@click.option("--from-chemprop", "from_chemprop", type=click.Path(dir_okay=False), default=None,
              help="predefined: chemprop splits.json (0-based rows of DATA's file).")
@click.option("--chemprop-fold", type=int, default=0, show_default=True,
              help="predefined: which entry of the chemprop splits file.")
@click.option("--train-idx", type=click.Path(dir_okay=False), default=None,
              help="predefined: file of training rows (0-based rows of DATA's file, one per line).")
@click.option("--val-idx", type=click.Path(dir_okay=False), default=None,
              help="predefined: file of validation rows (optional).")
@click.option("--test-idx", type=click.Path(dir_okay=False), default=None,
              help="predefined: file of test rows.")
@click.option("--target", "targets", multiple=True, metavar="T",
              help="Which of the loaded targets to label (repeat for several; default: every "
                   "target loaded). --target-col chooses the file's columns to load.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (random_state).")
@click.option("--test-size", type=float, default=0.1, show_default=True,
              help="Fraction of molecules in the test set.")
@click.option("--val-size", type=float, default=None,
              help="Fraction of molecules in the validation set (0 for none; default 0.1). "
                   "predefined: fraction of the training rows moved to validation when the "
                   "given split has none (default 0: keep the split as given).")
@click.option("--cliff-share", type=float, default=0.5, show_default=True,
              help="Requested share of cliff cases among held-out molecules (cliff method only).")
@click.option("-k", "k", type=int, default=None,
              help="Neighbours per molecule (default: max(4, min(24, floor(sqrt(n_train))))).")
@click.option("--min-sim", "min_similarity", type=float, default=MIN_SIMILARITY, show_default=True,
              help="Support threshold: Tanimoto similarity a training neighbour needs.")
@click.option("--cliff-quantile", type=float, default=0.8, show_default=True,
              help="Cliff: severity above this quantile of supported training severities.")
@click.option("--smooth-quantile", type=float, default=0.5, show_default=True,
              help="Smooth: severity at or below this quantile of supported training severities.")
@click.option("--delta", type=float, default=None,
              help="Cliff threshold in target units instead of quantiles: a neighbour with "
                   "|dy| >= DELTA makes a cliff case.")
@click.option("--n-jobs", type=int, default=None,
              help="Processes for fingerprints and neighbour search (default: all cores).")
@click.option("--chemprop-splits", "chemprop_splits", type=click.Path(dir_okay=False), default=None,
              help="Also write chemprop's splits.json (for 'chemprop train --splits-file'). "
                   "Without --chemprop-data its indices are the data rows of your FILE (rows "
                   "of a merged molecule share its set); a registered dataset needs "
                   "--chemprop-data.")
@click.option("--chemprop-data", "chemprop_data", type=click.Path(dir_okay=False), default=None,
              help="Also write the CSV (smiles + targets, dataset row order) that the chemprop "
                   "splits refer to.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), required=True,
              help="Split file to write (JSON).")
@output_options
def split_command(dataset, smiles_col, target_cols, data_dir, method, split_col, from_chemprop,
                  chemprop_fold, train_idx, val_idx, test_idx, targets, seed, test_size,
                  val_size, cliff_share, k, min_similarity, cliff_quantile, smooth_quantile, delta,
                  n_jobs, chemprop_splits, chemprop_data, output):
    from pathlib import Path

    from ..errors import CliffkitWarning, InvalidParameterError
    from ..split import format_summary, get_splitter, to_chemprop_splits
    from ..split._result import source_row_molecule
    from ..utils import refuse_input_as_output

    given = {"--split-col": split_col, "--from-chemprop": from_chemprop, "--train-idx": train_idx,
             "--val-idx": val_idx, "--test-idx": test_idx}
    used = [k for k, v in given.items() if v is not None]
    if used and method != "predefined":
        raise InvalidParameterError(f"{used[0]} applies to --method predefined only; got --method {method}.")
    if chemprop_data and not chemprop_splits:
        raise InvalidParameterError(
            "--chemprop-data writes the CSV that the --chemprop-splits file refers to; give "
            "--chemprop-splits too."
        )
    ds = load_from_cli(dataset, smiles_col, target_cols, data_dir)
    outputs = ((output, "-o"), (chemprop_splits, "--chemprop-splits"),
               (chemprop_data, "--chemprop-data"))
    for path, option in outputs:  # before any work
        refuse_input_as_output(path, {"data file": ds.source}, option=option)
    written = [(p, o) for p, o in outputs if p]
    for i, (p, o) in enumerate(written):
        for q, o2 in written[i + 1:]:
            if Path(p).resolve() == Path(q).resolve():
                raise InvalidParameterError(f"{o} and {o2} name the same file {p!r}; give each "
                                            "its own path.")
    refuse_output_suffix(output, (".json",), "split", "-o")
    refuse_output_suffix(chemprop_splits, (".json",), "split", "--chemprop-splits")
    refuse_output_suffix(chemprop_data, (".csv",), "split", "--chemprop-data")
    if chemprop_splits and not chemprop_data:
        source_row_molecule(ds)  # refuse now, before the split, when no file fits
    params = dict(k=k, min_similarity=min_similarity,
                  cliff_quantile=cliff_quantile, smooth_quantile=smooth_quantile, delta=delta,
                  targets=list(targets) or None, random_state=seed, n_jobs=n_jobs,
                  show_progress=sys.stderr.isatty())
    if method == "predefined":
        params.update(split_col=split_col, chemprop_splits=from_chemprop,
                      chemprop_fold=chemprop_fold, train_idx=train_idx, val_idx=val_idx,
                      test_idx=test_idx, val_size=0.0 if val_size is None else val_size)
    else:
        params.update(test_size=test_size, val_size=0.1 if val_size is None else val_size)
    if method == "cliff":
        params["cliff_share"] = cliff_share
    splitter = get_splitter(method, **params)
    try:
        splitter._validate_params()
    except InvalidParameterError as exc:
        raise with_option_names(exc, _OPTIONS) from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CliffkitWarning)
        result = splitter.make_split(ds)
    for w in caught:
        if issubclass(w.category, CliffkitWarning):
            click.echo(f"cliffkit: warning: {w.message}", err=True)
        else:  # pragma: no cover - foreign warnings keep their normal route
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    result.dataset.update(data_record(dataset, ds))  # later commands reload the data from it
    result.save(output)
    if chemprop_splits:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CliffkitWarning)
            to_chemprop_splits(result, chemprop_splits, data_path=chemprop_data, dataset=ds)
        for w in caught:
            click.echo(f"cliffkit: warning: {w.message}", err=True)
    verbose(f"{splitter!r}")
    if not STATE["quiet"]:
        say(format_summary(result))
        if method == "predefined":
            from ..split import compare_with_cliffsplit, format_comparison

            given_info = result.info.get("given", {})
            dropped = given_info.get("dropped_rows", {})
            if any(dropped.values()):
                say("rows of the split the loader dropped (see 'cliffkit describe'): "
                    + ", ".join(f"{s} {n}" for s, n in dropped.items()))
            carved = result.info.get("val_carved")
            if carved:
                say(f"validation: {carved['n']} training rows moved to val "
                    f"(val_size {carved['fraction']}, seed {carved['seed']})")
            say("")
            say(format_comparison(compare_with_cliffsplit(result, ds)))
        say("")
        say(f"wrote {output}")
        if chemprop_splits:
            extra = f" and {chemprop_data}" if chemprop_data else ""
            say(f"wrote {chemprop_splits}{extra}")
    return 0
