"""Pictures that are not photographs: does the default classifier read a decoder's trace, or a camera's absence?

Every photo that ``benchmarks/transfer.py`` counts as unseen (the camera photos ``datasets/default.json`` holds out
and ``exif_small``) is centre-cropped as the recipe crops (384 px), then turned into a picture no camera took and no
generator made: OpenCV's edge-preserving stylization (a painting), its colour pencil sketch (line art) and a
posterization (4 levels a channel, flat graphics; the pixel analyzers decline any picture of at most 256 colours, so
the scan's rule calls it uncertain: counted here as not judged). Each picture is scored as it is (real: no generator
touched it) and after a TAESD or TAESDXL round trip (synthetic: a latent-diffusion decoder drew it), both saved as PNG.
The photos' own crops are the control.

The training data holds photographs only. If the verdict rested on a decoder's trace, the round trips would be told
from their sources whatever the content; where it rests on the camera's noise and grid being present, pictures
without them are called synthetic with or without a decoder.

    python benchmarks/non_photographic.py                 # the default model
    python benchmarks/non_photographic.py --model models/mine --limit 20
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from forensics.analyzers import registry
from forensics.autoencoders import load_reconstructor
from forensics.classifier import load_combiner, postprocess
from forensics.classifier.metrics import roc_auc
from forensics.config import PROJECT_ROOT
from forensics.media import MediaError, load_media, media_from_bytes
from forensics.scan import Scanner
from forensics.verdict import Verdict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transfer import tally, unseen_photos  # the transfer benchmark's own photos and tally, not copies

CROP = 384  # datasets/default.json's crop side
AUTOENCODERS = ("taesd", "taesdxl")  # alternated over the photos
STYLES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "photo (control)": lambda rgb: rgb,
    "stylization (painting)": lambda rgb: cv2.stylization(rgb, sigma_s=60, sigma_r=0.45),
    "colour pencil sketch (line art)": lambda rgb: cv2.pencilSketch(rgb, sigma_s=60, sigma_r=0.07,
                                                                    shade_factor=0.05)[1],
    "posterized (flat graphics)": lambda rgb: (rgb // 64 * 64 + 32).astype(np.uint8),
}


def centre_crops(paths: list[Path], limit: int | None) -> list[np.ndarray]:
    """RGB centre crops of CROP px (uint8, CROP x CROP x 3) of the photos at least that large, upright."""
    crops = []
    for path in paths:
        try:
            rgb = load_media(path).image
        except MediaError:
            continue
        height, width = rgb.shape[:2]
        if rgb.ndim != 3 or min(height, width) < CROP:
            continue
        top, left = (height - CROP) // 2, (width - CROP) // 2
        crops.append(np.ascontiguousarray(rgb[top:top + CROP, left:left + CROP, :3]))
    return crops[:limit]


def judged(scanner: Scanner, pictures: list[np.ndarray]) -> list[Verdict | None]:
    """The model's verdict on each picture saved as PNG; ``None`` where the scan leaves it to the rule combiner."""
    verdicts = [scanner.analyse(media_from_bytes(postprocess.apply_chain("none", p)))[1] for p in pictures]
    return [v if v.model == scanner.combiner.name else None for v in verdicts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "default")
    parser.add_argument("--limit", type=int, help="at most this many photos")
    args = parser.parse_args()
    combiner = load_combiner(args.model)
    scanner = Scanner([registry.create(name) for name in combiner.bundle.schema.analyzers], combiner)
    autoencoders = [load_reconstructor(name) for name in AUTOENCODERS]
    crops = centre_crops(unseen_photos(), args.limit)
    print(f"model {args.model}; {len(crops)} unseen photos, {CROP} px centre crops; round trips alternate "
          f"{' and '.join(AUTOENCODERS)}; right / uncertain / wrong by the verdict's label")
    for style, make in STYLES.items():
        pictures = [np.ascontiguousarray(make(crop)) for crop in crops]
        round_trips = [autoencoders[i % len(autoencoders)].roundtrip(p) for i, p in enumerate(pictures)]
        real, decoded = judged(scanner, pictures), judged(scanner, round_trips)
        y = np.array([0] * len(real) + [1] * len(decoded))
        p = np.array([np.nan if v is None else v.p_synthetic for v in real + decoded])
        auc = roc_auc(y[np.isfinite(p)], p[np.isfinite(p)]) if np.isfinite(p).sum() > 1 else np.nan
        print(f"-- {style}: ROC AUC, round trips vs their sources {auc:.3f}")
        print(tally("  pictures as they are (real)", real, positive=False))
        print(tally("  their round trips (synthetic)", decoded, positive=True))


if __name__ == "__main__":
    main()
