"""On-disk cache of neighbour graphs, keyed by the molecules and every parameter."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import CliffkitWarning
from ..utils import cache_dir, one_line, user_stacklevel
from ._defaults import MIN_SIMILARITY, N_BITS, RADIUS
from ._fingerprints import compute_fingerprints
from ._graph import NeighborGraph
from ._search import find_neighbors

__all__ = ["cached_neighbors", "default_cache_dir", "neighbors_cache_key"]

_CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``neighbors`` in the cache folder (:func:`cliffkit.utils.cache_dir`)."""
    return cache_dir("neighbors")


def _hash_smiles(h, smiles: Sequence[str]) -> None:
    h.update(str(len(smiles)).encode())
    for s in smiles:
        h.update(b"\n")
        h.update(str(s).encode("utf-8"))


def neighbors_cache_key(
    smiles: Sequence[str], ref_smiles: Sequence[str] | None, params: dict
) -> str:
    """sha256 over the query and reference SMILES (in order), the parameters and RDKit's version.

    The RDKit version is part of the key (as in the conformer cache): another RDKit may
    parse or fingerprint a SMILES differently, so its graph is computed afresh.
    """
    from rdkit import rdBase

    h = hashlib.sha256()
    h.update(f"cliffkit-neighbors-v{_CACHE_VERSION}\0rdkit-{rdBase.rdkitVersion}".encode())
    _hash_smiles(h, smiles)
    h.update(b"\0ref\0")
    if ref_smiles is not None:
        _hash_smiles(h, ref_smiles)
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def cached_neighbors(
    smiles: Sequence[str],
    ref_smiles: Sequence[str] | None = None,
    *,
    k: int = 24,
    min_similarity: float = MIN_SIMILARITY,
    radius: int = RADIUS,
    n_bits: int = N_BITS,
    cache_dir: str | os.PathLike | None = None,
    backend: str = "auto",
    n_jobs: int | None = None,
    show_progress: bool | None = False,
) -> NeighborGraph:
    """Fingerprint SMILES and find neighbours, reusing a cached graph when possible.

    The cache file is ``<cache_dir>/<key>.npz``, where the key is a sha256 over
    the SMILES (queries, then references, in order: the data checksum), the
    fingerprint parameters (``radius``, ``n_bits``), the search parameters
    (``k``, ``min_similarity``, self-exclusion) and the RDKit version. It is written atomically, so an
    interrupted run leaves no partial file; a file that cannot be read (truncated or
    damaged otherwise) is recomputed and overwritten, with a
    :class:`~cliffkit.errors.CliffkitWarning`. Backend and thread count are not part
    of the key since every backend gives the same graph.

    Parameters
    ----------
    smiles : sequence of str
        Query molecules.
    ref_smiles : sequence of str, optional
        Reference molecules; None means all-against-all with self excluded.
    k, min_similarity, backend, n_jobs, show_progress
        As in :func:`find_neighbors`.
    radius, n_bits
        As in :func:`compute_fingerprints`.
    cache_dir : path-like, optional
        Cache folder. Defaults to :func:`default_cache_dir`
        (``$CLIFFKIT_CACHE_DIR/neighbors`` or the platform user cache folder).

    Returns
    -------
    NeighborGraph
        ``params["cache_file"]`` names the file read or written.
    """
    smiles = [str(s) for s in smiles]
    ref = None if ref_smiles is None else [str(s) for s in ref_smiles]
    params = {
        "k": int(k) if isinstance(k, int | np.integer) else k,
        "min_similarity": float(min_similarity),
        "radius": radius,
        "n_bits": n_bits,
        "exclude_self": ref is None,
    }
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"{neighbors_cache_key(smiles, ref, params)}.npz"
    if path.is_file():
        try:
            graph = NeighborGraph.load(path)
        except Exception as exc:  # truncated (BadZipFile), garbled, old layout: recompute
            warnings.warn(
                f"neighbour cache file {str(path)!r} is unreadable ({type(exc).__name__}: "
                f"{one_line(exc, 120)}); recomputing the neighbours and "
                "overwriting it.", CliffkitWarning, stacklevel=user_stacklevel(),
            )
            graph = None
        if graph is not None and graph.n_query == len(smiles):
            graph.params["cache_file"] = str(path)
            graph.params["cached"] = True
            return graph
    fps = compute_fingerprints(smiles, radius=radius, n_bits=n_bits, n_jobs=n_jobs)
    ref_fps = None if ref is None else compute_fingerprints(
        ref, radius=radius, n_bits=n_bits, n_jobs=n_jobs
    )
    graph = find_neighbors(
        fps, ref_fps, k=k, min_similarity=min_similarity, backend=backend,
        n_jobs=n_jobs, show_progress=show_progress,
    )
    graph.params.update(radius=radius, n_bits=n_bits)
    graph.save(path)
    graph.params["cache_file"] = str(path)
    graph.params["cached"] = False
    return graph
