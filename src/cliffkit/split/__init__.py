"""Splitters and split files (``cliffkit.split``).

- :class:`CliffSplit`: locally supported, cliff-exposed test and validation sets.
- :class:`RandomSplit`, :class:`ScaffoldSplit`: standard splits, labelled with the same strata.
- :class:`PredefinedSplit`: a given split (split column, chemprop splits file, index files),
  labelled with the same strata.
- :func:`get_splitter`: registry (``"cliff"``, ``"random"``, ``"scaffold"``, ``"predefined"``).
- :class:`SplitResult`, :func:`load_split`, :func:`to_chemprop_splits`: versioned split files.
"""

from ._base import SPLITTERS, BaseSplitter, get_splitter, list_splitters, register_splitter
from ._cliff import CliffSplit
from ._label import TargetLabels, match_controls
from ._predefined import PredefinedSplit, carve_validation, read_index_file
from ._random import RandomSplit
from ._result import FORMAT, VERSION, SplitResult, load_split, to_chemprop_splits
from ._scaffold import ScaffoldSplit, murcko_scaffolds
from ._summary import (
    compare_with_cliffsplit,
    exposure,
    format_comparison,
    format_summary,
    summarize_split,
)
from ._target import labelled_view

__all__ = [
    "FORMAT",
    "SPLITTERS",
    "VERSION",
    "BaseSplitter",
    "CliffSplit",
    "PredefinedSplit",
    "RandomSplit",
    "ScaffoldSplit",
    "SplitResult",
    "TargetLabels",
    "carve_validation",
    "get_splitter",
    "labelled_view",
    "list_splitters",
    "load_split",
    "match_controls",
    "murcko_scaffolds",
    "read_index_file",
    "register_splitter",
    "compare_with_cliffsplit",
    "exposure",
    "format_comparison",
    "format_summary",
    "summarize_split",
    "to_chemprop_splits",
]
