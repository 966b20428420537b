"""Property tests: random legacy Query chains from the supported grammar (query_grammar.py), run as sync
before-code and as async after-code on the seeded database; results and raised exceptions must match.

- the canonical rendering (the rules as fixtures/NOTES.md states them) is checked now, without the engine;
- the engine's rewrite of the same before-code is checked the same way once the engine lands.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_harness import Database, load_source, normalize, reset_database, sqlite_database
from hypothesis import HealthCheck, given, note, settings
from query_grammar import Chain, chains
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from codemods.engine import migrate_sources
from codemods.model import EngineOptions

MODELS_TEXT = (Path(__file__).resolve().parents[2] / "fixtures" / "_runtime" / "models.py").read_text()
_names = itertools.count()

PROFILE = settings(
    max_examples=int(os.environ.get("AWAITIFY_PROPERTY_EXAMPLES", "120")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",  # reproducible in CI; exploratory on a developer's machine
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Runner:
    """Sync and async engines on one seeded database; the chains only read, so it is seeded once."""

    def __init__(self, db: Database) -> None:
        reset_database(db)
        self.sync_engine = create_engine(db.sync_url, poolclass=NullPool)
        self.loop = asyncio.new_event_loop()
        self.async_engine: AsyncEngine = create_async_engine(db.async_url, poolclass=NullPool)

    def close(self) -> None:
        self.sync_engine.dispose()
        self.loop.run_until_complete(self.async_engine.dispose())
        self.loop.close()

    def run_sync(self, source: str) -> tuple[str | None, Any]:
        module = load_source(source, f"property_before_{next(_names)}")
        with Session(self.sync_engine) as session:
            try:
                return None, normalize(module.run(session), load_expired=True)
            except Exception as exc:
                return type(exc).__name__, None

    def run_async(self, source: str) -> tuple[str | None, Any]:
        module = load_source(source, f"property_after_{next(_names)}")

        async def go() -> tuple[str | None, Any]:
            async with AsyncSession(self.async_engine, expire_on_commit=False) as session:
                try:
                    value = module.run(session)
                    if asyncio.iscoroutine(value):
                        value = await value
                    return None, normalize(value)
                except Exception as exc:
                    return type(exc).__name__, None

        return self.loop.run_until_complete(go())


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def runner(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    if request.param == "sqlite":
        db = sqlite_database(tmp_path_factory.mktemp("property") / "property.db")
    else:
        db = request.getfixturevalue("pg_database")
    r = Runner(db)
    try:
        yield r
    finally:
        r.close()


def _check(runner: Runner, chain: Chain, after_source: str) -> None:
    before_source = chain.before_source()
    note(before_source)
    note(after_source)
    before = runner.run_sync(before_source)
    after = runner.run_async(after_source)
    assert after == before


@PROFILE
@given(chain=chains())
def test_canonical_rewrite_behaves_like_the_query(runner: Runner, chain: Chain) -> None:
    _check(runner, chain, chain.after_source())


@PROFILE
@given(chain=chains())
def test_engine_rewrite_behaves_like_the_query(runner: Runner, chain: Chain) -> None:
    outcome = migrate_sources({"models.py": MODELS_TEXT, "case.py": chain.before_source()}, EngineOptions())
    _check(runner, chain, outcome["case.py"].new_text)
