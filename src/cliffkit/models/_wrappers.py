"""Wrappers: mitigations that change the model, not only the per-sample weights.

A wrapper holds an unfitted *base* backbone and is itself a :class:`Backbone`
(``fit(train, val, *, target, **fit_kwargs)``, ``predict``, ``save``, ``Backbone.load``),
so ``cliffkit.experiment.predict_test``, bench cells, ``cliffkit train`` and
``cliffkit predict`` use it unchanged. A loss names its wrapper by string
(``LossSpec.wrapper``, ``LossSpec.wrapper_params``); :func:`cliffkit.experiment.fit`
builds the base backbone and wraps it with :func:`wrap`.

Built-ins:

- ``ensemble`` (:class:`EnsembleBackbone`): ``n_members`` copies of the base with seeds
  ``seed .. seed + n_members - 1``, mean prediction (Lakshminarayanan et al., NeurIPS 2017,
  "Simple and Scalable Predictive Uncertainty Estimation using Deep Ensembles"); every member
  trains with the same loss arguments (weights, pair term).
- ``blend`` (:class:`BlendBackbone`): ``α·ŷ_base + (1 − α)·ŷ_other`` with a second backbone
  (default ``svm``, the Tanimoto-kernel SVR), α chosen on the validation set only
  (:func:`choose_blend_weight`).
- ``anchor-delta`` (:class:`~cliffkit.models._anchor.AnchorDeltaBackbone`): pairwise
  difference learning with anchor-based prediction.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidDataError, InvalidParameterError
from ..utils import Interval, atomic_write_text, to_jsonable
from ._base import CONFIG_FILE, Backbone, _smiles_of
from ._registry import WRAPPERS

__all__ = ["WrappedBackbone", "EnsembleBackbone", "BlendBackbone", "choose_blend_weight",
           "DEFAULT_WEIGHT_GRID"]

_FORMAT = "cliffkit-backbone"
_VERSION = 1

#: Candidate blend weights α (weight of the base model), searched on validation.
DEFAULT_WEIGHT_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(21))


def _is_backbone(value: Any) -> bool:
    """an unfitted cliffkit Backbone"""
    return isinstance(value, Backbone)


def _weight_grid(value: Any) -> bool:
    """a non-empty list of numbers in [0, 1]"""
    return (isinstance(value, list | tuple) and len(value) > 0
            and all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1
                    for v in value))


def _optional_dict(value: Any) -> bool:
    """None or a dict of parameters"""
    return value is None or isinstance(value, dict)


def choose_blend_weight(pred_base: Any, pred_other: Any, y_val: Any,
                        grid: Any = DEFAULT_WEIGHT_GRID) -> tuple[float, dict[float, float]]:
    """The blend weight α of ``α·pred_base + (1 − α)·pred_other`` with the lowest validation MAE.

    Only validation predictions and labels enter; the test set is never seen.

    Parameters
    ----------
    pred_base, pred_other : array-like of float, shape (n_val,)
        Validation predictions of the two models, in target units.
    y_val : array-like of float, shape (n_val,)
        Validation labels.
    grid : sequence of float in [0, 1], default=0, 0.05, ..., 1
        Candidate weights of ``pred_base``.

    Returns
    -------
    alpha : float
        The chosen weight (ties: the largest α, i.e. the most weight on the base model).
    scores : dict of float to float
        Validation MAE per candidate.

    Raises
    ------
    InvalidParameterError
        Arrays of different lengths, an empty validation set, or a bad grid.

    Examples
    --------
    >>> choose_blend_weight([1.0, 2.0], [3.0, 4.0], [2.0, 3.0], grid=[0.0, 0.5, 1.0])
    (0.5, {0.0: 1.0, 0.5: 0.0, 1.0: 1.0})
    """
    a = np.asarray(pred_base, dtype=np.float64).reshape(-1)
    b = np.asarray(pred_other, dtype=np.float64).reshape(-1)
    y = np.asarray(y_val, dtype=np.float64).reshape(-1)
    if not (a.shape == b.shape == y.shape) or y.size == 0:
        raise InvalidParameterError(
            f"choose_blend_weight needs validation predictions and labels of one non-zero "
            f"length; got {a.shape[0]}, {b.shape[0]} and {y.shape[0]}."
        )
    if not _weight_grid(list(grid)):
        raise InvalidParameterError(
            f"choose_blend_weight: the weight grid must be a non-empty list of numbers in "
            f"[0, 1]; got {grid!r}."
        )
    scores = {float(w): float(np.mean(np.abs(w * a + (1 - w) * b - y))) for w in grid}
    best = min(scores.values())
    alpha = max(w for w, s in scores.items() if s <= best + 1e-12)
    return alpha, scores


def wrap(name: str, base: Backbone, **params: Any) -> WrappedBackbone:
    """Wrap the unfitted backbone ``base`` with the registered wrapper ``name``.

    Raises
    ------
    UnknownNameError
        ``name`` is not a registered wrapper.
    InvalidParameterError
        A wrapper parameter outside its constraints (checked here, before any training).
        Also a parameter the wrapper does not take.
    """
    klass = WRAPPERS.get(name)
    names = [p for p in klass._param_names() if p != "base"]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise InvalidParameterError(
            f"Wrapper {name!r} has no parameter {unknown[0]!r}; accepted: {', '.join(names)}.")
    model = klass(base, **params)
    model._validate_params()
    return model


class WrappedBackbone(Backbone):
    """Base of the wrappers: a Backbone around an unfitted ``base`` backbone.

    Subclasses give ``_fit_wrapped(train, val, target, fit_kwargs) -> list of history
    records``, ``_predict(smiles)``, ``_members() -> dict name -> fitted Backbone`` and
    ``_fitted_state()``. ``name`` is the base backbone's name (a run of ``lgbm`` under
    ``plain-ensemble`` is an lgbm run with that loss); ``wrapper_name`` is the wrapper's.
    """

    wrapper_name: ClassVar[str] = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.base.name

    @property
    def random_state(self) -> Any:
        return getattr(self.base, "random_state", 0)

    # ------------------------------------------------------------------ fit
    def fit(self, train: Any, val: Any, *, target: str | int | None = None,
            log_path: str | Path | None = None, **fit_kwargs: Any) -> WrappedBackbone:
        """Fit the wrapped model(s) on ``train`` with early stopping / choices on ``val``.

        ``fit_kwargs`` are the base backbone's (``sample_weight``, ``loss``, ``pairs``,
        ``batch_sampler``, ``epoch_callback``; see :meth:`Backbone.fit`). Returns self.

        Raises
        ------
        InvalidParameterError
            A wrapper or base parameter outside its constraints.
        InvalidDataError
            Missing or non-finite training/validation labels.
        """
        self._validate_params()
        self.base._validate_params()
        if not hasattr(train, "target") or not hasattr(val, "target"):
            raise InvalidParameterError(
                f"{type(self).__name__}.fit needs cliffkit Datasets for train and val.")
        t0 = time.perf_counter()
        history = self._fit_wrapped(train, val, target, dict(fit_kwargs))
        self.target_ = train.target_names[train.target_index(target)]
        self.history_ = history
        self.best_epoch_ = getattr(next(iter(self._members().values()), None), "best_epoch_", None)
        self.fit_seconds_ = time.perf_counter() - t0
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(log_path, "".join(json.dumps(to_jsonable(r)) + "\n"
                                                for r in history))
        return self

    def _fit_wrapped(self, train, val, target, fit_kwargs) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _members(self) -> dict[str, Backbone]:
        raise NotImplementedError

    def _member_seed(self, offset: int) -> int:
        rs = self.random_state
        return int(rs if isinstance(rs, int | np.integer) else 0) + offset

    def _clone_base(self, seed: int | None = None) -> Backbone:
        params = self.base.get_params()
        if seed is not None and "random_state" in params:
            params["random_state"] = seed
        return type(self.base)(**params)

    # -------------------------------------------------------------- persist
    def _own_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.get_params().items() if k != "base"}

    def save(self, path: str | Path) -> Path:
        """Write ``config.json`` (wrapper, parameters, fitted state) and one folder per member."""
        self._check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        members = self._members()
        for key, member in members.items():
            member.save(path / key)
        from .._version import __version__

        config = {
            "format": _FORMAT, "version": _VERSION, "backbone": self.base.name,
            "wrapper": self.wrapper_name,
            "base_params": to_jsonable(self.base.get_params()),
            "params": to_jsonable(self._own_params()),
            "members": list(members),
            "fitted": to_jsonable({"target_": self.target_, **self._fitted_state()}),
            "cliffkit_version": __version__,
        }
        self._save_extra(path)
        atomic_write_text(path / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        return path

    def _save_extra(self, path: Path) -> None:
        """Anything besides the members (e.g. the anchors' labels)."""

    def _load_extra(self, path: Path) -> None:
        """Read what :meth:`_save_extra` wrote."""

    @classmethod
    def _load_wrapped(cls, path: Path, config: dict[str, Any]) -> WrappedBackbone:
        from ._registry import get_backbone_class

        base = get_backbone_class(config["backbone"])(**config.get("base_params", {}))
        model = cls(base, **config.get("params", {}))
        members = {}
        for key in config.get("members", []):
            if not (path / key / CONFIG_FILE).is_file():
                raise InvalidDataError(f"{path} lacks the member folder {key!r} of its wrapper.")
            members[key] = Backbone.load(path / key)
        fitted = dict(config.get("fitted", {}))
        model.target_ = fitted.pop("target_", None)
        model._set_fitted_state(fitted)
        model._set_members(members)
        model._load_extra(path)
        return model

    def _set_members(self, members: dict[str, Backbone]) -> None:
        raise NotImplementedError


def _member_kwargs(fit_kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """The fit arguments of one ensemble member: a reseeded batch sampler, a reset controller."""
    kw = dict(fit_kwargs)
    sampler = kw.get("batch_sampler")
    if sampler is not None and hasattr(sampler, "pairs") and hasattr(sampler, "max_unit"):
        kw["batch_sampler"] = type(sampler)(sampler.n, sampler.pairs, sampler.batch_size,
                                            random_state=seed, max_unit=sampler.max_unit)
    callback = kw.get("epoch_callback")
    reset = getattr(callback, "reset", None)
    if callable(reset):
        reset()
    return kw


@WRAPPERS.register("ensemble")
class EnsembleBackbone(WrappedBackbone):
    """``ensemble``: the mean of ``n_members`` copies of a backbone trained with seeds
    ``seed, seed + 1, ...`` (deep ensembles: Lakshminarayanan et al., NeurIPS 2017).

    Every member is trained with the same loss arguments (weights, pair term, adaptive λ
    with its controller reset per member; a pair batch sampler is reseeded with the
    member's seed). Cost: ``n_members`` times the base. A deterministic base (``svm``)
    gives identical members.

    Parameters
    ----------
    base : Backbone
        Unfitted; its ``random_state`` is the first member's seed.
    n_members : int, default=5

    Examples
    --------
    >>> from cliffkit.models import get_backbone, wrap
    >>> wrap("ensemble", get_backbone("lgbm", n_estimators=10), n_members=3)  # doctest: +ELLIPSIS
    EnsembleBackbone(base=LGBMBackbone(n_estimators=10, ...), n_members=3)
    """

    _parameter_constraints: ClassVar[dict] = {
        "base": [_is_backbone],
        "n_members": [Interval(int, 1, None)],
    }

    def __init__(self, base: Backbone, n_members: int = 5) -> None:
        self.base = base
        self.n_members = n_members

    def _fit_wrapped(self, train, val, target, fit_kwargs):
        self.members_ = []
        history = []
        for m in range(self.n_members):
            seed = self._member_seed(m)
            member = self._clone_base(seed)
            member.fit(train, val, target=target, **_member_kwargs(fit_kwargs, seed))
            self.members_.append(member)
            y_va = val.target(target)
            ok = np.isfinite(y_va)
            val_mae = float(np.mean(np.abs(member.predict(val.subset(np.flatnonzero(ok)))
                                           - y_va[ok])))
            history.append({"epoch": m + 1, "member": m, "seed": seed,
                            "best_epoch": getattr(member, "best_epoch_", None),
                            "val_mae": val_mae,
                            "fit_seconds": getattr(member, "fit_seconds_", None)})
        return history

    def _predict(self, smiles: list[str]) -> np.ndarray:
        preds = np.stack([m.predict(smiles) for m in self.members_])
        return preds.mean(axis=0)

    def _members(self) -> dict[str, Backbone]:
        return {f"member-{i}": m for i, m in enumerate(getattr(self, "members_", []))}

    def _set_members(self, members: dict[str, Backbone]) -> None:
        self.members_ = [members[f"member-{i}"] for i in range(len(members))]


@WRAPPERS.register("blend")
class BlendBackbone(WrappedBackbone):
    """``blend``: ``α·ŷ_base + (1 − α)·ŷ_other``, α chosen on validation only.

    The default partner is ``svm``, the Tanimoto-kernel SVR on ECFP4 (MoleculeACE's
    strongest model: van Tilborg et al., J Chem Inf Model 62, 5938 (2022)); blending two
    models is stacking with a one-parameter linear meta-model (Wolpert, Neural Networks
    5, 241 (1992)), fitted on the validation set. The base trains with the loss
    arguments; the partner gets only ``sample_weight``.

    Parameters
    ----------
    base : Backbone
    other : str, default="svm"
        Registered backbone name of the partner.
    other_params : dict, optional
        Its parameters (``random_state`` follows the base unless given).
    weight : float in [0, 1], optional
        Fixed α; None (default): chosen on validation from ``weight_grid``.
    weight_grid : list of float, default=0, 0.05, ..., 1

    Attributes
    ----------
    weight_ : float
        The α used; ``val_mae_by_weight_``: validation MAE per candidate.
    """

    _parameter_constraints: ClassVar[dict] = {
        "base": [_is_backbone],
        "other": [str],
        "other_params": [_optional_dict],
        "weight": [Interval(float, 0.0, 1.0), None],
        "weight_grid": [_weight_grid],
    }

    def __init__(self, base: Backbone, other: str = "svm", other_params: dict | None = None,
                 weight: float | None = None,
                 weight_grid: tuple[float, ...] = DEFAULT_WEIGHT_GRID) -> None:
        self.base = base
        self.other = other
        self.other_params = other_params
        self.weight = weight
        self.weight_grid = weight_grid

    def _make_other(self) -> Backbone:
        from ._registry import get_backbone

        params = dict(self.other_params or {})
        model = get_backbone(self.other, **params)
        own = model.get_params()
        if "random_state" in own and "random_state" not in params:
            model.set_params(random_state=self._member_seed(0))
        return model

    def _fit_wrapped(self, train, val, target, fit_kwargs):
        self.base_ = self._clone_base()
        self.base_.fit(train, val, target=target, **fit_kwargs)
        self.other_ = self._make_other()
        other_kw = {k: v for k, v in fit_kwargs.items() if k == "sample_weight"}
        self.other_.fit(train, val, target=target, **other_kw)
        y_va = val.target(target)
        ok = np.flatnonzero(np.isfinite(y_va))
        vs = val.subset(ok)
        pb, po = self.base_.predict(vs), self.other_.predict(vs)
        if self.weight is None:
            self.weight_, scores = choose_blend_weight(pb, po, y_va[ok], self.weight_grid)
        else:
            self.weight_ = float(self.weight)
            scores = {self.weight_: float(np.mean(np.abs(self.weight_ * pb + (1 - self.weight_)
                                                         * po - y_va[ok])))}
        self.val_mae_by_weight_ = {str(k): v for k, v in scores.items()}
        return [{"epoch": 1, "weight": self.weight_, "val_mae": scores[self.weight_],
                 "val_mae_base": float(np.mean(np.abs(pb - y_va[ok]))),
                 "val_mae_other": float(np.mean(np.abs(po - y_va[ok]))),
                 "val_mae_by_weight": self.val_mae_by_weight_}]

    def _predict(self, smiles: list[str]) -> np.ndarray:
        a = float(self.weight_)
        return a * self.base_.predict(smiles) + (1 - a) * self.other_.predict(smiles)

    def _members(self) -> dict[str, Backbone]:
        if not hasattr(self, "base_"):
            return {}
        return {"base": self.base_, "other": self.other_}

    def _set_members(self, members: dict[str, Backbone]) -> None:
        self.base_, self.other_ = members["base"], members["other"]

    def _fitted_state(self) -> dict[str, Any]:
        return {"weight_": getattr(self, "weight_", None),
                "val_mae_by_weight_": getattr(self, "val_mae_by_weight_", None)}


def smiles_of(data: Any) -> list[str]:
    """SMILES of a Dataset or a sequence of strings (shared by the wrappers)."""
    return _smiles_of(data)
