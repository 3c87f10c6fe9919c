"""Turn nested containers of numpy values into plain JSON-serialisable Python."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def to_jsonable(
    obj: Any,
    *,
    float_fn: Callable[[float], Any] = float,
    hook: Callable[[Any], Any] | None = None,
) -> Any:
    """Recursively convert dicts, lists, tuples, arrays and numpy scalars to plain Python.

    Parameters
    ----------
    obj : Any
        The object to convert. Dict keys become ``str``.
    float_fn : callable, default=float
        Applied to every float (Python or numpy), e.g. to round or to map NaN to None.
    hook : callable, optional
        Called first on every object; a return value other than ``NotImplemented`` is used
        as is (e.g. ``Estimate.to_dict()``).
    """
    if hook is not None:
        out = hook(obj)
        if out is not NotImplemented:
            return out
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, float_fn=float_fn, hook=hook) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v, float_fn=float_fn, hook=hook) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), float_fn=float_fn, hook=hook)
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float_fn(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
