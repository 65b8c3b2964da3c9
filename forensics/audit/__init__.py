"""Batch audits of evidence folders: discovery, deduplication, parallel analysis, custody, reports.

>>> from forensics.audit import AuditConfig, run_audit           # doctest: +SKIP
>>> summary = run_audit(AuditConfig(roots=[Path("leak")], out_dir=Path("audit")))  # doctest: +SKIP

The audit folder holds ``ledger.sqlite`` (the resumable record), ``results.csv``,
``results.jsonl``, ``report.html``, ``audit.json``, per-file reports in ``files/`` and
``SHA256SUMS``, the manifest of every output.
"""

from forensics.audit.custody import verify_manifest
from forensics.audit.ledger import CaseMismatch, Ledger
from forensics.audit.runner import AuditConfig, AuditError, AuditSummary, run_audit

__all__ = ["AuditConfig", "AuditError", "AuditSummary", "CaseMismatch", "Ledger", "run_audit", "verify_manifest"]
