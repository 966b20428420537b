"""What the AWT201 marker on a model awaitify cannot see validating a refreshed object claims, checked by running it
(fixtures/review/refreshed_object_validated_by_unseen_model, mealie's `RepositoryGeneric.create`):

- `refresh(obj)` with no attribute names leaves the object's lazy relationships unloaded, even one assigned before
  the commit; a sync session loads it when the model reads it, an `AsyncSession` raises MissingGreenlet, which
  pydantic reports as a ValidationError of the field.
- Naming the relationship in `refresh(obj, attribute_names=[...])` loads it: the validation passes.
- The same holds for a collection of new objects refreshed one by one in a loop
  (fixtures/review/refreshed_collection_validated, mealie's `RepositoryGeneric.create_many`): validating them in a
  comprehension, through `map()`, or by a route's `response_model=list[...]` raises on an `AsyncSession` (the route
  answers with FastAPI's ResponseValidationError), and passes on a sync `Session`.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import ResponseValidationError
from fixture_harness import BACKENDS, Database, reset_database
from httpx import ASGITransport, AsyncClient
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


def _new_users() -> list[User]:
    return [User(name=name, orders=[Order(status="new", total=10)]) for name in ("dora", "eve")]


_VALIDATED = [UserOut(name=name, orders=[OrderOut(status="new")]) for name in ("dora", "eve")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sync_session_loads_what_refresh_left_unloaded_in_a_collection(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            users = _new_users()
            db.add_all(users)
            db.commit()
            for user in users:
                db.refresh(user)
            assert not any("orders" in u.__dict__ for u in users)
            assert [UserOut.model_validate(u) for u in users] == _VALIDATED
            assert list(map(UserOut.model_validate, users)) == _VALIDATED
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("form", ["comprehension", "map"])
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_validating_a_refreshed_collection(
    backend: str, form: str, database: Database
) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            users = _new_users()
            db.add_all(users)
            await db.commit()
            for user in users:
                await db.refresh(user)
            with pytest.raises(ValidationError, match="MissingGreenlet"):
                if form == "comprehension":
                    [UserOut.model_validate(u) for u in users]
                else:
                    list(map(UserOut.model_validate, users))
    finally:
        await engine.dispose()


async def _get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(request.app.state.engine, expire_on_commit=False) as db:
        yield db


_router = APIRouter()


@_router.post("/users", response_model=list[UserOut])
async def _create_users(db: Annotated[AsyncSession, Depends(_get_db)]) -> list[User]:
    users = _new_users()
    db.add_all(users)
    await db.commit()
    for user in users:
        await db.refresh(user)
    return users


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_a_route_returning_a_refreshed_collection_fails_its_response_model(
    backend: str, database: Database
) -> None:
    reset_database(database)
    app = FastAPI()
    app.include_router(_router)
    app.state.engine = create_async_engine(database.async_url)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            with pytest.raises(ResponseValidationError, match="MissingGreenlet"):
                await client.post("/users")
    finally:
        await app.state.engine.dispose()
