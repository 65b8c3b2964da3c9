"""Native-resolution patch grids and per-patch scores of a :class:`ResidualCNN`."""

from __future__ import annotations

import numpy as np
import torch

from forensics.learned.network import ResidualCNN


def patch_grid(height: int, width: int, patch: int, max_patches: int) -> list[tuple[int, int]]:
    """Top-left corners ``(y, x)`` of non-overlapping ``patch`` squares on a grid anchored at (0, 0).

    The grid keeps the image's 8-pixel phase (JPEG blocks, latent cells) in every patch. When it has more
    than ``max_patches`` cells, an evenly spread subset is taken. Empty when the image is smaller than a patch.
    """
    rows, cols = height // patch, width // patch
    cells = [(r * patch, c * patch) for r in range(rows) for c in range(cols)]
    if len(cells) > max_patches:
        cells = [cells[i] for i in np.linspace(0, len(cells) - 1, max_patches).round().astype(int)]
    return cells


def to_batch(image: np.ndarray, corners: list[tuple[int, int]], patch: int) -> torch.Tensor:
    """Patches of an ``H x W x 3`` uint8 image as an ``(N, 3, patch, patch)`` float tensor in [0, 1]."""
    crops = np.stack([image[y : y + patch, x : x + patch] for y, x in corners])
    return torch.from_numpy(crops).permute(0, 3, 1, 2).float().div_(255.0)


@torch.inference_mode()
def patch_logits(model: ResidualCNN, image: np.ndarray, max_patches: int, batch: int = 64) -> tuple[np.ndarray, list]:
    """Logits of the patches of ``image`` (``H x W x 3`` uint8) and their corners; model in eval mode."""
    patch = model.config.patch
    corners = patch_grid(image.shape[0], image.shape[1], patch, max_patches)
    logits = [model(to_batch(image, corners[i : i + batch], patch)) for i in range(0, len(corners), batch)]
    return (torch.cat(logits).numpy().astype(np.float64) if logits else np.zeros(0)), corners
