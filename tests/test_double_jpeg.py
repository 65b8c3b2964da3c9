"""Double JPEG compression on real photos: first-save steps read back, a region pasted between two saves located."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.base import Severity
from forensics.media import load_media, media_from_bytes
from generator.paste_back import ellipse_mask, paste


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def saved_twice(photos_dir: Path) -> tuple[np.ndarray, bytes]:
    """A Kodak photo saved at quality 75 and decoded (as a download from the web), and that save's bytes."""
    photo = np.asarray(Image.open(photos_dir / "kodak" / "kodak_kodim05.png").convert("RGB"))
    first = _jpeg(photo, 75)
    return _decoded(first), first


def test_the_first_saves_steps_are_read_back(saved_twice: tuple[np.ndarray, bytes]) -> None:
    """Re-saved at 90, the photo's low frequencies give back the quality-75 table's steps."""
    pixels, first = saved_twice
    table = np.asarray(Image.open(io.BytesIO(first)).quantization[0]).reshape(8, 8)
    evidence = registry.create("double-jpeg").run(media_from_bytes(_jpeg(pixels, 90)))
    steps = evidence.details["first_save_steps"]
    assert evidence.status == "ok" and len(steps) >= 12
    assert sum(s["q1"] == table[tuple(s["frequency"])] for s in steps) >= len(steps) - 1, steps
    assert evidence.details["first_save_quality"] == [75, 75] and "quality 75 " in evidence.findings[0].message
    assert [f.code for f in evidence.findings] == ["double_jpeg_present"] and evidence.figures[0].data.mean() < 0.05


def test_a_region_pasted_between_two_saves_is_located(saved_twice: tuple[np.ndarray, bytes], taesd) -> None:
    """An ellipse of the photo's own TAESD round trip (a decoder's output, as an inpainting pastes it) put into the
    decoded quality-75 save, then saved at 90: the map lights the ellipse and the finding boxes it."""
    pixels, _ = saved_twice
    mask = ellipse_mask(*pixels.shape[:2], area=0.12, rng=np.random.default_rng(3))
    edited = paste(pixels, taesd.roundtrip(pixels), mask)
    evidence = registry.create("double-jpeg").run(media_from_bytes(_jpeg(edited, 90)))
    heat = evidence.figures[0].data
    inside = mask[4::8, 4::8][: heat.shape[0], : heat.shape[1]] > 0.5
    assert heat[inside].mean() > 0.9 and heat[~inside].mean() < 0.1
    (finding,) = [f for f in evidence.findings if f.code == "double_jpeg_region"]
    assert finding.severity is Severity.MEDIUM and finding.direction == "synthetic"
    x0, y0, x1, y1 = evidence.details["single_region_box"]
    rows, cols = np.nonzero(mask > 0.5)
    assert abs(x0 - cols.min()) <= 16 and abs(x1 - cols.max()) <= 16
    assert abs(y0 - rows.min()) <= 16 and abs(y1 - rows.max()) <= 16


def test_single_saves_crops_and_other_formats(camera_jpeg: Path, saved_twice: tuple[np.ndarray, bytes]) -> None:
    """A camera original shows no earlier save; nor does a save whose grid moved (cropped 3 pixels) before the last
    one; a PNG, or a CMYK JPEG (no luma plane), is not read at all."""
    analyzer = registry.create("double-jpeg")
    original = analyzer.run(load_media(camera_jpeg))
    assert [f.code for f in original.findings] == ["double_jpeg_none"] and not original.figures
    pixels, _ = saved_twice
    shifted = analyzer.run(media_from_bytes(_jpeg(np.ascontiguousarray(pixels[3:, 3:]), 90)))
    assert [f.code for f in shifted.findings] == ["double_jpeg_none"]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    png = analyzer.run(media_from_bytes(buf.getvalue()))
    assert png.status == "unavailable" and "not a JPEG" in png.reason
    buf = io.BytesIO()
    Image.fromarray(pixels).convert("CMYK").save(buf, "JPEG", quality=90)
    cmyk = analyzer.run(media_from_bytes(buf.getvalue()))
    assert cmyk.status == "unavailable" and "no luma plane" in cmyk.reason
