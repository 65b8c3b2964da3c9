"""The one interface every analyzer implements and the one result it returns.

An analyzer is pure library code: it receives a decoded :class:`~forensics.media.Media`
and returns :class:`Evidence`. It knows nothing of the CLI, of report formats
or of the classifier. Figures are returned as data (arrays, series) and drawn
by the report layer.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

if TYPE_CHECKING:
    from forensics.media import Media


class Severity(str, Enum):
    """How much weight a finding carries, from a plain fact to proof."""

    INFO = "info"  # a neutral fact (format, camera model)
    LOW = "low"  # weak hint
    MEDIUM = "medium"  # worth a human look
    HIGH = "high"  # strong evidence
    DECISIVE = "decisive"  # explicit declaration: C2PA AI assertion, generation parameters, watermark


Direction = Literal["synthetic", "authentic", "neutral"]


@dataclass(frozen=True)
class Finding:
    """One sentence for a journalist, with a machine-readable code.

    ``direction`` says which way the finding points: towards a synthetic edit,
    towards an authentic capture, or neither.
    """

    code: str
    message: str
    severity: Severity = Severity.INFO
    direction: Direction = "neutral"


@dataclass
class Figure:
    """Base of every picture an analyzer hands to the report layer."""

    name: str
    title: str
    caption: str = ""


@dataclass
class Heatmap(Figure):
    """A 2-D float map (H x W), e.g. local residual inconsistency; higher = more suspicious."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((1, 1), np.float32))
    overlay: bool = True  # draw over the image rather than alone
    vmin: float | None = None
    vmax: float | None = None


@dataclass
class Picture(Figure):
    """An RGB image (H x W x 3, uint8), e.g. a log spectrum or a video frame thumbnail."""

    data: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3), np.uint8))


@dataclass
class LinePlot(Figure):
    """One or more series over a shared x axis (e.g. a radial spectrum, a score over time)."""

    x: list[float] = field(default_factory=list)
    series: dict[str, list[float]] = field(default_factory=dict)
    xlabel: str = ""
    ylabel: str = ""
    log_y: bool = False


Status = Literal["ok", "unavailable", "error"]


@dataclass
class Evidence:
    """What one analyzer found in one file.

    Attributes:
        analyzer: registry name of the analyzer.
        version: analyzer version; cached features are keyed by it.
        status: ``ok``; ``unavailable`` (not applicable, missing weights: ``reason`` says why);
            ``error`` (the analyzer failed on this file: ``reason`` holds the error).
        features: named numeric features. For analyzers with ``signal = True`` these feed the
            classifier; ``nan`` marks a feature that could not be computed.
        findings: human-readable findings.
        figures: heatmaps, pictures and plots for the report.
        details: structured, JSON-serialisable facts (e.g. parsed generation parameters).
        score: the analyzer's own suspicion in [0, 1] (1 = synthetic), or ``None`` if it has none.
        signal: copied from the analyzer: whether ``features`` are classifier inputs.
        elapsed_s: wall time of the analysis in seconds.
    """

    analyzer: str
    version: str
    signal: bool = True
    status: Status = "ok"
    reason: str | None = None
    features: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    score: float | None = None
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        if self.score is not None and not (0.0 <= self.score <= 1.0 and math.isfinite(self.score)):
            raise ValueError(f"{self.analyzer}: score must be in [0, 1], got {self.score}")


FLAT_REASON = "the picture is blank (every channel within 2 levels): no texture for pixel analysis to measure"
PALETTE_REASON = ("the picture has at most 256 colours (a palette GIF or PNG, bi-level or posterized): quantising "
                  "the colours replaced the noise and decoder traces that pixel analysis measures")


class AnalyzerUnavailable(Exception):
    """Raised by an analyzer that cannot run on this file or this machine (the report says why)."""


class Analyzer(ABC):
    """Base class of all analyzers.

    Subclasses set ``name``, ``version``, ``media_kinds`` and ``signal`` and implement
    :meth:`analyze`. They should raise :class:`AnalyzerUnavailable` when they cannot
    apply (wrong media kind, missing weights); :meth:`run` turns that, and any other
    exception, into an :class:`Evidence` so a batch never crashes. Signal analyzers are
    not run on a blank picture: any score they gave it would be an artefact (an autoencoder
    rebuilds a flat image perfectly, which reads as "synthetic"). Nor on a palette picture:
    its dithering is unlike anything the models learned (as GIFs, 10 of 79 camera photos read "synthetic").
    """

    name: ClassVar[str]
    version: ClassVar[str]
    description: ClassVar[str] = ""
    media_kinds: ClassVar[tuple[str, ...]] = ("image",)
    #: True if ``features`` are pixel-signal evidence for the classifier; False for
    #: metadata, whose facts must stay separate so the classifier cannot learn shortcuts.
    signal: ClassVar[bool] = True
    #: False for an analyzer too slow to run on every file whose features no shipped model reads: scans and audits
    #: leave it out unless it is named (:func:`forensics.analyzers.registry.default_names`).
    by_default: ClassVar[bool] = True

    @abstractmethod
    def analyze(self, media: Media) -> Evidence:
        """Analyze one decoded file and return its evidence."""

    def run(self, media: Media) -> Evidence:
        """Analyze with the framework's guarantees: never raises, always timed."""
        start = time.perf_counter()
        if media.kind not in self.media_kinds:
            evidence = self._evidence("unavailable", f"not applicable to {media.kind} files")
        else:
            try:
                if self.signal and media.kind == "image":
                    if media.is_flat:
                        raise AnalyzerUnavailable(FLAT_REASON)
                    if media.is_palette:
                        raise AnalyzerUnavailable(PALETTE_REASON)
                evidence = self.analyze(media)
            except AnalyzerUnavailable as exc:
                evidence = self._evidence("unavailable", str(exc))
            except Exception as exc:  # one bad file must not stop a batch
                evidence = self._evidence("error", f"{type(exc).__name__}: {exc}")
        evidence.elapsed_s = time.perf_counter() - start
        return evidence

    def _evidence(self, status: Status, reason: str) -> Evidence:
        return self.new_evidence(status=status, reason=reason)

    def new_evidence(self, **kwargs: Any) -> Evidence:
        """An :class:`Evidence` already stamped with this analyzer's name, version and signal flag."""
        return Evidence(analyzer=self.name, version=self.version, signal=self.signal, **kwargs)
