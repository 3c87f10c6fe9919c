"""The backbone interface every model in cliffkit implements.

A backbone is an sklearn-like estimator on molecules::

    model = get_backbone("gin", hidden_channels=128, random_state=0)
    model.fit(train, val, target="homo", sample_weight=w, loss=CliffLoss(beta=0.1),
              pairs=pairs, batch_sampler=sampler, epoch_callback=controller_step)
    y_hat = model.predict(test)          # (n_test,) float64, original units
    model.save("runs/x/model"); Backbone.load("runs/x/model")

- ``__init__`` stores the parameters unchanged; ``fit`` validates them once.
- ``train`` / ``val`` are :class:`cliffkit.data.Dataset` s (``predict`` also takes a
  sequence of SMILES); ``target`` names a column (None: the only one).
- ``sample_weight`` (n_train,), ``loss``, ``pairs``, ``batch_sampler`` and
  ``epoch_callback`` follow the contract of :class:`cliffkit.train.Trainer`; a backbone
  that cannot use one of them (LightGBM has no pairwise term) raises
  :class:`~cliffkit.errors.InvalidParameterError`.
- After ``fit``: ``target_``, ``history_`` (one dict per epoch / block of rounds, the
  training log), ``best_epoch_``, ``fit_seconds_``.
- ``save(dir)`` writes ``config.json`` (backbone name, parameters, fitted state) plus the
  weights (``model.pt`` via ``torch.save`` of a state dict, loaded with
  ``weights_only=True``; LightGBM: ``model.txt``). ``Backbone.load(dir)`` returns the
  right subclass.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import (
    IncompleteMethodError,
    InvalidDataError,
    InvalidParameterError,
    ShapeMismatchError,
    UnknownNameError,
)
from ..utils import Params, atomic_write_text, to_jsonable

__all__ = ["Backbone", "load_backbone", "CONFIG_FILE"]

CONFIG_FILE = "config.json"
_FORMAT = "cliffkit-backbone"
_VERSION = 1


def refuse_pair_training(name: str, loss: Any, batch_sampler: Any, pairs: Any = None) -> None:
    """Check the fit arguments of a backbone that fits on all rows at once (lgbm, svm).

    Such a backbone takes per-sample weights but no pairwise loss term, and no batches.

    Raises
    ------
    InvalidParameterError
        ``loss.beta > 0``, a ``batch_sampler``, or ``pairs`` (when given here).
    """
    if loss is not None and float(getattr(loss, "beta", 0.0) or 0.0) > 0:
        raise InvalidParameterError(
            f"The {name} backbone cannot use a pairwise loss term (beta > 0); use beta=0 "
            "(per-sample weights only) or a torch backbone."
        )
    if pairs is not None or batch_sampler is not None:
        what = "pairs and batch_sampler are" if pairs is not None else "batch_sampler is"
        raise InvalidParameterError(
            f"The {name} backbone fits on all rows at once; {what} not supported (use loss "
            "'cliff' or 'cliff-adaptive')."
        )


def _smiles_of(data: Any) -> list[str]:
    if hasattr(data, "smiles"):
        return [str(s) for s in np.asarray(data.smiles).tolist()]
    if isinstance(data, str):
        return [data]
    return [str(s) for s in data]


class Backbone(Params):
    """Base class of the backbones (see the module docstring for the contract).

    Subclasses declare their parameters as fields of a
    :func:`~cliffkit.utils.params_class` (which writes ``__init__``; values stored
    unchanged), ``_parameter_constraints``, ``_fit``, ``_predict``, ``_save_weights``,
    ``_load_weights`` and ``_fitted_state`` / ``_set_fitted_state``.
    """

    name: ClassVar[str] = ""

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train: Any,
        val: Any,
        *,
        target: str | int | None = None,
        sample_weight: Any = None,
        loss: Any = None,
        pairs: Any = None,
        batch_sampler: Any = None,
        epoch_callback: Callable[[int, np.ndarray], dict | None] | None = None,
        log_path: str | Path | None = None,
    ) -> Backbone:
        """Fit on ``train`` with early stopping on ``val``.

        Parameters
        ----------
        train, val : Dataset
            Training and validation molecules.
        target : str or int, optional
            Target column; None when the dataset has one target.
        sample_weight : array-like of shape (n_train,), optional
            Per-sample weights (e.g. CliffLoss ``1 + λ·c``).
        loss : callable, optional
            Torch loss module (e.g. :class:`cliffkit.loss.CliffLoss`); None = plain.
        pairs : array-like of int, shape (n_pairs, 2), optional
            Training cliff pairs (positions in ``train``) for a pairwise loss term.
        batch_sampler : iterable of index lists, optional
            E.g. :class:`cliffkit.loss.PairBatchSampler`.
        epoch_callback : callable, optional
            ``epoch_callback(epoch, val_pred) -> dict | None``; see
            :class:`cliffkit.train.Trainer`.
        log_path : path, optional
            Where to write the JSON-lines training log.

        Returns
        -------
        self

        Raises
        ------
        InvalidParameterError
            A parameter outside its constraint, ``train``/``val`` not Datasets, negative
            or all-zero weights, or a loss argument this backbone cannot use.
        ShapeMismatchError
            ``sample_weight`` not of shape (n_train,) (a 2-D array is not flattened).
        InvalidDataError
            Non-finite training or validation targets, or no training or validation
            molecule with a value for the target.
        TrainingDivergedError
            A non-finite loss or prediction during training (torch backbones).
        """
        self._validate_params()
        # Training skips missing labels (multi-target data): fit on the rows with a value.
        train, sample_weight, pairs = _labelled_rows(train, target, "train", sample_weight, pairs,
                                                     batch_sampler, epoch_callback)
        val, _, _ = _labelled_rows(val, target, "val", None, None, batch_sampler, epoch_callback)
        y_tr = _target_values(train, target, "train")
        y_va = _target_values(val, target, "val")
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=np.float64)
            if sw.ndim != 1 or sw.shape[0] != len(y_tr):
                raise ShapeMismatchError(
                    f"sample_weight has shape {sw.shape} but the training set has "
                    f"{len(y_tr)} molecules; pass one weight per molecule, shape "
                    f"({len(y_tr)},)."
                )
            if not np.all(np.isfinite(sw)) or np.any(sw < 0) or sw.sum() <= 0:
                raise InvalidParameterError(
                    "sample_weight must be finite and non-negative with a positive sum."
                )
            sample_weight = sw
        self.target_ = _target_name(train, target)
        self._fit(_smiles_of(train), y_tr, _smiles_of(val), y_va,
                  sample_weight=sample_weight, loss=loss, pairs=pairs,
                  batch_sampler=batch_sampler, epoch_callback=epoch_callback,
                  log_path=log_path)
        return self

    def predict(self, data: Any) -> np.ndarray:
        """Predictions in the target's units, float64 array of shape ``(n_samples,)``.

        Parameters
        ----------
        data : Dataset or sequence of str
            Molecules, shape (n_samples,).

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples,)

        Raises
        ------
        InvalidParameterError
            The backbone is not fitted.
        InvalidSmilesError
            An empty or blank SMILES (RDKit would read it as the empty molecule; the
            splitters refuse it too), or one RDKit cannot parse (featurisation).
        """
        self._check_fitted()
        smiles = _smiles_of(data)
        if len(smiles) == 0:
            return np.zeros(0)
        from ..data import check_parsed

        check_parsed([s if s.strip() else None for s in smiles], smiles,
                     what=f"{self.name} predict",
                     fix="an empty or blank SMILES is no molecule; fix or drop those entries")
        return np.asarray(self._predict(smiles), dtype=np.float64).reshape(-1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "target_"):
            raise InvalidParameterError(
                f"This {type(self).__name__} is not fitted yet; call fit() or load() first."
            )

    # -------------------------------------------------------------- persist
    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` and the weights into the folder ``path``; returns it.

        Raises InvalidParameterError when ``path`` (or a folder above it) is a file.
        """
        self._check_fitted()
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise InvalidParameterError(
                f"{self.name} save: {str(path)!r} is a file (or lies under one), not a folder; "
                "choose a folder path for the model."
            ) from exc
        self._save_weights(path)
        from .._version import __version__

        config = {
            "format": _FORMAT,
            "version": _VERSION,
            "backbone": self.name,
            "params": to_jsonable(self.get_params()),
            "fitted": to_jsonable({"target_": self.target_, **self._fitted_state()}),
            "cliffkit_version": __version__,
        }
        atomic_write_text(path / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Backbone:
        """Load a backbone written by :meth:`save` (any registered subclass)."""
        from ._registry import get_backbone_class

        path = Path(path)
        cfg_path = path / CONFIG_FILE
        if not cfg_path.is_file():
            raise InvalidDataError(
                f"{path} holds no {CONFIG_FILE}; point at a folder written by Backbone.save "
                "or 'cliffkit train'."
            )
        try:
            config = json.loads(cfg_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InvalidDataError(f"{cfg_path} is not valid JSON ({exc.msg}).") from exc
        if config.get("format") != _FORMAT or config.get("version") != _VERSION:
            raise InvalidDataError(
                f"{cfg_path} is not a cliffkit backbone config of version {_VERSION}."
            )
        if config.get("wrapper"):  # a wrapped model (cliffkit.models._wrappers)
            from ._registry import WRAPPERS

            return WRAPPERS.get(config["wrapper"])._load_wrapped(path, config)
        try:
            klass = get_backbone_class(config["backbone"])
        except UnknownNameError as exc:
            raise UnknownNameError(
                f"{path} holds a model of backbone {config['backbone']!r}, which is not "
                f"registered in this process ({str(exc).rstrip('.')}); a backbone of your own must be "
                "registered before loading: import the module that registers it (for the "
                "CLI: docs/tutorial.md, 'Your own backbone or loss')."
            ) from exc
        if cls is not Backbone and not issubclass(klass, cls):
            raise InvalidDataError(
                f"{path} holds a {klass.__name__}, not a {cls.__name__}."
            )
        model = klass(**config["params"])
        fitted = dict(config.get("fitted", {}))
        model.target_ = fitted.pop("target_", None)
        model._set_fitted_state(fitted)
        model._load_weights(path)
        return model

    # ---------------------------------------------------------------- hooks
    def _missing_hook(self, hook: str, needed_by: str) -> IncompleteMethodError:
        return IncompleteMethodError(
            f"{type(self).__name__} does not implement {hook}, which {needed_by} needs; "
            "add it to the class (docs/tutorial.md, 'Your own backbone or loss')."
        )

    def _fit(self, smiles_tr: list[str], y_tr: np.ndarray, smiles_va: list[str],
             y_va: np.ndarray, **kwargs: Any) -> None:
        raise self._missing_hook("_fit", "fit")

    def _predict(self, smiles: list[str]) -> np.ndarray:
        raise self._missing_hook("_predict", "predict")

    def _save_weights(self, path: Path) -> None:
        raise self._missing_hook("_save_weights", "save (and 'cliffkit train')")

    def _load_weights(self, path: Path) -> None:
        raise self._missing_hook("_load_weights", "Backbone.load (and 'cliffkit predict')")

    def _fitted_state(self) -> dict[str, Any]:
        return {}

    def _set_fitted_state(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            setattr(self, k, v)


def load_backbone(path: str | Path) -> Backbone:
    """Load any saved backbone (same as :meth:`Backbone.load`)."""
    return Backbone.load(path)


def _target_values(data: Any, target: Any, which: str) -> np.ndarray:
    if not hasattr(data, "target"):
        raise InvalidParameterError(
            f"The {which!r} argument of fit must be a cliffkit Dataset; got {type(data).__name__}."
        )
    y = np.asarray(data.target(target), dtype=np.float64)
    if y.size == 0:  # LightGBM / sklearn would fail with their own tracebacks
        fix = ("give fit validation molecules (cliffkit.experiment.with_validation carves "
               "them out of training)" if which == "val" else "give fit training molecules")
        raise InvalidDataError(
            f"The {'validation' if which == 'val' else 'training'} set given to fit has no "
            f"molecule with a value for target "
            f"{_target_name(data, target)!r}; {fix}.")
    if not np.all(np.isfinite(y)):
        raise InvalidDataError(f"The {which} targets hold NaN or infinite values.")
    return y


def _labelled_rows(data: Any, target: Any, which: str, sample_weight: Any, pairs: Any,
                   batch_sampler: Any, epoch_callback: Any):
    """``data`` without the molecules that have no value for ``target`` (NaN label).

    Per-sample weights are subset and pairs renumbered with it; a batch sampler or epoch
    callback indexes the full set, so then the caller must subset first.
    """
    if not (hasattr(data, "target") and hasattr(data, "subset")):
        return data, sample_weight, pairs
    y = np.asarray(data.target(target), dtype=np.float64)
    has = ~np.isnan(y)
    if has.all():
        return data, sample_weight, pairs
    if batch_sampler is not None or (epoch_callback is not None and which == "val"):
        raise InvalidDataError(
            f"{int((~has).sum())} {which} molecules have no value for target "
            f"{_target_name(data, target)!r}; with a batch sampler or epoch callback, restrict "
            "the data to the labelled molecules first (cliffkit.split.labelled_view)."
        )
    keep = np.flatnonzero(has)
    if sample_weight is not None:
        sw = np.asarray(sample_weight, dtype=np.float64)
        if sw.ndim == 1 and sw.shape[0] == has.shape[0]:  # else fit's shape check refuses it
            sample_weight = sw[keep]
    if pairs is not None:
        pr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        pos = np.full(has.shape[0], -1, dtype=np.int64)
        pos[keep] = np.arange(keep.size)
        pr = pos[pr]
        pairs = pr[(pr >= 0).all(axis=1)]
    return data.subset(keep), sample_weight, pairs


def _target_name(data: Any, target: Any) -> str:
    return data.target_names[data.target_index(target)]


def apply_epoch_callback(out: dict[str, Any] | None, record: dict[str, Any],
                         history: list[dict[str, Any]], weight: np.ndarray | None,
                         n_train: int) -> tuple[np.ndarray | None, bool]:
    """End a round of a backbone that fits in rounds: read what ``epoch_callback`` returned.

    Parameters
    ----------
    out : dict or None
        The callback's return value (None: no callback ran): optional ``sample_weight``
        (new training weights, shape (n_train,)), optional ``stop`` (bool), and scalars to log.
    record : dict
        This round's history record; scalar entries of ``out`` not already in it are added,
        and it is appended to ``history``.
    history : list of dict
        The training log so far.
    weight : numpy.ndarray or None
        The sample weights of this round.
    n_train : int
        Number of training rows.

    Returns
    -------
    (numpy.ndarray or None, bool)
        The sample weights of the next round (the callback's, else ``weight``) and
        whether to stop.

    Raises
    ------
    InvalidParameterError
        ``sample_weight`` of another shape or with non-finite values.
    """
    history.append(record)
    if not out:
        return weight, False
    if out.get("sample_weight") is not None:
        weight = np.asarray(out["sample_weight"], dtype=np.float64)
        if weight.shape != (n_train,) or not np.all(np.isfinite(weight)):
            raise InvalidParameterError(
                f"epoch_callback returned sample_weight of shape {weight.shape}; "
                f"expected ({n_train},) finite values."
            )
    for k, v in out.items():
        if k not in ("sample_weight", "stop") and k not in record and \
                isinstance(v, int | float | str | bool | np.generic | None):
            record[k] = v.item() if isinstance(v, np.generic) else v
    return weight, bool(out.get("stop"))
