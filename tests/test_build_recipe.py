"""The model-building recipe (``datasets/build.py``): source selection, crops and original-file records."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from forensics.classifier.dataset import file_sha256, load_dataset, source_ids, split_by_group
from forensics.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "datasets"))
import build  # a script folder, not a package


def _recipe() -> dict:
    return {"sources": {"camera": {"folder": "exif-samples", "every": 2, "min_side": 256, "originals": True},
                        "kodak": {"folder": "kodak", "take": 2}},
            "crop": 128}


def _crop_dataset(recipe: dict, work: Path, label: str, fields: Callable[[Path], dict]) -> list[dict]:
    """Prepare ``recipe`` in ``work`` and write ``work/dataset`` with one record per crop, as the generator writes
    them (``fields`` adds a crop's own columns); returns the sources table."""
    build.prepare(recipe, work)
    sources = build._sources(work)
    (work / "dataset").mkdir()
    with (work / "dataset" / "metadata.jsonl").open("w") as fh:
        for row in sources:
            crop = Path(row["crop"])
            fh.write(json.dumps({"file_name": str(crop.resolve()), "label": label, **fields(crop)}) + "\n")
    return sources


def test_prepare_crops_on_the_grid_and_holds_out_every_other_camera_photo(photos_dir: Path, tmp_path: Path) -> None:
    chosen, held_out = build.select_sources(_recipe())
    camera = [p for c, p in chosen if c == "camera"]
    assert not set(camera) & set(held_out)
    assert abs(len(camera) - len(held_out)) <= 1
    assert all(p.parent.name == "exif-samples" for p in camera + held_out)

    build.prepare({**_recipe(), "sources": {"kodak": {"folder": "kodak", "take": 2}}}, tmp_path)
    crops = sorted((tmp_path / "sources").glob("*.png"))
    assert len(crops) == 2
    for crop in crops:
        with Image.open(crop) as im:
            assert im.size == (128, 128)


def test_originals_join_their_crops_group_and_never_straddle_the_split(photos_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe()
    sources = _crop_dataset(recipe, tmp_path, "real", lambda crop: {"source_sha256": file_sha256(crop)})
    records = build.dataset_records(recipe, tmp_path)
    originals = [r for r in records if r.info.get("collection") == "camera original"]
    n_camera = sum(row["collection"] == "camera" for row in sources)
    assert len(originals) == n_camera > 10  # kodak does not set ``originals``
    crops_by_group = {r.group: r for r in records if r not in originals}
    for record in originals:
        assert record.label == 0 and record.path.parent.name == "exif-samples"
        assert crops_by_group[record.group].path.stem == f"camera-{record.path.stem}"
    train, test = split_by_group(records, 0.3, seed=0)
    assert {r.group for r in train}.isdisjoint({r.group for r in test})
    assert any(r in originals for r in test) and any(r in originals for r in train)


def test_records_are_tagged_with_their_sources_collection_and_jpeg_history(photos_dir: Path, tmp_path: Path) -> None:
    sources = _crop_dataset(_recipe(), tmp_path, "synthetic", lambda crop: {"source_file": crop.name})
    dataset = tmp_path / "dataset"
    build.tag_sources(dataset, sources)
    records = [json.loads(line) for line in (dataset / "metadata.jsonl").read_text().splitlines()]
    assert [r["collection"] for r in records] == [row["collection"] for row in sources]
    for record, row in zip(records, sources, strict=True):
        with Image.open(row["original"]) as im:
            tables = [list(im.quantization[k]) for k in sorted(im.quantization)] if im.format == "JPEG" else None
        assert (record["source_jpeg"] or {}).get("qtables") == tables  # camera JPEGs: their tables; Kodak PNG: none
    assert sum(r["source_jpeg"] is not None for r in records) == sum(r["collection"] == "camera" for r in records)


def test_downscaled_views_shrink_whole_photos_and_join_their_photos_group(photos_dir: Path, tmp_path: Path) -> None:
    recipe = _recipe()
    recipe["sources"]["camera"]["downscaled"] = True
    sources = _crop_dataset(recipe, tmp_path, "real", lambda crop: {"source_sha256": file_sha256(crop),
                                                                     "source_file": crop.name})
    native = {row["original"]: row for row in sources if row["collection"] == "camera"}
    views = [row for row in sources if row["collection"] == "camera downscaled"]
    assert len(views) > 10 and all(row["original"] in native for row in views)
    # Listed after every native crop, so the native crops keep their positions (and generation settings).
    assert [row["collection"] for row in sources[: len(sources) - len(views)]].count("camera downscaled") == 0
    for row in views:
        with Image.open(row["original"]) as photo, Image.open(row["crop"]) as view:
            assert view.size == (128, 128)
            assert min(photo.size) * build.MAX_DOWNSCALE >= 128  # only photos that shrink get a view
    # A view shows more of its photo than the native crop of the same size: the whole photo was shrunk first.
    with Image.open(views[0]["crop"]) as view, Image.open(native[views[0]["original"]]["crop"]) as crop:
        assert view.tobytes() != crop.tobytes()

    records = build.dataset_records(recipe, tmp_path)
    group_of = {r.path.name: r.group for r in records}
    for row in views:
        assert group_of[Path(row["crop"]).name] == group_of[Path(native[row["original"]]["crop"]).name]
    assert sum(r.info.get("collection") == "camera original" for r in records) == len(native)

    dataset = tmp_path / "dataset"
    build.tag_sources(dataset, sources)
    lines = (dataset / "metadata.jsonl").read_text().splitlines()
    tagged = {Path(r["file_name"]).name: r for r in map(json.loads, lines)}
    assert all(tagged[Path(row["crop"]).name]["source_jpeg"] is None for row in views)  # resampled: no JPEG history
    assert all(tagged[Path(row["crop"]).name]["source_jpeg"] for row in native.values())

    # The residual CNN's ``downscaled`` stage lists the views on the training side of this recipe's split only.
    recipe_file = tmp_path / "recipe.json"
    recipe_file.write_text(json.dumps({**recipe, "train": {"test_fraction": 0.3, "seed": 0}}))
    build.downscaled({"downscaled": {"recipe": str(recipe_file), "collection": "camera"}}, tmp_path / "cnn", tmp_path)
    listing = (tmp_path / "cnn" / "downscaled" / "metadata.jsonl").read_text()
    listed = [json.loads(line) for line in listing.splitlines()]
    train, test = split_by_group(build.dataset_records(recipe, tmp_path), 0.3, seed=0)  # tagged with collections now
    train_views = {r.path.resolve() for r in train if r.info.get("collection") == "camera downscaled"}
    assert {Path(r["file_name"]) for r in listed} == train_views and len(train_views) < len(views)
    assert not {r["source_sha256"] for r in listed} & {r.group for r in test}

    # A model's bundle names the sources it trained on so that `forensics evaluate`, reading the dataset without this
    # grouping (a view is its own group there), leaves out the training side's views as well as its crops.
    trained, read_back = source_ids(train), load_dataset(dataset)
    train_paths = {r.path.resolve() for r in train}
    assert {r.group[:16] for r in train} < trained
    assert all((r.group[:16] in trained) == (r.path.resolve() in train_paths) for r in read_back)
