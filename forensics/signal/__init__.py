"""Low-level pixel-signal helpers shared by the frequency and noise analyzers.

- :mod:`~forensics.signal.color`: JPEG's YCbCr planes as float32.
- :mod:`~forensics.signal.tiles`: native-resolution, 8-aligned tiles (never a resize).
- :mod:`~forensics.signal.residuals`: high-pass residuals and block statistics.
"""

from forensics.signal.color import luminance, ycbcr
from forensics.signal.residuals import block_mean, laplacian_residual, median_residual
from forensics.signal.tiles import extract_tiles, tile_origins, tile_size_for

__all__ = [
    "block_mean",
    "extract_tiles",
    "laplacian_residual",
    "luminance",
    "median_residual",
    "tile_origins",
    "tile_size_for",
    "ycbcr",
]
