"""The versioned JSON form of a :class:`~forensics.scan.ScanReport`.

The structure is specified by ``scan-report.schema.json`` beside this module
(JSON Schema, draft 2020-12). Non-finite numbers become ``null``; heatmaps and
pictures are referenced by name only (the HTML report embeds them).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from forensics.analyzers.base import Evidence, Figure, Heatmap, LinePlot, Picture
from forensics.scan import ScanReport

SCHEMA_ID = "forensics.scan-report"
SCHEMA_VERSION = "1.0"


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and non-finite floats into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return _finite(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _figure_to_dict(fig: Figure) -> dict[str, Any]:
    kind = {Heatmap: "heatmap", Picture: "picture", LinePlot: "line"}.get(type(fig), "figure")
    out: dict[str, Any] = {"name": fig.name, "kind": kind, "title": fig.title, "caption": fig.caption}
    if isinstance(fig, LinePlot):
        out.update(x=jsonable(fig.x), series=jsonable(fig.series), xlabel=fig.xlabel, ylabel=fig.ylabel)
    return out


def evidence_to_dict(ev: Evidence) -> dict[str, Any]:
    return {
        "analyzer": ev.analyzer,
        "version": ev.version,
        "status": ev.status,
        "reason": ev.reason,
        "signal": ev.signal,
        "score": _finite(ev.score),
        "features": {k: _finite(v) for k, v in ev.features.items()},
        "findings": [
            {"code": f.code, "message": f.message, "severity": f.severity.value, "direction": f.direction}
            for f in ev.findings
        ],
        "details": jsonable(ev.details),
        "figures": [_figure_to_dict(f) for f in ev.figures],
        "elapsed_s": round(ev.elapsed_s, 4),
    }


def report_to_dict(report: ScanReport) -> dict[str, Any]:
    """The JSON document for one file (see ``scan-report.schema.json``)."""
    verdict = None
    if report.verdict is not None:
        v = report.verdict
        verdict = {**asdict(v), "band": list(v.band), "authenticity": v.authenticity}
        verdict["p_synthetic"] = _finite(v.p_synthetic)
    return {
        "schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "img2img-forensics", "version": report.tool_version},
        "file": {"path": report.path, "sha256": report.sha256},
        "media": jsonable(report.media),
        "verdict": verdict,
        "evidence": [evidence_to_dict(ev) for ev in report.evidence],
        "error": report.error,
        "scanned_at": report.scanned_at,
        "elapsed_s": round(report.elapsed_s, 4),
    }


def dumps(reports: list[ScanReport], indent: int | None = 2) -> str:
    """One report as a JSON object, several as a JSON array."""
    docs = [report_to_dict(r) for r in reports]
    return json.dumps(docs[0] if len(docs) == 1 else docs, indent=indent, ensure_ascii=False, allow_nan=False)


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of one report document."""
    text = resources.files("forensics.report").joinpath("scan-report.schema.json").read_text("utf-8")
    return json.loads(text)
