"""Deterministic choice of native-resolution tiles, aligned to the 8-pixel latent grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from forensics.autoencoders.distances import luma
from forensics.autoencoders.reconstructor import MULTIPLE

#: Smallest tile side worth reconstructing (the autoencoders' receptive field is larger than this).
MIN_SIDE = 64


@dataclass(frozen=True)
class Tile:
    """A window ``[y : y + height, x : x + width]`` of the image; all four are multiples of 8."""

    y: int
    x: int
    height: int
    width: int

    def cut(self, image: np.ndarray) -> np.ndarray:
        return image[self.y : self.y + self.height, self.x : self.x + self.width]


def select_tiles(image: np.ndarray, size: int, count: int) -> list[Tile]:
    """Up to ``count`` non-overlapping ``size x size`` tiles of ``image`` (H x W x 3), most textured first.

    Tiles start at multiples of ``size`` from the top-left corner, so they stay on the 8-pixel grid a
    decoder leaves in a full-frame output. Images smaller than ``size`` give one tile as large as fits
    (sides floored to multiples of 8). Texture is the RMS of the luma's Laplacian: flat tiles (sky,
    walls) are reconstructed almost perfectly by any autoencoder and tell nothing. Ties keep raster order.
    Returns an empty list when the image is smaller than ``MIN_SIDE`` on a side.
    """
    height, width = image.shape[:2]
    th = min(size, height // MULTIPLE * MULTIPLE)
    tw = min(size, width // MULTIPLE * MULTIPLE)
    if th < MIN_SIDE or tw < MIN_SIDE:
        return []
    rows, cols = height // th, width // tw
    energy = ndimage.laplace(luma(image[None, : rows * th, : cols * tw])[0]) ** 2
    texture = energy.reshape(rows, th, cols, tw).mean(axis=(1, 3)).ravel()
    order = np.argsort(-texture, kind="stable")[:count]
    return [Tile(int(i // cols) * th, int(i % cols) * tw, th, tw) for i in order]
