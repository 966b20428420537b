"""The parse of a big project, shared with one forked helper process.

Before the analysis can start, every file is parsed and its symbols collected, one file after the other: on the
generated 2,131-file benchmark repository that took ~1.9 of `check`'s ~4.1 s, on one core while the other waited.
A helper forked at the start parses about half the bytes at the same time and sends back their symbols, which
pickle small (~3 MB for half that repository, no trees: each function's def statement is let go and found again, by
where it starts, in a fresh parse of its module, as under a tree budget: see `tree_budget`). Their trees stay in the
helper and go with it: the analysis parses a module of the helper's again when it reads it. So the helper gets the
files the analysis is least likely to read (`relevance.likely_analysed`: schemas, DTOs, plain utilities), and the
last of the others only when those are not half the bytes.

Only plain data crosses (symbol tables and failure messages). Should the helper die or fail to start, this
process parses its files too (`HelperLost`): the results are the same either way.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

from codemods import interrupts
from codemods.parallel_analysis import end_process, reason

log = logging.getLogger(__name__)

Result = TypeVar("Result")

# The helper's share of the bytes to parse: it also pickles what it found, and this process unpickles it.
HELPER_SHARE = 0.45


class HelperLost(Exception):
    """The helper could not be started, died, or failed: its files are to be parsed in this process."""


def split(
    paths: Sequence[str], sizes: Mapping[str, int], kept_here: Callable[[str], bool] | None = None
) -> tuple[list[str], list[str]]:
    """(this process' paths, the helper's), each in the order of `paths`: the helper gets ~`HELPER_SHARE` of the
    bytes. `kept_here(path)`: the files this process parses first (those the analysis will read: the trees of the
    helper's files stay in the helper, and a module the analysis reads is parsed again); of the others, and then of
    these should they outweigh this process' share, the helper takes the last."""
    total = sum(sizes[path] for path in paths)
    first = {path for path in paths if kept_here is None or kept_here(path)}
    preferred, rest = [path for path in paths if path in first], [path for path in paths if path not in first]
    mine: set[str] = set()
    kept = 0
    for path in [*preferred, *rest]:
        if kept >= total * (1 - HELPER_SHARE):
            break
        mine.add(path)
        kept += sizes[path]
    return [path for path in paths if path in mine], [path for path in paths if path not in mine]


class Helper(Generic[Result]):
    """A forked process computing `work()` while this one goes on; `result()` waits for it."""

    def __init__(self, work: Callable[[], Result]) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, child_end = context.Pipe(duplex=False)
        arguments = (_helper_main, child_end, work, self._connection)
        self._process = context.Process(target=interrupts.quiet_child, args=arguments, daemon=True)
        try:
            interrupts.start_quiet_child(self._process)
        except OSError as exc:
            self._connection.close()
            raise HelperLost(f"cannot start the parse helper: {exc}") from exc
        except BaseException:  # interrupted as it started
            if self._process.pid is not None:
                self.kill()
            raise
        finally:
            child_end.close()

    def result(self) -> Result:
        try:
            status, payload = self._connection.recv()
        except (EOFError, OSError) as exc:
            raise HelperLost(f"the parse helper stopped: {reason(exc)}") from exc
        finally:
            self._stop()
        if status != "ok":
            raise HelperLost(f"the parse helper failed: {payload}")
        return payload  # type: ignore[no-any-return]

    def _stop(self) -> None:
        """Wait for the helper to end (it has sent its result, or failed), or end it."""
        self._connection.close()
        end_process(self._process)

    def kill(self) -> None:
        """End the helper now, whatever it is doing (this process was interrupted)."""
        self._connection.close()
        end_process(self._process, grace=0)


def _helper_main(connection: Connection, work: Callable[[], object], parent_end: Connection) -> None:
    """The helper: `work()`, and its result sent. `parent_end`: the parent's end of the pipe, inherited by the
    fork: closed, so that should the parent die, the send fails (a broken pipe) instead of blocking forever."""
    parent_end.close()
    try:
        result = work()
    except BaseException as exc:  # reported to the parent, which parses the helper's files itself
        with contextlib.suppress(OSError, ValueError):
            connection.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        connection.send(("ok", result))  # pickled whole before a byte is written
    except (OSError, ValueError):
        return  # the parent gone: nothing to tell
    except Exception as exc:  # it does not pickle (an expression of a symbol table nested too deep to)
        with contextlib.suppress(OSError, ValueError):
            connection.send(("error", f"{type(exc).__name__}: {exc}"))
