"""Chain of custody: read-only hashing of evidence, its file facts, and the manifest of an audit folder.

Evidence is only ever opened read-only; on Linux with ``O_NOATIME`` where the
kernel allows it, so hashing does not even touch the access time. The manifest
(``SHA256SUMS``, the format of ``sha256sum``) hashes every output of the audit so
that anyone can check later, with standard tools, that nothing was altered:
``cd AUDIT_DIR && sha256sum -c SHA256SUMS``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from forensics.atomic import atomic_writer

MANIFEST_NAME = "SHA256SUMS"
_CHUNK = 1 << 20


def _open_read_only(path: Path) -> int:
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:  # O_NOATIME needs file ownership; fall back to a plain read-only open
            pass
    return os.open(path, flags)


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks through a read-only descriptor."""
    digest = hashlib.sha256()
    fd = _open_read_only(Path(path))
    try:
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="microseconds")


def file_facts(st: os.stat_result) -> dict[str, Any]:
    """Size in bytes and UTC timestamps of a file, from its ``stat``: what the custody record keeps."""
    return {"size": st.st_size, "mtime": _iso(st.st_mtime_ns), "ctime": _iso(st.st_ctime_ns)}


def write_manifest(audit_dir: str | Path) -> Path:
    """Hash every file of the audit folder (except the manifest) into ``SHA256SUMS``; return its path."""
    audit_dir = Path(audit_dir)
    manifest = audit_dir / MANIFEST_NAME
    lines = [
        f"{sha256_file(p)}  {p.relative_to(audit_dir).as_posix()}\n"
        for p in sorted(audit_dir.rglob("*"))
        if p.is_file() and p != manifest
    ]
    with atomic_writer(manifest, encoding="utf-8") as fh:
        fh.writelines(lines)
    return manifest


def verify_manifest(audit_dir: str | Path) -> list[str]:
    """Problems found checking ``SHA256SUMS`` against the folder: altered, missing or unlisted files.

    An empty list means every output is exactly as the audit wrote it.
    """
    audit_dir = Path(audit_dir)
    manifest = audit_dir / MANIFEST_NAME
    if not manifest.is_file():
        return [f"no {MANIFEST_NAME} in {audit_dir}"]
    problems, listed = [], set()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, _, rel = line.partition("  ")
        listed.add(rel)
        path = audit_dir / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif sha256_file(path) != digest:
            problems.append(f"altered: {rel}")
    for path in audit_dir.rglob("*"):
        rel = path.relative_to(audit_dir).as_posix()
        if path.is_file() and path != manifest and rel not in listed:
            problems.append(f"not in manifest: {rel}")
    return problems
