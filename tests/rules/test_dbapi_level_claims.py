"""What AWT217's review markers claim, checked by running the code the migration leaves (fixtures/review/
driver_sql_parameters, dbapi_connection_of_session, engine_raw_connection): code at the DB-API level does not
carry over from the sync driver to the async one, so awaitify flags it instead of only awaiting it.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), each test against the databases of the rule tests.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from fixture_harness import BACKENDS, Database
from sqlalchemy import create_engine, exc
from sqlalchemy.ext.asyncio import create_async_engine

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


async def test_the_connection_of_an_async_connection_raises(backend: str, database: Database) -> None:
    engine = create_async_engine(database.async_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(exc.InvalidRequestError, match="get_raw_connection"):
                conn.connection  # noqa: B018 - the access is what raises
            raw = await conn.get_raw_connection()
            assert raw.driver_connection is not None  # what the marker offers instead
    finally:
        await engine.dispose()


# aiosqlite's adapted cursor() makes the coroutine it cannot await before it raises
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_a_raw_cursor_runs_only_inside_run_sync(backend: str, database: Database) -> None:
    def select_one(sync_conn: Any) -> list[Any]:
        cursor = sync_conn.connection.cursor()
        cursor.execute("SELECT 1")
        return list(cursor.fetchall())

    engine = create_async_engine(database.async_url)
    try:
        raw = await engine.raw_connection()  # a coroutine now: the line awaitify leaves unawaited fails at once
        try:
            with pytest.raises(exc.MissingGreenlet) as raised:
                raw.cursor().execute("SELECT 1")
            del raised  # its traceback holds aiosqlite's coroutine: freed here, where its warning is expected
            gc.collect()
        finally:
            raw.invalidate()  # its reset would need the greenlet too
        async with engine.connect() as conn:
            assert [tuple(row) for row in await conn.run_sync(select_one)] == [(1,)]  # the marker's advice
    finally:
        await engine.dispose()


async def test_driver_placeholders_change_with_the_driver(backend: str, database: Database) -> None:
    """psycopg2 takes `%s`, asyncpg `$1`; sqlite3 and aiosqlite both take `?`."""
    sync_style, async_style = ("?", "?") if backend == "sqlite" else ("%s", "$1")
    sync_engine = create_engine(database.sync_url)
    try:
        with sync_engine.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT 1 + {sync_style}", (41,)).scalar() == 42
    finally:
        sync_engine.dispose()
    engine = create_async_engine(database.async_url)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql(f"SELECT 1 + {async_style}", (41,))).scalar() == 42
        if backend == "postgresql":
            async with engine.connect() as conn:  # the migrated line, unchanged but for its await
                with pytest.raises(exc.DBAPIError, match="syntax error"):
                    await conn.exec_driver_sql("SELECT 1 + %s", (41,))
    finally:
        await engine.dispose()
