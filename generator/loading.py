"""Load an img2img pipeline from a built-in name, a diffusers folder, a single-file checkpoint or a hub id.

Folders and hub ids go through ``AutoPipelineForImage2Image`` (SD 1.x/2.x, SDXL, SD3, Kandinsky, FLUX...).
Single files (``v1-5-pruned-emaonly.safetensors``, what ComfyUI's ``CheckpointLoaderSimple`` reads) go through
the ``from_single_file`` of the img2img pipeline matching the architecture diffusers infers from the keys; the
component configs come from the hub unless ``config`` names a local diffusers folder (offline use).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers import AutoPipelineForImage2Image, DiffusionPipeline, StableDiffusionImg2ImgPipeline

from generator.builtin import BUILTIN_MODELS, BUILTIN_PREFIX, DESCRIPTIVE_KEYS

SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
DTYPES = {
    "fp32": torch.float32, "float32": torch.float32,
    "fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
}
# diffusers' inferred single-file model type -> img2img pipeline class name
_SINGLE_FILE_PIPELINES = {
    "v1": "StableDiffusionImg2ImgPipeline",
    "v2": "StableDiffusionImg2ImgPipeline",
    "xl_base": "StableDiffusionXLImg2ImgPipeline",
    "xl_refiner": "StableDiffusionXLImg2ImgPipeline",
    "playground-v2-5": "StableDiffusionXLImg2ImgPipeline",
    "sd3": "StableDiffusion3Img2ImgPipeline",
    "sd35_large": "StableDiffusion3Img2ImgPipeline",
    "sd35_medium": "StableDiffusion3Img2ImgPipeline",
    "flux-dev": "FluxImg2ImgPipeline",
    "flux-schnell": "FluxImg2ImgPipeline",
}


@dataclass
class LoadedModel:
    """A ready pipeline and what identifies its weights.

    ``source`` is "builtin", "folder", "single-file" or "hub". ``weights_sha256`` is the sha256 of the checkpoint
    file for single files (the hash A1111 and Civitai show) and of the denoiser's state dict otherwise (names,
    dtypes, shapes and bytes in key order, as loaded).
    """

    pipe: DiffusionPipeline
    model_id: str
    source: str
    weights_sha256: str
    vae_name: str
    description: str


def resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    """fp16 on CUDA, fp32 elsewhere unless told; accepts "fp16", "bf16", "fp32" and torch dtypes."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype is None:
        return torch.float16 if device.startswith("cuda") else torch.float32
    if dtype.lower() not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return DTYPES[dtype.lower()]


def default_device() -> str:
    """"cuda" when a GPU is visible, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def state_dict_sha256(module: torch.nn.Module) -> str:
    """sha256 over a module's state dict: each key, dtype, shape and raw bytes, in sorted key order."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}|{flat.dtype}|{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def denoiser(pipe: DiffusionPipeline) -> torch.nn.Module:
    """The pipeline's UNet, or its transformer for DiT models (SD3, FLUX)."""
    model = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    if model is None:
        raise ValueError(f"{type(pipe).__name__} has neither a unet nor a transformer")
    return model


def _load_builtin(name: str, torch_dtype: torch.dtype) -> tuple[DiffusionPipeline, dict[str, Any]]:
    components = BUILTIN_MODELS[name]()
    info = {key: components.pop(key) for key in DESCRIPTIVE_KEYS if key in components}
    pipe = StableDiffusionImg2ImgPipeline(
        **components, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    # built-ins are built in float32; casting only when asked avoids diffusers' dtype-cast warnings
    return (pipe if torch_dtype == torch.float32 else pipe.to(dtype=torch_dtype)), info


def _load_single_file(path: Path, torch_dtype: torch.dtype, **kwargs) -> DiffusionPipeline:
    import diffusers
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type, load_single_file_checkpoint

    model_type = infer_diffusers_model_type(load_single_file_checkpoint(str(path)))
    if model_type not in _SINGLE_FILE_PIPELINES:
        raise ValueError(f"{path}: diffusers infers model type {model_type!r}, which has no img2img pipeline here")
    pipeline_class = getattr(diffusers, _SINGLE_FILE_PIPELINES[model_type])
    return pipeline_class.from_single_file(str(path), torch_dtype=torch_dtype, **kwargs)


def load_model(
    model: str | os.PathLike = "tiny",
    *,
    vae: str | None = None,
    dtype: str | torch.dtype | None = None,
    device: str | None = None,
    variant: str | None = None,
    config: str | None = None,
    enable_pag: bool = False,
) -> LoadedModel:
    """Load ``model`` as an img2img pipeline on ``device`` in ``dtype`` (not yet optimised; see ``Editor``).

    Args:
        model: a built-in name ("tiny", see ``generator.builtin.BUILTIN_MODELS``), a diffusers folder
            (``model_index.json``), a single-file checkpoint, or a hub id.
        vae: autoencoder override for ``forensics.autoencoders.load_vae``: "taesd", "taesdxl", "taesd3", "taef1",
            a folder, a single file or a hub id. ``None`` keeps the model's own.
        dtype: "fp16", "bf16", "fp32" (default fp16 on CUDA, fp32 on CPU).
        variant: weight-file variant of diffusers folders/hub repos ("fp16", "bf16").
        config: local diffusers folder (or hub id) with the component configs of a single-file checkpoint.
        enable_pag: build the perturbed-attention-guidance variant of the pipeline (``pag_scale`` per edit).
    """
    from forensics.autoencoders import load_vae

    device = device or default_device()
    torch_dtype = resolve_dtype(dtype, device)
    text = os.fspath(model)
    name = text.removeprefix(BUILTIN_PREFIX)
    path = Path(text).expanduser()
    info: dict[str, Any] = {}
    vae_module = load_vae(vae, torch_dtype=torch_dtype) if vae else None
    extra = {"vae": vae_module} if vae_module is not None else {}
    if name in BUILTIN_MODELS:
        pipe, info = _load_builtin(name, torch_dtype)
        model_id, source = BUILTIN_PREFIX + name, "builtin"
    elif path.is_dir():
        pipe = AutoPipelineForImage2Image.from_pretrained(path, torch_dtype=torch_dtype, variant=variant, **extra)
        model_id, source = str(path.resolve()), "folder"
    elif path.is_file() and path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        options = {"config": config} if config else {}
        pipe = _load_single_file(path, torch_dtype, **options, **extra)
        model_id, source = str(path.resolve()), "single-file"
    elif path.suffix.lower() in SINGLE_FILE_SUFFIXES or path.is_absolute() or text.count("/") != 1:
        known = ", ".join(BUILTIN_MODELS)
        raise FileNotFoundError(f"model {text!r}: no such folder or file, and not a built-in name ({known})")
    else:
        pipe = AutoPipelineForImage2Image.from_pretrained(text, torch_dtype=torch_dtype, variant=variant, **extra)
        model_id, source = text, "hub"
    if vae_module is not None and source == "builtin":
        pipe.vae = vae_module
    if enable_pag:
        pipe = AutoPipelineForImage2Image.from_pipe(pipe, enable_pag=True)
    weights = file_sha256(path) if source == "single-file" else state_dict_sha256(denoiser(pipe))
    vae_name = vae or info.get("vae_name") or f"{model_id} ({type(pipe.vae).__name__})"
    description = info.get("description") or f"{type(pipe).__name__} from {source} {model_id}"
    return LoadedModel(pipe.to(device), model_id, source, weights, vae_name, description)
