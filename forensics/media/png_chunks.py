"""PNG metadata chunks that the decoder refuses: found without inflating them past its limits, and left out.

Pillow refuses a whole PNG when one compressed chunk of metadata (``zTXt``, compressed ``iTXt``, the ICC profile
``iCCP``) inflates beyond ``PngImagePlugin.MAX_TEXT_CHUNK``, or when its text adds up to more than
``MAX_TEXT_MEMORY``: guards against decompression bombs. The pixels are still evidence, and a bomb in the metadata
would otherwise hide them from analysis, so the image is decoded from a copy of the bytes without those chunks (the
file itself is never touched) and the report names what was left unread.
"""

from __future__ import annotations

import struct
import zlib

from PIL import PngImagePlugin

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT = (b"tEXt", b"zTXt", b"iTXt", b"iCCP")


def _inflated_size(compressed: bytes, limit: int) -> int:
    """Bytes that zlib ``compressed`` inflates to, counted up to ``limit + 1`` (no more is inflated)."""
    try:
        return len(zlib.decompressobj().decompress(compressed, limit + 1))
    except zlib.error:
        return 0  # broken, not oversized: the decoder reports it


def _text_of(kind: bytes, body: bytes) -> tuple[str, bytes, bool] | None:
    """(keyword, payload, whether the payload is a zlib stream) of a text chunk or ICC profile; else ``None``."""
    keyword, sep, rest = body.partition(b"\0")
    if not sep:
        return None
    name = keyword.decode("latin-1")[:79]
    if kind == b"tEXt":
        return name, rest, False
    if kind in (b"zTXt", b"iCCP"):  # keyword (the profile's name for iCCP)\0, method, stream
        return (name if kind == b"zTXt" else f"ICC profile {name}"), rest[1:], True
    if kind == b"iTXt":  # compression flag, method, language\0, translated keyword\0, text
        parts = rest[2:].split(b"\0", 2)
        return (name, parts[2], rest[:1] == b"\1") if len(parts) == 3 else None
    return None


def without_oversized_chunks(data: bytes) -> tuple[bytes, list[str]]:
    """(``data`` less the text chunks and ICC profile Pillow would refuse, their keywords).

    Refused, as Pillow refuses them: a compressed chunk that inflates beyond ``MAX_TEXT_CHUNK``, and every text chunk
    past the point where the file's text adds up to ``MAX_TEXT_MEMORY``. Nothing is inflated beyond those
    bounds. Data that is not a PNG, or has no such chunk, comes back as it is with no keyword.
    """
    if not data.startswith(_SIGNATURE):
        return data, []
    chunk_limit, budget = PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY
    kept, dropped, pos = [data[:8]], [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        text = _text_of(kind, data[pos + 8:pos + 8 + length]) if kind in _TEXT else None
        refused = False
        if text is not None:
            name, payload, compressed = text
            size = _inflated_size(payload, chunk_limit) if compressed else len(payload)
            counted = size if kind != b"iCCP" else 0  # Pillow's memory budget is for text only
            refused = (compressed and size > chunk_limit) or counted > budget
            if refused:
                dropped.append(name)
            else:
                budget -= counted
        if not refused:
            kept.append(data[pos:end])
        pos = end
    kept.append(data[pos:])
    return (b"".join(kept), dropped) if dropped else (data, [])
