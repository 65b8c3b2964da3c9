"""Latent-diffusion autoencoders: find and load them, and round-trip pictures through them.

``load_vae`` gives a diffusers model (for pipelines and for the reconstruction analyzer);
``load_reconstructor`` wraps it, or the ONNX VAElight, as a uint8-in, uint8-out round trip.

The names below are imported on first use: importing diffusers costs seconds, and a scan that reads only
metadata, or a file that turns out not to be media, should not pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forensics.autoencoders.loading import AutoencoderNotFound, available_autoencoders, load_vae
    from forensics.autoencoders.reconstructor import (
        DiffusersReconstructor,
        Reconstructor,
        VAElightReconstructor,
        load_reconstructor,
    )
    from forensics.autoencoders.taesd import TAESD_FAMILY

_HOMES = {
    "AutoencoderNotFound": "loading",
    "available_autoencoders": "loading",
    "load_vae": "loading",
    "DiffusersReconstructor": "reconstructor",
    "Reconstructor": "reconstructor",
    "VAElightReconstructor": "reconstructor",
    "load_reconstructor": "reconstructor",
    "TAESD_FAMILY": "taesd",
}

__all__ = [
    "TAESD_FAMILY",
    "AutoencoderNotFound",
    "DiffusersReconstructor",
    "Reconstructor",
    "VAElightReconstructor",
    "available_autoencoders",
    "load_reconstructor",
    "load_vae",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
