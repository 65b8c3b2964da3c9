"""Editing real photos with the tiny model through the real diffusers img2img pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from generator import EditParams, load_editor


def pixels(result) -> np.ndarray:
    return np.asarray(result.image).astype(np.int16)


def params(**changes) -> EditParams:
    base = {"prompt": "an oil painting", "negative_prompt": "blurry", "strength": 0.5, "steps": 4, "seed": 11,
            "width": 64}
    return EditParams(**(base | changes))


@pytest.fixture(scope="module")
def photo(photos_dir) -> Image.Image:
    return Image.open(photos_dir / "bsds500" / "test_100007.jpg")


@pytest.fixture(scope="module")
def editor():
    return load_editor("tiny", device="cpu")


@pytest.mark.slow
def test_same_seed_same_pixels_and_a_reproducible_record(editor, photo):
    first, second = editor.edit(photo, params()), editor.edit(photo, params())
    assert np.array_equal(pixels(first), pixels(second))
    other = editor.edit(photo, params(seed=12))
    assert not np.array_equal(pixels(first), pixels(other))
    record = first.record
    json.dumps(record)  # plain JSON
    assert record["seed"] == 11 and record["seed_requested"] == 11
    assert record["kind"] == "img2img"
    assert record["strength"] == 0.5 and record["steps"] == 4
    assert record["effective_steps"] == 2 and record["denoising_iterations"] == 2
    assert record["guidance"] == 7.5
    assert record["prompt"] == "an oil painting" and record["negative_prompt"] == "blurry"
    assert record["model_id"] == "builtin:tiny" and len(record["weights_sha256"]) == 64
    assert record["vae"] == "taesd" and record["vae_class"] == "AutoencoderTiny"
    assert record["scheduler_class"] == "EulerDiscreteScheduler"
    assert record["scheduler_config"]["beta_schedule"] == "scaled_linear"
    assert record["input_size"] == [481, 321]
    # ComfyUI ImageScale: width 64, height from the aspect ratio (42.7), rounded to a multiple of 8
    assert record["size"] == [64, 40] and first.image.size == (64, 40)
    assert set(record["versions"]) >= {"diffusers", "torch", "transformers"}
    assert record["torch_threads"] == torch.get_num_threads()


def test_random_seed_is_recorded_and_reproduces(editor, photo):
    drawn = editor.edit(photo, params(seed=-1))
    assert drawn.record["seed_requested"] == -1
    seed = drawn.record["seed"]
    assert 0 <= seed < 2**32
    again = editor.edit(photo, params(seed=seed))
    assert np.array_equal(pixels(drawn), pixels(again))


@pytest.mark.slow
def test_batched_edits_equal_single_edits(editor, photo, photos_dir):
    other = Image.open(photos_dir / "bsds500" / "test_100039.jpg")
    items = [params(seed=1, prompt="anime"), params(seed=2, prompt="watercolor")]
    batch = editor.edit_batch([photo, other], items)
    singles = [editor.edit(photo, items[0]), editor.edit(other, items[1])]
    for got, expected in zip(batch, singles, strict=True):
        assert got.record["batch_size"] == 2
        assert got.record["seed"] == expected.record["seed"]
        assert np.abs(pixels(got) - pixels(expected)).max() <= 2  # float batching noise only
    with pytest.raises(ValueError, match="must share strength"):
        editor.edit_batch([photo, other], [params(strength=0.5), params(strength=0.75)])


def test_strength_zero_is_the_autoencoder_round_trip(editor, photo):
    result = editor.edit(photo, params(strength=0.0))
    assert result.record["kind"] == "vae-roundtrip"
    assert result.record["effective_steps"] == 0 and result.record["scheduler_class"] is None
    source = np.asarray(photo.convert("RGB").resize((64, 40), Image.Resampling.LANCZOS)).astype(np.int16)
    error = np.abs(pixels(result) - source).mean()
    assert 0 < error < 25  # TAESD reconstructs the photo closely but not exactly


def test_latent_output_feeds_back_as_initial_latents(editor, photo):
    latent = editor.edit(photo, params(output_type="latent"))
    assert latent.image is None
    assert tuple(latent.latents.shape) == (1, 4, 5, 8)
    from_latents = editor.edit(None, params(seed=3), latents=latent.latents)
    assert from_latents.image.size == (64, 40)
    assert from_latents.record["input_size"] is None


def test_invalid_parameters_are_refused(editor, photo):
    with pytest.raises(ValueError, match="no denoising step"):
        editor.edit(photo, params(strength=0.1, steps=4))
    with pytest.raises(ValueError, match="strength must be in"):
        editor.edit(photo, params(strength=1.5))
    with pytest.raises(ValueError, match="unknown scheduler"):
        editor.edit(photo, params(scheduler="warp drive"))


@pytest.mark.slow
@pytest.mark.parametrize("scheduler", ["DPM++ 2M Karras", "Euler a", "dpmpp_sde", "heun", "uni_pc", "ddim"])
def test_schedulers_run_in_the_pipeline(editor, photo, scheduler):
    result = editor.edit(photo, params(scheduler=scheduler))
    assert result.record["scheduler"] == scheduler
    assert result.record["denoising_iterations"] >= result.record["effective_steps"] == 2
    assert np.asarray(result.image).std() > 1


@pytest.mark.slow
def test_lora_scale_is_applied(photo, tmp_path):
    from diffusers import StableDiffusionImg2ImgPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    from generator.tiny import build_tiny_unet

    unet = build_tiny_unet(seed=0)
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    torch.manual_seed(0)
    for name, parameter in unet.named_parameters():
        if "lora_B" in name:  # peft initialises B to zero (a no-op LoRA); make it do something
            torch.nn.init.normal_(parameter, std=0.5)
    state = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    StableDiffusionImg2ImgPipeline.save_lora_weights(tmp_path, unet_lora_layers=state)
    base = load_editor("tiny", device="cpu").edit(photo, params())
    off = load_editor("tiny", device="cpu", loras=[(tmp_path, 0.0)]).edit(photo, params())
    on = load_editor("tiny", device="cpu", loras=[(tmp_path, 1.0)]).edit(photo, params())
    assert np.array_equal(pixels(off), pixels(base))
    assert np.abs(pixels(on) - pixels(base)).mean() > 1
    assert on.record["loras"] == [{"path": str(tmp_path), "scale": 1.0}]


@pytest.mark.slow
def test_pag_scale(editor, photo):
    pag = load_editor("tiny", device="cpu", enable_pag=True)
    assert type(pag.pipe).__name__ == "StableDiffusionPAGImg2ImgPipeline"
    plain = editor.edit(photo, params())
    assert np.array_equal(pixels(pag.edit(photo, params(pag_scale=0.0))), pixels(plain))
    guided = pag.edit(photo, params(pag_scale=3.0))
    assert guided.record["pag_scale"] == 3.0
    assert np.abs(pixels(guided) - pixels(plain)).mean() > 1
    with pytest.raises(ValueError, match="enable_pag"):
        editor.edit(photo, params(pag_scale=3.0))
