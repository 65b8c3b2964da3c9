"""Video container tags: a real phone recording's, and ComfyUI, AIGC-label and generator tags muxed into a real
clip the way their writers do (``-movflags use_metadata_tags``)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
from PIL import Image

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata import MetadataAnalyzer
from forensics.media import load_media, media_from_bytes
from forensics.verdict import decisive_finding_verdict


def _remuxed(clip: Path, tags: dict[str, str]) -> bytes:
    """``clip``'s video packets, unchanged, in a new MP4 carrying ``tags``."""
    buf = io.BytesIO()
    with av.open(str(clip)) as source, av.open(buf, "w", format="mp4",
                                               options={"movflags": "use_metadata_tags"}) as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        target.metadata.update(tags)
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    return buf.getvalue()


def test_a_phone_recording_names_its_device(data_dir: Path) -> None:
    evidence = MetadataAnalyzer().run(load_media(data_dir / "videos" / "metadata-extractor" / "mov_with-gps.mov"))
    facts = evidence.details["container"]
    assert (facts["make"], facts["model"], facts["software"]) == ("Apple", "iPhone 6", "12.3")
    assert facts["location"].startswith("+32.0929+034.8620") and facts["created"].startswith("2019-07-24T11:25")
    device = [f for f in evidence.findings if f.code == "container_device"]
    assert device and device[0].severity is Severity.LOW and device[0].direction == "authentic"
    assert decisive_finding_verdict([evidence], "test") is None


def test_generator_tags_of_a_clip(data_dir: Path) -> None:
    clip = data_dir / "videos" / "imageio" / "images_cockatoo_yuv420.mp4"
    before = clip.read_bytes()
    graph = Image.open(data_dir / "provenance" / "comfyui-examples" / "4301089_img2img_img2img.png").info["prompt"]
    label = {"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000", "ProduceID": "task:7f3a"}
    cases = {
        "comfyui": ({"prompt": graph, "workflow": "{}"}, "generation_comfyui"),
        "aigc": ({"AIGC": json.dumps(label)}, "aigc_label_generated"),
    }
    found = {}
    for name, (tags, code) in cases.items():
        found[name] = evidence = MetadataAnalyzer().run(media_from_bytes(_remuxed(clip, tags)))
        verdict = decisive_finding_verdict([evidence], "test")
        assert verdict is not None and any(f.code == code for f in evidence.findings), name
    assert found["comfyui"].details["generation"]["mode"] == "img2img"
    assert found["aigc"].details["aigc_label"]["ProduceID"] == "task:7f3a"
    software = MetadataAnalyzer().run(media_from_bytes(_remuxed(clip, {"software": "Kling AI 2.1"})))
    named = [f for f in software.findings if f.code == "container_software_generator"]
    assert named and named[0].severity is Severity.HIGH and "Kling" in named[0].message
    plain = MetadataAnalyzer().run(media_from_bytes(_remuxed(clip, {"comment": "holiday, day 2"})))
    assert not [f for f in plain.findings if f.direction == "synthetic"]
    assert clip.read_bytes() == before
