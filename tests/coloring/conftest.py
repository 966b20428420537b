"""Databases for the coloring run tests: a SQLite file per test, a PostgreSQL database per xdist worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from coloring_harness import Database, postgresql_database, sqlite_database
from pg_worker_db import worker_database


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    """This worker's own PostgreSQL database, created once per session and dropped at its end."""
    with worker_database("awaitify_coloring") as (base_url, name):
        yield postgresql_database(base_url, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return sqlite_database(tmp_path / "coloring.db")
    return request.getfixturevalue("pg_database")  # type: ignore[no-any-return]
