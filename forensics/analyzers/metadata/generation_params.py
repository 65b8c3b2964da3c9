"""Generation parameters left by the tools people use: find the text, hand it to the right parser, judge it.

Sources: PNG text chunks (``parameters``, ``prompt``/``workflow``, ``Dream``, ``sd-metadata``,
``invokeai_metadata``, ``fooocus_scheme``, NovelAI's ``Software``/``Comment``, SwarmUI's JSON ``parameters``),
EXIF UserComment (A1111 and SwarmUI JPEG/WebP), EXIF Make/Model/ImageDescription (ComfyUI animated WebP writes
``workflow:{...}`` and ``prompt:{...}`` there), video container tags (ComfyUI's ``prompt``/``workflow``), XMP
CreatorTool/UserComment (Draw Things), the picture's description (PNG ``Description``, XMP ``dc:description`` or EXIF
ImageDescription: Midjourney's job record), EXIF Software/Make/Model (FLUX reference code), the stealth alpha/RGB
low bits, and a prompt beside sampler settings from any other tool (:mod:`.generic_settings`).
"""

from __future__ import annotations

from typing import Any

from PIL import ExifTags

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.a1111 import parse_a1111
from forensics.analyzers.metadata.bfl_flux import parse_bfl
from forensics.analyzers.metadata.comfyui import parse_comfyui
from forensics.analyzers.metadata.exif import user_comment
from forensics.analyzers.metadata.fooocus_novelai import parse_fooocus, parse_novelai
from forensics.analyzers.metadata.generic_settings import parse_generic
from forensics.analyzers.metadata.invokeai import parse_invokeai
from forensics.analyzers.metadata.midjourney import parse_midjourney
from forensics.analyzers.metadata.readout import MAX_TEXT_CHARS, Readout, as_text, load_json
from forensics.analyzers.metadata.stealth import read_stealth
from forensics.analyzers.metadata.swarmui_drawthings import parse_drawthings, parse_swarmui
from forensics.analyzers.metadata.xmp import xmp_packets, xmp_values
from forensics.media import Media

_TOOL_NAMES = {
    "a1111": "AUTOMATIC1111/Forge",
    "comfyui": "ComfyUI",
    "invokeai": "InvokeAI",
    "fooocus": "Fooocus",
    "novelai": "NovelAI",
    "swarmui": "SwarmUI",
    "drawthings": "Draw Things",
    "midjourney": "Midjourney",
    "bfl": "Black Forest Labs' FLUX reference code",
}
_MODE_WORDS = {
    "img2img": "an image-to-image edit of an existing picture",
    "inpaint": "an inpainting edit (part of an existing picture regenerated)",
    "outpaint": "an outpainting of an existing picture",
    "edit": "an instruction edit of an existing picture",
    "image-conditioned": "a generation guided by an existing picture (ControlNet, unCLIP or similar)",
    "txt2img+hires": "a text-to-image generation with a second (hires) pass",
    "txt2img": "a text-to-image generation",
}
#: Parsers of tools whose records cannot be mistaken for one another, tried in turn after ComfyUI's.
_PARSERS = (parse_invokeai, parse_fooocus, parse_novelai, parse_swarmui, parse_drawthings, parse_midjourney, parse_bfl)
#: XMP properties read as text (property name, key in the texts).
_XMP_TEXTS = (("CreatorTool", "CreatorTool"), ("UserComment", "xmp:UserComment"), ("description", "Description"))
#: EXIF text tags read (tag, key in the texts: ImageDescription is the picture's ``Description``).
_EXIF_TEXT_TAGS = {0x010E: "Description", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software"}


def text_sources(media: Media) -> dict[str, str]:
    """Every textual metadata item that may hold generation parameters, by name."""
    texts: dict[str, str] = {}
    if media.video is not None:  # ComfyUI's video writers store "prompt" and "workflow" as container tags
        texts.update(media.video.tags)
    if media.pil is None:
        return texts
    for packet in xmp_packets(media):
        for name, key in _XMP_TEXTS:
            values = xmp_values(packet, name, limit=MAX_TEXT_CHARS)
            if values:
                texts.setdefault(key, values[0])
    for key, value in media.pil.info.items():
        if isinstance(key, str) and key not in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp"):
            text = as_text(value)
            if text:
                texts[key] = text
    try:
        exif = media.pil.getexif()
        comment = user_comment(exif.get_ifd(ExifTags.IFD.Exif).get(0x9286))
        tags = {tag: exif.get(tag) for tag in _EXIF_TEXT_TAGS}
    except Exception:
        return texts
    if comment:
        texts.setdefault("parameters", comment)
    for tag, raw in tags.items():
        text = as_text(raw)
        if not text:
            continue
        # ComfyUI's WebP writer stores "workflow:{json}" / "prompt:{json}" in these tags
        name, sep, rest = text.partition(":")
        if sep and name in ("workflow", "prompt") and rest.lstrip().startswith("{"):
            texts.setdefault(name, rest)
        else:
            texts.setdefault(_EXIF_TEXT_TAGS[tag], text)
    return texts


def parse_generation(texts: dict[str, str]) -> dict[str, Any] | None:
    """The first tool whose format matches the texts, parsed; ``None`` if none matches."""
    if "prompt" in texts or "workflow" in texts:
        parsed = parse_comfyui(load_json(texts.get("prompt")), load_json(texts.get("workflow")))
        if parsed:
            return parsed
    for parser in _PARSERS:
        parsed = parser(texts)
        if parsed:
            return parsed
    parsed = parse_a1111(texts["parameters"]) if "parameters" in texts else None
    return parsed or parse_generic(texts)


def read_generation(media: Media) -> Readout:
    """Parsed generation parameters (``details["generation"]``) and a decisive finding when found."""
    out = Readout()
    if media.skipped_chunks:
        names = ", ".join(repr(k) for k in media.skipped_chunks)
        out.details["skipped_chunks"] = list(media.skipped_chunks)
        out.findings.append(Finding(
            "png_text_oversized",
            f"PNG metadata chunks ({names}) inflate beyond the reader's limit and were left unread: broken or "
            "hostile metadata, such as a decompression bomb, which can also hide generation settings. The pixels "
            "were analysed without them.",
            Severity.MEDIUM))
    texts = text_sources(media)
    parsed = parse_generation(texts)
    if parsed is None and media.format == "PNG":
        stealth = read_stealth(media.pil)
        if stealth is not None:
            parsed = parse_a1111(stealth[0]) or {"format": "unknown", "text": stealth[0][:2000]}
            parsed["hidden_in"] = f"stealth {stealth[1]} low bits"
    if parsed is None:
        return out
    out.details["generation"] = parsed
    tool = _TOOL_NAMES.get(parsed["format"], "an image generator")
    mode = parsed.get("mode", "unknown")
    strength = parsed.get("denoising_strength", parsed.get("denoise", parsed.get("strength")))
    sentence = f"The file carries the generation settings of {tool}"
    if parsed.get("hidden_in"):
        sentence += f", hidden in the pixels ({parsed['hidden_in']})"
    sentence += f": it is {_MODE_WORDS.get(mode, 'a generated image')}"
    if isinstance(strength, float) and mode in ("img2img", "inpaint", "outpaint", "txt2img+hires"):
        sentence += f", denoising strength {strength:.2f}"
        out.features["denoising_strength"] = strength
    model = parsed.get("model") or ", ".join(parsed.get("models", [])[:3])
    if model:
        sentence += f" (model: {model})"
    out.findings.append(Finding(f"generation_{parsed['format']}", sentence + ".", Severity.DECISIVE, "synthetic"))
    return out
