"""Precision and recall of each metadata reader on the shared provenance set and the real photos.

Ground truth is the ``metadata`` column of each folder's ``manifest.csv`` (written by an
independent scan when the data set was assembled):

* C2PA: ``C2PA(JUMBF)`` (a manifest store is embedded) -> the reader reads a manifest store.
* generation parameters: ``A1111_*``, ``comfy_*``, ``Dream``, ``sd-metadata``, ``invokeai_*``,
  ``fooocus``, NovelAI's ``Software`` chunk, or (no tag exists for it) a file named ``*stealth*``.
* watermark: ``WM:...`` -> verdict ``present``.
* digital source type: ``IPTC_DST=<AI type>`` -> an AI source type read from XMP or C2PA.

Speed is printed as the time of each reader relative to decoding the file (the baseline every
analyzer pays), measured side by side on the same files.

    python benchmarks/metadata_readers.py
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from forensics.analyzers.metadata.c2pa_reader import AI_SOURCE_TYPES, read_c2pa
from forensics.analyzers.metadata.exif import read_exif
from forensics.analyzers.metadata.generation_params import read_generation
from forensics.analyzers.metadata.jpeg_structure import read_jpeg
from forensics.analyzers.metadata.readout import Readout
from forensics.analyzers.metadata.watermark import read_watermark
from forensics.analyzers.metadata.xmp import read_xmp
from forensics.config import data_root
from forensics.media import Media, load_media

_GENERATION_TAGS = ("A1111_", "comfy_", "Dream", "sd-metadata", "invokeai_", "fooocus")
_READERS: dict[str, Callable[[Media], Readout]] = {
    "c2pa": read_c2pa,
    "generation": read_generation,
    "xmp": read_xmp,
    "exif": read_exif,
    "jpeg": read_jpeg,
    "watermark": lambda m: read_watermark(m.image) if m.kind == "image" else Readout(),
}


def _rows() -> list[tuple[Path, str, str]]:
    root = data_root()
    rows = []
    for manifest in (root / "provenance" / "manifest.csv", root / "provenance" / "watermarked" / "manifest.csv",
                     root / "photos" / "manifest.csv"):  # fmt: skip
        with manifest.open(newline="") as fh:
            rows += [(manifest.parent / r["file"], r["metadata"], manifest.parent.name) for r in csv.DictReader(fh)]
    return rows


def _truth(path: Path, metadata: str) -> dict[str, bool]:
    return {
        "c2pa": "C2PA(JUMBF)" in metadata,
        "generation": any(t in metadata for t in _GENERATION_TAGS)
        or ("Software" in metadata and "StableDiffusion" in metadata)
        or "stealth" in path.name,
        "watermark": "WM:" in metadata,
        "source_type": any(f"{t}" in metadata.split("IPTC_DST=")[-1].split(";")[0] for t in AI_SOURCE_TYPES)
        if "IPTC_DST=" in metadata
        else False,
    }


def _predicted(out: dict[str, Readout]) -> dict[str, bool]:
    c2pa = out["c2pa"].details.get("c2pa", {})
    declared = set(out["xmp"].details.get("xmp", {}).get("digital_source_type", []))
    declared |= set(c2pa.get("active_manifest", {}).get("digital_source_types", []))
    declared |= set(c2pa.get("ingredient_source_types", []))
    return {
        "c2pa": c2pa.get("status") not in (None, "remote_not_fetched"),
        "generation": "generation" in out["generation"].details,
        "watermark": out["watermark"].details.get("watermark", {}).get("verdict") == "present",
        "source_type": bool(declared & AI_SOURCE_TYPES),
    }


def main() -> None:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors: dict[str, list[str]] = defaultdict(list)
    timing: dict[str, float] = defaultdict(float)
    photo_corr: list[float] = []
    rows = _rows()
    for path, metadata, folder in rows:
        start = time.perf_counter()
        media = load_media(path)
        media.image  # noqa: B018 - decoding is the baseline cost
        timing["decode (baseline)"] += time.perf_counter() - start
        out = {}
        for name, reader in _READERS.items():
            start = time.perf_counter()
            out[name] = reader(media)
            timing[name] += time.perf_counter() - start
        if folder == "photos" and "watermark_correlation" in out["watermark"].features:
            photo_corr.append(out["watermark"].features["watermark_correlation"])
        truth, predicted = _truth(path, metadata), _predicted(out)
        for key in truth:
            cell = ("t" if truth[key] == predicted[key] else "f") + ("p" if predicted[key] else "n")
            counts[key][cell] += 1
            if cell in ("fp", "fn"):
                errors[key].append(f"{cell.upper()} {path.relative_to(data_root())}")
    print(f"{len(rows)} files ({sum(1 for r in rows if r[2] == 'photos')} real photos)\n")
    print(f"{'reader':<14}{'TP':>5}{'FP':>5}{'FN':>5}{'TN':>6}{'precision':>11}{'recall':>8}")
    for key, c in counts.items():
        precision = c["tp"] / max(1, c["tp"] + c["fp"])
        recall = c["tp"] / max(1, c["tp"] + c["fn"])
        print(f"{key:<14}{c['tp']:>5}{c['fp']:>5}{c['fn']:>5}{c['tn']:>6}{precision:>11.3f}{recall:>8.3f}")
    for key, items in errors.items():
        for item in items[:10]:
            print(f"  {key}: {item}")
    if photo_corr:
        print(f"\nwatermark correlation on real photos: max {max(photo_corr):.3f}, "
              f"mean {sum(photo_corr) / len(photo_corr):.3f} over {len(photo_corr)} photos")  # fmt: skip
    base = timing["decode (baseline)"]
    print(f"\ntime per file, relative to decoding ({1000 * base / len(rows):.1f} ms/file):")
    for name, seconds in timing.items():
        print(f"  {name:<18} {seconds / base:6.2f}x  ({1000 * seconds / len(rows):.1f} ms/file)")


if __name__ == "__main__":
    main()
