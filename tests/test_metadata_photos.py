"""No real camera photo may receive a synthetic metadata finding of MEDIUM severity or more."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.analyzers.base import Severity
from forensics.analyzers.registry import create
from forensics.media import load_media

_SEVERE = {Severity.MEDIUM, Severity.HIGH, Severity.DECISIVE}


@pytest.mark.slow
def test_no_photo_gets_a_synthetic_finding(photos_dir: Path) -> None:
    analyzer = create("metadata")
    assert analyzer.signal is False and analyzer.media_kinds == ("image", "video")
    paths = sorted(p for p in photos_dir.rglob("*") if p.is_file() and p.suffix.lower() != ".csv")
    assert len(paths) >= 690
    flagged = []
    for path in paths:
        evidence = analyzer.run(load_media(path))
        assert evidence.status == "ok", (path, evidence.reason)
        flagged += [
            (path.name, f.code) for f in evidence.findings if f.direction == "synthetic" and f.severity in _SEVERE
        ]
    assert flagged == []
