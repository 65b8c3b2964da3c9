"""Metadata and provenance: what the file says about its own origin.

One analyzer over focused readers: EXIF (:mod:`.exif`), XMP/IPTC (:mod:`.xmp`), video container tags
(:mod:`.container_tags`), generation parameters (:mod:`.generation_params` with the A1111, ComfyUI, InvokeAI,
Fooocus, NovelAI, SwarmUI, Draw Things and stealth parsers), C2PA (:mod:`.c2pa_reader`), Stable Diffusion
invisible watermarks (:mod:`.watermark`), China's implicit AIGC label (:mod:`.aigc_label`) and JPEG structure
(:mod:`.jpeg_structure`).

``signal = False``: metadata is trivially stripped or copied, so its facts must never become
classifier features (a model would learn "no EXIF = fake"). Explicit declarations of generation
are reported as ``DECISIVE`` findings, which the verdict layer honours directly.
"""

from __future__ import annotations

from collections.abc import Callable

from forensics.analyzers.base import Analyzer, Evidence, Finding, Severity
from forensics.analyzers.metadata.aigc_label import read_aigc_label
from forensics.analyzers.metadata.c2pa_reader import read_c2pa
from forensics.analyzers.metadata.container_tags import read_container_tags
from forensics.analyzers.metadata.exif import read_exif
from forensics.analyzers.metadata.generation_params import read_generation
from forensics.analyzers.metadata.jpeg_structure import read_jpeg
from forensics.analyzers.metadata.readout import Readout, clip_text
from forensics.analyzers.metadata.watermark import read_watermark
from forensics.analyzers.metadata.xmp import read_xmp
from forensics.media import Media

__all__ = ["MetadataAnalyzer"]


class MetadataAnalyzer(Analyzer):
    """Reads every metadata and provenance source of a still, animation or video.

    Options:
        watermark: decode Stable Diffusion invisible watermarks, turned, resized or cropped too (stills; ~0.3 s
            an image).
    """

    name = "metadata"
    version = "1.2"
    description = ("EXIF, XMP/IPTC, generation parameters, C2PA, SD/FLUX invisible watermarks, AIGC label, "
                   "JPEG structure")
    media_kinds = ("image", "video")
    signal = False

    def __init__(self, watermark: bool = True) -> None:
        self.watermark = watermark

    def _readers(self, media: Media) -> dict[str, Callable[[], Readout]]:
        readers: dict[str, Callable[[], Readout]] = {
            "c2pa": lambda: read_c2pa(media),
            "generation": lambda: read_generation(media),
            "xmp": lambda: read_xmp(media),
            "aigc_label": lambda: read_aigc_label(media),
        }
        if media.video is not None:
            readers["container_tags"] = lambda: read_container_tags(media)
        if media.pil is not None:
            readers["exif"] = lambda: read_exif(media)
            readers["jpeg"] = lambda: read_jpeg(media)
            if self.watermark and media.kind == "image":
                readers["watermark"] = lambda: read_watermark(media.image)
        return readers

    def analyze(self, media: Media) -> Evidence:
        details: dict[str, object] = {}
        findings: list[Finding] = []
        features: dict[str, float] = {}
        for name, read in self._readers(media).items():
            try:
                readout = read()
            except Exception as exc:  # one broken metadata block must not hide what the others found
                details[f"{name}_error"] = clip_text(f"{type(exc).__name__}: {exc}", 300)
                findings.append(
                    Finding(f"{name}_reader_failed", f"The {name} metadata could not be read.", Severity.INFO)
                )
                continue
            details.update(readout.details)
            findings.extend(readout.findings)
            features.update(readout.features)
        if not details.keys() & {"c2pa", "generation", "xmp", "iptc", "exif", "skipped_chunks", "aigc_label",
                                  "container"}:
            findings.append(
                Finding(
                    "metadata_none", "The file carries no camera, provenance or generation metadata.", Severity.INFO
                )
            )
        order = list(Severity)
        findings.sort(key=lambda f: order.index(f.severity), reverse=True)
        return self.new_evidence(features=features, findings=findings, details=details)
