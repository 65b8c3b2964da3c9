"""A tiny Stable-Diffusion-shaped model built from config in code: no download, deterministic.

Tests and CPU demos run the exact pipeline code of a real SD 1.x checkpoint with it
(``StableDiffusionImg2ImgPipeline``: CLIP tokenizer and text encoder, a cross-attention UNet in a
4-channel latent space at 1/8 resolution, a scheduler and a VAE). Its UNet and text encoder have
random weights, so its edits are structured noise on top of the source, not realistic edits.

The tokenizer is byte-level BPE without merges: every UTF-8 byte is a token (with CLIP's ``</w>``
end-of-word variant), so any prompt tokenizes and no vocabulary file has to be fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import torch
from diffusers import UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

MAX_TOKENS = 77  # CLIP's context length, as in every SD 1.x/2.x checkpoint
TEXT_HIDDEN_SIZE = 32
BOS_TOKEN, EOS_TOKEN = "<|startoftext|>", "<|endoftext|>"


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator for module initialisation without disturbing the caller's RNG state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _bytes_to_unicode() -> list[str]:
    """CLIP/GPT-2's reversible map of the 256 byte values to printable unicode characters (index = byte)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars: dict[int, int] = {b: b for b in printable}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = 256 + extra
            extra += 1
    return [chr(chars[b]) for b in range(256)]


@lru_cache(maxsize=1)
def _byte_vocab() -> dict[str, int]:
    """514-entry vocabulary: 256 byte tokens, their 256 end-of-word forms, then BOS and EOS."""
    chars = _bytes_to_unicode()
    tokens = [*chars, *(c + "</w>" for c in chars), BOS_TOKEN, EOS_TOKEN]
    return {token: index for index, token in enumerate(tokens)}


def build_tokenizer() -> CLIPTokenizer:
    """Byte-level CLIP tokenizer (no merges), padded/truncated to 77 tokens like SD's."""
    return CLIPTokenizer(vocab=dict(_byte_vocab()), merges=[], model_max_length=MAX_TOKENS)


def text_encoder_config(
    hidden_size: int = TEXT_HIDDEN_SIZE, num_hidden_layers: int = 2, num_attention_heads: int = 4
) -> CLIPTextConfig:
    """Config of the tiny CLIP text encoder; its ``hidden_size`` is the UNet's ``cross_attention_dim``.

    (768, 12, 12) is the size of SD 1.x's CLIP ViT-L/14 text encoder, with this module's byte vocabulary.
    """
    vocab = _byte_vocab()
    return CLIPTextConfig(
        vocab_size=len(vocab),
        hidden_size=hidden_size,
        intermediate_size=(4 if hidden_size >= 256 else 2) * hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        max_position_embeddings=MAX_TOKENS,
        projection_dim=hidden_size,
        bos_token_id=vocab[BOS_TOKEN],
        eos_token_id=vocab[EOS_TOKEN],
        pad_token_id=vocab[EOS_TOKEN],
    )


def build_text_encoder(seed: int = 0, hidden_size: int = TEXT_HIDDEN_SIZE, **config: int) -> CLIPTextModel:
    """CLIP text encoder (tiny by default) with a deterministic random initialisation (same ``seed``, same weights).

    ``config``: ``num_hidden_layers``, ``num_attention_heads`` of :func:`text_encoder_config`.
    """
    with _seeded(seed):
        return CLIPTextModel(text_encoder_config(hidden_size, **config)).eval()


def tiny_unet_config(
    *,
    block_out_channels: tuple[int, ...] = (32, 64),
    layers_per_block: int = 1,
    cross_attention_dim: int = TEXT_HIDDEN_SIZE,
    latent_channels: int = 4,
    sample_size: int = 8,
    attention_head_dim: int = 8,
) -> dict:
    """``UNet2DConditionModel`` config of the tiny denoiser: SD 1.x's block layout, scaled down.

    The first block has no cross-attention, the others have (``DownBlock2D`` then ``CrossAttnDownBlock2D``),
    mirrored in the up path. ``sample_size`` is in latent pixels (8 = 64 px images); img2img ignores it.
    """
    depth = len(block_out_channels)
    return {
        "sample_size": sample_size,
        "in_channels": latent_channels,
        "out_channels": latent_channels,
        "block_out_channels": tuple(block_out_channels),
        "layers_per_block": layers_per_block,
        "down_block_types": ("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (depth - 1),
        "up_block_types": ("CrossAttnUpBlock2D",) * (depth - 1) + ("UpBlock2D",),
        "cross_attention_dim": cross_attention_dim,
        "attention_head_dim": attention_head_dim,
        "norm_num_groups": min(32, min(block_out_channels)),
    }


def build_tiny_unet(seed: int = 0, **config_overrides) -> UNet2DConditionModel:
    """Tiny ``UNet2DConditionModel`` with a deterministic random initialisation.

    Keyword arguments override :func:`tiny_unet_config` (e.g. ``block_out_channels=(64, 128, 128)``).
    """
    with _seeded(seed):
        return UNet2DConditionModel(**tiny_unet_config(**config_overrides)).eval()
