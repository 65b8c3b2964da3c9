"""Fooocus (JSON ``parameters`` with ``fooocus_scheme``) and NovelAI (``Software: NovelAI`` + JSON ``Comment``)."""

from __future__ import annotations

from typing import Any

from forensics.analyzers.metadata.readout import clip_text, load_json, number, sampler_settings, size_fields


def parse_fooocus(texts: dict[str, str]) -> dict[str, Any] | None:
    """Fooocus' own scheme: ``parameters`` is a JSON object (its A1111 scheme is parsed as A1111)."""
    meta = load_json(texts.get("parameters"))
    if not isinstance(meta, dict) or not ("fooocus_scheme" in texts or "base_model" in meta):
        return None
    return {
        "format": "fooocus",
        **sampler_settings(meta, "prompt", "negative_prompt", "steps", "guidance_scale"),
        **size_fields(meta.get("resolution", "")),
        "model": clip_text(meta.get("base_model", ""), 300),
        "performance": clip_text(meta.get("performance", ""), 50),
        "styles": clip_text(meta.get("styles", ""), 500),
        "version": clip_text(meta.get("version", ""), 50),
        # Fooocus writes its image-prompt / inpaint settings only when used
        "mode": "img2img" if any(k.startswith(("inpaint", "uov", "image_prompt")) for k in meta) else "txt2img",
    }


def parse_novelai(texts: dict[str, str]) -> dict[str, Any] | None:
    """NovelAI PNGs: ``Software`` = NovelAI, prompt in ``Description``, settings JSON in ``Comment``."""
    if "novelai" not in texts.get("Software", "").lower():
        return None
    comment = load_json(texts.get("Comment"))
    comment = comment if isinstance(comment, dict) else {}
    request = str(comment.get("request_type", ""))
    return {
        "format": "novelai",
        **sampler_settings(comment, "prompt", "uc", "steps", "scale"),
        "prompt": clip_text(texts.get("Description", "") or comment.get("prompt", "")),
        "strength": number(comment.get("strength")),
        "noise": number(comment.get("noise")),
        "model": clip_text(texts.get("Source", ""), 300),
        # NovelAI writes strength/noise for every request; only the request type says img2img
        "mode": "img2img" if "img2img" in request.lower() else ("txt2img" if request else "unknown"),
    }
