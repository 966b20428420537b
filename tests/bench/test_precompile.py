"""The bench byte-compiles the measured tools' own modules first, as a pip install of a wheel does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench import report, tool_speed


def test_every_module_gets_its_bytecode(tmp_path: Path) -> None:
    package = tmp_path / "tool"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "mod.py").write_text("VALUE = 1\n")
    done = tool_speed.precompile([package])
    assert done["byte_compiled"] == ["tool"]
    for source in (package / "__init__.py", package / "sub" / "mod.py"):
        assert Path(importlib.util.cache_from_source(str(source))).is_file(), source


def test_a_module_that_does_not_compile_stops_the_bench(tmp_path: Path) -> None:
    package = tmp_path / "broken"
    package.mkdir()
    (package / "bad.py").write_text("def f(:\n")
    with pytest.raises(RuntimeError, match="byte-compiling failed"):
        tool_speed.precompile([package])


def test_the_results_say_so() -> None:
    with_env = report._bytecode_line({"byte_compiled": ["bench", "codemods"], "PYTHONDONTWRITEBYTECODE": "1"})
    assert "`bench/`, `codemods/`" in with_env and "PYTHONDONTWRITEBYTECODE" in with_env
    without = report._bytecode_line({"byte_compiled": ["codemods"], "PYTHONDONTWRITEBYTECODE": ""})
    assert "PYTHONDONTWRITEBYTECODE" not in without and without.endswith("does.")
