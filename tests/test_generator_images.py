"""ComfyUI ImageScale-style resizing and the post-processing chains applied to both classes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from generator.postprocess import PostProcess, encode
from generator.resize import ResizeSpec, resize_image, target_size


@pytest.fixture(scope="module")
def photo(photos_dir) -> Image.Image:
    return Image.open(photos_dir / "bsds500" / "test_100007.jpg").convert("RGB")  # 481 x 321


def test_target_size_follows_comfyui_and_rounds_to_8():
    assert target_size((481, 321), ResizeSpec(512, 0)) == (512, 344)  # 341.7 -> 344
    assert target_size((481, 321), ResizeSpec(0, 256)) == (384, 256)  # 383.6 -> 384
    assert target_size((481, 321), ResizeSpec(0, 0)) == (480, 320)  # keep size, on the latent grid
    assert target_size((481, 321), ResizeSpec(300, 300)) == (304, 304)
    assert target_size((3, 3), ResizeSpec(0, 0)) == (8, 8)


@pytest.mark.parametrize("method", ["lanczos", "bicubic", "bilinear", "area", "nearest-exact"])
def test_every_method_resizes_a_real_photo(photo, method):
    out = resize_image(photo, ResizeSpec(128, 0, method))
    assert out.size == (128, 88) and out.mode == "RGB"
    reference = np.asarray(photo.resize((128, 88), Image.Resampling.LANCZOS), dtype=np.float64)
    assert np.abs(np.asarray(out, dtype=np.float64) - reference).mean() < 12  # same picture


def test_center_crop_keeps_the_middle_instead_of_stretching(photo):
    cropped = resize_image(photo, ResizeSpec(160, 160, "bilinear", "center"))
    stretched = resize_image(photo, ResizeSpec(160, 160, "bilinear", "disabled"))
    assert cropped.size == stretched.size == (160, 160)
    # the centre crop of a 481x321 photo is its middle 321x321 square (x from 80 to 401)
    middle = np.asarray(photo.crop((80, 0, 401, 321)).resize((160, 160), Image.Resampling.BILINEAR), np.float64)
    assert np.abs(np.asarray(cropped, np.float64) - middle).mean() < np.abs(
        np.asarray(stretched, np.float64) - middle).mean()
    with pytest.raises(ValueError, match="unknown resize method"):
        ResizeSpec(64, 64, "bislerp")


def test_post_processing_chains(photo):
    social = PostProcess.parse("social")
    assert social.name == "social" and social.output_jpeg_quality == 75
    chain = PostProcess.parse("crop0.5+resize0.5+jpeg70")
    assert [op.kind for op in chain.operations] == ["crop", "resize", "jpeg"]
    out = chain.apply(photo)
    assert out.size == (120, 80)  # 481*0.5=240.5 -> 240, then half
    data, extension = encode(out, chain, "png")
    decoded = Image.open(io.BytesIO(data))
    assert extension == "jpg" and decoded.format == "JPEG"
    # a trailing JPEG is the file's own encoding: one compression at quality 70
    assert decoded.quantization[0][0] == Image.open(io.BytesIO(_jpeg(out, 70))).quantization[0][0]
    twice = PostProcess.parse("jpeg50+resize0.5")
    assert twice.output_jpeg_quality is None and twice.apply(photo).size == (240, 160)
    assert PostProcess.parse("none").apply(photo) is photo
    for bad in ("jpeg101", "blur3", "crop1.5"):
        with pytest.raises(ValueError):
            PostProcess.parse(bad)


def test_encode_formats(photo):
    none = PostProcess.parse("none")
    png, ext = encode(photo, none, "png")
    assert ext == "png" and np.array_equal(np.asarray(Image.open(io.BytesIO(png))), np.asarray(photo))
    jpeg, ext = encode(photo, none, "jpeg", quality=90)
    assert ext == "jpg" and Image.open(io.BytesIO(jpeg)).format == "JPEG"
    webp, ext = encode(photo, none, "webp")
    assert ext == "webp" and Image.open(io.BytesIO(webp)).format == "WEBP"


def _jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()
