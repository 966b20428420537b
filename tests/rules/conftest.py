"""Databases for the rule tests: a SQLite file per test, a PostgreSQL database per xdist worker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fixture_harness import Database, postgresql_database, sqlite_database
from sqlalchemy.engine import make_url

PG_ENV = "AWAITIFY_PG_URL"


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def _admin_connect(base_url: str):  # type: ignore[no-untyped-def]
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
    """A database of this worker's own, created once and dropped at the end of the session."""
    base_url = pg_base_url()
    if base_url is None:
        pytest.skip(f"{PG_ENV} is not set")
    try:
        admin = _admin_connect(base_url)
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{PG_ENV} is set but PostgreSQL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    admin.autocommit = True
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"awaitify_rules_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgresql_database(base_url, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


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
