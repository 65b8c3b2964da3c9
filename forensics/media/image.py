"""Still images (and GIF/WebP animations) through Pillow, HEIC/AVIF through pillow-heif."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageSequence

from forensics.media.errors import MediaError
from forensics.media.limits import MediaLimits

try:  # HEIC/AVIF support is optional at import time, required for those files
    import pillow_heif

    pillow_heif.register_heif_opener()
    if hasattr(pillow_heif, "register_avif_opener"):
        pillow_heif.register_avif_opener()
except ImportError:  # pragma: no cover - declared dependency
    pillow_heif = None

# Our own pixel limit (MediaLimits) is checked before decoding; Pillow's global
# bomb check would otherwise refuse large but legitimate panoramas with a warning.
Image.MAX_IMAGE_PIXELS = None


def open_image(data: bytes, limits: MediaLimits) -> Image.Image:
    """Open and fully decode an image held in memory.

    Raises:
        MediaError: ``too_large`` beyond ``limits.max_pixels``, ``truncated`` for cut files,
            ``unreadable`` when the decoder rejects the data.
    """
    try:
        img = Image.open(io.BytesIO(data))
    except Exception as exc:
        raise _decode_error(exc, "the image decoder rejected the file", data) from exc
    width, height = img.size
    if width * height > limits.max_pixels:
        raise MediaError(
            "too_large",
            f"image claims {width}x{height} = {width * height / 1e6:.0f} MP, above the "
            f"{limits.max_pixels / 1e6:.0f} MP limit (possible decompression bomb)",
        )
    if getattr(img, "n_frames", 1) > limits.max_frames:
        raise MediaError("too_large", f"animation has {img.n_frames} frames, above the limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except Exception as exc:
        raise _decode_error(exc, "the image could not be decoded", data) from exc
    return img


def _decode_error(exc: Exception, context: str, data: bytes) -> MediaError:
    """Tell a cut-short file (a common, recognisable failure) from other decoder errors."""
    text = str(exc)
    if "truncat" in text.lower() or "broken data stream" in text:
        return MediaError("truncated", f"the image data is cut short ({text})")
    # libwebp says only that it "could not create decoder object"; the RIFF header says how long the file should be
    declared = int.from_bytes(data[4:8], "little") + 8 if data[:4] == b"RIFF" else 0
    if declared > len(data):
        return MediaError("truncated", f"the file is cut short: its header declares {declared} bytes, "
                                       f"{len(data)} are present ({text})")
    return MediaError("unreadable", f"{context} ({type(exc).__name__}: {text})")


def to_rgb(img: Image.Image) -> np.ndarray:
    """Pixels as an H x W x 3 uint8 RGB array, whatever the mode.

    16-bit greyscale is scaled (not clipped) to 8 bits; alpha is dropped without
    compositing, because the colour values under the alpha are the evidence.
    """
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        grey = np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode == "F":
        grey = np.clip(np.asarray(img, dtype=np.float64), 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA") if img.mode != "RGBA" else img
        return np.ascontiguousarray(np.asarray(img)[:, :, :3])
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.asarray(img)


def iter_animation(img: Image.Image, stride: int, limit: int) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield ``(index, time_s, rgb)`` for frames of a GIF/WebP animation.

    Every frame is loaded, skipped ones too: animation frames are deltas on their
    predecessors, and Pillow fills in a frame's timing only once it is loaded.
    """
    elapsed_ms = 0.0
    yielded = 0
    for index, frame in enumerate(ImageSequence.Iterator(img)):
        if yielded >= limit:
            break
        frame.load()
        start_ms = frame.info.get("timestamp", elapsed_ms)  # WebP states it; GIF needs the running sum
        if index % stride == 0:
            yield index, float(start_ms) / 1000.0, to_rgb(frame.convert("RGBA") if frame.mode == "P" else frame)
            yielded += 1
        elapsed_ms = float(start_ms) + float(frame.info.get("duration", 0) or 0)
