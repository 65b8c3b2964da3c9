"""AUTOMATIC1111 / Forge "parameters" text: prompt, negative prompt and the settings line.

The text (PNG ``parameters`` chunk, JPEG/WebP EXIF UserComment, stealth alpha data) reads::

    a photo of a duck
    Negative prompt: monochrome
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: x, Denoising strength: 0.57

``Denoising strength`` marks an img2img (or inpainting) run, or a hires-fix second pass
when ``Hires upscale``/``Hires steps`` are present too.
"""

from __future__ import annotations

import re
from typing import Any

from forensics.analyzers.metadata.readout import clip_text, number

# key: value pairs of the settings line; values with commas are double-quoted (A1111's own regex).
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_NEGATIVE = "Negative prompt:"
_NUMERIC = {"Steps", "CFG scale", "Seed", "Denoising strength", "Clip skip", "Mask blur", "Hires steps"}
#: The settings line always names at least a couple of these keys.
_SIGNATURE_KEYS = {"Steps", "Sampler", "CFG scale", "Seed", "Size", "Model hash", "Model"}


def parse_a1111(text: str) -> dict[str, Any] | None:
    """Parse A1111 parameters text; ``None`` if it is not in that format.

    Returns a dict with ``prompt``, ``negative_prompt``, ``settings`` (every key of the
    settings line, numbers as floats) and the usual fields lifted out: ``steps``, ``sampler``,
    ``cfg_scale``, ``seed``, ``width``, ``height``, ``model``, ``model_hash``,
    ``denoising_strength`` (``None`` when absent) and ``mode`` (``txt2img``, ``img2img`` or
    ``txt2img+hires``).
    """
    lines = text.strip().splitlines()
    if not lines:
        return None
    settings_line = lines[-1]
    settings: dict[str, Any] = {}
    for key, raw in _PARAM.findall(settings_line):
        value = raw.strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = value[1:-1]
        settings[key.strip()] = number(value) if key.strip() in _NUMERIC and number(value) is not None else value
    if len(_SIGNATURE_KEYS & settings.keys()) < 2:
        return None
    body = "\n".join(lines[:-1])
    prompt, _, negative = body.partition(_NEGATIVE)
    width = height = None
    size = re.fullmatch(r"(\d+)\s*x\s*(\d+)", str(settings.get("Size", "")))
    if size:
        width, height = int(size.group(1)), int(size.group(2))
    denoise = settings.get("Denoising strength")
    denoise = denoise if isinstance(denoise, float) else None
    hires = any(k.startswith("Hires") for k in settings)
    mode = "txt2img"
    if denoise is not None:
        mode = "txt2img+hires" if hires else "img2img"
    return {
        "format": "a1111",
        "prompt": clip_text(prompt.strip()),
        "negative_prompt": clip_text(negative.strip()),
        "steps": settings.get("Steps"),
        "sampler": settings.get("Sampler"),
        "cfg_scale": settings.get("CFG scale"),
        "seed": settings.get("Seed"),
        "width": width,
        "height": height,
        "model": settings.get("Model"),
        "model_hash": settings.get("Model hash"),
        "denoising_strength": denoise,
        "mode": mode,
        "settings": {k: clip_text(v) if isinstance(v, str) else v for k, v in list(settings.items())[:100]},
    }
