"""Transfer check: the default classifier on real generator output and real photos it never saw, pixels only.

Synthetic side: every file of ``shared/data/provenance`` whose metadata proves a generator's hand (generation
parameters, the SD invisible watermark, a C2PA manifest declaring AI) — real outputs of A1111, InvokeAI, ComfyUI
and the SD reference scripts, made by generators this project never ran — except those whose pixels are not a
diffusion model's output (``NOT_GENERATED_PIXELS``, each looked at) and stills under ``MIN_SIDE``. Real side: the
camera photos that ``datasets/default.json`` holds out from training (every other photo of exif-samples and
metadata-extractor), plus ``exif_small``, which no model uses. The metadata analyzer only selects the files;
the verdict is the trained model's on the pixel analyzers alone, so metadata cannot decide it.

Then both sides are re-saved through chains of :mod:`forensics.classifier.postprocess` (by default a JPEG 90
re-save, WebP 90 and WebP 75 (cwebp's default) re-saves, a HEIC save at a phone's rate, the social-network chain
(half size + JPEG 75), a lossless shrink to 0.3, and noise reduction then JPEG 90) and judged again: images mostly
circulate that way, and decoder traces are what such processing removes first.

    python benchmarks/transfer.py                 # the default model, its own analyzers
    python benchmarks/transfer.py --model models/mine --per-file --chains   # as they are only
    python benchmarks/transfer.py --features reconstruction --chains   # which features of an analyzer transfer
    python benchmarks/transfer.py --features residual-cnn noise --chains jpeg90   # and which survive a JPEG 90
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from forensics.analyzers import registry
from forensics.analyzers.base import Severity
from forensics.classifier import load_combiner, postprocess
from forensics.classifier.metrics import bootstrap_intervals, roc_auc
from forensics.config import PROJECT_ROOT, data_root
from forensics.media import Media, MediaError, load_media, media_from_bytes
from forensics.scan import Scanner
from forensics.verdict import Verdict

sys.path.insert(0, str(PROJECT_ROOT / "datasets"))
from build import select_sources  # the recipe's own source selection, not a copy of it)

# How images usually circulate: re-saved as a high-quality JPEG or WebP (or WebP at the encoder's default) or as a
# phone's HEIC, shrunk and recompressed by a social network, shrunk for the web and saved losslessly (a 10-megapixel
# photo at 1,000 pixels wide is shrunk to 0.3; shrinking removes the camera noise at native scale and the JPEG grid,
# two things a photo shows and a decoder's output lacks), or passed through an editor's noise reduction before
# export. Applied to both sides alike.
RESAVE_CHAINS = ("jpeg90", "webp90", "webp75", "heic60", "resize0.5+jpeg75", "resize0.3", "denoise5+jpeg90")
MIN_SIDE = 64  # the residual CNN's patch
MEDIA_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"}
# Files of shared/data/provenance whose metadata names a generator but whose pixels are not its output (looked at
# one by one): judging their pixels would score the benchmark, not the model.
_SCREENSHOT = "screenshot of a ComfyUI workflow; the generated image is a small thumbnail in it"
_GRADIENT = "C2PA test fixture declared 'algorithmicMedia': a colour gradient drawn by software, no diffusion model"
NOT_GENERATED_PIXELS = {
    "comfyui-examples/2d693c3_2_pass_txt2img_hiresfix_esrgan_workflow.png": _SCREENSHOT,
    "comfyui-examples/f9431bb_2_pass_txt2img_hiresfix_latent_workflow.png": _SCREENSHOT,
    "comfyui-examples/f9431bb_controlnet_mixing_controlnets.png": _SCREENSHOT,
    "comfyui-examples/f9431bb_model_merging_model_merging_3_checkpoints.png": _SCREENSHOT,
    "comfyui-examples/f9431bb_model_merging_model_merging_basic.png": _SCREENSHOT,
    "c2pa-python/tests_fixtures_C.jpg": _GRADIENT,
    "c2pa-rs/sdk_tests_fixtures_C.jpg": _GRADIENT,
    "c2pa-rs/sdk_tests_fixtures_CACAE-uri-CA.jpg": _GRADIENT,
    "c2pa-rs/sdk_tests_fixtures_CIE-sig-CA.jpg": _GRADIENT,
    "c2pa-rs/sdk_tests_fixtures_ocsp.jpg": (
        "declared a composite with generative content (Firefly) over a photo: which pixels are generated is unknown"),
}


def generator_outputs() -> list[Path]:
    """Provenance files whose metadata has a decisive synthetic finding and whose pixels are a generator's output."""
    metadata = registry.create("metadata")
    root = data_root() / "provenance"
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in MEDIA_SUFFIXES or path.relative_to(root).as_posix() in NOT_GENERATED_PIXELS:
            continue
        try:
            media = load_media(path)
        except MediaError:
            continue
        if min(media.width, media.height) < MIN_SIDE:  # metadata fixtures of 1x1 pixels: nothing to judge
            continue
        evidence = metadata.run(media)
        if any(f.severity == Severity.DECISIVE and f.direction == "synthetic" for f in evidence.findings):
            found.append(path)
    return found


def unseen_photos() -> list[Path]:
    recipe = json.loads((PROJECT_ROOT / "datasets" / "default.json").read_text())
    held_out = select_sources(recipe)[1]
    small = sorted((data_root() / "photos" / "exif_small").glob("*"))
    return held_out + [p for p in small if p.suffix.lower() in MEDIA_SUFFIXES]


def tally(title: str, verdicts: list[Verdict | None], positive: bool) -> str:
    """One line: how many verdicts are right, uncertain, wrong, or missing (not judged by the model)."""
    labels = [v.label if v else "error" for v in verdicts]
    right = labels.count("synthetic" if positive else "no_synthetic_evidence")
    wrong = labels.count("no_synthetic_evidence" if positive else "synthetic")
    return (f"{title}: {len(labels)} files: {right} right ({right / max(len(labels), 1):.0%}), "
            f"{labels.count('uncertain')} uncertain, {wrong} wrong, {labels.count('error')} not judged")


def still_after(path: Path, chain: str | None) -> Media | None:
    """The file (``chain`` None) or its still re-saved through ``chain``; ``None`` where that cannot be done.

    No chain copies animations and videos, nor stills under :data:`MIN_SIDE`.
    """
    try:
        media = load_media(path)
    except MediaError:
        return None
    if chain is None:
        return media
    still = media.kind == "image" and media.frame_count == 1 and min(media.width, media.height) >= MIN_SIDE
    return media_from_bytes(postprocess.apply_chain(chain, media.image)) if still else None


def verdicts_after(scanner: Scanner, files: list[Path], chain: str | None) -> list[Verdict | None]:
    """The model's verdict on each file as it is (``chain`` None) or re-saved through a post-processing chain.

    ``None`` where the model does not judge: animations and videos (no chain copies them; the model of stills does
    not measure them), and files whose features it could not measure (a blank picture), which a scan leaves to the
    rule combiner.
    """
    out: list[Verdict | None] = []
    for path in files:
        verdict = None
        if chain is None:
            verdict = scanner.scan(path).verdict
        elif (media := still_after(path, chain)) is not None:
            verdict = scanner.analyse(media)[1]
        out.append(verdict if verdict is not None and verdict.model == scanner.combiner.name else None)
    return out


def feature_aucs(names: list[str], sides: tuple[tuple[str, list[Path], bool], ...], chains: list[str]) -> None:
    """Print each feature's ROC AUC, generator outputs vs photos, as they are and after each chain (0.5 = no
    transfer; below 0.5: lower on generator outputs). Sorted by the distance from 0.5 as they are."""
    analyzers = [registry.create(name) for name in names]
    columns: list[str | None] = [None, *chains]
    rows: dict[str | None, list[tuple[int, dict[str, float]]]] = {column: [] for column in columns}
    for _, files, positive in sides:
        for path in files:
            for column in columns:
                media = still_after(path, column)
                if media is not None:
                    values = {f"{a.name}.{k}": v for a in analyzers for k, v in (a.run(media).features or {}).items()}
                    rows[column].append((int(positive), values))
    table = []
    for key in sorted({k for _, values in rows[None] for k in values}):
        aucs = []
        for column in columns:
            pairs = [(y, values[key]) for y, values in rows[column] if np.isfinite(values.get(key, np.nan))]
            labels = np.array([y for y, _ in pairs])
            aucs.append(roc_auc(labels, np.array([x for _, x in pairs])) if 0 < labels.sum() < len(labels) else np.nan)
        table.append((key, aucs))
    print("feature AUCs, generator outputs vs unseen photos (< 0.5: lower on generator outputs):")
    print(f"  {'feature':45s}" + "".join(f"{column or 'as they are':>18s}" for column in columns))
    for key, aucs in sorted(table, key=lambda row: -abs(row[1][0] - 0.5) if np.isfinite(row[1][0]) else 0):
        print(f"  {key:45s}" + "".join(f"{auc:18.3f}" for auc in aucs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "default")
    parser.add_argument("--per-file", action="store_true", help="print every file's probability (as they are)")
    parser.add_argument("--chains", nargs="*", default=list(RESAVE_CHAINS),
                        help="post-processing chains (forensics.classifier.postprocess grammar) applied to both "
                             "sides after the files as they are; none to skip")
    parser.add_argument("--features", nargs="+", metavar="ANALYZER",
                        help="instead: each feature of these analyzers alone, as they are and after --chains, e.g. "
                             "--features reconstruction --chains")
    args = parser.parse_args()
    sides = (("generator outputs", generator_outputs(), True), ("unseen real photos", unseen_photos(), False))
    if args.features:
        feature_aucs(args.features, sides, args.chains)
        return
    combiner = load_combiner(args.model)
    analyzers = [registry.create(name) for name in combiner.bundle.schema.analyzers]
    scanner = Scanner(analyzers=analyzers, combiner=combiner)
    print(f"model {args.model} on analyzers {', '.join(a.name for a in analyzers)} (metadata excluded)")
    for chain in (None, *args.chains):
        print(f"-- {'as they are' if chain is None else 're-saved as ' + chain}")
        scores: dict[bool, list[float]] = {True: [], False: []}
        for title, files, positive in sides:
            verdicts = verdicts_after(scanner, files, chain)
            scores[positive] += [v.p_synthetic for v in verdicts if v]
            if args.per_file and chain is None:
                for path, v in zip(files, verdicts, strict=True):
                    shown = f"{v.label:21s} {v.p_synthetic:.3f}" if v else f"{'error':21s} {'-':>5s}"
                    print(f"  {shown}  {path.relative_to(data_root())}")
            print(tally(title, verdicts, positive))
        y = np.array([1] * len(scores[True]) + [0] * len(scores[False]))
        p = np.array(scores[True] + scores[False])
        low, high = bootstrap_intervals(y, p, groups=np.arange(len(y)))["auc"]
        print(f"ROC AUC, generator outputs vs unseen photos: {roc_auc(y, p):.3f} "
              f"(95 % bootstrap interval {low:.3f}-{high:.3f}: differences inside it are noise)")


if __name__ == "__main__":
    main()
