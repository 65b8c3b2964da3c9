"""Native-resolution tiling: analyse a bounded number of crops instead of resizing.

Resizing destroys exactly the traces these analyzers look for (upsampling peaks,
block grids, sensor noise), so large images are sampled, never scaled. Tile origins
are multiples of 8 from the image origin, so the JPEG block grid and a latent
decoder's 8-pixel period keep the same phase in every tile.
"""

from __future__ import annotations

import numpy as np

GRID = 8  # JPEG block size and the latent-diffusion upsampling factor


def tile_size_for(height: int, width: int, preferred: int, minimum: int, multiple: int = 16) -> int | None:
    """The tile side to use: ``preferred`` if the image allows, else the largest multiple of
    ``multiple`` that fits; ``None`` if even ``minimum`` does not fit."""
    side = min(preferred, min(height, width) // multiple * multiple)
    return side if side >= minimum else None


def tile_origins(height: int, width: int, size: int, max_tiles: int) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of at most ``max_tiles`` tiles of ``size`` spread evenly over the image.

    Corners lie on multiples of 8. Tiles do not overlap when the image is large
    enough, and may overlap for small images (which still get several tiles).
    """
    per_side = max(1, int(np.sqrt(max_tiles)))
    ny = min(per_side, -(-height // size))
    nx = min(max_tiles // ny, -(-width // size))
    return [(y, x) for y in _starts(height, size, ny) for x in _starts(width, size, nx)]


def _starts(extent: int, size: int, count: int) -> list[int]:
    """``count`` tile starts spread from 0 to the last 8-aligned start that fits."""
    last = (extent - size) // GRID * GRID
    return sorted({round(s / GRID) * GRID for s in np.linspace(0, last, count)})


def extract_tiles(image: np.ndarray, origins: list[tuple[int, int]], size: int) -> np.ndarray:
    """Stack the tiles of an H x W (x C) array: N x size x size (x C), same dtype."""
    return np.stack([image[y : y + size, x : x + size] for y, x in origins])
