"""What the AWT201 marker on replacing a collection claims, checked by running it
(fixtures/review/replace_collection_of_object_from_elsewhere; letta's `agent.tags = list(new_tags)`):

- Assigning a whole collection to a stored object whose collection is not loaded loads the old collection first (its
  members lose their foreign key): a sync session does it on the assignment, an `AsyncSession` raises MissingGreenlet
  there.
- A new object has no old collection to load: the assignment runs under asyncio too (so no marker is put there).
- The marker's advice, `selectinload()` where the object is queried, makes the assignment run.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import pytest
from fixture_harness import BACKENDS, Database, reset_database
from models import Order, User
from sqlalchemy import create_engine, select
from sqlalchemy.exc import MissingGreenlet, StatementError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session, selectinload

ALICE = 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sync_session_loads_the_old_collection_on_assignment(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            user = db.get(User, ALICE)
            assert user is not None and "orders" not in user.__dict__
            had = db.scalars(select(Order.id).where(Order.user_id == ALICE)).all()
            assert had
            user.orders = []
            db.commit()
            assert db.scalars(select(Order.id).where(Order.id.in_(had), Order.user_id.is_(None))).all() == had
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
# asyncpg: the lazy load that MissingGreenlet stops had asked for a cursor, a coroutine it never awaits
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_on_the_assignment(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = await db.get(User, ALICE)
            assert user is not None
            # wrapped in a StatementError by aiosqlite's lazy load, raised bare by asyncpg's
            with pytest.raises((MissingGreenlet, StatementError)) as raised:
                user.orders = []
            assert isinstance(raised.value, MissingGreenlet) or isinstance(raised.value.orig, MissingGreenlet)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_new_object_has_nothing_to_load(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = User(name="erin")
            user.orders = list(await db.scalars(select(Order).where(Order.id == 1)))
            db.add(user)
            await db.commit()
            assert await db.scalar(select(Order.user_id).where(Order.id == 1)) == user.id
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_selectinload_where_it_is_queried_lets_it_run(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = await db.get(User, ALICE, options=[selectinload(User.orders)])
            assert user is not None
            user.orders = []
            await db.commit()
            assert (await db.scalars(select(Order.id).where(Order.user_id == ALICE))).all() == []
    finally:
        await engine.dispose()
