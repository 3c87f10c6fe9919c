"""Cliff definitions: the one seam that says what a cliff is.

Split labelling (:func:`cliffkit.split.label_targets`) and the training loss
(:func:`cliffkit.loss.cliff_severity`) both ask a registered definition for the severity
of each molecule against a reference set and for the training cliff pairs, so a third
rule (SALI, matched molecular pairs ...) is one new entry::

    @CLIFF_DEFINITIONS.register("sali")
    class SALIRule(CliffDefinition):
        def severity(self, graph, y_query, y_ref=None, *, m=None, scale=None, delta=None): ...
        def pairs(self, graph, y, *, quantile=0.8, scale=None): ...
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidParameterError
from ..utils import Registry, validate_params
from ._pairs import cliff_pairs
from ._severity import SEVERITY_CONSTRAINTS, Severity, _edges, _severity, compute_severity

__all__ = ["CLIFF_DEFINITIONS", "CliffDefinition", "MoleculeACERule", "SeverityRule",
           "get_cliff_definition", "list_cliff_definitions"]

#: Registered cliff definitions (``"cliffkit"`` is the default everywhere).
CLIFF_DEFINITIONS: Registry[type[CliffDefinition]] = Registry(
    "cliff definition", on_register=lambda key, cls: setattr(cls, "name", key))


def get_cliff_definition(name: str = "cliffkit") -> CliffDefinition:
    """A new instance of the cliff definition ``name``.

    Raises
    ------
    UnknownNameError
        ``name`` is not registered.
    """
    return CLIFF_DEFINITIONS.get(name)()


def list_cliff_definitions() -> list[str]:
    """Registered cliff definition names."""
    return CLIFF_DEFINITIONS.list()


class CliffDefinition:
    """What makes a cliff, on a neighbour graph (query → reference, CSR).

    Subclasses implement :meth:`severity` (per query molecule, a :class:`Severity` whose
    ``severity`` orders molecules from smooth to cliff and whose ``partner`` is the
    reference molecule that makes the cliff) and :meth:`pairs` (training cliff pairs of
    a train–train graph, for the pairwise loss term). A rule whose severities are 0/1
    flags (cliff molecule or not) sets ``params["binary"] = True`` on its
    :class:`Severity`, so that :func:`~cliffkit.cliffs.assign_strata` labels cliff =
    severity > 0 and smooth = severity 0 instead of cutting 0/1 values at quantiles.
    """

    name = "base"

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def severity(self, graph: Any, y_query: Any, y_ref: Any | None = None, *,
                 m: int | None = None, scale: float | None = None,
                 delta: float | None = None) -> Severity:
        raise NotImplementedError

    def pairs(self, graph: Any, y: Any, *, quantile: float = 0.8,
              scale: float | None = None) -> np.ndarray:
        raise NotImplementedError


@CLIFF_DEFINITIONS.register("cliffkit")
class SeverityRule(CliffDefinition):
    """cliffkit's rule: severity = mean of the top-m ``similarity × |Δy|`` / scale.

    :func:`~cliffkit.cliffs.compute_severity` per molecule, and training cliff pairs =
    neighbour pairs whose scaled strength is above a quantile
    (:func:`~cliffkit.cliffs.cliff_pairs`).
    """

    def severity(self, graph, y_query, y_ref=None, *, m=None, scale=None, delta=None):
        return compute_severity(graph, y_query, y_ref, m=m, scale=scale, delta=delta)

    def pairs(self, graph, y, *, quantile=0.8, scale=None):
        cp = cliff_pairs(graph, y, quantile=quantile, scale=scale)
        return np.stack([np.asarray(cp.i), np.asarray(cp.j)], axis=1).astype(np.int64).reshape(-1, 2)


@CLIFF_DEFINITIONS.register("moleculeace")
class MoleculeACERule(CliffDefinition):
    """MoleculeACE's rule on a neighbour graph: similarity >= 0.9 and a more than 10-fold potency change.

    van Tilborg, Alenicheva & Grisoni, *J. Chem. Inf. Model.* 62, 5938 (2022). A pair is a
    cliff when its similarity is ``>= similarity`` and its labels differ by *more than*
    ``log_fold``: MoleculeACE's ``find_cliffs`` keeps pairs with ``get_fc(...) >
    potency_fold`` and similarity ``>=`` the threshold, as
    :func:`~cliffkit.cliffs.moleculeace_cliffs` does, so a pair exactly 10-fold apart is
    not a cliff. Labels are in log units (MoleculeACE's ``y`` = -log10 nM), so a 10-fold
    change is |Δy| = 1.

    A molecule's severity is 1 when one of its kept neighbours makes such a pair and 0
    otherwise (``params["binary"]`` is True: strata are cliff = 1, smooth = 0, whatever the
    quantiles); its partner is the strongest (largest ``similarity × |Δy|``) of the
    neighbours that make such a pair, and for a molecule without one the strongest
    neighbour overall. The similarity is the graph's (ECFP Tanimoto); MoleculeACE also
    accepts scaffold and SMILES-string similarity, which need the molecules:
    :func:`~cliffkit.cliffs.moleculeace_cliffs`. The thresholds are the rule's own: a
    ``delta`` (cliffkit's |Δy| threshold) is refused, and :meth:`pairs` returns every
    cliff pair (``quantile`` and ``scale`` do not apply).

    Parameters
    ----------
    similarity : float, default=0.9
        A pair is similar when its similarity is ``>=`` this value.
    log_fold : float, default=1.0
        A pair is a cliff when ``|Δy| > log_fold`` (log10 units; 1.0 = 10-fold).
    """

    def __init__(self, similarity: float = 0.9, log_fold: float = 1.0) -> None:
        self.similarity = similarity
        self.log_fold = log_fold

    def __repr__(self) -> str:
        return f"MoleculeACERule(similarity={self.similarity!r}, log_fold={self.log_fold!r})"

    def _is_cliff(self, sims: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """Per edge: a MoleculeACE cliff pair (similarity >= threshold, |Δy| > log_fold)."""
        return (sims >= self.similarity) & (np.abs(dy) > self.log_fold)

    def _cliff_edges(self, graph, y_query, y_ref):
        _, indices, sims, deg, rows, dy = _edges(graph, y_query, y_query if y_ref is None else y_ref)
        return rows, indices, self._is_cliff(sims, dy), deg

    def severity(self, graph, y_query, y_ref=None, *, m=None, scale=None, delta=None):
        validate_params(SEVERITY_CONSTRAINTS, {"scale": scale, "delta": delta},
                        "MoleculeACERule.severity")
        if delta is not None:
            raise InvalidParameterError(
                f"The moleculeace cliff definition sets its own thresholds (similarity >= "
                f"{self.similarity:g}, |Δy| > log_fold={self.log_fold:g}); delta={delta!r} does "
                "not apply: leave delta unset (another fold: MoleculeACERule(log_fold=...)).")
        sev = _severity(graph, y_query, y_ref, m=m, scale=scale, gate=self._is_cliff)
        rows, _, cliff, deg = self._cliff_edges(graph, y_query, y_ref)
        sev.severity = (np.bincount(rows[cliff], minlength=deg.shape[0]) > 0).astype(np.float64)
        sev.params = {**sev.params, "delta": None, "definition": self.name, "binary": True,
                      "similarity": self.similarity, "log_fold": self.log_fold}
        return sev

    def pairs(self, graph, y, *, quantile=0.8, scale=None):
        rows, indices, cliff, _ = self._cliff_edges(graph, y, None)
        p = np.sort(np.stack([rows[cliff], indices[cliff]], axis=1), axis=1)
        return np.unique(p, axis=0).astype(np.int64).reshape(-1, 2)
