"""End-to-end audits with the real ``forensics audit`` command on shared photos and crafted broken files.

Audits run with a cheap analyzer set so the suite stays fast; the analysis path (worker
pool, scanner, reports, ledger) is the real one.
"""

from __future__ import annotations

import csv
import hashlib
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

import pytest

from forensics.analyzers import registry
from forensics.audit import verify_manifest

CHEAP_ANALYZERS = ("metadata",)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _analyzers() -> str:
    cheap = [n for n in CHEAP_ANALYZERS if n in registry.names()]
    if not cheap:
        pytest.skip(f"none of the cheap analyzers {CHEAP_ANALYZERS} is registered")
    return ",".join(cheap)


AUDIT = [sys.executable, "-c", "from forensics.cli import main; main()", "audit"]


def _audit(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    cmd = [*AUDIT, *map(str, args)]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "results.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory, photos_dir: Path) -> Path:
    """Real photos (JPEG, PNG, camera JPEG with EXIF), a duplicate, and three broken files."""
    folder = tmp_path_factory.mktemp("tip")
    (folder / "scrape" / "copies").mkdir(parents=True)
    jpgs = sorted((photos_dir / "bsds500").glob("*.jpg"))
    for src in jpgs[:3]:
        shutil.copy(src, folder / "scrape" / src.name)
    shutil.copy(sorted((photos_dir / "kodak").glob("*.png"))[0], folder / "kodak.png")
    shutil.copy(photos_dir / "exif-samples" / "jpg_Canon_PowerShot_S40.jpg", folder / "camera.jpg")
    shutil.copy(jpgs[0], folder / "scrape" / "copies" / "same_as_first.jpg")  # duplicate content
    data = jpgs[3].read_bytes()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "garbage.jpg").write_bytes(hashlib.sha512(data).digest() * 64)
    (folder / "empty.png").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def audited(evidence: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The audit folder of ``evidence`` and the evidence hashes taken before the audit."""
    before = _hashes(evidence)
    out = tmp_path_factory.mktemp("audit") / "case-17"
    result = _audit(evidence, "--out", out, "-a", _analyzers(), "-j", "2",
                    "--case", "CASE-17", "--operator", "desk-a", "--note", "tip from reader")
    assert result.returncode == 0, result.stderr
    return out, before


def test_every_content_once_duplicates_listed(audited: tuple[Path, dict[str, str]], evidence: Path) -> None:
    out, _ = audited
    rows = _rows(out)
    assert len(rows) == 8  # 9 files, one duplicate
    assert len({r["sha256_before"] for r in rows}) == 8
    first = next(r for r in rows if r["path"].endswith("scrape/" + sorted((evidence / "scrape").glob("*.jpg"))[0].name))
    assert first["duplicates"] == str(evidence / "scrape" / "copies" / "same_as_first.jpg")
    assert [int(r["rank"]) for r in rows] == list(range(1, 9))
    jsonl = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [j["path"] for j in jsonl] == [r["path"] for r in rows]


def test_broken_files_are_error_rows_with_reasons(audited: tuple[Path, dict[str, str]]) -> None:
    rows = {Path(r["path"]).name: r for r in _rows(audited[0])}
    assert {n: rows[n]["error_code"] for n in ("truncated.jpg", "garbage.jpg", "empty.png")} == {
        "truncated.jpg": "truncated", "garbage.jpg": "not_media", "empty.png": "empty"}
    for name in ("truncated.jpg", "garbage.jpg", "empty.png"):
        assert rows[name]["status"] == "error" and rows[name]["error_message"]
    done = [r for r in rows.values() if r["status"] == "done"]
    assert len(done) == 5
    assert all(r["label"] in {"synthetic", "uncertain", "no_synthetic_evidence"} for r in done)
    assert all(r[f"score.{a}"] != "" or r["key_findings"] for r in done for a in _analyzers().split(","))


def test_evidence_untouched_and_custody_recorded(audited: tuple[Path, dict[str, str]], evidence: Path) -> None:
    out, before = audited
    assert _hashes(evidence) == before  # not one byte of evidence changed
    for row in _rows(out):
        path = Path(row["path"])
        true_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert row["sha256_before"] == row["sha256_after"] == true_sha
        assert row["custody_ok"] == "True"
        assert int(row["size"]) == path.stat().st_size
        assert (row["case_id"], row["operator"], row["note"]) == ("CASE-17", "desk-a", "tip from reader")
        assert row["tool_version"] and row["mtime"] and row["ctime"]
        if row["status"] == "done":
            assert row["sha256_analysed"] == true_sha
            assert row["model"] and row["analyzer_versions"]
            report = json.loads((out / row["report_json"]).read_text())
            assert report["file"]["sha256"] == true_sha
    assert verify_manifest(out) == []
    run = json.loads((out / "audit.json").read_text())["runs"][0]
    assert run["analyzers"].keys() == set(_analyzers().split(","))


def test_html_report_renders(audited: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    out, _ = audited
    html = (out / "report.html").read_text()
    assert "case CASE-17" in html and html.count('<tr>\n <td data-v="') == 5
    assert html.count('src="data:image/jpeg;base64,') == 5  # a thumbnail per analysed file
    for row in _rows(out):
        if row["report_html"]:
            assert f'href="{row["report_html"]}"' in html and (out / row["report_html"]).is_file()
    if CHROMIUM is None:
        pytest.skip("chromium not installed: no screenshot check")
    shot = tmp_path / "audit.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tempfile.mkdtemp()}",
         "--window-size=1300,1400", f"--screenshot={shot}", (out / "report.html").as_uri()],
        capture_output=True, timeout=120, check=True)
    from PIL import Image

    pixels = Image.open(shot).convert("L")
    assert pixels.size == (1300, 1400)
    assert pixels.getextrema()[0] < 100  # text and thumbnails were drawn, not a blank page


@pytest.mark.slow
def test_rerun_audits_only_new_files_and_retries_errors_once(evidence: Path, tmp_path: Path, photos_dir: Path) -> None:
    folder = tmp_path / "ev"
    shutil.copytree(evidence / "scrape", folder)
    (folder / "empty.jpg").write_bytes(b"")
    out = tmp_path / "audit"
    args = (folder, "--out", out, "-a", _analyzers(), "-j", "1", "--no-file-reports")
    assert _audit(*args).returncode == 0
    shutil.copy(sorted((photos_dir / "bsds500").glob("*.jpg"))[10], folder / "new.jpg")
    assert _audit(*args).returncode == 0
    assert _audit(*args, "--retry-errors").returncode == 0
    runs = json.loads((out / "audit.json").read_text())["runs"]
    assert [r["analysed"] for r in runs] == [4, 1, 1]  # all, the new photo, the empty file again
    rows = _rows(out)
    assert sorted((Path(r["path"]).name, r["run_id"]) for r in rows) == sorted(
        [(p.name, "1") for p in (evidence / "scrape").glob("*.jpg")] + [("new.jpg", "2"), ("empty.jpg", "3")])
    assert verify_manifest(out) == []


def test_a_folder_holds_one_case(evidence: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ev"
    folder.mkdir()
    out = tmp_path / "audit"
    assert _audit(folder, "--out", out, "-a", _analyzers(), "--case", "A").returncode == 0
    refused = _audit(folder, "--out", out, "-a", _analyzers(), "--case", "B")
    assert refused.returncode == 4 and "belongs to case 'A'" in refused.stderr


def test_ray_backend_missing_is_a_clear_error(tmp_path: Path) -> None:
    code = "import sys; sys.modules['ray'] = None; from forensics.cli import main; main()"  # as if not installed
    args = ["audit", str(tmp_path), "--out", str(tmp_path / "a"), "--backend", "ray"]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 4
    assert "pip install 'img2img-forensics[ray]'" in result.stderr


def _done_count(ledger: Path, writable: bool = False) -> int:
    """Files finished in the ledger. Polling reads it read-only; after the audit was killed, ``writable``: only a
    connection that may write replays what the killed writer left in the write-ahead log."""
    try:
        with sqlite3.connect(f"file:{ledger}" + ("" if writable else "?mode=ro"), uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM items WHERE state IN ('done', 'error')").fetchone()[0]
    except sqlite3.Error:
        return 0


def _many_photos(photos_dir: Path, folder: Path, n: int) -> None:
    folder.mkdir()
    for src in sorted((photos_dir / "bsds500").glob("*.jpg"))[:n]:
        shutil.copy(src, folder / src.name)


@pytest.mark.slow
def test_sigkill_then_resume_counts_every_file_once(tmp_path: Path, photos_dir: Path) -> None:
    folder, out = tmp_path / "ev", tmp_path / "audit"
    _many_photos(photos_dir, folder, 60)
    cmd = [*AUDIT, str(folder), "--out", str(out), "-a", _analyzers(), "-j", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=os.environ | {"OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 240
    while _done_count(out / "ledger.sqlite") < 5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the audit finished before it could be killed: give it more files"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-run
    proc.wait()
    done_before = _done_count(out / "ledger.sqlite", writable=True)
    assert 5 <= done_before < 60

    result = _audit(folder, "--out", out, "-a", _analyzers(), "-j", "2")
    assert result.returncode == 0, result.stderr
    rows = _rows(out)
    assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in folder.iterdir())
    runs = json.loads((out / "audit.json").read_text())["runs"]
    assert runs[0]["finished_at"] is None and runs[1]["analysed"] == 60 - done_before
    assert sum(r["run_id"] == "1" for r in rows) == done_before
    assert verify_manifest(out) == []


@pytest.mark.slow
def test_a_killed_worker_costs_no_file(tmp_path: Path, photos_dir: Path) -> None:
    folder, out = tmp_path / "ev", tmp_path / "audit"
    _many_photos(photos_dir, folder, 40)
    cmd = [*AUDIT, str(folder), "--out", str(out), "-a", _analyzers(), "-j", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=os.environ | {"OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 240
    while _done_count(out / "ledger.sqlite") < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    workers = [int(c) for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]
    assert workers, "no worker process found"
    os.kill(workers[0], signal.SIGKILL)  # as the out-of-memory killer would
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    rows = _rows(out)
    assert sorted(Path(r["path"]).name for r in rows) == sorted(p.name for p in folder.iterdir())
    assert all(r["status"] == "done" for r in rows)  # the files in flight were re-run, not lost
    run = json.loads((out / "audit.json").read_text())["runs"][0]
    assert run["tasks_lost_with_a_worker"] >= 1 and run["analysed"] == 40


@pytest.mark.slow
def test_ray_backend_gives_the_same_results(audited: tuple[Path, dict[str, str]], evidence: Path,
                                            tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "audit-ray"
    result = _audit(evidence, "--out", out, "-a", _analyzers(), "-j", "2", "--backend", "ray", "--no-file-reports")
    assert result.returncode == 0, result.stderr
    local = {r["sha256_before"]: (r["status"], r["label"], r["p_synthetic"]) for r in _rows(audited[0])}
    remote = {r["sha256_before"]: (r["status"], r["label"], r["p_synthetic"]) for r in _rows(out)}
    assert remote == local
    assert json.loads((out / "audit.json").read_text())["runs"][0]["backend"] == "ray"


def test_files_past_the_time_limit_are_error_rows_and_the_audit_completes(evidence: Path, tmp_path: Path) -> None:
    """A limit no photo's analysis can meet: each is a 'timeout' error row, the evidence is untouched, and a rerun
    without the limit analyses them."""
    out, before = tmp_path / "audit", _hashes(evidence)
    photos = {"kodak.png", "camera.jpg", *(p.name for p in (evidence / "scrape").glob("*.jpg"))}
    result = _audit(evidence, "--out", out, "-a", _analyzers(), "-j", "2", "--timeout", "0.001")
    assert result.returncode == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in _rows(out)}
    assert {rows[n]["error_code"] for n in photos} == {"timeout"}
    assert "time limit of 0.001 s" in rows["camera.jpg"]["error_message"]
    assert _hashes(evidence) == before
    result = _audit(evidence, "--out", out, "-a", _analyzers(), "-j", "2", "--retry-errors", "--timeout", "0")
    assert result.returncode == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in _rows(out)}
    assert all(rows[n]["status"] == "done" for n in photos)
