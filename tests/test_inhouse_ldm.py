"""The in-house trained latent diffusion model ("inhouse-ldm"): shipped, registered, and a real denoiser.

Everything runs the shipped weights through the real code paths (TAESD, the SD noise schedule, the img2img
pipeline, ``forensics generate``) on held-out photos the model never saw in training.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from forensics.cli import cli
from forensics.config import PROJECT_ROOT
from generator.builtin import BUILTIN_MODELS, is_builtin
from generator.editor import EditParams, load_editor
from generator.train_unet import (
    build_unet,
    embed_prompts,
    encode_crops,
    epsilon_loss,
    load_photo,
    noise_scheduler,
    photo_split,
    read_recipe,
    square,
    train,
)

MODEL_DIR = PROJECT_ROOT / "models" / "inhouse-ldm"
HELD_OUT_PHOTO = "kodak/kodak_kodim14.png"


@pytest.fixture(scope="module")
def recipe(data_dir) -> dict:
    return read_recipe(PROJECT_ROOT / "datasets" / "inhouse-ldm.json")


@pytest.fixture(scope="module")
def components() -> dict:
    return BUILTIN_MODELS["inhouse-ldm"]()


def psnr(a: Image.Image, b: Image.Image) -> float:
    mse = np.mean((np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def test_shipped_weights_are_small_safetensors_with_model_card():
    weights = [MODEL_DIR / "unet" / "diffusion_pytorch_model.safetensors",
               MODEL_DIR / "text_encoder" / "model.safetensors"]
    assert all(path.is_file() for path in weights)
    assert sum(path.stat().st_size for path in weights) < 20e6
    for name in ("README.md", "loss_curve.png", "img2img_grid.png", "metrics.json"):
        assert (MODEL_DIR / name).is_file(), name


def test_held_out_photos_are_excluded_from_training(recipe):
    train, held_out = photo_split(recipe)
    assert sorted(held_out) == sorted(recipe["held_out"]["files"])
    assert not set(train) & set(held_out)
    assert HELD_OUT_PHOTO in held_out and all(photo in held_out for photo in recipe["grid"]["photos"])


def test_registered_builtin_uses_sd_noise_schedule_and_taesd_latents(components):
    assert is_builtin("inhouse-ldm") and is_builtin("builtin:inhouse-ldm")
    schedule = components["scheduler"].config
    assert (schedule.beta_schedule, schedule.beta_start, schedule.beta_end) == ("scaled_linear", 0.00085, 0.012)
    assert (schedule.num_train_timesteps, schedule.prediction_type) == (1000, "epsilon")
    unet = components["unet"]
    assert unet.config.in_channels == unet.config.out_channels == components["vae"].config.latent_channels == 4
    assert unet.config.cross_attention_dim == components["text_encoder"].config.hidden_size
    assert components["vae_name"] == "taesd"


@pytest.mark.slow
def test_trained_unet_denoises_held_out_photo_far_better_than_random_init(recipe, components):
    """Noise prediction error on a held-out photo's latents at timesteps across the schedule."""
    torch.manual_seed(0)
    photo = square(load_photo(recipe, HELD_OUT_PHOTO), 128)
    clean = encode_crops(components["vae"], [photo]).expand(5, -1, -1, -1)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    timesteps = torch.tensor([100, 300, 500, 700, 900])
    context = embed_prompts(recipe, [""]).expand(5, -1, -1)
    scheduler = noise_scheduler()
    with torch.no_grad():
        trained = epsilon_loss(components["unet"], scheduler, clean, noise, timesteps, context).mean().item()
        random = epsilon_loss(build_unet(recipe).eval(), scheduler, clean, noise, timesteps, context).mean().item()
    assert trained < 0.5 * random, (trained, random)


@pytest.mark.slow
def test_img2img_of_held_out_photo_stays_close_unlike_random_tiny_model(recipe):
    """At strength 0.4 the trained model keeps the photo far better than the random tiny model (same TAESD).

    PSNR to the source: the trained model is an approximate denoiser, the random UNet's edit is structured noise.
    """
    source = square(load_photo(recipe, HELD_OUT_PHOTO), 128)
    params = EditParams(prompt="a photo", strength=0.4, steps=10, seed=0, guidance=7.5)
    scores = {name: psnr(source, load_editor(name, device="cpu").edit(source, params).image) for name in
              ("inhouse-ldm", "tiny")}
    assert scores["inhouse-ldm"] > scores["tiny"] + 3.0, scores


@pytest.mark.slow
def test_forensics_generate_builds_dataset_with_inhouse_model(recipe, photos_dir, tmp_path):
    out = tmp_path / "ds"
    result = CliRunner().invoke(cli, [
        "generate", str(photos_dir / HELD_OUT_PHOTO), "--out", str(out), "--model", "inhouse-ldm", "--strengths",
        "0.5", "--steps", "8", "--width", "128", "--height", "128", "--crop", "center", "--styles", "photorealistic",
    ])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    edited = [r for r in records if r["label"] == "edited"]
    assert len(edited) == 1
    assert json.loads(edited[0]["generation"])["model_description"].startswith("built-in IN-HOUSE")
    image = Image.open(out / edited[0]["file_name"])
    assert image.size == (128, 128)


def test_training_runs_checkpoints_and_resumes(recipe, tmp_path):
    """A few real training steps of a narrow UNet on TAESD latents of held-out photos, then a resumed run."""
    from forensics.autoencoders import AutoencoderNotFound, load_vae

    try:
        vae = load_vae(recipe["autoencoder"])
    except AutoencoderNotFound as exc:
        pytest.skip(str(exc))
    crops = [square(load_photo(recipe, f), 160) for f in recipe["held_out"]["files"][:3]]
    latents = encode_crops(vae, crops)
    cache, out = tmp_path / "cache", tmp_path / "model"
    cache.mkdir()
    torch.save({"train": latents[:2], "held_out": latents[2:], "train_files": [], "held_out_files": []},
               cache / "latents.pt")
    small = json.loads(json.dumps(recipe))
    small["unet"] |= {"block_out_channels": [8, 16, 16]}
    small["train"] |= {"batch_size": 2, "max_steps": 3, "checkpoint_every": 2, "threads": 1}
    small["evaluation"] |= {"every": 2, "timesteps": [99, 499]}
    small["prompts"]["random_phrase_prompts"] = 4
    train(small, cache, out, minutes=5)
    first = [json.loads(line) for line in (cache / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in first] == [1, 2, 3] and "held_out_loss" in first[1]
    assert (out / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert torch.load(cache / "checkpoint.pt")["step"] == 3

    small["train"]["max_steps"] = 5
    train(small, cache, out, minutes=5, resume=True)
    log = [json.loads(line) for line in (cache / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5]
    assert log[3]["time_s"] >= log[2]["time_s"] and all(np.isfinite(r["loss"]) for r in log)
    assert torch.load(cache / "checkpoint.pt")["step"] == 5
