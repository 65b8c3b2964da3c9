"""The built-in tiny model, and loading the same weights from a diffusers folder and from a single file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from generator import BUILTIN_MODELS, EditParams, load_editor
from generator.single_file import save_single_file
from generator.tiny import build_text_encoder, build_tiny_unet, build_tokenizer

PARAMS = EditParams(prompt="a watercolor painting", strength=0.5, steps=4, guidance=7.5, seed=7, width=64)


@pytest.fixture(scope="module")
def photo(photos_dir) -> Image.Image:
    return Image.open(photos_dir / "kodak" / "kodak_kodim03.png")


@pytest.fixture(scope="module")
def tiny():
    return load_editor("tiny", device="cpu")


@pytest.fixture(scope="module")
def tiny_folder(tiny, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-diffusers")
    tiny.pipe.save_pretrained(folder)
    return folder


def test_tokenizer_is_byte_level_and_sd_sized():
    tokenizer = build_tokenizer()
    ids = tokenizer("golden-hour, é", padding="max_length", max_length=tokenizer.model_max_length).input_ids
    assert tokenizer.model_max_length == 77 and len(ids) == 77
    assert tokenizer.convert_ids_to_tokens(ids[:3]) == ["<|startoftext|>", "g", "o"]
    assert "<|endoftext|>" in tokenizer.convert_ids_to_tokens(ids)


def test_builders_are_deterministic_and_seed_dependent():
    a, b, c = build_text_encoder(seed=0), build_text_encoder(seed=0), build_text_encoder(seed=1)
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert not all(torch.equal(state_a[k], state_c[k]) for k in state_a)
    unet = build_tiny_unet(seed=0, block_out_channels=(32, 64, 64))
    assert unet.config.block_out_channels == (32, 64, 64)
    assert unet.config.cross_attention_dim == a.config.hidden_size
    # building must not disturb the caller's random stream
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    build_tiny_unet(seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_builtin_tiny_says_so_and_uses_real_taesd(tiny):
    assert "tiny" in BUILTIN_MODELS
    assert "TINY" in tiny.description
    assert tiny.loaded.vae_name == "taesd"
    assert type(tiny.pipe).__name__ == "StableDiffusionImg2ImgPipeline"


@pytest.mark.slow
def test_folder_loading_reproduces_the_builtin_bit_for_bit(tiny, tiny_folder, photo):
    expected = tiny.edit(photo, PARAMS)
    folder = load_editor(str(tiny_folder), device="cpu")
    got = folder.edit(photo, PARAMS)
    assert got.record["model_source"] == "folder"
    assert got.record["weights_sha256"] == expected.record["weights_sha256"]
    assert np.array_equal(np.asarray(got.image), np.asarray(expected.image))


@pytest.mark.slow
def test_single_file_loading_reproduces_the_builtin_bit_for_bit(tiny, tiny_folder, photo, tmp_path):
    checkpoint = tmp_path / "tiny-pruned.safetensors"
    save_single_file(tiny.pipe, checkpoint)
    editor = load_editor(str(checkpoint), vae="taesd", config=str(tiny_folder), device="cpu")
    got = editor.edit(photo, PARAMS)
    expected = tiny.edit(photo, PARAMS)
    assert got.record["model_source"] == "single-file"
    assert got.record["vae"] == "taesd"
    assert len(got.record["weights_sha256"]) == 64  # the checkpoint file's sha256, as A1111 shows it
    assert np.array_equal(np.asarray(got.image), np.asarray(expected.image))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built-in name"):
        load_editor(str(tmp_path / "nope.safetensors"))
