"""Scan one file: load it, run the analyzers, combine the evidence into a verdict.

This is the library entry point that the CLI, reports and audits share.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forensics import __version__
from forensics.analyzers import registry
from forensics.analyzers.base import Analyzer, Evidence
from forensics.classifier import load_default_combiner
from forensics.media import Media, MediaError, MediaLimits, load_media
from forensics.verdict import Combiner, RuleCombiner, Verdict


@dataclass
class ScanReport:
    """Everything known about one scanned file. ``error`` is set when it could not be analysed."""

    path: str
    sha256: str | None = None
    media: dict[str, Any] | None = None
    evidence: list[Evidence] = field(default_factory=list)
    verdict: Verdict | None = None
    error: dict[str, str] | None = None  # {"code": ..., "message": ...}
    tool_version: str = __version__
    scanned_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    elapsed_s: float = 0.0
    loaded: Media | None = field(default=None, repr=False)  # kept for report figures, not serialised


class Scanner:
    """Runs a fixed set of analyzers and a combiner over files.

    Analyzers and the combiner are created once and reused, so models load once
    per process however many files are scanned.
    """

    def __init__(
        self,
        analyzers: Sequence[Analyzer] | None = None,
        combiner: Combiner | None = None,
        limits: MediaLimits | None = None,
    ) -> None:
        # Default: every analyzer but the slow ones no shipped model reads (``registry.default_names``).
        self.analyzers = list(analyzers) if analyzers is not None else registry.create_all(registry.default_names())
        # Default: the shipped trained model (models/default); the documented rule if it is absent.
        self.combiner = combiner if combiner is not None else (load_default_combiner() or RuleCombiner())
        self.limits = limits or MediaLimits()

    def analyse(self, media: Media) -> tuple[list[Evidence], Verdict]:
        """Every analyzer's evidence on decoded media, and the combined verdict."""
        evidence = [analyzer.run(media) for analyzer in self.analyzers]
        return evidence, self.combiner.verdict(evidence)

    def scan(self, path: str | Path, keep_media: bool = False) -> ScanReport:
        """Analyse one file. Never raises for a bad file: the error goes into the report."""
        start = time.perf_counter()
        report = ScanReport(path=str(path))
        try:
            media = load_media(path, self.limits)
        except MediaError as exc:
            report.error = {"code": exc.code, "message": exc.message}
        else:
            report.sha256 = media.sha256
            report.media = media.describe()
            report.evidence, report.verdict = self.analyse(media)
            if keep_media:
                report.loaded = media
        report.elapsed_s = time.perf_counter() - start
        return report
