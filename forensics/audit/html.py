"""The audit's self-contained HTML report (``report.html``), streamed from the ledger.

Summary counts by verdict, a histogram of scores, a sortable table (thumbnails embedded
as data URIs; flagged and uncertain first) with each analyzer's key finding and a link to
the file's detailed report, then the errors and the skipped entries with their reasons.
The page is written chunk by chunk (Jinja ``generate``): memory does not grow with the audit.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from forensics import __version__
from forensics.atomic import atomic_writer
from forensics.audit.ledger import Ledger
from forensics.audit.outputs import ranked
from forensics.verdict import UNCERTAIN_BAND, label_for

REPORT_HTML = "report.html"


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("forensics.audit", "templates"), autoescape=select_autoescape())
    env.filters["pct"] = lambda p: "n/a" if p is None else f"{100 * p:.1f}%"
    return env


def _with_thumbnails(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        thumb = row.pop("thumbnail", None)
        row["thumbnail_uri"] = f"data:image/jpeg;base64,{base64.b64encode(thumb).decode('ascii')}" if thumb else None
        yield row


def _histogram_bars(bins: list[int], width: int = 420, height: int = 140, margin: int = 12) -> list[dict[str, Any]]:
    """SVG geometry of the score bins (0-10% ... 90-100%), coloured by the verdict at each bin's centre."""
    top = max(bins) or 1
    step = width / len(bins)
    bars = []
    for i, n in enumerate(bins):
        h = height * n / top
        band = label_for((i + 0.5) / len(bins))  # the verdict at the bin's centre
        bars.append({"x": margin + i * step + 2, "y": height - h, "w": step - 4, "h": h, "n": n, "band": band,
                     "range": f"{i * 10}-{(i + 1) * 10}%"})
    return bars


def write_html_report(ledger: Ledger, out_dir: Path) -> Path:
    """Render ``report.html`` in the audit folder and return its path."""
    summary = ledger.summary()
    runs = ledger.runs()
    template = _environment().get_template("audit.html")
    stream = template.generate(
        version=__version__,
        case_id=ledger.meta("case_id"),
        created_at=ledger.meta("created_at"),
        runs=runs,
        summary=summary,
        band=UNCERTAIN_BAND,
        bars=_histogram_bars(summary["histogram"]),
        rows=_with_thumbnails(ranked(ledger, with_thumbnails=True, states=("done",))),
        errors=ranked(ledger, states=("error",)),
        skipped=ledger.skipped(),
    )
    path = out_dir / REPORT_HTML
    with atomic_writer(path, encoding="utf-8") as fh:
        fh.writelines(stream)
    return path
