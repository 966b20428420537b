"""Fixtures shared by the engine's tests."""

from __future__ import annotations

import pytest

from tests.engine.trees import generated_repo, python_files


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A small generated repository (4 domains), path -> text: every rule family, and plain modules."""
    return python_files(generated_repo(tmp_path_factory.mktemp("generated") / "repo", domains=4))
