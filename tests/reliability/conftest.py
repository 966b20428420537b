"""Fixtures for the reliability tests (helpers live in rel_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rel_helpers import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project root (has a pyproject.toml, so it is the root of relative paths)."""
    return make_project(tmp_path / "proj")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the migrated target_backend under database/Redis faults (tests/faults)")
