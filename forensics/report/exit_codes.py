"""Documented process exit codes of ``forensics scan``."""

from __future__ import annotations

from collections.abc import Iterable

from forensics.scan import ScanReport

NO_SYNTHETIC_EVIDENCE = 0
SYNTHETIC = 1
UNCERTAIN = 2
FILE_ERROR = 3


def exit_code(reports: Iterable[ScanReport]) -> int:
    """The exit code for a set of scanned files.

    3 if any file could not be analysed; else 1 if any is synthetic; else 2 if any
    is uncertain; else 0.
    """
    labels = set()
    for report in reports:
        if report.error is not None or report.verdict is None:
            return FILE_ERROR
        labels.add(report.verdict.label)
    if "synthetic" in labels:
        return SYNTHETIC
    if "uncertain" in labels:
        return UNCERTAIN
    return NO_SYNTHETIC_EVIDENCE
