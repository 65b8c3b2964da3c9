"""JPEG structure: quantization tables, estimated quality, encoder family, progressive mode, APP segments.

libjpeg and everything built on it (Pillow, OpenCV, GIMP, browsers, many older cameras) write the
two example tables of the JPEG standard (Annex K) scaled by the IJG quality formula; camera
firmware and Adobe software mostly write their own tables. Matching the tables therefore tells
"generic encoder at quality Q" from "custom tables".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import Readout
from forensics.media import Media

# Annex K tables, natural (row-major) order, as Pillow reports them.
_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
], dtype=np.float64)  # fmt: skip
_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
], dtype=np.float64)  # fmt: skip
_QUALITIES = np.arange(1, 101)


def _scaled(base: np.ndarray) -> np.ndarray:
    """IJG tables for qualities 1..100 (100 x 64), with libjpeg's rounding and baseline clipping."""
    scale = np.where(_QUALITIES < 50, 5000.0 / _QUALITIES, 200.0 - 2.0 * _QUALITIES)[:, None]
    return np.clip(np.floor((base[None, :] * scale + 50.0) / 100.0), 1, 255)


_IJG = {0: _scaled(_LUMA), 1: _scaled(_CHROMA)}
_APP_NAMES = {
    (b"JFIF", "APP0"): "JFIF", (b"Exif", "APP1"): "EXIF", (b"http://ns.adobe.com/xap", "APP1"): "XMP",
    (b"http://ns.adobe.com/xmp/extension", "APP1"): "XMP extension", (b"ICC_PROFILE", "APP2"): "ICC profile",
    (b"MPF", "APP2"): "multi-picture", (b"JP", "APP11"): "JUMBF (C2PA)", (b"Photoshop", "APP13"): "Photoshop IRB",
    (b"Adobe", "APP14"): "Adobe", (b"Ducky", "APP12"): "Photoshop 'Save for Web'",
}  # fmt: skip


def quality_range(table: list[float] | np.ndarray, index: int) -> tuple[int, int, float]:
    """Lowest and highest IJG quality whose scaled standard table is closest to ``table`` (64 steps in natural
    order, NaN where a step is unknown: a partial table can fit several), and the mean absolute difference over the
    known steps; ``(0, 0, inf)`` when nothing is known."""
    values = np.asarray(table, dtype=np.float64)
    reference = _IJG[min(index, 1)]
    known = np.isfinite(values)
    if values.size != 64 or not known.any():
        return 0, 0, float("inf")
    errors = np.abs(reference[:, known] - values[None, known]).mean(axis=1)
    best = np.flatnonzero(errors == errors.min())
    return int(_QUALITIES[best[0]]), int(_QUALITIES[best[-1]]), float(errors[best[0]])


def estimate_quality(table: list[float] | np.ndarray, index: int) -> tuple[int, float]:
    """IJG quality whose scaled standard table is closest to ``table`` (the lowest of equals), and the mean absolute
    difference (see :func:`quality_range`)."""
    low, _, error = quality_range(table, index)
    return low, error


def _segment_name(marker: str, payload: bytes) -> str:
    for (prefix, app), name in _APP_NAMES.items():
        if marker == app and payload.startswith(prefix):
            return name
    return marker


def _subsampling(layers: Any) -> str | None:
    try:
        (h0, v0), others = layers[0][1:3], [tuple(layer[1:3]) for layer in layers[1:]]
    except (TypeError, IndexError, ValueError):
        return None
    if not others or any(o != (1, 1) for o in others):
        return None
    return {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}.get((h0, v0))


def read_jpeg(media: Media) -> Readout:
    """JPEG facts; empty for other formats."""
    out = Readout()
    img = media.pil
    if img is None or media.format != "JPEG":
        return out
    tables = {int(k): [int(v) for v in t] for k, t in (getattr(img, "quantization", None) or {}).items()}
    estimates = {k: estimate_quality(t, k) for k, t in tables.items()}
    exact = bool(estimates) and all(err == 0.0 for _, err in estimates.values())
    same_q = len({q for q, _ in estimates.values()}) == 1
    quality = estimates[0][0] if 0 in estimates else None
    family = "custom"
    if exact and same_q:
        family = "ijg-standard"
    elif estimates and all(err < 1.0 for _, err in estimates.values()):
        family = "ijg-like"
    segments = [
        {"marker": marker, "name": _segment_name(marker, payload), "bytes": len(payload)}
        for marker, payload in (getattr(img, "applist", None) or [])[:64]
    ]
    details: dict[str, Any] = {
        "quantization_tables": {str(k): t for k, t in tables.items()},
        "estimated_quality": {str(k): {"quality": q, "mean_abs_error": round(e, 3)} for k, (q, e) in estimates.items()},
        "table_family": family,
        "progressive": bool(img.info.get("progressive") or img.info.get("progression")),
        "subsampling": _subsampling(getattr(img, "layer", None)),
        "app_segments": segments,
    }
    if img.info.get("comment"):
        details["comment"] = bytes(img.info["comment"][:300]).decode("latin-1")
    out.details["jpeg"] = details
    if quality is not None:
        out.features["jpeg_quality"] = float(quality)
    names = {s["name"] for s in segments}
    if family == "ijg-standard":
        text = (
            f"JPEG saved at quality {quality} with the standard tables of libjpeg-based software "
            "(Pillow, OpenCV, GIMP, browsers, many cameras)."
        )
    elif family == "ijg-like":
        text = f"JPEG saved at roughly quality {quality} with near-standard tables."
    else:
        text = (
            f"JPEG with custom quantization tables (near quality {quality}), "
            "typical of camera firmware or Adobe software."
        )
    if names & {"Photoshop IRB", "Adobe", "Photoshop 'Save for Web'"}:
        text += " Adobe segments show it was saved by Adobe software."
    out.findings.append(Finding("jpeg_structure", text, Severity.INFO))
    return out
