"""What the AWT213 marker on a function decorated by a wrapper that became async itself claims, checked by running
the migrated fixtures/review/session_opening_decorator_also_called (Netflix dispatch's `@background_task`, whose
wrapper opens and closes a session, so awaitify makes it async; the decorator is also applied by a call, so
awaitify leaves the wrapper's call unawaited and marks it): the wrapper calls the async function without await, so
awaiting the decorated function hands back its coroutine and changes nothing, and the wrapper's `finally` closed
the session before that coroutine could run. Awaiting the call in the wrapper, as the marker says, works; it is
what awaitify writes itself where the decorator is only ever applied as one
(fixtures/session_io/session_opening_decorator_made_async, proven by the run of the fixture pairs).

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fixture_harness import BACKENDS, FIXTURES, Database, load_module, reset_database
from models import User
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

MIGRATED = FIXTURES / "review" / "session_opening_decorator_also_called.expected.py"


async def _name_of_user_1(engine: AsyncEngine) -> str:
    async with AsyncSession(engine) as db:
        return (await db.execute(select(User.name).where(User.id == 1))).scalar_one()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_decorated_function_is_handed_back_unrun(backend: str, database: Database) -> None:
    reset_database(database)
    migrated = load_module(MIGRATED)
    engine = create_async_engine(database.async_url)
    try:
        before = await _name_of_user_1(engine)
        result = await migrated.rename_flow(bind=engine, user_id=1, name="renamed")
        assert inspect.iscoroutine(result)  # the body, never run
        result.close()
        assert await _name_of_user_1(engine) == before
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_awaiting_the_call_in_the_wrapper_runs_it(backend: str, database: Database) -> None:
    reset_database(database)
    source = Path(MIGRATED).read_text().replace("return func(*args, **kwargs)", "return await func(*args, **kwargs)")
    assert "return await func" in source
    namespace: dict[str, object] = {"__name__": "awaited_wrapper"}
    exec(compile(source, "<awaited_wrapper>", "exec"), namespace)
    engine = create_async_engine(database.async_url)
    try:
        assert await namespace["rename_flow"](bind=engine, user_id=1, name="renamed") is None  # type: ignore[operator]
        assert await _name_of_user_1(engine) == "renamed"
    finally:
        await engine.dispose()
