"""Labelled image records: imagefolder datasets with a ``metadata.jsonl``, and plain folders of real photos.

A record's ``group`` is the SHA-256 of the source photo it derives from: every split
keeps a group on one side, so edits of one photo never straddle train and test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".heic", ".avif"}
SYNTHETIC_LABELS = {"1", "synthetic", "fake", "generated", "edited", "ai"}  # the generator writes "edited"
REAL_LABELS = {"0", "real", "authentic", "camera"}
#: ``kind`` of a local edit: a generator's output pasted into part of its photo (``generator.paste_back``).
PASTE_BACK = "paste-back"


@dataclass(frozen=True)
class Record:
    """One labelled file.

    Attributes:
        path: the image file.
        label: 1 synthetic (made or altered by a generative model), 0 real.
        group: SHA-256 of the source photo (its own SHA-256 for a real photo without one).
        info: the remaining metadata (strength, scheduler, model, vae, postprocess...).
    """

    path: Path
    label: int
    group: str
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def is_still(record: Record) -> bool:
    """Whether the record is a still image: post-processing chains (augmentations, evaluation conditions) apply to
    stills only. The video generator marks its clips ``media_kind: video``."""
    return record.info.get("media_kind", "image") == "image"


def is_local(record: Record) -> bool:
    """Whether the record is a local edit (:data:`PASTE_BACK`) rather than a whole picture."""
    return record.info.get("kind") == PASTE_BACK


def parse_label(value: object) -> int:
    """1 for a synthetic label, 0 for a real one; ``ValueError`` otherwise."""
    text = str(value).strip().lower()
    if text in SYNTHETIC_LABELS:
        return 1
    if text in REAL_LABELS:
        return 0
    raise ValueError(f"unknown label {value!r}")


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_dataset(root: str | Path) -> list[Record]:
    """Records of an imagefolder dataset: ``root/metadata.jsonl``, one JSON object per file.

    Each object needs ``file_name`` (relative to ``root``) and ``label``; ``source_sha256``
    (the source photo) is the group, falling back to the file's own hash.
    """
    root = Path(root)
    records = []
    with (root / "metadata.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            meta = json.loads(line)
            path = root / meta.pop("file_name")
            label = parse_label(meta.pop("label"))
            group = meta.get("source_sha256") or file_sha256(path)
            records.append(Record(path, label, group, meta))
    return records


def load_folder(root: str | Path, label: int = 0) -> list[Record]:
    """Every image under ``root`` (recursively) with one label; each file is its own group."""
    paths = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return [Record(p, label, file_sha256(p), {"collection": p.parent.name}) for p in paths]


def load_any(roots: Iterable[str | Path]) -> list[Record]:
    """Datasets (folders with ``metadata.jsonl``) and plain folders of real photos, concatenated."""
    records: list[Record] = []
    for root in roots:
        root = Path(root)
        records += load_dataset(root) if (root / "metadata.jsonl").exists() else load_folder(root)
    return records


def source_ids(records: Sequence[Record]) -> set[str]:
    """Short ids (16 hex digits) of the source photos ``records`` derive from: their groups, and each record's own
    ``source_sha256`` where a builder gathered several sources in one group (a photo's downscaled view joins its
    native crop's group). A dataset read back with :func:`load_dataset` groups such records by the latter, so both
    are needed to tell, later, which files a model trained on."""
    return {r.group[:16] for r in records} | {r.info["source_sha256"][:16] for r in records
                                             if r.info.get("source_sha256")}


def split_by_group(
    records: Sequence[Record], test_fraction: float = 0.25, seed: int = 0
) -> tuple[list[Record], list[Record]]:
    """Train and test records; all records of one source photo land on the same side.

    The test side is the ``round(n_groups * test_fraction)`` groups with the smallest hash of
    (``seed``, group): a random draw that depends on each group's own identity, so a dataset that
    grows keeps (nearly) every photo on the side it was on, and a cache filled early stays useful.
    """

    def rank(group: str) -> bytes:
        return hashlib.sha256(f"{seed}:{group}".encode()).digest()

    groups = sorted({r.group for r in records}, key=rank)
    test_groups = set(groups[: round(len(groups) * test_fraction)])
    train = [r for r in records if r.group not in test_groups]
    test = [r for r in records if r.group in test_groups]
    return train, test
