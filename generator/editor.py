"""One img2img edit (or a batch of edits sharing size and strength) with a record that reproduces it.

``Editor.edit`` runs the diffusers pipeline exactly as a user would (prompt, negative prompt, strength, steps, CFG,
seed, scheduler, LoRAs, IP-Adapter, PAG) on a CPU ``torch.Generator`` seeded per edit, so an edit reproduces on
any device from its record. Strength 0 is the autoencoder round trip (encode + decode, no denoising).
"""

from __future__ import annotations

import inspect
import json
import secrets
import time
from dataclasses import dataclass, field, fields
from typing import Any

import diffusers
import numpy as np
import PIL
import torch
import transformers
from PIL import Image

from forensics import __version__ as forensics_version
from forensics.autoencoders import DiffusersReconstructor
from generator.loading import LoadedModel, default_device, denoiser, load_model
from generator.resize import ResizeSpec, resize_image
from generator.schedulers import make_scheduler, resolve_scheduler

SEED_RANGE = 2**32
# EditParams fields that may differ inside one batch; everything else must match.
_PER_ITEM_FIELDS = ("prompt", "negative_prompt", "seed")


@dataclass
class EditParams:
    """What a front end (A1111, ComfyUI's KSampler) asks for one img2img edit.

    ``strength`` is the denoise fraction in [0, 1] (0 = autoencoder round trip only); ``steps`` the scheduler steps
    of a full denoise, of which img2img runs ``int(steps * strength)``; ``guidance`` the CFG scale; ``seed`` -1 draws
    a random seed (the one used is recorded); ``scheduler`` any name ``generator.schedulers`` accepts (None: the
    model's own), ``schedule`` its sigma schedule ("karras"...). ``width``/``height``/``resize``/``crop`` follow
    ComfyUI's ImageScale (0 keeps the aspect ratio, both 0 keep the size). ``output_type`` "pil" or "latent".
    """

    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 0.5
    steps: int = 20
    guidance: float = 7.5
    seed: int = -1
    scheduler: str | None = None
    schedule: str | None = None
    width: int = 0
    height: int = 0
    resize: str = "lanczos"
    crop: str = "disabled"
    pag_scale: float = 0.0
    ip_adapter_scale: float = 0.0
    ip_adapter_image: Image.Image | None = field(default=None, repr=False)
    clip_skip: int | None = None
    output_type: str = "pil"

    def resize_spec(self) -> ResizeSpec:
        return ResizeSpec(self.width, self.height, self.resize, self.crop)

    def settings(self) -> dict[str, Any]:
        """Every field but the IP-Adapter image, as plain values (what a record stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "ip_adapter_image"}

    def effective_steps(self) -> int:
        """Denoising steps img2img really runs: ``min(int(steps * strength), steps)``, as diffusers computes it."""
        return min(int(self.steps * self.strength), self.steps)

    def validate(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {self.strength}")
        if self.strength > 0 and self.effective_steps() < 1:
            raise ValueError(
                f"strength {self.strength} x {self.steps} steps runs no denoising step: raise steps or strength"
            )
        if self.output_type not in ("pil", "latent"):
            raise ValueError(f"output_type must be 'pil' or 'latent', got {self.output_type!r}")
        if self.scheduler:
            resolve_scheduler(self.scheduler, self.schedule)


@dataclass
class EditResult:
    """The edited ``image`` (None when ``output_type="latent"``), its ``latents`` (latent output only; 1 x C x h x w)
    and the JSON-serialisable ``record`` that reproduces it."""

    image: Image.Image | None
    record: dict[str, Any]
    latents: torch.Tensor | None = None


def library_versions() -> dict[str, str]:
    return {
        "forensics": forensics_version,
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "pillow": PIL.__version__,
    }


def _json_clean(value: Any) -> Any:
    """Round trip through JSON so that records hold only plain types (scheduler configs hold tuples, numpy...)."""
    return json.loads(json.dumps(value, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)))


class Editor:
    """A loaded img2img pipeline ready to edit images; create it with :func:`load_editor`."""

    def __init__(self, loaded: LoadedModel, *, loras: list[tuple[str, float]] | None = None,
                 options: dict[str, Any] | None = None) -> None:
        self.loaded = loaded
        self.pipe = loaded.pipe
        self.loras = list(loras or [])
        self.options = dict(options or {})
        self._base_scheduler = self.pipe.scheduler
        self._reconstructor = DiffusersReconstructor(loaded.vae_name, self.pipe.vae)
        self.pipe.set_progress_bar_config(disable=True)

    @property
    def description(self) -> str:
        """One line saying which model runs (it says TINY for the built-in tiny model)."""
        return self.loaded.description

    @property
    def device(self) -> torch.device:
        return self.pipe._execution_device

    def _set_scheduler(self, params: EditParams) -> None:
        if params.scheduler:
            self.pipe.scheduler = make_scheduler(params.scheduler, self._base_scheduler.config, params.schedule)
        else:
            self.pipe.scheduler = self._base_scheduler

    def _base_record(self, params: EditParams, seed: int, source: Image.Image | None, size: tuple[int, int]) -> dict:
        record = params.settings() | {"seed": seed, "seed_requested": params.seed}
        record |= {
            "kind": "img2img" if params.strength > 0 else "vae-roundtrip",
            "effective_steps": params.effective_steps(),
            "model_id": self.loaded.model_id,
            "model_source": self.loaded.source,
            "model_description": self.loaded.description,
            "weights_sha256": self.loaded.weights_sha256,
            "pipeline": type(self.pipe).__name__,
            "vae": self.loaded.vae_name,
            "vae_class": type(self.pipe.vae).__name__,
            "input_size": list(source.size) if source is not None else None,
            "size": list(size),
            "dtype": str(denoiser(self.pipe).dtype).removeprefix("torch."),
            "device": str(self.device),
            # CPU kernels split their sums by thread: the in-house LDM's edits differ by one level in a few pixels
            # between 1 and 2 threads, so a bit-exact rebuild on CPU needs the same count (OMP_NUM_THREADS)
            "torch_threads": torch.get_num_threads(),
            "loras": [{"path": path, "scale": scale} for path, scale in self.loras],
            "pipeline_options": self.options,
            "versions": library_versions(),
        }
        return record

    def _prepare(self, image: Image.Image | None, params: EditParams, latents: torch.Tensor | None):
        """Resized RGB input (or initial latents) and the output size (width, height)."""
        params.validate()
        if latents is not None:
            scale = self.pipe.vae_scale_factor
            return latents, (latents.shape[-1] * scale, latents.shape[-2] * scale)
        if image is None:
            raise ValueError("give an image or initial latents")
        resized = resize_image(image, params.resize_spec())
        return resized, resized.size

    def _call_kwargs(self, params: EditParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "strength": params.strength,
            "num_inference_steps": params.steps,
            "guidance_scale": params.guidance,
            "output_type": params.output_type,
        }
        if params.clip_skip:
            kwargs["clip_skip"] = params.clip_skip
        if "pag_scale" in inspect.signature(self.pipe.__call__).parameters:
            kwargs["pag_scale"] = params.pag_scale  # always: PAG pipelines default to 3.0
        elif params.pag_scale:
            raise ValueError("pag_scale needs load_editor(..., enable_pag=True)")
        if params.ip_adapter_image is not None:
            self.pipe.set_ip_adapter_scale(params.ip_adapter_scale)
            kwargs["ip_adapter_image"] = params.ip_adapter_image
        return kwargs

    def edit(self, image: Image.Image | None, params: EditParams, *, latents: torch.Tensor | None = None) -> EditResult:
        """Edit one image. ``latents`` (1 x C x h x w, already scaled like the VAE encoder's output) replaces the VAE
        encoding of ``image``, as ComfyUI's KSampler takes a LATENT input; ``image`` may then be None."""
        return self.edit_batch([image], [params], latents=latents)[0]

    def edit_batch(self, images: list[Image.Image | None], params_list: list[EditParams], *,
                   latents: torch.Tensor | None = None) -> list[EditResult]:
        """Edit several images in one pipeline call: they must share every parameter but prompt, negative prompt and
        seed, and come out the same size. Each item keeps its own CPU generator, so item ``i`` equals
        ``edit(images[i], params_list[i])`` up to floating-point batching differences."""
        if len(images) != len(params_list) or not images:
            raise ValueError("give as many params as images, at least one")
        first = params_list[0]
        shared = {k: v for k, v in first.settings().items() if k not in _PER_ITEM_FIELDS}
        for params in params_list[1:]:
            other = {k: v for k, v in params.settings().items() if k in shared}
            if other != shared:
                differing = sorted(k for k in shared if shared[k] != other[k])
                raise ValueError(f"batched edits must share {', '.join(differing)}")
        prepared = [self._prepare(image, params, None if latents is None else latents[i : i + 1])
                    for i, (image, params) in enumerate(zip(images, params_list, strict=True))]
        sizes = {size for _, size in prepared}
        if len(sizes) != 1:
            raise ValueError(f"batched edits must share the output size, got {sorted(sizes)}")
        size = sizes.pop()
        seeds = [p.seed if p.seed >= 0 else secrets.randbelow(SEED_RANGE) for p in params_list]
        started = time.perf_counter()
        if first.strength == 0:
            outputs, iterations = self._roundtrip([item for item, _ in prepared]), 0
        else:
            outputs, iterations = self._denoise(prepared, params_list, seeds)
        elapsed = time.perf_counter() - started
        results = []
        for i, (image, params) in enumerate(zip(images, params_list, strict=True)):
            record = self._base_record(params, seeds[i], image, size)
            record |= {
                "denoising_iterations": iterations,
                "scheduler_class": type(self.pipe.scheduler).__name__ if params.strength > 0 else None,
                "scheduler_config": json.loads(self.pipe.scheduler.to_json_string()) if params.strength > 0 else None,
                "batch_size": len(images),
                "elapsed_s": elapsed / len(images),
            }
            output = outputs[i]
            if isinstance(output, torch.Tensor):
                results.append(EditResult(None, _json_clean(record), output[None].cpu()))
            else:
                results.append(EditResult(output, _json_clean(record)))
        return results

    def _roundtrip(self, inputs: list) -> list:
        if any(isinstance(item, torch.Tensor) for item in inputs):
            raise ValueError("strength 0 (autoencoder round trip) needs images, not latents")
        pixels = np.stack([np.asarray(item) for item in inputs])
        return [Image.fromarray(p) for p in self._reconstructor.roundtrip(pixels)]

    def _denoise(self, prepared: list, params_list: list[EditParams], seeds: list[int]) -> tuple[list, int]:
        first = params_list[0]
        self._set_scheduler(first)
        inputs = [item for item, _ in prepared]
        image = torch.cat(inputs) if isinstance(inputs[0], torch.Tensor) else inputs
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        iterations = 0

        def count(pipe, step, timestep, callback_kwargs):
            nonlocal iterations
            iterations += 1
            return callback_kwargs

        with torch.inference_mode():
            output = self.pipe(
                prompt=[p.prompt for p in params_list],
                negative_prompt=[p.negative_prompt for p in params_list],
                image=image,
                generator=generators,
                callback_on_step_end=count,
                **self._call_kwargs(first),
            )
        return list(output.images), iterations


def load_editor(
    model: str = "tiny",
    *,
    vae: str | None = None,
    scheduler: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    **pipeline_options: Any,
) -> Editor:
    """Load a model for editing. See :func:`generator.loading.load_model` for ``model``, ``vae`` and ``dtype``.

    ``scheduler`` (a name ``generator.schedulers`` accepts) replaces the model's default scheduler.
    ``pipeline_options``:
      - ``variant`` ("fp16", "bf16"), ``config`` (component configs of a single file), ``enable_pag`` (bool);
      - ``loras``: list of (path or hub id, scale);
      - ``ip_adapter``: path or hub id, with ``ip_adapter_subfolder`` and ``ip_adapter_weight_name``;
      - GPU: ``attention_slicing``, ``vae_tiling``, ``channels_last``, ``compile`` (bools), ``cpu_offload``
        ("model" or "sequential"). diffusers' default attention is already SDPA (``AttnProcessor2_0``).
    """
    device = device or default_device()
    options = dict(pipeline_options)
    loading_keys = ("variant", "config", "enable_pag")
    offload = options.pop("cpu_offload", None)
    loaded = load_model(model, vae=vae, dtype=dtype, device="cpu" if offload else device,
                        **{k: options.pop(k) for k in loading_keys if k in options})
    pipe = loaded.pipe
    if scheduler:
        pipe.scheduler = make_scheduler(scheduler, pipe.scheduler.config)
    loras = [(str(path), float(scale)) for path, scale in options.pop("loras", [])]
    if loras:
        names = [f"lora_{i}" for i in range(len(loras))]
        for name, (path, _) in zip(names, loras, strict=True):
            pipe.load_lora_weights(path, adapter_name=name)
        pipe.set_adapters(names, adapter_weights=[scale for _, scale in loras])
    ip_adapter = options.pop("ip_adapter", None)
    if ip_adapter:
        pipe.load_ip_adapter(ip_adapter, subfolder=options.pop("ip_adapter_subfolder", "models"),
                             weight_name=options.pop("ip_adapter_weight_name", None))
    recorded = {"cpu_offload": offload, "scheduler": scheduler, "ip_adapter": ip_adapter}
    for flag, apply in (
        ("attention_slicing", pipe.enable_attention_slicing),
        ("vae_tiling", pipe.vae.enable_tiling),
        ("channels_last", lambda: pipe.unet.to(memory_format=torch.channels_last)),
        ("compile", lambda: setattr(pipe, "unet", torch.compile(pipe.unet))),
    ):
        if options.pop(flag, False):
            apply()
            recorded[flag] = True
    if options:
        raise TypeError(f"unknown pipeline options: {', '.join(sorted(options))}")
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
    elif offload:
        raise ValueError(f"cpu_offload must be 'model' or 'sequential', got {offload!r}")
    recorded["attention"] = sorted({type(p).__name__ for p in pipe.unet.attn_processors.values()}) \
        if hasattr(pipe, "unet") else None
    return Editor(loaded, loras=loras, options={k: v for k, v in recorded.items() if v is not None})
