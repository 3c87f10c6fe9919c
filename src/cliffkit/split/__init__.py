"""Splitters and split files (``cliffkit.split``).

- :class:`CliffSplit`: locally supported, cliff-exposed test and validation sets.
- :class:`RandomSplit`, :class:`ScaffoldSplit`: standard splits, labelled with the same strata.
- :func:`get_splitter`: registry (``"cliff"``, ``"random"``, ``"scaffold"``).
- :class:`SplitResult`, :func:`load_split`, :func:`to_chemprop_splits`: versioned split files.
"""

from ._base import SPLITTERS, BaseSplitter, get_splitter, list_splitters, register_splitter
from ._cliff import CliffSplit
from ._label import TargetLabels, match_controls
from ._random import RandomSplit
from ._result import FORMAT, VERSION, SplitResult, load_split, to_chemprop_splits
from ._scaffold import ScaffoldSplit, murcko_scaffolds
from ._summary import format_summary, summarize_split

__all__ = [
    "FORMAT",
    "SPLITTERS",
    "VERSION",
    "BaseSplitter",
    "CliffSplit",
    "RandomSplit",
    "ScaffoldSplit",
    "SplitResult",
    "TargetLabels",
    "get_splitter",
    "list_splitters",
    "load_split",
    "match_controls",
    "murcko_scaffolds",
    "register_splitter",
    "format_summary",
    "summarize_split",
    "to_chemprop_splits",
]
