"""Noise analyzer on real photos: the map keeps the image's shape and finds replaced regions."""

from __future__ import annotations

import io
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.base import Heatmap
from forensics.analyzers.noise import FEATURES, NoiseAnalyzer
from forensics.media import load_media, media_from_bytes

PATCH = 256  # side of the pasted region, pixels


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 1}))
    return buf.getvalue()


def photo(photos_dir: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(photos_dir / name).convert("RGB")).copy()


def patch_origin(rgb: np.ndarray) -> tuple[int, int]:
    return rgb.shape[0] // 4 // 8 * 8, rgb.shape[1] // 3 // 8 * 8


def heat_inside_and_outside(data: bytes, y0: int, x0: int) -> tuple[float, float]:
    """Mean of the inconsistency map over the blocks fully inside the patch, and over the rest."""
    evidence = NoiseAnalyzer().run(media_from_bytes(data))
    assert evidence.status == "ok", evidence.reason
    heat, block = evidence.figures[0].data, evidence.details["block"]
    inside = np.zeros(heat.shape, bool)
    inside[-(-y0 // block) : (y0 + PATCH) // block, -(-x0 // block) : (x0 + PATCH) // block] = True
    return float(heat[inside].mean()), float(heat[~inside].mean())


@pytest.mark.parametrize("name", ["metadata-extractor/jpg_Nikon_D60.jpg", "kodak/kodak_kodim05.png"])
def test_map_has_the_image_aspect(photos_dir: Path, name: str) -> None:
    media = load_media(photos_dir / name)
    rgb = media.image
    evidence = registry.create("noise").run(media)
    assert evidence.status == "ok"
    assert tuple(evidence.features) == FEATURES
    assert all(math.isfinite(v) for v in evidence.features.values())
    (heatmap,) = evidence.figures
    assert isinstance(heatmap, Heatmap) and heatmap.overlay
    block = evidence.details["block"]
    assert heatmap.data.shape == (rgb.shape[0] // block, rgb.shape[1] // block)
    assert heatmap.data.shape[1] / heatmap.data.shape[0] == pytest.approx(rgb.shape[1] / rgb.shape[0], rel=0.05)
    assert max(heatmap.data.shape) <= 128


@pytest.mark.parametrize(
    "name",
    [
        "metadata-extractor/jpg_Apple_iPhone_4.jpg",  # noisy phone photo
        pytest.param("metadata-extractor/jpg_Nikon_D60.jpg", marks=pytest.mark.slow),  # clean DSLR photo, 7 MP
        "kodak/kodak_kodim05.png",  # scanned film, lossless
    ],
)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_smoothed_patch_lights_up_the_map(photos_dir: Path, name: str, fmt: str) -> None:
    rgb = photo(photos_dir, name)
    y0, x0 = patch_origin(rgb)
    before_in, _ = heat_inside_and_outside(encode(rgb, fmt), y0, x0)
    region = rgb[y0 : y0 + PATCH, x0 : x0 + PATCH]
    rgb[y0 : y0 + PATCH, x0 : x0 + PATCH] = cv2.GaussianBlur(region, (0, 0), 1.5)
    inside, outside = heat_inside_and_outside(encode(rgb, fmt), y0, x0)
    assert inside > 2.0 * outside
    assert inside > 2.0 * before_in  # the region itself was unremarkable before the edit


@pytest.mark.slow
def test_taesd_round_tripped_patch_lights_up_the_map(photos_dir: Path, taesd) -> None:
    """A region regenerated through a real latent autoencoder, pasted back: a crude inpainting."""
    rgb = photo(photos_dir, "metadata-extractor/jpg_Apple_iPhone_4.jpg")
    y0, x0 = patch_origin(rgb)
    rgb[y0 : y0 + PATCH, x0 : x0 + PATCH] = taesd.roundtrip(np.ascontiguousarray(rgb[y0 : y0 + PATCH, x0 : x0 + PATCH]))
    for fmt in ("PNG", "JPEG"):
        inside, outside = heat_inside_and_outside(encode(rgb, fmt), y0, x0)
        assert inside > 1.5 * outside, fmt


def test_too_small_images_give_nan_features_and_blank_ones_are_not_analysed(photos_dir: Path) -> None:
    small = np.ascontiguousarray(photo(photos_dir, "metadata-extractor/jpg_Apple_iPhone_4.jpg")[:40, :60])
    evidence = NoiseAnalyzer().run(media_from_bytes(encode(small, "PNG")))
    assert evidence.status == "ok"
    assert tuple(evidence.features) == FEATURES
    assert all(math.isnan(v) for v in evidence.features.values())
    assert evidence.details["reason"]
    for rgb in (np.full((40, 60, 3), 128, np.uint8), np.full((300, 400, 3), 250, np.uint8)):
        evidence = NoiseAnalyzer().run(media_from_bytes(encode(rgb, "PNG")))
        assert evidence.status == "unavailable" and "blank" in evidence.reason and not evidence.features
