"""The processes a run forks to share the analysis (`interrupts.quiet_child`) end without a word at an interrupt.

Ctrl-C reaches every process of the group at once: the run's own process stops the children, which may find their
pipe to it already closed (a broken pipe) just as their own interrupt arrives. Each child here runs in a separate
Python, as the tool's do, so what it prints is what a user would see.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from rel_helpers import TRACEBACK

ROOT = Path(__file__).resolve().parents[2]

# A parent forking one quiet child running BODY (the code of `body()`), then printing the child's exit code.
PROGRAM = """
import multiprocessing, os, signal, sys, time
from codemods import interrupts

def body():
{body}

if __name__ == "__main__":
    interrupts.handle_interrupts()  # as the run does: the child inherits this process' handlers
    process = multiprocessing.get_context("fork").Process(target=interrupts.quiet_child, args=(body,))
    interrupts.start_quiet_child(process)
    process.join(timeout=20)
    print("exitcode", process.exitcode)
"""


def _run(body: str) -> subprocess.CompletedProcess[str]:
    program = PROGRAM.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )


def test_an_interrupt_while_a_child_handles_a_broken_pipe_ends_it_quietly() -> None:
    # what CI saw: the parent had closed the pipe (ConnectionResetError), and Ctrl-C came in the handler
    result = _run(
        """
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except BaseException:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        """
    )
    assert TRACEBACK not in result.stderr, result.stderr
    assert result.stdout.split() == ["exitcode", "0"], result


def test_a_second_interrupt_reaching_a_child_is_ignored() -> None:
    result = _run(
        """
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(10)
        except KeyboardInterrupt:
            os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while it cleans up
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.5)
            print("cleaned up", flush=True)
        """
    )
    assert TRACEBACK not in result.stderr, result.stderr
    assert result.stdout.split() == ["cleaned", "up", "exitcode", "0"], result


# A parent interrupted while it forks (the signal sent by `start` itself, just before the fork).
INTERRUPTED_START = """
import multiprocessing, os, signal
from codemods import interrupts

class Process(multiprocessing.get_context("fork").Process):
    def start(self):
        os.kill(os.getpid(), signal.SIGINT)
        super().start()

def body():
    pass  # prints nothing: its lines and the parent's could interleave

if __name__ == "__main__":
    interrupts.handle_interrupts()
    process = Process(target=interrupts.quiet_child, args=(body,))
    try:
        interrupts.start_quiet_child(process)
        print("not interrupted")
    except KeyboardInterrupt:
        print("interrupted after the start:", process.pid is not None, flush=True)
    process.join(timeout=20)
    print("exitcode", process.exitcode)
"""


def test_an_interrupt_while_a_child_starts_reaches_the_parent_once_the_child_has_started() -> None:
    result = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_START], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert TRACEBACK not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert "interrupted after the start: True" in lines, result
    assert lines[-1] == "exitcode 0", result
