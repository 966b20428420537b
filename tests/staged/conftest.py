"""Staged-migration fixtures: the projects under fixtures/staged/, and a database per test (SQLite) or worker (PG)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "coloring"))  # the coloring suite's harness

from coloring_harness import Database, postgresql_database, sqlite_database
from pg_worker_db import worker_database


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    with worker_database("awaitify_staged") as (base_url, name):
        yield postgresql_database(base_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return sqlite_database(tmp_path / "staged.db")
    return request.getfixturevalue("pg_database")  # type: ignore[no-any-return]
