"""China's implicit AIGC label (GB 45438-2025) written into real photos in each carrier services use."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata import MetadataAnalyzer
from forensics.media import media_from_bytes
from forensics.verdict import decisive_finding_verdict

LABEL = {"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000", "ProduceID": "u:1008/task:e5118399e50d",
         "ReservedCode1": "", "ContentPropagator": "", "PropagateID": "", "ReservedCode2": ""}  # fmt: skip
TC260 = "http://www.tc260.org.cn/ns/AIGC/1.0/"


def _xmp(body: str) -> str:
    return (f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>"
            f"<rdf:Description rdf:about='' xmlns:TC260='{TC260}'>{body}</rdf:Description></rdf:RDF></x:xmpmeta>")


def _saved(photo: Path, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").resize((96, 64)).save(buf, fmt, **save)
    return buf.getvalue()


def _png(photo: Path, **chunks: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        if key.startswith("XML:"):
            info.add_itxt(key, value)
        else:
            info.add_text(key, value)
    return _saved(photo, "PNG", pnginfo=info)


@pytest.fixture
def photo(photos_dir: Path) -> Path:
    return photos_dir / "kodak" / "kodak_kodim01.png"


def test_the_label_decides_in_every_carrier(photo: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + json.dumps({"AIGC": LABEL}).encode()
    carriers = {
        "XMP TC260:AIGC": _png(photo, **{"XML:com.adobe.xmp": _xmp(f"<TC260:AIGC>{html.escape(json.dumps(LABEL))}"
                                                                  "</TC260:AIGC>")}),
        "XMP fields": _png(photo, **{"XML:com.adobe.xmp": _xmp("<TC260:Label>1</TC260:Label>"
                                                               f"<TC260:ContentProducer>{LABEL['ContentProducer']}"
                                                               "</TC260:ContentProducer>")}),
        "PNG AIGC chunk": _png(photo, AIGC=json.dumps(LABEL)),
        "JPEG XMP": _saved(photo, "JPEG", xmp=_xmp(f"<TC260:AIGC>{html.escape(json.dumps(LABEL))}</TC260:AIGC>")
                           .encode()),
        "JPEG EXIF UserComment": _saved(photo, "JPEG", exif=exif),
    }
    for carrier, data in carriers.items():
        evidence = MetadataAnalyzer(watermark=False).run(media_from_bytes(data))
        assert evidence.details["aigc_label"]["ContentProducer"] == LABEL["ContentProducer"], carrier
        verdict = decisive_finding_verdict([evidence], "test")
        assert verdict is not None and verdict.label == "synthetic", carrier
        assert "GB 45438-2025" in verdict.basis and LABEL["ContentProducer"] in verdict.basis, carrier


def test_a_judgement_or_a_bare_label_informs_and_ordinary_labels_are_ignored(photo: Path, camera_jpeg: Path) -> None:
    suspected = _png(photo, AIGC=json.dumps({"AIGC": {**LABEL, "Label": "3"}}))
    evidence = MetadataAnalyzer(watermark=False).run(media_from_bytes(suspected))
    found = [f for f in evidence.findings if f.code == "aigc_label_suspected"]
    assert found and found[0].severity is Severity.HIGH and decisive_finding_verdict([evidence], "test") is None
    bare = MetadataAnalyzer(watermark=False).run(media_from_bytes(_png(photo, AIGC='{"Label": "1"}')))
    found = [f for f in bare.findings if f.code == "aigc_label_generated"]
    assert found and found[0].severity is Severity.HIGH and decisive_finding_verdict([bare], "test") is None
    # xmp:Label is XMP Basic's colour label; without the TC260 namespace it is no AIGC label
    colour = _png(photo, **{"XML:com.adobe.xmp": _xmp("<xmp:Label>1</xmp:Label>").replace(TC260, "urn:x")})
    for data in (colour, _png(photo, AIGC="not json"), camera_jpeg.read_bytes()):
        assert "aigc_label" not in MetadataAnalyzer(watermark=False).run(media_from_bytes(data)).details
