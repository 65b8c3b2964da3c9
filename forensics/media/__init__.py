"""Loading evidence files: sniff, check limits, decode. The input file is only ever read.

>>> media = load_media("photo.jpg")           # doctest: +SKIP
>>> media.kind, media.format, media.image.shape  # doctest: +SKIP
('image', 'JPEG', (1536, 2048, 3))
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from forensics.media.errors import MediaError
from forensics.media.image import iter_animation, open_image, to_rgb
from forensics.media.limits import MediaLimits
from forensics.media.png_chunks import without_oversized_chunks
from forensics.media.sniff import sniff
from forensics.media.video import VideoInfo, iter_video, probe_video

__all__ = ["Frame", "Media", "MediaError", "MediaLimits", "load_media", "media_from_bytes"]


@dataclass(frozen=True)
class Frame:
    """One decoded frame: its index in the stream, its time in seconds, RGB pixels (H x W x 3 uint8)."""

    index: int
    time_s: float
    rgb: np.ndarray


def _spread(image: np.ndarray) -> int:
    """Largest per-channel range (max - min) of an H x W x 3 uint8 image."""
    pixels = image.reshape(-1, image.shape[-1])
    return int((pixels.max(axis=0).astype(int) - pixels.min(axis=0)).max())


#: A colour still with at most this many distinct colours is a palette picture (GIF, palette PNG) or posterized...
PALETTE_COLOURS = 256
#: ... and a grey one with at most this many (an 8-bit grey photo has up to 256 levels; a bi-level scan has 2).
PALETTE_GREYS = 64
#: Counting colours says nothing about a picture this small or smaller (the pixel analyzers' smallest tile).
PALETTE_MIN_PIXELS = 64 * 64


def _is_palette(image: np.ndarray) -> bool:
    """True if an H x W x 3 uint8 image has at most :data:`PALETTE_COLOURS` distinct colours (:data:`PALETTE_GREYS`
    if every pixel is grey)."""
    packed = (image[..., 0].astype(np.uint32) << 16) | (image[..., 1].astype(np.uint32) << 8) | image[..., 2]
    colours = np.unique(packed)
    if colours.size > PALETTE_COLOURS:
        return False
    blue = colours & 0xFF
    grey = bool(np.all((colours >> 16) == blue) and np.all(((colours >> 8) & 0xFF) == blue))
    return colours.size <= (PALETTE_GREYS if grey else PALETTE_COLOURS)


@dataclass
class Media:
    """A decoded evidence file.

    Attributes:
        data: the file's original bytes, exactly as read; every analysis uses these.
        sha256: hex SHA-256 of ``data``.
        kind: ``"image"`` or ``"video"`` (GIF/WebP animations of 2+ frames count as video).
        format: container as recognised from the bytes (``JPEG``, ``PNG``, ``MP4``...).
        width, height: stored pixel size of the image or of the video frames.
        pil: the decoded Pillow image for stills and animations (metadata readers use its
            ``info``, EXIF and quantization tables); ``None`` for videos.
        video: container facts for videos, ``None`` for stills and animations.
        skipped_chunks: keywords of the PNG text chunks and ICC profile left unread because the decoder refuses
            them (too large once inflated, or past its budget for text: :mod:`forensics.media.png_chunks`); the
            pixels were decoded without them.
    """

    data: bytes
    sha256: str
    kind: Literal["image", "video"]
    format: str
    width: int
    height: int
    path: Path | None = None
    pil: Image.Image | None = None
    video: VideoInfo | None = None
    frame_count: int = 1
    limits: MediaLimits = field(default_factory=MediaLimits)
    skipped_chunks: tuple[str, ...] = ()
    _image: np.ndarray | None = field(default=None, repr=False)
    _flat: bool | None = field(default=None, repr=False)
    _palette: bool | None = field(default=None, repr=False)

    @property
    def image(self) -> np.ndarray:
        """RGB pixels of the still (or the first frame), H x W x 3 uint8, as stored (no rotation)."""
        if self._image is None:
            if self.pil is not None:
                self._image = to_rgb(self.pil)
            else:
                self._image = next(self.frames(max_frames=1)).rgb
        return self._image

    @property
    def is_flat(self) -> bool:
        """True if no channel of :attr:`image` varies by more than 2 levels: a blank picture, no texture to measure."""
        if self._flat is None:
            # A sparse sample rules out almost every picture before the full pass.
            self._flat = _spread(self.image[::16, ::16]) <= 2 and _spread(self.image) <= 2
        return self._flat

    @property
    def is_palette(self) -> bool:
        """True if :attr:`image` has at most 256 distinct colours (64 grey levels): a palette GIF or PNG, a bi-level
        scan, a posterized picture. Quantising the colours replaced the noise that pixel analysis measures."""
        if self._palette is None:
            # A sparse sample rules out almost every photo before the full count.
            self._palette = (self.width * self.height > PALETTE_MIN_PIXELS and _is_palette(self.image[::8, ::8])
                             and _is_palette(self.image))
        return self._palette

    @property
    def is_animation(self) -> bool:
        return self.pil is not None and self.frame_count > 1

    def frames(self, stride: int = 1, max_frames: int | None = None) -> Iterator[Frame]:
        """Decode frames lazily: every ``stride``-th frame, at most ``max_frames`` (and the limit)."""
        if stride < 1:
            raise ValueError("stride must be >= 1")
        limit = min(max_frames or self.limits.max_frames, self.limits.max_frames)
        if self.pil is not None:
            source = iter_animation(self.pil, stride, limit)
        else:
            source = iter_video(self.data, stride, limit)
        for index, time_s, rgb in source:
            yield Frame(index, time_s, rgb)

    def describe(self) -> dict[str, Any]:
        """Plain facts about the file for reports (JSON-serialisable)."""
        info: dict[str, Any] = {
            "kind": self.kind,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": len(self.data),
        }
        if self.pil is not None:
            info["mode"] = self.pil.mode
            if self.frame_count > 1:
                info["frames"] = self.frame_count
        if self.video is not None:
            v = self.video
            info.update(
                codec=v.codec,
                frames=v.frame_count,
                fps=v.fps,
                duration_s=v.duration_s,
                rotation=v.rotation,
                has_audio=v.has_audio,
            )
        if self.path is not None:
            suffix = self.path.suffix.lower().lstrip(".")
            info["extension"] = suffix
            if suffix and not _extension_matches(suffix, self.format):
                info["extension_mismatch"] = True
        return info


_EXTENSIONS = {
    "JPEG": {"jpg", "jpeg", "jpe", "jfif"},
    "PNG": {"png"},
    "GIF": {"gif"},
    "WEBP": {"webp"},
    "TIFF": {"tif", "tiff", "dng", "nef", "cr2", "arw"},
    "BMP": {"bmp", "dib"},
    "HEIF": {"heic", "heif", "hif"},
    "AVIF": {"avif"},
    "MP4": {"mp4", "m4v", "3gp", "3g2", "mov"},
    "MOV": {"mov", "qt", "mp4"},
    "AVI": {"avi"},
    "WEBM": {"webm", "mkv"},
    "MKV": {"mkv", "webm"},
}


def _extension_matches(suffix: str, fmt: str) -> bool:
    return suffix in _EXTENSIONS.get(fmt, {suffix})


def media_from_bytes(data: bytes, path: Path | None = None, limits: MediaLimits | None = None) -> Media:
    """Decode media held in memory. Raises :class:`MediaError` for anything unusable."""
    limits = limits or MediaLimits()
    if not data:
        raise MediaError("empty", "the file is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise MediaError("too_large", f"the file is {len(data) / 1e6:.0f} MB, above the size limit")
    sniffed = sniff(data[:64])
    if sniffed is None:
        raise MediaError("not_media", "the file is not an image or video format this tool reads")
    sha256 = hashlib.sha256(data).hexdigest()
    if sniffed.kind == "video":
        info = probe_video(data, limits)
        return Media(
            data=data,
            sha256=sha256,
            kind="video",
            format=sniffed.format,
            width=info.width,
            height=info.height,
            path=path,
            video=info,
            frame_count=info.frame_count,
            limits=limits,
        )
    try:
        img, skipped = open_image(data, limits), []
    except MediaError:
        stripped, skipped = without_oversized_chunks(data)
        if not skipped:
            raise
        img = open_image(stripped, limits)  # the pixels, without the metadata that would not inflate
    n_frames = int(getattr(img, "n_frames", 1))
    return Media(
        data=data,
        sha256=sha256,
        kind="video" if n_frames > 1 else "image",
        format=sniffed.format,
        width=img.width,
        height=img.height,
        path=path,
        pil=img,
        frame_count=n_frames,
        limits=limits,
        skipped_chunks=tuple(skipped),
    )


def load_media(path: str | Path, limits: MediaLimits | None = None) -> Media:
    """Read a file once, read-only, and decode it.

    Raises:
        MediaError: for missing, empty, oversized, truncated, or non-media files.
    """
    path = Path(path)
    limits = limits or MediaLimits()
    try:
        if not path.is_file():
            raise MediaError("unreadable", "no such file" if not path.exists() else "not a regular file")
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise MediaError("too_large", f"the file is {size / 1e6:.0f} MB, above the size limit")
        with path.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise MediaError("unreadable", f"the file could not be read ({exc.strerror or exc})") from exc
    return media_from_bytes(data, path=path, limits=limits)
