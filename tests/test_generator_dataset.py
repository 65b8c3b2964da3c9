"""The dataset builder on real photos: imagefolder layout, records, resumption, determinism, provenance, CLI."""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from forensics.cli import cli
from forensics.config import PROJECT_ROOT
from generator.dataset import MERGE_LOCK, PARTS_DIR, DatasetBuilder, Recipe, write_metadata

SMALL = {"strengths": [0.5, 1.0], "seeds": [3], "steps": 4, "width": 64, "styles": ["watercolor", "anime"],
         "roundtrip_vaes": ["taesd"], "postprocess": ["none", "jpeg80"]}


@pytest.fixture(scope="module")
def sources(photos_dir, tmp_path_factory) -> Path:
    listing = tmp_path_factory.mktemp("sources") / "photos.txt"
    listing.write_text(f"{photos_dir / 'bsds500' / 'test_100007.jpg'}\n{photos_dir / 'kodak' / 'kodak_kodim05.png'}\n")
    return listing


@pytest.fixture(scope="module")
def built(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    summary = DatasetBuilder(Recipe(sources=[str(sources)], out=str(out), **SMALL)).run()
    return out, summary


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_imagefolder_layout_and_records(built, photos_dir):
    out, summary = built
    rows = records(out)
    # per source: 1 real + 2 edits + 1 round trip, each in 2 post-processing variants
    assert len(rows) == summary.records == 16 and not summary.failed
    assert summary.written == {"real": 4, "edited": 12}
    images = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".png", ".jpg")
                    and ".parts" not in p.parts)
    assert images == sorted(row["file_name"] for row in rows)  # every image has exactly one record
    by_kind = {kind: [r for r in rows if r["kind"] == kind] for kind in ("real", "img2img", "vae-roundtrip")}
    assert [len(v) for v in by_kind.values()] == [4, 8, 4]
    assert {r["label"] for r in by_kind["real"]} == {"real"}
    assert {r["label"] for r in by_kind["img2img"] + by_kind["vae-roundtrip"]} == {"edited"}
    source_hash = hashlib.sha256((photos_dir / "bsds500" / "test_100007.jpg").read_bytes()).hexdigest()
    assert {r["source_sha256"] for r in rows if r["source_file"] == "test_100007.jpg"} == {source_hash}
    edit = next(r for r in by_kind["img2img"] if r["strength"] == 0.5 and r["postprocess"] == "none")
    assert edit["seed"] == 3 and edit["steps"] == 4 and edit["effective_steps"] == 2 and edit["guidance"] == 7.5
    assert edit["model_id"] == "builtin:tiny" and edit["vae"] == "taesd" and len(edit["weights_sha256"]) == 64
    assert edit["style"] in ("watercolor", "anime") and edit["prompt"]
    assert edit["scheduler_class"] == "EulerDiscreteScheduler"
    assert json.loads(edit["generation"])["seed"] == 3
    assert {(r["vae"], r["strength"], r["label"]) for r in by_kind["vae-roundtrip"]} == {("taesd", 0.0, "edited")}
    # prompt_mode "cycle": the two edits of a source get different styles
    assert {r["style"] for r in by_kind["img2img"] if r["source_file"] == "test_100007.jpg"} == {"watercolor", "anime"}


@pytest.mark.slow
def test_real_and_edited_share_size_and_encoding(built):
    out, _ = built
    for variant, expected_format in (("none", "PNG"), ("jpeg80", "JPEG")):
        rows = [r for r in records(out) if r["postprocess"] == variant and r["source_file"] == "test_100007.jpg"]
        formats = {Image.open(out / r["file_name"]).format for r in rows}
        sizes = {Image.open(out / r["file_name"]).size for r in rows}
        assert formats == {expected_format}
        assert sizes == {(64, 40)}
        assert {r["width"] for r in rows} == {64} and {r["format"] for r in rows} == {expected_format.lower()
                                                                                      .replace("jpeg", "jpg")}


@pytest.mark.slow
def test_rerun_skips_everything_and_regenerates_identically(built, sources):
    out, _ = built
    before = (out / "metadata.jsonl").read_bytes()
    summary = DatasetBuilder(Recipe(sources=[str(sources)], out=str(out), **SMALL)).run()
    assert summary.written == {"real": 0, "edited": 0} and summary.skipped == 16
    assert (out / "metadata.jsonl").read_bytes() == before
    # lose one edit: the rerun makes exactly that file again, byte for byte (fixed seed)
    victim = next(r for r in records(out) if r["kind"] == "img2img")
    original = (out / victim["file_name"]).read_bytes()
    (out / victim["file_name"]).unlink()
    summary = DatasetBuilder(Recipe(sources=[str(sources)], out=str(out), **SMALL)).run()
    assert summary.written == {"real": 0, "edited": 1} and summary.skipped == 15
    assert (out / victim["file_name"]).read_bytes() == original
    # same records; only the timing inside the editor's record differs
    assert [{k: v for k, v in r.items() if k != "generation"} for r in records(out)] == [
        {k: v for k, v in json.loads(line).items() if k != "generation"} for line in before.decode().splitlines()
    ]


@pytest.mark.slow
def test_merges_running_at_once_all_land_and_leave_no_temporary(built):
    """A second generator (``datasets/build.py generate --reverse``) and the feature stage merge the journals into
    metadata.jsonl while others do: they once shared one temporary file, and one crashed."""
    out, _ = built
    before = (out / "metadata.jsonl").read_bytes()
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: write_metadata(out), range(64)))
    assert counts == [len(before.decode().splitlines())] * 64
    assert (out / "metadata.jsonl").read_bytes() == before
    assert [p.name for p in out.iterdir() if p.name.startswith("metadata")] == ["metadata.jsonl"]


@pytest.mark.slow
def test_a_merge_waits_for_the_one_in_progress(built):
    """Merges take turns, so the last one to run has read every journal written before it."""
    out, _ = built
    expected = len((out / "metadata.jsonl").read_text().splitlines())
    with open(out / PARTS_DIR / MERGE_LOCK, "a") as held, ThreadPoolExecutor(1) as pool:
        fcntl.flock(held, fcntl.LOCK_EX)  # another process's merge in progress
        merge = pool.submit(write_metadata, out)
        time.sleep(0.5)
        assert not merge.done()
        fcntl.flock(held, fcntl.LOCK_UN)
        assert merge.result(timeout=60) == expected


@pytest.mark.slow
def test_cli_generate_small_run_and_bad_source(photos_dir, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    listing = tmp_path / "list.txt"
    listing.write_text(f"{photos_dir / 'kodak' / 'kodak_kodim05.png'}\n{broken}\n")
    out = tmp_path / "ds"
    args = ["generate", str(listing), "--out", str(out), "--strengths", "0.5", "--steps", "2", "--width", "64",
            "--model", "tiny", "--vae", "taesd", "--styles", "golden-hour"]
    result = CliRunner().invoke(cli, args, standalone_mode=False)
    assert result.exception is None, result.output
    assert result.return_value == 3  # one source failed, the others were written
    assert "TINY" in result.output
    assert "wrote 1 real and 1 edited files" in result.output and "2 failed" in result.output
    assert "broken.jpg" in result.output
    assert {r["label"] for r in records(out)} == {"real", "edited"}


def test_recipe_file(tmp_path):
    recipe = Recipe.from_file(PROJECT_ROOT / "datasets" / "tiny-demo.toml", out=str(tmp_path))
    recipe.validate()
    assert recipe.model == "tiny" and recipe.schedulers == ["DPM++ 2M Karras", "Euler a"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"sources": ["x"], "strenghts": [0.5]}))
    with pytest.raises(ValueError, match="unknown recipe key"):
        Recipe.from_file(bad)
    with pytest.raises(ValueError, match="no denoising step"):
        Recipe(sources=["x"], out="y", strengths=[0.01], steps=20).validate()


@pytest.mark.slow
def test_provenance_stamps_edits_only(photos_dir, tmp_path):
    import c2pa

    from forensics.analyzers.metadata.watermark import detect

    listing = tmp_path / "list.txt"
    listing.write_text(f"{photos_dir / 'kodak' / 'kodak_kodim05.png'}\n")
    recipe = Recipe(sources=[str(listing)], out=str(tmp_path / "ds"), strengths=[0.5], steps=2, width=256,
                    height=256, crop="center", styles=["anime"], provenance=["watermark", "c2pa"])
    DatasetBuilder(recipe).run()
    rows = {r["label"]: r for r in records(tmp_path / "ds")}
    assert rows["real"]["provenance"] == [] and rows["edited"]["provenance"] == ["watermark", "c2pa"]
    edited = tmp_path / "ds" / rows["edited"]["file_name"]
    with c2pa.Reader("image/png", edited.open("rb")) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    actions = next(a for a in manifest["assertions"] if a["label"].startswith("c2pa.actions"))
    assert actions["data"]["actions"][0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    generation = next(a for a in manifest["assertions"] if a["label"] == "org.img2img-forensics.generation")
    assert generation["data"]["seed"] == 0 and generation["data"]["prompt"].startswith("anime")
    marked = detect(np.asarray(Image.open(edited).convert("RGB")))["StableDiffusionV1"]["correlation"]
    clean = detect(np.asarray(Image.open(tmp_path / "ds" / rows["real"]["file_name"]).convert("RGB")))
    assert marked > 0.8 > clean["StableDiffusionV1"]["correlation"]


@pytest.mark.slow
def test_paste_back_writes_local_edits_with_their_masks(photos_dir, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{photos_dir / 'kodak' / 'kodak_kodim05.png'}\n")
    out = tmp_path / "ds"
    args = ["generate", str(listing), "--out", str(out), "--strengths", "0.5", "--steps", "2", "--width", "192",
            "--model", "tiny", "--vae", "taesd", "--styles", "anime", "--roundtrip-vaes", "taesd",
            "--paste-back", "0.1,0.3"]
    result = CliRunner().invoke(cli, args, standalone_mode=False)
    assert result.exception is None and result.return_value == 0, result.output
    rows = {r["file_name"]: r for r in records(out)}
    local = [r for r in rows.values() if r["kind"] == "paste-back"]
    assert len(rows) == 5 and len(local) == 2  # real, edit, round trip, and one local edit of each of the two
    assert {rows[r["edit_file"]]["kind"] for r in local} == {"img2img", "vae-roundtrip"}
    real_row = next(r for r in rows.values() if r["label"] == "real")
    real = np.asarray(Image.open(out / real_row["file_name"]).convert("RGB"))
    for row in local:
        assert row["label"] == "edited" and row["source_sha256"] == real_row["source_sha256"]
        assert row["file_name"].startswith("local/") and row["mask_file"].startswith(".masks/")
        requested = int(row["file_name"][-6:-4]) / 100
        mask = np.asarray(Image.open(out / row["mask_file"]))
        assert mask.shape == real.shape[:2] and abs(mask.mean() / 255 - requested) < 0.02
        assert abs(row["edit_area"] - mask.mean() / 255) < 1e-3
        pasted = np.asarray(Image.open(out / row["file_name"]).convert("RGB"))
        edit = np.asarray(Image.open(out / row["edit_file"]).convert("RGB"))
        assert np.array_equal(pasted[mask == 255], edit[mask == 255])  # the edit inside the mask
        assert np.array_equal(pasted[mask == 0], real[mask == 0])  # the camera's pixels outside it
        assert (mask == 0).mean() > 0.5 and 0 < ((mask > 0) & (mask < 255)).mean() < 0.05  # a feathered outline
    # masks stay out of the imagefolder listing: every image file outside hidden folders has exactly one record
    images = {p.relative_to(out).as_posix() for p in out.rglob("*.png") if p.relative_to(out).parts[0][0] != "."}
    assert images == set(rows)
    # resumable: a rerun writes nothing new
    rerun = CliRunner().invoke(cli, args, standalone_mode=False)
    assert rerun.return_value == 0 and "wrote 0 real and 0 edited files" in rerun.output
    assert len(records(out)) == 5
