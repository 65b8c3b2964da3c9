"""The video model (``models/video``) on the clips its training held out, as generated and re-encoded as platforms do.

Each held-out clip (real re-encode or frame-by-frame stylization, from ``datasets/build_video.py``'s work folder) is
judged as it is, then decoded and re-encoded with H.264 at CRF 28 (a streaming platform's bitrate), and at half size
and CRF 28; both classes alike. The verdict is the shipped combiner's, through the temporal analyzer only, so metadata
cannot decide it. Last, for context, the video generators' outputs of ``shared/data/provenance`` (text- and
image-to-video models, not frame-by-frame stylization: outside what the model learned), pixels only.

    python datasets/build_video.py generate      # the clips, once
    python benchmarks/video_model.py [--work /tmp/forensics-video]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from transfer import generator_outputs  # the transfer benchmark's selection, not a copy of it

from forensics.analyzers import registry
from forensics.classifier import VIDEO_MODEL, load_combiner
from forensics.classifier.dataset import Record, load_dataset, split_by_group
from forensics.classifier.metrics import detection_metrics
from forensics.config import data_root
from forensics.media import load_media
from forensics.scan import Scanner
from generator.video import read_clip, write_h264

# (name, long side of the re-encode relative to the clip's, CRF); None: the file as it is.
CONDITIONS = (("as generated", None, None), ("H.264 CRF 28", 1.0, 28), ("half size + CRF 28", 0.5, 28))


def reencoded(record: Record, scale: float, crf: int, folder: Path) -> Path:
    """The record's clip decoded and re-encoded at ``scale`` times its long side (even, >= 32 px) and ``crf``."""
    media = load_media(record.path)
    long_side = max(32, int(max(media.width, media.height) * scale) // 8 * 8)
    clip = read_clip(record.path, max_frames=media.frame_count or 48, long_side=long_side)
    target = folder / f"{record.path.stem}-{long_side}-crf{crf}.mp4"
    write_h264(clip.frames, target, clip.fps, crf)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/forensics-video"))
    parser.add_argument("--model", type=Path, default=VIDEO_MODEL)
    args = parser.parse_args()
    combiner = load_combiner(args.model)
    split = combiner.bundle.recipe["split"]
    _, test = split_by_group(load_dataset(args.work / "dataset"), split["test_fraction"], split["seed"])
    scanner = Scanner([registry.create("temporal")], combiner)
    print(f"model {args.model} (version {combiner.bundle.version}); {len(test)} held-out clips from "
          f"{len({r.group for r in test})} sources")
    with tempfile.TemporaryDirectory() as tmp:
        for name, scale, crf in CONDITIONS:
            y, p, rule = [], [], 0
            for record in test:
                path = record.path if scale is None else reencoded(record, scale, crf, Path(tmp))
                verdict = scanner.scan(path).verdict
                if verdict.model != combiner.name:  # too few frames: the rule judged it
                    rule += 1
                    continue
                y.append(record.label)
                p.append(verdict.p_synthetic)
            m = detection_metrics(np.array(y), np.array(p))
            print(f"{name:20s} n {m['n']:3d} ({m['n_synthetic']} stylized)  AUC {m['auc']:.3f}  real recall "
                  f"{m['real_recall']:.3f}  synthetic recall {m['synthetic_recall']:.3f}  ECE {m['ece']:.3f}  "
                  f"not judged {rule}")
    print("video generators' outputs (provenance: metadata names the generator), pixels only:")
    for path in generator_outputs():
        media = load_media(path)
        if media.kind == "video":
            verdict = scanner.analyse(media)[1]
            print(f"  {verdict.label:21s} {verdict.p_synthetic:.3f}  {path.relative_to(data_root())}")


if __name__ == "__main__":
    main()
