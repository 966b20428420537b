"""One PostgreSQL database per xdist worker, created from AWAITIFY_PG_URL and dropped afterwards.

Shared by the suites that run code on PostgreSQL. Without the variable the PostgreSQL legs skip; with
`CI=true` an unreachable server fails them instead (CI must never pass without its PostgreSQL leg).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
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


@contextmanager
def worker_database(prefix: str) -> Iterator[tuple[str, str]]:
    """(base URL, database name) of a fresh database for this worker; dropped when the block ends."""
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
    name = f"{prefix}_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base_url, name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
