"""EXIF/TIFF/GPS: camera, exposure, timestamps, software, orientation, and the embedded thumbnail.

Tags come from Pillow's EXIF reader (every still format it opens); the thumbnail (IFD1) from
piexif. A thumbnail that no longer shows the main picture means the picture was changed by
software that did not refresh the thumbnail.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import numpy as np
import piexif
from PIL import ExifTags, Image

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import Readout, clip_text, number
from forensics.analyzers.metadata.software import classify_software
from forensics.media import Media

MAX_THUMBNAIL_BYTES = 1_000_000
#: Correlation of the thumbnail with the downscaled picture below which they are different pictures.
#: Untouched camera files score above 0.55 (most above 0.95); cropped or retouched files fall below.
THUMBNAIL_MISMATCH = 0.5
_EXIF_IFD, _GPS_IFD = ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo
_CHARSETS = {b"ASCII\x00\x00\x00": "ascii", b"JIS\x00\x00\x00\x00\x00": "shift_jis", b"\x00" * 8: "utf-8"}


def user_comment(raw: Any) -> str | None:
    """Decode an EXIF UserComment (8-byte charset prefix; A1111 writes UTF-16 big-endian "UNICODE")."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, (bytes, bytearray)) or len(raw) < 8:
        return None
    prefix, body = bytes(raw[:8]), bytes(raw[8:])
    if prefix == b"UNICODE\x00":
        # byte order is not declared: the zero high bytes of ASCII text reveal it
        encoding = "utf-16-be" if body[:200:2].count(0) >= body[1:200:2].count(0) else "utf-16-le"
        text = body.decode(encoding, errors="replace")
    else:
        text = body.decode(_CHARSETS.get(prefix, "utf-8"), errors="replace")
    text = text.strip("\x00 ")
    return text or None


def _plain(value: Any) -> Any:
    """EXIF values as JSON-friendly Python (rationals to floats, bytes to text)."""
    if isinstance(value, bytes):
        return clip_text(value.decode("ascii", errors="replace").strip("\x00 "), 300)
    if isinstance(value, str):
        return clip_text(value.strip("\x00 "), 300)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value[:16]]
    as_float = number(value)
    if as_float is not None:
        return int(as_float) if isinstance(value, int) else as_float
    return None


def _timestamp(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value).strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _gps_degrees(values: Any, ref: Any) -> float | None:
    try:
        degrees, minutes, seconds = (float(v) for v in values)
    except (TypeError, ValueError):
        return None
    sign = -1.0 if str(ref).strip("\x00 ").upper() in ("S", "W") else 1.0
    result = sign * (degrees + minutes / 60.0 + seconds / 3600.0)
    return result if abs(result) <= 180 else None


def _gps(gps: dict[int, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lat, lon = _gps_degrees(gps.get(2), gps.get(1)), _gps_degrees(gps.get(4), gps.get(3))
    if lat is not None and lon is not None:
        out.update(latitude=round(lat, 6), longitude=round(lon, 6))
    if gps.get(6) is not None and number(gps.get(6)) is not None:
        out["altitude_m"] = number(gps[6])
    stamp, date = gps.get(7), gps.get(29)
    try:
        h, m, s = (float(v) for v in stamp)
        day = datetime.strptime(str(date).strip("\x00 "), "%Y:%m:%d")
        out["utc_time"] = day.replace(hour=int(h), minute=int(m), second=int(s) % 60).isoformat()
    except (TypeError, ValueError):
        pass
    return out


def _thumbnail(exif_block: bytes | None) -> bytes | None:
    if not exif_block:
        return None
    try:
        thumb = piexif.load(exif_block).get("thumbnail")
    except Exception:
        return None
    return thumb if thumb and len(thumb) <= MAX_THUMBNAIL_BYTES else None


def _grey(img: np.ndarray | Image.Image, size: tuple[int, int]) -> np.ndarray:
    pil = img if isinstance(img, Image.Image) else Image.fromarray(img)
    return np.asarray(pil.convert("L").resize(size, Image.BILINEAR), dtype=np.float64)


def _strip_bars(thumb: Image.Image) -> Image.Image:
    """Remove the uniform letterbox bars cameras add to fit a 160x120 thumbnail."""
    arr = np.asarray(thumb.convert("L"), dtype=np.float64)
    rows = np.where(arr.std(axis=1) > 3)[0]
    cols = np.where(arr.std(axis=0) > 3)[0]
    if rows.size < 4 or cols.size < 4:
        return thumb
    return thumb.crop((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1))


def thumbnail_similarity(thumb_bytes: bytes, picture: np.ndarray) -> dict[str, Any] | None:
    """Compare the EXIF thumbnail with the picture (H x W x 3 uint8).

    Returns ``width``, ``height`` of the thumbnail and ``similarity``: the best Pearson correlation
    of 32 x 32 greyscale versions over the picture's four right-angle rotations (thumbnails may be
    stored rotated), in [-1, 1]. ``None`` when the thumbnail cannot be decoded.
    """
    try:
        thumb = Image.open(io.BytesIO(thumb_bytes))
        if thumb.width * thumb.height > 1_000_000:
            return None
        thumb.load()
    except Exception:
        return None
    small = Image.fromarray(picture)
    small.thumbnail((256, 256))  # one downscale; the rotations below then cost nothing
    pictures = [_grey(np.ascontiguousarray(np.rot90(np.asarray(small), k)), (32, 32)).ravel() for k in range(4)]
    # the thumbnail as stored, and without letterbox bars (either may be the faithful one)
    thumbs = [_grey(t, (32, 32)).ravel() for t in (thumb, _strip_bars(thumb))]
    scores = [float(np.corrcoef(t, p)[0, 1]) for t in thumbs for p in pictures if t.std() > 1e-6 and p.std() > 1e-6]
    if not scores:
        return None
    best = max(scores)
    return {"width": thumb.width, "height": thumb.height, "similarity": round(best, 4)}


def read_exif(media: Media) -> Readout:
    """EXIF facts and findings for a still (``details`` empty when the file has no EXIF)."""
    out = Readout()
    if media.pil is None:
        return out
    try:
        exif = media.pil.getexif()
        main = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
        sub = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.get_ifd(_EXIF_IFD).items()}
        gps_raw = dict(exif.get_ifd(_GPS_IFD))
    except Exception as exc:
        out.details["exif"] = {"error": clip_text(f"{type(exc).__name__}: {exc}", 200)}
        out.findings.append(Finding("exif_malformed", "The EXIF block is damaged and could not be read.", Severity.LOW))
        return out
    if not main and not sub:
        return out
    tags = {**main, **sub}
    facts: dict[str, Any] = {}
    for key, name in (
        ("Make", "make"), ("Model", "model"), ("BodySerialNumber", "serial"), ("LensModel", "lens"),
        ("LensMake", "lens_make"), ("ExposureTime", "exposure_time_s"), ("FNumber", "f_number"),
        ("ISOSpeedRatings", "iso"), ("FocalLength", "focal_length_mm"), ("Software", "software"),
        ("Artist", "artist"), ("Orientation", "orientation"), ("DateTimeOriginal", "datetime_original"),
        ("DateTimeDigitized", "datetime_digitized"), ("DateTime", "datetime_modified"),
        ("ImageDescription", "description"),
    ):  # fmt: skip
        if tags.get(key) not in (None, b"", ""):
            facts[name] = _plain(tags[key])
    gps = _gps(gps_raw)
    if gps:
        facts["gps"] = gps
    facts["tag_count"] = len(main) + len(sub) + len(gps_raw)
    out.details["exif"] = facts
    out.features["exif_tag_count"] = float(facts["tag_count"])
    _camera_findings(facts, out)
    _software_findings(facts, out)
    _time_findings(facts, out)
    exif_block = media.pil.info.get("exif")
    if exif_block is None and media.format == "TIFF":
        exif_block = media.data
    thumb = _thumbnail(exif_block if isinstance(exif_block, bytes) else None)
    if thumb is not None:
        _thumbnail_findings(thumb, media, out)
    return out


def _camera_findings(facts: dict[str, Any], out: Readout) -> None:
    make, model = str(facts.get("make", "")).strip(), str(facts.get("model", "")).strip()
    if not (make or model) or "{" in make + model:  # ComfyUI stores its workflow JSON in Make/Model
        return
    camera = model if make.lower() in model.lower() else f"{make} {model}".strip()
    has_exposure = "exposure_time_s" in facts or "f_number" in facts
    detail = " with exposure settings" if has_exposure else ""
    out.findings.append(
        Finding(
            "exif_camera",
            f"EXIF names a camera: {camera}{detail}. This fits a real photo, but EXIF is easily copied onto any image.",
            Severity.LOW,
            "authentic",
        )
    )


def _software_findings(facts: dict[str, Any], out: Readout) -> None:
    software = facts.get("software")
    if not isinstance(software, str) or not software:
        return
    kind, name = classify_software(software)
    facts["software_kind"] = kind
    if kind == "generator":
        out.findings.append(
            Finding(
                "exif_software_generator",
                f"EXIF Software names an image generator ({software}).",
                Severity.HIGH,
                "synthetic",
            )
        )
    elif kind == "editor":
        out.findings.append(
            Finding(
                "exif_software_editor",
                f"The file was last saved by {name} ({software}): it was processed after capture "
                "(routine for publication, not proof of manipulation).",
                Severity.LOW,
            )
        )


def _time_findings(facts: dict[str, Any], out: Readout) -> None:
    original = _timestamp(facts.get("datetime_original"))
    modified = _timestamp(facts.get("datetime_modified"))
    digitized = _timestamp(facts.get("datetime_digitized"))
    if original and modified and (modified - original).total_seconds() > 60:
        out.findings.append(
            Finding(
                "exif_modified_after_capture",
                f"EXIF says the file was modified on {modified:%Y-%m-%d %H:%M}, "
                f"after it was taken ({original:%Y-%m-%d %H:%M}).",
                Severity.INFO,
            )
        )
    if original and digitized and abs((digitized - original).total_seconds()) > 60:
        out.findings.append(
            Finding(
                "exif_digitized_differs",
                "EXIF capture and digitising times differ (a scan or an edited file).",
                Severity.INFO,
            )
        )
    gps_time = facts.get("gps", {}).get("utc_time")
    if original and gps_time:
        offset_h = (original - datetime.fromisoformat(gps_time)).total_seconds() / 3600
        facts["gps_vs_local_hours"] = round(offset_h, 2)
        if abs(offset_h) > 14.5:  # no time zone is further than 14 h from UTC
            out.findings.append(
                Finding(
                    "exif_gps_time_inconsistent",
                    f"The GPS time and the camera time are {abs(offset_h):.0f} hours apart, "
                    "more than any time zone allows.",
                    Severity.LOW,
                )
            )


def _thumbnail_findings(thumb: bytes, media: Media, out: Readout) -> None:
    compared = thumbnail_similarity(thumb, media.image)
    if compared is None:
        out.details["exif"]["thumbnail"] = {"readable": False}
        return
    out.details["exif"]["thumbnail"] = compared
    out.features["thumbnail_similarity"] = compared["similarity"]
    if compared["similarity"] < THUMBNAIL_MISMATCH:
        out.findings.append(
            Finding(
                "exif_thumbnail_mismatch",
                "The small preview stored in EXIF does not match the image itself: the image was cropped "
                "or altered after the preview was made (by any kind of editing, not necessarily AI).",
                Severity.MEDIUM,
            )
        )
