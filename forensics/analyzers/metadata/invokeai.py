"""InvokeAI metadata in its three generations of format.

* ``invokeai_metadata`` (v3+): JSON with ``generation_mode`` (``txt2img``, ``img2img``, ``inpaint``,
  ``outpaint``, ``sdxl_img2img``...), prompts, seed, steps, ``strength`` for image-to-image.
* ``sd-metadata`` (v2): JSON whose ``image`` holds ``type`` (``txt2img``/``img2img``), ``strength``
  and ``init_image_path``.
* ``Dream`` (v1/v2): the dream command line, ``"prompt" -s 50 -S 42 -W 512 -H 512 -I init.png -f 0.75``.
"""

from __future__ import annotations

import re
import shlex
from itertools import pairwise
from typing import Any

from forensics.analyzers.metadata.readout import clip_text, load_json, number

# dream switches -> field name (short and long forms)
_DREAM_FLAGS = {
    "-s": "steps", "--steps": "steps", "-S": "seed", "--seed": "seed", "-W": "width", "--width": "width",
    "-H": "height", "--height": "height", "-C": "cfg_scale", "--cfg_scale": "cfg_scale",
    "-A": "sampler", "--sampler": "sampler", "-I": "init_image", "--init_img": "init_image",
    "-f": "strength", "--strength": "strength", "-M": "init_mask", "--init_mask": "init_mask",
    "-m": "model", "--model": "model",
}  # fmt: skip
_NUMERIC = {"steps", "seed", "width", "height", "cfg_scale", "strength"}


def _mode_from(generation_mode: str, strength: float | None, has_init: bool) -> str:
    text = generation_mode.lower()
    for mode in ("inpaint", "outpaint", "img2img"):
        if mode in text:
            return mode
    if "txt2img" in text:
        return "txt2img"
    return "img2img" if has_init or strength is not None else "txt2img"


def _from_invokeai_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    model = meta.get("model")
    strength = number(meta.get("strength"))
    has_init = bool(meta.get("init_image") or meta.get("image"))
    return {
        "version": clip_text(meta.get("app_version", "3+"), 50),
        "mode": _mode_from(str(meta.get("generation_mode", "")), strength, has_init),
        "prompt": clip_text(meta.get("positive_prompt", "")),
        "negative_prompt": clip_text(meta.get("negative_prompt", "")),
        "steps": number(meta.get("steps")),
        "cfg_scale": number(meta.get("cfg_scale")),
        "seed": number(meta.get("seed")),
        "width": number(meta.get("width")),
        "height": number(meta.get("height")),
        "sampler": clip_text(meta.get("scheduler", ""), 100),
        "model": clip_text(model.get("model_name", "") if isinstance(model, dict) else model or "", 300),
        "strength": strength,
    }


def _from_sd_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    image = meta.get("image") if isinstance(meta.get("image"), dict) else {}
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " | ".join(str(p.get("prompt", "")) for p in prompt if isinstance(p, dict))
    strength = number(image.get("strength"))
    has_init = bool(image.get("init_image_path"))
    tools = [str(p.get("tool", "")) for p in image.get("postprocessing") or [] if isinstance(p, dict)]
    mode = _mode_from(str(image.get("type", "")), strength if has_init else None, has_init)
    if mode == "txt2img" and any(t in ("outcrop", "outpaint") for t in tools):
        mode = "outpaint"  # a later pass extended the generated picture
    return {
        "version": clip_text(meta.get("app_version", "2"), 50),
        "mode": mode,
        "prompt": clip_text(prompt or ""),
        "steps": number(image.get("steps")),
        "cfg_scale": number(image.get("cfg_scale")),
        "seed": number(image.get("seed")),
        "width": number(image.get("width")),
        "height": number(image.get("height")),
        "sampler": clip_text(image.get("sampler", ""), 100),
        "model": clip_text(meta.get("model_weights") or meta.get("model_id") or meta.get("model") or "", 300),
        "strength": strength if has_init else None,
        "init_image": clip_text(image.get("init_image_path") or "", 300) or None,
        "postprocessing": [clip_text(t, 50) for t in tools],
    }


def _from_dream(command: str) -> dict[str, Any] | None:
    try:
        tokens = shlex.split(command[:20_000])
    except ValueError:
        tokens = command[:20_000].split()
    if not tokens:
        return None
    if tokens[0].startswith("!"):  # "!fix", "!mask": a post-processing or masking command on an existing file
        return {
            "version": "dream",
            "mode": "edit",
            "command": clip_text(tokens[0], 20),
            "init_image": clip_text(tokens[1], 300) if len(tokens) > 1 else None,
        }
    fields: dict[str, Any] = {"version": "dream", "prompt": clip_text(tokens[0])}
    for flag, value in pairwise(tokens):
        name = _DREAM_FLAGS.get(flag)
        if name is None:
            glued = re.fullmatch(r"(-[sSWHCAIfm])(.+)", flag)  # "-s50" style
            if glued is None:
                continue
            name, value = _DREAM_FLAGS[glued.group(1)], glued.group(2)
        fields[name] = number(value) if name in _NUMERIC else clip_text(value, 300)
    if not any(k in fields for k in ("steps", "seed", "cfg_scale", "sampler")):
        return None
    has_init = bool(fields.get("init_image"))
    fields["mode"] = ("inpaint" if fields.get("init_mask") else "img2img") if has_init else "txt2img"
    return fields


def parse_invokeai(texts: dict[str, str]) -> dict[str, Any] | None:
    """Parse InvokeAI chunks (``invokeai_metadata``, ``sd-metadata``, ``Dream``), newest format first."""
    meta = load_json(texts.get("invokeai_metadata"))
    if isinstance(meta, dict):
        parsed = _from_invokeai_metadata(meta)
    else:
        sd_meta = load_json(texts.get("sd-metadata"))
        if isinstance(sd_meta, dict) and ("image" in sd_meta or "app_id" in sd_meta):
            parsed = _from_sd_metadata(sd_meta)
        elif texts.get("Dream"):
            parsed = _from_dream(texts["Dream"])
        else:
            return None
    if parsed is None:
        return None
    parsed["format"] = "invokeai"
    parsed["has_graph"] = "invokeai_graph" in texts
    return parsed
