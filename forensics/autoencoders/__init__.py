"""Latent-diffusion autoencoders: find and load them, and round-trip pictures through them.

``load_vae`` gives a diffusers model (for pipelines and for the reconstruction analyzer);
``load_reconstructor`` wraps it, or the ONNX VAElight, as a uint8-in, uint8-out round trip.
"""

from forensics.autoencoders.loading import AutoencoderNotFound, available_autoencoders, load_vae
from forensics.autoencoders.reconstructor import (
    DiffusersReconstructor,
    Reconstructor,
    VAElightReconstructor,
    load_reconstructor,
)
from forensics.autoencoders.taesd import TAESD_FAMILY

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
