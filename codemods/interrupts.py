"""Ctrl-C and SIGTERM, in the `awaitify` process and in the processes it forks.

SIGTERM (a `kill`, a cancelled CI job, `timeout`) ends a run as Ctrl-C does (`handle_termination`): through
every clean-up an interrupt runs (forked processes ended, the writes under way finished), then "Aborted!", and
the exit code a process killed by it would have (143). Without it the run vanished mid-way: its forked
processes went on, blocked forever on a pipe, and a file being written left its temporary copy behind.

A process pool's workers (`process_pool`) leave interrupts to this process, which cancels the work not started,
lets the work under way finish and ends the pool: interrupted themselves they printed a traceback each. Should
this process die without a clean-up (SIGKILL, the kernel's OOM killer), Linux ends them too.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing.context
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

# Linux's prctl(2) option: the signal a process gets when the thread that forked it ends.
_PR_SET_PDEATHSIG = 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the run is, handled wherever an interrupt is (click: "Aborted!")."""


_terminated = False


def handle_termination() -> None:
    """From now on SIGTERM raises `Terminated` in this process (and in the processes it forks, until they change it)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


def _raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    global _terminated
    _terminated = True
    raise Terminated


def stop_handling_termination() -> None:
    """SIGTERM kills this process again, as by default (the run is over: nothing is left to clean up)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def was_terminated() -> bool:
    return _terminated


# The exit code of a run ended by SIGTERM: that of a process the signal killed, as a shell reports it.
TERMINATED_EXIT_CODE = 128 + signal.SIGTERM


@contextlib.contextmanager
def deferred(work: str) -> Iterator[None]:
    """Ctrl-C and SIGTERM arriving in the block take effect once it is over (in the main thread; elsewhere the
    block runs as it is): for `work` that must not stop half-way, and is quick (the writes of a run)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[signal.Signals] = []

    def record(signum: int, _frame: FrameType | None) -> None:
        if not received:
            log.warning("interrupted: finishing %s first", work)
        received.append(signal.Signals(signum))

    previous = {number: signal.signal(number, record) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            _deliver(received[0], previous[received[0]])


def _deliver(number: int, handler: signal.Handlers | Callable[[int, FrameType | None], Any] | int | None) -> None:
    """What the signal would have done, had it come now."""
    if callable(handler):
        handler(number, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), number)


@contextlib.contextmanager
def process_pool(workers: int, context: multiprocessing.context.BaseContext | None) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose workers ignore interrupts: on one here (or any error), the tasks not started are
    cancelled, those under way finish, and the workers end before it goes on."""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_pool_worker_started, initargs=(os.getpid(),)
    )
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _pool_worker_started(parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _end_with_parent(parent)


def _end_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent ends (elsewhere: nothing). A pool's idle worker waits on a
    queue it holds both ends of, so it would never learn that the parent is gone."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the request: it would never come
        os._exit(1)
