"""img2img dataset builder: a real diffusers img2img pipeline and a labeled-dataset writer.

``load_editor(model)`` loads a built-in name ("tiny"), a diffusers folder, a single-file checkpoint or a hub id;
``Editor.edit(image, EditParams(...))`` returns the edited image and a record that reproduces it.
"""

from generator.builtin import BUILTIN_MODELS
from generator.editor import Editor, EditParams, EditResult, load_editor
from generator.loading import LoadedModel, load_model
from generator.schedulers import UnknownScheduler, make_scheduler, resolve_scheduler

__all__ = [
    "BUILTIN_MODELS",
    "EditParams",
    "EditResult",
    "Editor",
    "LoadedModel",
    "UnknownScheduler",
    "load_editor",
    "load_model",
    "make_scheduler",
    "resolve_scheduler",
]
