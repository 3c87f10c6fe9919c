"""Plain-text tables whose columns never touch, whatever the width of a value."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["format_number", "format_table"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]], *,
                 align: str | None = None, gap: int = 2, indent: str = "") -> list[str]:
    """Lay out ``rows`` under ``header``, each column as wide as its widest cell.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences
        Cells (converted with :class:`str`); every row has ``len(header)`` cells.
    align : str, optional
        One character per column, ``"l"`` (left) or ``"r"`` (right); default: the first
        column left, the others right.
    gap : int, default=2
        Spaces between columns (at least 1), so that two cells are never joined, e.g. an
        RMSE of ``0.157`` and an R² of ``-5140.521``.
    indent : str, default=""
        Prefix of every line.

    Returns
    -------
    list of str
        The header line, a rule of dashes, then one line per row (trailing spaces cut).

    Raises
    ------
    ValueError
        A row has the wrong number of cells, or ``align``/``gap`` is malformed (a bug).

    Examples
    --------
    >>> print("\\n".join(format_table(["group", "RMSE", "R²"], [["cliff", 0.157, -5140.521]])))
    group   RMSE         R²
    -----------------------
    cliff  0.157  -5140.521
    """
    ncol = len(header)
    align = align or ("l" + "r" * (ncol - 1))
    if len(align) != ncol or set(align) - {"l", "r"} or gap < 1:
        raise ValueError(f"format_table: bad align {align!r} or gap {gap!r} for {ncol} columns")
    cells = [[str(c) for c in header]]
    for row in rows:
        if len(row) != ncol:
            raise ValueError(f"format_table: a row has {len(row)} cells, the header {ncol}")
        cells.append([str(c) for c in row])
    width = [max(len(r[j]) for r in cells) for j in range(ncol)]
    sep = " " * gap

    def line(r: list[str]) -> str:
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, width, align, strict=True)]
        return (indent + sep.join(parts)).rstrip()

    out = [line(cells[0]), indent + "-" * (sum(width) + gap * (ncol - 1))]
    out += [line(r) for r in cells[1:]]
    return out


def format_number(value: object, digits: int = 3, *, sign: bool = False, percent: bool = False,
                  missing: str = "—") -> str:
    """``value`` rounded to ``digits`` decimals for a table or a sentence, never ``-0.000``.

    A value that rounds to zero prints as an unsigned zero (``0.000``, ``0.0%``), so a
    reader never sees a sign that the rounding made up.

    Parameters
    ----------
    value : float or None
        The number; ``None``, NaN, ±inf and anything :class:`float` cannot read print as
        ``missing``.
    digits : int, default=3
        Decimals shown (of the percentage when ``percent``).
    sign : bool, default=False
        Show ``+`` before a positive value (changes, differences).
    percent : bool, default=False
        Print ``100 * value`` followed by ``%`` (``value`` is a fraction).
    missing : str, default="—"
        The text for a missing or non-finite value.

    Returns
    -------
    str

    Examples
    --------
    >>> format_number(-0.0004), format_number(0.1234, 2), format_number(None)
    ('0.000', '0.12', '—')
    >>> format_number(-0.00049, 1, sign=True, percent=True), format_number(0.021, 1, sign=True, percent=True)
    ('0.0%', '+2.1%')
    """
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return missing
    if not math.isfinite(v):
        return missing
    if percent:
        v *= 100.0
    text = f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    if float(text) == 0.0:
        text = text.lstrip("+-")
    return text + ("%" if percent else "")


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` (e.g. an exception) on one line, whitespace runs as single spaces, cut to
    ``limit`` characters when given: for quoting a library's message inside ours.

    >>> one_line(ValueError("bad\\n  zip  file"), 7)
    'bad zip'
    """
    out = " ".join(str(text).split())
    return out if limit is None else out[:limit]
