"""What awaitify claims about pydantic's `TypeAdapter` validating mapped objects, checked by running it
(fixtures/queries/lazy_load_type_adapter_adds_selectinload, fixtures/review/type_adapter_objects_from_elsewhere):

- `TypeAdapter(list[UserOut]).validate_python(users)` and `TypeAdapter(UserOut).validate_python(user)` read the
  relationships the model's fields name, as `UserOut.model_validate` does: a sync `Session` loads them lazily, an
  `AsyncSession` raises MissingGreenlet (pydantic reports it as a ValidationError of the field). So objects from
  elsewhere (no query of the function to load them) are flagged AWT201.
- Loading them with the query (`selectinload`, what awaitify adds to the function's own query) validates them.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import pytest
from fixture_harness import BACKENDS, Database, reset_database
from models import User
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from sqlalchemy import create_engine, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session, selectinload


class AddressOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    email: str


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    addresses: list[AddressOut]


_ALICE = UserOut(
    name="alice", addresses=[AddressOut(email="alice@home.example"), AddressOut(email="alice@work.example")]
)
_ADAPTERS = {"list": TypeAdapter(list[UserOut]), "one": TypeAdapter(UserOut)}


def _expected(shape: str) -> object:
    return [_ALICE] if shape == "list" else _ALICE


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", ["list", "one"])
def test_a_sync_session_loads_what_the_adapter_reads(backend: str, shape: str, database: Database) -> None:
    reset_database(database)
    engine = create_engine(database.sync_url)
    try:
        with Session(engine) as db:
            users = db.scalars(select(User).where(User.id == 1)).all()
            validated = users if shape == "list" else users[0]
            assert _ADAPTERS[shape].validate_python(validated) == _expected(shape)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", ["list", "one"])
# asyncpg: the lazy load that MissingGreenlet stops had asked for a cursor, a coroutine it never awaits
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.cursor' was never awaited:RuntimeWarning")
async def test_an_async_session_raises_where_the_query_did_not_load_it(
    backend: str, shape: str, database: Database
) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            users = (await db.scalars(select(User).where(User.id == 1))).all()
            validated = users if shape == "list" else users[0]
            with pytest.raises(ValidationError, match="MissingGreenlet"):
                _ADAPTERS[shape].validate_python(validated)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", ["list", "one"])
async def test_selectinload_on_the_query_validates(backend: str, shape: str, database: Database) -> None:
    reset_database(database)
    engine = create_async_engine(database.async_url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db:
            query = select(User).options(selectinload(User.addresses)).where(User.id == 1)
            users = (await db.scalars(query)).all()
            validated = users if shape == "list" else users[0]
            assert _ADAPTERS[shape].validate_python(validated) == _expected(shape)
    finally:
        await engine.dispose()
