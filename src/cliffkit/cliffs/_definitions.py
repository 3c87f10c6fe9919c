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

from ..utils import Registry
from ._pairs import cliff_pairs
from ._severity import Severity, _edges, compute_severity

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
    a train–train graph, for the pairwise loss term).
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
    """MoleculeACE's rule on a neighbour graph: similarity >= 0.9 and a >= 10-fold potency change.

    van Tilborg, Alenicheva & Grisoni, *J. Chem. Inf. Model.* 62, 5938 (2022). Labels are
    in log units (MoleculeACE's ``y`` = -log10 nM), so a 10-fold change is |Δy| >= 1. A
    molecule's severity is 1 when one of its kept neighbours makes such a pair and 0
    otherwise; its partner is the strongest such neighbour. The similarity is the
    graph's (ECFP Tanimoto); MoleculeACE also accepts scaffold and SMILES-string
    similarity, which need the molecules: :func:`~cliffkit.cliffs.moleculeace_cliffs`.

    Parameters
    ----------
    similarity : float, default=0.9
    log_fold : float, default=1.0
        |Δy| threshold in log10 units (1.0 = 10-fold).
    """

    def __init__(self, similarity: float = 0.9, log_fold: float = 1.0) -> None:
        self.similarity = similarity
        self.log_fold = log_fold

    def __repr__(self) -> str:
        return f"MoleculeACERule(similarity={self.similarity!r}, log_fold={self.log_fold!r})"

    def _cliff_edges(self, graph, y_query, y_ref):
        _, indices, sims, deg, rows, dy = _edges(graph, y_query, y_query if y_ref is None else y_ref)
        return rows, indices, (sims >= self.similarity) & (np.abs(dy) >= self.log_fold), deg

    def severity(self, graph, y_query, y_ref=None, *, m=None, scale=None, delta=None):
        sev = compute_severity(graph, y_query, y_ref, m=m, scale=scale, delta=self.log_fold)
        rows, _, cliff, deg = self._cliff_edges(graph, y_query, y_ref)
        sev.severity = (np.bincount(rows[cliff], minlength=deg.shape[0]) > 0).astype(np.float64)
        sev.params = {**sev.params, "definition": self.name, "similarity": self.similarity,
                      "log_fold": self.log_fold}
        return sev

    def pairs(self, graph, y, *, quantile=0.8, scale=None):
        rows, indices, cliff, _ = self._cliff_edges(graph, y, None)
        p = np.sort(np.stack([rows[cliff], indices[cliff]], axis=1), axis=1)
        return np.unique(p, axis=0).astype(np.int64).reshape(-1, 2)
