"""Media loading on real files of every supported format, and on broken files crafted from them."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from forensics.media import MediaError, MediaLimits, load_media, media_from_bytes


@pytest.fixture(scope="module")
def kodak(photos_dir: Path) -> Image.Image:
    return Image.open(photos_dir / "kodak" / "kodak_kodim01.png").convert("RGB")


def _encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def test_camera_jpeg_keeps_bytes_and_hash(camera_jpeg: Path) -> None:
    raw = camera_jpeg.read_bytes()
    media = load_media(camera_jpeg)
    assert media.kind == "image" and media.format == "JPEG"
    assert media.data == raw
    assert media.sha256 == hashlib.sha256(raw).hexdigest()
    assert media.image.shape == (media.height, media.width, 3) and media.image.dtype == np.uint8
    assert media.pil is not None and media.pil.getexif()  # metadata readers get the decoded EXIF


@pytest.mark.parametrize(
    ("fmt", "kwargs", "expected"),
    [
        ("PNG", {}, "PNG"),
        ("WEBP", {"quality": 90}, "WEBP"),
        ("TIFF", {}, "TIFF"),
        ("BMP", {}, "BMP"),
        ("GIF", {}, "GIF"),
        ("HEIF", {"quality": 90}, "HEIF"),
        ("AVIF", {"quality": 90}, "AVIF"),
    ],
)
def test_still_formats_decode_to_rgb(kodak: Image.Image, fmt: str, kwargs: dict, expected: str) -> None:
    media = media_from_bytes(_encode(kodak, fmt, **kwargs))
    assert (media.kind, media.format) == ("image", expected)
    assert media.image.shape == (kodak.height, kodak.width, 3)
    # lossy codecs stay close to the source; lossless ones (and palette GIF) within quantisation
    assert np.abs(media.image.astype(int) - np.asarray(kodak, dtype=int)).mean() < 12


def test_png_16bit_palette_and_alpha(kodak: Image.Image) -> None:
    grey16 = Image.fromarray(np.asarray(kodak.convert("L"), dtype=np.uint16) * 257)
    media = media_from_bytes(_encode(grey16, "PNG"))
    assert media.pil.mode.startswith("I")
    assert np.array_equal(media.image[:, :, 0], np.asarray(kodak.convert("L")))  # 16 -> 8 bit scaled, not clipped

    palette = media_from_bytes(_encode(kodak.quantize(64), "PNG"))
    assert palette.pil.mode == "P" and palette.image.shape[2] == 3

    rgba = kodak.copy()
    rgba.putalpha(128)
    alpha = media_from_bytes(_encode(rgba, "PNG"))
    assert alpha.pil.mode == "RGBA"
    assert np.array_equal(alpha.image, np.asarray(kodak))  # colour under the alpha is kept, not composited


def test_animated_webp_is_a_lazily_decoded_clip(kodak: Image.Image) -> None:
    frames = [kodak.rotate(i * 3) for i in range(5)]
    data = _encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=40)
    media = media_from_bytes(data)
    assert media.kind == "video" and media.frame_count == 5
    decoded = list(media.frames(stride=2))
    assert [f.index for f in decoded] == [0, 2, 4]
    assert decoded[1].time_s == pytest.approx(0.08)


@pytest.mark.parametrize(
    "name",
    ["metadata-extractor/mov_with-gps.mov", "metadata-extractor/avi_100_0306.AVI", "imageio/images_realshort.mp4"],
)
def test_real_videos(videos_dir: Path, name: str) -> None:
    media = load_media(videos_dir / name)
    assert media.kind == "video" and media.video is not None
    assert media.video.fps and media.video.fps > 1
    frames = list(media.frames(stride=5, max_frames=4))
    assert len(frames) == 4 and frames[0].rgb.shape == (media.height, media.width, 3)
    assert frames[1].index == 5 and frames[1].time_s > frames[0].time_s


def test_rotation_metadata_is_reported(videos_dir: Path) -> None:
    media = load_media(videos_dir / "metadata-extractor" / "mov_with-gps.mov")
    assert abs(media.video.rotation) == 90
    assert media.describe()["has_audio"] is True


def test_webm_written_by_pyav(tmp_path: Path, kodak: Image.Image) -> None:
    path = tmp_path / "clip.webm"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libvpx-vp9", rate=10)
        stream.width, stream.height, stream.pix_fmt = 256, 128, "yuv420p"
        for i in range(6):
            frame = av.VideoFrame.from_ndarray(np.asarray(kodak.crop((i * 4, 0, i * 4 + 256, 128))), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    media = load_media(path)
    assert (media.kind, media.format) == ("video", "WEBM")
    assert len(list(media.frames())) == 6


# --- broken and hostile files -------------------------------------------------------------------


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size: the classic decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    )


def _jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """Patch the SOF0/SOF2 frame header of a real JPEG to claim another size.

    Walks the segments, so the SOF of an EXIF thumbnail inside APP1 is not the one patched.
    """
    data = bytearray(jpeg)
    pos = 2
    while data[pos] == 0xFF:
        marker, length = data[pos + 1], struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in (0xC0, 0xC2):
            data[pos + 5 : pos + 9] = struct.pack(">HH", height, width)
            return bytes(data)
        pos += 2 + length
    raise AssertionError("no SOF marker")


def _webp_cut_short(jpeg: bytes) -> bytes:
    """The first half of the photo re-saved as a lossy WebP."""
    out = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(out, "WEBP", quality=90)
    return out.getvalue()[: out.tell() // 2]


@pytest.mark.parametrize(
    ("make", "codes"),
    [
        (lambda jpg: b"", {"empty"}),
        (lambda jpg: b"this is a text file, not a photo\n" * 10, {"not_media"}),
        (lambda jpg: jpg[: len(jpg) // 3], {"truncated"}),
        (lambda jpg: _png_claiming(60_000, 60_000), {"too_large"}),
        (lambda jpg: _jpeg_claiming(jpg, 65_000, 65_000), {"too_large"}),
        (lambda jpg: jpg[:2000] + bytes(range(256)) * 40, {"truncated", "unreadable"}),
        (_webp_cut_short, {"truncated"}),
    ],
    ids=["zero-byte", "text", "truncated-jpeg", "png-bomb", "jpeg-bomb", "garbage-after-header", "truncated-webp"],
)
def test_bad_files_get_a_clear_error(camera_jpeg: Path, tmp_path: Path, make, codes: set[str]) -> None:
    path = tmp_path / "evidence.jpg"
    path.write_bytes(make(camera_jpeg.read_bytes()))
    with pytest.raises(MediaError) as info:
        load_media(path)
    assert info.value.code in codes
    assert info.value.message  # a sentence a person can read


def test_pixel_limit_is_configurable(camera_jpeg: Path) -> None:
    with pytest.raises(MediaError, match="limit") as info:
        load_media(camera_jpeg, MediaLimits(max_pixels=10_000))
    assert info.value.code == "too_large"


def test_renamed_file_is_read_by_content(kodak: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "holiday.jpg"
    path.write_bytes(_encode(kodak, "PNG"))
    media = load_media(path)
    assert media.format == "PNG"
    assert media.describe()["extension_mismatch"] is True


def test_truncated_video_is_refused_or_partially_decoded(videos_dir: Path, tmp_path: Path) -> None:
    data = (videos_dir / "imageio" / "images_realshort.mp4").read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    try:
        media = load_media(path)
    except MediaError as exc:
        assert exc.code in {"unreadable", "truncated"}
    else:  # a cut mp4 whose index survived decodes the frames that remain, and stops cleanly
        assert 0 < len(list(media.frames())) < 36


def test_loading_never_modifies_the_file(camera_jpeg: Path) -> None:
    before = (camera_jpeg.stat().st_mtime_ns, hashlib.sha256(camera_jpeg.read_bytes()).hexdigest())
    load_media(camera_jpeg).image  # noqa: B018 - decoding is the point
    after = (camera_jpeg.stat().st_mtime_ns, hashlib.sha256(camera_jpeg.read_bytes()).hexdigest())
    assert before == after
