"""Databases for the coloring run tests: a SQLite file per test, a PostgreSQL database per xdist worker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from coloring_harness import Database, postgresql_database, sqlite_database
from sqlalchemy.engine import make_url

PG_ENV = "AWAITIFY_PG_URL"


def _admin_connection(base_url: str) -> Any:
    import psycopg2

    url = make_url(base_url)
    return psycopg2.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        connect_timeout=5,
    )


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database]:
    """This worker's own database, created once per session and dropped at its end."""
    base_url = os.environ.get(PG_ENV)
    if not base_url:
        pytest.skip(f"{PG_ENV} is not set")
    try:
        admin = _admin_connection(base_url)
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    admin.autocommit = True
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"awaitify_coloring_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgresql_database(base_url, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return sqlite_database(tmp_path / "coloring.db")
    return request.getfixturevalue("pg_database")  # type: ignore[no-any-return]
