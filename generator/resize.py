"""Input resizing as ComfyUI's ``ImageScale`` node does it, then rounded to the latent grid.

ComfyUI semantics: width or height 0 keeps the aspect ratio (both 0 keeps the size); ``crop="center"`` first cuts
the centre of the source to the target aspect ratio, ``"disabled"`` stretches. Methods: "nearest-exact",
"bilinear", "area", "bicubic" through ``torch.nn.functional.interpolate`` exactly as ComfyUI's
``common_upscale`` calls it, "lanczos" through Pillow as ComfyUI does. Unlike ComfyUI, the target size is rounded
to a multiple of 8 (the latent grid of every SD-family autoencoder) so that diffusers never crops silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

METHODS = ("nearest-exact", "bilinear", "area", "bicubic", "lanczos")
CROPS = ("disabled", "center")
MULTIPLE = 8


@dataclass(frozen=True)
class ResizeSpec:
    """Target ``width`` x ``height`` in pixels (0 = from the aspect ratio), method and crop mode."""

    width: int = 0
    height: int = 0
    method: str = "lanczos"
    crop: str = "disabled"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown resize method {self.method!r}; use one of {', '.join(METHODS)}")
        if self.crop not in CROPS:
            raise ValueError(f"unknown crop {self.crop!r}; use one of {', '.join(CROPS)}")
        if self.width < 0 or self.height < 0:
            raise ValueError("width and height must be >= 0")


def round_to_multiple(value: float, multiple: int = MULTIPLE) -> int:
    """Nearest multiple of ``multiple``, at least ``multiple``."""
    return max(multiple, round(value / multiple) * multiple)


def target_size(size: tuple[int, int], spec: ResizeSpec) -> tuple[int, int]:
    """Output (width, height) for a source of ``size`` = (width, height): ComfyUI's rule, then rounded to 8."""
    width, height = size
    if spec.width == 0 and spec.height == 0:
        new_w, new_h = width, height
    elif spec.width == 0:
        new_w, new_h = max(1, round(width * spec.height / height)), spec.height
    elif spec.height == 0:
        new_w, new_h = spec.width, max(1, round(height * spec.width / width))
    else:
        new_w, new_h = spec.width, spec.height
    return round_to_multiple(new_w), round_to_multiple(new_h)


def _center_crop_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """ComfyUI ``common_upscale``'s centre crop of the source to the target aspect: (left, top, right, bottom)."""
    old_w, old_h = size
    old_aspect, new_aspect = old_w / old_h, target[0] / target[1]
    x = y = 0
    if old_aspect > new_aspect:
        x = round((old_w - old_w * (new_aspect / old_aspect)) / 2)
    elif old_aspect < new_aspect:
        y = round((old_h - old_h * (old_aspect / new_aspect)) / 2)
    return x, y, old_w - x, old_h - y


def resize_image(image: Image.Image, spec: ResizeSpec) -> Image.Image:
    """Resize an image to :func:`target_size` (RGB out). Returns a copy even when the size does not change."""
    image = image.convert("RGB")
    target = target_size(image.size, spec)
    if spec.crop == "center":
        image = image.crop(_center_crop_box(image.size, target))
    if image.size == target:
        return image.copy()
    if spec.method == "lanczos":
        return image.resize(target, Image.Resampling.LANCZOS)
    samples = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    scaled = torch.nn.functional.interpolate(samples, size=(target[1], target[0]), mode=spec.method)
    pixels = (scaled[0].permute(1, 2, 0).clamp(0, 1) * 255.0).round().to(torch.uint8).numpy()
    return Image.fromarray(pixels, "RGB")
