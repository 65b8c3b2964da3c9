"""Recognise a file's container from its first bytes, never from its name."""

from __future__ import annotations

from typing import NamedTuple

_ISO_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1", b"avif", b"avis"}


class Sniffed(NamedTuple):
    kind: str  # "image" or "video"
    format: str  # canonical container name, e.g. "JPEG", "MP4"


def sniff(head: bytes) -> Sniffed | None:
    """Identify the container from the first 64 bytes; ``None`` if it is no media we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "JPEG")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "PNG")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "GIF")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "WEBP")
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return Sniffed("video", "AVI")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return Sniffed("image", "TIFF")
    if head.startswith(b"BM"):
        return Sniffed("image", "BMP")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Sniffed("video", "WEBM" if b"webm" in head else "MKV")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _ISO_IMAGE_BRANDS:
            return Sniffed("image", "AVIF" if brand.startswith(b"avi") else "HEIF")
        return Sniffed("video", "MOV" if brand == b"qt  " else "MP4")
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # old QuickTime without ftyp
        return Sniffed("video", "MOV")
    return None


def webp_is_lossy(data: bytes) -> bool:
    """Whether a WebP file's image is VP8 (lossy) rather than VP8L (lossless): walks the RIFF chunks."""
    offset = 12
    while offset + 8 <= len(data):
        fourcc, size = data[offset : offset + 4], int.from_bytes(data[offset + 4 : offset + 8], "little")
        if fourcc in (b"VP8 ", b"VP8L"):
            return fourcc == b"VP8 "
        offset += 8 + size + (size & 1)
    return False
