"""What AWT219's review markers claim, checked by running it (fixtures/review/engine_handed_to_sync_code): an engine or
connection the migration makes async, handed to code written for the sync one, fails at run time, and the markers'
advice (`await conn.run_sync(...)` on a connection of the async engine) works. The same for a session handed to a
library's function (fixtures/review/session_handed_to_library): one written for a sync `Session` fails with the
`AsyncSession`, one that takes both (fastapi-pagination's `paginate`) returns a coroutine that the call, left as it
was, never awaits; awaiting it, or `await session.run_sync(...)`, works.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import inspect as stdlib_inspect
import uuid
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fixture_harness import BACKENDS, Database, reset_database
from models import User
from sqlalchemy import Column, Integer, MetaData, Select, Table, create_engine, exc, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


@pytest.fixture
async def engine_with_a_table(database: Database) -> AsyncIterator[tuple[AsyncEngine, str]]:
    name = f"awaitify_claims_{uuid.uuid4().hex[:8]}"
    metadata = MetaData()
    Table(name, metadata, Column("id", Integer, primary_key=True))
    engine = create_async_engine(database.async_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield engine, name
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
    finally:
        await engine.dispose()


def _one_written_for_a_sync_engine(bind: Any) -> int:
    with bind.connect() as conn:
        return int(conn.execute(text("SELECT 1")).scalar_one())


def _one_written_for_a_sync_connection(conn: Any) -> int:
    return int(conn.execute(text("SELECT 1")).scalar_one())


async def test_inspection_and_reflection_of_an_async_engine_raise(
    backend: str, database: Database, engine_with_a_table: tuple[AsyncEngine, str]
) -> None:
    engine, name = engine_with_a_table
    with pytest.raises(exc.NoInspectionAvailable):
        inspect(engine)
    with pytest.raises(exc.NoInspectionAvailable):
        MetaData().reflect(bind=engine)
    with pytest.raises(exc.NoInspectionAvailable):
        Table(name, MetaData(), autoload_with=engine)
    async with engine.connect() as conn:  # the marker's advice
        names = await conn.run_sync(lambda sync_conn: inspect(sync_conn).get_table_names())
        reflected = await conn.run_sync(lambda sync_conn: Table(name, MetaData(), autoload_with=sync_conn))
    sync_engine = create_engine(database.sync_url)
    try:
        assert name in names
        assert sorted(names) == sorted(inspect(sync_engine).get_table_names())
        assert reflected.c.keys() == ["id"]
    finally:
        sync_engine.dispose()


async def test_code_written_for_a_sync_engine_fails_with_an_async_one(backend: str, database: Database) -> None:
    engine = create_async_engine(database.async_url)
    try:
        with pytest.raises(TypeError, match="context manager"):
            _one_written_for_a_sync_engine(engine)
        async with engine.connect() as conn:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine it drops, never awaited
                with pytest.raises(AttributeError, match="coroutine"):
                    _one_written_for_a_sync_connection(conn)
            assert await conn.run_sync(_one_written_for_a_sync_connection) == 1  # the marker's advice
    finally:
        await engine.dispose()


def _page_written_for_a_sync_session(session: Any, statement: Select[Any]) -> list[str]:
    """A library's function as written for the sync Session."""
    return [user.name for user in session.scalars(statement.limit(2))]


def _page_taking_both(session: Any, statement: Select[Any]) -> Any:
    """A library's function taking a Session or an AsyncSession (fastapi-pagination's way): a coroutine for the
    second."""
    if isinstance(session, AsyncSession):

        async def page() -> list[str]:
            return [user.name for user in await session.scalars(statement.limit(2))]

        return page()
    return _page_written_for_a_sync_session(session, statement)


async def test_a_session_handed_to_a_library_fails_or_is_never_awaited(backend: str, database: Database) -> None:
    reset_database(database)
    statement = select(User).order_by(User.id)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine) as session:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine it drops, never awaited
                with pytest.raises(TypeError, match="coroutine"):
                    _page_written_for_a_sync_session(session, statement)
            returned = _page_taking_both(session, statement)
            assert stdlib_inspect.iscoroutine(returned)  # what the route, left sync, hands FastAPI to serialize
            returned.close()
            names = await _page_taking_both(session, statement)  # the marker's advice: await it
            by_run_sync = await session.run_sync(_page_written_for_a_sync_session, statement)  # or run_sync
        sync_engine = create_engine(database.sync_url)
        try:
            with sync_engine.connect() as conn:
                expected = [name for (name,) in conn.execute(select(User.name).order_by(User.id).limit(2))]
        finally:
            sync_engine.dispose()
        assert names == by_run_sync == expected
    finally:
        await engine.dispose()
