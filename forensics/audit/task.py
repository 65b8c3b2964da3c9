"""What a worker does with one file: scan it, check custody, and return a compact outcome.

A worker keeps one :class:`FileAnalyser` (so one :class:`~forensics.scan.Scanner`) for
its whole life (models load once per worker) and returns plain data: a summary row for the ledger and, when asked,
the per-file JSON and HTML documents. Nothing here touches the ledger or the audit
folder, so the same function serves a local process pool and a Ray cluster.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forensics.analyzers import registry
from forensics.analyzers.base import Evidence, Severity
from forensics.audit.custody import file_facts, sha256_file
from forensics.audit.deadline import FileTimeout, deadline
from forensics.classifier import load_default_combiner
from forensics.media import MediaLimits
from forensics.scan import Scanner, ScanReport
from forensics.verdict import RuleCombiner

THUMB_SIDE = 96  # pixels, long side of the thumbnails of the audit table
_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


@dataclass(frozen=True)
class Task:
    """One file to analyse: its ledger ``key``, its ``path`` and the SHA-256 taken at discovery."""

    key: str
    path: str
    sha256_before: str | None
    file_reports: bool = True


@dataclass
class Outcome:
    """What a worker sends back for one file.

    Attributes:
        key: the task's ledger key.
        row: JSON-serialisable summary (verdict, per-analyzer scores and key finding, custody, error).
        report_json: the per-file JSON document (``report_to_dict``), if per-file reports were asked.
        report_html: the per-file self-contained HTML page, if asked and the file could be read.
        thumbnail: a small JPEG of the picture (first frame of a clip), ``None`` for errors.
    """

    key: str
    row: dict[str, Any]
    report_json: str | None = None
    report_html: str | None = None
    thumbnail: bytes | None = None


class FileAnalyser:
    """One worker's engine: a scanner built once (models load once) and the identity of its model.

    Args:
        analyzers: analyzer names (``None``: every registered analyzer; ``[]``: none).
        limits: media size limits.
        timeout_s: wall-clock limit of one file's analysis, in seconds (``None``: none); see
            :mod:`forensics.audit.deadline`.

    The combiner is the shipped trained models when there are some (their model files are hashed
    for the custody record), else the documented rule combiner.
    """

    def __init__(
        self, analyzers: list[str] | None = None, limits: MediaLimits | None = None, timeout_s: float | None = None
    ) -> None:
        self.timeout_s = timeout_s
        trained = load_default_combiner()  # scikit-learn and skops load only if a model is shipped
        self.model_files: dict[str, str] = {}  # verdict model name -> SHA-256 of its model file
        if trained is not None:
            from forensics.classifier.bundle import MODEL_FILE

            self.model_files = {m.name: sha256_file(m.folder / MODEL_FILE) for m in trained.members if m.folder}
        chosen = [] if analyzers == [] else registry.create_all(analyzers)  # create_all([]) would mean "all"
        self.scanner = Scanner(chosen, trained or RuleCombiner(), limits)

    def model_sha256(self, model: str | None) -> str | None:
        """SHA-256 of the model file behind verdict model ``model`` (``None`` for a rule, which has no file)."""
        return self.model_files.get(model or "")

    def analyse(self, task: Task) -> Outcome:
        """Scan one file and build its outcome (see :func:`analyse`)."""
        return analyse(self, task)


def _key_finding(ev: Evidence) -> str:
    """The one sentence that best sums up an analyzer's result: its most severe pointed finding."""
    if ev.status != "ok":
        return f"{ev.status}: {ev.reason}"
    pointed = [f for f in ev.findings if f.direction != "neutral"] or list(ev.findings)
    if not pointed:
        return ""
    top = max(pointed, key=lambda f: _SEVERITY_RANK[f.severity])
    return f"[{top.severity.value}] {top.message}"


def _analyzers_row(report: ScanReport) -> list[dict[str, Any]]:
    return [
        {
            "analyzer": ev.analyzer,
            "version": ev.version,
            "status": ev.status,
            "score": ev.score,
            "key_finding": _key_finding(ev),
        }
        for ev in report.evidence
    ]


def summarise(report: ScanReport, analyser: FileAnalyser) -> dict[str, Any]:
    """The audit row of one scan report (custody fields are added by :func:`analyse`)."""
    v = report.verdict
    media = report.media or {}
    return {
        "path": report.path,
        "status": "error" if report.error else "done",
        "label": v.label if v else None,
        "p_synthetic": v.p_synthetic if v else None,
        "basis": v.basis if v else None,
        "model": v.model if v else None,
        "model_sha256": analyser.model_sha256(v.model) if v else None,
        "error_code": report.error["code"] if report.error else None,
        "error_message": report.error["message"] if report.error else None,
        "kind": media.get("kind"),
        "format": media.get("format"),
        "width": media.get("width"),
        "height": media.get("height"),
        "tool_version": report.tool_version,
        "analysed_at": report.scanned_at,
        "elapsed_s": round(report.elapsed_s, 4),
        "analyzers": _analyzers_row(report),
    }


def _custody(task: Task, report: ScanReport, before: os.stat_result | None) -> dict[str, Any]:
    """Hashes and file facts before and after the analysis, and whether they all agree."""
    path = Path(task.path)
    try:
        after_st = path.stat()
        sha_after: str | None = sha256_file(path)
    except OSError:
        after_st, sha_after = None, None
    analysed = report.sha256
    unchanged = (
        before is not None
        and after_st is not None
        and (before.st_size, before.st_mtime_ns) == (after_st.st_size, after_st.st_mtime_ns)
    )
    hashes_agree = task.sha256_before is not None and task.sha256_before == sha_after
    if analysed is not None:
        hashes_agree = hashes_agree and analysed == task.sha256_before
    return {
        "sha256_before": task.sha256_before,
        "sha256_analysed": analysed,
        "sha256_after": sha_after,
        **(file_facts(before) if before is not None else {"size": None, "mtime": None, "ctime": None}),
        "custody_ok": bool(unchanged and hashes_agree),
    }


def analyse(analyser: FileAnalyser, task: Task) -> Outcome:
    """Scan one file and build its outcome. Never raises: an unexpected failure or a timeout is an error row."""
    try:
        with deadline(analyser.timeout_s):
            return _analyse(analyser, task)
    except FileTimeout as exc:
        return error_outcome(task, "timeout", str(exc))


def _analyse(analyser: FileAnalyser, task: Task) -> Outcome:
    try:
        try:
            before = os.stat(task.path)
        except OSError:
            before = None
        report = analyser.scanner.scan(task.path, keep_media=True)  # the pixels make the thumbnail and figures
        row = summarise(report, analyser) | _custody(task, report, before)
        outcome = Outcome(task.key, row)
        # matplotlib and jinja load in the workers only, not in the driver
        from forensics.report.figures import thumbnail_jpeg
        from forensics.report.html import render_html
        from forensics.report.serialize import report_to_dict

        if task.file_reports:
            outcome.report_json = json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)
            outcome.report_html = render_html(report)
        if report.loaded is not None:
            outcome.thumbnail = thumbnail_jpeg(report.loaded.image, THUMB_SIDE, quality=70)
        return outcome
    except Exception as exc:  # a bug on one file must leave an error row, not stop the audit
        outcome = error_outcome(task, "internal", f"{type(exc).__name__}: {exc}")
        outcome.row["traceback"] = traceback.format_exc(limit=8)
        return outcome


def error_outcome(task: Task, code: str, message: str) -> Outcome:
    """An error row for a file whose analysis failed outside the analyzers' guarantees."""
    row = {"path": task.path, "status": "error", "error_code": code, "error_message": message,
           "sha256_before": task.sha256_before}
    return Outcome(task.key, row)
