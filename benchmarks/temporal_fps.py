"""Speed of the temporal-flicker analyzer, and the measurements behind its score constants.

Speed (default): for each shared real clip, decode-only time (the baseline: PyAV decode of the same frames)
beside the full analysis, as analysed frames per second and as a ratio to decoding::

    OMP_NUM_THREADS=1 python benchmarks/temporal_fps.py [--max-frames 48] [--clips 6]

Calibration: the clip-level features and scores of the shared real clips and of every clip of one or more video
datasets written by ``forensics generate-video`` (real copies and stylized edits, labels from metadata.jsonl).
The constants of ``forensics/analyzers/temporal.py`` were set from this table; the datasets were made with::

    forensics generate-video CLIPS... --out DIR --max-frames 12 --long-side 128 --strengths 0.3,0.5 --cfg 7.5
    forensics generate-video CLIPS... --out DIR --max-frames 12 --long-side 128 --strengths 0.3 --cfg 1
    forensics generate-video CLIPS... --out DIR --max-frames 12 --long-side 128 --strengths 0.4 --noise per-frame

    OMP_NUM_THREADS=1 python benchmarks/temporal_fps.py --calibrate DIR [DIR...]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from forensics.analyzers.temporal import TemporalAnalyzer
from forensics.config import data_root
from forensics.media import load_media

FEATURES = ("flicker_fine", "flicker_mid", "flicker_coarse", "motion_px", "flicker_excess", "noise_corr_static",
            "noise_corr_warped", "reliable_fraction")


def real_clips() -> list[Path]:
    folder = data_root() / "videos"
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")


def speed(max_frames: int, n_clips: int) -> None:
    analyzer = TemporalAnalyzer(max_frames=max_frames, frame_analyzers=())
    clips = real_clips()
    # spread over sizes: every k-th clip of the sorted list
    chosen = clips[:: max(1, len(clips) // n_clips)][:n_clips]
    print(f"{'clip':34s} {'size':>10s} {'frames':>6s} {'decode fps':>10s} {'analysis fps':>12s} {'ratio':>6s}")
    total_frames = total_decode = total_analysis = 0.0
    for path in chosen:
        media = load_media(path)
        started = time.perf_counter()
        decoded = sum(1 for _ in media.frames(max_frames=max_frames))
        decode_s = time.perf_counter() - started
        evidence = analyzer.run(media)
        frames = evidence.details.get("frames_analyzed", decoded)
        total_frames += frames
        total_decode += decode_s
        total_analysis += evidence.elapsed_s
        print(f"{path.name[:34]:34s} {media.width:>4d}x{media.height:<5d} {frames:>6d} {decoded / decode_s:>10.1f} "
              f"{frames / evidence.elapsed_s:>12.1f} {evidence.elapsed_s / decode_s:>6.1f}x")
    print(f"{'all':34s} {'':>10s} {int(total_frames):>6d} {total_frames / total_decode:>10.1f} "
          f"{total_frames / total_analysis:>12.1f} {total_analysis / total_decode:>6.1f}x")
    print("ratio = analysis time / decode-only time of the same frames")


def calibrate(datasets: list[Path]) -> None:
    analyzer = TemporalAnalyzer(frame_analyzers=())
    rows: list[tuple[str, str, dict, float | None]] = []
    for path in real_clips():
        evidence = analyzer.run(load_media(path))
        rows.append(("source-real", path.name, evidence.features, evidence.score))
    seen: set[str] = set()  # the real copies of one source are the same file in every dataset
    for folder in datasets:
        for line in (folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record["sha256"] in seen:
                continue
            seen.add(record["sha256"])
            evidence = analyzer.run(load_media(folder / record["file_name"]))
            group = "real" if record["label"] == "real" else (
                f"edited s={record['strength']} cfg={record['guidance']} noise={record['noise']}")
            rows.append((group, Path(record["file_name"]).name, evidence.features, evidence.score))
    print(f"{'group':38s} {'clip':34s} " + " ".join(f"{f[:14]:>14s}" for f in FEATURES) + "  score")
    for group, name, features, score in sorted(rows, key=lambda r: r[0]):
        values = " ".join(f"{features.get(f, np.nan):>14.4f}" for f in FEATURES)
        print(f"{group:38s} {name[:34]:34s} {values}  {'-' if score is None else f'{score:.3f}'}")
    print("\nper group: min / max of log(flicker_coarse), flicker_excess (the scored statistic), score")
    for group in sorted({r[0] for r in rows}):
        members = [r for r in rows if r[0] == group and "flicker_excess" in r[2]]
        if not members:
            print(f"{group:38s} no clip with a score")
            continue
        coarse = np.log([r[2]["flicker_coarse"] for r in members])
        excess = np.array([r[2]["flicker_excess"] for r in members])
        scores = [r[3] for r in members]
        print(f"{group:38s} n={len(members):2d} coarse {coarse.min():6.2f} / {coarse.max():6.2f}   "
              f"excess {excess.min():6.2f} / {excess.max():6.2f}   score {min(scores):.3f} / {max(scores):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-frames", type=int, default=48)
    parser.add_argument("--clips", type=int, default=6, help="How many shared real clips to time.")
    parser.add_argument("--calibrate", nargs="+", type=Path, metavar="DATASET", help="Video datasets to tabulate.")
    args = parser.parse_args()
    if args.calibrate:
        calibrate(args.calibrate)
    else:
        speed(args.max_frames, args.clips)


if __name__ == "__main__":
    main()
