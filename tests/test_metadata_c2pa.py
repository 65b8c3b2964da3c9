"""C2PA validation states of real c2pa-rs / c2pa-python / c2pa-js fixtures, read offline."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from forensics.analyzers.base import Severity
from forensics.analyzers.metadata import MetadataAnalyzer
from forensics.analyzers.metadata.c2pa_reader import read_c2pa
from forensics.media import load_media, media_from_bytes


def _c2pa(path: Path) -> tuple[dict, dict[str, tuple[Severity, str]]]:
    readout = read_c2pa(load_media(path))
    return readout.details.get("c2pa", {}), {f.code: (f.severity, f.direction) for f in readout.findings}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("sdk_tests_fixtures_E-sig-CA.jpg", "signature does not match"),
        ("sdk_tests_fixtures_XCA.jpg", "bytes changed after it was signed"),
        ("sdk_tests_fixtures_adobe-20220124-E-clm-CAICAI.jpg", "statement inside the credentials was altered"),
    ],
)
def test_tampered_manifests_are_high(provenance_dir: Path, name: str, reason: str) -> None:
    c2pa, findings = _c2pa(provenance_dir / "c2pa-rs" / name)
    assert c2pa["status"] == "tampered" and c2pa["validation_state"] == "Invalid"
    assert any(reason in r for r in c2pa["reasons"])
    assert findings["c2pa_tampered"] == (Severity.HIGH, "neutral")
    assert "c2pa_declares_ai" not in findings


@pytest.mark.parametrize(
    ("name", "source_type"),
    [
        ("c2pa-rs/sdk_tests_fixtures_C.jpg", "algorithmicMedia"),
        ("c2pa-python/tests_fixtures_C.jpg", "algorithmicMedia"),
        ("c2pa-python/tests_fixtures_C.dng", "algorithmicMedia"),
        ("c2pa-rs/sdk_tests_fixtures_ocsp.jpg", "compositeWithTrainedAlgorithmicMedia"),
    ],
)
def test_valid_manifest_declaring_ai_is_decisive(provenance_dir: Path, name: str, source_type: str) -> None:
    c2pa, findings = _c2pa(provenance_dir / name)
    assert c2pa["status"] == "valid_untrusted"  # offline, no trust list: intact but untrusted
    assert source_type in c2pa["active_manifest"]["digital_source_types"]
    assert findings["c2pa_declares_ai"] == (Severity.DECISIVE, "synthetic")


def test_capture_declaration_points_to_authentic(provenance_dir: Path) -> None:
    c2pa, findings = _c2pa(provenance_dir / "c2pa-rs" / "cli_tests_fixtures_C_with_CAWG_data.jpg")
    assert c2pa["active_manifest"]["digital_source_types"] == ["digitalCapture"]
    severity, direction = findings["c2pa_declares_capture"]
    assert direction == "authentic" and severity is not Severity.DECISIVE


def test_ingredient_failure_and_offline_identity(provenance_dir: Path) -> None:
    c2pa, findings = _c2pa(provenance_dir / "c2pa-python" / "tests_fixtures_files-for-reading-tests_CIE-sig-CA.jpg")
    assert c2pa["status"] == "ingredient_invalid" and "c2pa_ingredient_invalid" in findings
    assert findings["c2pa_declares_ai"][0] is Severity.HIGH  # not decisive while part of the chain is broken
    c2pa, _ = _c2pa(
        provenance_dir / "c2pa-rs" / "sdk_src_identity_tests_fixtures_claim_aggregation_ims_multiple_manifests.jpg"
    )
    assert c2pa["status"] == "valid_untrusted" and any("offline" in r for r in c2pa["reasons"])
    assert "algorithmicMedia" in c2pa["ingredient_source_types"]


def test_remote_unreadable_and_absent(provenance_dir: Path) -> None:
    remote, findings = _c2pa(
        provenance_dir / "c2pa-js" / "packages_c2pa-web_test_assets_PirateShip_save_credentials_to_cloud.jpg"
    )
    assert remote["status"] == "remote_not_fetched" and "c2pa_remote" in findings
    unreadable, _ = _c2pa(provenance_dir / "c2pa-rs" / "sdk_tests_fixtures_no_alg.jpg")
    assert unreadable["status"] == "unreadable"
    assert _c2pa(provenance_dir / "c2pa-rs" / "sdk_tests_fixtures_no_manifest.jpg") == ({}, {})


def test_c2pa_marker_bytes_in_unsupported_format(photos_dir: Path) -> None:
    buf = io.BytesIO()
    Image.open(photos_dir / "kodak" / "kodak_kodim02.png").save(buf, "BMP")
    readout = read_c2pa(media_from_bytes(buf.getvalue() + b"c2pa jumb"))  # pre-check matches, c2pa cannot read BMP
    assert readout.details == {} and readout.findings == []


@pytest.mark.parametrize("name", ["sdk_tests_fixtures_legacy.mp4", "sdk_tests_fixtures_video1.mp4"])
def test_video_manifests(provenance_dir: Path, name: str) -> None:
    media = load_media(provenance_dir / "c2pa-rs" / name)
    evidence = MetadataAnalyzer().run(media)
    assert media.kind == "video" and evidence.status == "ok"
    c2pa = evidence.details["c2pa"]
    assert c2pa["status"] == "valid_untrusted" and c2pa["manifest_count"] == 2
    assert c2pa["active_manifest"]["ingredients"]
