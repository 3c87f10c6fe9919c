"""The one cache-folder resolver of cliffkit."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """The cache folder: ``$CLIFFKIT_CACHE_DIR`` if set, else the user cache folder.

    The user cache folder comes from platformdirs (``~/.cache/cliffkit`` on Linux).
    Datasets, conformers and the reference graphs live at the top; ``parts`` name a
    sub-folder (``cache_dir("neighbors")`` for neighbour graphs). Nothing is created.

    Examples
    --------
    >>> cache_dir("neighbors").parent == cache_dir()
    True
    """
    env = os.environ.get("CLIFFKIT_CACHE_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_cache_dir("cliffkit", appauthor=False))
    return root.joinpath(*parts)
