"""XMP packets and IPTC-IIM: digital source type, creator tool, edit history, remote provenance.

XMP is read with tolerant patterns rather than an XML parser: packets from the wild are often
broken (truncated, bad entities, mixed encodings), and the few properties we need keep their
names whatever the namespace prefix. IPTC-IIM comes from Pillow's Photoshop APP13 reader.
"""

from __future__ import annotations

import html
import re
from typing import Any

from PIL import IptcImagePlugin

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import MAX_TEXT_CHARS, Readout, as_text, clip_text
from forensics.analyzers.metadata.software import classify_software
from forensics.media import Media

_SCAN_WINDOW = 32 * 1024 * 1024  # XMP sits near the start or the end of a file
_MAX_PACKETS = 4
MAX_XMP_CHARS = 1_000_000  # real packets are a few kB; extended XMP (depth maps) is not needed here

#: IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/) and what they mean.
SOURCE_TYPES: dict[str, tuple[str, str]] = {
    "trainedAlgorithmicMedia": ("synthetic", "created by a generative AI model"),
    "compositeWithTrainedAlgorithmicMedia": ("synthetic", "a composite that includes generative-AI content"),
    "algorithmicallyEnhanced": ("neutral", "enhanced by an algorithm (e.g. AI denoising or upscaling)"),
    "algorithmicMedia": ("synthetic", "created purely by an algorithm, without a camera"),
    "compositeSynthetic": ("synthetic", "a composite containing synthetic elements"),
    "digitalCapture": ("authentic", "captured by a digital camera"),
    "computationalCapture": ("authentic", "captured by a camera with computational processing"),
    "negativeFilm": ("authentic", "scanned from a film negative"),
    "positiveFilm": ("authentic", "scanned from film"),
    "print": ("authentic", "scanned from a print"),
    "minorHumanEdits": ("neutral", "a capture with minor human edits"),
    "compositeCapture": ("neutral", "a composite of captured elements"),
    "screenCapture": ("neutral", "a screenshot"),
    "digitalArt": ("neutral", "drawn or painted digitally by a person"),
    "virtualRecording": ("neutral", "a recording of a virtual scene"),
    "dataDrivenMedia": ("neutral", "made from data (charts, visualisations)"),
}
_IIM_FIELDS = {(2, 80): "byline", (2, 110): "credit", (2, 115): "source", (2, 116): "copyright",
               (2, 120): "caption", (2, 65): "originating_program", (2, 70): "program_version"}  # fmt: skip


def xmp_packets(media: Media) -> list[str]:
    """XMP packets of the file: from Pillow's metadata, else found in the raw bytes."""
    found: list[str] = []
    if media.pil is not None:
        for key in ("xmp", "XML:com.adobe.xmp"):
            text = as_text(media.pil.info.get(key))
            if text and text not in found:  # Pillow may expose one PNG packet under both keys
                found.append(text)
    if found:
        return found
    data = media.data
    windows = [data[:_SCAN_WINDOW]] if len(data) <= 2 * _SCAN_WINDOW else [data[:_SCAN_WINDOW], data[-_SCAN_WINDOW:]]
    for window in windows:
        start = 0
        while len(found) < _MAX_PACKETS:
            begin = window.find(b"<x:xmpmeta", start)
            if begin < 0:
                break
            end = window.find(b"</x:xmpmeta>", begin, begin + MAX_TEXT_CHARS)
            stop = end + 12 if end >= 0 else min(len(window), begin + MAX_TEXT_CHARS)
            found.append(window[begin:stop].decode("utf-8", errors="replace"))
            start = stop
    return found


def xmp_values(xmp: str, name: str, limit: int = 500) -> list[str]:
    """Values of property ``name`` (any namespace prefix), as attribute, element or rdf:li items, each clipped to
    ``limit`` characters.

    Every pattern is bounded and each element search resumes after the previous match, so a
    hostile packet (thousands of unclosed tags) costs linear time.
    """
    if name not in xmp:  # the common case, and a cheap one
        return []
    # the name must follow a namespace colon or a space: anchoring on it keeps the scan linear
    values = re.findall(rf'(?<=[:\s]){name}\s*=\s*"([^"]{{0,10000}})"', xmp)
    values += re.findall(rf"(?<=[:\s]){name}\s*=\s*'([^']{{0,10000}})'", xmp)
    opening = re.compile(rf"<(?:[\w-]+:)?{name}\b[^<>]{{0,2000}}>")
    closing = re.compile(rf"</(?:[\w-]+:)?{name}>")
    pos = 0
    while len(values) < 50:
        start = opening.search(xmp, pos)
        end = closing.search(xmp, start.end()) if start else None
        if start is None or end is None:
            break
        body, pos = xmp[start.end() : end.start()], end.end()
        items = re.findall(r"<rdf:li\b[^<>]{0,2000}>(.*?)</rdf:li>", body, flags=re.S)
        values += items if items else [body]
        values += re.findall(r'rdf:resource\s*=\s*"([^"]{0,10000})"', body)
    cleaned = [html.unescape(re.sub(r"<[^>]+>", " ", v)).strip() for v in values]
    return [clip_text(v, limit) for v in cleaned if v][:50]


def _history(xmp: str) -> list[dict[str, str]]:
    """xmpMM:History events: action, software agent, time, changed parts."""
    marker = "xmpMM:History" if "xmpMM:History" in xmp else "History"
    events = []
    for event in re.findall(
        r"<rdf:li\b([^<>]{0,2000}?)/?>(.*?)(?=<rdf:li\b|</rdf:Seq>)", xmp.split(marker, 1)[-1], flags=re.S
    )[:50]:
        chunk = event[0] + event[1]
        entry = {
            key: xmp_values(chunk, key)[0]
            for key in ("action", "softwareAgent", "when", "changed")
            if xmp_values(chunk, key)
        }
        if entry.get("action"):
            events.append(entry)
    return events


def source_type_name(value: str) -> str:
    """The IPTC code (``trainedAlgorithmicMedia``) from a full URI or a bare code."""
    return value.rstrip("/").rsplit("/", 1)[-1].strip()


def read_xmp(media: Media) -> Readout:
    """XMP and IPTC-IIM facts and findings."""
    out = Readout()
    packets = xmp_packets(media)
    if packets:
        xmp = "\n".join(packets)[:MAX_XMP_CHARS]
        details: dict[str, Any] = {"packets": len(packets)}
        source_types = sorted({source_type_name(v) for v in xmp_values(xmp, "DigitalSourceType")})
        for key, name in (
            ("CreatorTool", "creator_tool"), ("provenance", "provenance"), ("photoshop:History", "photoshop_history"),
            ("DerivedFrom", "derived_from"),
        ):  # fmt: skip
            values = xmp_values(xmp, key)
            if values:
                details[name] = values[0] if name != "photoshop_history" else values[:5]
        if source_types:
            details["digital_source_type"] = source_types
        events = _history(xmp) if "History" in xmp else []
        if events:
            details["history"] = events
        if "<x:xmpmeta" in xmp and "</x:xmpmeta>" not in xmp:
            details["truncated"] = True
        out.details["xmp"] = details
        _source_type_findings(source_types, out)
        _tool_findings(details, events, out)
    iim = _iim(media)
    if iim:
        out.details["iptc"] = iim
        program = iim.get("originating_program", "")
        if program and classify_software(program)[0] == "generator":
            out.findings.append(
                Finding(
                    "iptc_program_generator",
                    f"IPTC names an image generator as the originating program ({program}).",
                    Severity.HIGH,
                    "synthetic",
                )
            )
    return out


def _iim(media: Media) -> dict[str, str]:
    if media.pil is None or media.format not in ("JPEG", "TIFF"):
        return {}
    try:
        info = IptcImagePlugin.getiptcinfo(media.pil) or {}
    except Exception:
        return {}
    out = {}
    for key, name in _IIM_FIELDS.items():
        value = info.get(key)
        if isinstance(value, list):
            value = b"; ".join(v for v in value if isinstance(v, bytes))
        text = as_text(value)
        if text:
            out[name] = clip_text(text.strip("\x00 "), 500)
    return out


def _source_type_findings(source_types: list[str], out: Readout) -> None:
    for code in source_types:
        direction, meaning = SOURCE_TYPES.get(code, ("neutral", "a source type this tool does not know"))
        message = f"XMP metadata declares the picture as {meaning} (IPTC digital source type '{code}')"
        if direction == "synthetic":
            # HIGH, not DECISIVE: unsigned XMP is a text field anyone can write or copy. It is still strong,
            # because the tools that write it (Photoshop, Firefly, Google, Meta...) do so precisely for AI output.
            out.findings.append(
                Finding("xmp_source_type_synthetic", message + ", unsigned.", Severity.HIGH, "synthetic")
            )
        elif direction == "authentic":
            out.findings.append(
                Finding(
                    "xmp_source_type_capture",
                    message + "; unsigned, so it proves nothing alone.",
                    Severity.LOW,
                    "authentic",
                )
            )
        else:
            out.findings.append(Finding("xmp_source_type", message + ".", Severity.INFO))


def _tool_findings(details: dict[str, Any], events: list[dict[str, str]], out: Readout) -> None:
    tools = [details.get("creator_tool", "")] + [e.get("softwareAgent", "") for e in events]
    generators = sorted(
        {name for kind, name in map(classify_software, filter(None, tools)) if kind == "generator" and name}
    )
    editors = sorted({name for kind, name in map(classify_software, filter(None, tools)) if kind == "editor" and name})
    if generators:
        out.findings.append(
            Finding(
                "xmp_tool_generator",
                f"XMP names an image generator among the tools used: {', '.join(generators)}.",
                Severity.HIGH,
                "synthetic",
            )
        )
    if editors or events:
        saved = [e for e in events if e.get("action") in ("saved", "derived", "converted", "edited")]
        text = f"XMP records editing software ({', '.join(editors)})" if editors else "XMP records an edit history"
        if saved:
            text += f" and {len(saved)} save/edit events"
        out.findings.append(Finding("xmp_edit_history", text + ": the file was processed after capture.", Severity.LOW))
    if str(details.get("provenance", "")).startswith(("http://", "https://")):
        out.findings.append(
            Finding(
                "xmp_remote_provenance",
                f"XMP points to provenance data stored online ({details['provenance']}); "
                "this offline tool did not fetch it.",
                Severity.INFO,
            )
        )
