"""Atomic file writes: write to a temporary file in the same folder, then rename.

An interrupted run never leaves a half-written output: the target either holds
its old content (or does not exist) or the complete new content. The temporary file
is created with mode ``0o666`` filtered by the process umask, so the final file gets
the permissions of any newly created file (``tempfile.mkstemp`` would force ``0o600``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file next to ``path``; on success rename it onto ``path``.

    Parameters
    ----------
    path : path-like
        Final destination. Parent folders are created.
    mode : {"w", "wb"}
        Text or binary.
    **open_kwargs
        Passed to :func:`open` (``encoding``, ``newline`` ...).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb'; got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_temp(path: Path) -> tuple[int, str]:
    """A new, exclusive temporary file next to ``path``, mode 0o666 minus the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as exc:  # name the file the caller asked for, not our temporary one
            raise type(exc)(exc.errno, exc.strerror, str(path)) from exc
    raise FileExistsError(f"could not create a temporary file next to {path}")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` newlines) to ``path`` atomically."""
    with atomic_write(path, "w", newline="\n") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def refuse_input_as_output(output: str | os.PathLike | None, inputs: dict,
                           option: str = "-o") -> None:
    """Refuse to write ``output`` when it is one of the inputs (the same file on disk).

    A split, weights or predictions file written over the data file it was made from
    destroys the user's data (``cliffkit split data.csv -o data.csv``).

    Parameters
    ----------
    output : path-like or None
        The file about to be written (None: nothing to check).
    inputs : dict of {str: path-like or None}
        What each input is ("data file", "split file" ...) and its path; None and paths
        that do not exist (a registered dataset's name) are skipped.
    option : str
        The option that named ``output``, for the message.

    Raises
    ------
    cliffkit.errors.InvalidParameterError
        ``output`` is the same file as one of ``inputs``.
    """
    if output is None:
        return
    out = Path(output)
    if not out.is_file():
        return
    for what, path in inputs.items():
        if path is None or not Path(path).is_file():
            continue
        if os.path.samefile(out, path):
            from ..errors import InvalidParameterError

            raise InvalidParameterError(
                f"{option} {str(output)!r} is the {what} ({str(path)!r}): writing there would "
                "replace it; choose another output path."
            )
