"""Midjourney's record of a job: the command and job id in the picture's description.

Pictures downloaded from Midjourney's web site carry the full command in a ``Description`` text item (a PNG
``tEXt`` chunk; public readers such as exiftool show it as ``Description``), followed by ``Job ID:`` and the job's
UUID: ``a lighthouse at dusk --ar 2:1 --stylize 80 --v 6 Job ID: a7421d2f-...``; the account name is in
``Author``. Image prompts are URLs at the start of the command (with ``--iw`` their weight); ``--sref``,
``--cref`` and ``--oref`` followed by URLs are style, character and omni references. Files saved from Discord
carry none of this.
"""

from __future__ import annotations

import re
from typing import Any

from forensics.analyzers.metadata.readout import clip_text, number

_JOB = re.compile(
    r"(?P<command>.{0,20000}?)\s*Job ID:\s*(?P<job>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
    flags=re.S | re.I,
)
_URL = re.compile(r"<?https?://\S+>?")
#: Midjourney's parameters under their long and short names.
_ALIASES = {"v": "version", "ar": "aspect", "s": "stylize", "c": "chaos", "q": "quality", "w": "weird",
            "p": "profile", "personalize": "profile"}  # fmt: skip
_REFERENCES = ("sref", "cref", "oref")


def _options(tokens: list[str]) -> dict[str, str]:
    """``--name value...`` pairs (a flag without a value maps to ``""``), by Midjourney's long names."""
    options: dict[str, str] = {}
    name = None
    for token in tokens:
        if token.startswith("--") and len(token) > 2:
            name = _ALIASES.get(token[2:].lower(), token[2:].lower())
            options[name] = ""
        elif name is not None:
            options[name] = f"{options[name]} {token}".strip()
    return options


def parse_midjourney(texts: dict[str, str]) -> dict[str, Any] | None:
    """The job recorded in ``texts["Description"]``; ``None`` when it holds no Midjourney job id."""
    description = texts.get("Description", "")[:25000]
    match = _JOB.match(description) if "job id:" in description.lower() else None
    if match is None:
        return None
    tokens = match["command"].split()
    first_option = next((i for i, t in enumerate(tokens) if t.startswith("--")), len(tokens))
    words, options = tokens[:first_option], _options(tokens[first_option:])
    image_prompts = [w for w in words if _URL.fullmatch(w)]
    references = [name for name in _REFERENCES if _URL.search(options.get(name, ""))]
    version = f"niji {options['niji']}".strip() if "niji" in options else options.get("version", "")
    return {
        "format": "midjourney",
        "prompt": clip_text(" ".join(w for w in words if not _URL.fullmatch(w))),
        "job_id": match["job"].lower(),
        "author": clip_text(texts.get("Author", ""), 100),
        "model": clip_text(f"Midjourney {version}".strip(), 100),
        "aspect_ratio": clip_text(options.get("aspect", ""), 20),
        "stylize": number(options.get("stylize")),
        "chaos": number(options.get("chaos")),
        "seed": number(options.get("seed")),
        "image_weight": number(options.get("iw")),
        "image_prompts": [clip_text(u.strip("<>"), 300) for u in image_prompts[:5]],
        "references": references,
        "options": {clip_text(k, 30): clip_text(v, 300) for k, v in list(options.items())[:30]},
        # an image prompt or reference steers the generation by an existing picture; it is not redrawn from it
        "mode": "image-conditioned" if image_prompts or references else "txt2img",
    }
