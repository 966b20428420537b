"""Code that does not use SQLAlchemy's Session must come out byte-identical (a "noop" table).

Engine-level (pure text in, text out), so each case costs milliseconds. Every case is a whole project
of one file, next to a file that does use SQLAlchemy, so the engine has a reason to run its analysis.
"""

from __future__ import annotations

import pytest

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, FileStatus

SQLA_NEIGHBOUR = """\
from sqlalchemy.orm import Session


def save(db: Session, obj):
    db.add(obj)
    db.commit()
"""

NOOP = [
    pytest.param(
        """\
class Repo:
    def __init__(self, db):
        self.db = db

    def first_user(self):
        return self.db.query(User).filter(User.id == 1).first()

    def save(self, obj):
        self.db.add(obj)
        self.db.commit()
""",
        id="query-chain-on-an-unknown-object",
    ),
    pytest.param(
        """\
import sqlite3


def save(conn: sqlite3.Connection, row):
    conn.execute("insert into t values (?)", (row,))
    conn.commit()
""",
        id="sqlite3-commit",
    ),
    pytest.param(
        """\
import requests


def get(session: requests.Session, url):
    return session.get(url).json()


def close(db):
    db.close()
""",
        id="requests-session",
    ),
    pytest.param(
        """\
async def already_async(db):
    await db.commit()


def caller_of_nothing():
    return 1
""",
        id="existing-async-code",
    ),
    pytest.param(
        """\
import asyncio


async def fetch():
    return 1


def schedule():
    task = asyncio.ensure_future(fetch())
    return task
""",
        id="ensure_future",
    ),
]

# Existing coroutine functions: calling one from a sync function without awaiting it is normal asyncio
# (hand it to run_until_complete / create_task / ensure_future, close it, gather it). The engine makes
# the caller `async def` and inserts `await`, in files that never mention SQLAlchemy.
COROUTINE_BUG = (
    "bug: a sync caller of an existing `async def` is made async and the call awaited (no SQLAlchemy involved)"
)
NOOP_COROUTINE_CALLERS = [
    pytest.param(
        """\
import asyncio


async def fetch():
    return 1


def run_sync(loop):
    return loop.run_until_complete(fetch())
""",
        id="run_until_complete",
    ),
    pytest.param(
        """\
async def fetch():
    return 1


def make_coroutines():
    return [fetch() for _ in range(3)]
""",
        id="list-of-coroutines",
    ),
    pytest.param(
        """\
class Client:
    async def _run(self):
        return 1

    def start(self, loop):
        self.task = loop.create_task(self._run())
""",
        id="create_task-of-a-method",
    ),
]


def _migrate(text: str) -> str:
    outcomes = migrate_sources({"app/plain.py": text, "app/repo.py": SQLA_NEIGHBOUR}, EngineOptions())
    outcome = outcomes["app/plain.py"]
    assert outcome.status is not FileStatus.FAILED, outcome.error
    return outcome.new_text


@pytest.mark.parametrize("text", NOOP)
def test_unrelated_code_is_untouched(text: str) -> None:
    assert _migrate(text) == text


@pytest.mark.parametrize("text", NOOP_COROUTINE_CALLERS)
def test_sync_callers_of_existing_coroutines_are_untouched(text: str) -> None:
    assert _migrate(text) == text


def test_the_neighbour_is_rewritten() -> None:
    """The harness itself: the SQLAlchemy file next to the cases does change."""
    outcomes = migrate_sources({"app/plain.py": "x = 1\n", "app/repo.py": SQLA_NEIGHBOUR}, EngineOptions())
    assert outcomes["app/repo.py"].status is FileStatus.CHANGED
    assert "await db.commit()" in outcomes["app/repo.py"].new_text


# A sync method whose overrides are (already) async: the engine makes the base `async def` too. For an
# abstract `def listen(self) -> AsyncIterator[...]` (the usual way to declare an async generator in an
# ABC) that turns the declaration into a coroutine function; found in redis/asyncio.
OVERRIDE_BUG = "bug: a sync base method is made async because a subclass overrides it with an existing `async def`"
NOOP_OVERRIDDEN_BY_ASYNC = [
    pytest.param(
        """\
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator


class Base(ABC):
    @abstractmethod
    def listen(self) -> AsyncIterator[int]:
        pass


class Impl(Base):
    async def listen(self) -> AsyncIterator[int]:
        yield 1
""",
        id="abstract-async-iterator",
    ),
    pytest.param(
        """\
class Base:
    def listen(self):
        raise NotImplementedError


class Impl(Base):
    async def listen(self):
        return 1
""",
        id="not-implemented-base",
    ),
]


@pytest.mark.parametrize("text", NOOP_OVERRIDDEN_BY_ASYNC)
def test_base_methods_of_existing_async_overrides_are_untouched(text: str) -> None:
    assert _migrate(text) == text


SHADOW_LIB = """\
from sqlalchemy.orm import Session


class Queue:
    def __init__(self, db: Session):
        self.db = db

    def put_nowait(self, item):
        self.db.add(item)
        self.db.commit()
"""
STDLIB_QUEUE_USER = """\
from queue import Queue


def fill(items):
    q: Queue = Queue()
    for item in items:
        q.put_nowait(item)
"""


@pytest.mark.parametrize("lib_key", ["pkg/util/queue.py", "pkg/queue.py"])
def test_stdlib_import_is_not_resolved_to_a_project_module_of_the_same_name(lib_key: str) -> None:
    outcomes = migrate_sources({lib_key: SHADOW_LIB, "other/fill.py": STDLIB_QUEUE_USER}, EngineOptions())
    assert outcomes[lib_key].status is FileStatus.CHANGED
    assert outcomes["other/fill.py"].new_text == STDLIB_QUEUE_USER
