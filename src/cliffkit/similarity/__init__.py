"""Morgan fingerprints and exact Tanimoto top-k neighbour search.

>>> from cliffkit.similarity import compute_fingerprints, find_neighbors
>>> fps = compute_fingerprints(["CCO", "CCCO", "CCN"])
>>> graph = find_neighbors(fps, k=2, min_similarity=0.0)

Tie rule: within a row, neighbours are sorted by similarity descending, and
equal similarities by reference index ascending. Tanimoto(0 bits, 0 bits) = 0.0.
PyTorch is imported only inside :func:`find_neighbors` (``backend="torch"``).
"""

from ._cache import cached_neighbors, default_cache_dir, neighbors_cache_key
from ._defaults import MIN_SIMILARITY, N_BITS, RADIUS
from ._distributed import find_neighbors_distributed
from ._fingerprints import compute_fingerprints, unpack_fingerprints
from ._graph import NeighborGraph, default_k
from ._search import find_neighbors, tanimoto_matrix

__all__ = [
    "MIN_SIMILARITY",
    "N_BITS",
    "RADIUS",
    "compute_fingerprints",
    "unpack_fingerprints",
    "find_neighbors",
    "find_neighbors_distributed",
    "NeighborGraph",
    "default_k",
    "tanimoto_matrix",
    "cached_neighbors",
    "default_cache_dir",
    "neighbors_cache_key",
]
