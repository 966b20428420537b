"""Fixtures for the CLI tests (helpers live in cli_helpers.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from cli_helpers import FAKE_MAIN, Result, run


@pytest.fixture
def awaitify() -> Callable[..., Result]:
    """The real CLI and the real engine (`python -m codemods`)."""

    def call(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Result:
        return run([sys.executable, "-m", "codemods", *args], cwd, env)

    return call


@pytest.fixture
def fake_awaitify() -> Callable[..., Result]:
    """The real CLI with the stand-in engine of fake_engine_main.py (I/O mechanics only)."""

    def call(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Result:
        return run([sys.executable, str(FAKE_MAIN), *args], cwd, env)

    return call


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project root (has a pyproject.toml, so it is the root for relative paths)."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    return root
