"""Databases for the rule tests: a SQLite file per test, a PostgreSQL database per xdist worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixture_harness import Database, postgresql_database, sqlite_database
from pg_worker_db import worker_database


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    """This worker's own PostgreSQL database, created once per session and dropped at its end."""
    with worker_database("awaitify_rules") as (base_url, name):
        yield postgresql_database(base_url, name)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    return sqlite_database(tmp_path / "fixture.db")


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """The backend named by the test's `backend` parameter."""
    backend = request.node.callspec.params["backend"]
    if backend == "sqlite":
        return sqlite_database(tmp_path / "fixture.db")
    return request.getfixturevalue("pg_database")  # type: ignore[no-any-return]
