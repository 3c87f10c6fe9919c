"""The loss registry: ``plain | cliff | cliff-adaptive | cliff-pair | random-weights | lds``,
and the mitigations of issue 18 (``lds-pair``, ``plain-ensemble``, ``cliff-pair-ensemble``,
``anchor-delta``, ``tanimoto-stack``, ``aca``, ``swa``, ``cliff-pair-swa``).

Each name maps to a builder that turns training labels (plus the train-only severity and
cliff pairs, and for the adaptive variant the validation strata) into a :class:`LossSpec`:
what every backbone needs to train with that loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CliffkitWarning, InvalidParameterError, ShapeMismatchError
from ..utils import Interval, Options, Registry, normalize_name, user_stacklevel, validate_params
from ._adaptive import AdaptiveLambda
from ._weights import (
    MAX_LAM,
    cliff_pairs_from_severity,
    cliff_weights,
    lds_weights,
    plain_weights,
    random_weights,
    to_mean_one,
)

__all__ = ["LossSpec", "make_loss", "make_loss_for_split", "list_losses", "loss_param_names",
           "check_loss_params",
           "LOSSES", "register_loss",
           "train_cliffs", "needs_cliffs", "aca_settings", "swa_settings", "ACA_DEFAULTS",
           "SWA_DEFAULTS"]

#: The loss registry: name -> builder ``fn(ctx) -> LossSpec``.
LOSSES: Registry[Callable[..., LossSpec]] = Registry("loss")


def register_loss(name: str):
    """Decorator: register a LossSpec builder under ``name`` (normalised: lowercase, dashes)."""
    return LOSSES.register(name)


def list_losses() -> list[str]:
    """Registered loss names (the CLI's ``--loss`` choices)."""
    return LOSSES.list()


@dataclass
class LossSpec:
    """Everything a backbone needs to train with one loss.

    Attributes
    ----------
    name : str
        Registry name.
    params : dict
        The parameters it was built with (for run configs and reports).
    severity : ndarray of shape (n_train,) or None
        Train-only severities (cliff variants).
    fixed_weight : ndarray of shape (n_train,)
        Raw weights for non-adaptive variants (1 + λc, permuted, LDS or ones).
    pairs : ndarray of int64, shape (n_pairs, 2)
        Training cliff pairs (positions in the training set); used when ``beta > 0``.
    base, beta, delta : str, float, float
        Torch base loss and pairwise weight.
    controller : AdaptiveLambda or None
        The λ controller of ``cliff-adaptive``.
    severity_params : dict
        The split's similarity parameters the severities were computed with
        (:func:`make_loss_for_split`; empty when built from arrays).
    wrapper : str or None
        Name of a model wrapper in :data:`cliffkit.models.WRAPPERS` (``ensemble``,
        ``blend``, ``anchor-delta``) that :func:`cliffkit.experiment.fit` puts around the
        backbone; None: the backbone as it is.
    wrapper_params : dict
        Its parameters.
    weighted : bool
        False for losses that pass no ``sample_weight`` (their weights are all 1, and
        the backbone trains exactly as under ``plain``).
    aca : dict or None
        Parameters of the ACA triplet term (``aca``: ``alpha``, ``cliff_lower``,
        ``cliff_upper``, ``p``, ``label_scale``); the torch module is then an
        :class:`~cliffkit.loss.ACALoss`.
    swa : dict or None
        Stochastic weight averaging settings (``fraction``, ``epochs``, ``lr``,
        ``anneal_epochs``), carried by the torch module as its ``swa`` attribute, which
        the trainer reads (:class:`cliffkit.train.Trainer`).
    """

    name: str
    params: dict[str, Any]
    fixed_weight: np.ndarray
    severity: np.ndarray | None = None
    pairs: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))
    base: str | None = None
    beta: float = 0.0
    delta: float = 1.0
    controller: AdaptiveLambda | None = None
    normalize: bool = True
    severity_params: dict[str, Any] = field(default_factory=dict)
    wrapper: str | None = None
    wrapper_params: dict[str, Any] = field(default_factory=dict)
    weighted: bool = True
    aca: dict[str, Any] | None = None
    swa: dict[str, Any] | None = None

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"LossSpec({self.name!r}, {body})"

    @property
    def n_train(self) -> int:
        return int(self.fixed_weight.shape[0])

    @property
    def adaptive(self) -> bool:
        return self.controller is not None

    @property
    def uses_pairs(self) -> bool:
        """The trainer gets the cliff pairs: a pair term (β > 0) or the ACA cliff gate."""
        gate = self.aca is not None and bool(self.aca.get("gate"))
        return (self.beta > 0 or gate) and self.pairs.shape[0] > 0

    @property
    def lam(self) -> float | None:
        """Current λ (adaptive: the controller's; fixed cliff: the given one; else None)."""
        if self.controller is not None:
            return self.controller.lam
        return self.params.get("lam")

    def sample_weight(self, *, mean_one: bool = False) -> np.ndarray:
        """Current per-sample weights, shape (n_train,).

        Raw by default (``1 + λc``); ``mean_one=True`` rescales to mean 1 for backbones
        whose loss is a plain mean over samples (LightGBM, sklearn, chemprop), which makes
        them equal to the sum-of-weights normalisation that :class:`CliffLoss` uses.
        """
        if self.controller is not None:
            w = cliff_weights(self.severity, self.controller.lam)
        else:
            w = self.fixed_weight
        return to_mean_one(w) if mean_one else w.copy()

    def make_module(self, base: str | None = None):
        """A fresh torch :class:`CliffLoss` for this spec.

        ``base`` overrides the spec's base loss (None: the spec's, or ``"l1"``).
        """
        from ._cliffloss import CliffLoss

        if self.needs_torch_trainer:
            return _torch_module(self, base)
        return CliffLoss(base=base or self.base or "l1",
                         beta=self.beta if self.uses_pairs else 0.0, delta=self.delta,
                         normalize=self.normalize)

    def fit_kwargs(self, backbone: Any = None, *, batch_size: int | None = None,
                   random_state: Any = None) -> dict[str, Any]:
        """Keyword arguments for ``Backbone.fit`` (or ``Trainer.fit``) that train with this loss.

        - ``plain``: nothing (the backbone's own loss, unweighted).
        - weights only: ``sample_weight`` (mean 1) and, for ``cliff-adaptive``,
          ``epoch_callback``; torch backbones then use their own criterion with the
          sum-of-weights normalisation, LightGBM its weighted objective.
        - pair term: also ``loss`` (a :class:`CliffLoss` whose base is the backbone's
          ``criterion`` unless the spec names one), ``pairs`` and ``batch_sampler``
          (:class:`PairBatchSampler` with the backbone's ``batch_size`` and
          ``random_state``). A backbone without a torch trainer (no ``batch_size``)
          cannot take the pair term: :class:`InvalidParameterError`.
        """
        out: dict[str, Any] = {}
        self.reset()
        if (self.name != "plain" and self.weighted) or self.adaptive:
            out["sample_weight"] = self.sample_weight(mean_one=self.normalize)
        if self.adaptive:
            def callback(epoch, val_pred, _spec=self):
                res = _spec.epoch_callback(epoch, val_pred)
                w = res["sample_weight"]
                return {"lam": res["lam"], "sample_weight": to_mean_one(w) if _spec.normalize else w}

            callback.reset = self.reset  # an ensemble resets the controller per member
            out["epoch_callback"] = callback
        self.check_backbone(backbone, batch_size)
        torch_loss = self.uses_pairs or (not self.normalize and self.name != "plain")
        if self.needs_torch_trainer:
            torch_loss = True
            if not self.adaptive and np.all(self.fixed_weight == 1.0):
                out.pop("sample_weight", None)  # all ones: the plain mean, bit for bit
        if torch_loss and getattr(backbone, "batch_size", batch_size) is not None:
            out["loss"] = self.make_module(base=self.base or getattr(backbone, "criterion", None))
        if self.uses_pairs:
            bs = batch_size if batch_size is not None else backbone.batch_size
            rs = random_state if random_state is not None else getattr(backbone, "random_state", 0)
            out["pairs"] = self.pairs
            out["batch_sampler"] = self.make_batch_sampler(int(bs), random_state=rs)
        return out

    def check_backbone(self, backbone: Any, batch_size: int | None = None) -> None:
        """Raise if ``backbone`` cannot train with this loss; nothing is built or trained.

        A backbone without a torch trainer (no ``batch_size``: LightGBM, the SVM, sklearn
        models) cannot take the pair term, the ACA triplet term or SWA.

        Raises
        ------
        InvalidParameterError
            The loss needs the torch training loop and ``backbone`` has none.
        """
        if self.needs_torch_trainer:
            _require_torch_trainer(self, backbone, batch_size)
        if self.uses_pairs and (batch_size if batch_size is not None
                                else getattr(backbone, "batch_size", None)) is None:
            fix = ("drop beta (--beta) so that only the cliff weights act"
                   if self.name in ("plain", "cliff", "cliff-adaptive", "random-weights")
                   else "use loss 'cliff' or 'cliff-adaptive' (weights only)")
            raise InvalidParameterError(
                f"Loss {self.name!r} has a pairwise term (beta={self.beta}) that "
                f"{type(backbone).__name__} cannot train (it has no torch trainer); "
                f"for LightGBM and sklearn models {fix}, or train a torch backbone."
            )

    @property
    def needs_torch_trainer(self) -> bool:
        """Whether the loss acts inside the torch training loop (ACA term, SWA)."""
        return self.aca is not None or self.swa is not None

    def make_batch_sampler(self, batch_size: int, random_state: Any = None):
        """A :class:`PairBatchSampler` when the pair term is on, else None (plain shuffling)."""
        if not self.uses_pairs:
            return None
        from ._sampler import PairBatchSampler

        return PairBatchSampler(self.n_train, self.pairs, batch_size, random_state=random_state)

    def reset(self) -> None:
        """Reset the adaptive controller before a new fit (no-op otherwise)."""
        if self.controller is not None:
            self.controller.reset()

    def epoch_callback(self, epoch: int | None, y_val_pred: Any) -> dict[str, Any] | None:
        """Feed one epoch's validation predictions (label units) to the controller.

        The signature is the trainer's ``epoch_callback(epoch, val_pred)``.

        Returns None for non-adaptive losses (weights never change). For
        ``cliff-adaptive`` returns ``{"lam": new_lam, "sample_weight": raw weights}``;
        the trainer uses the new weights from the next epoch on.
        """
        if self.controller is None:
            return None
        lam = self.controller.update(y_val_pred, epoch=epoch)
        return {"lam": lam, "sample_weight": self.sample_weight()}

    @property
    def history(self) -> list[dict[str, Any]]:
        """λ trajectory of the adaptive controller (empty otherwise)."""
        return [] if self.controller is None else list(self.controller.history_)


_COMMON = {
    "lam": [Interval(float, 0.0, MAX_LAM)],
    "beta": [Interval(float, 0.0, None)],
    "base": [Options("l1", "mse", "huber"), None],
    "delta": [Interval(float, 0.0, None, closed="neither")],
    "pair_quantile": [Interval(float, 0.0, 1.0, closed="left")],
    "random_state": ["random_state"],
    "normalize": ["boolean"],
    "wrapper": [str, None],
    "wrapper_params": [dict, None],
    "lds_params": [dict, None],
    "adaptive_params": [dict, None],
    "aca_params": [dict, None],
    "swa_params": [dict, None],
}


def make_loss(
    name: str,
    y_train: Any,
    *,
    severity: Any = None,
    pairs: Any = None,
    lam: float | None = None,
    beta: float | None = None,
    base: str | None = None,
    delta: float = 1.0,
    pair_quantile: float = 0.8,
    y_val: Any = None,
    val_cliff_mask: Any = None,
    val_smooth_mask: Any = None,
    random_state: Any = 0,
    lds_params: dict[str, Any] | None = None,
    adaptive_params: dict[str, Any] | None = None,
    normalize: bool = True,
    wrapper: str | None = None,
    wrapper_params: dict[str, Any] | None = None,
    aca_params: dict[str, Any] | None = None,
    swa: bool | None = None,
    swa_params: dict[str, Any] | None = None,
) -> LossSpec:
    """Build the :class:`LossSpec` of a registered loss.

    Parameters
    ----------
    name : {"plain", "cliff", "cliff-adaptive", "cliff-pair", "random-weights", "lds", \
            "aca", "swa", "cliff-pair-swa"}
    y_train : array-like of shape (n_train,)
        Training labels (``lds`` uses them; the others check lengths).
    severity : Severity or array-like of shape (n_train,), optional
        Train-only severity (from :func:`cliff_severity`); required by the cliff variants
        and ``random-weights`` (which permutes the cliff weights at the same λ).
    pairs : array-like of int, shape (n_pairs, 2), optional
        Training cliff pairs; derived from ``severity`` (its partners above the
        ``pair_quantile``) when None.
    lam : float, optional
        λ of the cliff weights (the start value for ``cliff-adaptive``); None means 0.1.
        Only the losses with cliff weights take it (``cliff``, ``cliff-adaptive``,
        ``cliff-pair`` and its variants, ``random-weights``); giving it to another loss
        (``plain``, ``lds`` ...) is an error rather than a silently ignored value.
    beta : float, optional
        Pairwise term weight; 0.5 for ``cliff-pair`` and 0 otherwise when None.
        A positive β on any loss adds the pair term.
    base : {"l1", "mse", "huber"}, optional
        Base loss of the torch module; None follows the backbone's ``criterion``
        (``"l1"`` when a module is built on its own).
    y_val, val_cliff_mask, val_smooth_mask : array-like, optional
        Validation labels and strata; required by ``cliff-adaptive`` only.
    random_state : default=0
        Seed of ``random-weights``.
    lds_params, adaptive_params : dict, optional
        Passed to :func:`lds_weights` (``lds``, ``lds-pair``) and :class:`AdaptiveLambda`
        (``cliff-adaptive``; not ``lam0``: the start value is ``lam``). An unknown key, or a
        group given to a loss that does not read it, is an error.
    normalize : bool, default=True
        Normalise the weighted loss by the sum of weights (mean-1 weights for
        LightGBM/sklearn). False keeps raw weights and a plain mean (for comparison only:
        λ then also scales the effective learning rate).
    wrapper : str, optional
        Put a model wrapper of :data:`cliffkit.models.WRAPPERS` around the backbone
        (e.g. ``"ensemble"`` under ``cliff``). The losses that are wrappers
        (``plain-ensemble``, ``anchor-delta`` ...) set their own; naming another is an error.
    wrapper_params : dict, optional
        The wrapper's parameters (e.g. ``{"n_members": 3}``), merged over the loss's
        defaults; checked by the wrapper when :func:`cliffkit.experiment.fit` builds it.
    aca_params : dict, optional
        ``aca`` only: ``alpha`` (0.1), ``cliff_lower`` (1.0), ``cliff_upper`` (1.0, label
        units) and ``p`` (2.0) of :class:`~cliffkit.loss.ACALoss` (ACANet's defaults), and
        ``gate`` (False; ours): negatives only among the anchor's training cliff partners
        (``pairs``), which the pair-aware batch sampler brings into the same batches.
    swa : bool, optional
        Stochastic weight averaging after early stopping (torch backbones); on for
        ``swa`` and ``cliff-pair-swa``, off otherwise unless True.
    swa_params : dict, optional
        ``fraction`` (0.25: SWA epochs as a share of the epochs trained), ``epochs``
        (a fixed count instead), ``lr`` (None: the trainer's initial lr) and
        ``anneal_epochs`` (1); see :func:`swa_settings`.

    Returns
    -------
    LossSpec

    Raises
    ------
    InvalidParameterError
        λ < 0, β < 0, λ given to a loss without cliff weights, a parameter group
        (``lds_params``, ``adaptive_params``, ``aca_params``, ``wrapper_params``,
        ``swa_params``) given to a loss that does not read it or with an unknown key,
        missing severity or validation strata.
    UnknownNameError
        An unknown loss name.
    """
    key = _key(name)
    lam_given = lam is not None
    lam = 0.1 if lam is None else lam
    groups = {"lds_params": lds_params, "adaptive_params": adaptive_params,
              "wrapper_params": wrapper_params, "aca_params": aca_params}
    validate_params(
        _COMMON,
        {"lam": lam, "beta": 0.0 if beta is None else beta, "base": base, "delta": delta,
         "pair_quantile": pair_quantile, "random_state": random_state,
         "normalize": normalize, "wrapper": wrapper, "swa_params": swa_params, **groups},
        "make_loss",
    )
    y = np.asarray(y_train, dtype=np.float64).reshape(-1)
    sev_obj = severity
    sev = None
    if severity is not None:
        sev = np.asarray(getattr(severity, "severity", severity), dtype=np.float64).reshape(-1)
        if sev.shape[0] != y.shape[0]:
            raise ShapeMismatchError(
                f"make_loss: severity has {sev.shape[0]} values but y_train {y.shape[0]}; "
                "compute severity on the same training set."
            )
    ctx = _Ctx(key, y, sev, sev_obj, pairs, float(lam), beta, base, float(delta),
               float(pair_quantile), y_val, val_cliff_mask, val_smooth_mask, random_state,
               None if wrapper is None else normalize_name(wrapper), swa, swa_params,
               groups={name: dict(given or {}) for name, given in groups.items()})
    builder = LOSSES[key]
    spec = builder(ctx)
    if not isinstance(spec, LossSpec):
        raise InvalidParameterError(
            f"The builder of loss {key!r} ({getattr(builder, '__qualname__', builder)!r}) "
            f"returned {type(spec).__name__}, not a LossSpec; end it with "
            "'return ctx.spec(weights, params, beta=0.0)' (docs/tutorial.md, 'Your own "
            "backbone or loss')."
        )
    if spec.wrapper is None and ctx.wrapper is not None:  # any loss under a wrapper
        spec.wrapper, spec.wrapper_params = ctx.wrapper, dict(ctx.wrapper_params)
        spec.params.update(wrapper=spec.wrapper, wrapper_params=dict(ctx.wrapper_params))
    if lam_given and "lam" not in spec.params and "lam0" not in spec.params:
        raise InvalidParameterError(
            f"Loss {key!r} has no cliff weights, so lam={lam!r} would be ignored; drop lam "
            "(--lam), or choose a loss with cliff weights (cliff, cliff-adaptive, cliff-pair, "
            "random-weights ...)."
        )
    _refuse_unread_groups(ctx)
    _apply_swa(spec, ctx)
    if not normalize:
        spec.normalize = False
        spec.params["normalize"] = False
    return spec


#: The parameter groups of :func:`make_loss` and the losses that read them; a group given
#: to a loss whose builder does not read it is refused (:func:`_refuse_unread_groups`).
_GROUPS: dict[str, str] = {
    "lds_params": "loss 'lds' or 'lds-pair'",
    "adaptive_params": "loss 'cliff-adaptive'",
    "aca_params": "loss 'aca'",
    "wrapper_params": "a wrapper (wrapper='ensemble' ...) or a loss that is one "
                      "(plain-ensemble, cliff-pair-ensemble, anchor-delta, tanimoto-stack)",
}


def _refuse_unread_groups(ctx: _Ctx) -> None:
    """Refuse a non-empty parameter group that the loss's builder never read: it would be
    dropped without a trace (not applied, not in ``spec.params``), as ``lam`` on ``plain``."""
    for name, readers in _GROUPS.items():
        if ctx.groups.get(name) and name not in ctx.groups_read:
            raise InvalidParameterError(
                f"Loss {ctx.name!r} does not read {name}, so {ctx.groups[name]!r} would be "
                f"ignored; drop {name}, or use {readers}."
            )


def _group_kwargs(group: str, given: dict[str, Any], accepted: list[str],
                  hint: str = "") -> dict[str, Any]:
    """``given`` when each of its keys is in ``accepted``; else a one-line error naming the
    group, the key and the accepted keys (rather than a TypeError from the callee)."""
    from ..errors import refuse_unknown_keys

    refuse_unknown_keys(given, accepted, f"{group} has no parameter {{key}}{hint}")
    return given


@dataclass
class _Ctx:
    """What a loss builder (``@register_loss(name) def build(ctx) -> LossSpec``) is given.

    For builders of one's own (docs/tutorial.md, "Your own backbone or loss"): ``y``
    (training labels, (n_train,)), ``lam``, ``beta`` (None when not given), ``random_state``,
    ``need_severity()`` (train-only severities, (n_train,); an error when none were
    computed) and ``spec(weight, params, beta=..., severity=...)``, which assembles the
    :class:`LossSpec` (pairs are looked up when ``beta > 0``). The other fields serve the
    built-in losses. The parameter groups (``lds_params``, ``adaptive_params``,
    ``aca_params``, ``wrapper_params``) are properties that record being read: a non-empty
    group that the builder never reads is an error after it returns.
    """

    name: str
    y: np.ndarray
    sev: np.ndarray | None
    sev_obj: Any
    pairs: Any
    lam: float
    beta: float | None
    base: str | None
    delta: float
    pair_quantile: float
    y_val: Any
    val_cliff_mask: Any
    val_smooth_mask: Any
    random_state: Any
    wrapper: str | None = None
    swa: bool | None = None
    swa_params: dict | None = None
    #: The parameter groups as given (see :data:`_GROUPS`); read through the properties
    #: below, which record the read so that a group no builder reads is refused.
    groups: dict = field(default_factory=dict)
    groups_read: set = field(default_factory=set)

    lds_params = property(lambda self: self._group("lds_params"))
    adaptive_params = property(lambda self: self._group("adaptive_params"))
    wrapper_params = property(lambda self: self._group("wrapper_params"))
    aca_params = property(lambda self: self._group("aca_params"))

    def _group(self, name: str) -> dict:
        self.groups_read.add(name)
        return self.groups.get(name, {})

    def need_severity(self) -> np.ndarray:
        if self.sev is None:
            raise InvalidParameterError(
                f"Loss {self.name!r} needs the train-only severity; compute it with "
                "cliffkit.loss.cliff_severity(dataset, train_idx=...) and pass severity=."
            )
        return self.sev

    def get_pairs(self, beta: float) -> np.ndarray:
        if beta <= 0:
            return np.empty((0, 2), dtype=np.int64)
        if self.pairs is not None and hasattr(self.pairs, "i") and hasattr(self.pairs, "j"):
            p = np.stack([np.asarray(self.pairs.i), np.asarray(self.pairs.j)], axis=1)
            p = p.astype(np.int64).reshape(-1, 2)  # a cliffkit.cliffs.CliffPairs
        elif self.pairs is not None:
            p = np.asarray(self.pairs, dtype=np.int64).reshape(-1, 2)
        elif self.sev_obj is not None and hasattr(self.sev_obj, "partner"):
            p = cliff_pairs_from_severity(self.sev_obj, quantile=self.pair_quantile)
        else:
            raise InvalidParameterError(
                f"Loss {self.name!r} with beta > 0 needs training cliff pairs: pass pairs= "
                "or a Severity object (with partners) as severity=."
            )
        if p.size and (p.min() < 0 or p.max() >= self.y.shape[0]):
            raise InvalidParameterError(
                f"make_loss: pair indices must be positions in the training set [0, "
                f"{self.y.shape[0]}); got [{p.min()}, {p.max()}]."
            )
        if p.shape[0] == 0:
            warnings.warn(
                f"Loss {self.name!r}: there are no training cliff pairs, so the pairwise "
                "term (beta > 0) cannot act; lower pair_quantile or min_similarity, or use "
                "loss 'cliff'.",
                CliffkitWarning,
                stacklevel=user_stacklevel(),
            )
        return p

    def spec(self, weight: np.ndarray, params: dict[str, Any], *, beta: float,
             controller: AdaptiveLambda | None = None, severity: np.ndarray | None = None
             ) -> LossSpec:
        pairs = self.get_pairs(beta)
        if self.base is not None:
            params = {**params, "base": self.base}
        if beta > 0:
            params.update(beta=beta, pair_quantile=self.pair_quantile, n_pairs=int(pairs.shape[0]))
        return LossSpec(name=self.name, params=params, fixed_weight=weight, severity=severity,
                        pairs=pairs, base=self.base, beta=beta, delta=self.delta,
                        controller=controller)

    def wrapped(self, spec: LossSpec, wrapper: str, defaults: dict[str, Any]) -> LossSpec:
        """``spec`` under the model wrapper ``wrapper`` (its params: ``defaults`` updated
        by the user's ``wrapper_params``)."""
        if self.wrapper is not None and self.wrapper != wrapper:
            raise InvalidParameterError(
                f"Loss {self.name!r} is the wrapper {wrapper!r}; it cannot take "
                f"wrapper={self.wrapper!r} (use loss 'plain' or another with wrapper=...)."
            )
        params = {**defaults, **self.wrapper_params}
        spec.wrapper, spec.wrapper_params = wrapper, params
        spec.params.update(wrapper=wrapper, wrapper_params=dict(params))
        return spec


@register_loss("plain")
def _plain(ctx: _Ctx) -> LossSpec:
    beta = ctx.beta or 0.0
    return ctx.spec(plain_weights(ctx.y.shape[0]), {}, beta=beta, severity=ctx.sev)


@register_loss("cliff")
def _cliff(ctx: _Ctx) -> LossSpec:
    sev = ctx.need_severity()
    beta = ctx.beta or 0.0
    return ctx.spec(cliff_weights(sev, ctx.lam), {"lam": ctx.lam}, beta=beta, severity=sev)


@register_loss("cliff-pair")
def _cliff_pair(ctx: _Ctx) -> LossSpec:
    sev = ctx.need_severity()
    beta = 0.5 if ctx.beta is None else ctx.beta
    if beta == 0:
        raise InvalidParameterError(
            "Loss 'cliff-pair' needs beta > 0 (the pairwise term); got beta=0. "
            "Use loss 'cliff' for weights only."
        )
    return ctx.spec(cliff_weights(sev, ctx.lam), {"lam": ctx.lam}, beta=beta, severity=sev)


@register_loss("cliff-adaptive")
def _cliff_adaptive(ctx: _Ctx) -> LossSpec:
    sev = ctx.need_severity()
    if ctx.y_val is None or ctx.val_cliff_mask is None or ctx.val_smooth_mask is None:
        raise InvalidParameterError(
            "Loss 'cliff-adaptive' needs the validation labels and strata: pass y_val, "
            "val_cliff_mask and val_smooth_mask (from the split's validation strata)."
        )
    accepted = [p for p in AdaptiveLambda._param_names() if p != "lam0"]
    hint = " (give the starting λ as the loss's lam)" if "lam0" in ctx.adaptive_params else ""
    ctrl = AdaptiveLambda(ctx.lam, y_val=ctx.y_val, cliff_mask=ctx.val_cliff_mask,
                          smooth_mask=ctx.val_smooth_mask,
                          **_group_kwargs("adaptive_params", ctx.adaptive_params, accepted, hint))
    beta = ctx.beta or 0.0
    return ctx.spec(cliff_weights(sev, ctx.lam), {"lam0": ctx.lam, **ctrl.get_params()},
                    beta=beta, controller=ctrl, severity=sev)


@register_loss("random-weights")
def _random(ctx: _Ctx) -> LossSpec:
    sev = ctx.need_severity()
    w = random_weights(cliff_weights(sev, ctx.lam), ctx.random_state)
    beta = ctx.beta or 0.0
    return ctx.spec(w, {"lam": ctx.lam, "random_state": ctx.random_state}, beta=beta,
                    severity=sev)


@register_loss("lds")
def _lds(ctx: _Ctx) -> LossSpec:
    w = lds_weights(ctx.y, **_lds_params(ctx))
    beta = ctx.beta or 0.0
    return ctx.spec(w, {**ctx.lds_params}, beta=beta, severity=ctx.sev)


def _lds_params(ctx: _Ctx) -> dict[str, Any]:
    """``ctx.lds_params``, its keys checked against :func:`lds_weights`' parameters."""
    import inspect

    accepted = [p for p in inspect.signature(lds_weights).parameters if p != "y"]
    return _group_kwargs("lds_params", ctx.lds_params, accepted)


@register_loss("lds-pair")
def _lds_pair(ctx: _Ctx) -> LossSpec:
    """LDS weights (Yang et al., ICML 2021) plus the pairwise cliff term (β = 0.5).

    The same as ``lds`` with ``beta=0.5``; torch backbones only (the pair term).
    """
    beta = 0.5 if ctx.beta is None else ctx.beta
    if beta == 0:
        raise InvalidParameterError(
            "Loss 'lds-pair' needs beta > 0 (the pairwise term); got beta=0. Use loss 'lds' "
            "for the weights only."
        )
    w = lds_weights(ctx.y, **_lds_params(ctx))
    return ctx.spec(w, {**ctx.lds_params}, beta=beta, severity=ctx.sev)


def _unweighted(ctx: _Ctx) -> LossSpec:
    spec = _plain(ctx)
    spec.weighted = False  # the backbone trains exactly as under 'plain'
    return spec


@register_loss("plain-ensemble")
def _plain_ensemble(ctx: _Ctx) -> LossSpec:
    """``n_members`` (default 5) plain models with seeds seed .. seed + n - 1, mean
    prediction: the equal-compute control (wrapper ``ensemble``)."""
    return ctx.wrapped(_unweighted(ctx), "ensemble", {"n_members": 5})


@register_loss("cliff-pair-ensemble")
def _cliff_pair_ensemble(ctx: _Ctx) -> LossSpec:
    """``cliff-pair`` (weights + pair term) under an ensemble of ``n_members`` (default 5)."""
    return ctx.wrapped(_cliff_pair(ctx), "ensemble", {"n_members": 5})


@register_loss("anchor-delta")
def _anchor_delta(ctx: _Ctx) -> LossSpec:
    """Pairwise difference learning with anchor-based prediction (wrapper ``anchor-delta``;
    DeepDelta: Fralish et al., J Cheminform 2023; PADRE: Tynes et al., JCIM 2021). The
    backbone trains as under ``plain`` and is blended in with a validation-chosen weight."""
    return ctx.wrapped(_unweighted(ctx), "anchor-delta", {})


@register_loss("tanimoto-stack")
def _tanimoto_stack(ctx: _Ctx) -> LossSpec:
    """The backbone blended with the Tanimoto-kernel SVR (``svm``), weight chosen on
    validation (wrapper ``blend``)."""
    return ctx.wrapped(_unweighted(ctx), "blend", {"other": "svm"})


#: Losses that read no training cliffs (unless beta > 0).
_CLIFF_FREE = {"plain", "lds", "plain-ensemble", "anchor-delta", "tanimoto-stack", "aca", "swa"}

#: Wrappers that get the split's similarity parameters (unless their params name them).
_SPLIT_SIMILARITY = {"anchor-delta": ("min_similarity", "radius", "n_bits")}
#: ACANet's defaults (Shen et al.; the ``ACANet`` class of their code): α, the mining
#: cut-offs in label units and the order of the embedding distance.
#: ``gate`` (ours, off by default): negatives only among the anchor's training cliff partners.
ACA_DEFAULTS: dict[str, Any] = {"alpha": 0.1, "cliff_lower": 1.0, "cliff_upper": 1.0, "p": 2.0,
                                "gate": False}
ACA_CONSTRAINTS: dict[str, list] = {
    "alpha": [Interval(float, 0.0, None)],
    "cliff_lower": [Interval(float, 0.0, None, closed="neither")],
    "cliff_upper": [Interval(float, 0.0, None, closed="neither")],
    "p": [Interval(float, 1.0, None)],
    "gate": ["boolean"],
}
#: Stochastic weight averaging (Izmailov et al. 2018) after early stopping: SWA epochs as a
#: share of the epochs trained (or a fixed count), SWA learning rate (None: the trainer's
#: initial lr) and the epochs of the cosine anneal to it (torch.optim.swa_utils.SWALR).
SWA_DEFAULTS: dict[str, Any] = {"fraction": 0.25, "epochs": None, "lr": None, "anneal_epochs": 1}
SWA_CONSTRAINTS: dict[str, list] = {
    "fraction": [Interval(float, 0.0, None, closed="neither")],
    "epochs": [Interval(int, 1, None), None],
    "lr": [Interval(float, 0.0, None, closed="neither"), None],
    "anneal_epochs": [Interval(int, 1, None)],
}


def _settings(kind: str, given: dict[str, Any] | None, defaults: dict[str, Any],
              constraints: dict[str, list]) -> dict[str, Any]:
    given = _group_kwargs(kind, dict(given or {}), list(defaults))
    out = {**defaults, **given}
    validate_params(constraints, out, kind)
    return {k: (float(v) if isinstance(defaults[k], float) and v is not None else v)
            for k, v in out.items()}


def aca_settings(params: dict[str, Any] | None = None) -> dict[str, float]:
    """The ACA parameters: :data:`ACA_DEFAULTS` updated with ``params``, validated.

    Raises
    ------
    InvalidParameterError
        An unknown key, α < 0, a cut-off <= 0, ``cliff_lower > cliff_upper`` or ``p < 1``.

    Examples
    --------
    >>> aca_settings({"alpha": 0.5})
    {'alpha': 0.5, 'cliff_lower': 1.0, 'cliff_upper': 1.0, 'p': 2.0, 'gate': False}
    """
    out = _settings("aca_params", params, ACA_DEFAULTS, ACA_CONSTRAINTS)
    if out["cliff_lower"] > out["cliff_upper"]:
        raise InvalidParameterError(
            f"The ACA cut-offs need cliff_lower <= cliff_upper (a positive is closer in label "
            f"than a negative); got cliff_lower={out['cliff_lower']}, "
            f"cliff_upper={out['cliff_upper']}."
        )
    return out


def swa_settings(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The SWA settings: :data:`SWA_DEFAULTS` updated with ``params``, validated.

    Raises
    ------
    InvalidParameterError
        An unknown key or a value out of range.

    Examples
    --------
    >>> swa_settings({"epochs": 10})
    {'fraction': 0.25, 'epochs': 10, 'lr': None, 'anneal_epochs': 1}
    """
    return _settings("swa_params", params, SWA_DEFAULTS, SWA_CONSTRAINTS)


@register_loss("aca")
def _aca(ctx: _Ctx) -> LossSpec:
    """ACANet's activity-cliff-awareness loss: regression + α · online triplet loss."""
    aca = aca_settings(ctx.aca_params)
    std = float(ctx.y.std()) if ctx.y.size else 1.0
    aca["label_scale"] = std if np.isfinite(std) and std >= 1e-12 else 1.0  # = the trainer's
    beta = ctx.beta or 0.0
    spec = ctx.spec(plain_weights(ctx.y.shape[0]), {k: aca[k] for k in ACA_DEFAULTS},
                    beta=beta, severity=ctx.sev)
    spec.aca = aca
    if aca["gate"]:  # negatives among the training cliff pairs, brought into batches together
        if beta <= 0:
            spec.pairs = ctx.get_pairs(1.0)
        spec.params.update(pair_quantile=ctx.pair_quantile, n_pairs=int(spec.pairs.shape[0]))
    return spec


@register_loss("swa")
def _swa(ctx: _Ctx) -> LossSpec:
    """The plain loss with stochastic weight averaging (:func:`_apply_swa` adds it)."""
    return _plain(ctx)


@register_loss("cliff-pair-swa")
def _cliff_pair_swa(ctx: _Ctx) -> LossSpec:
    """``cliff-pair`` with stochastic weight averaging."""
    return _cliff_pair(ctx)


_SWA_NAMES = ("swa", "cliff-pair-swa")


def _apply_swa(spec: LossSpec, ctx: _Ctx) -> None:
    """Turn SWA on for the ``*swa`` names or ``swa=True``; refuse contradictions."""
    on = ctx.name in _SWA_NAMES if ctx.swa is None else bool(ctx.swa)
    if ctx.name in _SWA_NAMES and not on:
        raise InvalidParameterError(
            f"Loss {ctx.name!r} is weight averaging; swa=False contradicts it (use loss "
            f"{ctx.name.removesuffix('swa').rstrip('-') or 'plain'!r})."
        )
    if not on:
        if ctx.swa_params:
            raise InvalidParameterError(
                f"swa_params were given but SWA is off for loss {ctx.name!r}; pass swa=True "
                "(or use loss 'swa' / 'cliff-pair-swa')."
            )
        return
    spec.swa = swa_settings(ctx.swa_params)
    spec.params["swa"] = dict(spec.swa)


def _torch_module(spec: LossSpec, base: str | None):
    """The torch loss of a spec that acts in the training loop (ACA term and/or SWA)."""
    from ._cliffloss import CliffLoss

    base = base or spec.base or "l1"
    beta = spec.beta if spec.uses_pairs else 0.0
    if spec.aca is not None:
        from ._aca import ACALoss

        module = ACALoss(base=base, beta=beta, delta=spec.delta, normalize=spec.normalize,
                         **spec.aca)
    else:
        module = CliffLoss(base=base, beta=beta, delta=spec.delta, normalize=spec.normalize)
    module.swa = None if spec.swa is None else dict(spec.swa)
    return module


def _require_torch_trainer(spec: LossSpec, backbone: Any, batch_size: int | None) -> None:
    """One-line error for a loss that needs the torch training loop on a backbone without one."""
    if getattr(backbone, "batch_size", batch_size) is not None:
        return
    what = ("trains the latent embeddings with a triplet term" if spec.aca is not None
            else "averages weights over training epochs (SWA)")
    raise InvalidParameterError(
        f"Loss {spec.name!r} {what}, which {type(backbone).__name__} cannot do (it has no "
        "torch trainer); use it with mlp, gin, dmpnn or schnet, or use loss 'cliff' or "
        "'lds' for LightGBM and sklearn models."
    )


_CLIFF_MEMO: dict[tuple, tuple[Any, np.ndarray]] = {}
_CLIFF_MEMO_SIZE = 4


def train_cliffs(dataset: Any, split: Any, *, target: str | int | None = None,
                 pair_quantile: float = 0.8) -> tuple[Any, np.ndarray]:
    """The training cliffs of a split: train-only severities and training cliff pairs.

    The one definition every entry point uses (``cliffkit train``, ``cliffkit weights``,
    the bench cell, :func:`make_loss_for_split`, the chemprop adapter): neighbours among
    ``split.train`` only, with the split's own similarity parameters
    (:attr:`SplitResult.similarity_params <cliffkit.split.SplitResult.similarity_params>`:
    ``k``, ``min_similarity``, ``radius``, ``n_bits``, ``m``), and the cliff pairs of that
    train–train graph (:func:`cliffkit.cliffs.cliff_pairs`, scaled strength above
    ``pair_quantile``). Results are memoised in the process (the cells of one split share
    them).

    Parameters
    ----------
    dataset : Dataset
        The data the split was made for.
    split : SplitResult
        Anything with a ``train`` index array and ``similarity_params``.
    target : str or int, optional
        Target of a multi-target dataset.
    pair_quantile : float in [0, 1), default=0.8

    Returns
    -------
    severity : Severity
        In training order, shape (n_train,).
    pairs : ndarray of int64, shape (n_pairs, 2)
        Positions inside the training set.

    Raises
    ------
    UnknownNameError
        ``target`` is not a target of ``dataset``.
    InvalidParameterError
        Non-finite training labels.
    """
    from ..utils import sha256_bytes
    from ._weights import cliff_severity

    t = dataset.target_index(target)
    train = np.asarray(split.train, dtype=np.int64)
    sim = dict(split.similarity_params)
    key = (getattr(dataset, "checksum", None) or id(dataset), t,
           sha256_bytes(np.ascontiguousarray(train, dtype="<i8").tobytes()),
           tuple(sorted(sim.items())), float(pair_quantile))
    if key not in _CLIFF_MEMO:
        while len(_CLIFF_MEMO) >= _CLIFF_MEMO_SIZE:
            _CLIFF_MEMO.pop(next(iter(_CLIFF_MEMO)))
        _CLIFF_MEMO[key] = cliff_severity(dataset, dataset.y[:, t], train, return_pairs=True,
                                          pair_quantile=pair_quantile, **sim)
    return _CLIFF_MEMO[key]


def needs_cliffs(name: str, beta: float | None = None) -> bool:
    """Whether loss ``name`` (with pair weight ``beta``) reads the training cliffs."""
    key = _key(name)
    return key not in _CLIFF_FREE or (beta or 0) > 0


def _key(name: str) -> str:
    LOSSES.get(name)  # UnknownNameError with a did-you-mean
    return normalize_name(name)


#: make_loss arguments that come from the data, not from the user (make_loss_for_split
#: fills them from the dataset and the split).
_DATA_ARGS = frozenset({"name", "y_train", "severity", "pairs", "y_val", "val_cliff_mask",
                        "val_smooth_mask"})


def loss_param_names() -> list[str]:
    """The loss parameters a user may give (``lam``, ``beta`` ...): the arguments of
    :func:`make_loss` other than those read from the data."""
    import inspect

    return [p for p in inspect.signature(make_loss).parameters if p not in _DATA_ARGS]


def check_loss_params(params: Any, prefix: str = "") -> None:
    """Refuse a name of ``params`` that is not a loss parameter (:func:`loss_param_names`).

    Raises
    ------
    InvalidParameterError
        Naming the unknown key, the closest accepted one and every accepted one.
    """
    from ..errors import refuse_unknown_keys

    refuse_unknown_keys(params, loss_param_names(), f"{prefix}{{key}} is not a loss parameter")


def make_loss_for_split(
    name: str,
    dataset: Any,
    split: Any,
    *,
    target: str | int | None = None,
    **params: Any,
) -> LossSpec:
    """Build a loss from a dataset and a split: the one place a LossSpec is assembled.

    The severity and cliff pairs are :func:`train_cliffs` of the split (training
    molecules only, at the split's own similarity parameters); ``cliff-adaptive`` also
    gets the validation labels and the split's validation strata (``"cliff"`` /
    ``"smooth"``). Test rows are never read. The similarity parameters used are recorded
    in ``spec.severity_params``.

    Parameters
    ----------
    name : str
        Registry name.
    dataset : Dataset
    split : SplitResult
        Anything with ``train`` and ``val`` index arrays, ``similarity_params``,
        ``labels`` and ``strata(target, subset)``.
    target : str or int, optional
    **params
        Passed to :func:`make_loss` (``lam``, ``beta``, ``random_state`` ...).

    Returns
    -------
    LossSpec

    Raises
    ------
    UnknownNameError
        An unknown loss or target name.
    InvalidParameterError
        ``cliff-adaptive`` on a split that does not label the target's validation strata,
        or a bad or unknown loss parameter (see :func:`make_loss`).
    """
    key = _key(name)
    check_loss_params(params)
    t = dataset.target_index(target)
    if not dataset.labelled(t).all():
        from ..errors import InvalidDataError

        raise InvalidDataError(
            f"Target {dataset.target_names[t]!r} has no value for "
            f"{int((~dataset.labelled(t)).sum())} molecules; pass the labelled view "
            "(dataset, split, _ = cliffkit.split.labelled_view(split, dataset, target)) so that "
            "the loss is built on the molecules that have its value."
        )
    y = dataset.y[:, t]
    train = np.asarray(split.train, dtype=np.int64)
    sev = pairs = None
    gate = key == "aca" and bool((params.get("aca_params") or {}).get("gate"))
    if needs_cliffs(key, params.get("beta")) or gate:
        sev, pairs = train_cliffs(dataset, split, target=t,
                                  pair_quantile=params.get("pair_quantile", 0.8))
    if key == "cliff-adaptive":
        tname = dataset.target_names[t]
        if tname not in split.labels:
            raise InvalidParameterError(
                f"Loss 'cliff-adaptive' needs validation strata for target {tname!r}, which "
                f"this split does not label; re-run 'cliffkit split --target {tname}'."
            )
        val = np.asarray(split.val, dtype=np.int64)
        strata = np.asarray(split.strata(tname, subset="val"))
        params = {**params, "y_val": y[val], "val_cliff_mask": strata == "cliff",
                  "val_smooth_mask": strata == "smooth"}
    spec = make_loss(key, y[train], severity=sev, pairs=pairs, **params)
    spec.severity_params = dict(split.similarity_params) if sev is not None else {}
    keys = _SPLIT_SIMILARITY.get(spec.wrapper or "", ())
    if keys:
        sim = dict(split.similarity_params)
        if "k" in keys and not sim.get("k"):
            from ..similarity import default_k

            sim["k"] = default_k(train.size)
        for key_ in keys:
            if sim.get(key_) is not None:
                spec.wrapper_params.setdefault(key_, sim[key_])
        spec.params["wrapper_params"] = dict(spec.wrapper_params)
    return spec
