"""JPEG history of training images, and how to give an edit the history of the photo it was made from.

Most real photos carry a JPEG history: the camera's or the archive's compression, visible in their pixels as an
8x8 block grid. The edits a generator writes do not: the decoder paints fresh pixels, saved losslessly. Trained on
such pairs, a detector can learn "block grid -> real" instead of the decoder's traces, and then calls any generated
image real once it has been saved as a JPEG (Grommelt et al., "Fake or JPEG? Revealing Common Biases in Generated
Image Detection Datasets", 2024). Re-saving each edit with its source photo's own quantisation tables makes the
history as common on both sides, so it no longer tells them apart. (Measured on this project's data it changed
little: JPEG erases the decoder trace itself; see ``datasets/README.md``.)

A history is plain data, ``{"qtables": [[64 ints], ...], "subsampling": int}`` (Pillow's JPEG save arguments), so a
dataset can store it in ``metadata.jsonl`` next to each record.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, JpegImagePlugin

if TYPE_CHECKING:
    from forensics.classifier.dataset import Record

JPEG_SUFFIXES = {".jpg", ".jpeg"}


def jpeg_history(path: Path) -> dict | None:
    """The quantisation tables and chroma subsampling of a JPEG file; ``None`` for any other format."""
    if path.suffix.lower() not in JPEG_SUFFIXES:
        return None
    with Image.open(path) as im:
        if not isinstance(im, JpegImagePlugin.JpegImageFile):
            return None
        tables = [list(im.quantization[k]) for k in sorted(im.quantization)]
        return {"qtables": tables, "subsampling": JpegImagePlugin.get_sampling(im)}


def resave_like(image: np.ndarray, history: dict) -> bytes:
    """JPEG file bytes of ``image`` (H x W x 3 uint8) saved with ``history``'s tables and subsampling."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", qtables=history["qtables"], subsampling=history["subsampling"])
    return buffer.getvalue()


def with_history(image: np.ndarray, history: dict) -> np.ndarray:
    """``image`` after :func:`resave_like`, decoded again: same shape, uint8."""
    with Image.open(io.BytesIO(resave_like(image, history))) as im:
        return np.asarray(im.convert("RGB"))


def source_history(record: Record) -> str:
    """The JPEG history an edit's record names for its source photo (``source_jpeg``), as the JSON a
    :class:`~forensics.classifier.cache.Sample` takes; ``""`` for real photos and edits of lossless sources."""
    history = record.info.get("source_jpeg") if record.label == 1 else None
    return json.dumps(history, sort_keys=True) if history else ""
