"""Transfer check: the default classifier on real generator output and real photos it never saw, pixels only.

Synthetic side: every file of ``shared/data/provenance`` whose metadata proves a Stable Diffusion origin
(generation parameters, the SD invisible watermark, a C2PA manifest declaring AI) — real outputs of A1111,
InvokeAI, ComfyUI and the SD reference scripts, made by generators this project never ran. Real side: the
camera photos that ``datasets/default.json`` holds out from training (every other photo of exif-samples and
metadata-extractor), plus ``exif_small``, which no model uses. The metadata analyzer only selects the files;
the verdict is the trained model's on the pixel analyzers alone, so metadata cannot decide it.

    python benchmarks/transfer.py                 # the default model, its own analyzers
    python benchmarks/transfer.py --model models/mine --per-file
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from forensics.analyzers import registry
from forensics.analyzers.base import Severity
from forensics.classifier import load_combiner
from forensics.classifier.metrics import bootstrap_intervals
from forensics.config import PROJECT_ROOT, data_root
from forensics.media import MediaError, load_media
from forensics.scan import Scanner

sys.path.insert(0, str(PROJECT_ROOT / "datasets"))
from build import select_sources  # the recipe's own source selection, not a copy of it)

MEDIA_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}


def generator_outputs() -> list[Path]:
    """Provenance files whose metadata has a decisive synthetic finding."""
    metadata = registry.create("metadata")
    found = []
    for path in sorted((data_root() / "provenance").rglob("*")):
        if path.suffix.lower() not in MEDIA_SUFFIXES:
            continue
        try:
            evidence = metadata.run(load_media(path))
        except MediaError:
            continue
        if any(f.severity == Severity.DECISIVE and f.direction == "synthetic" for f in evidence.findings):
            found.append(path)
    return found


def unseen_photos() -> list[Path]:
    recipe = json.loads((PROJECT_ROOT / "datasets" / "default.json").read_text())
    held_out = select_sources(recipe)[1]
    small = sorted((data_root() / "photos" / "exif_small").glob("*"))
    return held_out + [p for p in small if p.suffix.lower() in MEDIA_SUFFIXES]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "default")
    parser.add_argument("--per-file", action="store_true", help="print every file's probability")
    args = parser.parse_args()
    combiner = load_combiner(args.model)
    analyzers = [registry.create(name) for name in combiner.bundle.schema.analyzers]
    scanner = Scanner(analyzers=analyzers, combiner=combiner)
    print(f"model {args.model} on analyzers {', '.join(a.name for a in analyzers)} (metadata excluded)")
    scores: dict[bool, list[float]] = {True: [], False: []}
    for title, files, positive in (("generator outputs", generator_outputs(), True),
                                   ("unseen real photos", unseen_photos(), False)):
        labels = {"synthetic": 0, "uncertain": 0, "no_synthetic_evidence": 0, "error": 0}
        for path in files:
            report = scanner.scan(path)
            label = report.verdict.label if report.verdict else "error"
            if report.verdict:
                scores[positive].append(report.verdict.p_synthetic)
            labels[label] = labels.get(label, 0) + 1
            if args.per_file:
                p = f"{report.verdict.p_synthetic:.3f}" if report.verdict else report.error["code"]
                print(f"  {label:21s} {p:>6s}  {path.relative_to(data_root())}")
        right = labels["synthetic" if positive else "no_synthetic_evidence"]
        wrong = labels["no_synthetic_evidence" if positive else "synthetic"]
        print(f"{title}: {len(files)} files: {right} right ({right / max(len(files), 1):.0%}), "
              f"{labels['uncertain']} uncertain, {wrong} wrong, {labels['error']} errors")
    y = np.array([1] * len(scores[True]) + [0] * len(scores[False]))
    p = np.array(scores[True] + scores[False])
    low, high = bootstrap_intervals(y, p, groups=np.arange(len(y)))["auc"]
    print(f"ROC AUC, generator outputs vs unseen photos: {roc_auc_score(y, p):.3f} "
          f"(95 % bootstrap interval {low:.3f}-{high:.3f}: differences inside it are noise)")


if __name__ == "__main__":
    main()
