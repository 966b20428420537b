"""What AWT219's run_sync marker claims, checked by running it (fixtures/coloring/run_sync_followed_helpers): a helper
that stays sync because `run_sync()` calls it with a sync Session, handed the AsyncSession a route's session became,
fails at run time; the marker's advice (`await db.run_sync(helper, ...)`) works and gives the sync answer.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator

import pytest
from fixture_harness import BACKENDS, Database
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

_METADATA = MetaData()
_ITEMS = Table(
    f"awaitify_claims_{uuid.uuid4().hex[:8]}",
    _METADATA,
    Column("id", Integer, primary_key=True),
    Column("title", String(20)),
    Column("owner", String(20)),
)


def owner_of(session: Session, title: str) -> str:
    """A legacy helper as the migration leaves it: sync, for the sync Session `run_sync()` hands it."""
    return session.scalars(select(_ITEMS.c.owner).where(_ITEMS.c.title == title)).one()


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database.async_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_METADATA.create_all)
            await conn.execute(insert(_ITEMS), [{"title": "pen", "owner": "alice"}, {"title": "lamp", "owner": "bob"}])
        yield engine
        async with engine.begin() as conn:
            await conn.run_sync(_METADATA.drop_all)
    finally:
        await engine.dispose()


async def test_a_run_sync_helper_fails_with_the_async_session(
    backend: str, database: Database, engine: AsyncEngine
) -> None:
    sync_engine = create_engine(database.sync_url)
    try:
        with Session(sync_engine) as session:
            expected = owner_of(session, "pen")  # what the route answered before the migration
    finally:
        sync_engine.dispose()
    async with AsyncSession(engine) as db:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the coroutine it drops, never awaited
            with pytest.raises(AttributeError, match="coroutine"):
                owner_of(db, "pen")  # type: ignore[arg-type]  # the unmarked migrated route
        assert await db.run_sync(owner_of, "pen") == expected == "alice"  # the marker's advice
