"""Round trips of RGB pictures through an autoencoder: ``decode(encode(x))``, uint8 in, uint8 out."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, AutoencoderTiny

from forensics.autoencoders.loading import VAELIGHT, load_vae, not_found, vaelight_files
from forensics.autoencoders.naming import autoencoder_name
from forensics.config import weights_roots

#: Height and width must be multiples of this (the latent grid is 1/8 of the pixels).
MULTIPLE = 8


class Reconstructor(ABC):
    """An autoencoder seen as a function from pictures to their reconstructions.

    ``roundtrip`` takes ``H x W x 3`` or ``N x H x W x 3`` uint8 RGB with ``H`` and ``W`` multiples of 8 and
    returns the same shape, decoded, clipped and rounded to uint8 as a pipeline would save it.
    """

    name: str

    def roundtrip(self, pixels: np.ndarray) -> np.ndarray:
        batch = pixels[None] if pixels.ndim == 3 else pixels
        if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
            raise ValueError(f"expected (N x) H x W x 3 uint8, got {pixels.shape} {pixels.dtype}")
        if batch.shape[1] % MULTIPLE or batch.shape[2] % MULTIPLE:
            raise ValueError(f"height and width must be multiples of {MULTIPLE}, got {batch.shape[1:3]}")
        signed = batch.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0
        decoded = self._roundtrip_signed(np.ascontiguousarray(signed))
        out = np.clip(np.rint((decoded + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
        return out[0] if pixels.ndim == 3 else out

    @abstractmethod
    def _roundtrip_signed(self, x: np.ndarray) -> np.ndarray:
        """``N x 3 x H x W`` float32 in [-1, 1] -> the same shape, decoded (not yet clipped)."""


class DiffusersReconstructor(Reconstructor):
    """A diffusers ``AutoencoderTiny`` or ``AutoencoderKL`` (the KL posterior's mode, no sampling)."""

    def __init__(self, name: str, vae: AutoencoderTiny | AutoencoderKL) -> None:
        self.name = name
        self.vae = vae.eval()

    def _roundtrip_signed(self, x: np.ndarray) -> np.ndarray:
        param = next(self.vae.parameters())
        with torch.inference_mode():
            sample = torch.from_numpy(x).to(device=param.device, dtype=param.dtype)
            encoded = self.vae.encode(sample)
            latents = encoded.latents if isinstance(self.vae, AutoencoderTiny) else encoded.latent_dist.mode()
            return self.vae.decode(latents).sample.float().cpu().numpy()


class VAElightReconstructor(Reconstructor):
    """VAElight (SD 1.x latent space, ONNX): its decoder returns a base image at 1/8 resolution and
    band-pass details at 1/4, 1/2 and full resolution; the picture is their sum after bilinear
    resizing to full size (the authors' recipe; verified to give the best PSNR on Kodak photos).
    """

    name = VAELIGHT

    def __init__(self, encoder_path: Path, decoder_path: Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        self._encoder = ort.InferenceSession(os.fspath(encoder_path), options, providers=providers)
        self._decoder = ort.InferenceSession(os.fspath(decoder_path), options, providers=providers)

    def _roundtrip_signed(self, x: np.ndarray) -> np.ndarray:
        latents = self._encoder.run(None, {"input": x})[0]
        bands = self._decoder.run(None, {"latent": latents})
        size = x.shape[-2:]
        return sum(
            F.interpolate(torch.from_numpy(b), size=size, mode="bilinear", align_corners=False) for b in bands
        ).numpy()


def load_reconstructor(spec: str | os.PathLike, *, device: str = "cpu") -> Reconstructor:
    """A :class:`Reconstructor` for ``"vaelight"`` or anything :func:`~forensics.autoencoders.load_vae` accepts.

    Raises:
        AutoencoderNotFound: no weights for ``spec``.
    """
    text = os.fspath(spec)
    if text == VAELIGHT:
        files = vaelight_files()
        if files is None:
            raise not_found(VAELIGHT, [Path(root) / VAELIGHT for root in weights_roots()])
        return VAElightReconstructor(*files)
    return DiffusersReconstructor(autoencoder_name(text), load_vae(text, device=device))
