"""The report as data: sections of messages, tables and images.

Filling a report and rendering it are separate. Fill it with::

    report = Report("CliffSplit on Lipophilicity")
    with report.section("Results"):
        report.add_table(frame, title="MAE per stratum")
        report.add_image(png_bytes, title="MAE per stratum")
        report.add_message("CliffLoss reduces the gap by 12%.", level="holds")

then render with :func:`render_markdown` or :func:`render_html`.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidParameterError

__all__ = ["Image", "Message", "Report", "Section", "Table"]

#: Message levels. "holds" / "fails" / "not-measured" / "insufficient" (too few seeds for a
#: test) are verdicts on a claim; "exploratory" marks a number chosen after seeing the data.
LEVELS = ("info", "note", "warning", "holds", "fails", "not-measured", "insufficient",
          "exploratory")


@dataclass
class Message:
    """A paragraph of text; ``level`` is one of :data:`LEVELS`."""

    text: str
    level: str = "info"
    kind: str = "message"


@dataclass
class Table:
    """A table of already formatted values (strings or numbers)."""

    columns: list[str]
    rows: list[list[Any]]
    title: str = ""
    note: str = ""
    kind: str = "table"


@dataclass
class Image:
    """A PNG image (bytes) with a file name used by the markdown renderer."""

    png: bytes
    filename: str
    title: str = ""
    caption: str = ""
    kind: str = "image"


@dataclass
class Section:
    """A titled list of items (messages, tables, images and nested sections)."""

    title: str
    items: list[Any] = field(default_factory=list)
    kind: str = "section"


def _format_value(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.4g}"
    if value is None:
        return "–"
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


class Report:
    """A report: title, version, timestamp, metadata and sections.

    Parameters
    ----------
    title : str
        Report title.
    meta : dict, optional
        Key/value facts shown under the title (machine, config, ...).
    """

    def __init__(self, title: str, meta: dict | None = None) -> None:
        from .._version import __version__

        self.title = title
        self.meta = dict(meta or {})
        self.version = __version__
        self.created = datetime.now(UTC).isoformat(timespec="seconds")
        self.sections: list[Section] = []
        self._stack: list[Section] = []
        self._filenames: set[str] = set()

    def __repr__(self) -> str:
        return f"Report(title={self.title!r}, n_sections={len(self.sections)})"

    # -- filling -----------------------------------------------------------------
    @contextlib.contextmanager
    def section(self, title: str) -> Iterator[Section]:
        """Open a section; items added inside the ``with`` block go into it. Sections nest."""
        sec = Section(title=title)
        if self._stack:
            self._stack[-1].items.append(sec)
        else:
            self.sections.append(sec)
        self._stack.append(sec)
        try:
            yield sec
        finally:
            self._stack.pop()

    def _current(self) -> Section:
        if not self._stack:
            if not self.sections or self.sections[-1].title != "Notes":
                self.sections.append(Section(title="Notes"))
            return self.sections[-1]
        return self._stack[-1]

    def add_message(self, text: str, level: str = "info") -> Message:
        """Add a paragraph. ``level`` is one of :data:`LEVELS`."""
        if level not in LEVELS:
            raise InvalidParameterError(
                f"The 'level' parameter of Report.add_message must be one of {LEVELS}; got {level!r}."
            )
        msg = Message(text=str(text), level=level)
        self._current().items.append(msg)
        return msg

    def add_table(
        self,
        data: Any,
        title: str = "",
        *,
        columns: Sequence[str] | None = None,
        note: str = "",
    ) -> Table:
        """Add a table from a pandas DataFrame or a list of rows (with ``columns``)."""
        if hasattr(data, "to_dict") and hasattr(data, "columns"):
            cols = [str(c) for c in data.columns]
            rows = [[_format_value(v) for v in rec] for rec in data.itertuples(index=False, name=None)]
        else:
            if columns is None:
                raise InvalidParameterError(
                    "Report.add_table needs 'columns' when 'data' is a list of rows."
                )
            cols = [str(c) for c in columns]
            rows = [[_format_value(v) for v in row] for row in data]
            for i, row in enumerate(rows):
                if len(row) != len(cols):
                    raise InvalidParameterError(
                        f"Report.add_table: row {i} has {len(row)} values for {len(cols)} columns."
                    )
        table = Table(columns=cols, rows=rows, title=title, note=note)
        self._current().items.append(table)
        return table

    def add_image(
        self,
        image: bytes | str | Path | Any,
        title: str = "",
        *,
        caption: str = "",
        filename: str | None = None,
    ) -> Image:
        """Add a PNG: bytes, a path to a ``.png`` file, or a matplotlib ``Figure``."""
        if isinstance(image, bytes | bytearray):
            png = bytes(image)
        elif isinstance(image, str | Path):
            png = Path(image).read_bytes()
        elif hasattr(image, "savefig"):
            import io

            buf = io.BytesIO()
            image.savefig(buf, format="png", dpi=110, bbox_inches="tight")
            png = buf.getvalue()
        else:
            raise InvalidParameterError(
                f"Report.add_image takes PNG bytes, a path or a matplotlib Figure; got {type(image).__name__}."
            )
        if not png.startswith(b"\x89PNG"):
            raise InvalidParameterError("Report.add_image: the image is not a PNG.")
        base = _slug(filename.rsplit(".", 1)[0] if filename else (title or "figure"))
        name, i = f"{base}.png", 2
        while name in self._filenames:
            name, i = f"{base}-{i}.png", i + 1
        self._filenames.add(name)
        img = Image(png=png, filename=name, title=title, caption=caption)
        self._current().items.append(img)
        return img

    # -- reading -----------------------------------------------------------------
    def iter_items(self, kind: str | None = None) -> Iterator[Any]:
        """Every item, depth first (optionally only one ``kind``)."""

        def walk(items):
            for item in items:
                if kind is None or item.kind == kind:
                    yield item
                if isinstance(item, Section):
                    yield from walk(item.items)

        yield from walk(self.sections)

    def to_dict(self) -> dict:
        """A JSON-able summary (images by file name, not content)."""

        def conv(item):
            if isinstance(item, Section):
                return {"kind": "section", "title": item.title, "items": [conv(i) for i in item.items]}
            if isinstance(item, Image):
                return {"kind": "image", "title": item.title, "filename": item.filename,
                        "caption": item.caption}
            if isinstance(item, Table):
                return {"kind": "table", "title": item.title, "columns": item.columns,
                        "rows": item.rows, "note": item.note}
            return {"kind": "message", "text": item.text, "level": item.level}

        return {
            "title": self.title,
            "version": self.version,
            "created": self.created,
            "meta": self.meta,
            "sections": [conv(s) for s in self.sections],
        }
