"""Local edits: a generator's output pasted back into the photo it came from, inside a feathered mask.

Inpainting tools return the photo with only the masked region replaced: AUTOMATIC1111 pastes the inpainted region
back over the original (softened by its "mask blur", 4 px by default), Photoshop's generative fill and ComfyUI's
composite node do the same. Outside the mask the pixels are the camera's, so a detector that averages over the
picture sees little of the edit. This step makes such files from a dataset already generated, without running a
model again: for each whole-image edit (img2img or round trip), the real copy of its source photo with an ellipse of
the edit pasted in. The mask goes to ``.masks/`` (8-bit PNG, 255 = the edit's pixels), ground truth for heatmaps.

    paste_back(Path("ds"), areas=[0.05, 0.15, 0.35])   # ds/local/*.png, ds/.masks/*.png, records in metadata.jsonl
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from forensics.classifier.dataset import PASTE_BACK

FEATHER_PX = 4.0  # AUTOMATIC1111's default mask blur
JOURNAL = "metadata-paste-back.jsonl"
#: Hidden, like the journals, so that ``datasets.load_dataset("imagefolder")`` does not take masks for images.
MASKS_DIR = ".masks"


def ellipse_mask(height: int, width: int, area: float, rng: np.random.Generator,
                 feather: float = FEATHER_PX) -> np.ndarray:
    """A rotated ellipse covering about ``area`` (0-1) of an ``height x width`` picture, inside it when it fits.

    Returns float32 ``height x width`` weights in [0, 1]: 1 inside, a linear ramp ``feather`` pixels wide across
    the outline, 0 outside.
    """
    if not 0.0 < area < 1.0:
        raise ValueError(f"area must lie strictly between 0 and 1, got {area}")
    aspect = rng.uniform(0.5, 2.0)
    semi_x = np.sqrt(area * height * width * aspect / np.pi)
    semi_y = area * height * width / (np.pi * semi_x)
    angle = rng.uniform(0.0, np.pi)
    # Half extents of the rotated ellipse's bounding box, so its centre is drawn where the whole ellipse fits.
    half_x = np.hypot(semi_x * np.cos(angle), semi_y * np.sin(angle))
    half_y = np.hypot(semi_x * np.sin(angle), semi_y * np.cos(angle))
    cx = rng.uniform(half_x, width - half_x) if width > 2 * half_x else width / 2
    cy = rng.uniform(half_y, height - half_y) if height > 2 * half_y else height / 2
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    radius = np.sqrt((u / semi_x) ** 2 + (v / semi_y) ** 2)  # 1 on the outline
    # Distance to the outline in pixels, approximately: (1 - radius) scaled by the local semi-axis.
    scale = np.sqrt((u**2 + v**2) / np.maximum(radius**2, 1e-12))
    return np.clip((1.0 - radius) * scale / feather + 0.5, 0.0, 1.0).astype(np.float32)


def paste(real: np.ndarray, edit: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``real`` with ``edit`` blended in by ``mask`` (both ``H x W x 3`` uint8, mask ``H x W`` in [0, 1])."""
    if real.shape != edit.shape or real.shape[:2] != mask.shape:
        raise ValueError(f"sizes differ: real {real.shape}, edit {edit.shape}, mask {mask.shape}")
    weight = mask[..., None]
    return np.round(real * (1.0 - weight) + edit * weight).astype(np.uint8)


def _encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def paste_back(out: Path, areas: Sequence[float], seed: int = 0) -> int:
    """Write one paste-back file per whole-image edit of the dataset in ``out``; returns how many were written.

    Only edits without post-processing are used, each with the real copy of its source (same size). Each edit gets
    one area of ``areas``, picked by its SHA-256, and a mask drawn from a generator seeded by ``seed`` and that
    hash, so a rebuild writes the same files. Files already recorded are skipped. The records (label ``edited``,
    kind ``paste-back``) keep the edit's generation parameters and add ``edit_kind``, ``edit_file``, ``mask_file``
    and ``edit_area``, the mask's mean (the share of the picture that is the edit's). Records go to a journal:
    :func:`generator.dataset.write_metadata` merges them.
    """
    from generator.dataset import PARTS_DIR, read_records

    if not areas:
        return 0
    records = read_records(out)
    reals = {(r["source_sha256"], r.get("width"), r.get("height")): r for r in records.values()
             if r["label"] == "real" and r.get("postprocess") == "none"}
    edits = [r for r in records.values()
             if r["label"] == "edited" and r.get("kind") != PASTE_BACK and r.get("postprocess") == "none"]
    written = 0
    (out / PARTS_DIR).mkdir(parents=True, exist_ok=True)
    with (out / PARTS_DIR / JOURNAL).open("a", encoding="utf-8") as journal:
        for edit in sorted(edits, key=lambda r: r["file_name"]):
            real = reals.get((edit["source_sha256"], edit.get("width"), edit.get("height")))
            digest = int(edit["sha256"][:16], 16)
            area = float(areas[digest % len(areas)])
            own = f"{Path(edit['file_name']).stem}-a{round(area * 100):02d}.png"
            name, mask_name = f"local/{own}", f"{MASKS_DIR}/{own}"
            if real is None or name in records:
                continue
            rng = np.random.default_rng([seed, digest])
            pixels = _rgb(out / edit["file_name"])
            mask = ellipse_mask(pixels.shape[0], pixels.shape[1], area, rng)
            data = _encode_png(paste(_rgb(out / real["file_name"]), pixels, mask))
            for file_name, payload in ((name, data), (mask_name, _encode_png(np.round(mask * 255).astype(np.uint8)))):
                (out / file_name).parent.mkdir(parents=True, exist_ok=True)
                (out / file_name).write_bytes(payload)
            record = {**edit, "file_name": name, "kind": PASTE_BACK, "edit_kind": edit["kind"],
                      "edit_file": edit["file_name"], "mask_file": mask_name, "edit_area": round(float(mask.mean()), 4),
                      "sha256": hashlib.sha256(data).hexdigest(), "format": "png", "quality": None}
            journal.write(json.dumps(record, sort_keys=True) + "\n")
            written += 1
    return written
