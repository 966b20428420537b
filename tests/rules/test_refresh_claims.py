"""What the AWT201 marker on a model awaitify cannot see validating a refreshed object claims, checked by running it
(fixtures/review/refreshed_object_validated_by_unseen_model, mealie's `RepositoryGeneric.create`):

- `refresh(obj)` with no attribute names leaves the object's lazy relationships unloaded, even one assigned before
  the commit; a sync session loads it when the model reads it, an `AsyncSession` raises MissingGreenlet, which
  pydantic reports as a ValidationError of the field.
- Naming the relationship in `refresh(obj, attribute_names=[...])` loads it: the validation passes.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import pytest
from fixture_harness import BACKENDS, Database, reset_database
from models import Order, User
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    status: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    orders: list[OrderOut]


def _new_user() -> User:
    return User(name="dora", orders=[Order(status="new", total=10)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sync_session_loads_what_refresh_left_unloaded(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            user = _new_user()
            db.add(user)
            db.commit()
            db.refresh(user)
            assert "orders" not in user.__dict__  # refresh() left it unloaded
            assert UserOut.model_validate(user).orders == [OrderOut(status="new")]  # loaded on access
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
# asyncpg: the lazy load that MissingGreenlet stops had asked for a cursor, a coroutine it never awaits
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_where_refresh_left_it_unloaded(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = _new_user()
            db.add(user)
            await db.commit()
            await db.refresh(user)
            with pytest.raises(ValidationError, match="MissingGreenlet"):
                UserOut.model_validate(user)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_refresh_by_name_loads_it(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = _new_user()
            db.add(user)
            await db.commit()
            await db.refresh(user, attribute_names=["orders"])
            assert UserOut.model_validate(user).orders == [OrderOut(status="new")]
    finally:
        await engine.dispose()
