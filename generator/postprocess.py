"""Post-processing variants applied identically to real and edited images, so a classifier cannot learn them.

A variant is a chain of operations joined by ``+``, applied left to right:
  - ``none``: nothing;
  - ``jpeg<Q>``: JPEG compression at quality Q (1-100), 4:2:0 chroma subsampling as most encoders use;
  - ``webp<Q>``: lossy WebP compression at quality Q (1-100), as image hosts and generator front ends serve;
  - ``heic<Q>``: HEVC (HEIC) compression at quality Q (1-100; x265 through pillow-heif, 4:2:0), as phones save photos;
  - ``resize<F>``: rescale by factor F (Lanczos; 0.5 halves each side), sizes rounded to whole pixels;
  - ``crop<F>``: keep the central fraction F of each side;
  - ``social``: a messaging-app chain, ``resize0.75+jpeg75``.
Example: ``crop0.9+resize0.5+jpeg70``. A trailing ``jpeg<Q>`` is the file's own encoding (no second compression);
a ``webp<Q>`` or ``heic<Q>`` step is compressed and decoded in place, and the file keeps its decoded pixels.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pillow_heif
from PIL import Image

ALIASES = {"social": "resize0.75+jpeg75"}
_OP = re.compile(r"^(jpeg|webp|heic|resize|crop)(\d+(?:\.\d+)?)$")
_LOSSY = ("jpeg", "webp", "heic")


@dataclass(frozen=True)
class Operation:
    kind: str  # "jpeg", "webp", "heic", "resize" or "crop"
    value: float


@dataclass(frozen=True)
class PostProcess:
    """A parsed chain; ``name`` is the canonical spelling recorded in the metadata and used in file names."""

    name: str
    operations: tuple[Operation, ...]

    @classmethod
    def parse(cls, spec: str) -> PostProcess:
        text = spec.strip().lower()
        expanded = "+".join(ALIASES.get(part, part) for part in text.split("+"))
        if expanded in ("", "none"):
            return cls("none", ())
        operations = []
        for part in expanded.split("+"):
            match = _OP.match(part)
            if not match:
                raise ValueError(f"unknown post-processing step {part!r} in {spec!r} (see generator.postprocess)")
            kind, value = match.group(1), float(match.group(2))
            if kind in _LOSSY and not (1 <= value <= 100 and value.is_integer()):
                raise ValueError(f"{kind.upper()} quality must be an integer in 1-100, got {part!r}")
            if kind in ("resize", "crop") and not 0 < value <= (1 if kind == "crop" else 8):
                raise ValueError(f"{kind} factor out of range in {part!r}")
            operations.append(Operation(kind, value))
        return cls(text, tuple(operations))

    @property
    def output_jpeg_quality(self) -> int | None:
        """Quality of a trailing ``jpeg<Q>``: the file is written as this JPEG."""
        if self.operations and self.operations[-1].kind == "jpeg":
            return int(self.operations[-1].value)
        return None

    def apply(self, image: Image.Image) -> Image.Image:
        """Apply every operation but a trailing JPEG (left to the writer, see :attr:`output_jpeg_quality`)."""
        operations = self.operations[:-1] if self.output_jpeg_quality is not None else self.operations
        for operation in operations:
            image = _apply(image.convert("RGB"), operation)
        return image


def _apply(image: Image.Image, operation: Operation) -> Image.Image:
    width, height = image.size
    if operation.kind == "heic":
        buffer = io.BytesIO()
        pillow_heif.from_pillow(image).save(buffer, quality=int(operation.value), chroma=420)
        return pillow_heif.open_heif(io.BytesIO(buffer.getvalue())).to_pillow().convert("RGB")
    if operation.kind in _LOSSY:
        buffer = io.BytesIO()
        options = {"subsampling": 2} if operation.kind == "jpeg" else {}
        image.save(buffer, operation.kind.upper(), quality=int(operation.value), **options)
        return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if operation.kind == "resize":
        size = (max(1, round(width * operation.value)), max(1, round(height * operation.value)))
        return image.resize(size, Image.Resampling.LANCZOS)
    keep_w, keep_h = max(1, round(width * operation.value)), max(1, round(height * operation.value))
    left, top = (width - keep_w) // 2, (height - keep_h) // 2
    return image.crop((left, top, left + keep_w, top + keep_h))


def encode(image: Image.Image, post: PostProcess, image_format: str = "png", quality: int = 95) -> tuple[bytes, str]:
    """Encode ``image`` (already through ``post.apply``) as the dataset stores it; returns (bytes, file extension).

    A trailing ``jpeg<Q>`` wins over ``image_format``; otherwise "png" (lossless), "jpeg" or "webp" at ``quality``.
    Metadata (EXIF, ICC) is never written, for both classes alike.
    """
    buffer = io.BytesIO()
    jpeg_quality = post.output_jpeg_quality
    image = image.convert("RGB")
    if jpeg_quality is not None or image_format == "jpeg":
        image.save(buffer, "JPEG", quality=jpeg_quality or quality, subsampling=2)
        return buffer.getvalue(), "jpg"
    if image_format == "webp":
        image.save(buffer, "WEBP", quality=quality)
        return buffer.getvalue(), "webp"
    if image_format != "png":
        raise ValueError(f"unknown output format {image_format!r}; use png, jpeg or webp")
    image.save(buffer, "PNG")
    return buffer.getvalue(), "png"
