"""Benchmark of the frequency, noise and residual-CNN analyzers: speed and a first separability check.

Speed: each analyzer's time on a real 12 MP camera JPEG (4000 x 3000), as a ratio to the
time it takes to decode that same JPEG, and in milliseconds per megapixel.

Separability: real photos (BSDS500 + Kodak, centre crops of at most 480 x 320) against
their own TAESD round trips ``decode(encode(x))``, both classes saved the same way (PNG,
then JPEG quality 90). Prints the AUC of every feature alone (oriented so that > 0.5; the
sign says which class is higher) and, for the frequency analyzer, the camera range of the
decoder-peak feature after a q90 recompression. The residual CNN never saw these photos: it is trained on
BSDS500 beyond the first 100, Waterloo and imageio (``datasets/residual-cnn.json``).

    OMP_NUM_THREADS=1 python benchmarks/signal_analyzers.py            # 100 BSDS + 24 Kodak
    OMP_NUM_THREADS=1 python benchmarks/signal_analyzers.py --bsds 20  # quicker

TAESD round trips are cached as PNG under ``--cache`` (they take ~15 s each on this CPU).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import roc_auc_score

from forensics.analyzers import registry
from forensics.autoencoders import load_reconstructor
from forensics.config import data_root
from forensics.media import load_media, media_from_bytes

ANALYZERS = ("frequency", "noise", "residual-cnn")
TWELVE_MP = "photos/exif-py/tests_resources_jpg_tests_Xiaomi_Mi_9T_KeyError.jpg"
CROP = (320, 480)  # height x width of the separability crops (BSDS500's own size, rounded to 8)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(repeat: int) -> None:
    path = data_root() / TWELVE_MP
    decode = median_time(lambda: load_media(path).image, repeat)
    media = load_media(path)
    megapixels = media.width * media.height / 1e6
    print(f"speed on {path.name} ({media.width}x{media.height}, {megapixels:.1f} MP), median of {repeat}:")
    per_mp = decode * 1e3 / megapixels
    print(f"  {'decode (load_media + pixels)':30s} {decode * 1e3:7.0f} ms  {per_mp:6.1f} ms/MP  1.00x")
    for name in ANALYZERS:
        analyzer = registry.create(name)
        analyzer.run(media)  # warm-up: imports, caches
        elapsed = median_time(lambda a=analyzer: a.run(media), repeat)
        print(f"  {name:30s} {elapsed * 1e3:7.0f} ms  {elapsed * 1e3 / megapixels:6.1f} ms/MP  {elapsed / decode:.2f}x")


def centre_crop(rgb: np.ndarray) -> np.ndarray:
    """Centre crop of at most CROP (either orientation), height and width multiples of 8."""
    h, w = rgb.shape[:2]
    ch, cw = CROP if w >= h else CROP[::-1]
    ch, cw = min(ch, h) // 8 * 8, min(cw, w) // 8 * 8
    y, x = (h - ch) // 2, (w - cw) // 2
    return rgb[y : y + ch, x : x + cw]


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "JPEG":
        Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    else:
        Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def pairs(n_bsds: int, n_kodak: int, cache: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo crop, its TAESD round trip) for the first photos of BSDS500 and Kodak, cached."""
    photos = data_root() / "photos"
    files = sorted((photos / "bsds500").glob("*.jpg"))[:n_bsds] + sorted((photos / "kodak").glob("*.png"))[:n_kodak]
    cache.mkdir(parents=True, exist_ok=True)
    taesd = None
    out = []
    for i, path in enumerate(files):
        real = centre_crop(np.asarray(Image.open(path).convert("RGB")))
        cached = cache / f"{path.stem}.png"
        if not cached.exists():
            taesd = taesd or load_reconstructor("taesd")
            Image.fromarray(taesd.roundtrip(np.ascontiguousarray(real))).save(cached)
            print(f"  round trip {i + 1}/{len(files)} {path.name}", flush=True)
        out.append((real, np.asarray(Image.open(cached).convert("RGB"))))
    return out


def separability(n_bsds: int, n_kodak: int, cache: Path) -> None:
    data = pairs(n_bsds, n_kodak, cache)
    analyzers = [registry.create(name) for name in ANALYZERS]
    for fmt in ("PNG", "JPEG"):
        rows: dict[str, list[list[float]]] = {"real": [], "taesd": []}
        names: list[str] = []
        for real, fake in data:
            for label, rgb in (("real", real), ("taesd", fake)):
                media = media_from_bytes(encode(rgb, fmt))
                evidence = [a.run(media) for a in analyzers]
                names = [f"{e.analyzer}.{k}" for e in evidence for k in e.features]
                rows[label].append([v for e in evidence for v in e.features.values()])
        real_x, fake_x = np.array(rows["real"]), np.array(rows["taesd"])
        label = "JPEG q90" if fmt == "JPEG" else fmt
        print(f"\nseparability, {len(data)} photos vs their TAESD round trips, both saved as {label}:")
        print(f"  {'feature':34s} {'AUC':>5s}  higher in   {'real median':>11s} {'taesd median':>12s}")
        for j, name in enumerate(names):
            a, b = real_x[:, j], fake_x[:, j]
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() < 4:
                print(f"  {name:34s}   n/a")
                continue
            auc = roc_auc_score(np.r_[np.zeros(ok.sum()), np.ones(ok.sum())], np.r_[a[ok], b[ok]])
            side = "taesd" if auc >= 0.5 else "real"
            print(f"  {name:34s} {max(auc, 1 - auc):5.3f}  {side:9s} {np.median(a[ok]):11.3f} {np.median(b[ok]):12.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bsds", type=int, default=100, help="BSDS500 photos in the separability check")
    parser.add_argument("--kodak", type=int, default=24, help="Kodak photos in the separability check")
    parser.add_argument("--repeat", type=int, default=5, help="timing repetitions")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/forensics-bench/taesd"), help="round-trip cache")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-separability", action="store_true")
    args = parser.parse_args()
    if not args.skip_speed:
        speed(args.repeat)
    if not args.skip_separability:
        separability(args.bsds, args.kodak, args.cache)


if __name__ == "__main__":
    main()
