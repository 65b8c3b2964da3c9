"""Generation settings of tools without a parser of their own: a prompt beside sampler settings.

Many front ends and scripts around diffusers save their settings as one text chunk per setting (``prompt``,
``seed``, ``num_inference_steps``, ...) or as a JSON object in one chunk. No camera or photo editor writes a prompt
together with a seed, a step count or a guidance scale, so that combination is read as generation settings whatever
the tool's name.
"""

from __future__ import annotations

from typing import Any

from forensics.analyzers.metadata.readout import clip_text, load_json, number

_PROMPT_KEYS = ("prompt", "positive_prompt")
#: Settings only a sampler has; two of them beside a prompt are required.
_SAMPLER_KEYS = frozenset({
    "seed", "steps", "num_inference_steps", "sampler", "sampler_name", "scheduler", "cfg_scale", "guidance_scale",
    "cfg", "inference_steps", "num_steps",
})  # fmt: skip
_STRENGTH_KEYS = ("denoising_strength", "strength", "prompt_strength", "denoise", "image_strength")
_INIT_KEYS = ("init_image", "init_image_path", "image", "input_image")
_MODEL_KEYS = ("model", "model_name", "use_stable_diffusion_model", "checkpoint", "sd_model")


def _prompt(settings: dict[str, Any]) -> str | None:
    return next((settings[k] for k in _PROMPT_KEYS if isinstance(settings.get(k), str)), None)


def _settings(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """``candidate`` with lower-case keys, when it holds a prompt and two sampler settings."""
    lowered = {str(k).lower(): v for k, v in candidate.items()}
    if _prompt(lowered) is None or len(_SAMPLER_KEYS & lowered.keys()) < 2:
        return None
    return lowered


def parse_generic(texts: dict[str, str]) -> dict[str, Any] | None:
    """Settings found as separate text items or as a JSON object in one of them; ``None`` if neither."""
    candidates: list[dict[str, Any]] = [texts]
    for value in texts.values():
        if value.lstrip().startswith("{"):
            parsed = load_json(value)
            if isinstance(parsed, dict):
                candidates.append(parsed)
    found = next((s for s in map(_settings, candidates) if s is not None), None)
    if found is None:
        return None
    strength = next((v for v in (number(found.get(k)) for k in _STRENGTH_KEYS) if v is not None), None)
    from_image = any(found.get(k) for k in _INIT_KEYS) or (strength is not None and strength < 1)
    return {
        "format": "generic",
        "prompt": clip_text(_prompt(found)),
        "negative_prompt": clip_text(found.get("negative_prompt", "")),
        "seed": number(found.get("seed")),
        "steps": number(found.get("steps", found.get("num_inference_steps"))),
        "model": clip_text(next((found[k] for k in _MODEL_KEYS if found.get(k)), ""), 300),
        "denoising_strength": strength,
        "keys": sorted(found)[:50],
        "mode": "img2img" if from_image else "unknown",
    }
