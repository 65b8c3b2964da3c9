"""Scheduler names as diffusers, AUTOMATIC1111 and ComfyUI users type them."""

from __future__ import annotations

import pytest

from generator.schedulers import (
    SD_SCHEDULER_CONFIG,
    UnknownScheduler,
    make_scheduler,
    resolve_scheduler,
    scheduler_names,
)

# every diffusers short name the issue lists -> class
DIFFUSERS_NAMES = {
    "DPMSolverSDE": "DPMSolverSDEScheduler",
    "Euler": "EulerDiscreteScheduler",
    "LMS": "LMSDiscreteScheduler",
    "DDIM": "DDIMScheduler",
    "DDPM": "DDPMScheduler",
    "Heun": "HeunDiscreteScheduler",
    "DPMSolverMultistep": "DPMSolverMultistepScheduler",
    "DEISMultistep": "DEISMultistepScheduler",
    "PNDM": "PNDMScheduler",
    "EulerAncestral": "EulerAncestralDiscreteScheduler",
    "UniPC": "UniPCMultistepScheduler",
    "KDPM2": "KDPM2DiscreteScheduler",
    "DPMSolverSinglestep": "DPMSolverSinglestepScheduler",
    "KDPM2Ancestral": "KDPM2AncestralDiscreteScheduler",
}


@pytest.mark.parametrize(("name", "class_name"), sorted(DIFFUSERS_NAMES.items()))
def test_every_listed_diffusers_scheduler_builds_and_sets_timesteps(name, class_name):
    for spelling in (name, class_name, name.lower()):
        scheduler = make_scheduler(spelling, SD_SCHEDULER_CONFIG)
        assert type(scheduler).__name__ == class_name
    scheduler.set_timesteps(10)
    assert len(scheduler.timesteps) >= 10
    # the SD noise schedule carried over
    assert scheduler.config.beta_schedule == "scaled_linear"
    assert scheduler.config.beta_end == pytest.approx(0.012)


@pytest.mark.parametrize(
    ("typed", "class_name", "options"),
    [
        ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
        ("DPM++ 2M", "DPMSolverMultistepScheduler", {}),
        ("DPM++ 2M SDE Karras", "DPMSolverMultistepScheduler",
         {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True}),
        ("DPM++ SDE Karras", "DPMSolverSDEScheduler", {"use_karras_sigmas": True}),
        ("Euler a", "EulerAncestralDiscreteScheduler", {}),
        ("Euler", "EulerDiscreteScheduler", {}),
        ("DPM2 a", "KDPM2AncestralDiscreteScheduler", {}),
        ("DPM2 Karras", "KDPM2DiscreteScheduler", {"use_karras_sigmas": True}),
        ("LMS Karras", "LMSDiscreteScheduler", {"use_karras_sigmas": True}),
        ("PLMS", "PNDMScheduler", {}),
        ("UniPC", "UniPCMultistepScheduler", {}),
        # ComfyUI sampler_name values
        ("dpmpp_2m", "DPMSolverMultistepScheduler", {}),
        ("dpmpp_2m_sde_gpu", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
        ("euler_ancestral", "EulerAncestralDiscreteScheduler", {}),
        ("dpm_2_ancestral", "KDPM2AncestralDiscreteScheduler", {}),
        ("uni_pc", "UniPCMultistepScheduler", {}),
        ("uni_pc_bh2", "UniPCMultistepScheduler", {"solver_type": "bh2"}),
        ("ddim", "DDIMScheduler", {}),
        ("dpmpp_sde", "DPMSolverSDEScheduler", {}),
    ],
)
def test_front_end_names(typed, class_name, options):
    spec = resolve_scheduler(typed)
    assert spec.class_name == class_name
    assert spec.options == options
    scheduler = make_scheduler(typed, SD_SCHEDULER_CONFIG)
    assert type(scheduler).__name__ == class_name
    for key, value in options.items():
        assert scheduler.config[key] == value


def test_comfyui_sampler_plus_scheduler_input():
    """ComfyUI's KSampler has sampler_name and scheduler as two inputs; A1111 >= 1.6 has "Schedule type"."""
    spec = resolve_scheduler("dpmpp_2m", "karras")
    assert (spec.class_name, spec.options, spec.schedule) == ("DPMSolverMultistepScheduler",
                                                              {"use_karras_sigmas": True}, "karras")
    assert resolve_scheduler("Euler", "exponential").options == {"use_exponential_sigmas": True}
    assert resolve_scheduler("euler", "sgm_uniform").options == {"timestep_spacing": "trailing"}
    assert resolve_scheduler("DPM++ 2M", "Automatic").options == {}
    # the Karras sigmas really change the schedule
    plain = make_scheduler("dpmpp_2m", SD_SCHEDULER_CONFIG)
    karras = make_scheduler("dpmpp_2m", SD_SCHEDULER_CONFIG, "karras")
    plain.set_timesteps(10)
    karras.set_timesteps(10)
    assert plain.timesteps.tolist() != karras.timesteps.tolist()


def test_unknown_names_and_unsupported_schedules_are_explained():
    with pytest.raises(UnknownScheduler, match="unknown scheduler 'DPM fast'"):
        resolve_scheduler("DPM fast")
    with pytest.raises(UnknownScheduler, match="DDIMScheduler does not implement the 'karras' schedule"):
        resolve_scheduler("ddim", "karras")
    with pytest.raises(UnknownScheduler, match="unknown schedule"):
        resolve_scheduler("euler", "wobbly")
    assert "dpmpp_2m" in scheduler_names()
    assert "euler_a" in scheduler_names()


def test_switching_scheduler_keeps_noise_schedule_drops_sampler_choices():
    """A model shipped with DPM++ 2M SDE Karras: asking for plain Euler must not inherit its SDE or Karras."""
    shipped = make_scheduler("DPM++ 2M SDE Karras", SD_SCHEDULER_CONFIG | {"prediction_type": "v_prediction"})
    euler = make_scheduler("euler", shipped.config)
    assert euler.config.prediction_type == "v_prediction"
    assert euler.config.use_karras_sigmas is False
    dpm = make_scheduler("dpmpp_2m", shipped.config)
    assert dpm.config.algorithm_type == "dpmsolver++"
    assert dpm.config.use_karras_sigmas is False
