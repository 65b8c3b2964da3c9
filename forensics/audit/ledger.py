"""The audit ledger: one SQLite database (WAL journal) that records every file's state and result.

It is the single source of truth of an audit. Every completed file is committed on its
own, with ``synchronous=FULL``, before the next result is taken, so an audit killed at
any instant (``kill -9``, power loss) loses at most the files that were being analysed;
re-running picks up every file not yet ``done``/``error`` and no file is ever counted
twice, because results are keyed by content (SHA-256). All outputs are regenerated
from the ledger.

Tables:
    ``meta``     audit-wide facts (case id, creation time, schema version).
    ``runs``     one row per invocation: operator, note, analyzers, backend, timing, peak memory.
    ``paths``    every path discovered, with size, times and the content key it held.
    ``items``    one row per distinct content: state (``pending``, ``done``, ``error``), result row, thumbnail.
    ``skipped``  entries the walk refused (links out of the tree, FIFOs), with the reason.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SCHEMA_VERSION = "1"
LEDGER_NAME = "ledger.sqlite"
_LABEL_ORDER = (
    "CASE label WHEN 'synthetic' THEN 0 WHEN 'uncertain' THEN 1 WHEN 'no_synthetic_evidence' THEN 2 ELSE 3 END"
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY, started_at TEXT, finished_at TEXT, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS paths (
    path TEXT PRIMARY KEY, key TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    first_run INTEGER, last_run INTEGER);
CREATE INDEX IF NOT EXISTS paths_key ON paths (key);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT, state TEXT NOT NULL DEFAULT 'pending',
    run_id INTEGER, label TEXT, p_synthetic REAL,
    row TEXT, thumbnail BLOB, updated_at TEXT);
CREATE INDEX IF NOT EXISTS items_state ON items (state);
CREATE TABLE IF NOT EXISTS skipped (path TEXT PRIMARY KEY, reason TEXT, run_id INTEGER);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CaseMismatch(ValueError):
    """The audit folder belongs to another case: results of two cases must never mix."""


class Ledger:
    """Open (or create) the ledger of an audit folder.

    Args:
        path: the SQLite file, usually ``AUDIT_DIR/ledger.sqlite``.
        case_id: the case this audit belongs to; checked against the ledger's, set on creation.
    """

    def __init__(self, path: str | Path, case_id: str | None = None) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions below
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", (_now(),))
        stored = self.meta("case_id")
        if case_id is not None and stored is not None and stored != case_id:
            self.close()
            raise CaseMismatch(f"this audit folder belongs to case {stored!r}, not {case_id!r}")
        if case_id is not None and stored is None:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('case_id', ?)", (case_id,))
        self._batch = 0

    def close(self) -> None:
        """Commit anything pending and close; the WAL is checkpointed into the database file."""
        if self.db.in_transaction:
            self.db.execute("COMMIT")
        self.db.close()

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- runs -----------------------------------------------------------------------------------

    def start_run(self, info: dict[str, Any]) -> int:
        """Record a new invocation and return its id."""
        cur = self.db.execute("INSERT INTO runs (started_at, info) VALUES (?, ?)", (_now(), json.dumps(info)))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, info: dict[str, Any]) -> None:
        """Mark a run finished, merging ``info`` (counts, peak memory) into its record."""
        (old,) = self.db.execute("SELECT info FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        merged = json.loads(old) | info
        self.db.execute(
            "UPDATE runs SET finished_at = ?, info = ? WHERE run_id = ?", (_now(), json.dumps(merged), run_id)
        )

    def runs(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT run_id, started_at, finished_at, info FROM runs ORDER BY run_id")
        return [{"run_id": r, "started_at": s, "finished_at": f, **json.loads(i)} for r, s, f, i in rows]

    # -- discovery ------------------------------------------------------------------------------

    def known_key(self, path: str, size: int, mtime_ns: int, ctime_ns: int) -> str | None:
        """The content key recorded for ``path`` if the file looks unchanged since (no re-hash needed)."""
        row = self.db.execute(
            "SELECT key FROM paths WHERE path = ? AND size = ? AND mtime_ns = ? AND ctime_ns = ?",
            (path, size, mtime_ns, ctime_ns),
        ).fetchone()
        return row[0] if row else None

    def add_path(
        self, path: str, key: str, sha256: str | None, size: int, mtime_ns: int, ctime_ns: int, run_id: int
    ) -> tuple[bool, str | None]:
        """Record a discovered path holding content ``key``.

        Returns ``(new_item, previous_key)``: whether this content is new to the audit (it
        becomes a pending item), and the key the path held before if its content changed.
        """
        self._begin()
        prev = self.db.execute("SELECT key FROM paths WHERE path = ?", (path,)).fetchone()
        self.db.execute(
            "INSERT INTO paths VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET key = excluded.key,"
            " size = excluded.size, mtime_ns = excluded.mtime_ns, ctime_ns = excluded.ctime_ns,"
            " last_run = excluded.last_run",
            (path, key, size, mtime_ns, ctime_ns, run_id, run_id),
        )
        cur = self.db.execute(
            "INSERT OR IGNORE INTO items (key, path, sha256, updated_at) VALUES (?, ?, ?, ?)",
            (key, path, sha256, _now()),
        )
        self._tick()
        changed = prev[0] if prev and prev[0] != key else None
        return cur.rowcount == 1, changed

    def add_skipped(self, path: str, reason: str, run_id: int) -> None:
        self._begin()
        self.db.execute("INSERT OR REPLACE INTO skipped VALUES (?, ?, ?)", (path, reason, run_id))
        self._tick()

    def flush(self) -> None:
        """Commit the discovery batch in progress."""
        if self.db.in_transaction:
            self.db.execute("COMMIT")
        self._batch = 0

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def _tick(self, every: int = 500) -> None:
        self._batch += 1
        if self._batch >= every:
            self.flush()

    # -- analysis -------------------------------------------------------------------------------

    def retry_errors(self) -> int:
        """Put every ``error`` item back to ``pending``; return how many."""
        return self.db.execute("UPDATE items SET state = 'pending' WHERE state = 'error'").rowcount

    def count(self, state: str | None = None) -> int:
        if state is None:
            return self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM items WHERE state = ?", (state,)).fetchone()[0]

    def pending(self, batch: int = 256) -> Iterator[tuple[str, str, str | None]]:
        """Stream ``(key, path, sha256)`` of pending items in discovery order, a page at a time."""
        last = 0
        while True:
            page = self.db.execute(
                "SELECT rowid, key, path, sha256 FROM items WHERE state = 'pending' AND rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (last, batch),
            ).fetchall()
            if not page:
                return
            for rowid, key, path, sha in page:
                last = rowid
                yield key, path, sha

    def complete(self, key: str, row: dict[str, Any], thumbnail: bytes | None, run_id: int) -> None:
        """Commit one file's result: state ``done`` or ``error`` as ``row["status"]`` says."""
        state = "error" if row.get("status") == "error" else "done"
        self.db.execute(
            "UPDATE items SET state = ?, run_id = ?, label = ?, p_synthetic = ?, row = ?, thumbnail = ?,"
            " updated_at = ? WHERE key = ?",
            (state, run_id, row.get("label"), row.get("p_synthetic"), json.dumps(row), thumbnail, _now(), key),
        )

    # -- reading results ------------------------------------------------------------------------

    def results(self, states: tuple[str, ...] = ("done", "error"), with_thumbnails: bool = False
                ) -> Iterator[dict[str, Any]]:
        """Stream finished items in ``states``: flagged and uncertain first, most suspicious first, errors last.

        Each row gains ``key``, ``duplicates`` (the other paths holding the same content) and,
        if asked, ``thumbnail`` (JPEG bytes or ``None``).
        """
        thumb = ", i.thumbnail" if with_thumbnails else ""
        cur = self.db.execute(
            f"SELECT i.key, i.row, i.path, (SELECT json_group_array(p.path) FROM paths p"
            f" WHERE p.key = i.key AND p.path != i.path){thumb}"
            f" FROM items i WHERE i.state IN ({', '.join('?' * len(states))})"
            f" ORDER BY i.state = 'error', {_LABEL_ORDER}, i.p_synthetic DESC, i.path",
            states,
        )
        for record in cur:
            row = json.loads(record[1])
            row["key"] = record[0]
            row["duplicates"] = sorted(json.loads(record[3]))
            if with_thumbnails:
                row["thumbnail"] = record[4]
            yield row

    def summary(self) -> dict[str, Any]:
        """Counts by state and verdict, duplicate paths, skipped entries, custody failures, a 10-bin score histogram."""
        states = dict(self.db.execute("SELECT state, COUNT(*) FROM items GROUP BY state").fetchall())
        labels = dict(
            self.db.execute("SELECT label, COUNT(*) FROM items WHERE state = 'done' GROUP BY label").fetchall()
        )
        bins = [0] * 10
        for b, n in self.db.execute(
            "SELECT MIN(CAST(p_synthetic * 10 AS INTEGER), 9), COUNT(*) FROM items"
            " WHERE state = 'done' AND p_synthetic IS NOT NULL GROUP BY 1"
        ):
            bins[b] = n
        duplicates = self.db.execute(
            "SELECT COUNT(*) FROM paths p JOIN items i ON p.key = i.key WHERE p.path != i.path"
        ).fetchone()[0]
        return {
            "items": sum(states.values()),
            "states": states,
            "labels": labels,
            "paths": self.db.execute("SELECT COUNT(*) FROM paths").fetchone()[0],
            "duplicate_paths": duplicates,
            "skipped": self.db.execute("SELECT COUNT(*) FROM skipped").fetchone()[0],
            "custody_failures": self.db.execute(
                "SELECT COUNT(*) FROM items WHERE state = 'done' AND json_extract(row, '$.custody_ok') = 0"
            ).fetchone()[0],
            "histogram": bins,
        }

    def skipped(self) -> list[tuple[str, str]]:
        return self.db.execute("SELECT path, reason FROM skipped ORDER BY path").fetchall()
