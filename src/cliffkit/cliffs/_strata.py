"""Cliff / smooth / intermediate / unsupported strata from severities."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InsufficientSupportError, InvalidParameterError
from ._severity import Severity

__all__ = ["STRATA", "Strata", "assign_strata", "severity_quantiles"]

#: Stratum names, in the order used for codes and reports.
STRATA = ("cliff", "intermediate", "smooth", "unsupported")


@dataclass
class Strata:
    """Stratum labels of a set of molecules for one target.

    Attributes
    ----------
    labels : numpy.ndarray of str, shape (n,)
        One of :data:`STRATA` per molecule.
    mode : {"quantile", "delta", "binary"}
        How thresholds were set ("binary": 0/1 severities of a rule such as MoleculeACE's).
    cliff_threshold, smooth_threshold : float
        Quantile mode: cliff means severity > ``cliff_threshold``, smooth means severity
        <= ``smooth_threshold``. Delta mode: cliff means a kept neighbour with
        |Δy| >= ``cliff_threshold``; smooth means every kept neighbour has
        |Δy| < ``smooth_threshold`` (target units). Binary mode: both 0 (cliff means
        severity > 0, smooth means severity 0).
    params : dict
        The quantiles or deltas asked for (binary mode: the cliff definition).
    """

    labels: np.ndarray
    mode: str
    cliff_threshold: float
    smooth_threshold: float
    params: dict

    def mask(self, stratum: str) -> np.ndarray:
        """Boolean mask of one stratum."""
        if stratum not in STRATA:
            raise InvalidParameterError(
                f"Unknown stratum {stratum!r}; choose one of {', '.join(STRATA)}."
            )
        return self.labels == stratum

    def counts(self) -> dict[str, int]:
        """Molecules per stratum (every stratum listed, zeros included)."""
        return {s: int((self.labels == s).sum()) for s in STRATA}

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def severity_quantiles(severity: Severity, qs=(0.5, 0.8, 0.9, 0.95, 0.99)) -> dict[str, float]:
    """Quantiles of the supported molecules' severities (for messages and reports)."""
    s = severity.severity[severity.supported]
    if s.size == 0:
        return {f"q{int(round(q * 100))}": float("nan") for q in qs}
    return {f"q{int(round(q * 100))}": float(np.quantile(s, q)) for q in qs}


def assign_strata(
    severity: Severity,
    reference: Severity | None = None,
    *,
    cliff_quantile: float = 0.8,
    smooth_quantile: float = 0.5,
    delta: float | None = None,
    smooth_delta: float | None = None,
) -> Strata:
    """Label molecules cliff / intermediate / smooth / unsupported.

    Parameters
    ----------
    severity : Severity
        Severities of the molecules to label (e.g. test molecules against train).
    reference : Severity, optional
        Train-only severities that set the quantile thresholds (default: ``severity``).
    cliff_quantile, smooth_quantile : float, default=0.8 and 0.5
        Cliff: severity above the ``cliff_quantile`` of the supported reference severities;
        smooth: at or below the ``smooth_quantile`` of the same.
    delta : float, optional
        Threshold in target units instead of quantiles: a molecule is a cliff case when one
        of its kept neighbours differs by ``|Δy| >= delta``.
    smooth_delta : float, optional
        Delta mode only: smooth when every kept neighbour differs by less than this
        (default ``delta / 2``).

    Severities that are 0/1 flags (``severity.params["binary"]``, e.g. the ``moleculeace``
    cliff definition: in a cliff pair or not) are labelled cliff (1) or smooth (0) and
    never intermediate, whatever the quantiles: a quantile of 0/1 values is 0 or 1, so
    quantile thresholds would label no molecule a cliff once more than
    ``1 - cliff_quantile`` of the training molecules are cliffs, and cliff molecules
    smooth above ``1 - smooth_quantile``. ``delta`` is refused for them (the rule sets its
    own thresholds).

    Returns
    -------
    Strata

    Raises
    ------
    InsufficientSupportError
        Quantile mode, when no reference molecule has a neighbour to set thresholds from.
    InvalidParameterError
        Bad quantiles or deltas; ``delta`` with 0/1 severities; ``severity`` and
        ``reference`` of which one is 0/1 and the other not.
    """
    ref = severity if reference is None else reference
    sup = severity.supported
    binary = bool(severity.params.get("binary"))
    if binary != bool(ref.params.get("binary")):
        raise InvalidParameterError(
            "assign_strata: severity and reference come from different cliff definitions "
            f"({severity.params.get('definition', 'cliffkit')!r} and "
            f"{ref.params.get('definition', 'cliffkit')!r}); score both with the same rule.")
    if binary:
        if delta is not None:
            raise InvalidParameterError(
                f"assign_strata: the severities are 0/1 flags of the "
                f"{severity.params.get('definition', 'binary')!r} cliff definition, which sets "
                f"its own thresholds; delta={delta!r} does not apply: leave delta unset.")
        cliff = sup & (severity.severity > 0)
        smooth = sup & ~cliff
        mode, t_cliff, t_smooth = "binary", 0.0, 0.0
        params = {"definition": str(severity.params.get("definition", "binary"))}
    elif delta is not None:
        if not delta > 0:
            raise InvalidParameterError(f"The 'delta' parameter of assign_strata must be > 0; got {delta!r}.")
        sd = delta / 2.0 if smooth_delta is None else float(smooth_delta)
        if not 0 < sd <= delta:
            raise InvalidParameterError(
                f"The 'smooth_delta' parameter of assign_strata must be in (0, delta={delta:g}]; got {sd!r}."
            )
        stat = severity.max_abs_delta
        cliff = sup & (stat >= delta)
        smooth = sup & (stat < sd)
        mode, t_cliff, t_smooth = "delta", float(delta), float(sd)
        params = {"delta": float(delta), "smooth_delta": float(sd)}
    else:
        if not (0 <= smooth_quantile <= cliff_quantile <= 1):
            raise InvalidParameterError(
                "assign_strata needs 0 <= smooth_quantile <= cliff_quantile <= 1; "
                f"got smooth_quantile={smooth_quantile!r}, cliff_quantile={cliff_quantile!r}."
            )
        ref_s = ref.severity[ref.supported]
        if ref_s.size == 0:
            raise InsufficientSupportError(
                "No training molecule has a neighbour at the similarity threshold, so cliff and "
                "smooth thresholds cannot be set; lower min_similarity or use more data."
            )
        t_cliff = float(np.quantile(ref_s, cliff_quantile))
        t_smooth = float(np.quantile(ref_s, smooth_quantile))
        cliff = sup & (severity.severity > t_cliff)
        smooth = sup & (severity.severity <= t_smooth)
        mode = "quantile"
        params = {"cliff_quantile": float(cliff_quantile), "smooth_quantile": float(smooth_quantile)}
    labels = np.full(sup.shape[0], "intermediate", dtype="<U12")
    labels[~sup] = "unsupported"
    labels[smooth] = "smooth"
    labels[cliff] = "cliff"
    return Strata(labels=labels, mode=mode, cliff_threshold=t_cliff,
                  smooth_threshold=t_smooth, params=params)
