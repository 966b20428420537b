"""How many parsed trees a process holds at once: the rest is let go and parsed again when asked for.

An `ast` tree takes ~50 bytes of memory per byte of source (CPython 3.11, measured on the generated 2,131-file
repository: 356 MiB for 7.4 MB), so a project's trees, held from the parse to the end of the analysis, are most of
what a run holds, and grow with the project. Under a budget a process holds trees while their estimated size fits:
during the parse, the first ones (in path order, the order the analysis reads them); during the analysis, those it
read last, the module being analysed always among them. A tree let go is parsed again when something reads it: the
analysis of its module, the facts of one of its functions another module calls (of a module not analysed, only that
def's own lines are parsed: see `codemods.def_parse`), a hint round that analyses it again (a round reads no tree
for facts that did not change), its rewrite. On the generated benchmark repository that is one more parse of each
module the analysis reads; the memory is the budget plus what the whole project's analysis holds besides trees
(symbol tables, facts).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

# Estimated bytes of memory an `ast` tree takes per byte of the module's source (see the module's docstring).
TREE_BYTES_PER_SOURCE_BYTE = 50
# The default budget: the trees of ~10 MB of source, more than the 2,131-file benchmark repository's analysis holds.
DEFAULT_MAX_TREE_MB = 512.0


class HoldsTree(Protocol):
    text: str  # its size is the estimate of the tree's

    @property
    def holds_tree(self) -> bool: ...

    def release_tree(self) -> None: ...


class TreeBudget:
    """The trees a process holds, least recently read first, within `limit` bytes (None: no limit).

    The budget only counts them: it refers to each holder weakly, so a holder dropped by its owner (an analysis
    over, a file rewritten) is freed as it was before, and leaves the count."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        # told once trees were let go (a cache keyed by their nodes can drop them); a weak reference, for the budget
        # outlives the analysis it serves
        self.on_release: weakref.WeakMethod[Callable[[], None]] | None = None
        # id(holder) -> (holder, its cost), least recently read first; by identity, not by path: while a file is
        # rewritten, the holder of its old text and that of its new one are both alive
        self._held: dict[int, tuple[weakref.ref[HoldsTree], int]] = {}
        self._size = 0
        self._pinned: HoldsTree | None = None
        self.released = 0  # trees let go to stay within the limit

    @staticmethod
    def cost(item: HoldsTree) -> int:
        return len(item.text) * TREE_BYTES_PER_SOURCE_BYTE

    @property
    def size(self) -> int:
        """The estimated bytes of the trees held."""
        return self._size

    def admit(self, item: HoldsTree) -> None:
        """A tree just parsed, before the analysis: held if it fits, let go otherwise (the trees parsed first
        stay: the analysis reads modules in the order they were parsed)."""
        if not item.holds_tree or id(item) in self._held:
            return
        if self.limit is not None and self._size + self.cost(item) > self.limit:
            item.release_tree()
            self.released += 1
            return
        self._add(item)

    def read(self, item: HoldsTree) -> None:
        """`item`'s tree was just asked for: held as the most recent, trees read longest ago let go to make room
        (never the pinned one, and never `item`: a tree in use is held whatever its size)."""
        key = id(item)
        if key in self._held:
            self._held[key] = self._held.pop(key)
            return
        self._add(item)
        if self.limit is None or self._size <= self.limit:
            return
        released_before = self.released
        for ref, _cost in list(self._held.values()):
            if self._size <= self.limit:
                break
            other = ref()
            if other is None or other is item or other is self._pinned:
                continue
            self.forget(other)
            other.release_tree()
            self.released += 1
        told = self.on_release() if self.on_release is not None else None
        if told is not None and self.released > released_before:
            told()

    def forget(self, item: HoldsTree) -> None:
        """`item`'s tree is no longer held (let go by its owner, or by this budget)."""
        self._drop(id(item))

    def _drop(self, key: int) -> None:
        held = self._held.pop(key, None)
        if held is not None:
            self._size -= held[1]

    @contextmanager
    def pinned(self, item: HoldsTree) -> Iterator[None]:
        """Hold `item`'s tree while the block runs, whatever else is read (a module under analysis)."""
        previous, self._pinned = self._pinned, item
        try:
            yield
        finally:
            self._pinned = previous

    def _add(self, item: HoldsTree) -> None:
        key, cost = id(item), self.cost(item)

        def dropped(ref: weakref.ref[HoldsTree]) -> None:  # called as the holder is freed, before its id is reused
            if self._held.get(key, (None, 0))[0] is ref:
                self._drop(key)

        self._held[key] = (weakref.ref(item, dropped), cost)
        self._size += cost


def mb_to_bytes(megabytes: float | None) -> int | None:
    """A `--max-tree-mb` value as a limit in bytes (None: no limit)."""
    return None if megabytes is None else int(megabytes * 1_000_000)
