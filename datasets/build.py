"""Build a dataset recipe's images and, for ``models/default``, its model (default recipe ``datasets/default.json``).

    python datasets/build.py prepare   # centre crops of the source photos (native pixels), downscaled views
    python datasets/build.py generate  # real copies, round trips, img2img edits (forensics generator)
    python datasets/build.py features  # optional: fill the feature cache while generation goes on
    python datasets/build.py train     # features (cached), grouped split, fit, evaluate, write the bundle
    python datasets/build.py all

``--recipe datasets/residual-cnn.json --work /tmp/forensics-residual-cnn prepare generate`` builds the images the
residual CNN is trained on (``python -m forensics.learned.train``), its ``corners`` stage the camera crops of its
third training phase and its ``downscaled`` stage the list of downscaled views and their edits of its fifth (both
from the default recipe's work folder, ``--source-work``).

Everything is written under ``--work`` (default ``/tmp/forensics-default``) except the bundle (``--out``,
default ``models/default``). Each stage is resumable: the generator skips files it wrote, the feature
cache skips features it computed. Camera photos not used as sources are kept apart, never trained on,
and measure real-image recall at the end.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path

from PIL import Image, ImageOps

from forensics.atomic import atomic_writer
from forensics.classifier.dataset import Record, file_sha256, is_local, load_dataset, split_by_group
from forensics.classifier.history import jpeg_history
from forensics.config import PROJECT_ROOT, data_root

RECIPE = Path(__file__).with_name("default.json")
GRID = 8  # crops start and end on the 8-pixel JPEG / latent grid
# Filters that web pipelines, editors and img2img front ends downscale with; each view draws one by its photo's name.
DOWNSCALE_FILTERS = (Image.Resampling.LANCZOS, Image.Resampling.BICUBIC, Image.Resampling.BILINEAR,
                     Image.Resampling.BOX)
MAX_DOWNSCALE = 0.8  # a view is made only where the photo shrinks at least this much
DOWNSCALED = " downscaled"  # suffix of the collection of downscaled views
log = logging.getLogger("build")


def select_sources(recipe: dict) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(collection, photo) pairs used as sources, and the camera photos held out from everything."""
    photos = data_root() / "photos"
    chosen: list[tuple[str, Path]] = []
    held_out: list[Path] = []
    for collection, spec in recipe["sources"].items():
        folders = spec["folder"] if isinstance(spec["folder"], list) else [spec["folder"]]
        files = sorted(p for f in folders for p in (photos / f).iterdir()
                       if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if "min_side" in spec:
            files = [p for p in files if min(_upright_size(p)) >= spec["min_side"]]
        files = files[spec.get("skip", 0) :]
        if "every" in spec:
            chosen += [(collection, p) for p in files[:: spec["every"]]]
            held_out += [p for i, p in enumerate(files) if i % spec["every"]]
        else:
            chosen += [(collection, p) for p in files[: spec.get("take")]]
    return chosen, held_out


def _upright_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).size


def centre_crop(im: Image.Image, side: int) -> Image.Image:
    """Crop of at most ``side`` x ``side`` pixels from the centre, with corners on the 8-pixel grid."""
    w, h = min(side, im.width // GRID * GRID), min(side, im.height // GRID * GRID)
    left = (im.width - w) // 2 // GRID * GRID
    top = (im.height - h) // 2 // GRID * GRID
    return im.crop((left, top, left + w, top + h))


def downscaled_view(im: Image.Image, side: int, name: str) -> Image.Image | None:
    """Centre crop of ``im`` shrunk whole, as a photo is before it is published or given to an img2img pipeline.

    The short side is drawn (by ``name``'s hash) between ``side`` and twice ``side``, at most :data:`MAX_DOWNSCALE` of
    the photo's, with a drawn filter of :data:`DOWNSCALE_FILTERS`; ``None`` where the photo is too small to shrink.
    Resampling leaves no camera noise at native scale and no JPEG grid: without such photos, the classifier took a
    photo shrunk to 0.3 and saved losslessly for a generator's output (16 of 59 held-out camera photos).
    """
    digest = hashlib.sha256(name.encode()).digest()
    short = min(side * (1 + digest[0] / 256), MAX_DOWNSCALE * min(im.size))
    if short < side:
        return None
    scale = short / min(im.size)
    size = (max(side, round(im.width * scale)), max(side, round(im.height * scale)))
    return centre_crop(im.resize(size, DOWNSCALE_FILTERS[digest[1] % len(DOWNSCALE_FILTERS)]), side)


def downscaled_collection(collection: str) -> str:
    """The ``collection`` of the downscaled views of a source collection's photos."""
    return f"{collection}{DOWNSCALED}"


def prepare(recipe: dict, work: Path) -> None:
    """Write the lossless crops (PNG) and ``sources.csv`` (crop, original, collection); list held-out photos.

    A collection whose spec sets ``downscaled`` also gets a :func:`downscaled_view` of each photo, a source of its
    own in the collection :func:`downscaled_collection` (its records stay in the photo's group).
    """
    chosen, held_out = select_sources(recipe)
    folder = work / "sources"
    folder.mkdir(parents=True, exist_ok=True)
    native, downscaled = [], []  # (collection of its records, file name, original, crop or None)
    for collection, path in chosen:
        with Image.open(path) as im:
            upright = ImageOps.exif_transpose(im).convert("RGB")
        name = f"{collection}-{path.stem}"
        native.append((collection, f"{name}.png", path, centre_crop(upright, recipe["crop"])))
        if recipe["sources"][collection].get("downscaled"):
            downscaled.append((downscaled_collection(collection), f"{name}-downscaled.png", path,
                               downscaled_view(upright, recipe["crop"], path.name)))
    rows = []
    # Views come after every native crop, so adding them keeps each crop's generation settings (drawn by position).
    for collection, file_name, path, crop in native + downscaled:
        if crop is None:
            continue
        target = folder / file_name
        if not target.exists():
            crop.save(target)
        rows.append({"crop": str(target), "original": str(path), "collection": collection})
    with (work / "sources.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["crop", "original", "collection"])
        writer.writeheader()
        writer.writerows(rows)
    (work / "held_out_real.txt").write_text("".join(f"{p}\n" for p in held_out), encoding="utf-8")
    log.info("%d sources, %d camera photos held out", len(rows), len(held_out))


def _sources(work: Path) -> list[dict]:
    with (work / "sources.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def original_collection(collection: str) -> str:
    """The ``collection`` of the original-file records of a source collection."""
    return f"{collection} original"


def dataset_records(recipe: dict, work: Path) -> list[Record]:
    """The generated dataset's records, plus the original files of the sources whose collection sets ``originals``.

    An original is the photo as its camera wrote it (full resolution, the camera's own JPEG), a real record in its
    crop's group, so both stay on one side of every split. Crops alone would teach the classifier what a 384-pixel
    PNG of a camera photo looks like, never a camera file, which is what a newsroom scans. Records of a downscaled
    view join the group of their photo's native crop likewise.
    """
    sources = _sources(work)
    native = {row["original"]: file_sha256(Path(row["crop"])) for row in sources
              if row["collection"] in recipe["sources"]}
    photo_group = {file_sha256(Path(row["crop"])): native[row["original"]] for row in sources
                   if row["collection"] not in recipe["sources"] and row["original"] in native}
    out = [dataclasses.replace(r, group=photo_group.get(r.group, r.group)) for r in load_dataset(work / "dataset")]
    wanted = {name for name, spec in recipe["sources"].items() if spec.get("originals")}
    for row in sources:
        if row["collection"] in wanted:
            out.append(Record(Path(row["original"]), 0, native[row["original"]],
                              {"collection": original_collection(row["collection"])}))
    return out


def _training_side(recipe_name: str, source_work: Path) -> list[Record]:
    """Records on the training side of the split of another recipe of this folder, built in ``source_work`` (whose
    ``metadata.jsonl`` is tagged with its sources first, as its own ``train`` stage does)."""
    other = json.loads((RECIPE.parent / recipe_name).read_text(encoding="utf-8"))
    tag_sources(source_work / "dataset", _sources(source_work))
    return split_by_group(dataset_records(other, source_work), other["train"]["test_fraction"],
                          other["train"]["seed"])[0]


def downscaled(recipe: dict, work: Path, source_work: Path) -> None:
    """The downscaled views of one collection on the training side of another recipe's split, with their round trips
    and edits, as the dataset ``work/downscaled`` (its ``metadata.jsonl`` points at that recipe's files).

    ``recipe["downscaled"]`` names that recipe (built in ``source_work``) and the collection. The residual CNN's own
    photos are native crops: these teach it a whole photo shrunk (no camera noise at native scale) as real, and the
    decoder's trace on such a photo as synthetic, without touching the default classifier's test or held-out photos.
    """
    spec = recipe["downscaled"]
    records = [r for r in _training_side(spec["recipe"], source_work)
               if not is_local(r) and r.info.get("collection") == downscaled_collection(spec["collection"])]
    folder = work / "downscaled"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "metadata.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({"file_name": str(r.path.resolve()), "label": "edited" if r.label else "real",
                                 "source_sha256": r.group, "collection": r.info["collection"]}) + "\n")
    log.info("%d downscaled views and their edits listed in %s", len(records), folder)


def corners(recipe: dict, work: Path, source_work: Path) -> None:
    """Top-left crops of the camera originals on the training side of another recipe's split, into ``work/corners``.

    ``recipe["corners"]`` names that recipe (built in ``source_work``), the collection and the crop side. The residual
    CNN's own photos include no camera files; these give it camera JPEG texture as real examples without touching the
    default classifier's test photos or held-out camera photos. The top-left corner keeps to native pixels on the
    JPEG grid and away from the centre crop the default classifier trains on (entirely so for photos of 1536 px and
    more; small photos overlap it).
    """
    spec = recipe["corners"]
    train_records = _training_side(spec["recipe"], source_work)
    folder = work / "corners"
    folder.mkdir(parents=True, exist_ok=True)
    originals = [r.path for r in train_records if r.info.get("collection") == original_collection(spec["collection"])]
    for path in originals:
        target = folder / f"{path.stem}.png"
        if not target.exists():
            with Image.open(path) as im:
                upright = ImageOps.exif_transpose(im).convert("RGB")
            side = min(spec["side"], *upright.size)
            upright.crop((0, 0, side, side)).save(target)
    log.info("%d corner crops in %s", len(originals), folder)


def generation_jobs(recipe: dict, sources: list[dict]) -> dict[tuple, list[str]]:
    """Crops per generator run: round trips rotate over the decoders, edits over strengths and schedulers."""
    runs: dict[tuple, list[str]] = {}
    rt, i2i = recipe["roundtrip"], recipe["img2img"]
    for i, row in enumerate(sources):
        vaes = (*rt.get("always", ()), rt["rotate"][i % len(rt["rotate"])])
        runs.setdefault(("roundtrip", vaes), []).append(row["crop"])
        for k in range(i2i["edits_per_source"]):
            strength = i2i["strengths"][(i * i2i["edits_per_source"] + k) % len(i2i["strengths"])]
            scheduler = i2i["schedulers"][(i + 3 * k) % len(i2i["schedulers"])]
            runs.setdefault(("img2img", strength, scheduler), []).append(row["crop"])
    return runs


def generate(recipe: dict, work: Path, kinds: tuple[str, ...], reverse: bool = False) -> None:
    """Run the generator once per group of crops sharing settings, into ``work/dataset``; tag the sources.

    ``reverse`` walks the groups backwards, so a second process can share the work (files done are skipped).
    """
    from generator.dataset import DatasetBuilder, Recipe, write_metadata

    sources = _sources(work)
    out = work / "dataset"
    i2i = recipe["img2img"]
    editor = None
    # Round trips first, then edits cycling through the strengths, so a run cut short still covers every strength.
    order = {("img2img", s, sch): j * 100 + i for i, s in enumerate(i2i["strengths"])
             for j, sch in enumerate(i2i["schedulers"])}
    runs = sorted(generation_jobs(recipe, sources).items(), key=lambda item: order.get(item[0], -1))
    for key, crops in reversed(runs) if reverse else runs:
        if key[0] not in kinds:
            continue
        listing = work / "lists" / ("_".join(map(str, key)).replace(" ", "") + ".txt")
        listing.parent.mkdir(exist_ok=True)
        listing.write_text("".join(f"{c}\n" for c in crops), encoding="utf-8")
        common = {"sources": [str(listing)], "out": str(out), "width": 0, "height": 0, "image_format": "png",
                  "seeds": [0], "steps": i2i["steps"], "guidance": i2i["guidance"], "model": i2i["model"],
                  "paste_back": recipe.get("paste_back", [])}
        if key[0] == "roundtrip":
            run = Recipe(**common, strengths=[], roundtrip_vaes=list(key[1]))
        else:
            run = Recipe(**common, strengths=[key[1]], schedulers=[key[2]])
        builder = DatasetBuilder(run, editor=editor)
        started = time.perf_counter()
        summary = builder.run()
        editor = builder._editor or editor  # load the img2img model once for every run
        log.info("%s: %d written, %d skipped, %d failed in %.0f s", key, sum(summary.written.values()),
                 summary.skipped, len(summary.failed), time.perf_counter() - started)
        for failure in summary.failed[:3]:
            log.warning("failed: %s", failure)
    write_metadata(out)
    tag_sources(out, sources)


def tag_sources(out: Path, sources: list[dict]) -> None:
    """Add to each record of ``metadata.jsonl`` its photo's ``collection`` (bsds500, kodak, camera) and the JPEG
    history of the photo's original file (``source_jpeg``, None if lossless or resampled since; see
    :mod:`forensics.classifier.history`).
    """
    by_crop = {Path(row["crop"]).name: row for row in sources}
    histories = {name: None if row["collection"].endswith(DOWNSCALED) else jpeg_history(Path(row["original"]))
                 for name, row in by_crop.items()}
    path = out / "metadata.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for record in records:
        name = Path(record["source_file"]).name
        record["collection"] = by_crop[name]["collection"] if name in by_crop else None
        record["source_jpeg"] = histories.get(name)
    with atomic_writer(path, encoding="utf-8") as handle:  # the features stage may be reading it
        handle.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)


def features(recipe: dict, work: Path, cache: Path, jobs: int) -> None:
    """Fill the feature cache with what ``train`` will need for the records generated so far (resumable)."""
    from forensics.classifier import postprocess
    from forensics.classifier.cache import Sample, extract
    from forensics.classifier.training import training_samples
    from generator.dataset import write_metadata

    spec = recipe["train"]
    write_metadata(work / "dataset")  # merge the generator's journals: records of runs still going
    train_records, test_records = split_by_group(dataset_records(recipe, work), spec["test_fraction"], spec["seed"])
    train_records = [r for r in train_records if spec.get("fit_local_edits", True) or not is_local(r)]
    samples = training_samples(train_records, spec["augment"], spec.get("match_jpeg_history", False))[0]
    conditions = ("", *postprocess.CONDITIONS)
    samples += [Sample(r.path, c) for c in conditions for r in test_records if not (c and is_local(r))]  # as scored
    for _ in extract(samples, spec["analyzers"], cache, jobs):
        pass


def train(recipe: dict, recipe_path: Path, work: Path, out: Path, cache: Path, jobs: int) -> None:
    from forensics.classifier.training import train as train_bundle

    tag_sources(work / "dataset", _sources(work))  # again: a later journal merge drops the tags
    held_out = [Path(p) for p in (work / "held_out_real.txt").read_text(encoding="utf-8").split()]
    camera = [Record(p, 0, file_sha256(p), {"collection": "camera"}) for p in held_out]
    spec = recipe["train"]
    bundle = train_bundle(dataset_records(recipe, work), out, spec["analyzers"], cache, spec["test_fraction"],
                          spec["seed"], spec["augment"], spec["estimator"],
                          [str(recipe_path.resolve().relative_to(PROJECT_ROOT))], camera, jobs,
                          {"dataset_recipe": recipe}, spec.get("match_jpeg_history", False),
                          spec.get("fit_local_edits", True))
    log.info("bundle written to %s: %s", out, json.dumps(bundle.metrics["as_is"]["overall"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", nargs="+",
                        choices=["prepare", "generate", "roundtrip", "img2img", "corners", "downscaled", "features",
                                 "train", "all"])
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--work", type=Path, default=Path("/tmp/forensics-default"))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "models" / "default")
    parser.add_argument("--cache", type=Path, help="feature cache (default: WORK/features.sqlite)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--source-work", type=Path, default=Path("/tmp/forensics-default"),
                        help="corners, downscaled: the work folder of the recipe they come from")
    parser.add_argument("--reverse", action="store_true", help="generate the groups in reverse order")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    recipe = json.loads(args.recipe.read_text(encoding="utf-8"))
    stages = [s for stage in args.stages for s in (["prepare", "generate", "train"] if stage == "all" else [stage])]
    for stage in stages:
        if stage == "prepare":
            prepare(recipe, args.work)
        elif stage in ("generate", "roundtrip", "img2img"):
            generate(recipe, args.work, ("roundtrip", "img2img") if stage == "generate" else (stage,), args.reverse)
        elif stage == "corners":
            corners(recipe, args.work, args.source_work)
        elif stage == "downscaled":
            downscaled(recipe, args.work, args.source_work)
        elif stage == "features":
            features(recipe, args.work, args.cache or args.work / "features.sqlite", args.jobs)
        else:
            train(recipe, args.recipe, args.work, args.out, args.cache or args.work / "features.sqlite", args.jobs)


if __name__ == "__main__":
    main()
