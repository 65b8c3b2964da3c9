"""Colour conversions in the space JPEG itself uses (ITU-R BT.601 YCbCr, full range)."""

from __future__ import annotations

import cv2
import numpy as np


def ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Y, Cb, Cr planes (each H x W uint8) of an H x W x 3 uint8 RGB image.

    JPEG compresses exactly these planes (chroma usually at half resolution), so its
    8x8 luma and 16x16 chroma block grids are cleanest here.
    """
    ycc = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YCrCb)  # OpenCV orders Y, Cr, Cb
    return ycc[..., 0], ycc[..., 2], ycc[..., 1]


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma Y (H x W uint8, BT.601) of an H x W x 3 uint8 RGB image; ~4 ms per megapixel."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
