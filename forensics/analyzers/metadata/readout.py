"""The result every metadata reader returns, and the bounds that keep hostile metadata harmless."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from forensics.analyzers.base import Finding

#: Longest text (characters) any reader parses; generation parameters and workflows are far shorter.
MAX_TEXT_CHARS = 2_000_000
#: Longest string kept in ``details`` (prompts are truncated beyond this).
MAX_DETAIL_CHARS = 2_000


@dataclass
class Readout:
    """What one reader found: structured facts, journalist-facing findings, numeric features.

    ``details`` must be JSON-serialisable; ``features`` hold plain floats (NaN = missing).
    """

    details: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)


def clip_text(value: Any, limit: int = MAX_DETAIL_CHARS) -> str:
    """``value`` as a string of at most ``limit`` characters (an ellipsis marks a cut)."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_text(value: Any) -> str | None:
    """Decode metadata values (``str`` or ``bytes``) to text, bounded; ``None`` for anything else."""
    if isinstance(value, str):
        return value[:MAX_TEXT_CHARS]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value[:MAX_TEXT_CHARS]).decode("utf-8", errors="replace")
    return None


def load_json(text: str | None) -> Any:
    """Parse JSON from untrusted metadata; ``None`` when absent, oversized, malformed or too deep."""
    if not text or len(text) > MAX_TEXT_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def number(value: Any) -> float | None:
    """A finite float from an int, float or numeric string; ``None`` otherwise."""
    if isinstance(value, bool):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if result == result and abs(result) != float("inf") else None


def size_fields(value: Any) -> dict[str, int | None]:
    """``width`` and ``height`` from a size written as two numbers (``"768x512"``, ``"(1024, 1024)"``)."""
    numbers = re.findall(r"\d+", str(value))[:3]
    width, height = (int(n) for n in numbers) if len(numbers) == 2 else (None, None)
    return {"width": width, "height": height}


def sampler_settings(
    meta: dict[str, Any], prompt: str, negative: str, steps: str, cfg: str, seed: str = "seed", sampler: str = "sampler"
) -> dict[str, Any]:
    """The settings every generator records, read from ``meta`` under that tool's key names, bounded and typed."""
    return {
        "prompt": clip_text(meta.get(prompt, "")),
        "negative_prompt": clip_text(meta.get(negative, "")),
        "steps": number(meta.get(steps)),
        "cfg_scale": number(meta.get(cfg)),
        "seed": number(meta.get(seed)),
        "sampler": clip_text(meta.get(sampler, ""), 100),
    }
