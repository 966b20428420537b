"""Ctrl-C and SIGTERM, in the `awaitify` process and in the processes it forks.

SIGTERM (a `kill`, a cancelled CI job, `timeout`) ends a run as Ctrl-C does (`handle_interrupts`): through
every clean-up an interrupt runs (forked processes ended, the writes under way finished), then "Aborted!". Either
way the exit code is the one a process the signal killed would have, as a shell reports it: 130 for Ctrl-C, 143
for SIGTERM (exit 1 means findings or a diff: a CI script must not take an interrupted `check` for one). Without
it SIGTERM made the run vanish mid-way: its forked processes went on, blocked forever on a pipe, and a file being
written left its temporary copy behind.

A process pool's workers (`process_pool`) leave interrupts to this process, which cancels the work not started,
lets the work under way finish and ends the pool: interrupted themselves they printed a traceback each. Should
this process die without a clean-up (SIGKILL, the kernel's OOM killer), Linux ends them too.

A process forked to share the analysis (the parse helper, the analysis workers) stops at the first Ctrl-C,
quietly (`start_quiet_child`): the run's own process does the clean-up and reports it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing.context
import multiprocessing.process
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


_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
_received: signal.Signals | None = None  # the first interrupt of the run


def handle_interrupts() -> None:
    """From now on Ctrl-C raises KeyboardInterrupt and SIGTERM `Terminated` in this process (and in the processes
    it forks, until they change it), and the first one sets the exit code (`exit_code_after_interrupt`)."""
    for number in _INTERRUPTS:
        signal.signal(number, _raise_interrupt)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    global _received
    _received = _received or signal.Signals(signum)
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def stop_handling_interrupts() -> None:
    """Ctrl-C and SIGTERM do as by default again (the run is over: nothing is left to clean up)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def exit_code_after_interrupt() -> int | None:
    """128 + the signal that interrupted the run (130 for Ctrl-C, 143 for SIGTERM), or None: not interrupted."""
    return None if _received is None else 128 + _received


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

    previous = {number: signal.signal(number, record) for number in _INTERRUPTS}
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


def start_quiet_child(process: multiprocessing.process.BaseProcess) -> None:
    """Fork `process`, whose target is `quiet_child`, with Ctrl-C and SIGTERM held back until it has its own
    handler: one arriving meanwhile reaches this process once the child has started (raised here), and the child
    once it can end quietly. Without it an interrupt could reach the child while it ran this process' handler
    (a traceback), or a second time while it handled the first (a broken pipe, then the interrupt: a traceback
    "Process ForkProcess-2", seen on CI)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def quiet_child(body: Callable[..., None], *args: object) -> None:
    """A forked process' target (see `start_quiet_child`): `body(*args)`, ended by the first Ctrl-C or SIGTERM to
    reach the process, which ignores any later one. `body` sees the first as a KeyboardInterrupt; if it lets it
    go, or the interrupt comes while it is handling another error, the process just ends."""

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for number in _INTERRUPTS:
            signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt

    try:
        for number in _INTERRUPTS:
            signal.signal(number, stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)
        body(*args)
    except KeyboardInterrupt:
        return


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
