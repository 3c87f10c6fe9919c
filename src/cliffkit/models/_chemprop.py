"""Chemprop adapter: train chemprop 2.x through its CLI on our splits, with sample weights.

Needs the ``chemprop`` extra (README, "Install"). The adapter writes
one CSV (``smiles``, ``target``, ``weight``) and chemprop's ``--splits-file`` JSON, then
runs ``chemprop train`` in a subprocess; per-sample weights (e.g. CliffLoss
``w = 1 + λ·c``) go through chemprop's ``--weight-column``. Predictions come from
``chemprop predict`` on the saved ``best.pt``.

Chemprop multiplies each sample's loss by its weight and divides by the number of
samples, so the adapter rescales the training weights to mean 1: the relative weights
are kept and the effective learning rate does not change (the cliffkit trainer's
:math:`\\sum_i w_i \\ell_i / \\sum_i w_i` has the same property).

The chemprop executable is, in order: the ``chemprop_command`` parameter, the
``CLIFFKIT_CHEMPROP`` environment variable (a command line, e.g. the ``chemprop`` of
another environment), or chemprop installed next to this Python.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import KW_ONLY
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import CliffkitError, InvalidParameterError, require
from ..utils import Interval, Options, atomic_write_bytes, atomic_write_text, params_class
from ._base import Backbone
from ._mpnn_params import MPNNParams
from ._registry import register_backbone

__all__ = ["ChempropBackbone", "ChempropError", "chemprop_command", "fit_chemprop_split"]

MODEL_FILE = "chemprop_best.pt"


class ChempropError(CliffkitError, RuntimeError):
    """The chemprop subprocess failed; the message ends with its last output lines."""


def chemprop_command(command: str | Sequence[str] | None = None) -> list[str]:
    """The command line that runs chemprop's CLI.

    Raises
    ------
    MissingDependencyError
        No command given, ``CLIFFKIT_CHEMPROP`` unset and chemprop not importable here.
    """
    if command is None:
        command = os.environ.get("CLIFFKIT_CHEMPROP") or None
    if command is not None:
        return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    require("chemprop", "chemprop", "The chemprop backbone")
    exe = Path(sys.executable).with_name("chemprop")
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("chemprop")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from chemprop.cli.main import main; sys.exit(main())"]


def _run(cmd: list[str], log_path: Path | None, show: bool) -> None:
    proc = subprocess.run(cmd, capture_output=not show, text=True, check=False)
    out = (proc.stdout or "") + (proc.stderr or "")
    if log_path is not None and out:
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(out)
    if proc.returncode != 0:
        tail = " | ".join(line.strip() for line in out.strip().splitlines()[-3:])
        raise ChempropError(
            f"chemprop exited with code {proc.returncode} running "
            f"{' '.join(shlex.quote(c) for c in cmd[:3])} ...: {tail or 'no output'}"
        )


def _normalised_weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    return w / w.mean()


@register_backbone("chemprop")
@params_class
class ChempropBackbone(Backbone, MPNNParams):
    """``chemprop``: chemprop 2.x (D-MPNN) trained through its CLI.

    Parameters
    ----------
    hidden_channels : int, default=300
        ``--message-hidden-dim``.
    num_layers : int, default=3
        ``--depth``.
    dropout : float, default=0.0
    aggr : {"mean", "sum", "norm"}, default="mean"
        ``--aggregation`` (chemprop's own default is ``"norm"``).
    ffn_hidden_channels : int, default=300
    ffn_num_layers : int, default=1
    epochs : int, default=50
    batch_size : int, default=64
    patience : int or None, default=None
        Early stopping patience on the validation loss (None: chemprop's default, none).
    criterion : {"mse", "mae"}, default="mse"
        ``--loss-function``.
    accelerator : str, default="cpu"
        Lightning accelerator (``"cpu"``, ``"gpu"``, ``"auto"``).
    num_workers : int, default=0
    random_state : int, default=0
        ``--pytorch-seed`` and ``--data-seed``.
    chemprop_command : str or None, default=None
        Command line running chemprop's CLI (see the module docstring).
    extra_args : list of str or None, default=None
        More ``chemprop train`` arguments, appended as given.
    show_progress : bool or None, default=None
        Show chemprop's own output (True) instead of capturing it.
    """

    _parameter_constraints: ClassVar[dict] = {
        **MPNNParams._parameter_constraints,
        "aggr": [Options("mean", "sum", "norm")],
        "ffn_num_layers": [Interval(int, 1, None)],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "patience": [Interval(int, 1, None), None],
        "criterion": [Options("mse", "mae")],
        "accelerator": [str],
        "num_workers": [Interval(int, 0, None)],
        "random_state": [Interval(int, 0, None)],
        "chemprop_command": [str, list, tuple, None],
        "extra_args": [list, tuple, None],
        "show_progress": ["boolean", None],
    }

    _: KW_ONLY
    epochs: int = 50
    batch_size: int = 64
    patience: int | None = None
    criterion: str = "mse"
    accelerator: str = "cpu"
    num_workers: int = 0
    random_state: int = 0
    chemprop_command: str | None = None
    extra_args: list[str] | None = None
    show_progress: bool | None = None

    # ----------------------------------------------------------- commands
    def _train_args(self) -> list[str]:
        args = [
            "--task-type", "regression",
            "--loss-function", self.criterion,
            "--message-hidden-dim", str(self.hidden_channels),
            "--depth", str(self.num_layers),
            "--dropout", str(self.dropout),
            "--aggregation", self.aggr,
            "--ffn-hidden-dim", str(self.ffn_hidden_channels),
            "--ffn-num-layers", str(self.ffn_num_layers),
            "--epochs", str(self.epochs),
            # chemprop's default warm-up is 2 epochs and must be shorter than training
            "--warmup-epochs", str(min(2, self.epochs - 1)),
            "--batch-size", str(self.batch_size),
            "--accelerator", self.accelerator,
            "--devices", "1",
            "--num-workers", str(self.num_workers),
            "--pytorch-seed", str(self.random_state),
            "--data-seed", str(self.random_state),
        ]
        if self.patience is not None:
            args += ["--patience", str(self.patience)]
        return args + [str(a) for a in (self.extra_args or [])]

    def _train(self, smiles: Sequence[str], y: np.ndarray, weight: np.ndarray,
               splits: dict[str, list[int]], workdir: Path, log_path: Path | None) -> Path:
        """Run ``chemprop train``; returns the ``best.pt`` path."""
        import pandas as pd

        cmd = chemprop_command(self.chemprop_command)
        data = workdir / "data.csv"
        frame = pd.DataFrame({"smiles": list(smiles), "target": y, "weight": weight})
        atomic_write_text(data, frame.to_csv(index=False))
        splits_path = workdir / "splits.json"
        atomic_write_text(splits_path, json.dumps([splits]) + "\n")
        out = workdir / "chemprop"
        _run(cmd + ["train", "--data-path", str(data), "--smiles-columns", "smiles",
                    "--target-columns", "target", "--weight-column", "weight",
                    "--splits-file", str(splits_path), "--output-dir", str(out),
                    *self._train_args()],
             log_path, bool(self.show_progress))
        best = out / "model_0" / "best.pt"
        if not best.is_file():
            raise ChempropError(f"chemprop finished but wrote no model at {best}.")
        return best

    # ---------------------------------------------------------------- fit
    def _fit(self, smiles_tr, y_tr, smiles_va, y_va, *, sample_weight=None, loss=None,
             pairs=None, batch_sampler=None, epoch_callback=None, log_path=None) -> None:
        for name, value in (("loss", loss), ("pairs", pairs), ("batch_sampler", batch_sampler),
                            ("epoch_callback", epoch_callback)):
            if value is not None:
                raise InvalidParameterError(
                    f"The {name!r} argument of ChempropBackbone.fit is not supported: chemprop "
                    "runs as a subprocess and takes only per-sample weights (sample_weight)."
                )
        chemprop_command(self.chemprop_command)  # fail early without chemprop
        n_tr, n_va = len(smiles_tr), len(smiles_va)
        weight = np.concatenate([_normalised_weights(sample_weight, n_tr), np.ones(n_va)])
        splits = {"train": list(range(n_tr)), "val": list(range(n_tr, n_tr + n_va)), "test": []}
        import time

        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="cliffkit-chemprop-") as tmp:
            best = self._train([*smiles_tr, *smiles_va], np.concatenate([y_tr, y_va]), weight,
                               splits, Path(tmp), Path(log_path) if log_path else None)
            self.model_bytes_ = best.read_bytes()
        self.fit_seconds_ = time.perf_counter() - t0
        self.history_ = []
        self.best_epoch_ = None

    def _predict(self, smiles: list[str]) -> np.ndarray:
        import pandas as pd

        cmd = chemprop_command(self.chemprop_command)
        with tempfile.TemporaryDirectory(prefix="cliffkit-chemprop-") as tmp:
            tmp = Path(tmp)
            model = tmp / "best.pt"
            model.write_bytes(self.model_bytes_)
            test = tmp / "test.csv"
            pd.DataFrame({"smiles": smiles}).to_csv(test, index=False)
            preds = tmp / "preds.csv"
            _run(cmd + ["predict", "--test-path", str(test), "--smiles-columns", "smiles",
                        "--model-paths", str(model), "--output", str(preds),
                        "--accelerator", self.accelerator, "--devices", "1",
                        "--num-workers", str(self.num_workers)],
                 None, bool(self.show_progress))
            frame = pd.read_csv(preds)
        column = "target" if "target" in frame.columns else frame.columns[-1]
        return frame[column].to_numpy(dtype=np.float64)

    # ------------------------------------------------------------ persist
    def _save_weights(self, path: Path) -> None:
        atomic_write_bytes(path / MODEL_FILE, self.model_bytes_)

    def _load_weights(self, path: Path) -> None:
        self.model_bytes_ = (path / MODEL_FILE).read_bytes()


def fit_chemprop_split(dataset, split, *, target: str | int | None = None,
                       sample_weight: Any = None, loss: str | None = None,
                       loss_params: dict[str, Any] | None = None,
                       output_dir: str | os.PathLike,
                       **params: Any) -> tuple[ChempropBackbone, np.ndarray]:
    """Train chemprop on a cliffkit split, with chemprop's own ``--splits-file``.

    Parameters
    ----------
    dataset : Dataset
        The data the split was made for (its checksum must match the split's).
    split : SplitResult or path-like
        A :class:`~cliffkit.split.SplitResult` or a split file.
    target : str or int, optional
    sample_weight : array-like of shape (len(split.train),), optional
        Weights of the training molecules, in the order of ``split.train``.
    loss : str, optional
        Instead of ``sample_weight``: a static weighting of :mod:`cliffkit.loss`
        (``cliff``, ``random-weights``, ``lds``), built by
        :func:`cliffkit.loss.make_loss_for_split` from the split's own similarity
        parameters, as ``cliffkit weights`` and ``cliffkit train`` do.
    loss_params : dict, optional
        Passed with ``loss`` (``lam``, ``random_state`` ...).
    output_dir : path-like
        Receives ``data.csv``, ``splits.json`` and chemprop's output folder.
    **params
        :class:`ChempropBackbone` parameters.

    Returns
    -------
    model : ChempropBackbone
        Fitted (``predict`` works on any molecules).
    test_pred : numpy.ndarray of shape (len(split.test),)
        Chemprop's predictions for ``split.test``, in that order.
    """
    from ..errors import ShapeMismatchError, SplitFileError

    if not hasattr(split, "train"):
        from ..split import load_split

        split = load_split(split, dataset)
    elif split.dataset.get("checksum") not in (None, dataset.checksum):
        raise SplitFileError(
            f"The split was made for dataset {split.dataset.get('name')!r} with another "
            f"checksum than {dataset.name!r}; use the same data or recreate the split."
        )
    if not dataset.labelled(target).all():
        from ..errors import InvalidDataError

        raise InvalidDataError(
            f"{int((~dataset.labelled(target)).sum())} molecules of {dataset.name!r} have no value "
            f"for target {dataset.target_names[dataset.target_index(target)]!r}; train on the "
            "molecules that have it: dataset, split, _ = cliffkit.split.labelled_view(split, "
            "dataset, target)."
        )
    if loss is not None:
        from ..errors import InvalidParameterError
        from ..loss import make_loss_for_split

        if sample_weight is not None:
            raise InvalidParameterError("fit_chemprop_split takes loss= or sample_weight=, not both.")
        spec = make_loss_for_split(loss, dataset, split, target=target, **dict(loss_params or {}))
        if spec.adaptive or spec.uses_pairs:
            raise InvalidParameterError(
                f"Loss {loss!r} changes λ per epoch or adds a pairwise term, which chemprop's "
                "static weight column cannot carry; use 'cliff', 'random-weights' or 'lds'."
            )
        if spec.wrapper is not None:
            raise InvalidParameterError(
                f"Loss {loss!r} changes the model (wrapper {spec.wrapper!r}), which the chemprop "
                "command line cannot run; use 'cliff', 'random-weights' or 'lds'."
            )
        sample_weight = spec.sample_weight()
    model = ChempropBackbone(**params)
    model._validate_params()
    chemprop_command(model.chemprop_command)
    n = len(dataset)
    train = np.asarray(split.train, dtype=np.int64)
    weight = np.ones(n)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim != 1 or sw.shape[0] != train.shape[0]:
            raise ShapeMismatchError(
                f"sample_weight has shape {sw.shape} but the split has {train.shape[0]} "
                f"training molecules; pass shape ({train.shape[0]},)."
            )
        weight[train] = _normalised_weights(sw, train.shape[0])
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = {k: np.asarray(getattr(split, k), dtype=np.int64).tolist()
              for k in ("train", "val", "test")}
    y = dataset.target(target)
    best = model._train(list(dataset.smiles), y, weight, splits, out, out / "chemprop.log")
    model.target_ = dataset.target_names[dataset.target_index(target)]
    model.model_bytes_ = best.read_bytes()
    model.history_ = []
    model.best_epoch_ = None
    test_pred = np.zeros(0)
    if len(splits["test"]):
        import pandas as pd

        frame = pd.read_csv(out / "chemprop" / "model_0" / "test_predictions.csv")
        test_pred = frame["target"].to_numpy(dtype=np.float64)
    return model, test_pred
