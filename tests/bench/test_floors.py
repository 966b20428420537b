"""The parse floors of the tool-speed benchmark, and the memory of holding every tree (`ast-kept`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import floors, report


@pytest.mark.parametrize("kind", ["libcst", "ast", "ast-kept"])
def test_each_floor_reads_every_file(kind: str, tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\ny = 2\n")
    (tmp_path / "b.py").write_text("def f():\n    return 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "c.py").write_text("skipped = True\n")
    measured = floors.measure(kind, tmp_path)
    assert (measured["floor"], measured["files"], measured["lines"]) == (kind, 2, 4)


def _tree(**extra: Any) -> dict[str, Any]:
    floor = {"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mib": 40}
    run = {"wall_s": 2.0, "cpu_s": 3.0, "lines_per_s": 5.0, "x_libcst_floor": 0.5, "x_libcst_floor_cpu": 0.6}
    run |= {"x_ast_floor": 3.0, "x_ast_floor_cpu": 4.0, "peak_rss_mib": 50, "peak_tree_rss_mib": 90}
    run |= {"returncode": 0, "crashed": False, "timed_out": False}
    return {
        "label": "generated",
        "files": 2,
        "lines": 10,
        "jobs": 2,
        "files_changed_by_migrate": 1,
        "floors": {"libcst": floor, "ast": floor},
        "runs": {key: run for key in report._RUN_LABELS},
        "targets": {},
        **extra,
    }


def test_the_memory_of_the_trees_is_reported_when_measured() -> None:
    assert "Holding every module's `ast` tree at once" not in "\n".join(report._tool_section({"generated": _tree()}))
    text = "\n".join(report._tool_section({"generated": _tree(trees_held_rss_mib=342.4)}))
    assert "Holding every module's `ast` tree at once, and nothing else: 342 MiB peak RSS" in text
