"""What AWT223's review marker claims, checked by running it (fixtures/coloring/session_drawn_held_by_next): CPython
closes a `get_db()` generator held in a variable when the function holding it returns; the same generator made
async, drawn with `await anext(gen)` and never closed by the function, is still open after the function returned,
and the event loop closes it later, in a task of its own. The marker's advice (`try: ... finally: await
gen.aclose()`) closes it on the return again.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from fixture_harness import BACKENDS, Database
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def test_a_sync_generator_held_in_a_variable_is_closed_when_the_function_returns(
    backend: str, database: Database
) -> None:
    engine = create_engine(database.sync_url)
    closed: list[str] = []

    def get_db() -> Iterator[Session]:
        db = Session(engine)
        try:
            yield db
        finally:
            db.close()
            closed.append("closed")

    def one() -> int:
        gen = get_db()
        db = next(gen)
        return int(db.execute(text("SELECT 1")).scalar_one())

    try:
        assert one() == 1
        assert closed == ["closed"]
    finally:
        engine.dispose()


async def test_the_async_generator_is_closed_by_the_loop_after_the_return_unless_the_function_closes_it(
    backend: str, database: Database
) -> None:
    engine = create_async_engine(database.async_url)
    closed: list[str] = []

    async def get_db() -> AsyncIterator[AsyncSession]:
        db = AsyncSession(engine)
        try:
            yield db
        finally:
            await db.close()
            closed.append("closed")

    async def one_left_to_the_loop() -> int:
        gen = get_db()
        db = await anext(gen)
        return int((await db.execute(text("SELECT 1"))).scalar_one())

    async def one_closed_here() -> int:  # the marker's advice
        gen = get_db()
        db = await anext(gen)
        try:
            return int((await db.execute(text("SELECT 1"))).scalar_one())
        finally:
            await gen.aclose()

    try:
        assert await one_left_to_the_loop() == 1
        assert closed == []  # the sync generator was closed by now
        for _ in range(200):  # the loop's closing task starts at its next turn and awaits the driver
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == ["closed"]
        assert await one_closed_here() == 1
        assert closed == ["closed", "closed"]
    finally:
        await engine.dispose()
