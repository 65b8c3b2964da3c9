"""No real camera photo may receive a synthetic metadata finding of MEDIUM severity or more."""

from __future__ import annotations

import functools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from forensics.analyzers.base import Analyzer, Severity
from forensics.analyzers.registry import create
from forensics.media import load_media

_SEVERE = {Severity.MEDIUM, Severity.HIGH, Severity.DECISIVE}


@functools.cache
def _analyzer() -> Analyzer:
    return create("metadata")


def _severe_synthetic_findings(path: Path) -> tuple[str, str, str | None, list[str]]:
    """(name, status, reason, codes of the MEDIUM-or-worse synthetic findings) of one photo's metadata evidence."""
    evidence = _analyzer().run(load_media(path))
    codes = [f.code for f in evidence.findings if f.direction == "synthetic" and f.severity in _SEVERE]
    return path.name, evidence.status, evidence.reason, codes


@pytest.mark.slow
def test_no_photo_gets_a_synthetic_finding(photos_dir: Path) -> None:
    analyzer = _analyzer()
    assert analyzer.signal is False and analyzer.media_kinds == ("image", "video")
    paths = sorted(p for p in photos_dir.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")
    assert len(paths) >= 690
    # Every core: the watermark reader's searches cost about 0.3 s a photo. Spawned workers, since this process may
    # already hold torch's and OpenCV's thread pools, which do not survive a fork.
    with ProcessPoolExecutor(os.cpu_count(), mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_severe_synthetic_findings, paths, chunksize=8))
    assert len(results) == len(paths)
    assert [(name, reason) for name, status, reason, _ in results if status != "ok"] == []
    assert [(name, code) for name, _, _, codes in results for code in codes] == []
