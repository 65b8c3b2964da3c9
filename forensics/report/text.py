"""Readable terminal summary of scan reports (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from forensics.analyzers.base import Severity
from forensics.scan import ScanReport

_LABEL_STYLE = {"synthetic": "bold red", "uncertain": "bold yellow", "no_synthetic_evidence": "bold green"}
_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}
_FINDINGS_SHOWN = 4


def print_report(report: ScanReport, console: Console) -> None:
    """Print one file's verdict, media facts and each analyzer's key findings."""
    console.rule(f"[bold]{escape(report.path)}")
    if report.error is not None:
        console.print(f"[bold magenta]ERROR[/] ({report.error['code']}): {escape(report.error['message'])}")
        return
    v = report.verdict
    m = report.media or {}
    console.print(f"sha256 {report.sha256}")
    facts = ", ".join(f"{k}={m[k]:.4g}" if isinstance(m[k], float) else f"{k}={m[k]}"
                      for k in ("kind", "format", "width", "height", "frames", "fps") if m.get(k))
    console.print(f"media  {escape(facts)}")
    if v is not None:
        style = _LABEL_STYLE[v.label]
        console.print(
            f"[{style}]{v.label.replace('_', ' ').upper()}[/]  p(synthetic) = {v.p_synthetic:.3f}  "
            f"(uncertain band {v.band[0]:.2f}-{v.band[1]:.2f}; model {escape(v.model)})"
        )
        console.print(f"basis  {escape(v.basis)}")
    table = Table(show_header=True, header_style="bold", expand=True)
    table.add_column("analyzer", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("key findings")
    for ev in report.evidence:
        findings = sorted(ev.findings, key=lambda f: -_SEVERITY_RANK[f.severity])[:_FINDINGS_SHOWN]
        lines = [escape(f"[{f.severity.value}] {f.message}") for f in findings]
        if ev.status != "ok" and ev.reason:
            lines.insert(0, escape(ev.reason))
        score = "" if ev.score is None else f"{ev.score:.2f}"
        table.add_row(ev.analyzer, ev.status, score, "\n".join(lines))
    console.print(table)
