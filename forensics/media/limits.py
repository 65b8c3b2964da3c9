"""Resource limits that protect a batch from hostile or absurd files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MediaLimits:
    """Refuse files beyond these sizes before decoding them.

    Attributes:
        max_bytes: largest file read into memory, in bytes.
        max_pixels: largest image (width x height) or video frame decoded, in pixels.
            The default, 200 MP, admits every real camera and panorama stitch we know of
            while refusing decompression bombs (a 20 kB PNG that claims 50,000 x 50,000).
        max_frames: most frames decoded from one clip or animation.
    """

    max_bytes: int = 2 * 1024**3
    max_pixels: int = 200_000_000
    max_frames: int = 100_000

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.max_frames) <= 0:
            raise ValueError("media limits must be positive")
