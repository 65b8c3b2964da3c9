"""The TAESD family (TAESD, TAESDXL, TAESD3, TAEF1) from ComfyUI's single-file layout.

ComfyUI keeps each tiny autoencoder as two files, ``vae_approx/<name>_encoder.safetensors`` and
``vae_approx/<name>_decoder.safetensors``, whose keys are ``nn.Sequential`` indices of the original
TAESD code, stored in bf16. :func:`load_taesd` maps them onto :class:`diffusers.AutoencoderTiny`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderTiny
from safetensors.torch import load_file

SUBFOLDER = "vae_approx"


@dataclass(frozen=True)
class TinyAutoencoderSpec:
    """What distinguishes one member of the family in diffusers' config.

    ``scaling_factor``/``shift_factor`` are what a diffusers pipeline applies around ``vae.decode``
    (``latents / scaling_factor + shift_factor``). TAESD encoders output latents already in the
    diffusion model's (scaled, shifted) space (ComfyUI decodes with ``taesd_decoder((z - shift) * scale)``),
    so the right pipeline config is the identity: 1.0 and 0.0 for every member. The family is told
    apart by ``latent_channels`` only (4 for the SD 1.x / SDXL spaces, 16 for SD3 / FLUX.1).
    """

    name: str
    latent_space: str
    latent_channels: int
    scaling_factor: float = 1.0
    shift_factor: float = 0.0


TAESD_FAMILY: dict[str, TinyAutoencoderSpec] = {
    spec.name: spec
    for spec in (
        TinyAutoencoderSpec("taesd", "Stable Diffusion 1.x/2.x", 4),
        TinyAutoencoderSpec("taesdxl", "SDXL", 4),
        TinyAutoencoderSpec("taesd3", "Stable Diffusion 3", 16),
        TinyAutoencoderSpec("taef1", "FLUX.1", 16),
    )
}


def taesd_files(root: Path, name: str) -> tuple[Path, Path]:
    """Encoder and decoder paths of built-in ``name`` under one weights root."""
    folder = Path(root) / SUBFOLDER
    return folder / f"{name}_encoder.safetensors", folder / f"{name}_decoder.safetensors"


def _diffusers_state_dict(encoder: dict[str, torch.Tensor], decoder: dict[str, torch.Tensor]) -> dict:
    """Rename ComfyUI's Sequential keys to diffusers' ``AutoencoderTiny`` keys, cast to float32.

    Encoder ``i.*`` -> ``encoder.layers.i.*``. Decoder ``i.*`` -> ``decoder.layers.(i-1).*``: index 0 of
    the original decoder is the ``tanh`` clamp, which diffusers applies in ``DecoderTiny.forward``.
    """
    state = {f"encoder.layers.{key}": value.float() for key, value in encoder.items()}
    for key, value in decoder.items():
        index, _, rest = key.partition(".")
        state[f"decoder.layers.{int(index) - 1}.{rest}"] = value.float()
    return state


def load_taesd(name: str, encoder_path: Path, decoder_path: Path) -> AutoencoderTiny:
    """Build an ``AutoencoderTiny`` (float32, eval mode) from a single-file encoder/decoder pair.

    The load is strict: a missing or unexpected key raises ``RuntimeError``.
    """
    spec = TAESD_FAMILY[name]
    model = AutoencoderTiny(
        latent_channels=spec.latent_channels,
        scaling_factor=spec.scaling_factor,
        shift_factor=spec.shift_factor,
    )
    model.load_state_dict(_diffusers_state_dict(load_file(encoder_path), load_file(decoder_path)), strict=True)
    return model.eval()
