"""Distances between pictures and their reconstructions, one value per tile.

All functions take batches ``N x H x W x 3`` of uint8 RGB and return ``N`` float64 values;
pixel distances are in 8-bit grey levels (0-255).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

_LUMA = np.array([0.299, 0.587, 0.114])


def luma(batch: np.ndarray) -> np.ndarray:
    """``N x H x W`` float64 luma (BT.601) of ``N x H x W x 3`` RGB."""
    return batch.astype(np.float64) @ _LUMA


def l1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean absolute difference over pixels and channels."""
    return np.abs(a.astype(np.float64) - b).mean(axis=(1, 2, 3))


def l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root mean squared difference over pixels and channels."""
    return np.sqrt(((a.astype(np.float64) - b) ** 2).mean(axis=(1, 2, 3)))


def _laplacian(grey: np.ndarray) -> np.ndarray:
    return np.stack([ndimage.laplace(g, mode="reflect") for g in grey])


def high_pass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMS of the Laplacian of the luma difference: the error in fine detail, where decoders leave traces."""
    return np.sqrt((_laplacian(luma(a) - luma(b)) ** 2).mean(axis=(1, 2)))


def dssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Structural dissimilarity ``1 - SSIM`` of the lumas (Gaussian window, sigma 1.5), in [0, 2]."""
    ya, yb = luma(a), luma(b)
    return np.array(
        [
            1.0 - structural_similarity(x, y, data_range=255.0, gaussian_weights=True, sigma=1.5)
            for x, y in zip(ya, yb, strict=True)
        ]
    )


def gradient_energy(a: np.ndarray) -> np.ndarray:
    """RMS of the luma's Laplacian: how much fine texture a tile has (0 for a flat tile)."""
    return np.sqrt((_laplacian(luma(a)) ** 2).mean(axis=(1, 2)))


def block_error(a: np.ndarray, b: np.ndarray, block: int) -> np.ndarray:
    """Mean absolute difference per ``block x block`` cell of one ``H x W x 3`` pair: ``H/block x W/block``."""
    h, w = a.shape[0] // block * block, a.shape[1] // block * block
    diff = np.abs(a[:h, :w].astype(np.float64) - b[:h, :w]).mean(axis=2)
    return diff.reshape(h // block, block, w // block, block).mean(axis=(1, 3))


#: The distances computed for every autoencoder, by feature suffix.
DISTANCES = {"l1": l1, "l2": l2, "hf": high_pass, "dssim": dssim}
