"""The trained classifier on real data: real BSDS500 photos vs their real VAElight round trips (made by the generator),
features from the real frequency and noise analyzers, safe persistence, the combiner and the CLIs."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from click.testing import CliRunner
from PIL import Image, ImageOps

from forensics.analyzers import registry
from forensics.classifier import postprocess
from forensics.classifier.bundle import UntrustedModelError, load_bundle
from forensics.classifier.cache import Sample, extract
from forensics.classifier.combiner import TrainedCombiner
from forensics.classifier.dataset import load_dataset, split_by_group
from forensics.classifier.features import FeatureSchema, flatten, signal_analyzer_names, signal_analyzers
from forensics.cli import cli
from forensics.media import load_media, media_from_bytes
from forensics.scan import Scanner
from forensics.verdict import RuleCombiner

ANALYZERS = ["frequency", "noise"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory, photos_dir: Path) -> Path:
    """32 BSDS500 photos (centre crops, 256 x 192) and their VAElight round trips, in the generator's layout."""
    from generator.dataset import DatasetBuilder, Recipe

    out = tmp_path_factory.mktemp("dataset")
    listing = out.parent / "sources.txt"
    listing.write_text("".join(f"{p}\n" for p in sorted((photos_dir / "bsds500").glob("*.jpg"))[:32]))
    recipe = Recipe(sources=[str(listing)], out=str(out), strengths=[], roundtrip_vaes=["vaelight"],
                    width=256, height=192, crop="center", image_format="png")
    summary = DatasetBuilder(recipe).run()
    assert summary.written == {"real": 32, "edited": 32} and not summary.failed
    return out


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory: pytest.TempPathFactory, photos_dir: Path) -> tuple[Path, Path]:
    """A bundle trained by ``forensics train`` on the dataset, and its feature cache; imageio's photos are its
    real photos outside the dataset."""
    work = tmp_path_factory.mktemp("model")
    model, cache = work / "tiny-model", work / "features.sqlite"
    result = CliRunner().invoke(cli, ["train", str(dataset), "--out", str(model), "--analyzers", ",".join(ANALYZERS),
                                      "--cache", str(cache), "--augment", "1", "--test-fraction", "0.25",
                                      "--extra-real", str(photos_dir / "imageio")])
    assert result.exit_code == 0, result.output
    return model, cache


def test_signal_analyzers_exclude_metadata() -> None:
    names = signal_analyzer_names("image")
    assert "frequency" in names and "noise" in names
    assert "metadata" not in names and "temporal" not in names  # metadata: facts, not features; temporal: video
    with pytest.raises(ValueError, match="not signal"):
        signal_analyzers(["metadata"])


def test_schema_vector_marks_missing_and_stale_features(camera_jpeg: Path) -> None:
    media = load_media(camera_jpeg)
    evidence = [a.run(media) for a in signal_analyzers(ANALYZERS)]
    row = flatten(evidence)
    assert row and all(k.split(".", 1)[0] in ANALYZERS for k in row)
    versions = {ev.analyzer: ev.version for ev in evidence}
    schema = FeatureSchema.from_rows([row], versions)
    np.testing.assert_allclose(schema.vector(evidence), schema.matrix([row])[0])
    # Features of another analyzer version must not be fed to the model: they become missing.
    old = FeatureSchema(schema.names, {**versions, "noise": "0-old"})
    x = old.vector(evidence)
    noise_cols = np.array([n.startswith("noise.") for n in schema.names])
    assert np.isnan(x[noise_cols]).all() and np.isfinite(x[~noise_cols]).any()
    assert old.stale(evidence) == ["noise"]
    assert FeatureSchema.from_dict(json.loads(json.dumps(schema.to_dict()))) == schema


def test_postprocess_conditions_write_real_files(camera_jpeg: Path) -> None:
    image = load_media(camera_jpeg).image[:200, :300]
    for name in postprocess.CONDITIONS:
        with Image.open(io.BytesIO(postprocess.apply(name, image))) as im:
            assert im.format == ("JPEG" if name.startswith("jpeg") else "PNG")
            expected = {"resize0.5": (150, 100), "jpeg75+resize0.5": (150, 100), "resize0.75": (225, 150),
                        "crop": (240, 160)}.get(name, (300, 200))
            assert im.size == expected, name
    chains = {postprocess.random_chain(np.random.default_rng(seed)) for seed in range(40)}
    assert len(chains) > 20 and any("jpeg" in c for c in chains) and any("noise" in c for c in chains)
    # WebP takes the place of a JPEG step, the rest of the chain as drawn
    webp = [c for c in chains if "webp" in c]
    assert webp and all(c.rsplit("+", 1)[-1].startswith("webp") and "jpeg" not in c for c in webp)


def test_noise_step_is_gaussian_and_reproducible(camera_jpeg: Path) -> None:
    image = load_media(camera_jpeg).image[:200, :300]
    noisy = postprocess.add_noise(image, 3.0)
    assert noisy.dtype == np.uint8 and noisy.shape == image.shape
    unclipped = (image > 10) & (image < 245)
    diff = noisy.astype(float)[unclipped] - image[unclipped]
    assert abs(diff.mean()) < 0.1 and 2.8 < diff.std() < 3.2
    once = postprocess.apply_chain("blur0.5+noise3.0+resize0.5+jpeg80", image)
    assert once == postprocess.apply_chain("blur0.5+noise3.0+resize0.5+jpeg80", image)
    with Image.open(io.BytesIO(once)) as im:
        assert im.format == "JPEG" and im.size == (150, 100)


def test_editing_filters_change_the_photos_noise_as_an_editor_would(camera_jpeg: Path) -> None:
    """``denoise<h>`` removes the camera noise the noise analyzer measures, ``sharpen<percent>`` raises it; both are
    leading steps applied in the order written, and give the same bytes every time."""
    image = load_media(camera_jpeg).image[:384, :512]
    noise = registry.create("noise")

    def level(chain: str) -> float:
        return noise.run(media_from_bytes(postprocess.apply_chain(chain, image))).features["noise_level"]

    plain = level("none")
    assert level("denoise5") < 0.8 * plain < plain < level("sharpen120")
    once = postprocess.apply_chain("sharpen80+denoise5+jpeg90", image)
    assert once == postprocess.apply_chain("sharpen80+denoise5+jpeg90", image)
    assert once != postprocess.apply_chain("denoise5+sharpen80+jpeg90", image)
    assert postprocess.parse_chain("denoise5+sharpen80+resize0.5")[0] == [("denoise", 5.0), ("sharpen", 80.0)]
    for bad in ("denoise+jpeg90", "jpeg90+sharpen100"):  # no value; a filter after the generator's steps
        with pytest.raises(ValueError):
            postprocess.parse_chain(bad)


@pytest.mark.parametrize("codec", ["webp", "heic"])
def test_lossy_step_compresses_in_place(camera_jpeg: Path, codec: str) -> None:
    """``webp<Q>`` (lossy WebP) and ``heic<Q>`` (HEVC, as phones save): the file keeps the decoded pixels, the same
    bytes every time."""
    from generator.postprocess import PostProcess

    image = load_media(camera_jpeg).image[:200, :301]  # an odd width, which 4:2:0 chroma must pad
    once = postprocess.apply_chain(f"resize0.5+{codec}80", image)
    assert once == postprocess.apply_chain(f"resize0.5+{codec}80", image)
    with Image.open(io.BytesIO(once)) as im:
        assert im.format == "PNG" and im.size == (150, 100)
    with Image.open(io.BytesIO(postprocess.apply_chain(f"{codec}80", image))) as im:
        assert im.size == (301, 200)
        error = np.abs(np.asarray(im.convert("RGB")).astype(float) - image).mean()
    assert 0.5 < error < 8.0  # lossy, but the same picture
    for bad in (f"{codec}0", f"{codec}101", f"{codec}80.5"):
        with pytest.raises(ValueError, match="quality"):
            PostProcess.parse(bad)


def test_feature_cache_is_keyed_by_hash_and_version(dataset: Path, tmp_path: Path) -> None:
    records = load_dataset(dataset)[:4]
    cache = tmp_path / "cache.sqlite"
    samples = [Sample(r.path) for r in records] + [Sample(records[0].path, "jpeg75"), Sample(records[1].path, "aug0")]
    first = list(extract(samples, ANALYZERS, cache))
    second = list(extract(samples, ANALYZERS, cache))
    assert [s.features for s in first] == [s.features for s in second]
    assert first[-2].sha256 != first[0].sha256 and first[-2].description == "jpeg75"
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT sha256, analyzer, version FROM features").fetchall()
        keys = {v for (v,) in db.execute("SELECT variant FROM variants")}
    assert keys == {"jpeg75", first[-1].description}  # an augmentation is keyed by its chain, not its index
    assert len(rows) == len(samples) * len(ANALYZERS)
    assert {(a, v) for _, a, v in rows} == {(n, registry.analyzer_class(n).version) for n in ANALYZERS}


def test_history_samples_are_the_edit_saved_as_its_source_was(dataset: Path, camera_jpeg: Path,
                                                                tmp_path: Path) -> None:
    """An edit given its source's JPEG history is featurized as that JPEG file, before any augmentation chain."""
    from forensics.classifier.history import jpeg_history
    from forensics.classifier.training import training_samples

    edits = [r for r in load_dataset(dataset) if r.label == 1][:2]
    photos = [r for r in load_dataset(dataset) if r.label == 0][:1]
    history = jpeg_history(camera_jpeg)  # a compact camera's tables: a grid the frequency analyzer sees
    for record in edits:
        record.info["source_jpeg"] = history
    samples, _ = training_samples(edits + photos, augment=1, match_history=True)
    assert [bool(s.history) for s in samples] == [True, True, True, True, False, False]  # photos keep their own
    assert training_samples(edits, augment=1)[0] == [Sample(r.path, v) for r in edits for v in ("", "aug0")]
    cache = tmp_path / "cache.sqlite"
    plain, resaved, resaved_aug = extract([Sample(edits[0].path), *samples[:2]], ["frequency"], cache)
    assert resaved.description == "history" and resaved_aug.description.startswith("history+")
    assert plain.features["frequency.blockiness"] < 0.05 < resaved.features["frequency.blockiness"]
    assert list(extract(samples[:2], ["frequency"], cache)) == [resaved, resaved_aug]  # cached by description


def test_split_keeps_each_source_photo_on_one_side(dataset: Path) -> None:
    records = load_dataset(dataset)
    assert {r.label for r in records} == {0, 1}
    train, test = split_by_group(records, 0.25, seed=1)
    assert not {r.group for r in train} & {r.group for r in test}
    assert len(train) + len(test) == len(records)


@pytest.mark.slow
def test_train_writes_a_safe_bundle_that_separates_round_trips(trained: tuple[Path, Path]) -> None:
    model, _ = trained
    assert {p.name for p in model.iterdir()} >= {"model.skops", "schema.json", "recipe.json", "metrics.json",
                                                 "card.html"}
    bundle = load_bundle(model)
    assert set(bundle.schema.analyzers) == set(ANALYZERS)
    assert not set(bundle.recipe["train_groups"]) & set(bundle.recipe["test_groups"])
    overall = bundle.metrics["as_is"]["overall"]
    n_test = len(bundle.recipe["test_groups"])
    assert 3 <= n_test <= 16 and overall["n"] == 2 * n_test and overall["n_synthetic"] == n_test  # photo + round trip
    assert overall["auc"] > 0.8  # decoder traces show in frequency/noise features
    assert set(bundle.metrics["postprocessing"]) == set(postprocess.CONDITIONS)
    # each condition is also broken down by kind: here the round trips (the pure decoder trace) against all photos
    jpeg = bundle.metrics["postprocessing"]["jpeg75"]
    assert set(jpeg["kind"]) == {"vae-roundtrip"} and jpeg["kind"]["vae-roundtrip"]["n"] == jpeg["n"]
    # Photos outside the dataset are scored as they are and shrunk whole, as they are published.
    extra = bundle.metrics["extra_real"]
    assert extra["overall"]["n"] == 8 and extra["overall"]["n_synthetic"] == 0
    assert list(extra["shrunk"]) == list(postprocess.SHRINK_CONDITIONS)
    assert all(row["n"] == 8 and 0 <= row["real_recall"] <= 1 for row in extra["shrunk"].values())
    card = (model / "card.html").read_text()
    assert card.count("<img") >= 2 and "Targets" in card and "jpeg75+resize0.5" in card
    assert "jpeg75 / vae-roundtrip" in card and "jpeg75 / vae-roundtrip" in (model / "README.md").read_text()
    assert "shrunk (resize0.3, PNG)" in card and "shrunk (resize0.3, PNG)" in (model / "README.md").read_text()


@pytest.mark.slow
def test_bundle_refuses_untrusted_types(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, _ = trained
    copy = tmp_path / "tampered"
    copy.mkdir()
    for f in model.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    sio.dump(FeatureSchema(("a",), {}), copy / "model.skops")  # an object of a type the allowlist does not hold
    with pytest.raises(UntrustedModelError, match="untrusted"):
        load_bundle(copy)


@pytest.mark.slow
def test_trained_combiner_rules(trained: tuple[Path, Path], photos_dir: Path, provenance_dir: Path) -> None:
    model, _ = trained
    combiner = TrainedCombiner(load_bundle(model))
    scanner = Scanner(registry.create_all(["metadata", *ANALYZERS]), combiner=combiner)
    kodak = photos_dir / "kodak" / "kodak_kodim01.png"
    photo = scanner.scan(kodak)
    assert photo.verdict.model == combiner.name and "calibrated classifier" in photo.verdict.basis
    assert 0.0 < photo.verdict.p_synthetic < 1.0
    # Decisive metadata wins over pixels: an A1111 card with its generation parameters.
    card = scanner.scan(provenance_dir / "a1111-forge" / "html_card-no-preview.png")
    assert card.verdict.label == "synthetic" and card.verdict.basis.startswith("decisive metadata")
    # Without the model's analyzers the classifier would extrapolate: the documented rule answers instead.
    bare = Scanner(registry.create_all(["metadata"]), combiner=combiner).scan(kodak)
    assert bare.verdict.model == RuleCombiner.name


@pytest.mark.slow
def test_evaluate_cli_scores_held_out_photos_only(trained: tuple[Path, Path], dataset: Path, tmp_path: Path) -> None:
    model, cache = trained
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(cli, ["evaluate", str(model), str(dataset), "--cache", str(cache),
                                      "--conditions", "jpeg75,webp80", "--json", str(out)])
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["as_is"]["overall"]["n"] == 2 * len(load_bundle(model).recipe["test_groups"])  # no training photo
    assert list(metrics["postprocessing"]) == ["jpeg75", "webp80"]  # a named condition and a plain chain
    assert "AUC" in result.output
    bad = CliRunner().invoke(cli, ["evaluate", str(model), str(dataset), "--cache", str(cache),
                                   "--conditions", "sepia"])
    assert bad.exit_code == 2 and "sepia" in bad.output and "jpeg75+resize0.5" in bad.output


@pytest.mark.slow
def test_evaluation_resaves_edits_as_their_sources_were(trained: tuple[Path, Path], dataset: Path,
                                                        photos_dir: Path) -> None:
    """Edits tagged with their BSDS500 source's JPEG history are also scored re-saved with it (photos unchanged)."""
    from rich.console import Console

    from forensics.classifier.card import render_summary
    from forensics.classifier.evaluate import evaluate
    from forensics.classifier.history import jpeg_history
    from forensics.cli.evaluate import print_summary

    model, cache = trained
    bundle = load_bundle(model)
    _, test = split_by_group(load_dataset(dataset), 0.25, 0)
    for record in test:
        record.info["source_jpeg"] = jpeg_history(photos_dir / "bsds500" / record.info["source_file"])
    metrics = evaluate(bundle, test, cache, conditions=())
    saved, as_is = metrics["saved_as_source"], metrics["as_is"]["overall"]
    assert saved["n"] == as_is["n"] and saved["n_synthetic"] == as_is["n_synthetic"] > 0
    assert saved["nll"] != as_is["nll"]  # the edits' bytes really changed; the photos' did not
    assert set(saved["kind"]) == {"vae-roundtrip"}
    bundle.metrics = metrics
    assert "Edits saved as their source photos were" in render_summary(bundle)
    console = Console(record=True, width=200)
    print_summary(metrics, console)
    assert "edits saved as their sources" in console.export_text()


def test_scanner_uses_the_shipped_models_when_present() -> None:
    from forensics.classifier import DEFAULT_MODEL, load_default_combiner
    from forensics.classifier.combiner import CombinerSet

    default = load_default_combiner()
    combiner = Scanner([]).combiner
    if (DEFAULT_MODEL / "model.skops").exists():
        assert isinstance(default, CombinerSet) and isinstance(combiner, CombinerSet)
        assert combiner.members[0].folder == DEFAULT_MODEL and combiner.name == default.name
    else:
        assert default is None and isinstance(combiner, RuleCombiner)


def test_shipped_bundles_load_with_the_defaults_of_parameters_added_since() -> None:
    """models/default and models/video were saved before ``pooling`` existed: they load pooling by the mean, as
    fitted, and the estimator API (get_params, clone, repr) works on them."""
    from sklearn.base import clone

    from forensics.classifier import DEFAULT_MODEL

    for folder in (DEFAULT_MODEL, DEFAULT_MODEL.parent / "video"):
        model = load_bundle(folder).model
        assert model.get_params()["pooling"] == "mean" and repr(model).startswith("CalibratedBoostingClassifier(")
        assert clone(model).get_params() == model.get_params()


def test_expert_log_odds_are_pooled_not_boosted(dataset: Path, tmp_path: Path) -> None:
    """The residual CNN as an expert: only its named feature enters, outside the boosting, and raises the score."""
    from forensics.classifier.training import fit_bundle

    train, test = split_by_group(load_dataset(dataset), 0.25, 0)
    analyzers, cache = [*ANALYZERS, "residual-cnn"], tmp_path / "features.sqlite"
    bundle = fit_bundle("pooled", train, analyzers, cache, augment=0,
                        params={"expert_features": ["residual-cnn.mean_logit"], "max_iter": 50})
    names = bundle.schema.names
    assert [n for n in names if n.startswith("residual-cnn.")] == ["residual-cnn.mean_logit"]
    model = bundle.model
    assert model.expert_columns == (names.index("residual-cnn.mean_logit"),)
    assert model.estimator_.n_features_in_ == len(names) - 1
    (held_out,) = extract([Sample(test[0].path)], analyzers, cache)  # a real held-out file's features
    rows = np.repeat(bundle.schema.matrix([held_out.features]), 5, axis=0)
    rows[:, model.expert_columns[0]] = [-8.0, -4.0, 0.0, 4.0, 8.0]  # only the expert's log-odds vary
    p = model.predict_proba(rows)[:, 1]
    assert np.all(np.diff(p) >= 0) and p[-1] > p[0] and np.all((p > 0) & (p < 1)), p
    rows[:, model.expert_columns[0]] = np.nan  # a missing expert leaves the boosting's score alone
    assert np.allclose(model.predict_proba(rows)[:, 1], model.predict_proba(rows[:1])[:, 1][0])


@pytest.mark.slow
def test_local_edits_are_scored_apart_from_whole_pictures(trained: tuple[Path, Path], dataset: Path,
                                                          tmp_path: Path) -> None:
    """Paste-back files of the held-out round trips get their own table; every other figure stays as it was."""
    import shutil

    from rich.console import Console

    from forensics.classifier.card import render_summary
    from forensics.classifier.evaluate import evaluate
    from forensics.cli.evaluate import print_summary
    from generator.dataset import write_metadata
    from generator.paste_back import paste_back

    model, cache = trained
    bundle = load_bundle(model)
    copy = tmp_path / "dataset"
    shutil.copytree(dataset, copy)
    assert paste_back(copy, [0.4]) == 32
    write_metadata(copy)
    _, test = split_by_group(load_dataset(copy), 0.25, 0)
    whole = [r for r in test if r.info["kind"] != "paste-back"]
    metrics = evaluate(bundle, test, cache, conditions=("jpeg75",))
    before = evaluate(bundle, whole, cache, conditions=("jpeg75",))
    for part in ("as_is", "postprocessing"):  # as JSON: NaN (no edit of strength >= 0.3 here) equals itself there
        assert json.dumps(metrics[part], sort_keys=True) == json.dumps(before[part], sort_keys=True)
    local = metrics["local_edits"]
    assert local["overall"]["n_synthetic"] == len(test) - len(whole) == len(whole) // 2
    assert local["overall"]["n"] == len(test) - len(whole) + sum(r.label == 0 for r in whole)
    assert list(local["edit_area"]) == ["30 % and over"] and 0.0 <= local["overall"]["auc"] <= 1.0
    bundle.metrics = metrics
    assert "## Local edits" in render_summary(bundle)
    console = Console(record=True, width=200)
    print_summary(metrics, console)
    assert "local edits" in console.export_text()


@pytest.mark.slow
@pytest.mark.parametrize(("chain", "at_most_synthetic", "at_least_authentic"), [("resize0.3", 1, 15), ("webp75", 7, 5)])
def test_shipped_model_does_not_take_processed_photos_for_generator_output(
        chain: str, at_most_synthetic: int, at_least_authentic: int) -> None:
    """The 27 camera photos of at least 1,000 px that no model trained on, as the web publishes them.

    ``resize0.3``: shrunk whole and saved as PNG, as galleries do: no camera noise at native scale and no JPEG grid
    left. The model shipped before downscaled views were in its training data called 8 synthetic and 7 authentic;
    measured now: none synthetic, 21 authentic. ``webp75``: re-saved as WebP at cwebp's default quality, as news sites
    serve: the model shipped before WebP was in its training chains called 14 synthetic and 2 authentic; measured now:
    5 synthetic, 7 authentic, 15 uncertain (still a weak spot, as README.md says).
    """
    import sys

    from forensics.config import PROJECT_ROOT
    from forensics.media import media_from_bytes

    sys.path.insert(0, str(PROJECT_ROOT / "datasets"))
    from build import RECIPE, select_sources

    scanner = Scanner(registry.create_all(["frequency", "noise", "residual-cnn"]))
    labels = []
    for path in select_sources(json.loads(RECIPE.read_text()))[1]:  # the default recipe's held-out camera photos
        with Image.open(path) as im:
            photo = ImageOps.exif_transpose(im).convert("RGB")
        if min(photo.size) < 1000:
            continue
        processed = postprocess.apply_chain(chain, np.asarray(photo))  # the grammar's steps, then PNG
        labels.append(scanner.analyse(media_from_bytes(processed, path="processed.png"))[1].label)
    assert len(labels) == 27
    assert labels.count("synthetic") <= at_most_synthetic, labels
    assert labels.count("no_synthetic_evidence") >= at_least_authentic, labels


def test_an_unverified_ai_declaration_keeps_a_photo_out_of_no_synthetic_evidence(camera_jpeg: Path) -> None:
    """The same camera JPEG, byte for byte, with an XMP packet declaring it AI-generated (IPTC digital source type)
    spliced in after its SOI marker: the pixels, hence the shipped model's p, are unchanged, but the verdict is raised
    to uncertain and its basis names the declaration. A packet declaring a camera capture changes nothing."""
    from forensics.media import media_from_bytes

    scanner = Scanner(registry.create_all(["metadata", "frequency", "noise", "residual-cnn"]))
    data = camera_jpeg.read_bytes()
    plain = scanner.analyse(media_from_bytes(data, path="photo.jpg"))[1]
    assert plain.label == "no_synthetic_evidence" and plain.p_synthetic < 0.35, plain

    def declared(code: str) -> bytes:
        xmp = ("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
               "xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description rdf:about='' "
               "xmlns:Iptc4xmpExt='http://iptc.org/std/Iptc4xmpExt/2008-02-29/' Iptc4xmpExt:DigitalSourceType="
               f"'http://cv.iptc.org/newscodes/digitalsourcetype/{code}'/></rdf:RDF></x:xmpmeta>").encode()
        return data[:2] + b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp + data[2:]

    ai = scanner.analyse(media_from_bytes(declared("trainedAlgorithmicMedia"), path="photo.jpg"))[1]
    assert ai.label == "uncertain" and ai.p_synthetic == 0.5 and ai.model == plain.model
    assert f"p = {plain.p_synthetic:.2f}, raised to 0.50" in ai.basis and "IPTC digital source type" in ai.basis
    capture = scanner.analyse(media_from_bytes(declared("digitalCapture"), path="photo.jpg"))[1]
    assert capture.p_synthetic == pytest.approx(plain.p_synthetic) and capture.label == plain.label
