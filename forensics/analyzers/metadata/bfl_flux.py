"""Black Forest Labs' FLUX reference code: the EXIF record it writes on each picture.

BFL's FLUX scripts and demos, and the tools built from them, save with EXIF ``Software``
"AI generated;txt2img;flux" ("img2img" when a picture was given to start from), ``Make`` "Black Forest Labs",
``Model`` the model's name and, when sampling metadata is on, ``ImageDescription`` the prompt.
"""

from __future__ import annotations

import re
from typing import Any

from forensics.analyzers.metadata.readout import clip_text

_RECORD = re.compile(r"AI generated;([\w-]{1,30});(flux[\w.-]{0,30})", flags=re.I)
_MODES = ("txt2img", "img2img", "inpaint", "outpaint")


def parse_bfl(texts: dict[str, str]) -> dict[str, Any] | None:
    """The generation recorded in EXIF ``Software``/``Make``/``Model``/``ImageDescription``; ``None`` if none."""
    match = _RECORD.fullmatch(texts.get("Software", "").strip())
    if match is None:
        return None
    mode = match[1].lower()
    return {
        "format": "bfl",
        "prompt": clip_text(texts.get("Description", "")),
        "model": clip_text(texts.get("Model", "") or match[2], 100),
        "maker": clip_text(texts.get("Make", ""), 100),
        "mode": mode if mode in _MODES else "unknown",
    }
