"""Names of autoencoder specs, without loading anything (no torch, no diffusers)."""

from __future__ import annotations

import os
from pathlib import Path


def autoencoder_name(spec: str | os.PathLike) -> str:
    """Short name of an autoencoder spec: built-in names and hub ids as they are, paths by their stem."""
    text = os.fspath(spec)
    return Path(text).stem if os.sep in text or Path(text).suffix else text
