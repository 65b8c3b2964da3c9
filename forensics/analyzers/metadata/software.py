"""Recognise the software named in EXIF ``Software``, XMP ``CreatorTool`` or a PNG ``Software`` chunk."""

from __future__ import annotations

import re
from typing import Literal

SoftwareKind = Literal["generator", "editor", "other"]

# Lower-case patterns; word boundaries keep "flux" from matching "influx" and so on.
_GENERATORS = {
    "Stable Diffusion": r"stable[ _-]?diffusion|\bsdxl\b|dreamstudio|stability\.?ai",
    "AUTOMATIC1111 / Forge": r"automatic1111|stable-diffusion-webui|\bforge\b",
    "ComfyUI": r"comfyui",
    "InvokeAI": r"invokeai|invoke-ai",
    "Fooocus": r"fooocus",
    "SwarmUI": r"swarmui|stableswarm",
    "Draw Things": r"draw ?things",
    "DiffusionBee": r"diffusionbee",
    "NovelAI": r"novelai",
    "Midjourney": r"midjourney",
    "DALL·E / OpenAI": r"dall[·\-\s]?e|openai|chatgpt|\bsora\b",
    "Adobe Firefly": r"firefly",
    "Google Imagen / Gemini": r"\bimagen\b|\bgemini\b|synthid",
    "FLUX": r"\bflux(\.1)?\b|black forest labs",
    "Leonardo": r"leonardo\.ai",
    "Ideogram": r"ideogram",
    "Runway": r"runwayml|\brunway\b",
    "Kling": r"\bkling(ai)?\b",
    "Luma Dream Machine": r"dream machine|lumalabs",
    "Hailuo / MiniMax": r"hailuo|minimax",
    "Google Veo": r"google veo|\bveo[ -]?[1-3]\b",  # not a bare "veo": that is also a sports camera
    "Bing Image Creator": r"bing image creator|designer\.microsoft",
    "Apple Image Playground": r"image playground",
    "xAI Grok / Aurora": r"\bgrok\b|\bx\.ai\b",
    "Recraft": r"recraft",
    "Krea": r"\bkrea(\.ai)?\b",
    "ByteDance Seedream / Dreamina": r"seedream|dreamina|jimeng",
    "Kolors": r"\bkolors\b",
    "Hunyuan": r"hunyuan",
    "Qwen-Image": r"qwen[- ]?image",
    "Wan": r"\bwan ?2\.\d\b|\bwanx\b",
    "Pika": r"pika\.art|pika labs",
    "Civitai": r"civitai",
    "NightCafe": r"nightcafe",
    "Tensor.Art": r"tensor\.art",
    "SeaArt": r"seaart",
    "diffusers": r"\bdiffusers\b",
}
_EDITORS = {
    "Adobe Photoshop": r"photoshop",
    "Adobe Lightroom": r"lightroom",
    "GIMP": r"\bgimp\b",
    "Affinity Photo": r"affinity",
    "paint.net": r"paint\.net",
    "Pixelmator": r"pixelmator",
    "Snapseed": r"snapseed",
    "Capture One": r"capture one",
    "darktable": r"darktable",
    "RawTherapee": r"rawtherapee",
    "Luminar": r"luminar",
    "Picasa": r"picasa",
    "Windows Photo Gallery": r"windows photo|microsoft windows photo",
    "ACDSee": r"acdsee",
    "Corel PaintShop": r"paintshop|corel",
    "Canva": r"\bcanva\b",
    "Photopea": r"photopea",
    "Krita": r"\bkrita\b",
    "ImageMagick": r"imagemagick",
    "Facetune": r"facetune",
    "Meitu": r"meitu",
    "PicsArt": r"picsart",
}
_COMPILED = [
    (kind, name, re.compile(pattern))
    for kind, table in (("generator", _GENERATORS), ("editor", _EDITORS))
    for name, pattern in table.items()
]


def classify_software(value: str) -> tuple[SoftwareKind, str | None]:
    """(``generator``/``editor``/``other``, canonical product name or ``None``) for a software string."""
    text = value.lower()[:500]
    for kind, name, pattern in _COMPILED:
        if pattern.search(text):
            return kind, name  # type: ignore[return-value]
    return "other", None
