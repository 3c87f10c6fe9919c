"""Read a tabular source (CSV, TSV, gzip, Parquet) into strings, with one-line errors.

Every cell is read as text so that the loader, not pandas, decides what counts as
a number and can report the row of each problem. Row numbers are 1-based file
line numbers with the header on line 1 (data row ``i`` is line ``i + 2``).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidDataError, MissingColumnError
from ..utils import one_line, sha256_bytes

__all__ = ["Table", "read_table", "resolve_column"]

_PARQUET_SUFFIXES = (".parquet", ".pq")
_TSV_SUFFIXES = (".tsv", ".tab")
_MISSING = {"", "nan", "na", "n/a", "null", "none", "-", "?"}


@dataclass
class Table:
    """A source table: columns of strings, the line number of each row, provenance."""

    frame: pd.DataFrame  # all cells str or NaN
    lines: np.ndarray  # (n_rows,) int64, 1-based file line of each row (Parquet: record)
    path: str
    sha256: str
    # header names given to several columns: frame column (pandas renames the repeats
    # 'exp.1', 'exp.2') -> (the name in the file, its 1-based column positions)
    repeated: dict[str, tuple[str, list[int]]] = field(default_factory=dict)
    #: What ``lines`` count, in messages: "line" (text file, header = line 1) or
    #: "record" (Parquet, 1-based, no header line).
    row_word: str = "line"

    def check_unique(self, column: str, *, role: str) -> str:
        """Return ``column``, or raise when the file's header gives its name to several columns.

        Raises
        ------
        InvalidDataError
            Naming the file, the name, its column positions and the fix.
        """
        if column in self.repeated:
            name, where = self.repeated[column]
            raise InvalidDataError(
                f"Cannot use {role} column {name!r} of {self.path}: the header names "
                f"{len(where)} columns {name!r} (columns {', '.join(map(str, where))}), so which "
                "one holds the values is ambiguous; rename the others."
            )
        return column

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def __len__(self) -> int:
        return len(self.frame)


def _fail(path: str, what: str) -> InvalidDataError:
    return InvalidDataError(f"Cannot read {path}: {what}")


def _decompress(raw: bytes, path: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(path, f"it looks gzip-compressed but is corrupt ({exc}).") from None


_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)", "UTF-32BE"),
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16 (big-endian)", "UTF-16BE"),
    (b"\xff\xfe", "UTF-16 (little-endian)", "UTF-16LE"),
)


def _utf16_without_bom(head: bytes) -> tuple[str, str] | None:
    """UTF-16 text without a byte-order mark: NUL on every other byte of ASCII text."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "UTF-16 (little-endian)", "UTF-16LE"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "UTF-16 (big-endian)", "UTF-16BE"
    return None


def _encoding_fix(name: str, codec: str) -> str:
    return (
        f"the file is {name} text, not UTF-8; save it as UTF-8 (Excel: 'CSV UTF-8'; or "
        f"iconv -f {codec} -t UTF-8 IN > OUT)."
    )


def _decode(data: bytes, path: str) -> str:
    head = data[:65536]
    for bom, name, codec in _BOMS:
        if head.startswith(bom):
            raise _fail(path, _encoding_fix(name, codec))
    utf16 = _utf16_without_bom(head[:4096])
    if utf16 is not None:
        raise _fail(path, _encoding_fix(*utf16))
    if b"\x00" in head:
        raise _fail(
            path, "it holds binary data (NUL bytes), not CSV/TSV text; pass a CSV, TSV or Parquet file."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        try:  # the usual other encoding of spreadsheet exports on Windows
            char = bytes([byte]).decode("cp1252")
            data.decode("cp1252")
        except UnicodeDecodeError:
            raise _fail(
                path,
                f"byte 0x{byte:02x} on line {line} is not valid UTF-8 and the file is not "
                "Windows-1252 either; save the file as UTF-8 text.",
            ) from None
        raise _fail(
            path,
            f"byte 0x{byte:02x} on line {line} is not valid UTF-8; the file looks like "
            f"Windows-1252 / Latin-1 text (that byte is {char!r} there): "
            + _encoding_fix("Windows-1252", "CP1252").split("; ", 1)[1],
        ) from None
    return text


def _delimiter(header: str, suffix: str, path: str) -> str:
    """Choose the delimiter from the suffix; detect a header written with another one."""
    want = "\t" if suffix in _TSV_SUFFIXES else ","
    if want in header:
        return want
    names = {";": "semicolon", "\t": "tab", ",": "comma", "|": "pipe"}
    shown = {";": "';'", "\t": "tabs", ",": "','", "|": "'|'"}  # a tab printed as itself is invisible
    for other in (";", "\t", "|", ","):
        if other != want and other in header:
            fix = (
                "rename it to .tsv" if other == "\t"
                else "rename it to .csv" if other == ","
                else f"save it with {names[want]}s as separators"
            )
            raise _fail(
                path,
                f"the header line is one column containing {shown[other]} ({header[:60]!r}), so the file "
                f"looks {names[other]}-separated but was read as {names[want]}-separated; {fix}.",
            )
    return want


def _read_parquet(data: bytes, path: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises many types for corrupt files
        msg = " ".join(str(exc).split())[:200]
        raise _fail(path, f"it is not a valid Parquet file ({type(exc).__name__}: {msg}).") from None
    if frame.shape[1] == 0:
        raise _fail(path, "no columns were found in the Parquet file.")

    def cell(v: object) -> object:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            return np.nan  # missing, like an empty CSV cell (pd.NA: nullable Int64/Float64)
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace")
        return str(v)

    return pd.DataFrame(
        {str(c): [cell(v) for v in frame[c].tolist()] for c in frame.columns},
        index=pd.RangeIndex(len(frame)),
        dtype=object,
    )


def _read_text(text: str, path: str, suffix: str) -> tuple[pd.DataFrame, np.ndarray]:
    if text.strip() == "":
        raise _fail(path, "the file is empty; it needs a header line and at least one row.")
    # Skip leading blank lines; the first non-blank line is the header.
    lead = re.match(r"(?:[ \t]*(?:\r\n|\r|\n))*", text)
    first = len(re.findall(r"\r\n|\r|\n", lead.group(0)))
    body = text[lead.end():]
    header = re.split(r"\r\n|\r|\n", body, maxsplit=1)[0]
    sep = _delimiter(header, suffix, path)
    try:
        with warnings.catch_warnings():
            # index_col=False + this warning: a row has more fields than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(body),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                engine="c",
            )
    except pd.errors.ParserWarning:
        raise _fail(path, _too_many_fields(body, sep, first)) from None
    except pd.errors.EmptyDataError:
        raise _fail(path, "the file is empty; it needs a header line and at least one row.") from None
    except pd.errors.ParserError as exc:
        msg = " ".join(str(exc).split())
        # "Error tokenizing data. C error: Expected 3 fields in line 5, saw 4": make the line
        # number a file line number (leading blank lines were cut).
        msg = re.sub(r"in line (\d+)", lambda m: f"on line {int(m.group(1)) + first}", msg)
        raise _fail(path, f"malformed {'TSV' if sep == chr(9) else 'CSV'} ({msg}).") from None
    except (csv.Error, ValueError, UnicodeError, OverflowError) as exc:
        raise _fail(path, f"malformed text table ({one_line(exc)}).") from None
    frame.columns = [str(c) for c in frame.columns]
    frame.attrs["repeated"] = _repeated_names(header, sep, list(frame.columns))
    # With skip_blank_lines=False and no multi-line quoted fields, row i is on line i + 2.
    # Multi-line quoted fields make later rows' numbers approximate (documented).
    line_no = np.arange(len(frame), dtype=np.int64) + 2 + first
    # Blank lines (every cell empty) are not rows at all.
    if len(frame):
        blank = frame.apply(lambda col: col.isna() | (col.astype(str).str.strip() == "")).all(axis=1)
        blank = blank.to_numpy(dtype=bool)
        if blank.any():
            frame = frame.loc[~blank].reset_index(drop=True)
            line_no = line_no[~blank]
    return frame, line_no


def _repeated_names(header: str, sep: str, columns: list[str]) -> dict:
    """Header names given to several columns, keyed by pandas' names for those columns."""
    try:
        names = next(csv.reader([header], delimiter=sep))
    except (csv.Error, StopIteration):
        return {}
    if len(names) != len(columns):
        return {}
    names = [n.strip() for n in names]
    out = {}
    for name in {n for n in names if n and names.count(n) > 1}:
        where = [i + 1 for i, n in enumerate(names) if n == name]
        for i in where:
            out[columns[i - 1]] = (name, where)
    return out


def _too_many_fields(body: str, sep: str, first: int) -> str:
    try:
        rows = csv.reader(io.StringIO(body), delimiter=sep)
        header = next(rows)
        for row in rows:
            if len(row) > len(header):
                return (
                    f"line {rows.line_num + first} has {len(row)} fields but the header has "
                    f"{len(header)}; fix that row or quote fields that contain {sep!r}."
                )
    except (csv.Error, StopIteration):
        pass
    return "some rows have more fields than the header; quote fields that contain the delimiter."


def read_table(path: str | os.PathLike, *, what: str = "data file") -> Table:
    """Read ``path`` (CSV, TSV, ``.gz`` of either, or Parquet) as a table of strings.

    Raises
    ------
    InvalidDataError
        Missing, empty, binary, non-UTF-8, wrongly delimited or malformed file.
    """
    p = Path(path)
    shown = str(path)
    if not p.exists():
        raise InvalidDataError(f"{what.capitalize()} not found: {shown}; check the path.")
    if p.is_dir():
        raise InvalidDataError(f"{what.capitalize()} {shown} is a folder; pass a CSV, TSV or Parquet file.")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise _fail(shown, f"{exc.strerror or exc}.") from None
    sha = sha256_bytes(raw)
    suffixes = [s.lower() for s in p.suffixes]
    data = raw
    if raw[:2] == b"\x1f\x8b" or (suffixes and suffixes[-1] == ".gz"):
        data = _decompress(raw, shown)
        suffixes = suffixes[:-1] if suffixes and suffixes[-1] == ".gz" else suffixes
    suffix = suffixes[-1] if suffixes else ""
    if len(data) == 0:
        raise _fail(shown, "the file is empty; it needs a header line and at least one row.")
    row_word = "line"
    if suffix in _PARQUET_SUFFIXES or data[:4] == b"PAR1":
        frame = _read_parquet(data, shown)
        lines = np.arange(len(frame), dtype=np.int64) + 1  # Parquet: 1-based record number
        row_word = "record"
    else:
        frame, lines = _read_text(_decode(data, shown), shown, suffix)
    if frame.shape[1] == 0:
        raise _fail(shown, "no columns were found; it needs a header line.")
    if len(frame) == 0:
        raise _fail(shown, f"it has a header ({', '.join(frame.columns[:8])}) but no data rows.")
    repeated = frame.attrs.pop("repeated", {})
    return Table(frame=frame, lines=lines, path=shown, sha256=sha, repeated=repeated,
                 row_word=row_word)


def resolve_column(table: Table, column: str, *, role: str) -> str:
    """Return ``column`` if the table has it (exact, then case-insensitive), else raise.

    Raises
    ------
    MissingColumnError
        Naming the file, the column, the available columns and the closest one.
    InvalidDataError
        The header gives that name to several columns (:meth:`Table.check_unique`).
    """
    import difflib

    cols = table.columns
    if column in cols:
        return table.check_unique(column, role=role)
    folded = [c for c in cols if c.strip().lower() == str(column).strip().lower()]
    if len(folded) == 1:
        return table.check_unique(folded[0], role=role)
    if len(folded) > 1:
        raise MissingColumnError(
            f"{role[:1].upper() + role[1:]} column {column!r} is not in {table.path}, and "
            f"{len(folded)} columns differ from it only in case or spaces "
            f"({', '.join(map(repr, folded))}); give one of them exactly."
        )
    close = difflib.get_close_matches(str(column), cols, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(repr(c) for c in cols[:30]) + (f" and {len(cols) - 30} more" if len(cols) > 30 else "")
    raise MissingColumnError(
        f"{role[:1].upper() + role[1:]} column {column!r} is not in {table.path}; available columns: {shown}.{hint}"
    )
