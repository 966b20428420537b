"""What AWT224's review marker claims, checked by running the code of fixtures/review/raw_update_read_after_commit:
a raw SQL UPDATE does not update the objects already loaded; the sync code read the new value after its commit
(which expired the object), the migrated code (`expire_on_commit=False`) reads the old one; the marker's advice,
`await db.refresh(obj)` after the commit, reads the new one. Where the marker is not put (no commit before the
read), both sides read the same value.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), each test against the databases of the rule tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fixture_harness import BACKENDS, FIXTURES, Database, load_module, reset_database
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

BEFORE = FIXTURES / "review" / "raw_update_read_after_commit.py"
AFTER = FIXTURES / "review" / "raw_update_read_after_commit.expected.py"


def _sync(database: Database, function: Callable[[Session], Any]) -> Any:
    reset_database(database)
    engine = create_engine(database.sync_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            return function(session)
    finally:
        engine.dispose()


async def _async(database: Database, function: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    reset_database(database)
    engine = create_async_engine(database.async_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:  # the migrated sessionmaker's setting
            return await function(session)
    finally:
        await engine.dispose()


def test_the_marker_is_on_the_update_read_after_the_commit(backend: str) -> None:
    marked = [line for line in AFTER.read_text().splitlines() if "# awaitify: review AWT224" in line]
    assert len(marked) == 1 and "UPDATE users SET name = 'zz' WHERE id = 1" in marked[0]


async def test_the_read_after_the_commit_sees_the_old_value(backend: str, database: Database) -> None:
    assert _sync(database, load_module(BEFORE).rename) == "zz"
    assert await _async(database, load_module(AFTER).rename) == "alice"  # what the marker warns about


async def test_a_refresh_after_the_commit_reads_the_new_value(backend: str, database: Database) -> None:
    user_class = load_module(AFTER).User

    async def rename_and_refresh(db: AsyncSession) -> tuple[str, str]:
        # the migrated `rename`, with the marker's advice applied
        user = await db.get(user_class, 1)
        assert user is not None
        await db.execute(text("UPDATE users SET name = 'zz' WHERE id = 1"))
        await db.commit()
        stale = user.name
        await db.refresh(user)
        return stale, user.name

    assert await _async(database, rename_and_refresh) == ("alice", "zz")


async def test_without_a_commit_both_sides_read_the_old_value(backend: str, database: Database) -> None:
    assert _sync(database, load_module(BEFORE).rename_without_commit) == "alice"
    assert await _async(database, load_module(AFTER).rename_without_commit) == "alice"
