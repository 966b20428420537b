"""What AWT226's review markers claim, checked by running it (fixtures/review/isinstance_untyped_engine): the engine
and connections the migration makes are no instances of the sync `Engine` / `Connection`, so a check left as it is
takes the other branch, and the markers' advice (test the async class, or both) gives the answer the sync code got.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from fixture_harness import BACKENDS, Database
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


async def _scalar_as_migrated(bind: Any, sql: str) -> Any:
    """fixtures/review/isinstance_untyped_engine.expected.py's `scalar`, its I/O awaited as it would be by hand."""
    if isinstance(bind, Engine):
        async with bind.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    return (await bind.execute(text(sql))).scalar()


async def _scalar_as_advised(bind: Any, sql: str) -> Any:
    if isinstance(bind, AsyncEngine):
        async with bind.connect() as conn:
            return (await conn.execute(text(sql))).scalar()
    return (await bind.execute(text(sql))).scalar()


async def test_sync_classes_do_not_match_the_migrated_engine_and_connection(backend: str, database: Database) -> None:
    sync_engine = create_engine(database.sync_url)
    try:
        with sync_engine.connect() as conn:
            assert isinstance(sync_engine, Engine)
            assert isinstance(conn, Connection)
    finally:
        sync_engine.dispose()
    engine = create_async_engine(database.async_url)
    try:
        assert not isinstance(engine, Engine)
        assert isinstance(engine, AsyncEngine) and isinstance(engine, (Engine, AsyncEngine))
        async with engine.connect() as conn:
            assert not isinstance(conn, Connection)
            assert isinstance(conn, AsyncConnection)
    finally:
        await engine.dispose()


async def test_the_check_left_as_it_is_takes_the_other_branch(backend: str, database: Database) -> None:
    engine = create_async_engine(database.async_url)
    try:
        with pytest.raises(AttributeError, match="'AsyncEngine' object has no attribute 'execute'"):
            await _scalar_as_migrated(engine, "SELECT 1")
        assert await _scalar_as_advised(engine, "SELECT 1") == 1  # the marker's advice
        async with engine.connect() as conn:
            assert await _scalar_as_advised(conn, "SELECT 2") == 2
    finally:
        await engine.dispose()
