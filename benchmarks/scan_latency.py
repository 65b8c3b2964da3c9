"""Wall time of ``forensics scan`` as a person or a script runs it: the default analyzers against ``-a all``.

Runs the real command as a subprocess, side by side on the same files: once per file (a fresh process each time, as
``for f in *.jpg; do forensics scan "$f"; done`` would) and once for all the files in one process (start-up and
model loading paid once). ``all`` adds the reconstruction analyzer, the one no shipped model reads; the verdicts of
both runs are compared, since they must not differ.

    python benchmarks/scan_latency.py              # 8 shared photos, about 3 min on 2 cores
    python benchmarks/scan_latency.py --files 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from forensics.config import data_root

SCAN = [sys.executable, "-c", "from forensics.cli import main; main()", "scan", "--json"]


def photos(n: int) -> list[Path]:
    """``n`` shared photos, spread over the collections (every k-th file of the sorted list)."""
    found = sorted(p for p in (data_root() / "photos").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return found[:: max(1, len(found) // n)][:n]


def scan(files: list[Path], analyzers: list[str]) -> tuple[float, dict[str, float]]:
    """Seconds of one ``forensics scan`` process over ``files``, and each file's p(synthetic)."""
    started = time.perf_counter()
    done = subprocess.run([*SCAN, *analyzers, *map(str, files)], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1, 2):
        raise RuntimeError(done.stderr[-2000:])
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    return elapsed, {r["file"]["path"]: r["verdict"]["p_synthetic"] for r in reports}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    files = photos(args.files)
    runs = {"default": [], "all": ["-a", "all"]}
    print(f"{len(files)} shared photos, forensics scan --json")
    times: dict[str, dict[str, float]] = {}
    verdicts: dict[str, dict[str, float]] = {}
    for label, analyzers in runs.items():
        per_file = [scan([f], analyzers) for f in files]
        batch_s, verdicts[label] = scan(files, analyzers)
        times[label] = {"per_file": sum(t for t, _ in per_file) / len(files), "batch": batch_s / len(files)}
        print(f"  {label:8s} one process per file: {times[label]['per_file']:5.1f} s a file; "
              f"one process for all: {times[label]['batch']:5.1f} s a file")
    for mode in ("per_file", "batch"):
        print(f"  ratio all / default, {mode.replace('_', ' ')}: {times['all'][mode] / times['default'][mode]:.2f}")
    same = all(abs(verdicts["all"][k] - verdicts["default"][k]) < 1e-12 for k in verdicts["default"])
    print(f"  p(synthetic) identical in both: {same}")


if __name__ == "__main__":
    main()
