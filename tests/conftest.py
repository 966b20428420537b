"""Puts tests/ on sys.path (rootdir conftest) so the suites share `pg_worker_db`; gives every test its own
`check` cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_check_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`check` keeps results in $XDG_CACHE_HOME (codemods.runner.default_cache_dir), and the CLIs the tests start
    inherit it: with one cache for every test, a test of a stand-in engine (tests/cli/fake_engine_main.py) could be
    answered by what another test's run stored for the same files, and the suite would fill the user's cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache
