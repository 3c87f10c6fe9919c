"""Point cliffkit's warnings at the caller's code, not at cliffkit's."""

from __future__ import annotations

import inspect
import os

#: The installed package's folder (``.../cliffkit``); frames below it are cliffkit's own.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_stacklevel() -> int:
    """The ``stacklevel`` for :func:`warnings.warn` that names the first frame outside
    cliffkit: the user's line that called into the package, whatever the depth of the
    call inside it (the approach of pandas' ``find_stack_level``).

    Returns
    -------
    int
        ≥ 1; 1 is the function that calls ``warnings.warn`` (when called from outside
        cliffkit, e.g. a test).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("note", UserWarning, stacklevel=user_stacklevel())
    >>> w[0].filename.endswith("_warnings.py")  # this doctest is outside the package code
    False
    """
    frame = inspect.currentframe()
    level = 0
    try:
        frame = frame.f_back if frame else None  # the function that will call warnings.warn
        while frame is not None:
            level += 1
            path = os.path.abspath(frame.f_code.co_filename)
            if not path.startswith(_PACKAGE_DIR + os.sep):
                return level
            frame = frame.f_back
    finally:
        del frame
    return max(level, 1)
