"""What AWT224's review marker claims, checked by running the code of fixtures/review/raw_update_read_after_commit:
a raw SQL UPDATE does not update the objects already loaded; the sync code read the new value after its commit
(which expired the object), the migrated code (`expire_on_commit=False`) reads the old one; the marker's advice,
`await db.refresh(obj)` after the commit, reads the new one. The same holds for an object the caller loaded (a
parameter annotated with its mapped class) and for a loaded list read in a comprehension after the commit. Where the
marker is not put (no commit before the read, a parameter that is not a mapped object), both sides read the same
value.

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


def test_the_marker_is_on_each_update_whose_loaded_objects_are_read_after_the_commit(backend: str) -> None:
    marked = [line for line in AFTER.read_text().splitlines() if "# awaitify: review AWT224" in line]
    assert len(marked) == 3, marked  # rename, rename_given, rename_all
    assert ["(`user`)" in line for line in marked] == [True, True, False]
    assert "(`users`)" in marked[2]


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


async def test_an_object_the_caller_loaded_reads_the_old_value(backend: str, database: Database) -> None:
    before, after = load_module(BEFORE), load_module(AFTER)
    assert _sync(database, lambda db: before.rename_given(db, db.get(before.User, 1))) == "zz"

    async def migrated(db: AsyncSession) -> str:
        return await after.rename_given(db, await db.get(after.User, 1))

    assert await _async(database, migrated) == "alice"  # what the marker warns about


async def test_a_loaded_list_read_in_a_comprehension_reads_the_old_values(backend: str, database: Database) -> None:
    renamed = _sync(database, load_module(BEFORE).rename_all)
    stale = await _async(database, load_module(AFTER).rename_all)
    assert stale and not any(name.endswith("!") for name in stale)  # what the marker warns about
    assert renamed == [f"{name}!" for name in stale]


async def test_where_no_marker_is_put_both_sides_read_the_same(backend: str, database: Database) -> None:
    before, after = load_module(BEFORE), load_module(AFTER)
    names = _sync(database, before.names_before_the_commit)
    assert names and not any(name.endswith("!") for name in names)
    assert await _async(database, after.names_before_the_commit) == names
    assert _sync(database, lambda db: before.rename_from_request(db, before.Rename("zz"))) == "zz"
    assert await _async(database, lambda db: after.rename_from_request(db, after.Rename("zz"))) == "zz"
