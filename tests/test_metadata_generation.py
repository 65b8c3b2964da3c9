"""Generation parameters parsed from real A1111, ComfyUI, InvokeAI, Fooocus, NovelAI and stealth files, and SwarmUI,
Draw Things, Midjourney and FLUX reference-code records written into real photos."""

from __future__ import annotations

import csv
import html
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import piexif
import pytest
from PIL import Image, PngImagePlugin

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata import MetadataAnalyzer
from forensics.analyzers.metadata.comfyui import parse_comfyui
from forensics.analyzers.metadata.generation_params import read_generation
from forensics.media import load_media, media_from_bytes


def _generation(path: Path) -> dict:
    readout = read_generation(load_media(path))
    assert readout.findings and readout.findings[0].severity is Severity.DECISIVE
    assert readout.findings[0].direction == "synthetic"
    return readout.details["generation"]


def test_a1111_img2img_denoising_strength(provenance_dir: Path) -> None:
    card = _generation(provenance_dir / "a1111-forge" / "html_card-no-preview.png")
    assert card["format"] == "a1111" and card["mode"] == "img2img"
    assert card["denoising_strength"] == pytest.approx(0.57)
    assert card["steps"] == 20 and card["sampler"] == "Euler a" and card["seed"] == 2448144561
    assert (card["width"], card["height"]) == (512, 768) and card["model"] == "dreamlike-photoreal-2.0"
    assert card["negative_prompt"] == "3d"
    girl = _generation(provenance_dir / "sd-webui-controlnet" / "f248a55_example_inpaint_example_1girl.png")
    assert girl["denoising_strength"] == pytest.approx(0.75) and girl["mode"] == "img2img"


def test_a1111_jpeg_user_comment_and_png(provenance_dir: Path) -> None:
    jpeg = _generation(
        provenance_dir / "sd-parsers" / "0949676_tests_resources_parsers_AUTOMATIC1111_automatic1111_cropped.jpg"
    )
    assert jpeg["prompt"] == "photo of a duck" and jpeg["negative_prompt"] == "monochrome"
    assert jpeg["steps"] == 15 and jpeg["sampler"] == "UniPC" and jpeg["seed"] == 235284042
    assert jpeg["mode"] == "txt2img" and jpeg["denoising_strength"] is None
    png = _generation(
        provenance_dir / "sd-parsers" / "0949676_tests_resources_parsers_AUTOMATIC1111_automatic1111_cropped.png"
    )
    assert (png["width"], png["height"]) == (512, 400) and png["model_hash"] == "c0d1994c73"


def test_stealth_alpha_parameters(provenance_dir: Path) -> None:
    gen = _generation(
        provenance_dir / "sd-parsers" / "0949676_tests_resources_parsers_AUTOMATIC1111_automatic1111_stealth.png"
    )
    assert gen["hidden_in"] == "stealth alpha low bits"
    assert gen["prompt"] == "a circle" and gen["negative_prompt"] == "a square"
    assert gen["seed"] == 2015833630 and gen["model"] == "realisticVisionV51_v51VAE"


@pytest.mark.parametrize(
    "name",
    [
        "comfyui-examples/4301089_img2img_img2img.png",
        "sd-parsers/0949676_tests_resources_parsers_ComfyUI_img2img_cropped.png",
    ],
)
def test_comfyui_img2img_denoise_and_source(provenance_dir: Path, name: str) -> None:
    gen = _generation(provenance_dir / name)
    assert gen["format"] == "comfyui" and gen["mode"] == "img2img"
    assert gen["denoise"] == pytest.approx(0.87)
    assert gen["loaded_images"] == ["example.png"]
    assert "v1-5-pruned-emaonly.ckpt" in gen["models"]


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("comfyui-examples/2d693c3_2_pass_txt2img_hiresfix_esrgan_workflow.png", "txt2img+hires"),
        ("comfyui-examples/f9431bb_2_pass_txt2img_hiresfix_latent_workflow.png", "txt2img+hires"),
        ("comfyui-examples/175e3f8_inpaint_inpain_model_woman.png", "inpaint"),
        ("comfyui-examples/f9431bb_inpaint_inpaint_anythingv3_woman.png", "inpaint"),
        ("comfyui-examples/f9431bb_hidream_hidream_e1_example.png", "edit"),
        ("comfyui-examples/f9431bb_qwen_image_qwen_image_edit_basic_example.png", "edit"),
        ("comfyui-examples/f9431bb_flux_flux_controlnet_example.png", "image-conditioned"),
        ("comfyui-examples/60e1adc_flux_flux_schnell_example.png", "txt2img"),
        ("comfyui-examples/f9431bb_sd3_sd3_simple_example.png", "txt2img"),
    ],
)
def test_comfyui_graph_modes(provenance_dir: Path, name: str, mode: str) -> None:
    gen = _generation(provenance_dir / name)
    assert gen["mode"] == mode
    if mode == "inpaint":
        assert gen["inpaint_nodes"] and gen["loaded_images"] == ["yosemite_inpaint_example.png"]
    if mode == "txt2img+hires":
        assert gen["denoise"] == pytest.approx(0.5)


def test_comfyui_workflow_in_animated_webp_exif(provenance_dir: Path) -> None:
    media = load_media(provenance_dir / "comfyui-examples" / "f9431bb_mochi_mochi_simple_checkpoint.webp")
    assert media.kind == "video"
    evidence = MetadataAnalyzer().run(media)
    assert evidence.status == "ok"
    gen = evidence.details["generation"]
    assert gen["format"] == "comfyui" and gen["graph_source"] == "prompt" and gen["mode"] == "txt2img"
    assert not any(f.code == "exif_camera" for f in evidence.findings)  # Make/Model hold JSON, not a camera


def test_invokeai_formats(provenance_dir: Path) -> None:
    sd = provenance_dir / "sd-parsers"
    dream = _generation(sd / "0949676_tests_resources_parsers_InvokeAI_invokeai_dream1.png")
    assert dream["version"] == "dream" and dream["steps"] == 50 and dream["seed"] == 2980747362
    assert dream["sampler"] == "k_lms" and (dream["width"], dream["height"]) == (512, 768)
    imeta = _generation(sd / "0949676_tests_resources_parsers_InvokeAI_invokeai_imeta1.png")
    assert imeta["mode"] == "txt2img" and imeta["model"] == "juggernautXL" and imeta["steps"] == 35
    sdmeta = _generation(sd / "0949676_tests_resources_parsers_InvokeAI_invokeai_sdmeta1.png")
    assert sdmeta["version"] == "2.3.0" and sdmeta["model"] == "deliberateForInvoke_v08"
    outcrop = _generation(provenance_dir / "invokeai" / "outpainting_curly-outcrop.png")
    assert outcrop["mode"] == "outpaint" and outcrop["postprocessing"] == ["outcrop"]


def test_fooocus_and_novelai(provenance_dir: Path) -> None:
    sd = provenance_dir / "sd-parsers"
    fooocus = _generation(sd / "0949676_tests_resources_parsers_Fooocus_fooocus1_cropped.png")
    assert fooocus["format"] == "fooocus" and fooocus["model"] == "juggernautXL_v8Rundiffusion"
    nai = _generation(sd / "0949676_tests_resources_parsers_NovelAI_novelai1_cropped.png")
    assert nai["format"] == "novelai" and nai["steps"] == 50 and nai["seed"] == 2253955223
    assert nai["strength"] == pytest.approx(0.4) and nai["sampler"] == "k_euler_ancestral"


def _manifest_rows(provenance_dir: Path) -> list[dict[str, str]]:
    with (provenance_dir / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_generator_file_of_the_manifest_is_declared(provenance_dir: Path) -> None:
    tags = ("A1111_", "comfy_prompt", "comfy_workflow", "Dream", "sd-metadata", "invokeai_metadata", "fooocus")
    rows = [r for r in _manifest_rows(provenance_dir) if any(t in r["metadata"] for t in tags)]
    assert len(rows) >= 45
    for row in rows:
        media = load_media(provenance_dir / row["file"])
        gen = read_generation(media).details.get("generation")
        assert gen is not None, row["file"]
        expected = "comfyui" if "comfy" in row["metadata"] else None
        if expected:
            assert gen["format"] == expected, row["file"]
        denoise = row["metadata"].split("denoise=")[1].split(";")[0] if "denoise=" in row["metadata"] else None
        if denoise:
            assert gen["denoising_strength"] == pytest.approx(float(denoise)), row["file"]


def _png_with_text(photo: Path, **chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").resize((64, 64)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def test_hostile_generation_metadata_never_crashes(photos_dir: Path) -> None:
    photo = photos_dir / "kodak" / "kodak_kodim01.png"
    cyclic = {"1": {"class_type": "KSampler", "inputs": {"latent_image": ["2", 0], "denoise": 0.4}},
              "2": {"class_type": "VAEEncode", "inputs": {"pixels": ["3", 0]}},
              "3": {"class_type": "LoadImage", "inputs": {"image": ["2", 0]}}}  # fmt: skip
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        {"prompt": "{not json", "workflow": "[1, 2"},
        {"prompt": json.dumps(cyclic)},
        {"prompt": deep, "workflow": deep},
        {"parameters": "Steps: x, Sampler: \x00\x01, Seed: 1e999, Size: 9x" + "a" * 300_000},
        {"invokeai_metadata": '{"generation_mode": 5, "strength": "x"}', "Dream": '"unclosed -s 5'},
        {"Software": "NovelAI", "Comment": "[]"},
    ]
    analyzer = MetadataAnalyzer()
    for chunks in cases:
        evidence = analyzer.run(media_from_bytes(_png_with_text(photo, **chunks)))
        assert evidence.status == "ok", (chunks.keys(), evidence.reason)
    gen = parse_comfyui(cyclic, None)
    assert gen is not None and gen["mode"] == "img2img" and gen["denoise"] == pytest.approx(0.4)


def _with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """``png`` with one more chunk just before its first IDAT."""
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


def test_a_metadata_bomb_neither_hides_the_pixels_nor_the_generation_settings(provenance_dir: Path,
                                                                              tmp_path: Path) -> None:
    """A real A1111 PNG given a zTXt, a compressed iTXt chunk and an ICC profile that inflate to 64 MB each (Pillow
    refuses the whole file): the bombs are named and left unread, the pixels decode, the A1111 parameters still
    decide, and the copy on disk is unchanged."""
    original = provenance_dir / "a1111-forge" / "html_card-no-preview.png"
    bomb = zlib.compress(b"\0" * 64_000_000, 9)
    data = _with_chunk(original.read_bytes(), b"zTXt", b"workflow\0\0" + bomb)
    data = _with_chunk(data, b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + bomb)
    data = _with_chunk(data, b"iCCP", b"icc\0\0" + bomb)
    with pytest.raises(ValueError, match="MAX_TEXT_CHUNK"):
        Image.open(io.BytesIO(data)).load()
    path = tmp_path / "bombed.png"
    path.write_bytes(data)
    media = load_media(path)
    assert media.skipped_chunks == ("workflow", "XML:com.adobe.xmp", "ICC profile icc")
    plain = load_media(original)  # a file without oversized chunks is read exactly as before
    assert np.array_equal(media.image, plain.image)
    evidence = MetadataAnalyzer(watermark=False).run(media)
    codes = {f.code: f for f in evidence.findings}
    bomb_finding = codes["png_text_oversized"]
    assert bomb_finding.severity is Severity.MEDIUM and "'workflow'" in bomb_finding.message
    assert codes["generation_a1111"].severity is Severity.DECISIVE and "metadata_none" not in codes
    assert evidence.details["generation"]["denoising_strength"] == pytest.approx(0.57)
    assert path.read_bytes() == data
    assert plain.skipped_chunks == () and not any(f.code == "png_text_oversized"
                                                for f in MetadataAnalyzer(watermark=False).run(plain).findings)


def _photo_as(photo: Path, fmt: str, **save: object) -> bytes:
    image = Image.open(photo).convert("RGB").resize((96, 64))
    buf = io.BytesIO()
    image.save(buf, fmt, **save)
    return buf.getvalue()


def test_swarmui_and_draw_things_settings(photos_dir: Path) -> None:
    """A real photo saved as SwarmUI (PNG ``parameters``, JPEG EXIF UserComment) and Draw Things (XMP) save their
    settings, in the formats their documentation and files show."""
    photo = photos_dir / "kodak" / "kodak_kodim01.png"
    swarm = {"sui_image_params": {"prompt": "a red barn", "negativeprompt": "blurry", "model": "Flux/flux1-dev-fp8",
                                  "seed": 305223794, "steps": 25, "cfgscale": 1.0, "width": 1024, "height": 1024,
                                  "sampler": "euler", "scheduler": "normal", "initimagecreativity": 0.45,
                                  "swarm_version": "0.9.1.1"},
             "sui_extra_data": {"date": "2024-08-07"}}  # fmt: skip
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", json.dumps(swarm, indent=2))
    png = read_generation(media_from_bytes(_photo_as(photo, "PNG", pnginfo=info)))
    gen = png.details["generation"]
    assert gen["format"] == "swarmui" and gen["mode"] == "img2img" and gen["denoising_strength"] == pytest.approx(0.45)
    assert gen["model"] == "Flux/flux1-dev-fp8" and gen["seed"] == 305223794 and (gen["width"], gen["height"]) == (
        1024, 1024)
    assert png.findings[0].severity is Severity.DECISIVE and "SwarmUI" in png.findings[0].message
    assert "denoising strength 0.45" in png.findings[0].message

    hires = {"sui_image_params": {**{k: v for k, v in swarm["sui_image_params"].items() if k != "initimagecreativity"},
                                  "refinercontrolpercentage": 0.3, "refinerupscale": 2}}
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + json.dumps(hires).encode("utf-16-be")
    jpeg = read_generation(media_from_bytes(_photo_as(photo, "JPEG", exif=exif, quality=90))).details["generation"]
    assert jpeg["format"] == "swarmui" and jpeg["mode"] == "txt2img+hires"
    assert jpeg["denoising_strength"] == pytest.approx(0.3)

    settings = {"c": "a lighthouse at dusk, <detailed>", "uc": "text", "seed": 1601874409, "steps": 30,
                "scale": 7.5, "sampler": "DPM++ 2M Karras", "model": "realistic_vision_v5.1_f16.ckpt",
                "strength": 0.6, "size": "768x512"}  # fmt: skip
    xmp = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
           "<rdf:Description rdf:about='' xmlns:exif='http://ns.adobe.com/exif/1.0/' "
           "xmlns:xmp='http://ns.adobe.com/xap/1.0/' xmp:CreatorTool='Draw Things'>"
           f"<exif:UserComment><rdf:Alt><rdf:li xml:lang='x-default'>{html.escape(json.dumps(settings))}</rdf:li>"
           "</rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    media = media_from_bytes(_photo_as(photo, "PNG", pnginfo=info))
    drawn = read_generation(media).details["generation"]
    assert drawn["format"] == "drawthings" and drawn["mode"] == "img2img"
    assert drawn["prompt"] == settings["c"] and drawn["denoising_strength"] == pytest.approx(0.6)
    assert (drawn["width"], drawn["height"]) == (768, 512) and drawn["seed"] == 1601874409
    evidence = MetadataAnalyzer().run(media)
    assert {"generation_drawthings", "xmp_tool_generator"} <= {f.code for f in evidence.findings}


def test_midjourney_job_record(photos_dir: Path) -> None:
    """Midjourney's command and job id in a PNG ``Description`` (with ``Author`` and its XMP source type), or in a
    JPEG's XMP ``dc:description``; a caption naming some other job is not read as one."""
    photo = photos_dir / "kodak" / "kodak_kodim01.png"
    job = "a7421d2f-b262-44f9-977c-ac23e9c7d3e3"
    xmp = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
           "<rdf:Description rdf:about='' xmlns:iptcExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/' "
           f"iptcExt:DigImageGUID='{job}' iptcExt:DigitalSourceType="
           "'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia'/></rdf:RDF></x:xmpmeta>")
    info = PngImagePlugin.PngInfo()
    info.add_text("Description", f"a lighthouse at dusk --ar 2:1 --stylize 80 --v 6.1 --raw Job ID: {job}")
    info.add_text("Author", "peterkaminski")
    info.add_itxt("XML:com.adobe.xmp", xmp)
    media = media_from_bytes(_photo_as(photo, "PNG", pnginfo=info))
    gen = read_generation(media).details["generation"]
    assert gen["format"] == "midjourney" and gen["mode"] == "txt2img" and gen["job_id"] == job
    assert gen["prompt"] == "a lighthouse at dusk" and gen["model"] == "Midjourney 6.1" and gen["stylize"] == 80
    assert gen["aspect_ratio"] == "2:1" and gen["author"] == "peterkaminski" and gen["options"]["raw"] == ""
    codes = {(f.code, f.severity) for f in MetadataAnalyzer().run(media).findings}
    assert {("generation_midjourney", Severity.DECISIVE), ("xmp_source_type_synthetic", Severity.HIGH)} <= codes

    command = f"https://s.mj.run/AbCdEf a red barn in snow --iw 1.5 --sref https://s.mj.run/XyZ --niji 6 Job ID: {job}"
    described = ("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
                 "<rdf:Description rdf:about='' xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:description><rdf:Alt>"
                 f"<rdf:li xml:lang='x-default'>{html.escape(command)}</rdf:li></rdf:Alt></dc:description>"
                 "</rdf:Description></rdf:RDF></x:xmpmeta>")
    jpeg = _photo_as(photo, "JPEG", quality=90, xmp=described.encode())
    gen = read_generation(media_from_bytes(jpeg)).details["generation"]
    assert gen["mode"] == "image-conditioned" and gen["image_prompts"] == ["https://s.mj.run/AbCdEf"]
    assert gen["prompt"] == "a red barn in snow" and gen["image_weight"] == 1.5 and gen["references"] == ["sref"]
    assert gen["model"] == "Midjourney niji 6"
    for caption in ("Harbour at dusk. Job ID: 2024-117", f"a lighthouse --v 6 job {job}"):
        png = _png_with_text(photo, Description=caption, Author="staff photographer")
        assert "generation" not in read_generation(media_from_bytes(png)).details


def test_flux_reference_code_record(camera_jpeg: Path) -> None:
    """A camera JPEG given the EXIF record of Black Forest Labs' FLUX code (piexif, pixels untouched): its Software
    names the mode, Make the maker, Model the model, ImageDescription the prompt."""
    exif = piexif.load(str(camera_jpeg))
    exif["0th"].update({piexif.ImageIFD.Software: b"AI generated;img2img;flux",
                        piexif.ImageIFD.Make: b"Black Forest Labs", piexif.ImageIFD.Model: b"flux-dev",
                        piexif.ImageIFD.ImageDescription: b"a red barn in snow"})
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), camera_jpeg.read_bytes(), out)
    readout = read_generation(media_from_bytes(out.getvalue()))
    gen = readout.details["generation"]
    assert gen == {"format": "bfl", "prompt": "a red barn in snow", "model": "flux-dev", "maker": "Black Forest Labs",
                   "mode": "img2img"}
    assert readout.findings[0].severity is Severity.DECISIVE and "image-to-image" in readout.findings[0].message
    original = read_generation(load_media(camera_jpeg))
    assert "generation" not in original.details and not original.findings


def test_settings_of_a_tool_without_a_parser(photos_dir: Path) -> None:
    """A prompt beside sampler settings, one text chunk per setting or a JSON object in one chunk, is read as
    generation settings; a photo's ordinary text chunks, or a prompt with a single setting, are not."""
    photo = photos_dir / "kodak" / "kodak_kodim01.png"
    chunks = {"prompt": "a sailing boat", "negative_prompt": "people", "seed": "42", "num_inference_steps": "30",
              "guidance_scale": "7.5", "prompt_strength": "0.6", "use_stable_diffusion_model": "sd-v1-5"}
    readout = read_generation(media_from_bytes(_png_with_text(photo, **chunks)))
    gen = readout.details["generation"]
    assert gen["format"] == "generic" and gen["mode"] == "img2img" and gen["denoising_strength"] == pytest.approx(0.6)
    assert gen["model"] == "sd-v1-5" and gen["steps"] == 30 and gen["seed"] == 42
    finding = readout.findings[0]
    assert finding.severity is Severity.DECISIVE and "denoising strength 0.60" in finding.message
    as_json = {"Comment": json.dumps({"Prompt": "a sailing boat", "Seed": 7, "Steps": 20, "Sampler": "euler"})}
    gen = read_generation(media_from_bytes(_png_with_text(photo, **as_json))).details["generation"]
    assert gen["format"] == "generic" and gen["mode"] == "unknown" and gen["steps"] == 20
    for ordinary in ({"Title": "prompt", "Description": "seed, steps and guidance"},
                     {"prompt": "a caption", "seed": "3"}, {"Comment": '{"prompt": "x", "author": "me"}'}):
        assert "generation" not in read_generation(media_from_bytes(_png_with_text(photo, **ordinary))).details
