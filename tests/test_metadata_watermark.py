"""Stable Diffusion invisible watermarks: real watermarked outputs, an SDXL mark made with imwatermark, clean photos."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from imwatermark import WatermarkEncoder
from imwatermark.maxDct import EmbedMaxDct
from PIL import Image

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata.watermark import PAYLOADS, block_decisions, read_watermark, soft_bits


def _watermarked(provenance_dir: Path) -> list[tuple[Path, str]]:
    folder = provenance_dir / "watermarked"
    with (folder / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(folder / r["file"], "StableDiffusionV1" if "SDV1" in r["metadata"] else "SDV2") for r in rows]


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_every_watermarked_file_is_decisive(provenance_dir: Path) -> None:
    files = _watermarked(provenance_dir)
    assert len(files) == 8
    for path, payload in files:
        readout = read_watermark(_rgb(path))
        wm = readout.details["watermark"]
        assert wm["verdict"] == "present" and wm["best_payload"] == payload, path.name
        assert readout.features["watermark_correlation"] >= 0.86
        assert readout.findings[0].severity is Severity.DECISIVE and readout.findings[0].direction == "synthetic"


def test_vectorised_decoder_matches_imwatermark(provenance_dir: Path) -> None:
    path, _ = _watermarked(provenance_dir)[0]
    rgb = _rgb(path)
    for payload in PAYLOADS.values():
        reference = EmbedMaxDct(watermarks=[], wmLen=payload.size).decode(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        ours = soft_bits(block_decisions(rgb), payload.size) * 255 > 127
        assert np.array_equal(reference, ours)


def test_sdxl_watermark_as_diffusers_embeds_it(photos_dir: Path) -> None:
    photo = _rgb(photos_dir / "kodak" / "kodak_kodim23.png")
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", PAYLOADS["SDXL"].astype(int).tolist())
    marked = encoder.encode(photo.copy(), "dwtDct")  # diffusers hands RGB to the BGR encoder
    wm = read_watermark(marked).details["watermark"]
    assert wm["best_payload"] == "SDXL" and wm["verdict"] == "present"
    assert wm["payloads"]["SDXL"]["channel_order"] == "rgb"
    assert read_watermark(photo).details["watermark"]["verdict"] == "absent"


def test_clean_photos_and_unsuitable_sizes(photos_dir: Path) -> None:
    photos = sorted((photos_dir / "kodak").glob("*.png")) + sorted((photos_dir / "bsds500").glob("*.jpg"))[:40]
    for path in photos:
        rgb = _rgb(path)
        readout = read_watermark(rgb[: rgb.shape[0] // 8 * 8, : rgb.shape[1] // 8 * 8])
        assert readout.details["watermark"]["verdict"] == "absent", path.name
        assert readout.features["watermark_correlation"] < 0.6
    odd = read_watermark(_rgb(photos[-1]))  # 481 x 321: cannot be an SD output at its original size
    assert odd.details["watermark"]["checked"] is False and not odd.findings
    tiny = read_watermark(np.zeros((96, 96, 3), np.uint8))
    assert tiny.details["watermark"]["checked"] is False and not tiny.findings


@pytest.mark.parametrize("scale", [0.5])
def test_resized_watermark_fades(provenance_dir: Path, scale: float) -> None:
    path, _ = _watermarked(provenance_dir)[0]
    img = Image.open(path).convert("RGB")
    small = np.asarray(img.resize((int(img.width * scale), int(img.height * scale))))
    # the known weakness: DWT-DCT marks do not survive a 50% resize; we must not claim them then
    assert read_watermark(small).details["watermark"]["verdict"] != "present"
