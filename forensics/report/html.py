"""Self-contained HTML report: images and plots embedded as data URIs, no external assets."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cache

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape

from forensics import __version__
from forensics.report.figures import THUMB_SIDE, figure_png, thumbnail_jpeg
from forensics.report.serialize import report_to_dict
from forensics.scan import ScanReport


@cache
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("forensics.report", "templates"), autoescape=select_autoescape())
    env.filters["pct"] = lambda p: "n/a" if p is None else f"{100 * p:.1f}%"
    return env


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _preview(report: ScanReport) -> np.ndarray | None:
    """The scanned picture (first frame for video), downscaled for embedding; None if not kept."""
    if report.loaded is None:
        return None
    rgb = report.loaded.image
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / (2 * THUMB_SIDE))))
    return rgb[::step, ::step]  # cheap pre-shrink; figure code resizes further


def _section(report: ScanReport) -> dict:
    doc = report_to_dict(report)
    base = _preview(report)
    doc["thumbnail"] = _data_uri("image/jpeg", thumbnail_jpeg(base)) if base is not None else None
    for ev_doc, ev in zip(doc["evidence"], report.evidence, strict=True):
        for fig_doc, fig in zip(ev_doc["figures"], ev.figures, strict=True):
            fig_doc["src"] = _data_uri("image/png", figure_png(fig, base))
        ev_doc["features_sorted"] = sorted(ev_doc["features"].items())
    return doc


def render_html(reports: ScanReport | Sequence[ScanReport]) -> str:
    """One HTML page for one or several scanned files.

    Scan with ``Scanner.scan(path, keep_media=True)`` so the page can show the picture
    and overlay heatmaps on it; without the media it shows the figures alone.
    """
    if isinstance(reports, ScanReport):
        reports = [reports]
    sections = [_section(r) for r in reports]
    return _environment().get_template("report.html").render(reports=sections, version=__version__)
