"""Run an audit: discover, deduplicate, analyse in parallel, record every result in the ledger.

Two execution backends share one driver loop and one ledger:

* ``local``: a pool of worker processes on this machine (``spawn``; one
  :class:`~forensics.scan.Scanner` per worker, built in the pool initializer);
* ``ray``: one Ray actor per worker on a Ray cluster (optional dependency ``ray``).
  The driver, and so the ledger and the audit folder, stay on the machine that runs
  ``forensics audit``; workers only need to read the evidence paths (a shared filesystem).

The number of files in flight is bounded (``2 x workers``), the walk and the pending
queue are streamed from disk, and results go to the ledger as they arrive: memory does
not grow with the number of files. A worker that dies (segfault in a decoder, OOM killer)
costs nothing but a retry: the files it may have held are re-run one at a time, and a file
that kills a worker on its own becomes an error row. A file whose analysis runs past the
time limit is an error row too (:mod:`forensics.audit.deadline`).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import platform
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Protocol

from rich.progress import Progress

from forensics import __version__
from forensics.analyzers import registry
from forensics.atomic import atomic_writer
from forensics.audit.custody import sha256_file, write_manifest
from forensics.audit.html import write_html_report
from forensics.audit.ledger import LEDGER_NAME, Ledger
from forensics.audit.outputs import write_audit_json, write_results
from forensics.audit.task import FileAnalyser, Outcome, Task, error_outcome
from forensics.audit.walk import Skipped, Walker
from forensics.media import MediaLimits

FILES_DIR = "files"  # per-file JSON and HTML reports, named by content key
UNREADABLE_PREFIX = "unreadable-"  # key of a file that could not even be hashed


@dataclass
class AuditConfig:
    """Everything an audit needs to know.

    Attributes:
        roots: files and folders to audit.
        out_dir: the audit folder (ledger, results, reports, manifest); reused to resume.
        include, exclude: glob filters on file names or paths relative to a root.
        follow_links: follow symbolic links that leave the audited tree.
        analyzers: analyzer names to run (``None``: :func:`registry.default_names`, every registered one but the
            slow ones no shipped model reads).
        workers: parallel workers (``None``: every core, or every CPU of the Ray cluster).
        backend: ``local`` or ``ray``.
        ray_address: Ray cluster address (``None``: ``$RAY_ADDRESS`` or a local Ray instance).
        case_id, operator, note: custody facts recorded with every result.
        retry_errors: analyse again the files that ended in error before.
        file_reports: write the per-file JSON and HTML reports.
        limits: media size limits.
        timeout_s: wall-clock limit of one file's analysis in seconds (``None``: none); a file past it is an error
            row ("timeout"), and a worker stuck past it in native code is ended and replaced.
    """

    roots: list[Path]
    out_dir: Path
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    follow_links: bool = False
    analyzers: list[str] | None = None
    workers: int | None = None
    backend: str = "local"
    ray_address: str | None = None
    case_id: str | None = None
    operator: str | None = None
    note: str | None = None
    retry_errors: bool = False
    file_reports: bool = True
    limits: MediaLimits = field(default_factory=MediaLimits)
    timeout_s: float | None = 600.0

    def __post_init__(self) -> None:
        if self.analyzers is None:
            self.analyzers = registry.default_names()


class AuditError(RuntimeError):
    """An audit that cannot start: the folder is in use, or the backend is not available."""


class WorkerLost(Exception):
    """The worker analysing a file died before answering (crash, out-of-memory kill)."""


# -- backends ---------------------------------------------------------------------------------------

class Backend(Protocol):
    """Runs tasks on ``workers`` workers, keeping at most ``capacity`` tasks in flight."""

    workers: int
    capacity: int

    def submit(self, task: Task) -> None: ...

    def wait(self) -> list[tuple[Task, Outcome | WorkerLost]]:
        """Block until at least one task finishes; return every finished one."""

    def close(self) -> None: ...


_WORKER: FileAnalyser | None = None  # the analyser of this worker process, built by the pool initializer


def _init_worker(analyzers: list[str] | None, limits: MediaLimits, timeout_s: float | None) -> None:
    global _WORKER
    _WORKER = FileAnalyser(analyzers, limits, timeout_s)


def _run_in_worker(task: Task) -> Outcome:
    assert _WORKER is not None, "worker initializer did not run"
    return _WORKER.analyse(task)


class LocalBackend:
    """A process pool on this machine; a broken pool (a worker died) is replaced transparently."""

    def __init__(
        self, workers: int, analyzers: list[str] | None, limits: MediaLimits, timeout_s: float | None = None
    ) -> None:
        self.workers = workers
        self.capacity = 2 * workers
        self._initargs = (analyzers, limits, timeout_s)
        self._executor: ProcessPoolExecutor | None = None
        self._futures: dict[Future[Outcome], Task] = {}
        self._lost: list[tuple[Task, WorkerLost]] = []  # lost with a broken pool, not yet reported
        # Workers share the cores: one math thread each unless the operator chose otherwise.
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, threads)

    def _start_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=self._initargs
        )

    def _retire_broken_pool(self) -> None:
        """Every task still in a broken pool is lost with it; the next submit starts a fresh pool."""
        self._lost += [(task, WorkerLost("worker pool broken")) for task in self._futures.values()]
        self._futures.clear()
        assert self._executor is not None
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def submit(self, task: Task) -> None:
        if self._executor is None:
            self._executor = self._start_pool()
        try:
            future = self._executor.submit(_run_in_worker, task)
        except BrokenProcessPool:  # a worker died since the last wait
            self._retire_broken_pool()
            self._executor = self._start_pool()
            future = self._executor.submit(_run_in_worker, task)
        self._futures[future] = task

    def wait(self) -> list[tuple[Task, Outcome | WorkerLost]]:
        finished, self._lost = self._lost, []
        if not self._futures:
            return finished
        done, _ = wait(self._futures, timeout=0 if finished else None, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            task = self._futures.pop(future)
            exc = future.exception()
            if exc is None:
                finished.append((task, future.result()))
            elif isinstance(exc, BrokenProcessPool):
                broken = True
                finished.append((task, WorkerLost(str(exc))))
            else:  # e.g. a result that could not be sent back
                finished.append((task, error_outcome(task, "internal", f"{type(exc).__name__}: {exc}")))
        if broken:
            self._retire_broken_pool()
        return finished

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class RayBackend:
    """One Ray actor per worker; a dead actor is restarted by Ray and its tasks reported lost."""

    def __init__(
        self,
        workers: int | None,
        analyzers: list[str] | None,
        limits: MediaLimits,
        address: str | None,
        timeout_s: float | None = None,
    ) -> None:
        try:
            import ray
        except ImportError as exc:
            raise AuditError(
                "the ray backend needs Ray, which is not installed: pip install 'img2img-forensics[ray]'"
            ) from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(num_cpus=1, max_restarts=-1)(FileAnalyser)  # one analyser (and its models) per actor
        self._actors = [actor.remote(analyzers, limits, timeout_s) for _ in range(n)]
        self._load = [0] * n
        self._refs: dict[Any, tuple[Task, int]] = {}
        self.workers = n
        self.capacity = 2 * n

    def submit(self, task: Task) -> None:
        i = min(range(len(self._actors)), key=self._load.__getitem__)
        self._refs[self._actors[i].analyse.remote(task)] = (task, i)
        self._load[i] += 1

    def wait(self) -> list[tuple[Task, Outcome | WorkerLost]]:
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1)
        finished: list[tuple[Task, Outcome | WorkerLost]] = []
        for ref in ready:
            task, i = self._refs.pop(ref)
            self._load[i] -= 1
            try:
                finished.append((task, ray.get(ref)))
            except ray.exceptions.RayTaskError as exc:
                finished.append((task, error_outcome(task, "internal", f"{type(exc).__name__}: {exc}")))
            except ray.exceptions.RayError as exc:  # actor died, node lost, out of memory
                finished.append((task, WorkerLost(str(exc))))
        return finished

    def close(self) -> None:
        for actor in self._actors:
            self._ray.kill(actor)
        if self._started:
            self._ray.shutdown()


def make_backend(config: AuditConfig) -> LocalBackend | RayBackend:
    """The backend named by ``config.backend``; :class:`AuditError` if it cannot be used."""
    if config.backend == "ray":
        return RayBackend(config.workers, config.analyzers, config.limits, config.ray_address, config.timeout_s)
    if config.backend == "local":
        return LocalBackend(config.workers or os.cpu_count() or 1, config.analyzers, config.limits, config.timeout_s)
    raise AuditError(f"unknown backend {config.backend!r}: use 'local' or 'ray'")


# -- the audit --------------------------------------------------------------------------------------

@dataclass
class AuditSummary:
    """What one invocation did, and the state of the whole audit after it."""

    out_dir: Path
    run_id: int
    discovered: int
    new_items: int
    analysed: int
    elapsed_s: float
    totals: dict[str, Any]


def _lock(out_dir: Path) -> int:
    """An exclusive lock on the audit folder: two audits writing one ledger would corrupt custody."""
    fd = os.open(out_dir / LEDGER_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise AuditError(f"another audit is running on {out_dir}") from exc
    return fd


def _key_for(path: Path) -> tuple[str, str | None]:
    """Content key and SHA-256 of a file; a file that cannot be read gets a key from its path."""
    try:
        sha = sha256_file(path)
    except OSError:
        return UNREADABLE_PREFIX + hashlib.sha256(str(path).encode()).hexdigest(), None
    return sha, sha


def _discover(config: AuditConfig, ledger: Ledger, run_id: int, progress: Progress | None) -> tuple[int, int]:
    """Walk the roots into the ledger; return (paths seen, new distinct contents)."""
    walker = Walker(config.roots, config.include, config.exclude, config.follow_links, prune=[config.out_dir])
    bar = progress.add_task("discovering", total=None) if progress else None
    seen = new = 0
    for entry in walker:
        if isinstance(entry, Skipped):
            ledger.add_skipped(str(entry.path), entry.reason, run_id)
            continue
        st, path = entry.st, str(entry.path)
        key = ledger.known_key(path, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key is None or key.startswith(UNREADABLE_PREFIX):
            key, sha = _key_for(entry.path)
        else:
            sha = key
        is_new, previous = ledger.add_path(path, key, sha, st.st_size, st.st_mtime_ns, st.st_ctime_ns, run_id)
        if previous is not None and progress:
            progress.console.print(f"[yellow]warning[/]: {path} changed since it was audited ({previous[:12]}…)")
        seen += 1
        new += is_new
        if progress and bar is not None:
            progress.update(bar, advance=1, description=f"discovering ({new} new)")
    ledger.flush()
    if progress and bar is not None:
        progress.update(bar, total=seen, completed=seen)
    return seen, new


def _record(out_dir: Path, ledger: Ledger, outcome: Outcome, run_fields: dict[str, Any]) -> None:
    """Write a file's reports, then commit its ledger row: the row is the proof the reports exist."""
    row = outcome.row | run_fields
    for ext, text in (("json", outcome.report_json), ("html", outcome.report_html)):
        if text is not None:
            rel = f"{FILES_DIR}/{outcome.key}.{ext}"
            with atomic_writer(out_dir / rel, encoding="utf-8", fsync=True) as fh:  # the ledger row vouches for it
                fh.write(text)
            row[f"report_{ext}"] = rel
    ledger.complete(outcome.key, row, outcome.thumbnail, run_fields["run_id"])


def _pending_tasks(ledger: Ledger, file_reports: bool) -> Iterator[Task]:
    for key, path, sha in ledger.pending():
        yield Task(key, path, sha, file_reports)


def _analyse(
    config: AuditConfig, backend: Backend, ledger: Ledger, run_fields: dict[str, Any], progress: Progress | None
) -> tuple[int, int]:
    """Analyse every pending item through ``backend``; return (files analysed, worker deaths seen)."""
    total = ledger.count("pending")
    bar = progress.add_task("analysing", total=total) if progress and total else None
    queue = _pending_tasks(ledger, config.file_reports)
    suspects: deque[Task] = deque()  # in flight when a worker died: re-run alone to find the culprit
    solo: set[str] = set()  # keys submitted alone: if their worker dies, they killed it
    in_flight = done = lost = 0
    while True:
        while in_flight < backend.capacity and not (suspects and in_flight):
            if suspects:
                task = suspects.popleft()
                solo.add(task.key)
            elif (task := next(queue, None)) is None:
                break
            backend.submit(task)
            in_flight += 1
        if in_flight == 0:
            break
        for task, result in backend.wait():
            in_flight -= 1
            if isinstance(result, WorkerLost):
                lost += 1
                if task.key not in solo:
                    suspects.append(task)
                    continue
                result = error_outcome(task, "worker_crashed", "the analysis killed its worker process (a crash, an "
                                       f"out-of-memory kill, or stuck in native code past the time limit: {result})")
            _record(config.out_dir, ledger, result, run_fields)
            done += 1
            if progress and bar is not None:
                progress.update(bar, advance=1)
    return done, lost


def _peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child, in MiB (Linux: KiB units)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024**2
    return {
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale, 1),
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale, 1),
    }


def run_audit(config: AuditConfig, progress: Progress | None = None) -> AuditSummary:
    """Run (or resume) an audit and write every output; see the module docstring.

    Raises:
        AuditError: the folder is locked by another audit or the backend cannot be used.
        CaseMismatch: the folder belongs to another case.
        KeyError: an unknown analyzer name.
    """
    start = time.perf_counter()
    out = config.out_dir
    (out / FILES_DIR).mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        backend = make_backend(config)  # fail before the walk if the backend cannot run; workers start lazily
        ledger = Ledger(out / LEDGER_NAME, config.case_id)
        try:
            info = {
                "tool_version": __version__,
                "operator": config.operator,
                "note": config.note,
                "case_id": ledger.meta("case_id"),
                "roots": [str(r) for r in config.roots],
                "analyzers": registry.versions(config.analyzers),
                "host": platform.node(),
                "python": platform.python_version(),
            }
            run_id = ledger.start_run(info)
            run_fields = {"run_id": run_id, "case_id": info["case_id"], "operator": config.operator,
                          "note": config.note}
            seen, new = _discover(config, ledger, run_id, progress)
            if config.retry_errors:
                ledger.retry_errors()
            try:
                analysed, lost = _analyse(config, backend, ledger, run_fields, progress)
            finally:
                backend.close()
            elapsed = time.perf_counter() - start
            facts = {"backend": config.backend, "workers": backend.workers, "tasks_lost_with_a_worker": lost}
            ledger.finish_run(run_id, facts | _peak_rss_mb() | {
                "discovered": seen, "new_items": new, "analysed": analysed, "elapsed_s": round(elapsed, 3)})
            write_results(ledger, out)
            write_html_report(ledger, out)
            write_audit_json(ledger, out)
            totals = ledger.summary()
        finally:
            ledger.close()
        write_manifest(out)
    finally:
        os.close(lock)
    return AuditSummary(out, run_id, seen, new, analysed, time.perf_counter() - start, totals)
