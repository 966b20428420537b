"""Database engines, session factories and FastAPI dependencies.

The sync engine/`SessionLocal` serve most of the API. The async engine beside it serves the services that were
already migrated (artists, albums, covers); its URL is derived from `DATABASE_URL`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Generator
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from backend.api.utils.logging import logger

DATABASE_URL = os.getenv("DATABASE_URL", "sqlite:///./soniquebay.db")

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def _async_url(url: str) -> str:
    """The same database through its asyncio driver (keeps credentials escaped)."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


ASYNC_DATABASE_URL = os.getenv("ASYNC_DATABASE_URL", _async_url(DATABASE_URL))

_is_sqlite = DATABASE_URL.startswith("sqlite")
_connect_args = {"check_same_thread": False} if _is_sqlite else {}

engine = create_engine(DATABASE_URL, connect_args=_connect_args, pool_pre_ping=True)


if _is_sqlite:

    @event.listens_for(engine, "connect")
    def _enable_sqlite_foreign_keys(dbapi_connection, _connection_record) -> None:  # type: ignore[no-untyped-def]
        # SQLite ignores ON DELETE CASCADE/SET NULL unless asked, per connection.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


SessionLocal = sessionmaker(bind=engine, autocommit=False, autoflush=False)

async_engine = create_async_engine(ASYNC_DATABASE_URL, pool_pre_ping=True)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False, autoflush=False)


class Base(DeclarativeBase):
    """Declarative base of every model."""


# Closing a session rolls back what is left of its transaction. When the connection died under the request
# (terminated, database restarted) that rollback fails, after the response may already be on its way: the
# connection is thrown away instead (the server has rolled its transaction back already) and the client keeps
# its response. Raising there would make the server drop the client's connection.
_CLOSE_FAILED = "Database connection lost when closing the request's session; discarded: %s"


def get_db() -> Generator[Session, None, None]:
    """FastAPI dependency: one sync session per request."""
    db = SessionLocal()
    try:
        yield db
    finally:
        try:
            db.close()
        except DBAPIError as exc:
            logger.warning(_CLOSE_FAILED, exc)
            db.invalidate()


async def get_async_db() -> AsyncGenerator[AsyncSession, None]:
    """FastAPI dependency of the services already migrated to AsyncSession."""
    session = AsyncSessionLocal()
    try:
        yield session
    finally:
        try:
            await session.close()
        except DBAPIError as exc:
            logger.warning(_CLOSE_FAILED, exc)
            await session.invalidate()


def init_db() -> None:
    """Create every table (idempotent)."""
    import backend.api.models  # noqa: F401  (registers the models on Base.metadata)

    Base.metadata.create_all(bind=engine)
    logger.info("Database tables ready on %s", make_url(DATABASE_URL).render_as_string(hide_password=True))


create_tables = init_db


DbSession = Annotated[Session, Depends(get_db)]
