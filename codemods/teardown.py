"""Leaving the `awaitify` process without freeing, object by object, what the run built.

A run holds a tree for every file of the project (330 MB of `ast` nodes for a generated 2,000-file project)
and the facts of every function. Freeing them once the results are out costs more than a second there and
serves nothing when the process is about to end: the operating system takes the memory back at once. So the
console script (`run`) keeps them to the end and leaves with `os._exit` once its output is flushed, as mypy
does (`mypy.util.hard_exit`).

`keep` is a no-op unless the console script switched it on: a library caller (the tests, an editor plugin)
gets every object freed as usual.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

_kept: list[object] = []
_keeping = False


def standard_descriptors_opened() -> None:
    """Open /dev/null on any of descriptors 0, 1 and 2 the process was started without (`2>&-`), lowest first.

    Else the first file the run opens takes that number: a source file or a temporary copy being written would
    then be what a forked worker, a C library or a child process writes its errors to as stderr. (Python has
    already set `sys.stdout` / `sys.stderr` to None for a closed one: that stays, see `_main_writing_safely`.)"""
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if opened != descriptor:  # cannot happen when the lower ones are open; never leave a stray one
                os.close(opened)


def keep(value: object) -> None:
    """Hold `value` until the process ends (console script), or nothing (library use)."""
    if _keeping:
        _kept.append(value)


def keeping() -> bool:
    return _keeping


def run_and_exit(main: Callable[[], object]) -> NoReturn:
    """Run the command line `main` (which ends with SystemExit, as click's does) and leave the process
    with its exit code, skipping the teardown of what the run kept.

    The cyclic collector stays off for the run: the kept trees would otherwise be walked by every full
    collection after the engine returns (the engine already pauses it while it works: see gc_pause)."""
    global _keeping
    _keeping = True
    gc.disable()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    logging.shutdown()  # flushes the log handlers
    os._exit(_output_flushed(code))


def _exit_code(code: object) -> int:
    """What the interpreter would exit with for `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    _tell(str(code))
    return 1


def _output_flushed(code: int) -> int:
    """`code`, once the output is flushed; 2 when the last of it could not be written (a full disk), as the
    interpreter's own exit would have said (with a traceback) were the process left the usual way. A reader
    that went away (`awaitify check | head`) changes nothing: nothing more can be said. A stream is None when its
    descriptor was closed as the process started (`2>&-`): nothing to flush."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        pass
    except OSError as exc:
        code = output_lost(exc)
    except ValueError:
        pass  # stdout closed by the caller
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
    return code


def output_closed() -> int:
    """The exit code for a process started with its stdout closed (`awaitify migrate . >&-`), once said why on
    stderr: 2, as for output that cannot be written. The console script asks before any command runs, so nothing
    is done that could not be reported (and no file the run opens takes descriptor 1, the output's number)."""
    _tell("awaitify: cannot write the output: stdout is closed")
    return 2


def output_lost(exc: OSError) -> int:
    """The exit code for output that could not be written, once said why: 1 for a reader that went away
    (`awaitify migrate --diff . | head`: stopped quietly, stdout pointed at /dev/null so that no later flush fails
    again, as the Python docs advise in their "Note on SIGPIPE"), 2 with a line on stderr for anything else (a
    full disk)."""
    if isinstance(exc, BrokenPipeError):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    _tell(f"awaitify: cannot write the output: {exc.strerror or exc}")
    return 2


def _tell(message: str) -> None:
    """`message` as a line on stderr, if it can be written there (not when stderr is closed or full)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"{message}\n")
