"""Shared fixtures: the real media in ``../shared/data`` (``$FORENSICS_DATA``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.config import data_root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not (root / "photos" / "manifest.csv").is_file():
        pytest.skip(f"shared test data not found at {root} (set FORENSICS_DATA)")
    return root


@pytest.fixture(scope="session")
def photos_dir(data_dir: Path) -> Path:
    return data_dir / "photos"


@pytest.fixture(scope="session")
def videos_dir(data_dir: Path) -> Path:
    return data_dir / "videos"


@pytest.fixture(scope="session")
def provenance_dir(data_dir: Path) -> Path:
    return data_dir / "provenance"


@pytest.fixture(scope="session")
def camera_jpeg(photos_dir: Path) -> Path:
    """A real camera JPEG with full EXIF and an embedded thumbnail."""
    return photos_dir / "exif-samples" / "jpg_Canon_PowerShot_S40.jpg"


@pytest.fixture(scope="session")
def taesd():
    """The real TAESD autoencoder as a round-trip reconstructor; skips when its weights are absent."""
    from forensics.autoencoders import AutoencoderNotFound, load_reconstructor

    try:
        return load_reconstructor("taesd")
    except AutoencoderNotFound as exc:
        pytest.skip(str(exc))
