"""Files written whole or not at all (reports, audit outputs, dataset files and metadata)."""

from __future__ import annotations

from pathlib import Path

import pytest

from forensics.atomic import atomic_writer


def test_a_write_that_fails_leaves_the_previous_file_and_no_temporary(photos_dir: Path, tmp_path: Path) -> None:
    photo = (photos_dir / "kodak" / "kodak_kodim05.png").read_bytes()
    target = tmp_path / "edit.png"
    with atomic_writer(target, "wb") as fh:
        fh.write(photo)
    assert target.read_bytes() == photo

    with pytest.raises(OSError, match="disk full"), atomic_writer(target, "wb") as fh:
        fh.write(photo[: len(photo) // 2])
        raise OSError("disk full")
    assert target.read_bytes() == photo  # not half of it
    assert [p.name for p in tmp_path.iterdir()] == ["edit.png"]

    with atomic_writer(target, encoding="utf-8", fsync=True) as fh:
        fh.write("replaced")
    assert target.read_text(encoding="utf-8") == "replaced"


def test_writers_never_share_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "metadata.jsonl"
    with atomic_writer(target) as first:  # two processes writing the same file at once
        first.write("first\n")
        with atomic_writer(target) as second:
            assert Path(first.name) != Path(second.name)
            second.write("second\n")
        assert target.read_text() == "second\n"
    assert target.read_text() == "first\n"  # the last complete write wins, whole
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.jsonl"]
    with pytest.raises(ValueError, match="mode"), atomic_writer(target, "a"):
        pass
