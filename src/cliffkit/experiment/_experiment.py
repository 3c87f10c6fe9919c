"""One experiment: build the loss from the split, fit, predict and evaluate.

``cliffkit train``, ``cliffkit weights``, the bench cell and the Python API all go
through these functions, so the loss is assembled in one place
(:func:`cliffkit.loss.make_loss_for_split`) from the split's own similarity parameters,
and a training cliff pair means the same thing whichever entry point is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["VAL_FRACTION", "ExperimentResult", "build_backbone", "build_loss", "fit",
           "out_of_fold_partner_predictions", "predict_test", "run_experiment",
           "with_validation"]

#: Share of the training rows held out for early stopping when a split has no validation set.
VAL_FRACTION = 0.1


def with_validation(split: Any, *, seed: int = 0, fraction: float = VAL_FRACTION):
    """The split to fit on: ``split`` itself, or, when it has no validation set, a copy
    whose validation set is ``fraction`` of its training rows (seeded).

    The copy keeps the split's parameters (so the loss still reads the split's own
    similarity parameters) and its test set; the carved rows are neither trained on nor
    labelled (no strata: ``cliff-adaptive`` needs a labelled validation set).

    Returns
    -------
    split : SplitResult or a view of it
        With ``train`` and ``val`` the rows to fit and to stop on.
    carved : dict or None
        ``{"fraction", "n", "seed"}`` when validation rows were carved out.

    Raises
    ------
    InvalidParameterError
        Too few training rows to carve a validation set from.
    """
    if len(split.val):
        return split, None
    from ..split import carve_validation

    tr, va = carve_validation(split.train, fraction, random_state=seed)
    carved = {"fraction": fraction, "n": int(len(va)), "seed": seed}
    return _CarvedSplit(split, tr, va), carved


class _CarvedSplit:
    """A split whose validation set was carved out of its training rows.

    ``train`` and ``val`` are the rows to fit and to stop on; everything else (parameters,
    labels, test set) is the original split's. The carved rows have no strata.
    """

    def __init__(self, base: Any, train: np.ndarray, val: np.ndarray) -> None:
        self._base = base
        self.train = np.asarray(train, dtype=np.int64)
        self.val = np.asarray(val, dtype=np.int64)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)

    def strata(self, target: str | None = None, subset: str = "test") -> np.ndarray:
        if subset == "val":
            from ..errors import InvalidParameterError

            raise InvalidParameterError(
                "The validation rows were carved out of training and have no strata; "
                "make the split with a validation set (--val-size > 0)."
            )
        return self._base.strata(target, subset)


def build_loss(loss: str, dataset: Any, split: Any, *, target: str | int | None = None,
               seed: int = 0, **loss_params: Any):
    """The :class:`~cliffkit.loss.LossSpec` of ``loss`` on ``split``'s training set.

    The severities and cliff pairs use the split's own similarity parameters
    (``split.similarity_params``); ``random_state`` defaults to ``seed``.

    Parameters
    ----------
    loss : str
        A name of :func:`cliffkit.loss.list_losses`.
    dataset : Dataset
        The data the split was made for.
    split : SplitResult
    target : str or int, optional
        Target of a multi-target dataset.
    seed : int, default=0
        ``random_state`` of the loss unless ``loss_params`` gives one.
    **loss_params
        Passed to :func:`cliffkit.loss.make_loss` (``lam``, ``beta`` ...).

    Returns
    -------
    LossSpec

    Raises
    ------
    InvalidParameterError
        ``dataset`` not a Dataset (e.g. a name: load it first) or ``split`` not a split.
    SplitFileError, ShapeMismatchError
        ``split`` was made for other data (its dataset checksum or size differs).
    UnknownNameError, InvalidParameterError
        From :func:`cliffkit.loss.make_loss_for_split` (an unknown loss or target, an
        unknown or bad loss parameter).
    """
    from ..loss import make_loss_for_split

    _check_split_of(dataset, split, "build_loss")
    loss_params.setdefault("random_state", seed)
    return make_loss_for_split(loss, dataset, split, target=target, **loss_params)


def build_backbone(backbone: Any, params: dict[str, Any] | None = None, *, seed: int = 0):
    """An unfitted backbone: a registered name with ``params``, or a fresh copy of a Backbone.

    A name gets ``random_state=seed`` and no progress bar unless ``params`` sets them. A
    Backbone object is never fitted itself: the result is a new, unfitted one built from
    its parameters (``type(b)(**b.get_params())``, a wrapped base copied the same way)
    with ``random_state=seed``, so seeds give different models and every fit its own.

    Raises
    ------
    UnknownNameError
        An unknown backbone name.
    InvalidParameterError
        A parameter the backbone does not take (the message names the accepted ones),
        ``params`` given with a backbone object, or ``backbone`` neither a name nor a
        Backbone.
    """
    from ..errors import InvalidParameterError
    from ..models import get_backbone

    if not isinstance(backbone, str):
        if not (callable(getattr(backbone, "get_params", None))
                and callable(getattr(backbone, "fit", None))):
            raise InvalidParameterError(
                "The backbone must be a registered name (cliffkit.models.list_backbones()) "
                f"or a cliffkit Backbone; got {type(backbone).__name__}.")
        if params:
            raise InvalidParameterError(
                "build_backbone: pass parameters with a backbone name, not with a built "
                f"{type(backbone).__name__} (set them on it with set_params)."
            )
        return _fresh_copy(backbone, seed)
    params = dict(params or {})
    model = get_backbone(backbone, **params)
    own = model.get_params()
    if "random_state" not in params and "random_state" in own:
        model.set_params(random_state=seed)
    if "show_progress" not in params and "show_progress" in own:
        model.set_params(show_progress=False)
    return model


def _fresh_copy(backbone: Any, seed: int) -> Any:
    """An unfitted copy of ``backbone`` from its parameters, with ``random_state=seed``
    (a Backbone parameter, e.g. a wrapper's ``base``, is copied the same way)."""
    params = backbone.get_params()
    for key, value in params.items():
        if callable(getattr(value, "get_params", None)) and callable(getattr(value, "fit", None)):
            params[key] = _fresh_copy(value, seed)
    if "random_state" in params:
        params["random_state"] = seed
    return type(backbone)(**params)


def _check_split_of(dataset: Any, split: Any, who: str) -> None:
    """Refuse a ``dataset`` that is not a Dataset, a ``split`` that is not a split, and a
    split made for other data (the check :func:`cliffkit.evaluate.evaluate` makes), before
    anything is fitted."""
    from ..errors import InvalidParameterError
    from ..evaluate._evaluate import _check_dataset

    if isinstance(dataset, str | Path):
        raise InvalidParameterError(
            f"{who} needs a cliffkit Dataset, not the name or path {str(dataset)!r}; load it "
            f"first: dataset = cliffkit.load_dataset({str(dataset)!r}).")
    if not all(hasattr(dataset, a) for a in ("target_names", "checksum", "subset")):
        raise InvalidParameterError(
            f"{who} needs a cliffkit Dataset (cliffkit.load_dataset); got "
            f"{type(dataset).__name__}.")
    if not all(hasattr(split, a) for a in ("train", "val", "test", "dataset", "n_samples")):
        raise InvalidParameterError(
            f"{who} needs a split (make_split or cliffkit.split.load_split); got "
            f"{type(split).__name__}.")
    _check_dataset(split, dataset, action="fit")


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced.

    Attributes
    ----------
    model : Backbone
        The fitted backbone.
    loss : LossSpec
        The loss it was trained with (``loss.severity_params``: the split's similarity
        parameters).
    target : str
    y_pred : numpy.ndarray of float64, shape (n_test,)
        Predictions for ``split.test``, in that order.
    partner : numpy.ndarray of int64, shape (n_test,)
        Dataset row of each test molecule's training partner (-1: none).
    partner_pred : numpy.ndarray of float64, shape (n_test,)
        Predictions for the partners (NaN where there is none).
    evaluation : Evaluation or None
    timing : dict of str to float
        Seconds spent in ``loss_s``, ``fit_s``, ``predict_s`` and ``evaluate_s``.
    """

    model: Any
    loss: Any
    target: str
    y_pred: np.ndarray
    partner: np.ndarray
    partner_pred: np.ndarray
    evaluation: Any = None
    timing: dict[str, float] = field(default_factory=dict)


def fit(dataset: Any, split: Any, backbone: Any, loss: str = "plain", *,
        target: str | int | None = None, seed: int = 0,
        loss_params: dict[str, Any] | None = None, backbone_params: dict[str, Any] | None = None,
        log_path: str | Path | None = None, timing: dict[str, float] | None = None):
    """Fit ``backbone`` on the split's train set (early stopping on val) with ``loss``.

    Parameters
    ----------
    dataset : Dataset
    split : SplitResult
    backbone : str or Backbone
        A registered name or a Backbone object (either way :func:`build_backbone` makes
        the model fitted: the object itself is left as it is).
    loss : str, default="plain"
    target : str or int, optional
    seed : int, default=0
        Seed of the backbone (a Backbone object is copied with ``random_state=seed``; see
        :func:`build_backbone`), of the loss and of the validation rows carved out of
        training when the split has none (:func:`with_validation`, with a
        :class:`~cliffkit.errors.SplitWarning`).
    loss_params, backbone_params : dict, optional
    log_path : path, optional
        JSON-lines training log.
    timing : dict, optional
        Receives ``loss_s`` and ``fit_s``.

    Returns
    -------
    model : Backbone
        Fitted (never the ``backbone`` object given: a copy of it); when the loss names a
        wrapper (``spec.wrapper``, e.g. ``plain-ensemble``, ``anchor-delta``), the wrapper
        around the backbone (itself a Backbone).
    spec : LossSpec

    Raises
    ------
    SplitFileError, ShapeMismatchError
        ``split`` was made for other data (checked before anything is fitted).
    UnknownNameError, InvalidParameterError
        From :func:`build_loss` and :func:`build_backbone`.
    """
    timing = {} if timing is None else timing
    _check_split_of(dataset, split, "fit")
    split, carved = with_validation(split, seed=seed)
    if carved is not None:
        import warnings

        from ..errors import SplitWarning
        from ..utils import user_stacklevel

        warnings.warn(
            f"The split has no validation set: {carved['n']} training molecules "
            f"({carved['fraction']:.0%}, seed {seed}) are held out for early stopping.",
            SplitWarning, stacklevel=user_stacklevel())
    t0 = time.perf_counter()
    spec = build_loss(loss, dataset, split, target=target, seed=seed, **dict(loss_params or {}))
    timing["loss_s"] = time.perf_counter() - t0
    base = build_backbone(backbone, backbone_params, seed=seed)
    model = base
    if spec.wrapper is not None:  # a mitigation that changes the model (cliffkit.models.WRAPPERS)
        from ..models import wrap

        model = wrap(spec.wrapper, base, **spec.wrapper_params)
    t = dataset.target_index(target)
    train = dataset.subset(np.asarray(split.train, dtype=np.int64))
    val = dataset.subset(np.asarray(split.val, dtype=np.int64))
    t0 = time.perf_counter()
    model.fit(train, val, target=t, log_path=log_path, **spec.fit_kwargs(base))
    timing["fit_s"] = time.perf_counter() - t0
    return model, spec


def predict_test(model: Any, dataset: Any, split: Any, *, target: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predictions for the test set and for each test molecule's training partner.

    Returns
    -------
    y_pred : numpy.ndarray of float64, shape (n_test,)
    partner : numpy.ndarray of int64, shape (n_test,)
        Dataset rows of the partners (-1: none), from the split's labels of ``target``.
    partner_pred : numpy.ndarray of float64, shape (n_test,)
        NaN where there is no partner; each partner is predicted once.
    """
    te = np.asarray(split.test, dtype=np.int64)
    y_pred = np.asarray(model.predict(dataset.subset(te)), dtype=np.float64).reshape(-1)
    labels = split.labels[target if target is not None else split.target_names[0]]
    partner = np.asarray(labels.partner, dtype=np.int64)[te]
    has = partner >= 0
    partner_pred = np.full(te.shape[0], np.nan)
    if has.any():
        uniq, inv = np.unique(partner[has], return_inverse=True)
        partner_pred[has] = np.asarray(model.predict(dataset.subset(uniq)), dtype=np.float64)[inv]
    return y_pred, partner, partner_pred


def out_of_fold_partner_predictions(
    dataset: Any, split: Any, backbone: Any, loss: str = "plain", *,
    target: str | None = None, n_folds: int = 5, seed: int = 0,
    loss_params: dict[str, Any] | None = None,
    backbone_params: dict[str, Any] | None = None,
) -> np.ndarray:
    """Out-of-fold predictions of each test molecule's training partner.

    The partners (training molecules) are dealt into ``n_folds`` folds (seeded); for each
    fold the backbone is fitted, with the same loss and seed, on the training set without
    that fold and predicts the fold's partners. Every partner is thus predicted by a model
    that never saw it, so the pair direction accuracy of
    :func:`cliffkit.evaluate.pair_metrics` can fail (with the model's in-sample partner
    predictions a memoriser scores close to 1). It costs ``n_folds`` extra fits.

    Parameters
    ----------
    dataset, split, backbone, loss, target, seed, loss_params, backbone_params
        As in :func:`run_experiment` (a backbone object is copied for every fit).
    n_folds : int, default=5
        At least 2.

    Returns
    -------
    numpy.ndarray of float64, shape (n_test,)
        In the order of ``split.test``; NaN where a test molecule has no partner.

    Raises
    ------
    InvalidParameterError
        ``n_folds`` below 2.
    """
    from ..errors import InvalidParameterError

    if not (isinstance(n_folds, int | np.integer) and n_folds >= 2):
        raise InvalidParameterError(f"n_folds must be an int >= 2; got {n_folds!r}.")
    tname = dataset.target_names[dataset.target_index(target)]
    te = np.asarray(split.test, dtype=np.int64)
    partner = np.asarray(split.labels[tname].partner, dtype=np.int64)[te]
    has = partner >= 0
    out = np.full(te.shape[0], np.nan)
    if not has.any():
        return out
    uniq = np.unique(partner[has])
    rng = np.random.default_rng([int(seed), 0x0F0D])
    fold = rng.permutation(uniq.shape[0]) % int(n_folds)
    pred = np.full(uniq.shape[0], np.nan)
    train = np.asarray(split.train, dtype=np.int64)
    for f in range(int(n_folds)):
        rows = uniq[fold == f]
        if rows.size == 0:
            continue
        view = _CarvedSplit(split, train[~np.isin(train, rows)], np.asarray(split.val))
        model, _ = fit(dataset, view, backbone, loss, target=tname, seed=seed,
                       loss_params=loss_params, backbone_params=backbone_params)
        pred[fold == f] = np.asarray(model.predict(dataset.subset(rows)), dtype=np.float64)
    out[has] = pred[np.searchsorted(uniq, partner[has])]
    return out


def run_experiment(dataset: Any, split: Any, backbone: Any, loss: str = "plain", *,
                   target: str | None = None, seed: int = 0,
                   loss_params: dict[str, Any] | None = None,
                   backbone_params: dict[str, Any] | None = None,
                   n_bootstrap: int = 1000, evaluate: bool = True,
                   log_path: str | Path | None = None,
                   partner_folds: int = 0) -> ExperimentResult:
    """Build the loss from the split, fit, predict the test set and evaluate it.

    Parameters
    ----------
    dataset : Dataset
        The data the split was made for.
    split : SplitResult
        Its ``similarity_params`` set the severities of the loss and the reference
        predictor of the evaluation.
    backbone : str or Backbone
        A registered name, or a Backbone object: that object is not fitted; a fresh
        copy built from its parameters with ``random_state=seed`` is
        (:func:`build_backbone`), so every result has its own ``model``.
    loss : str, default="plain"
    target : str, optional
        Target name (None: the dataset's only target).
    seed : int, default=0
        Seed of the backbone (a Backbone object's own ``random_state`` included), the
        loss, the bootstrap and the validation rows carved out of training when the split
        has none (:func:`with_validation`, with a :class:`~cliffkit.errors.SplitWarning`).
    loss_params, backbone_params : dict, optional
        Unknown keys are refused with the accepted ones named.
    n_bootstrap : int, default=1000
    evaluate : bool, default=True
        False skips :func:`cliffkit.evaluate.evaluate`.
    log_path : path, optional
    partner_folds : int, default=0
        With 2 or more, the partners' predictions are out-of-fold
        (:func:`out_of_fold_partner_predictions`, that many extra fits) and the
        evaluation reports the model's pair direction accuracy; with 0 they are the
        fitted model's in-sample predictions and the direction accuracy is not computed.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    InvalidParameterError
        ``dataset`` not a Dataset (e.g. a name: load it first) or ``split`` not a split.
    SplitFileError, ShapeMismatchError
        ``split`` was made for other data; checked before anything is fitted.
    UnknownNameError, InvalidParameterError
        An unknown or badly parametrised backbone, loss or target, or a target the split
        does not label.

    Examples
    --------
    >>> from cliffkit.data import load_dataset                     # doctest: +SKIP
    >>> from cliffkit.split import CliffSplit                      # doctest: +SKIP
    >>> ds = load_dataset("esol")                                  # doctest: +SKIP
    >>> split = CliffSplit(min_similarity=0.5).make_split(ds)      # doctest: +SKIP
    >>> res = run_experiment(ds, split, "lgbm", "cliff")           # doctest: +SKIP
    >>> res.loss.severity_params["min_similarity"]                 # doctest: +SKIP
    0.5
    """
    timing: dict[str, float] = {}
    _check_split_of(dataset, split, "run_experiment")
    tname = dataset.target_names[dataset.target_index(target)]
    if tname not in split.labels:
        from ..errors import UnknownNameError

        raise UnknownNameError(
            f"Target {tname!r} of dataset {dataset.name!r} is not labelled by the split, which "
            f"labels {', '.join(map(repr, split.labels)) or 'no target'}; make the split for "
            f"target {tname!r} or pass target= one of those.")
    model, spec = fit(dataset, split, backbone, loss, target=tname, seed=seed,
                      loss_params=loss_params, backbone_params=backbone_params,
                      log_path=log_path, timing=timing)
    t0 = time.perf_counter()
    y_pred, partner, partner_pred = predict_test(model, dataset, split, target=tname)
    timing["predict_s"] = time.perf_counter() - t0
    if partner_folds:
        t0 = time.perf_counter()
        partner_pred = out_of_fold_partner_predictions(
            dataset, split, backbone, loss, target=tname, n_folds=int(partner_folds), seed=seed,
            loss_params=loss_params, backbone_params=backbone_params)
        timing["partner_oof_s"] = time.perf_counter() - t0
    ev = None
    if evaluate:
        from ..evaluate import evaluate as evaluate_fn

        t0 = time.perf_counter()
        ev = evaluate_fn(split, y_pred, target=tname, dataset=dataset,
                         n_bootstrap=int(n_bootstrap), random_state=seed,
                         partner_predictions=partner_pred,
                         partner_out_of_fold=bool(partner_folds))
        timing["evaluate_s"] = time.perf_counter() - t0
    return ExperimentResult(model=model, loss=spec, target=tname, y_pred=y_pred, partner=partner,
                            partner_pred=partner_pred, evaluation=ev, timing=timing)
