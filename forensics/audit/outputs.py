"""Tabular outputs of an audit, regenerated from the ledger: ``results.csv``, ``results.jsonl``, ``audit.json``.

One row per distinct file content, flagged and uncertain first, errors last. Rows are
streamed from the ledger, never held all at once.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forensics.atomic import atomic_writer
from forensics.audit.ledger import Ledger

RESULTS_CSV = "results.csv"
RESULTS_JSONL = "results.jsonl"
AUDIT_JSON = "audit.json"

_COLUMNS = [
    "rank", "path", "duplicates", "status", "label", "p_synthetic", "basis", "model", "model_sha256",
    "error_code", "error_message", "kind", "format", "width", "height", "size", "mtime", "ctime",
    "sha256_before", "sha256_analysed", "sha256_after", "custody_ok", "tool_version", "analyzer_versions",
]
_TRAILING = ["key_findings", "analysed_at", "elapsed_s", "run_id", "case_id", "operator", "note",
             "report_json", "report_html"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def analyzer_columns(ledger: Ledger) -> list[str]:
    """Names of every analyzer any run of this audit used, in first-use order."""
    names: dict[str, None] = {}
    for run in ledger.runs():
        names.update(dict.fromkeys(run.get("analyzers", {})))
    return list(names)


def ranked(ledger: Ledger, with_thumbnails: bool = False, states: tuple[str, ...] = ("done", "error")
           ) -> Iterator[dict[str, Any]]:
    """The ledger's finished rows in report order, each with its 1-based ``rank``."""
    for rank, row in enumerate(ledger.results(states, with_thumbnails), start=1):
        row["rank"] = rank
        yield row


def _cell(value: Any) -> Any:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(row: dict[str, Any], analyzers: list[str]) -> list[Any]:
    per = {a["analyzer"]: a for a in row.get("analyzers", [])}
    flat = dict(row)
    flat["duplicates"] = ";".join(row.get("duplicates", []))
    flat["analyzer_versions"] = ";".join(f"{a['analyzer']}={a['version']}" for a in per.values())
    flat["key_findings"] = " | ".join(
        f"{a['analyzer']}: {a['key_finding']}" for a in per.values() if a.get("key_finding")
    )
    scores = [per.get(name, {}).get("score") for name in analyzers]
    return [_cell(flat.get(c)) for c in _COLUMNS] + scores + [_cell(flat.get(c)) for c in _TRAILING]


def _replace(path: Path, write: Any) -> None:
    with atomic_writer(path, encoding="utf-8", newline="") as fh:
        write(fh)


def write_results(ledger: Ledger, out_dir: Path) -> None:
    """Write ``results.csv`` (one score column per analyzer) and ``results.jsonl``."""
    analyzers = analyzer_columns(ledger)

    def csv_body(fh: Any) -> None:
        writer = csv.writer(fh)
        writer.writerow(_COLUMNS + [f"score.{a}" for a in analyzers] + _TRAILING)
        for row in ranked(ledger):
            writer.writerow(_csv_row(row, analyzers))

    def jsonl_body(fh: Any) -> None:
        for row in ranked(ledger):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")

    _replace(out_dir / RESULTS_CSV, csv_body)
    _replace(out_dir / RESULTS_JSONL, jsonl_body)


def write_audit_json(ledger: Ledger, out_dir: Path) -> None:
    """Write ``audit.json``: the case, every run (operator, note, analyzers, timing, memory) and the totals."""
    doc = {
        "case_id": ledger.meta("case_id"),
        "created_at": ledger.meta("created_at"),
        "ledger_schema_version": ledger.meta("schema_version"),
        "runs": ledger.runs(),
        "totals": ledger.summary(),
        "skipped": [{"path": p, "reason": r} for p, r in ledger.skipped()],
    }
    _replace(out_dir / AUDIT_JSON, lambda fh: json.dump(doc, fh, indent=2, ensure_ascii=False))
