"""Reports: data (:class:`Report`) kept apart from rendering (markdown, HTML).

:func:`build_report` turns a bench results table into a report with tables,
PNG figures and the "paper claims" section; :func:`render_markdown` and
:func:`render_html` (a Jinja template, images embedded) write it out.
"""

from ._bench_report import PAPER_CLAIMS, build_report, paired_stats
from ._moleculeace import PUBLISHED_SOURCE, published_moleculeace
from ._render import render_html, render_markdown, write_report
from ._report import Image, Message, Report, Section, Table

__all__ = [
    "PAPER_CLAIMS",
    "PUBLISHED_SOURCE",
    "Image",
    "Message",
    "Report",
    "Section",
    "Table",
    "build_report",
    "paired_stats",
    "published_moleculeace",
    "render_html",
    "render_markdown",
    "write_report",
]
