"""``forensics scan`` end to end on real files: text, JSON (validated against its schema), HTML, exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from forensics.analyzers import registry
from forensics.analyzers.base import Analyzer, AnalyzerUnavailable, Evidence, Finding, Severity
from forensics.media import Media
from forensics.report.serialize import report_to_dict, schema
from forensics.scan import Scanner
from forensics.verdict import RuleCombiner

A1111_PNG = "a1111-forge/html_card-no-preview.png"
SHORT_CLIP = "imageio/images_realshort.mp4"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script's code path, as a user would."""
    code = "from forensics.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def scanned(camera_jpeg: Path, provenance_dir: Path, videos_dir: Path) -> dict[str, dict]:
    """JSON reports of a camera photo, an AUTOMATIC1111 PNG and a video, scanned in one call."""
    paths = [camera_jpeg, provenance_dir / A1111_PNG, videos_dir / SHORT_CLIP]
    result = run_cli("scan", "--json", *map(str, paths))
    assert result.returncode in (0, 1, 2), result.stderr
    docs = json.loads(result.stdout)
    return {Path(d["file"]["path"]).name: d for d in docs}


def test_json_reports_follow_the_schema(scanned: dict[str, dict]) -> None:
    for doc in scanned.values():
        jsonschema.validate(doc, schema())
        assert doc["error"] is None
        assert doc["verdict"]["model"]
        assert {ev["analyzer"] for ev in doc["evidence"]}  # every analyzer reports, available or not


def test_json_identifies_the_exact_file(scanned: dict[str, dict], camera_jpeg: Path) -> None:
    doc = scanned[camera_jpeg.name]
    assert doc["file"]["sha256"] == hashlib.sha256(camera_jpeg.read_bytes()).hexdigest()
    assert doc["media"] == {**doc["media"], "kind": "image", "format": "JPEG", "width": 480, "height": 360}


def test_video_is_scanned_as_video(scanned: dict[str, dict]) -> None:
    doc = scanned[Path(SHORT_CLIP).name]
    assert doc["media"]["kind"] == "video" and doc["media"]["frames"] > 0
    for ev in doc["evidence"]:  # image-only analyzers say why they did not run
        if ev["status"] == "unavailable":
            assert ev["reason"]


def test_text_report_and_exit_code(camera_jpeg: Path) -> None:
    result = run_cli("scan", "-a", "metadata,frequency", str(camera_jpeg))
    assert result.returncode in (0, 1, 2)
    assert "p(synthetic)" in result.stdout and camera_jpeg.name in result.stdout


def test_html_report_is_self_contained(tmp_path: Path, camera_jpeg: Path, videos_dir: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("scan", "--html", str(out), str(camera_jpeg), str(videos_dir / SHORT_CLIP))
    assert result.returncode in (0, 1, 2), result.stderr
    html = out.read_text()
    assert html.count("data:image/jpeg;base64,") >= 2  # both previews embedded
    assert 'src="http' not in html and "<link" not in html  # nothing fetched from elsewhere
    assert camera_jpeg.name in html and "p(synthetic)" in html


def test_bad_files_are_per_file_errors(tmp_path: Path, camera_jpeg: Path) -> None:
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(camera_jpeg.read_bytes()[:5000])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    result = run_cli("scan", "--json", "-a", "metadata,noise", str(truncated), str(text), str(empty), str(camera_jpeg))
    assert result.returncode == 3
    docs = json.loads(result.stdout)
    for doc in docs:
        jsonschema.validate(doc, schema())
    assert [d["error"]["code"] if d["error"] else None for d in docs] == ["truncated", "not_media", "empty", None]
    assert docs[3]["verdict"] is not None  # the good file after the bad ones is still analysed


def test_usage_error_exit_code() -> None:
    assert run_cli("scan", "--no-such-option", "x.jpg").returncode == 4
    assert run_cli("scan", "--analyzers", "no-such-analyzer", "x.jpg").returncode == 4


def test_scan_never_modifies_evidence(camera_jpeg: Path) -> None:
    before = (camera_jpeg.stat().st_mtime_ns, hashlib.sha256(camera_jpeg.read_bytes()).hexdigest())
    Scanner().scan(camera_jpeg)
    assert (camera_jpeg.stat().st_mtime_ns, hashlib.sha256(camera_jpeg.read_bytes()).hexdigest()) == before


# --- the framework's guarantees, with analyzers written for the purpose -------------------------


class _Exploding(Analyzer):
    name, version = "exploding", "1"

    def analyze(self, media: Media) -> Evidence:
        raise RuntimeError(f"cannot handle {media.format}")


class _NeedsWeights(Analyzer):
    name, version = "needs-weights", "1"

    def analyze(self, media: Media) -> Evidence:
        raise AnalyzerUnavailable("weights file xyz.safetensors not found in /nowhere")


class _Brightness(Analyzer):
    """A real (if naive) measurement, so the scan has one score to combine."""

    name, version = "brightness", "1"

    def analyze(self, media: Media) -> Evidence:
        mean = float(media.image.mean()) / 255.0
        return self.new_evidence(features={"mean": mean}, score=mean)


def test_failing_analyzers_do_not_stop_the_scan(camera_jpeg: Path, videos_dir: Path) -> None:
    scanner = Scanner([_Exploding(), _NeedsWeights(), _Brightness()])
    report = scanner.scan(camera_jpeg)
    statuses = {ev.analyzer: (ev.status, ev.reason) for ev in report.evidence}
    assert statuses["exploding"] == ("error", "RuntimeError: cannot handle JPEG")
    assert statuses["needs-weights"][0] == "unavailable" and "xyz.safetensors" in statuses["needs-weights"][1]
    assert report.verdict.basis == "mean of analyzer scores (brightness)"
    assert report.verdict.p_synthetic == pytest.approx(report.evidence[2].score)
    jsonschema.validate(report_to_dict(report), schema())

    video = scanner.scan(videos_dir / SHORT_CLIP)
    assert all(ev.status == "unavailable" and "video" in ev.reason for ev in video.evidence)
    assert video.verdict.label == "uncertain"  # nothing measured is not evidence of authenticity


def test_decisive_metadata_overrides_the_signal_score() -> None:
    quiet = Evidence("frequency", "1", score=0.05)
    declared = Evidence(
        "metadata",
        "1",
        signal=False,
        findings=[Finding("a1111.parameters", "AUTOMATIC1111 generation parameters", Severity.DECISIVE, "synthetic")],
    )
    assert RuleCombiner().verdict([quiet]).label == "no_synthetic_evidence"
    verdict = RuleCombiner().verdict([quiet, declared])
    assert verdict.label == "synthetic" and "AUTOMATIC1111" in verdict.basis


def test_blank_picture_is_uncertain_not_synthetic(photos_dir: Path, camera_jpeg: Path) -> None:
    """A real camera-made JPEG of one flat grey: an autoencoder rebuilds it perfectly, which is no evidence."""
    blank = photos_dir / "exif-samples" / "jpg_tests_67-0_length_string.jpg"
    report = Scanner(registry.create_all(registry.names())).scan(blank)
    statuses = {ev.analyzer: (ev.status, ev.reason) for ev in report.evidence}
    pixel = [name for name, (_, reason) in statuses.items() if "blank" in (reason or "")]
    assert {"frequency", "noise", "residual-cnn", "reconstruction"} <= set(pixel)
    assert all(statuses[name][0] == "unavailable" for name in pixel)
    assert statuses["metadata"][0] == "ok"  # metadata still reads the file
    assert report.verdict.label == "uncertain" and report.verdict.p_synthetic == 0.5
    textured = Scanner().scan(camera_jpeg)
    assert all("blank" not in (ev.reason or "") for ev in textured.evidence)


def test_palette_pictures_are_uncertain_not_authentic(photos_dir: Path, tmp_path: Path) -> None:
    """Quantising colours (GIF, palette PNG, bi-level) replaces the noise pixel analysis reads: no pixel verdict."""
    photo = Image.open(photos_dir / "kodak" / "kodak_kodim05.png").convert("RGB")
    pictures = {"palette.gif": photo.quantize(256), "palette.png": photo.quantize(64),
                "bilevel.png": photo.convert("1")}
    scanner = Scanner()
    for name, picture in pictures.items():
        picture.save(tmp_path / name)
        report = scanner.scan(tmp_path / name)
        signal = [ev for ev in report.evidence if ev.signal and ev.analyzer != "temporal"]
        assert signal and all(ev.status == "unavailable" and "256 colours" in ev.reason for ev in signal), name
        assert report.verdict.label == "uncertain" and report.verdict.p_synthetic == 0.5, name
    # an 8-bit grey photo has up to 256 levels too, and is judged
    photo.convert("L").save(tmp_path / "grey.jpg", quality=92)
    grey = scanner.scan(tmp_path / "grey.jpg")
    assert all(ev.status == "ok" for ev in grey.evidence if ev.signal and ev.analyzer != "temporal")
    assert grey.verdict.model.startswith("trained:")
