"""Local edits: how well the scan detects, and its heatmaps locate, a generator's output pasted into part of a photo.

The files are the held-out side of ``datasets/default.json``'s split: each whole-image edit (in-house LDM img2img or
autoencoder round trip) pasted back into its own photo inside a feathered ellipse (``generator.paste_back``), with
its mask. Needs the recipe's work folder (``python datasets/build.py generate`` writes the paste-backs there).

Detection: the model's probability on each local edit against the held-out real photos (ROC AUC, and the share
called synthetic at 0.5), per share of the picture edited. Localization, per heatmap: the pixel AUC of the map
against the mask (0.5 = the map says nothing about where the edit is) and how often the map's hottest cell lies on
the edit (against the share of cells that do, what a random cell would give).

    python benchmarks/local_edits.py                       # the shipped model, held-out split of the default recipe
    python benchmarks/local_edits.py --model models/mine --work /tmp/forensics-default --limit 40
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from forensics.analyzers import registry
from forensics.classifier import load_combiner
from forensics.classifier.dataset import is_local, split_by_group
from forensics.classifier.evaluate import AREA_BINS
from forensics.classifier.metrics import roc_auc
from forensics.config import PROJECT_ROOT
from forensics.media import load_media
from forensics.scan import Scanner

sys.path.insert(0, str(PROJECT_ROOT / "datasets"))
from build import RECIPE, dataset_records  # the recipe's own records, not a copy of the logic

#: analyzer -> (its heatmap, the ``details`` key holding the heatmap's cell side in pixels)
MAPS = {"residual-cnn": ("residual_cnn", "patch"), "noise": ("noise_inconsistency", "block")}


def pixel_map(data: np.ndarray, cell: int, shape: tuple[int, int]) -> np.ndarray:
    """A heatmap grid of ``cell``-pixel squares from the picture's top-left corner, spread over ``shape`` pixels
    (pixels past the last cell are NaN)."""
    heat = np.full(shape, np.nan)
    rows, cols = min(data.shape[0], -(-shape[0] // cell)), min(data.shape[1], -(-shape[1] // cell))
    spread = np.repeat(np.repeat(data[:rows, :cols], cell, axis=0), cell, axis=1)[: shape[0], : shape[1]]
    heat[: spread.shape[0], : spread.shape[1]] = spread
    return heat


def localization(data: np.ndarray, cell: int, mask: np.ndarray) -> tuple[float, bool, float]:
    """Pixel AUC of the map against ``mask`` > 0.5, whether its hottest cell's pixels are mostly edited, and the
    share of scored pixels that are."""
    heat = pixel_map(data, cell, mask.shape)
    scored = ~np.isnan(heat)
    edited = mask > 0.5
    auc = roc_auc(edited[scored].astype(int), heat[scored])
    hottest = scored & (heat == np.nanmax(heat))
    return auc, bool(edited[hottest].mean() > 0.5), float(edited[scored].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "default")
    parser.add_argument("--work", type=Path, default=Path("/tmp/forensics-default"))
    parser.add_argument("--limit", type=int, help="score only the first N local edits")
    args = parser.parse_args()
    recipe = json.loads(RECIPE.read_text(encoding="utf-8"))
    _, test = split_by_group(dataset_records(recipe, args.work), recipe["train"]["test_fraction"],
                             recipe["train"]["seed"])
    local = [r for r in test if is_local(r)][: args.limit]
    reals = [r for r in test if r.label == 0 and r.info.get("kind") == "real"]
    if not local:
        raise SystemExit(f"no local edit on the held-out side of {args.work}: run datasets/build.py generate first")
    combiner = load_combiner(args.model)
    names = list(dict.fromkeys([*combiner.bundle.schema.analyzers, *MAPS]))
    scanner = Scanner(analyzers=[registry.create(n) for n in names], combiner=combiner)
    print(f"model {args.model.name}; {len(local)} held-out local edits, {len(reals)} held-out photos")

    def probability(path: Path) -> tuple[float, dict]:
        evidence, verdict = scanner.analyse(load_media(path))
        return verdict.p_synthetic, {e.analyzer: e for e in evidence}

    real_p = np.array([probability(r.path)[0] for r in reals])
    rows: list[tuple[float, float, dict[str, tuple[float, bool, float]]]] = []
    for record in local:
        p, evidence = probability(record.path)
        with Image.open(record.path.parent.parent / record.info["mask_file"]) as im:
            mask = np.asarray(im, dtype=np.float32) / 255.0
        maps = {}
        for analyzer, (figure, cell) in MAPS.items():
            found = [f for f in evidence[analyzer].figures if f.name == figure]
            if evidence[analyzer].status == "ok" and found:
                data = np.asarray(found[0].data, dtype=np.float64)
                maps[analyzer] = localization(data, int(evidence[analyzer].details[cell]), mask)
        rows.append((record.info["edit_area"], p, maps))
    print(f"held-out photos: {np.mean(real_p < 0.5):.3f} called authentic (p < 0.5)")
    header = "share edited      n   AUC   flagged " + "".join(f"| {a}: pixel AUC  hottest on edit (random) "
                                                             for a in MAPS)
    print(header)
    low = 0.0
    for high, label in AREA_BINS:
        chosen = [row for row in rows if low < row[0] <= high]
        low = high
        if not chosen:
            continue
        p = np.array([row[1] for row in chosen])
        auc = roc_auc(np.r_[np.zeros(len(real_p)), np.ones(len(p))], np.r_[real_p, p])
        line = f"{label:<15} {len(p):>4} {auc:.3f}  {np.mean(p >= 0.5):.3f}  "
        for analyzer in MAPS:
            found = [row[2][analyzer] for row in chosen if analyzer in row[2]]
            if found:
                line += (f"| {np.nanmean([f[0] for f in found]):.3f} over {len(found):>3}   "
                         f"{np.mean([f[1] for f in found]):.3f} ({np.mean([f[2] for f in found]):.3f})     ")
        print(line, flush=True)


if __name__ == "__main__":
    main()
