"""Feature extraction with a persistent cache, so retraining is cheap.

Features are stored in SQLite keyed by (file SHA-256, analyzer, analyzer version): a new
analyzer version recomputes only its own features. Post-processed variants of a file are
keyed by the hash of the processed bytes, and the (source file, variant) -> hash map is
cached too, so a second run decodes nothing. A variant is keyed by its chain (``"resize0.5+jpeg75"``),
not its name or augmentation index, so changing a condition or how augmentations are drawn recomputes
exactly the chains that changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from forensics.analyzers import registry
from forensics.analyzers.base import Analyzer, Evidence
from forensics.classifier import postprocess
from forensics.classifier.features import flatten
from forensics.classifier.history import resave_like
from forensics.media import MediaError, load_media, media_from_bytes

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS features (
    sha256 TEXT NOT NULL, analyzer TEXT NOT NULL, version TEXT NOT NULL,
    status TEXT NOT NULL, features TEXT NOT NULL, elapsed_s REAL,
    PRIMARY KEY (sha256, analyzer, version));
CREATE TABLE IF NOT EXISTS variants (
    source TEXT NOT NULL, variant TEXT NOT NULL, sha256 TEXT NOT NULL, description TEXT,
    PRIMARY KEY (source, variant));
"""


def default_cache_path() -> Path:
    """``$FORENSICS_CACHE`` or ``~/.cache/forensics/features.sqlite``."""
    return Path(os.environ.get("FORENSICS_CACHE", Path.home() / ".cache" / "forensics" / "features.sqlite"))


class FeatureCache:
    """SQLite store of analyzer features per file hash and analyzer version (thread-unsafe; one per process)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def get(self, sha256: str, analyzer: str, version: str) -> dict[str, float] | None:
        """Cached features of one analyzer on one file, or ``None`` if never computed."""
        row = self._db.execute(
            "SELECT features FROM features WHERE sha256=? AND analyzer=? AND version=?", (sha256, analyzer, version)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, sha256: str, evidence: Evidence) -> None:
        """Store an evidence's features; errors are not cached (they may be transient)."""
        if evidence.status == "error":
            return
        self._db.execute(
            "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?, ?)",
            (sha256, evidence.analyzer, evidence.version, evidence.status, json.dumps(evidence.features),
             evidence.elapsed_s),
        )

    def variant(self, source: str, chain: str) -> str | None:
        """SHA-256 of the file ``source`` (a hash) after the post-processing ``chain``, if cached."""
        row = self._db.execute("SELECT sha256 FROM variants WHERE source=? AND variant=?", (source, chain)).fetchone()
        return None if row is None else row[0]

    def put_variant(self, source: str, chain: str, sha256: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO variants VALUES (?, ?, ?, ?)", (source, chain, sha256, chain))

    def commit(self) -> None:
        self._db.commit()

    def close(self) -> None:
        self._db.commit()
        self._db.close()


@dataclass(frozen=True)
class Sample:
    """One file to featurize: ``path`` as stored, or after a post-processing ``variant``.

    ``variant`` is ``""`` (the file itself), a name of :data:`postprocess.CONDITIONS`, a chain of its grammar, or
    ``"aug<k>"``: the k-th random augmentation chain, seeded by the file's hash so it is reproducible.
    ``history`` (JSON of a :mod:`~forensics.classifier.history` JPEG history, or ``""``): the file is first re-saved
    with those tables, as its source photo was, then the variant's chain is applied.
    """

    path: Path
    variant: str = ""
    history: str = ""


@dataclass
class SampleFeatures:
    """Flattened signal features of a sample, the hash of the bytes analysed and the variant's description."""

    features: dict[str, float]
    sha256: str
    description: str


def _variant_chain(source_sha: str, variant: str) -> str:
    """Post-processing chain of a variant: a condition's, the k-th augmentation chain seeded by the file's hash,
    or the variant itself when it is a chain of the grammar (``"webp80"``)."""
    if variant in postprocess.CONDITIONS:
        return postprocess.CONDITIONS[variant]
    if variant.startswith("aug") and variant[3:].isdigit():
        return postprocess.random_chain(np.random.default_rng(int(source_sha[:12], 16) + int(variant[3:])))
    postprocess.parse_chain(variant)  # raises for anything else
    return variant


def _processed(data: bytes, history: str, chain: str) -> bytes:
    """File bytes after a JPEG history (``""``: none) and then a post-processing chain (``""``: none)."""
    if history:
        data = resave_like(media_from_bytes(data).image, json.loads(history))
    return postprocess.apply_chain(chain, media_from_bytes(data).image) if chain else data


class FeatureExtractor:
    """Runs signal analyzers on samples, reading and filling a :class:`FeatureCache`."""

    def __init__(self, analyzers: Sequence[Analyzer], cache: FeatureCache) -> None:
        self.analyzers = list(analyzers)
        self.cache = cache

    def __call__(self, sample: Sample) -> SampleFeatures:
        description, chain = "original", ""
        processed = bool(sample.variant or sample.history)
        if processed:
            data = sample.path.read_bytes()
            source_sha = hashlib.sha256(data).hexdigest()
            chain = _variant_chain(source_sha, sample.variant) if sample.variant else ""
            description = "+".join(step for step in ("history" if sample.history else "", chain) if step)
            sha = self.cache.variant(source_sha, description)
            if sha is None:
                data = _processed(data, sample.history, chain)
                sha = hashlib.sha256(data).hexdigest()
                self.cache.put_variant(source_sha, description, sha)
            else:
                data = None
        else:
            data = sample.path.read_bytes()
            sha = hashlib.sha256(data).hexdigest()
        evidence: list[Evidence] = []
        media = None
        for analyzer in self.analyzers:
            cached = self.cache.get(sha, analyzer.name, analyzer.version)
            if cached is not None:
                evidence.append(analyzer.new_evidence(features=cached))
                continue
            if media is None:
                if data is None:  # variant hash was cached but its features are not: rebuild its bytes
                    data = _processed(sample.path.read_bytes(), sample.history, chain)
                try:
                    media = media_from_bytes(data) if processed else load_media(sample.path)
                except MediaError as exc:
                    log.warning("%s: %s", sample.path, exc.message)
                    break
            ev = analyzer.run(media)
            if ev.status == "error":
                log.warning("%s [%s] %s: %s", sample.path, sample.variant, analyzer.name, ev.reason)
            self.cache.put(sha, ev)
            evidence.append(ev)
        return SampleFeatures(flatten(evidence), sha, description)


_worker: FeatureExtractor | None = None


def _init_worker(analyzer_names: list[str], cache_path: str) -> None:
    global _worker
    _worker = FeatureExtractor(registry.create_all(analyzer_names), FeatureCache(cache_path))


def _work(sample: Sample) -> SampleFeatures:
    assert _worker is not None
    result = _worker(sample)
    _worker.cache.commit()
    return result


def extract(
    samples: Sequence[Sample], analyzer_names: Sequence[str], cache_path: str | Path, jobs: int = 1
) -> Iterator[SampleFeatures]:
    """Features of every sample, in order; ``jobs`` > 1 runs that many worker processes.

    Progress is logged every 50 samples with the rate, so long runs can be followed in a log.
    """
    start = time.perf_counter()
    if jobs <= 1:
        _init_worker(list(analyzer_names), str(cache_path))
        results: Iterator[SampleFeatures] = map(_work, samples)
        pool = None
    else:
        pool = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(list(analyzer_names), str(cache_path)))
        results = pool.map(_work, samples, chunksize=4)
    try:
        for i, result in enumerate(results, 1):
            if i % 50 == 0 or i == len(samples):
                rate = i / (time.perf_counter() - start)
                log.info("features %d/%d (%.2f files/s)", i, len(samples), rate)
            yield result
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
