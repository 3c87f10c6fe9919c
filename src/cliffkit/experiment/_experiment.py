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
           "predict_test", "run_experiment", "with_validation"]

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
    UnknownNameError, InvalidParameterError
        From :func:`cliffkit.loss.make_loss_for_split` (an unknown loss or target, a bad
        loss parameter).
    """
    from ..loss import make_loss_for_split

    loss_params.setdefault("random_state", seed)
    return make_loss_for_split(loss, dataset, split, target=target, **loss_params)


def build_backbone(backbone: Any, params: dict[str, Any] | None = None, *, seed: int = 0):
    """An unfitted backbone: a registered name with ``params``, or a Backbone as given.

    A name gets ``random_state=seed`` and no progress bar unless ``params`` sets them.

    Raises
    ------
    UnknownNameError
        An unknown backbone name.
    TypeError
        A parameter the backbone's constructor does not take.
    InvalidParameterError
        ``params`` given with a backbone instance.
    """
    from ..errors import InvalidParameterError
    from ..models import get_backbone

    if not isinstance(backbone, str):
        if params:
            raise InvalidParameterError(
                "build_backbone: pass parameters with a backbone name, not with a built "
                f"{type(backbone).__name__} (set them on it with set_params)."
            )
        return backbone
    params = dict(params or {})
    model = get_backbone(backbone, **params)
    own = model.get_params()
    if "random_state" not in params and "random_state" in own:
        model.set_params(random_state=seed)
    if "show_progress" not in params and "show_progress" in own:
        model.set_params(show_progress=False)
    return model


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
        A registered name (built by :func:`build_backbone`) or an unfitted backbone.
    loss : str, default="plain"
    target : str or int, optional
    seed : int, default=0
        Seed of the backbone (when built from a name) and of the loss.
    loss_params, backbone_params : dict, optional
    log_path : path, optional
        JSON-lines training log.
    timing : dict, optional
        Receives ``loss_s`` and ``fit_s``.

    Returns
    -------
    model : Backbone
        Fitted; when the loss names a wrapper (``spec.wrapper``, e.g. ``plain-ensemble``,
        ``anchor-delta``), the wrapper around the backbone (itself a Backbone).
    spec : LossSpec

    Raises
    ------
    UnknownNameError, InvalidParameterError
        From :func:`build_loss` and :func:`build_backbone`.
    """
    timing = {} if timing is None else timing
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


def run_experiment(dataset: Any, split: Any, backbone: Any, loss: str = "plain", *,
                   target: str | None = None, seed: int = 0,
                   loss_params: dict[str, Any] | None = None,
                   backbone_params: dict[str, Any] | None = None,
                   n_bootstrap: int = 1000, evaluate: bool = True,
                   log_path: str | Path | None = None) -> ExperimentResult:
    """Build the loss from the split, fit, predict the test set and evaluate it.

    Parameters
    ----------
    dataset : Dataset
        The data the split was made for.
    split : SplitResult
        Its ``similarity_params`` set the severities of the loss and the reference
        predictor of the evaluation.
    backbone : str or Backbone
    loss : str, default="plain"
    target : str, optional
        Target name (None: the split's first target).
    seed : int, default=0
        Seed of the backbone, the loss and the bootstrap.
    loss_params, backbone_params : dict, optional
    n_bootstrap : int, default=1000
    evaluate : bool, default=True
        False skips :func:`cliffkit.evaluate.evaluate`.
    log_path : path, optional

    Returns
    -------
    ExperimentResult

    Raises
    ------
    UnknownNameError, InvalidParameterError
        An unknown or badly parametrised backbone, loss or target.

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
    tname = dataset.target_names[dataset.target_index(target)]
    model, spec = fit(dataset, split, backbone, loss, target=tname, seed=seed,
                      loss_params=loss_params, backbone_params=backbone_params,
                      log_path=log_path, timing=timing)
    t0 = time.perf_counter()
    y_pred, partner, partner_pred = predict_test(model, dataset, split, target=tname)
    timing["predict_s"] = time.perf_counter() - t0
    ev = None
    if evaluate:
        from ..evaluate import evaluate as evaluate_fn

        t0 = time.perf_counter()
        ev = evaluate_fn(split, y_pred, target=tname, dataset=dataset,
                         n_bootstrap=int(n_bootstrap), random_state=seed,
                         partner_predictions=partner_pred)
        timing["evaluate_s"] = time.perf_counter() - t0
    return ExperimentResult(model=model, loss=spec, target=tname, y_pred=y_pred, partner=partner,
                            partner_pred=partner_pred, evaluation=ev, timing=timing)
