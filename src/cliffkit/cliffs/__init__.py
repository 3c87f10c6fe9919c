"""Cliff severity, strata and partners (``cliffkit.cliffs``).

- :func:`compute_severity`: severity of each molecule from its neighbours in a reference
  set (train-only variant for CliffLoss; test molecules against train for labelling).
- :func:`severity_scale`: the |Δy| scale (95th percentile over kept train–train pairs).
- :func:`assign_strata`: cliff / intermediate / smooth / unsupported per molecule.
- :func:`cliff_pairs`: training cliff pairs for the pairwise loss term.
- :func:`moleculeace_cliffs`: the MoleculeACE-compatible cliff mode.
- :data:`CLIFF_DEFINITIONS`: what a cliff is (``cliffkit``, ``moleculeace``), read by split
  labelling and the loss.
"""

from __future__ import annotations

from ..utils import lazy_exports
from ._definitions import (
    CLIFF_DEFINITIONS,
    CliffDefinition,
    get_cliff_definition,
    list_cliff_definitions,
)
from ._pairs import CliffPairs, cliff_pairs, train_cliff_pairs
from ._severity import Severity, compute_severity, default_m, severity_scale
from ._strata import STRATA, Strata, assign_strata, severity_quantiles

__all__ = [
    "CLIFF_DEFINITIONS",
    "CliffDefinition",
    "get_cliff_definition",
    "list_cliff_definitions",
    "STRATA",
    "CliffPairs",
    "Severity",
    "Strata",
    "assign_strata",
    "cliff_pairs",
    "compute_severity",
    "default_m",
    "moleculeace_cliffs",
    "moleculeace_cliff_rmse",
    "moleculeace_metrics",
    "moleculeace_similarity",
    "MoleculeACECliffs",
    "severity_quantiles",
    "severity_scale",
    "train_cliff_pairs",
]


# The MoleculeACE mode lives in its own module, loaded on first use.
__getattr__, __dir__ = lazy_exports(__name__, dict.fromkeys(
    ("moleculeace_cliffs", "moleculeace_cliff_rmse", "moleculeace_metrics",
     "moleculeace_similarity", "MoleculeACECliffs"), "._moleculeace"))
