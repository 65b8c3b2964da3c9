"""Files written whole or not at all: each writer fills a temporary file of its own, then renames it over the target.

A reader never sees half a report or half a dataset's metadata, a crash leaves the previous version in place, and
processes writing the same file at once (two generators sharing the work, a merge while another runs) never share
a temporary file: the last complete write wins.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w", *, fsync: bool = False, **open_args: Any) -> Iterator[IO]:
    """Open ``path`` for writing (``mode`` ``"w"`` or ``"wb"``; ``open_args`` as for :func:`open`) and replace it on a
    clean exit. ``fsync``: force the data to disk before the rename, for files a resumed run must trust."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, mode.replace("w", "x"), **open_args) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # left only where writing failed
