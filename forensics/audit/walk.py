"""Discover the files of an audit: a streaming, loop-safe walk with glob filters and a link policy.

The walk never holds the tree in memory: it yields one entry at a time, directory by
directory, each directory's entries in sorted order so that two walks of the same
tree agree (the first path of a duplicate is always the same one).

Link policy: a symbolic link is followed only if its target lies inside one of the
audited roots, unless ``follow_links`` is set. Whatever the policy, a directory is
entered at most once (links cannot loop the walk) and only regular files are yielded:
a FIFO, a socket or a device would block or stream forever if opened.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path


@dataclass(frozen=True)
class Found:
    """A regular file to audit: ``path`` as reached (links not resolved) and its ``stat`` result."""

    path: Path
    st: os.stat_result


@dataclass(frozen=True)
class Skipped:
    """An entry the walk refused, with the reason a person reads in the report."""

    path: Path
    reason: str


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    """True if the relative POSIX path or its last component matches a glob (``*.jpg``, ``leak/**/*.png``)."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch(rel, p) or fnmatch(name, p) for p in patterns)


def _inside(target: Path, roots: Sequence[Path]) -> bool:
    return any(target == root or target.is_relative_to(root) for root in roots)


class Walker:
    """Walks audit roots.

    Args:
        roots: files or folders to audit.
        include: if given, only files matching one of these globs are audited.
        exclude: files or folders matching one of these globs are left out (not reported).
        follow_links: follow symbolic links whose target lies outside the roots.
        prune: folders never entered, e.g. the audit's own output folder inside a root.
    """

    def __init__(
        self,
        roots: Iterable[str | Path],
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        follow_links: bool = False,
        prune: Iterable[str | Path] = (),
    ) -> None:
        self.roots = [Path(r).absolute() for r in roots]
        self._resolved_roots = [r.resolve() for r in self.roots]
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.follow_links = follow_links
        self._prune = {Path(p).resolve() for p in prune}

    def __iter__(self) -> Iterator[Found | Skipped]:
        seen_dirs: set[tuple[int, int]] = set()
        for root in self.roots:
            yield from self._walk_root(root, seen_dirs)

    def _walk_root(self, root: Path, seen_dirs: set[tuple[int, int]]) -> Iterator[Found | Skipped]:
        try:
            st = root.stat()
        except OSError as exc:
            yield Skipped(root, f"cannot access ({exc.strerror or exc})")
            return
        if not stat.S_ISDIR(st.st_mode):
            yield from self._file(root, root.name, st)
            return
        stack: list[tuple[Path, str]] = [(root, "")]
        while stack:
            folder, rel_folder = stack.pop()
            try:
                fst = folder.stat()
                if (fst.st_dev, fst.st_ino) in seen_dirs or folder.resolve() in self._prune:
                    continue
                seen_dirs.add((fst.st_dev, fst.st_ino))
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                yield Skipped(folder, f"cannot list folder ({exc.strerror or exc})")
                continue
            subfolders = []
            for entry in entries:
                rel = f"{rel_folder}{entry.name}"
                if self.exclude and _matches(rel, self.exclude):
                    continue
                path = Path(entry.path)
                if entry.is_symlink():
                    refusal = self._link_refusal(path)
                    if refusal:
                        yield Skipped(path, refusal)
                        continue
                try:
                    est = entry.stat(follow_symlinks=True)
                except OSError as exc:
                    yield Skipped(path, f"cannot access ({exc.strerror or exc})")
                    continue
                if stat.S_ISDIR(est.st_mode):
                    subfolders.append((path, rel + "/"))
                else:
                    yield from self._file(path, rel, est)
            stack.extend(reversed(subfolders))  # depth-first, in name order

    def _link_refusal(self, path: Path) -> str | None:
        """Why a symbolic link is not followed, or ``None`` if it may be."""
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return "broken or looping symbolic link"
        if not self.follow_links and not _inside(target, self._resolved_roots):
            return f"symbolic link out of the audited tree (to {target}); use --follow-links to audit it"
        return None

    def _file(self, path: Path, rel: str, st: os.stat_result) -> Iterator[Found | Skipped]:
        if self.include and not _matches(rel, self.include):
            return
        if not stat.S_ISREG(st.st_mode):
            yield Skipped(path, "not a regular file (device, FIFO or socket)")
            return
        yield Found(path, st)
