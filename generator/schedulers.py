"""Scheduler names as users type them, mapped to diffusers scheduler classes and options.

Accepted: diffusers class names with or without the ``Scheduler``/``Discrete`` suffix ("DPMSolverMultistep",
"EulerAncestralDiscreteScheduler"), AUTOMATIC1111 sampler names ("DPM++ 2M Karras", "Euler a", "DPM2 a",
"PLMS") and ComfyUI ``sampler_name`` values ("dpmpp_2m", "euler_ancestral", "uni_pc", "dpm_2"). The noise
schedule is a name suffix ("... Karras") or a separate ``schedule`` argument, as A1111 >= 1.6's "Schedule type"
and ComfyUI's ``scheduler`` input: karras, exponential, beta, sgm_uniform, normal/simple/automatic (the
scheduler's own default). The table follows diffusers' "A1111/k-diffusion to diffusers" correspondence; where
diffusers has no exact twin (DPM++ 2S a) the closest class is used and ``SchedulerSpec.approximate`` is set.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import diffusers

# Stable Diffusion 1.x/2.x noise schedule (the ``scheduler_config.json`` of the SD 1.5 repository); the
# built-in models use it so that every scheduler sees SD's betas.
SD_SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "clip_sample": False,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "prediction_type": "epsilon",
}

# Config keys that describe the model's training noise schedule rather than the sampler.
_NOISE_SCHEDULE_KEYS = frozenset({
    "num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
    "timestep_spacing", "steps_offset", "clip_sample", "clip_sample_range", "set_alpha_to_one",
    "rescale_betas_zero_snr", "sample_max_value", "interpolation_type",
})

# Every class the issue lists; keys are normalised names (see ``_normalise``).
_DIFFUSERS_CLASSES = (
    "DPMSolverSDEScheduler",
    "EulerDiscreteScheduler",
    "LMSDiscreteScheduler",
    "DDIMScheduler",
    "DDPMScheduler",
    "HeunDiscreteScheduler",
    "DPMSolverMultistepScheduler",
    "DEISMultistepScheduler",
    "PNDMScheduler",
    "EulerAncestralDiscreteScheduler",
    "UniPCMultistepScheduler",
    "KDPM2DiscreteScheduler",
    "DPMSolverSinglestepScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "LCMScheduler",
)

_SDE = {"algorithm_type": "sde-dpmsolver++"}
# A1111 and ComfyUI sampler names (normalised) -> (class, options, approximate)
_FRONT_END_NAMES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "euler": ("EulerDiscreteScheduler", {}, False),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}, False),
    "euler_ancestral": ("EulerAncestralDiscreteScheduler", {}, False),
    "heun": ("HeunDiscreteScheduler", {}, False),
    "lms": ("LMSDiscreteScheduler", {}, False),
    "ddim": ("DDIMScheduler", {}, False),
    "ddpm": ("DDPMScheduler", {}, False),
    "plms": ("PNDMScheduler", {}, False),
    "unipc": ("UniPCMultistepScheduler", {}, False),
    "uni_pc": ("UniPCMultistepScheduler", {}, False),
    "uni_pc_bh2": ("UniPCMultistepScheduler", {"solver_type": "bh2"}, False),
    "deis": ("DEISMultistepScheduler", {}, False),
    "lcm": ("LCMScheduler", {}, False),
    "dpm2": ("KDPM2DiscreteScheduler", {}, False),
    "dpm_2": ("KDPM2DiscreteScheduler", {}, False),
    "dpm2_a": ("KDPM2AncestralDiscreteScheduler", {}, False),
    "dpm_2_ancestral": ("KDPM2AncestralDiscreteScheduler", {}, False),
    "dpmpp_2m": ("DPMSolverMultistepScheduler", {}, False),
    "dpmpp_2m_sde": ("DPMSolverMultistepScheduler", _SDE, False),
    "dpmpp_2m_sde_gpu": ("DPMSolverMultistepScheduler", _SDE, False),
    "dpmpp_3m_sde": ("DPMSolverMultistepScheduler", {**_SDE, "solver_order": 3}, False),
    "dpmpp_3m_sde_gpu": ("DPMSolverMultistepScheduler", {**_SDE, "solver_order": 3}, False),
    "dpmpp_sde": ("DPMSolverSDEScheduler", {}, False),
    "dpmpp_sde_gpu": ("DPMSolverSDEScheduler", {}, False),
    "dpmpp_2s_a": ("DPMSolverSinglestepScheduler", {}, True),
    "dpmpp_2s_ancestral": ("DPMSolverSinglestepScheduler", {}, True),
}

# schedule name -> config option that selects it (None: the scheduler's own default spacing)
_SCHEDULES: dict[str, dict[str, Any] | None] = {
    "karras": {"use_karras_sigmas": True},
    "exponential": {"use_exponential_sigmas": True},
    "beta": {"use_beta_sigmas": True},
    "sgm_uniform": {"timestep_spacing": "trailing"},
    "normal": None,
    "simple": None,
    "automatic": None,
    "default": None,
}


class UnknownScheduler(ValueError):
    """The name matches no diffusers class, A1111 sampler or ComfyUI sampler, or the schedule is unsupported."""


@dataclass(frozen=True)
class SchedulerSpec:
    """A resolved scheduler: diffusers class name plus config overrides.

    ``name`` is what the user typed; ``approximate`` is True where diffusers has no exact twin of the sampler.
    """

    name: str
    class_name: str
    options: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    approximate: bool = False


def _normalise(name: str) -> str:
    """'DPM++ 2M Karras' -> 'dpmpp_2m_karras'; 'EulerAncestralDiscreteScheduler' -> 'eulerancestraldiscretescheduler'"""
    text = name.strip().lower().replace("+", "p")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _class_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for class_name in _DIFFUSERS_CLASSES:
        full = _normalise(class_name)
        short = full.removesuffix("scheduler")
        for alias in (full, short, short.replace("discrete", "")):
            aliases[alias] = class_name
    return aliases


_CLASS_ALIASES = _class_aliases()


def scheduler_names() -> list[str]:
    """Every accepted (normalised) name, for help texts and tests."""
    return sorted(set(_CLASS_ALIASES) | set(_FRONT_END_NAMES))


def resolve_scheduler(name: str, schedule: str | None = None) -> SchedulerSpec:
    """Resolve a user-typed scheduler name (and optional schedule type) to a :class:`SchedulerSpec`.

    Raises :class:`UnknownScheduler` for unknown names, unknown schedules, or a schedule the class does not
    implement (e.g. Karras sigmas on DDIM).
    """
    key = _normalise(name)
    schedule_key = _normalise(schedule) if schedule else None
    if key not in _CLASS_ALIASES and key not in _FRONT_END_NAMES:
        for suffix in _SCHEDULES:
            if key.endswith("_" + suffix) and schedule_key is None:
                key, schedule_key = key.removesuffix("_" + suffix), suffix
                break
    if key in _CLASS_ALIASES:
        class_name, options, approximate = _CLASS_ALIASES[key], {}, False
    elif key in _FRONT_END_NAMES:
        class_name, options, approximate = _FRONT_END_NAMES[key]
    else:
        raise UnknownScheduler(f"unknown scheduler {name!r}; known: {', '.join(scheduler_names())}")
    options = dict(options)
    if schedule_key is not None:
        if schedule_key not in _SCHEDULES:
            raise UnknownScheduler(f"unknown schedule {schedule!r}; known: {', '.join(_SCHEDULES)}")
        extra = _SCHEDULES[schedule_key] or {}
        accepted = inspect.signature(getattr(diffusers, class_name).__init__).parameters
        unsupported = [option for option in extra if option not in accepted]
        if unsupported:
            raise UnknownScheduler(f"{class_name} does not implement the {schedule_key!r} schedule")
        options.update(extra)
    return SchedulerSpec(name=name, class_name=class_name, options=options, schedule=schedule_key,
                         approximate=approximate)


def make_scheduler(name: str, base_config: dict[str, Any], schedule: str | None = None):
    """Instantiate the scheduler ``name`` on a model's noise schedule (``base_config``, e.g. ``pipe.scheduler.config``).

    Only the model's noise schedule carries over (betas, prediction type, timestep spacing and offset); the
    previous scheduler's own choices (solver order, Karras sigmas...) do not, and the resolved options apply.
    """
    spec = resolve_scheduler(name, schedule)
    scheduler_class = getattr(diffusers, spec.class_name)
    config = {key: value for key, value in dict(base_config).items() if key in _NOISE_SCHEDULE_KEYS}
    return scheduler_class.from_config(config, **spec.options)
