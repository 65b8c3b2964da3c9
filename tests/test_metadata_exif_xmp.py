"""EXIF, XMP/IPTC and JPEG structure on real camera files, and on real files altered the way editors alter them."""

from __future__ import annotations

import io
import time
from pathlib import Path

import piexif
import pytest
from PIL import Image, PngImagePlugin

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata import MetadataAnalyzer
from forensics.analyzers.metadata.exif import read_exif, user_comment
from forensics.analyzers.metadata.jpeg_structure import read_jpeg
from forensics.analyzers.metadata.xmp import read_xmp
from forensics.media import MediaError, load_media, media_from_bytes


def _codes(readout) -> dict[str, tuple[Severity, str]]:
    return {f.code: (f.severity, f.direction) for f in readout.findings}


def test_camera_exif_facts(camera_jpeg: Path) -> None:
    readout = read_exif(load_media(camera_jpeg))
    exif = readout.details["exif"]
    assert exif["make"] == "Canon" and exif["model"] == "Canon PowerShot S40"
    assert exif["datetime_original"] == "2003:12:14 12:01:44"
    assert exif["thumbnail"]["similarity"] > 0.95
    assert _codes(readout)["exif_camera"] == (Severity.LOW, "authentic")


def test_gps_and_editor(photos_dir: Path) -> None:
    readout = read_exif(load_media(photos_dir / "exif-samples" / "jpg_gps_DSCN0010.jpg"))
    gps = readout.details["exif"]["gps"]
    assert gps["latitude"] == pytest.approx(43.4674, abs=1e-3) and gps["longitude"] == pytest.approx(11.8851, abs=1e-3)
    gimp = read_exif(load_media(photos_dir / "exif-samples" / "jpg_tests_33-type_error.jpg"))
    assert _codes(gimp)["exif_software_editor"] == (Severity.LOW, "neutral")


@pytest.mark.parametrize(
    ("software", "finding"),
    [("Image Playground 1.0", "exif_software_generator"), ("Seedream 4.0", "exif_software_generator"),
     ("Veo 3", "exif_software_generator"), ("VEO Camera 2.1.4", None), ("GIMP 2.10.36", "exif_software_editor"),
     ("Adobe Photoshop 25.1 (Windows)", "exif_software_editor"), ("HDR+ 1.0.641377693zd", None)],
)
def test_software_names_a_generator_or_an_editor(camera_jpeg: Path, software: str, finding: str | None) -> None:
    """A camera JPEG whose EXIF Software is rewritten (piexif, pixels untouched): generators are HIGH, editors LOW,
    and a sports camera called VEO or a phone's HDR+ pipeline is neither."""
    exif = piexif.load(str(camera_jpeg))
    exif["0th"][piexif.ImageIFD.Software] = software.encode()
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), camera_jpeg.read_bytes(), out)
    codes = _codes(read_exif(media_from_bytes(out.getvalue())))
    named = {c for c in codes if c.startswith("exif_software_")}
    assert named == ({finding} if finding else set())
    if finding == "exif_software_generator":
        assert codes[finding] == (Severity.HIGH, "synthetic")


def _with_thumbnail(camera_jpeg: Path, thumbnail: Image.Image) -> bytes:
    exif = piexif.load(str(camera_jpeg))
    buf = io.BytesIO()
    thumbnail.save(buf, "JPEG")
    exif["thumbnail"] = buf.getvalue()
    out = io.BytesIO()
    piexif.insert(piexif.dump(exif), camera_jpeg.read_bytes(), out)
    return out.getvalue()


def test_thumbnail_of_another_picture_is_flagged(camera_jpeg: Path, photos_dir: Path) -> None:
    other = Image.open(photos_dir / "kodak" / "kodak_kodim03.png").convert("RGB").resize((160, 120))
    readout = read_exif(media_from_bytes(_with_thumbnail(camera_jpeg, other)))
    assert readout.details["exif"]["thumbnail"]["similarity"] < 0.5
    assert _codes(readout)["exif_thumbnail_mismatch"][0] is Severity.MEDIUM


def test_malformed_exif_never_crashes(camera_jpeg: Path) -> None:
    data = camera_jpeg.read_bytes()
    start = data.index(b"Exif\x00\x00")
    garbage = data[: start + 30] + bytes(range(256)) * 8 + data[start + 30 + 2048 :]
    for blob in (garbage, data[: start + 10] + b"\xff" * 5000 + data[start + 5010 :]):
        try:
            media = media_from_bytes(blob)
        except MediaError:  # the loader may refuse the file: then there is nothing to analyze
            continue
        assert MetadataAnalyzer().run(media).status == "ok"
    assert user_comment(b"UNICODE\x00" + "hello".encode("utf-16-le")) == "hello"
    assert user_comment(b"\x01\x02") is None


def _jpeg_with_xmp(photo: Path, xmp: str) -> bytes:
    buf = io.BytesIO()
    Image.open(photo).convert("RGB").save(buf, "JPEG", quality=83, xmp=xmp.encode())
    return buf.getvalue()


_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{code}" xmp:CreatorTool="{tool}"/>
</rdf:RDF></x:xmpmeta>"""


def test_xmp_source_type_and_jpeg_quality(photos_dir: Path) -> None:
    photo = photos_dir / "kodak" / "kodak_kodim05.png"
    media = media_from_bytes(_jpeg_with_xmp(photo, _XMP.format(code="trainedAlgorithmicMedia", tool="Adobe Firefly")))
    xmp = read_xmp(media)
    assert xmp.details["xmp"]["digital_source_type"] == ["trainedAlgorithmicMedia"]
    codes = _codes(xmp)
    assert codes["xmp_source_type_synthetic"] == (Severity.HIGH, "synthetic")  # unsigned: strong, not decisive
    assert codes["xmp_tool_generator"][1] == "synthetic"
    jpeg = read_jpeg(media).details["jpeg"]
    assert jpeg["table_family"] == "ijg-standard" and jpeg["estimated_quality"]["0"]["quality"] == 83
    assert [s["name"] for s in jpeg["app_segments"]][:2] == ["JFIF", "XMP"]
    capture = read_xmp(media_from_bytes(_jpeg_with_xmp(photo, _XMP.format(code="digitalCapture", tool="x"))))
    assert _codes(capture)["xmp_source_type_capture"] == (Severity.LOW, "authentic")
    broken = read_xmp(media_from_bytes(_jpeg_with_xmp(photo, _XMP.format(code="x", tool="y")[:150])))
    assert broken.details["xmp"]["packets"] == 1


def test_xmp_history_of_real_photoshop_file(photos_dir: Path) -> None:
    xmp = read_xmp(load_media(photos_dir / "exif-samples" / "jpg_xmp_no_exif.jpg")).details["xmp"]
    assert xmp["creator_tool"].startswith("Adobe Photoshop")
    assert xmp["history"][0]["action"] == "created"


@pytest.mark.parametrize(
    "packet",
    [
        "<x:xmpmeta>" + "<a:History>" * 40_000,
        "<x:xmpmeta>History" + '<rdf:li x="' * 45_000,
        "<x:xmpmeta>" + 'a:DigitalSourceType="' * 25_000,
    ],
)
def test_hostile_xmp_is_read_in_bounded_time(photos_dir: Path, packet: str) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    buf = io.BytesIO()
    photo = Image.open(photos_dir / "kodak" / "kodak_kodim01.png").convert("RGB").resize((64, 64))
    photo.save(buf, "PNG", pnginfo=info)
    start = time.perf_counter()
    readout = read_xmp(media_from_bytes(buf.getvalue()))
    assert time.perf_counter() - start < 5.0  # linear scans: well under a second on a quiet machine
    assert readout.details["xmp"]["packets"] == 1
