"""How much the feature cache saves: featurizing photos cold vs from the cache, and the classifier's own cost.

    python benchmarks/classifier_cache.py [--n 12] [--analyzers frequency,noise] [--model models/default]

Prints seconds per file for a cold extraction (analyzers run), a warm one (cache hits only) and their ratio;
with a model, also the time of one TrainedCombiner verdict (features already computed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from forensics.classifier.cache import Sample, extract
from forensics.config import data_root


def per_file(samples: list[Sample], analyzers: list[str], cache: Path) -> float:
    start = time.perf_counter()
    for _ in extract(samples, analyzers, cache):
        pass
    return (time.perf_counter() - start) / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=12, help="BSDS500 photos to featurize")
    parser.add_argument("--analyzers", default="frequency,noise")
    parser.add_argument("--model", type=Path, help="a bundle folder, to time the combiner too")
    args = parser.parse_args()
    photos = sorted((data_root() / "photos" / "bsds500").glob("*.jpg"))[: args.n]
    samples = [Sample(p) for p in photos] + [Sample(p, "jpeg75+resize0.5") for p in photos]
    analyzers = args.analyzers.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "features.sqlite"
        cold = per_file(samples, analyzers, cache)
        warm = per_file(samples, analyzers, cache)
    print(f"{len(samples)} files ({args.n} photos, as is and after jpeg75+resize0.5), analyzers {analyzers}")
    print(f"cold extraction: {cold * 1000:.1f} ms/file")
    print(f"from the cache:  {warm * 1000:.1f} ms/file  ({cold / warm:.0f}x faster)")
    if args.model:
        from forensics.analyzers import registry
        from forensics.classifier import load_combiner
        from forensics.media import load_media

        combiner = load_combiner(args.model)
        evidence = [a.run(load_media(photos[0])) for a in registry.create_all(combiner.bundle.schema.analyzers)]
        start = time.perf_counter()
        for _ in range(50):
            combiner.verdict(evidence)
        print(f"combiner verdict: {(time.perf_counter() - start) / 50 * 1000:.2f} ms/file")


if __name__ == "__main__":
    main()
