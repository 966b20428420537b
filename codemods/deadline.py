"""A wall-clock limit on the work done for one file, so that one pathological file cannot stall a run.

The limit is a real-time interval timer whose signal raises `FileTimeout` in the code that is running,
so it interrupts pure-Python loops wherever they are. Signals are only delivered to the main thread: in
any other thread (an embedding application, a test runner's worker thread) the work runs without a limit.

A module the work on a file imports the first time it is needed (LibCST: ~0.15 s, once per process) is imported
with `import_untimed`, on a stopped clock: the import is no file's cost, and counted against the file that first
needed it, it made that file miss a sub-second limit.
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)


class FileTimeout(Exception):
    """The work on one file took longer than the per-file limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"gave up after {seconds:g} s (the per-file limit; raise it with --file-timeout)")
        self.seconds = seconds


def _can_time() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def file_deadline(seconds: float | None) -> Iterator[None]:
    """Raise FileTimeout inside the block when it runs longer than `seconds` (None or 0: no limit)."""
    if not seconds or not _can_time():
        yield
        return

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise FileTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def import_untimed(module: str) -> None:
    """Import `module` unless it is already, with the running `file_deadline`'s clock stopped meanwhile."""
    if module in sys.modules:
        return
    remaining = signal.setitimer(signal.ITIMER_REAL, 0)[0] if _can_time() else 0.0
    try:
        importlib.import_module(module)
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining)
