"""codemods.interrupts: interrupts deferred over work that must not stop half-way, and process pools whose workers
leave interrupts to the parent (the runs themselves: tests/reliability/test_interrupts.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from codemods import interrupts


def test_an_interrupt_in_a_deferred_block_comes_once_it_is_over() -> None:
    done = []
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), interrupts.deferred("the test's work"):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, and records it
        done.append("the rest of the block")
    assert done == ["the rest of the block"]
    assert signal.getsignal(signal.SIGINT) is handler


def test_sigterm_in_a_deferred_block_raises_terminated_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    monkeypatch.setattr(interrupts, "_received", None)
    interrupts.handle_interrupts()
    try:
        with pytest.raises(interrupts.Terminated), interrupts.deferred("the test's work"):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
        assert interrupts.exit_code_after_interrupt() == 143
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def test_ctrl_c_sets_the_exit_code_130(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(interrupts, "_received", None)
    assert interrupts.exit_code_after_interrupt() is None
    interrupts.handle_interrupts()
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        assert interrupts.exit_code_after_interrupt() == 130
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _interrupts_itself() -> str:
    os.kill(os.getpid(), signal.SIGINT)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)
    return "done"


def test_a_pool_worker_leaves_interrupts_to_the_parent() -> None:
    with interrupts.process_pool(1, multiprocessing.get_context("fork")) as pool:
        assert pool.submit(_interrupts_itself).result() == "done"


def test_an_interrupt_cancels_the_pool_work_not_started() -> None:
    with pytest.raises(KeyboardInterrupt), interrupts.process_pool(1, multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(time.sleep, 0.2) for _ in range(20)]
        raise KeyboardInterrupt
    assert futures[-1].cancelled()
    assert not any(future.running() for future in futures)
