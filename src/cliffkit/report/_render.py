"""Renderers: a :class:`Report` as markdown (plus PNG files) or as one self-contained HTML file."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from ..errors import MissingDependencyError
from ..utils import atomic_write_bytes, atomic_write_text
from ._report import Image, Message, Report, Section, Table

__all__ = ["render_html", "render_markdown", "write_report"]

_VERDICTS = {"holds": "holds", "fails": "not shown", "not-measured": "not measured",
             "warning": "warning", "insufficient": "insufficient seeds",
             "exploratory": "exploratory"}


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _md_items(items, depth: int, image_dir: str, lines: list[str]) -> None:
    for item in items:
        if isinstance(item, Section):
            lines += [f"{'#' * min(depth, 6)} {item.title}", ""]
            _md_items(item.items, depth + 1, image_dir, lines)
        elif isinstance(item, Message):
            verdict = _VERDICTS.get(item.level)
            prefix = f"**{verdict.upper()}**: " if verdict else ""
            lines += [f"{prefix}{item.text}", ""]
        elif isinstance(item, Table):
            if item.title:
                lines += [f"*{item.title}*", ""]
            lines.append("| " + " | ".join(_md_cell(c) for c in item.columns) + " |")
            lines.append("|" + "|".join("---" for _ in item.columns) + "|")
            for row in item.rows:
                lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
            lines.append("")
            if item.note:
                lines += [f"_{item.note}_", ""]
        elif isinstance(item, Image):
            lines += [f"![{item.title}]({image_dir}/{item.filename})", ""]
            if item.caption:
                lines += [f"_{item.caption}_", ""]


def render_markdown(report: Report, out_dir: str | os.PathLike | None = None,
                    *, image_dir: str = "images") -> str:
    """Render ``report`` as markdown; with ``out_dir``, also write ``report.md`` and the PNGs.

    Parameters
    ----------
    report : Report
    out_dir : path, optional
        Folder for ``report.md`` and ``<image_dir>/*.png`` (written atomically).
    image_dir : str, default="images"
        Sub-folder of ``out_dir`` for the PNG files, as linked from the markdown.

    Returns
    -------
    str
        The markdown text.
    """
    lines = [f"# {report.title}", "",
             f"cliffkit {report.version}, created {report.created}", ""]
    if report.meta:
        lines += ["| | |", "|---|---|"]
        lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in report.meta.items()]
        lines.append("")
    _md_items(report.sections, 2, image_dir, lines)
    text = "\n".join(lines).rstrip() + "\n"
    if out_dir is not None:
        out = Path(out_dir)
        for img in report.iter_items("image"):
            atomic_write_bytes(out / image_dir / img.filename, img.png)
        atomic_write_text(out / "report.md", text)
    return text


def render_html(report: Report, path: str | os.PathLike | None = None) -> str:
    """Render ``report`` as one self-contained HTML page (PNGs embedded as base64).

    Uses the Jinja template ``cliffkit/report/templates/report.html.j2``. With
    ``path``, the page is also written there (atomically).
    """
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - jinja2 is a core dependency
        raise MissingDependencyError(
            "HTML reports need jinja2; install it with: pip install jinja2"
        ) from exc
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cliffkit.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = env.get_template("report.html.j2")
    images = {img.filename: base64.b64encode(img.png).decode("ascii")
              for img in report.iter_items("image")}
    html = template.render(report=report, images=images, verdicts=_VERDICTS)
    if path is not None:
        atomic_write_text(path, html)
    return html


def write_report(report: Report, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``report.md`` (+ ``images/*.png``) and ``report.html`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    render_markdown(report, out)
    render_html(report, out / "report.html")
    return {"markdown": out / "report.md", "html": out / "report.html", "images": out / "images"}
