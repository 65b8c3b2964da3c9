"""Write an SD-1.x-shaped diffusers pipeline as a single-file checkpoint in the original (LDM) layout.

The inverse of what ``from_single_file`` / ComfyUI's ``CheckpointLoaderSimple`` read: UNet keys under
``model.diffusion_model.`` with ``input_blocks``/``middle_block``/``output_blocks`` numbering, the CLIP text
encoder under ``cond_stage_model.transformer.``. It lets the built-in models (and the tests) exercise the
single-file loading path offline. The autoencoder is not written: the built-ins use TAESD, which has no LDM
layout, so load such a file with a VAE override (``load_editor(path, vae="taesd", config=folder)``).
"""

from __future__ import annotations

import os

import torch
from safetensors.torch import save_file

UNET_PREFIX = "model.diffusion_model."
TEXT_ENCODER_PREFIX = "cond_stage_model.transformer."

# resnet sub-module names: (LDM, diffusers)
_RESNET_PARTS = (
    ("in_layers.0", "norm1"),
    ("in_layers.2", "conv1"),
    ("out_layers.0", "norm2"),
    ("out_layers.3", "conv2"),
    ("emb_layers.1", "time_emb_proj"),
    ("skip_connection", "conv_shortcut"),
)


def _unet_prefix_map(config: dict) -> list[tuple[str, str]]:
    """(LDM prefix, diffusers prefix) pairs for a UNet2DConditionModel config, any depth and layers per block."""
    per_block = config["layers_per_block"]
    depth = len(config["block_out_channels"])
    pairs = [
        ("time_embed.0.", "time_embedding.linear_1."),
        ("time_embed.2.", "time_embedding.linear_2."),
        ("input_blocks.0.0.", "conv_in."),
        ("out.0.", "conv_norm_out."),
        ("out.2.", "conv_out."),
        ("middle_block.0.", "mid_block.resnets.0."),
        ("middle_block.1.", "mid_block.attentions.0."),
        ("middle_block.2.", "mid_block.resnets.1."),
    ]
    for i in range(depth):
        for j in range(per_block):
            block = 1 + i * (per_block + 1) + j
            pairs.append((f"input_blocks.{block}.0.", f"down_blocks.{i}.resnets.{j}."))
            pairs.append((f"input_blocks.{block}.1.", f"down_blocks.{i}.attentions.{j}."))
        if i < depth - 1:
            pairs.append((f"input_blocks.{(i + 1) * (per_block + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv."))
        has_attention = config["up_block_types"][i].startswith("CrossAttn")
        for j in range(per_block + 1):
            pairs.append((f"output_blocks.{i * (per_block + 1) + j}.0.", f"up_blocks.{i}.resnets.{j}."))
            pairs.append((f"output_blocks.{i * (per_block + 1) + j}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < depth - 1:
            upsampler = f"output_blocks.{i * (per_block + 1) + per_block}.{2 if has_attention else 1}."
            pairs.append((upsampler, f"up_blocks.{i}.upsamplers.0."))
    return pairs


def unet_to_ldm(state_dict: dict[str, torch.Tensor], config: dict) -> dict[str, torch.Tensor]:
    """Rename a diffusers ``UNet2DConditionModel`` state dict to the LDM layout (without the model prefix)."""
    pairs = _unet_prefix_map(config)
    converted = {}
    for key, tensor in state_dict.items():
        matches = [(ldm, hf) for ldm, hf in pairs if key.startswith(hf)]
        if not matches:
            raise ValueError(f"UNet key {key!r} has no LDM equivalent")
        ldm, hf = max(matches, key=lambda pair: len(pair[1]))
        rest = key[len(hf):]
        if ".resnets." in hf or hf.startswith("mid_block.resnets"):
            for ldm_part, hf_part in _RESNET_PARTS:
                if rest.startswith(hf_part + "."):
                    rest = ldm_part + rest[len(hf_part):]
                    break
        converted[ldm + rest] = tensor
    return converted


def save_single_file(pipe, path: str | os.PathLike) -> None:
    """Save ``pipe``'s UNet and text encoder as one LDM-layout ``.safetensors`` file (see the module docstring)."""
    tensors = {UNET_PREFIX + k: v for k, v in unet_to_ldm(pipe.unet.state_dict(), dict(pipe.unet.config)).items()}
    # original checkpoints keep transformers' ``text_model.`` level, which transformers >= 5.6 no longer has
    level = "" if hasattr(pipe.text_encoder, "text_model") else "text_model."
    tensors.update({TEXT_ENCODER_PREFIX + level + k: v for k, v in pipe.text_encoder.state_dict().items()})
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, os.fspath(path))
