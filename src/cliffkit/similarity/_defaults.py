"""The similarity defaults of cliffkit, written once.

Every splitter, loss, evaluator and CLI option takes its default from here; a split
records the values it used (``SplitResult.params``) and every consumer of the split
reads them back from the split (:meth:`cliffkit.split.SplitResult.similarity_params`),
never from these defaults.
"""

from __future__ import annotations

__all__ = ["MIN_SIMILARITY", "RADIUS", "N_BITS"]

#: Support threshold: Tanimoto similarity a training neighbour needs (ECFP4).
MIN_SIMILARITY = 0.35
#: Morgan radius (2 = ECFP4).
RADIUS = 2
#: Fingerprint length in bits.
N_BITS = 2048
