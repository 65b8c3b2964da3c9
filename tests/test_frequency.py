"""Frequency analyzer on real photos: camera JPEGs stay quiet, decoder traces stand out."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from forensics.analyzers import noise, registry
from forensics.analyzers.base import Heatmap, LinePlot
from forensics.analyzers.frequency import DECODER_PATTERN_THRESHOLD, FEATURES, GRID_THRESHOLD, FrequencyAnalyzer
from forensics.media import load_media, media_from_bytes

# Camera JPEGs of different makes and sizes (all in the shared photos).
CAMERA_JPEGS = (
    "metadata-extractor/jpg_Nikon_D60.jpg",
    "metadata-extractor/jpg_Canon_PowerShot_A560.jpg",
    "metadata-extractor/jpg_Apple_iPhone_4.jpg",
    "exif-samples/jpg_Canon_PowerShot_S40.jpg",
)


def encode(rgb: np.ndarray, fmt: str, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **({"quality": quality} if fmt == "JPEG" else {"compress_level": 1}))
    return buf.getvalue()


def rgb_of(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def features_of(data: bytes) -> dict[str, float]:
    evidence = FrequencyAnalyzer().run(media_from_bytes(data))
    assert evidence.status == "ok", evidence.reason
    return evidence.features


def nearest_x8(rgb: np.ndarray) -> np.ndarray:
    """The pure decoder trace: a photo shrunk 8 times, then blown up by nearest-neighbour repetition."""
    h, w = rgb.shape[0] // 8, rgb.shape[1] // 8
    small = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.BOX))
    return np.repeat(np.repeat(small, 8, axis=0), 8, axis=1)


@pytest.mark.parametrize("name", CAMERA_JPEGS)
def test_camera_jpeg_recompressed_at_q90_is_not_flagged(photos_dir: Path, name: str) -> None:
    data = encode(rgb_of(photos_dir / name), "JPEG")
    evidence = FrequencyAnalyzer().run(media_from_bytes(data))
    assert evidence.status == "ok"
    assert evidence.features["cell_pattern_interior"] < DECODER_PATTERN_THRESHOLD
    assert "frequency.decoder_pattern" not in {f.code for f in evidence.findings}
    # the recompression's own grid is found where JPEG puts it, and the report says what it costs
    assert evidence.features["grid_aligned"] == 1.0
    assert "frequency.compressed" in {f.code for f in evidence.findings}


def test_lossy_webp_carries_the_compression_caveat_and_lossless_webp_does_not(photos_dir: Path) -> None:
    from forensics.media.sniff import webp_is_lossy

    photo = rgb_of(photos_dir / "kodak" / "kodak_kodim05.png")
    icc = Image.open(photos_dir / "kodak" / "kodak_kodim05.png").info.get("icc_profile")
    # quality 60 leaves a VP8 block grid the JPEG-grid measure sees (Kodak 05: blockiness 0.07; at 90, 0.02)
    for options, lossy in (({"quality": 60}, True), ({"quality": 60, "exif": b"Exif\x00\x00MM\x00*"}, True),
                           ({"lossless": True}, False)):
        buf = io.BytesIO()
        Image.fromarray(photo).save(buf, "WEBP", **options, **({"icc_profile": icc} if icc else {}))
        assert webp_is_lossy(buf.getvalue()) is lossy  # simple and extended (VP8X) files alike
        evidence = FrequencyAnalyzer().run(media_from_bytes(buf.getvalue()))
        findings = {f.code: f for f in evidence.findings}
        assert ("frequency.compressed" in findings) is lossy
        if lossy:
            # VP8 leaves a block grid of its own, which must not read as a JPEG past
            assert evidence.features["blockiness"] > GRID_THRESHOLD
            assert "WebP" in findings["frequency.compressed"].message
            assert not {"frequency.jpeg_grid_in_non_jpeg", "frequency.jpeg_grid_shifted"} & set(findings)


def test_heic_carries_the_compression_caveat(photos_dir: Path) -> None:
    """A photo saved as HEIC (HEVC at a phone's bit rate) is told to be lossy, with no claim of a JPEG past."""
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.open(photos_dir / "kodak" / "kodak_kodim05.png").convert("RGB")).save(buf, quality=60)
    media = media_from_bytes(buf.getvalue())
    assert media.format == "HEIF"
    findings = {f.code: f for f in FrequencyAnalyzer().run(media).findings}
    assert "HEIC" in findings["frequency.compressed"].message
    assert not {"frequency.jpeg_grid_in_non_jpeg", "frequency.jpeg_grid_shifted"} & set(findings)


def test_every_jpeg_carries_the_compression_caveat_with_its_quality(photos_dir: Path, data_dir: Path) -> None:
    """Where no block grid shows: a camera JPEG at quality 84, and a real generator's output re-saved at quality 95
    (the files the transfer benchmark finds the detector missing): the caveat still names the compression."""
    from forensics.analyzers.metadata.jpeg_structure import estimate_quality

    camera = (photos_dir / "exif-samples" / "jpg_gps_DSCN0010.jpg").read_bytes()
    generated = rgb_of(data_dir / "provenance" / "invokeai" / "prompt_syntax_mountain-man2.png")
    for data, quality in ((camera, 84), (encode(generated, "JPEG", quality=95), 95)):
        media = media_from_bytes(data)
        assert estimate_quality(media.pil.quantization[0], 0)[0] == quality
        evidence = FrequencyAnalyzer().run(media)
        assert evidence.features["blockiness"] < GRID_THRESHOLD
        findings = {f.code: f.message for f in evidence.findings}
        assert f"JPEG (quality about {quality} " in findings["frequency.compressed"], findings
        assert "block grid is visible" not in findings["frequency.compressed"]


def test_a_jpeg_saved_again_as_png_is_told_to_have_been_a_jpeg(camera_jpeg: Path) -> None:
    codes = {f.code for f in FrequencyAnalyzer().run(media_from_bytes(encode(rgb_of(camera_jpeg), "PNG"))).findings}
    assert {"frequency.compressed", "frequency.jpeg_grid_in_non_jpeg"} <= codes


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_nearest_neighbour_x8_upsampling_is_separated(photos_dir: Path, fmt: str) -> None:
    photo = rgb_of(photos_dir / "kodak" / "kodak_kodim05.png")
    real = features_of(encode(photo, fmt))
    if fmt == "PNG":  # a lossless file of a lossless photo: no grid, no compression caveat
        codes = {f.code for f in FrequencyAnalyzer().run(media_from_bytes(encode(photo, fmt))).findings}
        assert "frequency.compressed" not in codes
    upsampled = features_of(encode(nearest_x8(photo), fmt))
    # roughness only across the 8-pixel cell boundaries, none inside pixel pairs
    assert upsampled["blockiness"] > real["blockiness"] + 0.5
    assert upsampled["npr_asymmetry"] > real["npr_asymmetry"] + 0.3


@pytest.mark.slow
def test_taesd_round_trip_raises_the_decoder_features(photos_dir: Path, taesd) -> None:
    """A real TAESD decode(encode(x)) against its own source, both saved the same way."""
    photo = np.ascontiguousarray(rgb_of(photos_dir / "bsds500" / "test_100039.jpg")[:320, :480])
    fake = taesd.roundtrip(photo)
    for fmt in ("PNG", "JPEG"):
        real_f, fake_f = features_of(encode(photo, fmt)), features_of(encode(fake, fmt))
        # 1/8-lattice peaks rose in 85% of 116 such pairs (58 BSDS500 crops, PNG and q90); this one by ~0.25
        assert fake_f["peak8"] > real_f["peak8"] + 0.1, fmt
        assert fake_f["cell_pattern_interior"] > real_f["cell_pattern_interior"], fmt


def test_fixed_features_figures_and_any_size(photos_dir: Path) -> None:
    media = load_media(photos_dir / "bsds500" / "test_100007.jpg")
    evidence = registry.create("frequency").run(media)
    assert evidence.status == "ok"
    assert tuple(evidence.features) == FEATURES
    assert all(math.isfinite(v) for v in evidence.features.values())
    spectrum, profile = evidence.figures
    assert isinstance(spectrum, Heatmap) and spectrum.data.shape == (256, 256) and not spectrum.overlay
    assert isinstance(profile, LinePlot) and len(profile.series["luminance"]) == len(profile.x)
    # tiles are native-resolution crops: a non-multiple-of-8 image smaller than one tile still works
    small = features_of(encode(rgb_of(photos_dir / "bsds500" / "test_100007.jpg")[:100, :150], "PNG"))
    assert tuple(small) == FEATURES and all(math.isfinite(v) for v in small.values())


def test_too_small_images_give_nan_features_and_blank_ones_are_not_analysed(photos_dir: Path) -> None:
    small = rgb_of(photos_dir / "bsds500" / "test_100007.jpg")[:40, :60]
    evidence = FrequencyAnalyzer().run(media_from_bytes(encode(small, "PNG")))
    assert evidence.status == "ok"
    assert tuple(evidence.features) == FEATURES
    assert all(math.isnan(v) for v in evidence.features.values())
    assert "smaller than 64x64" in evidence.details["reason"]
    for rgb in (np.full((40, 60, 3), 128, np.uint8), np.full((300, 400, 3), (200, 30, 90), np.uint8)):
        evidence = FrequencyAnalyzer().run(media_from_bytes(encode(rgb, "PNG")))
        assert evidence.status == "unavailable" and "blank" in evidence.reason and not evidence.features


def test_signal_analyzers_run_inside_forensics_scan(camera_jpeg: Path) -> None:
    from forensics.cli import cli

    result = CliRunner().invoke(cli, ["scan", "--json", "-a", "frequency,noise", str(camera_jpeg)])
    assert result.exit_code in (0, 1, 2), result.output  # a verdict was reached (2: uncertain)
    report = json.loads(result.output)
    evidence = {e["analyzer"]: e for e in report["evidence"]}
    assert evidence["frequency"]["status"] == evidence["noise"]["status"] == "ok"
    assert tuple(evidence["frequency"]["features"]) == FEATURES
    assert tuple(evidence["noise"]["features"]) == noise.FEATURES
    assert {f["name"] for f in evidence["frequency"]["figures"]} == {"residual_spectrum", "radial_spectrum"}
    assert {f["name"] for f in evidence["noise"]["figures"]} == {"noise_inconsistency"}
