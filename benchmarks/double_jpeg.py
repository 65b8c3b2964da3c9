"""How well the double-JPEG analyzer finds a region pasted between two saves, and what it costs.

Each photo (BSDS500 and Kodak, ``shared/data/photos``) is saved at a first quality, decoded (as a download from the
web would be), given an ellipse of a real autoencoder's round trip of itself (``generator.paste_back``, feathered as
inpainting tools paste; TAESD, TAESDXL and TAEF1 in turn) over 5, 15 or 30 % of the picture, and saved again at a
second quality. The same photo saved twice without the edit, and saved once, are the clean cases: any region found
there is a false alarm. Printed per (first, second) quality: how often an earlier save is detected, how often the
edit is boxed (the finding), false alarms, and the heatmap's AUC at telling edit blocks from the rest. Speed: the
analyzer against decoding the same JPEG with Pillow, side by side.

    python benchmarks/double_jpeg.py            # ~7 min on 2 cores
    python benchmarks/double_jpeg.py --photos 10 --qualities 75:90
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
from PIL import Image

from forensics.analyzers import registry
from forensics.autoencoders import load_reconstructor
from forensics.classifier.metrics import roc_auc
from forensics.config import data_root
from forensics.media import media_from_bytes
from generator.paste_back import ellipse_mask, paste

QUALITIES = ("60:90", "75:90", "85:95", "90:95", "95:90")
AREAS = (0.05, 0.15, 0.3)
AUTOENCODERS = ("taesd", "taesdxl", "taef1")


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=12, help="BSDS500 photos, beside the 24 Kodak ones")
    parser.add_argument("--qualities", nargs="+", default=list(QUALITIES), help="FIRST:SECOND JPEG qualities")
    args = parser.parse_args()
    photos_dir = data_root() / "photos"
    paths = sorted((photos_dir / "kodak").glob("*.png")) + sorted((photos_dir / "bsds500").glob("*.jpg"))[: args.photos]
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    photos = [np.ascontiguousarray(p[: p.shape[0] // 8 * 8, : p.shape[1] // 8 * 8]) for p in photos]  # autoencoders
    autoencoders = [load_reconstructor(name) for name in AUTOENCODERS]
    analyzer = registry.create("double-jpeg")
    rng = np.random.default_rng(0)
    analyse_s = decode_s = 0.0
    print(f"{len(photos)} photos, edits over {', '.join(f'{a:.0%}' for a in AREAS)} of the picture")
    print("first:second  earlier save seen  edits boxed (by area)      false alarms (twice / once)  heatmap AUC")
    for pair in args.qualities:
        first_q, second_q = (int(q) for q in pair.split(":"))
        seen, boxed, alarms_twice, alarms_once, aucs = 0, {a: 0 for a in AREAS}, 0, 0, []
        for index, photo in enumerate(photos):
            first = _decoded(_jpeg(photo, first_q))
            round_trip = autoencoders[index % len(autoencoders)].roundtrip(first)
            clean = analyzer.run(media_from_bytes(_jpeg(first, second_q)))
            seen += "double_jpeg_none" not in {f.code for f in clean.findings}
            alarms_twice += any(f.code == "double_jpeg_region" for f in clean.findings)
            once = analyzer.run(media_from_bytes(_jpeg(photo, second_q)))
            alarms_once += any(f.code == "double_jpeg_region" for f in once.findings)
            for area in AREAS:
                mask = ellipse_mask(*first.shape[:2], area=area, rng=rng)
                data = _jpeg(paste(first, round_trip, mask), second_q)
                started = time.perf_counter()
                evidence = analyzer.run(media_from_bytes(data))
                analyse_s += time.perf_counter() - started
                started = time.perf_counter()
                _decoded(data)
                decode_s += time.perf_counter() - started
                boxed[area] += any(f.code == "double_jpeg_region" for f in evidence.findings)
                if evidence.figures:
                    heat = evidence.figures[0].data
                    inside = mask[4::8, 4::8][: heat.shape[0], : heat.shape[1]] > 0.5
                    aucs.append(roc_auc(inside.ravel().astype(int), heat.ravel()))
        n = len(photos)
        by_area = " ".join(f"{boxed[a]:2d}/{n}" for a in AREAS)
        auc = f"{np.median(aucs):.3f} (median of {len(aucs)})" if aucs else "no map"
        print(f"{pair:12s}  {seen:2d}/{n}              {by_area}          {alarms_twice:2d} / {alarms_once:2d}"
              f"                    {auc}")
    print(f"time: analyzer {analyse_s:.1f} s, Pillow decode of the same files {decode_s:.1f} s "
          f"(ratio {analyse_s / decode_s:.1f})")


if __name__ == "__main__":
    main()
