"""On-disk cache of standardised datasets (used for QM9, whose RDKit pass takes seconds).

The cache folder is ``CLIFFKIT_CACHE_DIR`` or the user cache folder from platformdirs
(``~/.cache/cliffkit`` on Linux). An entry is one ``.npz`` file (no pickle) named by a
key that covers everything the result depends on: the source file's sha256, the
RDKit version, the loader version and the loader options. Entries are written
atomically; an unreadable entry is ignored and rebuilt. Delete the folder to clear it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ..utils import atomic_write
from ..utils import cache_dir as _cache_root

__all__ = ["cache_dir", "cache_key", "read_cache", "write_cache", "pack_strings", "unpack_strings"]

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The folder that holds cached datasets (:func:`cliffkit.utils.cache_dir`)."""
    return _cache_root()


def cache_key(*parts: object) -> str:
    """A stable hex key for ``parts`` (JSON-encoded, sorted keys)."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _path(name: str, key: str) -> Path:
    return cache_dir() / f"{name}-{key}.npz"


def read_cache(name: str, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored under ``key``, or None when absent or unreadable."""
    path = _path(name, key)
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except Exception as exc:  # corrupt or truncated entry: rebuild it
        log.warning("ignoring unreadable cache entry %s (%s)", path, exc)
        return None


def write_cache(name: str, key: str, arrays: dict[str, np.ndarray]) -> Path | None:
    """Store ``arrays`` under ``key`` atomically; return the path, or None if not writable."""
    path = _path(name, key)
    try:
        with atomic_write(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as exc:
        log.warning("could not write the dataset cache %s (%s); set CLIFFKIT_CACHE_DIR", path, exc)
        return None
    return path


def pack_strings(items: list[str]) -> np.ndarray:
    """Strings without newlines as one compact uint8 array (UTF-8, newline-joined)."""
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def unpack_strings(arr: np.ndarray, n: int) -> list[str]:
    """Reverse :func:`pack_strings`; ``n`` is the expected count (checked)."""
    out = arr.tobytes().decode("utf-8").split("\n") if n else []
    if len(out) != n:
        raise ValueError(f"cache entry holds {len(out)} strings, expected {n}")
    return out
