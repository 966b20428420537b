"""What each function's facts were computed from, so a new hint round re-analyses only what it can change.

The analysis runs in rounds: queries and sessions handed to a project function type its parameters ("hints"),
and a round is repeated while the hints grow. A function's facts depend only on its own code (fixed), the hints
it read, and the facts of the functions it asked for (including the "in progress" answer of a recursive call).
Hints only grow, so a function whose every hint read still has the value it saw, and none of whose requested
functions is re-analysed, would come out of the next round exactly as it is: its facts are kept. The others,
and every function that (transitively) asked for one of them, are dropped from the facts cache and recomputed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class _Record:
    hint_reads: dict[Hashable, object] = field(default_factory=dict)  # key -> value at the first read
    requested: set[str] = field(default_factory=set)  # functions whose facts (or absence) were used


class FactDependencies:
    def __init__(self) -> None:
        self._records: dict[str, _Record] = {}
        self._stack: list[_Record] = []

    def clear(self) -> None:
        self._records.clear()
        self._stack.clear()

    def begin(self, qualname: str) -> None:
        """The analysis of `qualname` starts (its reads are recorded until `end`)."""
        record = _Record()
        self._records[qualname] = record
        self._stack.append(record)

    def end(self) -> None:
        self._stack.pop()

    def hint_read(self, key: Hashable, value: object) -> None:
        """The function being analysed read hint `key` (the first value seen is kept: hints only grow)."""
        if self._stack:
            self._stack[-1].hint_reads.setdefault(key, value)

    def requested(self, qualname: str) -> None:
        """The function being analysed used the facts of `qualname` (or their absence)."""
        if self._stack:
            self._stack[-1].requested.add(qualname)

    def stale(self, current_hint: Callable[[Hashable], object]) -> set[str]:
        """Functions to re-analyse: a hint they read has changed, or a function they asked for is stale."""
        stale = {
            qualname
            for qualname, record in self._records.items()
            if any(current_hint(key) != seen for key, seen in record.hint_reads.items())
        }
        askers: dict[str, set[str]] = {}
        for qualname, record in self._records.items():
            for callee in record.requested:
                askers.setdefault(callee, set()).add(qualname)
        pending = list(stale)
        while pending:
            for asker in askers.get(pending.pop(), ()):
                if asker not in stale:
                    stale.add(asker)
                    pending.append(asker)
        for qualname in stale:
            del self._records[qualname]
        return stale
