"""A wall-clock limit on the work done for one file, so that one pathological file cannot stall a run.

The limit is a real-time interval timer whose signal raises `FileTimeout` in the code that is running,
so it interrupts pure-Python loops wherever they are. Signals are only delivered to the main thread: in
any other thread (an embedding application, a test runner's worker thread) the work runs without a limit.
"""

from __future__ import annotations

import logging
import signal
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
