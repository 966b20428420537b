"""The CPU of pass 1 alone (`collect_symbols`), and of what the parse helper adds to it, over a project's files.

`python -m bench.symbols_cpu [ROOT] [REPEATS]` parses every file of ROOT (by default the generated repository, made
afresh in a temporary directory as `make bench` makes it) once,
with the collector paused as the engine pauses it (`gc_pause`), then prints the best of REPEATS (5) process-CPU
times of: `collect_symbols` over every tree (one `SharedExpressions`, as one analysis), `may_read_state` over every
text, and the pickling both ways of every file's symbols as the parse helper sends its share back (def statements
let go: `project_analysis._portable`). Parsing is left out: it is the floor the benchmark compares the tool with.
"""

from __future__ import annotations

import ast
import gc
import logging
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import TypeVar

from bench.floors import python_files
from codemods.symbols import ModuleSymbols, SharedExpressions, collect_symbols, may_read_state

log = logging.getLogger(__name__)
Result = TypeVar("Result")
GENERATED_DOMAINS = 265  # `make bench`'s scale (~2,100 files, 200k lines)


def best_of(repeats: int, work: Callable[[], Result]) -> tuple[float, Result]:
    """The least process CPU time of `repeats` runs of `work`, and what the last one gave."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return min(times), result


def main(root: Path, repeats: int) -> None:
    gc.disable()
    texts = {path.relative_to(root).as_posix(): path.read_text(encoding="utf-8") for path in python_files(root)}
    trees: dict[str, ast.Module] = {}
    for path, text in texts.items():
        try:
            trees[path] = ast.parse(text, filename=path)
        except SyntaxError:
            continue

    def collect() -> list[tuple[str, ModuleSymbols]]:
        shared = SharedExpressions()
        return [(path, collect_symbols(path, tree, texts[path], shared)) for path, tree in trees.items()]

    collect_cpu, found = best_of(repeats, collect)
    state_cpu, _ = best_of(repeats, lambda: [may_read_state(text) for text in texts.values()])
    for _, symbols in found:
        for func in symbols.functions.values():
            func.release_def(None)
    dumps_cpu, data = best_of(repeats, lambda: bytes(ForkingPickler.dumps(found)))
    loads_cpu, _ = best_of(repeats, lambda: pickle.loads(data))
    log.info(
        "%d files: collect_symbols %.3f s, may_read_state %.3f s, pickle dumps %.3f s, loads %.3f s (%.1f MB)",
        len(trees),
        collect_cpu,
        state_cpu,
        dumps_cpu,
        loads_cpu,
        len(data) / 1e6,
    )


def _main(argv: list[str]) -> None:
    repeats = int(argv[1]) if len(argv) > 1 else 5
    if argv:
        main(Path(argv[0]), repeats)
        return
    from bench.run import _generate

    with tempfile.TemporaryDirectory(prefix="awaitify-bench-symbols-") as tmp:
        _generate(Path(tmp) / "generated", GENERATED_DOMAINS)
        main(Path(tmp) / "generated", repeats)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _main(sys.argv[1:])
