"""The audit's building blocks on real files: the walk and its link policy, the ledger, the manifest, the deadline."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forensics.audit.custody import sha256_file, verify_manifest, write_manifest
from forensics.audit.deadline import HARD_EXIT_CODE, FileTimeout, deadline
from forensics.audit.ledger import CaseMismatch, Ledger
from forensics.audit.walk import Found, Skipped, Walker


@pytest.fixture()
def tree(tmp_path: Path, photos_dir: Path) -> Path:
    """root/{a.jpg, sub/b.png, sub/deeper/c.jpg, notes.txt} from shared photos, plus an outside folder."""
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    jpgs = sorted((photos_dir / "bsds500").glob("*.jpg"))
    shutil.copy(jpgs[0], root / "a.jpg")
    shutil.copy(sorted((photos_dir / "kodak").glob("*.png"))[0], root / "sub" / "b.png")
    shutil.copy(jpgs[1], root / "sub" / "deeper" / "c.jpg")
    (root / "notes.txt").write_text("tip received by mail")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(jpgs[2], outside / "secret.jpg")
    return root


def _found(walker: Walker, root: Path) -> list[str]:
    return [e.path.relative_to(root).as_posix() for e in walker if isinstance(e, Found)]


def test_walk_is_sorted_recursive_and_filtered(tree: Path) -> None:
    assert _found(Walker([tree]), tree) == ["a.jpg", "notes.txt", "sub/b.png", "sub/deeper/c.jpg"]
    assert _found(Walker([tree], include=["*.jpg"]), tree) == ["a.jpg", "sub/deeper/c.jpg"]
    assert _found(Walker([tree], exclude=["deeper", "*.txt"]), tree) == ["a.jpg", "sub/b.png"]
    assert _found(Walker([tree], include=["sub/*"]), tree) == ["sub/b.png", "sub/deeper/c.jpg"]


def test_links_leaving_the_tree_are_skipped_unless_asked(tree: Path) -> None:
    outside = tree.parent / "outside"
    (tree / "to_secret.jpg").symlink_to(outside / "secret.jpg")
    (tree / "outside_dir").symlink_to(outside, target_is_directory=True)
    (tree / "inside_link.jpg").symlink_to(tree / "a.jpg")
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)  # a cycle back to the root
    (tree / "dangling.jpg").symlink_to(tree / "nowhere.jpg")

    entries = list(Walker([tree]))
    found = [e.path.relative_to(tree).as_posix() for e in entries if isinstance(e, Found)]
    skipped = {e.path.name: e.reason for e in entries if isinstance(e, Skipped)}
    assert "inside_link.jpg" in found  # a link inside the tree is followed (dedup removes the copy)
    assert not any(p.startswith(("to_secret", "outside_dir")) for p in found)
    assert "out of the audited tree" in skipped["to_secret.jpg"]
    assert "out of the audited tree" in skipped["outside_dir"]
    assert "broken" in skipped["dangling.jpg"]
    assert found.count("a.jpg") == 1  # the loop did not walk the root twice

    followed = _found(Walker([tree], follow_links=True), tree)
    assert "to_secret.jpg" in followed and "outside_dir/secret.jpg" in followed


def test_special_files_and_pruned_folders_are_not_audited(tree: Path) -> None:
    os.mkfifo(tree / "pipe.jpg")  # opening it would block the audit forever
    out = tree / "audit-out"
    out.mkdir()
    (out / "results.csv").write_text("rank,path\n")
    entries = list(Walker([tree], prune=[out]))
    assert [e.reason for e in entries if isinstance(e, Skipped) and e.path.name == "pipe.jpg"] == [
        "not a regular file (device, FIFO or socket)"
    ]
    assert not any("audit-out" in str(e.path) for e in entries)


def test_sha256_file_matches_hashlib(tree: Path) -> None:
    path = tree / "sub" / "b.png"
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_ledger_streams_pending_while_completing_and_dedups(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite", case_id="CASE-1")
    run = ledger.start_run({"analyzers": {}})
    for i in range(600):  # more than one page of the pending stream
        key = f"{i % 500:064x}"  # 100 paths repeat a content
        ledger.add_path(f"/ev/{i}.jpg", key, key, 10, i, i, run)
    ledger.flush()
    assert ledger.count() == 500 and ledger.count("pending") == 500
    seen = []
    for key, path, _sha in ledger.pending(batch=64):
        seen.append(key)
        ledger.complete(key, {"status": "done", "label": "uncertain", "p_synthetic": 0.5, "path": path}, None, run)
    assert len(seen) == len(set(seen)) == 500
    assert ledger.count("done") == 500
    rows = list(ledger.results())
    assert len(rows) == 500 and sum(len(r["duplicates"]) for r in rows) == 100
    assert ledger.summary()["duplicate_paths"] == 100
    ledger.close()
    with pytest.raises(CaseMismatch):
        Ledger(tmp_path / "ledger.sqlite", case_id="CASE-2")


def test_manifest_detects_altered_missing_and_extra_files(tmp_path: Path, tree: Path) -> None:
    audit = tmp_path / "audit"
    shutil.copytree(tree / "sub", audit)
    write_manifest(audit)
    assert verify_manifest(audit) == []
    (audit / "b.png").write_bytes(b"tampered")
    (audit / "deeper" / "c.jpg").unlink()
    (audit / "added.txt").write_text("x")
    assert sorted(verify_manifest(audit)) == ["altered: b.png", "missing: deeper/c.jpg", "not in manifest: added.txt"]


def test_deadline_interrupts_python_code_and_restores_the_signal_state() -> None:
    before = signal.getsignal(signal.SIGALRM)
    start = time.monotonic()
    with pytest.raises(FileTimeout, match=r"0\.05 s"), deadline(0.05):
        time.sleep(5)
    assert time.monotonic() - start < 2
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with deadline(None):  # no limit: nothing armed
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_deadline_ends_a_process_stuck_where_the_signal_cannot_reach() -> None:
    """SIGALRM blocked stands for native code that never returns to Python: the watchdog ends the process."""
    code = ("import signal, time\n"
            "from forensics.audit.deadline import deadline\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
            "with deadline(0.2, grace_s=0.3):\n"
            "    time.sleep(30)\n")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert result.returncode == HARD_EXIT_CODE and time.monotonic() - start < 20


def test_scans_and_audits_leave_out_the_slow_analyzers_no_model_reads(tree: Path) -> None:
    """By default a scan or an audit runs every analyzer but reconstruction (seconds an image, and no shipped model
    reads it), and still judges a real photo with the shipped model, whose features all come from the analyzers it
    keeps; ``-a all`` brings it back."""
    import json

    from click.testing import CliRunner

    from forensics.analyzers import registry
    from forensics.audit.runner import AuditConfig, FileAnalyser
    from forensics.audit.task import Task
    from forensics.classifier import load_default_combiner
    from forensics.cli import cli
    from forensics.cli.analyzers import analyzer_list
    from forensics.scan import Scanner

    config = AuditConfig(roots=[tree], out_dir=tree.parent / "audit")
    assert "reconstruction" in registry.names() and "reconstruction" not in config.analyzers
    read_by_models = {name.split(".")[0] for m in load_default_combiner().members for name in m.bundle.schema.names}
    assert read_by_models <= set(config.analyzers)
    assert analyzer_list(None, None, None) == config.analyzers == [a.name for a in Scanner().analyzers]
    assert analyzer_list(None, None, "all") == registry.names()

    task = Task(key="a", path=str(tree / "a.jpg"), sha256_before=sha256_file(tree / "a.jpg"), file_reports=False)
    row = FileAnalyser(config.analyzers).analyse(task).row
    analysed = {entry["analyzer"] for entry in row["analyzers"]}
    assert "reconstruction" not in analysed and {"frequency", "noise", "residual-cnn"} <= analysed
    assert row["model"] == load_default_combiner().members[0].name  # the model of stills, not the rule

    scanned = CliRunner().invoke(cli, ["scan", "--json", str(tree / "a.jpg")])
    report = json.loads(scanned.output)  # one file: one document
    assert [ev["analyzer"] for ev in report["evidence"]] == config.analyzers
    assert report["verdict"]["model"] == row["model"]
    listed = CliRunner().invoke(cli, ["scan", "--list-analyzers"]).output.splitlines()
    assert [line.split()[0] for line in listed if "[only when named]" in line] == ["reconstruction"]
