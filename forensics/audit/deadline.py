"""A time limit per file for audit workers: a file that stalls its analysis becomes an error row, not a stalled audit.

Two layers, because a decoder can hang inside C code where Python never runs:

* soft: ``SIGALRM`` raises :class:`FileTimeout` in the worker's main thread once Python code runs again; the
  worker reports the file as timed out and goes on with the next one;
* hard: if the soft limit has not ended the analysis ``grace_s`` seconds later, a watchdog thread ends the worker
  process with :data:`HARD_EXIT_CODE`; the audit driver then treats it like a crashed worker (re-runs the files
  it held one at a time, and records the file that stalls alone as an error).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HARD_EXIT_CODE = 124  # the exit status `timeout(1)` uses


class FileTimeout(BaseException):
    """The analysis of one file ran past its time limit.

    A ``BaseException``, like ``KeyboardInterrupt``, so that the ``except Exception`` of an analyzer or of the
    scanner does not swallow it and carry on with the next analyzer.
    """


@contextmanager
def deadline(seconds: float | None, grace_s: float = 30.0) -> Iterator[None]:
    """Limit the enclosed code to ``seconds`` of wall-clock time (``None`` or 0: no limit).

    Only the main thread of a process receives signals: elsewhere (e.g. a threaded actor) no limit is applied.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise FileTimeout(f"the analysis ran past the time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    watchdog = threading.Timer(seconds + grace_s, os._exit, args=(HARD_EXIT_CODE,))
    watchdog.daemon = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    watchdog.start()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        watchdog.cancel()
        signal.signal(signal.SIGALRM, previous)
