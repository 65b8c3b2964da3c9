"""Benchmark of the reconstruction analyzer: speed, and how well each feature separates photos from
their own autoencoder round trips.

For each shared photo (BSDS500, Kodak, camera JPEGs, interleaved, deterministic order) the most textured
native-resolution tile is cut out; the tile and its round trips through each autoencoder are saved in the
same formats (PNG, JPEG q90) and analysed. Photos with even rank fit the score's logistic constants, photos
with odd rank are held out for the AUCs. Prints figures; writes every feature row to --csv if given.

    OMP_NUM_THREADS=2 python benchmarks/reconstruction.py --photos 60
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from forensics.analyzers.reconstruction import DEFAULT_AUTOENCODERS, SCORE_FEATURE, ReconstructionAnalyzer
from forensics.autoencoders import load_reconstructor
from forensics.autoencoders.tiles import select_tiles
from forensics.config import data_root
from forensics.media import load_media, media_from_bytes

SOURCES = ("bsds500", "kodak", "exif-samples", "metadata-extractor")


def shared_photos(count: int, min_side: int) -> list[Path]:
    """``count`` photos from the manifest, sources interleaved, each at least ``min_side`` on both sides."""
    root = data_root() / "photos"
    with open(root / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_source: dict[str, list[Path]] = {s: [] for s in SOURCES}
    for row in rows:
        source = row["file"].split("/")[0]
        w, h = (int(v) for v in row["width_x_height"].split("x"))
        if source in by_source and min(w, h) >= min_side:
            by_source[source].append(root / row["file"])
    pools = [sorted(paths) for paths in by_source.values()]
    chosen = [p for group in zip(*pools, strict=False) for p in group]  # round-robin until the shortest runs out
    chosen += [p for pool in pools for p in pool[len(min(pools, key=len)) :]]
    return chosen[:count]


def encode(pixels: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        Image.fromarray(pixels).save(buf, "PNG")
    else:
        Image.fromarray(pixels).save(buf, "JPEG", quality=int(fmt.removeprefix("jpeg")))
    return buf.getvalue()


def time_per_megapixel(analyzer: ReconstructionAnalyzer, paths: list[Path], repeats: int = 3) -> None:
    """Analyzer seconds per megapixel beside the JPEG/PNG decode time of the same file."""
    print(f"\n== speed (default settings: tile {analyzer.tile}, up to {analyzer.max_tiles} tiles) ==")
    analyzer.run(load_media(paths[0]))  # load the autoencoders once, outside the timing
    for path in paths:
        start = time.perf_counter()
        for _ in range(repeats):
            with Image.open(path) as im:
                im.convert("RGB").load()
        decode = (time.perf_counter() - start) / repeats
        media = load_media(path)
        start = time.perf_counter()
        evidence = analyzer.run(media)
        seconds = time.perf_counter() - start
        mp = media.width * media.height / 1e6
        print(
            f"{path.name:45s} {media.width}x{media.height}  {seconds:6.2f} s = {seconds / mp:6.2f} s/MP  "
            f"decode {decode * 1000:6.1f} ms  ratio x{seconds / decode:,.0f}  status {evidence.status}"
        )


def auc_table(rows: list[dict], label_of, title: str) -> dict[str, float]:
    """AUC of each feature alone (oriented so that > 0.5 means it ranks round trips above photos)."""
    features = sorted({k for r in rows for k, v in r.items() if isinstance(v, float)})
    y = np.array([label_of(r) for r in rows])
    aucs = {}
    for name in features:
        x = np.array([r.get(name, math.nan) for r in rows], dtype=float)
        ok = np.isfinite(x)
        if ok.sum() < 4 or len(set(y[ok])) < 2:
            continue
        aucs[name] = roc_auc_score(y[ok], -x[ok])  # low distance / ratio = reconstructed well = synthetic
    print(f"\n== {title}: AUC of each feature alone (lower value = synthetic; 0.5 = chance) ==")
    for name, auc in sorted(aucs.items(), key=lambda kv: -abs(kv[1] - 0.5)):
        print(f"  {name:16s} {auc:.3f}")
    return aucs


def photo_levels(rows: list[dict], keys: list[str]) -> dict[str, float]:
    """Median ``log(<ae>_rel_hf)`` over photo rows: the analyzer's ``PHOTO_LOG_REL_HF``."""
    return {k: float(np.median([math.log(r[f"{k}_rel_hf"]) for r in rows if r["source"] == "photo"])) for k in keys}


def rematch(rows: list[dict], levels: dict[str, float]) -> None:
    """Recompute ``match_hf`` in place with ``levels`` (as the analyzer will once they are its constants)."""
    for r in rows:
        r["match_hf"] = min(math.log(r[f"{k}_rel_hf"]) - level for k, level in levels.items())


def fit_score(rows: list[dict], feature: str) -> tuple[float, float]:
    """Logistic ``p = 1 / (1 + exp(-slope * (feature - centre)))`` fitted on rows (photos = 0)."""
    x = np.array([r[feature] for r in rows])[:, None]
    y = np.array([r["synthetic"] for r in rows])
    model = LogisticRegression(C=100.0, class_weight="balanced").fit(x, y)  # the feature spans only ~0.3
    slope = float(model.coef_[0, 0])
    return slope, float(-model.intercept_[0] / slope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--tile", type=int, default=256, help="tile side for the separation study")
    parser.add_argument("--fakes", default=",".join(DEFAULT_AUTOENCODERS), help="autoencoders making round trips")
    parser.add_argument("--formats", default="png,jpeg90")
    parser.add_argument("--speed-files", type=int, default=2, help="photos timed at full size (0: skip)")
    parser.add_argument("--csv", type=Path, help="write every feature row here")
    args = parser.parse_args()

    photos = shared_photos(args.photos, args.tile)
    if args.speed_files:
        largest = sorted(photos, key=lambda p: -Image.open(p).size[0] * Image.open(p).size[1])
        time_per_megapixel(ReconstructionAnalyzer(), [photos[0], largest[0]][: args.speed_files])

    analyzer = ReconstructionAnalyzer(tile=args.tile, max_tiles=1)
    makers = {name: load_reconstructor(name) for name in args.fakes.split(",")}
    formats = args.formats.split(",")
    rows: list[dict] = []
    start = time.perf_counter()
    for rank, path in enumerate(photos):
        image = load_media(path).image
        tile = select_tiles(image, args.tile, 1)[0].cut(image)
        variants = {"photo": tile} | {name: maker.roundtrip(tile) for name, maker in makers.items()}
        for source, pixels in variants.items():
            for fmt in formats:
                evidence = analyzer.run(media_from_bytes(encode(pixels, fmt), path=f"{path.stem}.{fmt}"))
                if evidence.status != "ok":
                    print(f"  {path.name} {source} {fmt}: {evidence.status} {evidence.reason}")
                    continue
                row = {"photo": path.name, "half": "fit" if rank % 2 == 0 else "test", "source": source}
                rows.append(
                    row
                    | {"format": fmt, "synthetic": int(source != "photo"), "score": evidence.score}
                    | evidence.features
                )
        print(f"[{rank + 1}/{len(photos)}] {path.name}  {time.perf_counter() - start:.0f} s", flush=True)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
            writer.writeheader()
            writer.writerows(rows)

    fit = [r for r in rows if r["half"] == "fit"]
    test = [r for r in rows if r["half"] == "test"]
    levels = photo_levels(fit, analyzer.keys)
    print(f"\nPHOTO_LOG_REL_HF (median over {sum(r['source'] == 'photo' for r in fit)} fit-half photo rows):")
    print("  " + ", ".join(f"{k!r}: {v:.3f}" for k, v in levels.items()))
    rematch(rows, levels)
    slope, centre = fit_score([r for r in fit if r["source"] in ("photo", "taesd", "taesdxl")], SCORE_FEATURE)
    print(f"\nscore constants fitted on {len(fit)} fit-half rows (photos vs TAESD/TAESDXL round trips, all formats):")
    print(f"  SCORE_FEATURE = {SCORE_FEATURE!r}  SCORE_SLOPE = {slope:.2f}  SCORE_CENTRE = {centre:.3f}")
    for fmt in formats:
        for fake in makers:
            subset = [r for r in test if r["format"] == fmt and r["source"] in ("photo", fake)]
            aucs = auc_table(subset, lambda r: r["synthetic"], f"held-out photos vs {fake} round trips, {fmt}")
            print(f"  -> best: {max(aucs, key=lambda k: abs(aucs[k] - 0.5))}")
    for r in rows:  # the score with the constants just fitted
        r["score"] = 1 / (1 + math.exp(-slope * (r[SCORE_FEATURE] - centre)))
    real_scores = np.array([r["score"] for r in test if r["source"] == "photo"])
    print(f"\nheld-out photos with score < 0.35: {np.mean(real_scores < 0.35):.0%} of {len(real_scores)}")
    for fake in makers:
        fake_scores = np.array([r["score"] for r in test if r["source"] == fake])
        print(f"held-out {fake} round trips with score > 0.65: {np.mean(fake_scores > 0.65):.0%}")


if __name__ == "__main__":
    main()
