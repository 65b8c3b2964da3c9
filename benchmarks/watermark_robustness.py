"""How the Stable Diffusion watermark reader holds up after the processing images meet, and what it costs.

Marked files: the 8 watermarked outputs of the SD v1/v2 reference scripts in ``shared/data/provenance/watermarked``,
6 Kodak photos given the SDXL mark as diffusers embeds it (``imwatermark``, RGB handed to the BGR encoder) and 6
others the FLUX mark as Black Forest Labs' reference code embeds it (true BGR).
Each is turned (a quarter and a half turn, the mirror image) or goes through post-processing chains
(:mod:`forensics.classifier.postprocess` grammar, crops with the ``crop<F>`` step, which keeps the centre;
``offcrop<F>`` crops the same share from an odd corner offset instead) and is read again. Clean files: every
shared photo of 256 x 256 pixels or more, as it is; any "present" there is a false alarm. Speed: the full reader
against the reading as embedded alone (the ``imwatermark`` way), on the same files, side by side.

    python benchmarks/watermark_robustness.py      # ~6 min on 2 cores
"""

from __future__ import annotations

import argparse
import csv
import io
import time
from pathlib import Path

import numpy as np
from imwatermark import WatermarkEncoder
from PIL import Image, ImageOps

from forensics.analyzers.metadata.watermark import PAYLOADS, READINGS, read_watermark, turned
from forensics.classifier import postprocess
from forensics.config import data_root

CHAINS = ("none", "rotate90", "rotate180", "mirror", "offcrop0.75", "offcrop0.6", "crop0.9", "resize0.75",
          "resize0.5", "resize0.5+webp90", "webp90", "jpeg95", "jpeg90")
#: Right-angle turns and the mirror image: (quarter turns counter-clockwise, mirrored left-right).
TURN_CHAINS = {"rotate90": (1, False), "rotate180": (2, False), "mirror": (0, True)}
KODAK_SDXL = [f"kodak_kodim{i:02d}.png" for i in (2, 4, 8, 15, 19, 23)]
KODAK_FLUX = [f"kodak_kodim{i:02d}.png" for i in (1, 5, 9, 13, 17, 21)]


def marked_files() -> list[tuple[str, np.ndarray, str]]:
    """(name, RGB pixels, payload) of every marked image."""
    folder = data_root() / "provenance" / "watermarked"
    with (folder / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = [(r["file"], _rgb(folder / r["file"]), "StableDiffusionV1" if "SDV1" in r["metadata"] else "SDV2")
           for r in rows]
    kodak = data_root() / "photos" / "kodak"
    for payload, names, bgr in (("SDXL", KODAK_SDXL, False), ("FLUX", KODAK_FLUX, True)):
        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", PAYLOADS[payload].astype(int).tolist())
        for name in names:
            rgb = _rgb(kodak / name)
            if bgr:  # the encoder is handed true BGR, and its output turned back to RGB
                bgr_marked = encoder.encode(np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct")
                marked = np.ascontiguousarray(bgr_marked[:, :, ::-1])
            else:
                marked = encoder.encode(rgb, "dwtDct")
            out.append((name, marked, payload))
    return out


def _rgb(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(im).convert("RGB")))


def processed(rgb: np.ndarray, chain: str) -> np.ndarray:
    """``rgb`` after ``chain``; ``offcrop<F>`` keeps a share F of each side from 37 rows and 13 columns in;
    ``rotate90``, ``rotate180`` and ``mirror`` turn or mirror it."""
    if chain == "none":
        return rgb
    if chain in TURN_CHAINS:
        return np.ascontiguousarray(turned(rgb, *TURN_CHAINS[chain]))
    if chain.startswith("offcrop"):
        share = float(chain[7:])
        h, w = int(rgb.shape[0] * share) | 1, int(rgb.shape[1] * share) | 1
        return np.ascontiguousarray(rgb[37 : 37 + h, 13 : 13 + w])
    with Image.open(io.BytesIO(postprocess.apply_chain(chain, rgb))) as im:
        return np.asarray(im.convert("RGB"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", nargs="+", default=list(CHAINS))
    args = parser.parse_args()
    marked = marked_files()
    print(f"{len(marked)} marked images: found present (right payload) / likely / missed")
    for chain in args.chains:
        verdicts = []
        for _, rgb, payload in marked:
            wm = read_watermark(processed(rgb, chain)).details["watermark"]
            right = wm.get("best_payload") == payload
            verdicts.append(wm.get("verdict", "absent") if right else "absent")
        print(f"  {chain:12s} {verdicts.count('present'):2d} / {verdicts.count('likely'):2d} / "
              f"{verdicts.count('absent'):2d}")
    photos = sorted(p for p in (data_root() / "photos").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    alarms, checked, full_s, embedded_s = [], 0, 0.0, 0.0
    for path in photos:
        rgb = _rgb(path)
        if rgb.shape[0] * rgb.shape[1] < 256 * 256:
            continue
        checked += 1
        started = time.perf_counter()
        wm = read_watermark(rgb).details["watermark"]
        full_s += time.perf_counter() - started
        started = time.perf_counter()
        read = READINGS["as embedded"](rgb)
        for payload in PAYLOADS.values():
            for bgr in (True, False):
                read(bgr, payload)
        embedded_s += time.perf_counter() - started
        if wm["verdict"] != "absent":
            alarms.append((path.name, wm["verdict"]))
    print(f"{checked} shared photos: {len(alarms)} false alarms {alarms}")
    print(f"time per photo: full reader {1000 * full_s / checked:.0f} ms, reading as embedded only "
          f"{1000 * embedded_s / checked:.0f} ms (ratio {full_s / embedded_s:.2f})")


if __name__ == "__main__":
    main()
