"""Built-in style prompts for img2img edits of real photos, and reading a prompts file.

The styles are the kinds of edit people apply to photos with img2img (stylisation, "restoration", relighting);
each has a prompt and a negative prompt in the form SD 1.x users write them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

_NEGATIVE = "blurry, low quality, jpeg artifacts, watermark, text"


@dataclass(frozen=True)
class StylePrompt:
    """A named prompt pair; ``name`` is recorded with each edit."""

    name: str
    prompt: str
    negative_prompt: str = _NEGATIVE


STYLE_PROMPTS: dict[str, StylePrompt] = {
    style.name: style
    for style in (
        StylePrompt("watercolor", "a watercolor painting, soft washes of color, paper texture, delicate brush strokes"),
        StylePrompt("oil-painting", "an oil painting on canvas, thick impasto brush strokes, rich colors"),
        StylePrompt("anime", "anime style illustration, cel shading, clean line art, vibrant colors, studio quality"),
        StylePrompt("photo-restoration", "restored photograph, sharp focus, natural colors, high detail, 4k, "
                    "professional photo", "scratches, dust, noise, faded, " + _NEGATIVE),
        StylePrompt("golden-hour", "photo at golden hour, warm sunlight, long soft shadows, cinematic lighting, "
                    "high detail"),
        StylePrompt("pencil-sketch", "a detailed pencil sketch, graphite on paper, cross hatching, monochrome"),
        StylePrompt("cyberpunk", "cyberpunk city night, neon lights, rain reflections, futuristic, highly detailed"),
        StylePrompt("photorealistic", "a photo, realistic, highly detailed, sharp focus, dslr, natural lighting"),
        StylePrompt("vintage-film", "vintage 1970s film photograph, kodachrome colors, film grain, slight fade"),
        StylePrompt("winter", "the same scene in winter, covered in fresh snow, overcast sky, cold light"),
    )
}


def read_prompts(path: str | Path) -> list[StylePrompt]:
    """Prompts from a file: ``.json`` / ``.jsonl`` objects with ``prompt`` (and optional ``name``,
    ``negative_prompt``), or plain text with one prompt per line (``prompt | negative prompt``; ``#`` comments).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".json", ".jsonl"):
        items = json.loads(text) if path.suffix.lower() == ".json" else [
            json.loads(line) for line in text.splitlines() if line.strip()
        ]
        return [
            StylePrompt(item.get("name", f"{path.stem}-{i}"), item["prompt"], item.get("negative_prompt", ""))
            for i, item in enumerate(items)
        ]
    prompts = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        prompt, _, negative = line.partition("|")
        prompts.append(StylePrompt(f"{path.stem}-{len(prompts)}", prompt.strip(), negative.strip()))
    return prompts


def resolve_prompts(styles: list[str] | None = None, prompts_file: str | Path | None = None) -> list[StylePrompt]:
    """Prompts from a file, else the named built-in styles (all of them when ``styles`` is empty or None)."""
    if prompts_file:
        return read_prompts(prompts_file)
    names = styles or list(STYLE_PROMPTS)
    unknown = [name for name in names if name not in STYLE_PROMPTS]
    if unknown:
        raise ValueError(f"unknown style(s) {', '.join(unknown)}; built-in: {', '.join(STYLE_PROMPTS)}")
    return [STYLE_PROMPTS[name] for name in names]
