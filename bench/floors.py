"""The parse floors of the tool-speed benchmark, single core, on the same files the tool sees.

`python -m bench.floors libcst|ast ROOT` prints JSON: files, lines, wall and CPU seconds of the loop
(read + `libcst.parse_module(src).code`, or read + `ast.parse(src)`), not counting start-up and imports.
`ast-kept` parses like `ast` and keeps every tree: its peak RSS is what holding the project's trees costs.
"""

from __future__ import annotations

import ast
import gc
import json
import sys
import time
from pathlib import Path


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts and ".venv" not in p.parts)


def line_count(files: list[Path]) -> int:
    return sum(path.read_text(encoding="utf-8").count("\n") for path in files)


def measure(kind: str, root: Path) -> dict[str, float | int | str]:
    files = python_files(root)
    if kind == "libcst":
        import libcst

        def parse(src: str) -> object:
            return libcst.parse_module(src).code

    else:

        def parse(src: str) -> object:
            return ast.parse(src)

    lines = 0
    kept: list[object] = []
    if kind == "ast-kept":
        gc.disable()  # as awaitify does while it holds the trees (codemods/gc_pause.py)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for path in files:
        src = path.read_text(encoding="utf-8")
        lines += src.count("\n")
        tree = parse(src)
        if kind == "ast-kept":
            kept.append(tree)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "floor": kind,
        "files": len(files),
        "lines": lines,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
    }


def main() -> int:
    print(json.dumps(measure(sys.argv[1], Path(sys.argv[2]))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
