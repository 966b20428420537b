"""What awaitify claims about an object a function builds with its relationships, commits and validates, checked by
running it (fixtures/review/built_object_validated):

- An object built with a relationship set (`User(name=..., addresses=[Address(...)])`, or `user.addresses = [...]`
  before the commit), committed and validated by a pydantic model reading that relationship
  (`UserOut.model_validate(user)`, a route's `response_model=UserOut`) validates on an
  `AsyncSession(expire_on_commit=False)`, as on a sync `Session`: the relationship is still in memory. No marker.
- A relationship not set where the object is built is not loaded after the commit: the model's read is a lazy load,
  MissingGreenlet on an `AsyncSession` (pydantic reports it as a ValidationError of the field). Marker kept.
- `refresh(user, ["name"])` naming other attributes leaves it in memory: no marker. `refresh(user, ["addresses"])`
  loads it, of any object (one a query loaded too): no marker.
- `refresh(user)` with no attribute names, `expire(user)`, `expire_all()` and a `rollback()` of a transaction begun
  after the commit unload a relationship that was set: marker kept (awaitify keeps it after any `rollback()`).

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from fixture_harness import BACKENDS, Database, reset_database
from httpx import ASGITransport, AsyncClient
from models import Address, User
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    email: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    addresses: list[AddressOut]


_VALIDATED = UserOut(name="dora", addresses=[AddressOut(email="dora@home.example")])


def _built(how: str) -> User:
    if how == "constructor":
        return User(name="dora", addresses=[Address(email="dora@home.example")])
    user = User(name="dora")
    if how == "assigned":
        user.addresses = [Address(email="dora@home.example")]
    return user


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["constructor", "assigned"])
def test_a_sync_session_validates_a_built_object(backend: str, how: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            user = _built(how)
            db.add(user)
            db.commit()
            assert UserOut.model_validate(user) == _VALIDATED
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["constructor", "assigned"])
@pytest.mark.parametrize("refreshed", [None, ["name"]])
async def test_an_async_session_keeps_what_the_function_set(
    backend: str, how: str, refreshed: list[str] | None, database: Database
) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = _built(how)
            db.add(user)
            await db.commit()
            if refreshed is not None:
                await db.refresh(user, attribute_names=refreshed)  # other attributes only: it stays
            assert "addresses" in user.__dict__  # still in memory: nothing to load
            assert UserOut.model_validate(user) == _VALIDATED
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_refresh_by_name_loads_it_on_a_queried_object(backend: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = (await db.scalars(select(User).where(User.id == 2))).one()
            user.name = "bobby"
            await db.commit()
            await db.refresh(user, ["addresses"])
            assert UserOut.model_validate(user) == UserOut(
                name="bobby", addresses=[AddressOut(email="bob@home.example")]
            )
            assert [address.email for address in user.addresses] == ["bob@home.example"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("unloading", ["unset", "refresh", "expire", "expire_all", "rollback"])
# asyncpg: the lazy load that MissingGreenlet stops had asked for a cursor, a coroutine it never awaits
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_where_it_is_not_in_memory(
    backend: str, unloading: str, database: Database
) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            user = _built("unset" if unloading == "unset" else "constructor")
            db.add(user)
            await db.commit()
            if unloading == "refresh":
                await db.refresh(user)
            elif unloading == "expire":
                db.expire(user)
            elif unloading == "expire_all":
                db.expire_all()
            elif unloading == "rollback":
                await db.execute(select(User.id).limit(1))  # a transaction again: its rollback expires every object
                await db.rollback()
            with pytest.raises(ValidationError, match="MissingGreenlet"):
                UserOut.model_validate(user)
    finally:
        await engine.dispose()


async def _get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(request.app.state.engine, expire_on_commit=False) as db:
        yield db


_router = APIRouter()


@_router.post("/users", response_model=UserOut)
async def _create_user(db: Annotated[AsyncSession, Depends(_get_db)]) -> User:
    user = User(name="dora", addresses=[Address(email="dora@home.example")])
    db.add(user)
    await db.commit()
    return user


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_route_returning_a_built_object_validates_its_response_model(backend: str, database: Database) -> None:
    reset_database(database)
    app = FastAPI()
    app.include_router(_router)
    app.state.engine = create_async_engine(database.async_url)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            response = await client.post("/users")
        assert response.status_code == 200
        assert response.json() == _VALIDATED.model_dump()
    finally:
        await app.state.engine.dispose()
