"""The reconstruction analyzer on real photos and on their real TAESD round trips."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from forensics.analyzers.base import Heatmap
from forensics.analyzers.reconstruction import ReconstructionAnalyzer
from forensics.autoencoders import available_autoencoders
from forensics.autoencoders.tiles import select_tiles
from forensics.config import weights_roots
from forensics.media import load_media, media_from_bytes
from forensics.report.serialize import report_to_dict
from forensics.scan import Scanner

# Small tiles and one tile keep each TAESD round trip well under a second on two cores.
SMALL = {"tile": 128, "max_tiles": 1}


@pytest.fixture(scope="module")
def weights() -> None:
    missing = {"taesd", "vaelight"} - set(available_autoencoders())
    if missing:
        pytest.skip(f"weights {sorted(missing)} not found in {[str(r) for r in weights_roots()]}")


@pytest.fixture(scope="module")
def three_autoencoders(weights: None) -> ReconstructionAnalyzer:
    """TAESD, a reference of another latent space (TAESD3) and VAElight: enough to normalise out content."""
    return ReconstructionAnalyzer(autoencoders=["taesd", "taesd3", "vaelight"], **SMALL)


def png_media(pixels: np.ndarray, name: str):
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return media_from_bytes(buf.getvalue(), path=name)


def photo_tile(path: Path, size: int = 128) -> np.ndarray:
    image = load_media(path).image
    return select_tiles(image, size, 1)[0].cut(image).copy()


@pytest.mark.slow
@pytest.mark.parametrize("relative", ["kodak/kodak_kodim01.png", "exif-samples/jpg_Canon_PowerShot_S40.jpg"])
def test_taesd_round_trip_of_a_photo_is_detected(three_autoencoders, taesd, photos_dir: Path, relative: str) -> None:
    photo = photo_tile(photos_dir / relative)
    fake = taesd.roundtrip(photo)
    real_ev = three_autoencoders.run(png_media(photo, "photo.png"))
    fake_ev = three_autoencoders.run(png_media(fake, "fake.png"))
    assert real_ev.status == fake_ev.status == "ok", (real_ev.reason, fake_ev.reason)
    real, synthetic = real_ev.features, fake_ev.features
    # TAESD's fine-detail error, relative to the other autoencoders', drops on its own output.
    assert synthetic["taesd_rel_hf"] < 0.95 * real["taesd_rel_hf"]
    assert synthetic["match_hf"] < real["match_hf"] - 0.05
    assert fake_ev.details["best_autoencoder"] == "taesd"
    assert fake_ev.score > real_ev.score


def test_missing_autoencoder_gives_nan_features_not_an_error(weights: None, photos_dir: Path) -> None:
    analyzer = ReconstructionAnalyzer(autoencoders=["vaelight", "/nowhere/sdxl_vae.safetensors"], **SMALL)
    evidence = analyzer.run(png_media(photo_tile(photos_dir / "kodak" / "kodak_kodim02.png"), "photo.png"))
    assert evidence.status == "ok", evidence.reason
    assert math.isnan(evidence.features["sdxl_vae_l2"]) and math.isnan(evidence.features["sdxl_vae_dssim"])
    assert evidence.features["min_l2"] == evidence.features["vaelight_l2"] > 0
    assert "sdxl_vae" in evidence.details["missing"]
    assert "LPIPS" in evidence.details["perceptual"]  # says why AEROBLADE's distance is not used
    # One autoencoder left: nothing to normalise content against, so no score rather than a misleading one.
    assert math.isnan(evidence.features["match_hf"]) and evidence.score is None


def test_no_autoencoder_at_all_is_unavailable(photos_dir: Path) -> None:
    analyzer = ReconstructionAnalyzer(autoencoders=["/nowhere/a.safetensors", "/nowhere/b.ckpt"], **SMALL)
    evidence = analyzer.run(load_media(photos_dir / "kodak" / "kodak_kodim02.png"))
    assert evidence.status == "unavailable"
    assert "no autoencoder weights found" in evidence.reason and "/nowhere/b.ckpt" in evidence.reason


def test_tiny_image_is_unavailable(weights: None) -> None:
    tiny = np.random.default_rng(0).integers(0, 256, (40, 300, 3), dtype=np.uint8)
    evidence = ReconstructionAnalyzer(autoencoders=["vaelight"], **SMALL).run(png_media(tiny, "tiny.png"))
    assert evidence.status == "unavailable" and "too small" in evidence.reason


def test_tiles_are_native_grid_aligned_and_most_textured_first(photos_dir: Path) -> None:
    image = load_media(photos_dir / "kodak" / "kodak_kodim02.png").image  # 768 x 512
    tiles = select_tiles(image, 128, 5)
    assert tiles == select_tiles(image, 128, 5)  # deterministic
    assert len({(t.y, t.x) for t in tiles}) == 5
    assert all(v % 8 == 0 for t in tiles for v in (t.y, t.x, t.height, t.width))
    assert all(t.cut(image).shape == (128, 128, 3) for t in tiles)
    lap = [np.abs(np.diff(t.cut(image).astype(float), 2, axis=0)).mean() for t in tiles]
    assert lap[0] > lap[-1]
    small = select_tiles(image[:100, :200], 128, 3)
    assert [(t.height, t.width) for t in small] == [(96, 128)]


@pytest.mark.slow
def test_scan_report_has_features_and_heatmap(weights: None, photos_dir: Path) -> None:
    path = photos_dir / "bsds500" / "test_100007.jpg"  # 481 x 321
    analyzer = ReconstructionAnalyzer(autoencoders=["vaelight", "taesd"], tile=128, max_tiles=2)
    report = Scanner(analyzers=[analyzer]).scan(path, keep_media=True)
    evidence = report.evidence[0]
    assert evidence.status == "ok", evidence.reason
    heatmap = next(f for f in evidence.figures if isinstance(f, Heatmap))
    h, w = heatmap.data.shape
    media = load_media(path)
    assert abs(w / h - media.width / media.height) < 0.1  # full-image aspect
    assert np.isfinite(heatmap.data).sum() == 2 * (128 // 8) ** 2  # two analysed 128-px tiles of 8-px cells
    assert np.isnan(heatmap.data).any()  # the rest was not analysed
    doc = json.loads(json.dumps(report_to_dict(report), allow_nan=False))
    features = doc["evidence"][0]["features"]
    assert {"taesd_l2", "vaelight_hf", "min_dssim", "best_ratio", "min_l2_rel", "match_hf"} <= set(features)
    assert 0.0 <= doc["evidence"][0]["score"] <= 1.0
    assert doc["evidence"][0]["figures"][0]["kind"] == "heatmap"


def test_perceptual_hook_from_a_torchscript_file(weights: None, tmp_path: Path, photos_dir: Path) -> None:
    class MeanAbs(torch.nn.Module):  # stands in for an exported LPIPS network: same interface, real computation
        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a - b).abs().mean(dim=(1, 2, 3))

    torch.jit.script(MeanAbs()).save(str(tmp_path / "lpips.pt"))
    analyzer = ReconstructionAnalyzer(autoencoders=["vaelight"], perceptual=tmp_path / "lpips.pt", **SMALL)
    evidence = analyzer.run(png_media(photo_tile(photos_dir / "kodak" / "kodak_kodim02.png"), "photo.png"))
    assert evidence.details["perceptual"] == "configured"
    # Mean absolute difference in [-1, 1] units is the L1 distance in grey levels / 127.5.
    assert evidence.features["vaelight_lpips"] == pytest.approx(evidence.features["vaelight_l1"] / 127.5, rel=1e-3)
    assert evidence.features["min_lpips"] == evidence.features["vaelight_lpips"]


def test_creating_the_analyzer_loads_no_autoencoder_library() -> None:
    """diffusers costs seconds to import: a scanner that reads a non-media file or metadata only never pays for it."""
    code = ("import sys; from forensics.analyzers import registry; from forensics.scan import Scanner; "
            "s = Scanner(registry.create_all(registry.names())); "
            "assert any(a.name == 'reconstruction' for a in s.analyzers); "
            "r = s.scan(sys.argv[1]); assert r.error['code'] == 'not_media', r.error; "
            "print(sorted(m for m in ('diffusers', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, __file__], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
