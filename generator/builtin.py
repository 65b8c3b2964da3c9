"""Named built-in models: built in code (or from weights shipped in ``models/``), no download.

Each entry of :data:`BUILTIN_MODELS` is a factory returning the components of a
``StableDiffusionImg2ImgPipeline`` (``unet``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler``) plus two
descriptive keys the loader strips off: ``"description"`` (printed whenever the model is used, so nobody mistakes
it for a real checkpoint) and ``"vae_name"`` (recorded with each edit). Adding a model is one entry::

    BUILTIN_MODELS["my-model"] = my_components   # def my_components() -> dict
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoencoderTiny, EulerDiscreteScheduler

from generator.schedulers import SD_SCHEDULER_CONFIG
from generator.tiny import build_text_encoder, build_tiny_unet, build_tokenizer

BUILTIN_PREFIX = "builtin:"  # model ids of built-ins in records, e.g. "builtin:tiny"
DESCRIPTIVE_KEYS = ("description", "vae_name")


def default_vae(name: str = "taesd", seed: int = 0) -> tuple[torch.nn.Module, str]:
    """The real TAESD-family autoencoder ``name`` when its weights are present, else a seeded random one.

    Returns the autoencoder and the name to record ("taesd", or "random-autoencoder-tiny" when the weights are
    missing, in which case decoded images are noise-like and the description says so).
    """
    from forensics.autoencoders import AutoencoderNotFound, load_vae

    try:
        return load_vae(name), name
    except AutoencoderNotFound:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return AutoencoderTiny().eval(), "random-autoencoder-tiny"


def tiny_components() -> dict[str, Any]:
    """The built-in tiny SD-1.x-shaped model: random UNet and text encoder, TAESD as VAE when present."""
    vae, vae_name = default_vae("taesd")
    return {
        "unet": build_tiny_unet(seed=0),
        "text_encoder": build_text_encoder(seed=0),
        "tokenizer": build_tokenizer(),
        "vae": vae,
        "scheduler": EulerDiscreteScheduler.from_config(SD_SCHEDULER_CONFIG),
        "vae_name": vae_name,
        "description": (
            "built-in TINY model (random UNet and text encoder, for tests and CPU demos; edits are not realistic), "
            f"VAE: {vae_name}"
        ),
    }


def inhouse_ldm_components(folder: Path | None = None) -> dict[str, Any]:
    """The in-house trained latent diffusion model of ``models/inhouse-ldm`` (see its README), with the real TAESD.

    ``folder`` loads another training output of the same recipe instead (``unet/`` and ``text_encoder/``).

    A small UNet trained on CPU in TAESD's latent space with SD 1.x's noise schedule (recipe:
    ``datasets/inhouse-ldm.json``, script: ``generator/train_unet.py``). It was trained without captions, so prompts
    are accepted but do not steer it. Raises ``AutoencoderNotFound`` when the TAESD weights are missing.
    """
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    from forensics.autoencoders import load_vae
    from forensics.config import PROJECT_ROOT

    folder = folder or PROJECT_ROOT / "models" / "inhouse-ldm"
    return {
        "unet": UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=torch.float32).eval(),
        "text_encoder": CLIPTextModel.from_pretrained(folder / "text_encoder", torch_dtype=torch.float32).eval(),
        "tokenizer": build_tokenizer(),
        "vae": load_vae("taesd"),
        "scheduler": EulerDiscreteScheduler.from_config(SD_SCHEDULER_CONFIG),
        "vae_name": "taesd",
        "description": (
            "built-in IN-HOUSE latent diffusion model (small UNet trained on CPU on real photos in TAESD's latent "
            "space, SD 1.x noise schedule; low capacity, prompts do not steer it), VAE: taesd"
        ),
    }


def sd15_architecture_components() -> dict[str, Any]:
    """Stable Diffusion 1.5's exact architecture (860M-parameter UNet, CLIP ViT-L/14-sized text encoder, KL VAE)
    with seeded random weights: realistic compute for throughput benchmarks, meaningless pixels."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        unet = UNet2DConditionModel(
            sample_size=64, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, cross_attention_dim=768,
            attention_head_dim=8, down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
        ).eval()
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
            scaling_factor=0.18215,
        ).eval()
    return {
        "unet": unet,
        "text_encoder": build_text_encoder(seed=0, hidden_size=768, num_hidden_layers=12, num_attention_heads=12),
        "tokenizer": build_tokenizer(),
        "vae": vae,
        "scheduler": PNDMScheduler.from_config(SD_SCHEDULER_CONFIG),
        "vae_name": "sd15-architecture-kl (random)",
        "description": "built-in SD 1.5 ARCHITECTURE with random weights (for throughput benchmarks; no real edits)",
    }


BUILTIN_MODELS: dict[str, Callable[[], dict[str, Any]]] = {
    "tiny": tiny_components,
    "inhouse-ldm": inhouse_ldm_components,
    "sd15-architecture": sd15_architecture_components,
}


def is_builtin(model: str) -> bool:
    """True for a registered name, with or without the ``builtin:`` prefix."""
    return model.removeprefix(BUILTIN_PREFIX) in BUILTIN_MODELS
