"""Loading autoencoders from every supported layout, and round trips of real photos through them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import AutoencoderKL, AutoencoderTiny
from PIL import Image
from safetensors.torch import save_file

from forensics.autoencoders import (
    TAESD_FAMILY,
    AutoencoderNotFound,
    available_autoencoders,
    load_reconstructor,
    load_vae,
)
from forensics.config import weights_roots


@pytest.fixture(scope="module")
def weights() -> None:
    if "taesd" not in available_autoencoders():
        pytest.skip(f"TAESD weights not found in {[str(r) for r in weights_roots()]} (set FORENSICS_WEIGHTS)")


@pytest.fixture(scope="module")
def kodak_crop(photos_dir: Path) -> np.ndarray:
    """A 128 x 192 native-resolution crop of a real Kodak photo (a red door and wall: texture and flat areas)."""
    with Image.open(photos_dir / "kodak" / "kodak_kodim02.png") as im:
        return np.asarray(im.convert("RGB"))[200:328, 300:492].copy()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / np.mean((a.astype(np.float64) - b) ** 2)))


def test_shared_weights_hold_the_whole_family(weights: None) -> None:
    assert available_autoencoders() == [*TAESD_FAMILY, "vaelight"]


@pytest.mark.parametrize(("name", "channels"), [("taesd", 4), ("taesdxl", 4), ("taesd3", 16), ("taef1", 16)])
def test_single_file_layout_loads_strictly_in_float32(weights: None, name: str, channels: int) -> None:
    vae = load_vae(name)  # load_state_dict(strict=True) inside: a wrong key mapping raises
    assert isinstance(vae, AutoencoderTiny)
    assert vae.config.latent_channels == channels
    assert vae.config.scaling_factor == 1.0 and vae.config.shift_factor == 0.0
    assert all(p.dtype == torch.float32 for p in vae.parameters())
    assert not vae.training


@pytest.mark.slow
@pytest.mark.parametrize("name", ["taesd", "vaelight"])
def test_round_trip_of_a_photo_is_faithful_but_lossy(weights: None, kodak_crop: np.ndarray, name: str) -> None:
    rebuilt = load_reconstructor(name).roundtrip(kodak_crop)
    assert rebuilt.shape == kodak_crop.shape and rebuilt.dtype == np.uint8
    # A trained autoencoder: far better than a flat grey guess (~12 dB), far from lossless.
    assert 22.0 < psnr(kodak_crop, rebuilt) < 40.0


@pytest.mark.slow
def test_taesd_latents_are_in_the_diffusion_models_scaled_space(weights: None, kodak_crop: np.ndarray) -> None:
    """TAESD3 encodes to SD3's *scaled* latents (std near 1), hence scaling/shift 1/0 in the pipeline config;
    raw SD3 latents would have a std near 1 / 1.5305."""
    vae = load_vae("taesd3")
    x = torch.from_numpy(kodak_crop).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.inference_mode():
        latents = vae.encode(x).latents
    assert latents.shape == (1, 16, 16, 24)
    assert 0.8 < float(latents.std()) < 1.3


@pytest.mark.slow
def test_diffusers_folder_round_trips(weights: None, tmp_path: Path, kodak_crop: np.ndarray) -> None:
    original = load_vae("taesd")
    original.save_pretrained(tmp_path / "taesd-diffusers")
    reloaded = load_vae(tmp_path / "taesd-diffusers")
    assert isinstance(reloaded, AutoencoderTiny)
    state = original.state_dict()
    assert all(torch.equal(state[k], v) for k, v in reloaded.state_dict().items())
    assert load_reconstructor(tmp_path / "taesd-diffusers").name == "taesd-diffusers"


def test_single_safetensors_file_of_an_autoencoder_kl(tmp_path: Path) -> None:
    torch.manual_seed(0)
    small = AutoencoderKL(
        block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=8,
        layers_per_block=1,
        sample_size=32,
    )
    save_file(small.state_dict(), tmp_path / "small_vae.safetensors")
    small.save_config(tmp_path)  # config.json beside the file: no hub lookup
    loaded = load_vae(tmp_path / "small_vae.safetensors")
    assert isinstance(loaded, AutoencoderKL)
    assert list(loaded.config.block_out_channels) == [8, 16]
    assert all(torch.equal(small.state_dict()[k], v) for k, v in loaded.state_dict().items())
    pixels = np.random.default_rng(0).integers(0, 256, (2, 32, 48, 3), dtype=np.uint8)
    assert load_reconstructor(tmp_path / "small_vae.safetensors").roundtrip(pixels).shape == pixels.shape


def test_missing_weights_raise_a_helpful_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("forensics.autoencoders.loading.weights_roots", lambda: [tmp_path])
    assert available_autoencoders() == []
    with pytest.raises(AutoencoderNotFound, match=r"taef1.*\n.*vae_approx.*taef1_encoder") as info:
        load_vae("taef1")
    assert "FORENSICS_WEIGHTS" in str(info.value)
    with pytest.raises(FileNotFoundError, match="vaelight"):  # AutoencoderNotFound is a FileNotFoundError
        load_reconstructor("vaelight")
    with pytest.raises(AutoencoderNotFound, match=r"nowhere\.safetensors"):
        load_vae(tmp_path / "nowhere.safetensors")


def test_round_trip_rejects_sizes_off_the_latent_grid(weights: None) -> None:
    with pytest.raises(ValueError, match="multiples of 8"):
        load_reconstructor("vaelight").roundtrip(np.zeros((30, 64, 3), np.uint8))
