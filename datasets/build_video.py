"""Build the clips and the model of ``models/video`` from ``datasets/video.json``.

    python datasets/build_video.py generate   # real clips re-encoded, and every run's frame-by-frame stylizations
    python datasets/build_video.py train      # temporal features (cached), split by source clip, fit, evaluate
    python datasets/build_video.py all

Everything is written under ``--work`` (default ``/tmp/forensics-video``) except the bundle (``--out``, default
``models/video``). The generator skips clips it already wrote and the feature cache features it already measured.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from forensics.classifier.dataset import load_dataset
from forensics.config import PROJECT_ROOT, data_root

RECIPE = Path(__file__).with_name("video.json")
log = logging.getLogger("build_video")


def generate(recipe: dict, work: Path) -> None:
    """Every run of the recipe into one dataset folder (the real clips of runs with equal settings coincide)."""
    from generator.video import VideoDatasetBuilder, VideoRecipe

    sources = [str(data_root() / recipe["sources"])]
    for run in recipe["runs"]:
        spec = VideoRecipe(sources=sources, out=str(work / "dataset"), **{**recipe["clip"], **run})
        summary = VideoDatasetBuilder(spec).run()
        log.info("run %s: %s", json.dumps(run), summary)


def train(recipe: dict, recipe_path: Path, work: Path, out: Path, cache: Path, jobs: int) -> None:
    from forensics.classifier.training import train as train_bundle

    spec = recipe["train"]
    bundle = train_bundle(load_dataset(work / "dataset"), out, spec["analyzers"], cache, spec["test_fraction"],
                          spec["seed"], spec["augment"], spec["estimator"],
                          [str(recipe_path.resolve().relative_to(PROJECT_ROOT))], jobs=jobs,
                          notes={"dataset_recipe": recipe})
    log.info("bundle written to %s: %s", out, json.dumps(bundle.metrics["as_is"]["overall"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stages", nargs="+", choices=["generate", "train", "all"])
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--work", type=Path, default=Path("/tmp/forensics-video"))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "models" / "video")
    parser.add_argument("--cache", type=Path, help="feature cache (default: WORK/features.sqlite)")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    recipe = json.loads(args.recipe.read_text(encoding="utf-8"))
    for stage in ["generate", "train"] if "all" in args.stages else args.stages:
        if stage == "generate":
            generate(recipe, args.work)
        else:
            train(recipe, args.recipe, args.work, args.out, args.cache or args.work / "features.sqlite", args.jobs)


if __name__ == "__main__":
    main()
