"""img2img dataset builder: a real diffusers img2img pipeline and a labeled-dataset writer.

``load_editor(model)`` loads a built-in name ("tiny"), a diffusers folder, a single-file checkpoint or a hub id;
``Editor.edit(image, EditParams(...))`` returns the edited image and a record that reproduces it.

The names below load on first use: ``generator.postprocess`` and ``generator.provenance``, which the classifier's
augmentation imports, must not pull in diffusers and transformers (seconds of import time).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "BUILTIN_MODELS": "generator.builtin",
    "EditParams": "generator.editor",
    "EditResult": "generator.editor",
    "Editor": "generator.editor",
    "load_editor": "generator.editor",
    "LoadedModel": "generator.loading",
    "load_model": "generator.loading",
    "UnknownScheduler": "generator.schedulers",
    "make_scheduler": "generator.schedulers",
    "resolve_scheduler": "generator.schedulers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'generator' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
