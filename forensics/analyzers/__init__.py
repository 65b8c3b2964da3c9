"""Analyzers: one interface (:class:`Analyzer`), one result (:class:`Evidence`), one registry."""

from forensics.analyzers.base import (
    Analyzer,
    AnalyzerUnavailable,
    Evidence,
    Figure,
    Finding,
    Heatmap,
    LinePlot,
    Picture,
    Severity,
)

__all__ = [
    "Analyzer",
    "AnalyzerUnavailable",
    "Evidence",
    "Figure",
    "Finding",
    "Heatmap",
    "LinePlot",
    "Picture",
    "Severity",
]
