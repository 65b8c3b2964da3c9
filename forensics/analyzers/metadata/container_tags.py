"""Metadata tags of video containers (MP4/MOV/MKV/AVI): recording device, software, capture place and time.

Phones and cameras write their make, model and software version as QuickTime keys (``com.apple.quicktime.make``)
or plain tags (``make``, ``software``); encoders and editors write ``encoder``/``software``. The tags are as easy
to copy or strip as EXIF, so they inform and never decide.
"""

from __future__ import annotations

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import Readout, clip_text
from forensics.analyzers.metadata.software import classify_software
from forensics.media import Media

_FACTS = {
    "make": ("com.apple.quicktime.make", "make", "com.android.manufacturer"),
    "model": ("com.apple.quicktime.model", "model", "com.android.model"),
    "software": ("com.apple.quicktime.software", "software", "encoder", "creation_tool"),
    "android_version": ("com.android.version",),
    "created": ("com.apple.quicktime.creationdate", "creation_time", "date"),
    "location": ("com.apple.quicktime.location.ISO6709", "location"),
}
_MAX_LISTED = 50  # tags kept in the report


def read_container_tags(media: Media) -> Readout:
    """The container's tags (``details["container_tags"]``), the facts among them (``details["container"]``, when
    any), and findings."""
    out = Readout()
    tags = media.video.tags if media.video is not None else {}
    if not tags:
        return out
    lowered = {key.lower(): value.strip() for key, value in tags.items()}
    found = {name: next((lowered[key.lower()] for key in keys if lowered.get(key.lower())), "") for name, keys in
             _FACTS.items()}  # the first key of each fact that is present wins
    facts = {name: clip_text(value, 300) for name, value in found.items() if value}
    out.details["container_tags"] = {key: clip_text(value, 300) for key, value in list(tags.items())[:_MAX_LISTED]}
    if facts:  # brands and handler names alone say nothing of the file's origin
        out.details["container"] = facts
    device = " ".join(v for v in (facts.get("make", ""), facts.get("model", "")) if v)
    if device:
        out.findings.append(Finding(
            "container_device",
            f"The video's container names a recording device: {device}. This fits a real recording, but such tags "
            "are easily copied.",
            Severity.LOW,
            "authentic",
        ))
    for key in _FACTS["software"]:
        value = lowered.get(key.lower(), "")
        kind, name = classify_software(value) if value else ("other", None)
        if kind == "generator":
            out.findings.append(Finding(
                "container_software_generator",
                f"The video's container names a generator ({name}) in its '{key}' tag ({clip_text(value, 100)}).",
                Severity.HIGH,
                "synthetic",
            ))
            break
    return out
