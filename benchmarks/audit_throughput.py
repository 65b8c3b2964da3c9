"""Throughput, parallel efficiency, peak memory and resume time of ``forensics audit``.

Builds a folder of ``--files`` distinct photos from the shared photos (all of ``photos/``
except the EXIF-only ``exif_small/``; when more files are asked than exist, mirrored JPEG
re-encodings of the photos make up the count, so deduplication does not shrink the job),
then runs the real command as a subprocess:

1. with 1 worker and with every worker count of ``--workers`` (default: 1 and every core),
   printing files per second, the speed-up over 1 worker and the parallel efficiency
   (speed-up / workers), and the peak resident memory of the driver and of one worker;
2. with the most workers, killed with SIGKILL once half the files are done, then resumed:
   the resumed run's wall time, the files it analysed, and the wall time of a re-run with
   nothing left to do (walk with cached hashes, ledger, outputs, manifest: the fixed cost).

Rates come from the audit's own run record (files analysed / run time, worker start-up
included); wall times are measured here around the subprocess.

    OMP_NUM_THREADS=1 python benchmarks/audit_throughput.py                          # default analyzers
    OMP_NUM_THREADS=1 python benchmarks/audit_throughput.py --analyzers metadata     # fast
    OMP_NUM_THREADS=1 python benchmarks/audit_throughput.py --files 100 --no-resume --against all  # vs every analyzer
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

from forensics.config import data_root

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff"}
AUDIT = [sys.executable, "-c", "from forensics.cli import main; main()", "audit"]


def build_folder(folder: Path, n: int) -> str:
    """Fill ``folder`` with ``n`` distinct photo files; return a one-line description of the mix."""
    photos = sorted(p for p in (data_root() / "photos").rglob("*")
                    if p.suffix.lower() in PHOTO_SUFFIXES and "exif_small" not in p.parts)
    folder.mkdir(parents=True)
    for i, src in enumerate(photos[:n]):
        shutil.copy(src, folder / f"{i:05d}_{src.name}")
    extra = max(0, n - len(photos))
    for i in range(extra):
        src = photos[i % len(photos)]
        with Image.open(src) as im:
            ImageOps.mirror(ImageOps.exif_transpose(im).convert("RGB")).save(
                folder / f"{len(photos) + i:05d}_mirror_{src.stem}.jpg", quality=92)
    return f"{min(n, len(photos))} shared photos + {extra} mirrored re-encodings"


def run_audit(folder: Path, out: Path, workers: int, analyzers: list[str]) -> tuple[float, dict]:
    """Run one audit to completion; return (wall seconds, the audit's record of this run)."""
    args = [str(folder), "--out", str(out), "-j", str(workers)] + (["-a", ",".join(analyzers)] if analyzers else [])
    start = time.perf_counter()
    subprocess.run([*AUDIT, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, json.loads((out / "audit.json").read_text())["runs"][-1]


def _done(ledger: Path) -> int:
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM items WHERE state != 'pending'").fetchone()[0]
    except sqlite3.Error:
        return 0


def kill_midway(folder: Path, out: Path, workers: int, analyzers: list[str], at: int) -> int:
    """Start an audit, SIGKILL it (driver and workers) once ``at`` files are done; return the files done."""
    args = [str(folder), "--out", str(out), "-j", str(workers)] + (["-a", ",".join(analyzers)] if analyzers else [])
    proc = subprocess.Popen([*AUDIT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    while _done(out / "ledger.sqlite") < at and proc.poll() is None:
        time.sleep(0.1)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return _done(out / "ledger.sqlite")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="distinct files to audit (default 1000)")
    parser.add_argument("--analyzers", default="", help="comma-separated analyzers (default: the default set)")
    parser.add_argument("--workers", default=f"1,{os.cpu_count()}", help="worker counts to compare (default 1,cores)")
    parser.add_argument("--no-resume", action="store_true", help="skip the kill-and-resume measurement")
    parser.add_argument("--against", metavar="ANALYZERS",
                        help="also audit with these analyzers ('all': every registered one) at the most workers, side "
                             "by side, and print the chosen set's speed-up over them")
    parser.add_argument("--workdir", type=Path, help="keep the evidence and audit folders here")
    args = parser.parse_args()
    analyzers = [a for a in args.analyzers.split(",") if a]
    counts = sorted({int(w) for w in args.workers.split(",")})
    work = args.workdir or Path(tempfile.mkdtemp(prefix="audit-bench-"))
    folder = work / "evidence"
    mix = build_folder(folder, args.files)
    print(f"{args.files} files ({mix}); analyzers: {','.join(analyzers) or 'default set'}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")

    print(f"{'workers':>7} {'files/s':>8} {'speed-up':>8} {'efficiency':>10} {'wall s':>7} "
          f"{'driver MiB':>10} {'worker MiB':>10}")
    base_rate = None
    for w in counts:
        wall, run = run_audit(folder, work / f"audit-j{w}", w, analyzers)
        rate = run["analysed"] / run["elapsed_s"]
        base_rate = base_rate or rate
        speedup = rate / base_rate
        print(f"{w:>7} {rate:>8.3g} {speedup:>8.2f} {speedup / w:>10.2f} {wall:>7.1f} "
              f"{run['driver_peak_rss_mb']:>10.0f} {run['worker_peak_rss_mb']:>10.0f}")

    if args.against:
        wall, run = run_audit(folder, work / "audit-against", counts[-1], args.against.split(","))
        against = run["analysed"] / run["elapsed_s"]
        print(f"against -a {args.against}: {against:.3g} files/s with {counts[-1]} workers ({wall:.1f} s wall); "
              f"the chosen set is {rate / against:.2f}x as fast")
    if args.no_resume:
        return
    w, out = counts[-1], work / "audit-resume"
    done = kill_midway(folder, out, w, analyzers, at=args.files // 2)
    wall, run = run_audit(folder, out, w, analyzers)
    idle_wall, idle = run_audit(folder, out, w, analyzers)
    with sqlite3.connect(out / "ledger.sqlite") as db:
        total = db.execute("SELECT COUNT(*) FROM items WHERE state != 'pending'").fetchone()[0]
    print(f"resume with {w} workers after SIGKILL at {done}/{args.files} files done: re-run {wall:.1f} s wall, "
          f"analysed {run['analysed']} files ({done} + {run['analysed']} = {total} recorded, "
          f"{'every file once' if done + run['analysed'] == total == args.files else 'MISMATCH'}); "
          f"re-run with nothing left: {idle_wall:.1f} s wall ({idle['analysed']} analysed)")
    if not args.workdir:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
