"""Find and load a latent-diffusion autoencoder from a name, a folder, a file or a hub id."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, AutoModel

from forensics.autoencoders.taesd import TAESD_FAMILY, load_taesd, taesd_files
from forensics.config import weights_roots

VAELIGHT = "vaelight"
VAELIGHT_FILES = ("VAEencoder.onnx", "VAEpreview.onnx")
_SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
_FIX = "Put the files there, or point $FORENSICS_WEIGHTS (os.pathsep-separated folders) at a folder that has them."


class AutoencoderNotFound(FileNotFoundError):
    """No weights for the requested autoencoder; the message names where it looked and how to fix it."""


def _builtin_pair(name: str) -> tuple[Path, Path] | None:
    """First weights root holding both files of built-in ``name``."""
    for root in weights_roots():
        encoder, decoder = taesd_files(root, name)
        if encoder.is_file() and decoder.is_file():
            return encoder, decoder
    return None


def vaelight_files() -> tuple[Path, Path] | None:
    """Encoder and decoder ONNX files of VAElight from the first root holding both, or ``None``."""
    for root in weights_roots():
        encoder, decoder = (Path(root) / VAELIGHT / f for f in VAELIGHT_FILES)
        if encoder.is_file() and decoder.is_file():
            return encoder, decoder
    return None


def available_autoencoders() -> list[str]:
    """Built-in names whose weights are present: TAESD family members, then ``"vaelight"``."""
    names = [name for name in TAESD_FAMILY if _builtin_pair(name) is not None]
    return names + ([VAELIGHT] if vaelight_files() is not None else [])


def not_found(spec: str, looked: list[Path]) -> AutoencoderNotFound:
    """The error for a missing autoencoder, naming every place searched."""
    places = "\n  ".join(str(p) for p in looked) or "(no weights roots configured)"
    return AutoencoderNotFound(f"autoencoder {spec!r} not found; looked in:\n  {places}\n{_FIX}")


def _diffusers_class(folder: Path) -> type[AutoencoderTiny] | type[AutoencoderKL]:
    config = json.loads((folder / "config.json").read_text())
    class_name = config.get("_class_name", "AutoencoderKL")
    if class_name not in ("AutoencoderTiny", "AutoencoderKL"):
        raise ValueError(f"{folder}: config.json describes {class_name}, not AutoencoderTiny or AutoencoderKL")
    return AutoencoderTiny if class_name == "AutoencoderTiny" else AutoencoderKL


def _load_path(path: Path, torch_dtype: torch.dtype) -> AutoencoderTiny | AutoencoderKL:
    if path.is_dir():
        if (path / "config.json").is_file():
            return _diffusers_class(path).from_pretrained(path, torch_dtype=torch_dtype)
        if (path / "vae" / "config.json").is_file():  # a whole pipeline folder
            return _diffusers_class(path / "vae").from_pretrained(path / "vae", torch_dtype=torch_dtype)
        raise not_found(str(path), [path / "config.json", path / "vae" / "config.json"])
    # A config.json beside the file describes its architecture; without one diffusers infers the model
    # family from the keys and fetches that family's config from the hub (needs network access).
    config = {"config": str(path.parent)} if (path.parent / "config.json").is_file() else {}
    return AutoencoderKL.from_single_file(str(path), torch_dtype=torch_dtype, **config)


def load_vae(
    spec: str | os.PathLike, *, torch_dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> AutoencoderTiny | AutoencoderKL:
    """Load an autoencoder in eval mode on ``device``.

    ``spec`` is one of:
      - a built-in name (``"taesd"``, ``"taesdxl"``, ``"taesd3"``, ``"taef1"``) searched in
        :func:`forensics.config.weights_roots`, in ComfyUI's layout
        ``vae_approx/<name>_{encoder,decoder}.safetensors``;
      - a diffusers folder (``config.json`` of an ``AutoencoderTiny`` or ``AutoencoderKL``,
        or a pipeline folder with ``vae/``);
      - a single ``.safetensors`` / ``.ckpt`` file of an ``AutoencoderKL`` (``from_single_file``; a ``config.json``
        in the same folder gives its architecture, else diffusers looks it up on the hub);
      - a hub id such as ``"madebyollin/taesd"`` (needs network access or a filled hub cache).

    Raises:
        AutoencoderNotFound: nothing matches ``spec``; the message lists where it looked.
    """
    text = os.fspath(spec)
    if text in TAESD_FAMILY:
        pair = _builtin_pair(text)
        if pair is None:
            raise not_found(text, [p for root in weights_roots() for p in taesd_files(root, text)])
        model = load_taesd(text, *pair)
    elif text == VAELIGHT:
        raise ValueError("VAElight is an ONNX model, not a diffusers one: use load_reconstructor('vaelight')")
    else:
        path = Path(text).expanduser()
        if path.exists():
            model = _load_path(path, torch_dtype)
        elif path.suffix.lower() in _SINGLE_FILE_SUFFIXES or path.is_absolute() or text.count("/") != 1:
            raise not_found(text, [path])
        else:
            model = _load_hub(text, torch_dtype)
    if model.dtype != torch_dtype:
        model = model.to(dtype=torch_dtype)
    return model.to(device).eval()


def _load_hub(repo_id: str, torch_dtype: torch.dtype) -> AutoencoderTiny | AutoencoderKL:
    """``from_pretrained`` of a hub id: an autoencoder repo, or a pipeline repo's ``vae/`` subfolder."""
    errors = []
    for subfolder in (None, "vae"):
        try:
            model = AutoModel.from_pretrained(repo_id, subfolder=subfolder, torch_dtype=torch_dtype)
        except (OSError, ValueError) as exc:  # offline, no such repo, no such subfolder
            errors.append(f"{repo_id}{'/' + subfolder if subfolder else ''}: {exc}")
            continue
        if isinstance(model, (AutoencoderTiny, AutoencoderKL)):
            return model
        errors.append(f"{repo_id}: holds a {type(model).__name__}, not an autoencoder")
    raise AutoencoderNotFound(
        f"autoencoder {repo_id!r} is neither a built-in name ({', '.join(TAESD_FAMILY)}), nor an existing path, "
        "nor loadable from the model hub:\n  " + "\n  ".join(errors) + f"\n{_FIX}"
    )
