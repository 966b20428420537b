"""What AWT225's review marker claims, checked by running fixtures/review/untyped_session_param_partly_typed: an
untyped `db_session` that one caller hands a session and another a value awaitify cannot type stays untyped, and
its function stays sync; the caller with a session hands it an AsyncSession now, on which `db_session.query()`
raises AttributeError (the sync code returned the user's name). The marker's advice, annotating the parameter
`db_session: AsyncSession` and migrating again, makes the function async and awaited, and the name comes back.

On SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fixture_harness import BACKENDS, FIXTURES, Database, load_module, reset_database
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from codemods.engine import migrate_sources
from codemods.model import EngineOptions

pytestmark = pytest.mark.parametrize("backend", BACKENDS)

BEFORE = FIXTURES / "review" / "untyped_session_param_partly_typed.py"
AFTER = FIXTURES / "review" / "untyped_session_param_partly_typed.expected.py"
MARKER = "# awaitify: review AWT225"


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
        async with AsyncSession(engine, expire_on_commit=False) as session:
            return await function(session)
    finally:
        await engine.dispose()


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_marker_is_on_the_partly_typed_parameter_only(backend: str) -> None:
    marked = [line.strip() for line in AFTER.read_text().splitlines() if MARKER in line]
    assert len(marked) == 1, marked
    assert marked[0].startswith("return db_session.query(User)")


async def test_the_caller_with_a_session_fails_on_the_unmigrated_function(backend: str, database: Database) -> None:
    assert _sync(database, lambda db: load_module(BEFORE).user_name(db, 1)) == "alice"

    async def migrated(db: AsyncSession) -> Any:
        return load_module(AFTER).user_name(db, 1)

    with pytest.raises(AttributeError, match="query"):
        await _async(database, migrated)


async def test_annotating_the_parameter_and_migrating_again_works(
    backend: str, database: Database, tmp_path: Path
) -> None:
    text = AFTER.read_text().replace("def get_user(*, db_session,", "def get_user(*, db_session: AsyncSession,")
    models = (FIXTURES / "_runtime" / "models.py").read_text()
    outcome = migrate_sources({"marked.py": text, "models.py": models}, EngineOptions())["marked.py"]
    assert "async def get_user(*, db_session: AsyncSession," in outcome.new_text
    assert "async def user_name(" in outcome.new_text
    path = tmp_path / "marked_again.py"
    path.write_text(outcome.new_text)
    module = _load(path, f"awaitify_claims_untyped_session_param_{backend}")

    async def migrated_again(db: AsyncSession) -> Any:
        return await module.user_name(db, 1)

    assert await _async(database, migrated_again) == "alice"
