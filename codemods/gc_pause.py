"""The cyclic garbage collector paused while the engine builds its trees.

Parsing a project allocates millions of `ast` and LibCST nodes that live until the run ends; with the
collector on, CPython walks them again and again as they pile up (a generated 2,000-file project spent a
third of its analysis time there). Those trees hold no reference cycles, so reference counting frees them
without the collector; it is switched back on, as it was, when the engine returns.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
