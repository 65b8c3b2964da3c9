""" "Stealth" generation parameters hidden in pixel low bits (A1111/Forge stealth-pnginfo, NovelAI).

Layout (sd-webui-stealth-pnginfo): pixels are read column by column; in alpha mode one bit
per pixel (alpha LSB), in RGB mode three (R, G, B LSBs). The bit stream is a 15-byte signature
(``stealth_pnginfo``/``stealth_pngcomp`` for alpha, ``stealth_rgbinfo``/``stealth_rgbcomp`` for RGB),
a 32-bit big-endian payload length in bits, then the payload (gzip for ``*comp``), UTF-8 text.
"""

from __future__ import annotations

import zlib

import numpy as np
from PIL import Image

from forensics.analyzers.metadata.readout import MAX_TEXT_CHARS

_SIGNATURES = {
    b"stealth_pnginfo": ("alpha", False),
    b"stealth_pngcomp": ("alpha", True),
    b"stealth_rgbinfo": ("rgb", False),
    b"stealth_rgbcomp": ("rgb", True),
}
_HEADER_BITS = 15 * 8 + 32


def _bitstream(img: Image.Image, mode: str) -> np.ndarray:
    """Low bits in reading order (column-major; R, G, B interleaved in RGB mode), uint8 0/1."""
    arr = np.asarray(img)
    if mode == "alpha":
        return (arr[:, :, 3].T & 1).reshape(-1)
    return (arr[:, :, :3].transpose(1, 0, 2) & 1).reshape(-1)


def read_stealth(img: Image.Image | None) -> tuple[str, str] | None:
    """The hidden text and its mode (``alpha``/``rgb``), or ``None`` when there is no stealth signature."""
    if img is None or img.mode not in ("RGBA", "RGB") or img.width * img.height * 3 < _HEADER_BITS:
        return None
    modes = ("alpha", "rgb") if img.mode == "RGBA" else ("rgb",)
    for mode in modes:
        bits = _bitstream(img, mode)
        if bits.size < _HEADER_BITS:
            continue
        header = np.packbits(bits[:_HEADER_BITS]).tobytes()
        found = _SIGNATURES.get(header[:15])
        if found is None or found[0] != mode:
            continue
        length = int.from_bytes(header[15:19], "big")
        if length <= 0 or length > bits.size - _HEADER_BITS or length > 8 * MAX_TEXT_CHARS:
            return None
        payload = np.packbits(bits[_HEADER_BITS : _HEADER_BITS + length]).tobytes()
        if found[1]:
            try:  # max_length bounds a decompression bomb
                payload = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(payload, MAX_TEXT_CHARS)
            except zlib.error:
                return None
        return payload.decode("utf-8", errors="replace"), mode
    return None
