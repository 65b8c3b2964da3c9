"""SwarmUI (JSON ``parameters`` with ``sui_image_params``) and Draw Things (XMP ``exif:UserComment`` JSON).

SwarmUI documents its format ("SwarmUI Image Metadata Format", in its docs): a PNG ``parameters``
text chunk, or the EXIF ``UserComment`` of a JPEG or WebP, holding a JSON object whose ``sui_image_params`` are the
parameters used, by SwarmUI's parameter ids. An init image shows as ``initimagecreativity`` (the img2img strength;
0 keeps the picture as it is, which only an instruction-edit model changes), a mask as ``mask...`` ids, a second
(refiner or upscale) pass as ``refiner...`` ids.

Draw Things (iOS/macOS) writes XMP with ``xmp:CreatorTool`` "Draw Things" and its settings as JSON in
``exif:UserComment``: ``c`` the prompt, ``uc`` the negative prompt, ``strength`` below 1 for img2img.
"""

from __future__ import annotations

from typing import Any

from forensics.analyzers.metadata.readout import clip_text, load_json, number, sampler_settings, size_fields


def _whole(value: Any) -> int | None:
    found = number(value)
    return int(found) if found is not None else None


def parse_swarmui(texts: dict[str, str]) -> dict[str, Any] | None:
    """SwarmUI's ``parameters`` JSON; ``None`` when the texts hold none."""
    meta = load_json(texts.get("parameters"))
    params = meta.get("sui_image_params") if isinstance(meta, dict) else None
    if not isinstance(params, dict):
        return None
    creativity = number(params.get("initimagecreativity"))
    if creativity is not None and any(key.startswith("mask") for key in params):
        mode = "inpaint"
    elif creativity == 0:
        mode = "edit"
    elif creativity is not None:
        mode = "img2img"
    elif any(key.startswith("refiner") for key in params):
        mode = "txt2img+hires"
    else:
        mode = "txt2img"
    strength = creativity if creativity is not None else number(params.get("refinercontrolpercentage"))
    return {
        "format": "swarmui",
        **sampler_settings(params, "prompt", "negativeprompt", "steps", "cfgscale"),
        "scheduler": clip_text(params.get("scheduler", ""), 100),
        "width": _whole(params.get("width")),
        "height": _whole(params.get("height")),
        "model": clip_text(params.get("model", ""), 300),
        "version": clip_text(params.get("swarm_version", ""), 50),
        "denoising_strength": strength,
        "mode": mode,
    }


def parse_drawthings(texts: dict[str, str]) -> dict[str, Any] | None:
    """Draw Things' XMP settings (``CreatorTool`` and ``xmp:UserComment`` of :func:`text_sources`)."""
    if "draw things" not in texts.get("CreatorTool", "").lower():
        return None
    meta = load_json(texts.get("xmp:UserComment"))
    meta = meta if isinstance(meta, dict) else {}
    strength = number(meta.get("strength"))
    return {
        "format": "drawthings",
        **sampler_settings(meta, "c", "uc", "steps", "scale"),
        **size_fields(meta.get("size", "")),
        "model": clip_text(meta.get("model", ""), 300),
        "denoising_strength": strength,
        # strength 1 regenerates everything (text to image); below 1 the canvas' picture is kept in part
        "mode": "unknown" if strength is None else ("img2img" if strength < 1 else "txt2img"),
    }
