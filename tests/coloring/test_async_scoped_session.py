"""`coloring/async_scoped_session_half_migrated` run: code already on `async_scoped_session` with its calls left sync.

The coloring harness runs a before tree on a sync engine; this one is already on an async engine (AWT205's advice
followed), so both trees run here under `httpx.AsyncClient` + `ASGITransport`, SQLite always and PostgreSQL when
AWAITIFY_PG_URL is set: the before tree answers wrong (a coroutine taken for a user, a sync route whose scope
function finds no running task), the migrated one answers right and writes the row.
"""

from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from coloring_harness import (
    Database,
    _async_client,
    _json,
    copy_tree,
    discover_cases,
    dump_database,
    loaded_project,
    reset_database,
)
from sqlalchemy.ext.asyncio import AsyncEngine

CASE = next(case for case in discover_cases() if case.name == "async_scoped_session_half_migrated")
REQUESTS = [
    ("GET", "/users/1/exists"),
    ("GET", "/users/99/exists"),
    ("GET", "/users/2/name"),
    ("GET", "/users/1/card"),
    ("POST", "/users/2/items?title=cup&price=3"),
]
MIGRATED_ANSWERS = [
    [200, {"exists": True}],
    [200, {"exists": False}],
    [200, {"name": "bob"}],
    [200, {"titles": ["pen", "book"], "spent": 17}],
    [200, {"titles": ["lamp", "cup"]}],
]


async def _run(root: Path, db: Database) -> tuple[list[list[Any]], dict[str, list[tuple[Any, ...]]]]:
    reset_database(db)
    with loaded_project(root, db.env_url) as entry:
        answers = []
        async with _async_client(entry.app) as client:
            for method, url in REQUESTS:
                response = await client.request(method, url)
                answers.append([response.status_code, _json(response)])
        engine = sys.modules["scoped.db"].engine  # the project's own, loaded with it
        assert isinstance(engine, AsyncEngine)
        await engine.dispose()
    gc.collect()
    return answers, dump_database(db)


async def test_the_migrated_tree_answers_what_the_before_tree_got_wrong(database: Database, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the before tree's coroutines, never awaited
        before, rows_before = await _run(copy_tree(CASE.before, tmp_path / "before"), database)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        after, rows_after = await _run(copy_tree(CASE.expected, tmp_path / "expected"), database)
    assert after == MIGRATED_ANSWERS
    # the premise: every request but the one already awaited goes wrong before the migration
    assert [b == a for b, a in zip(before, after, strict=True)] == [True, False, True, False, False]
    assert [b[0] for b in before] == [200, 200, 200, 500, 500]
    new_items = [row for row in rows_after["items"] if row not in rows_before["items"]]
    assert [(row[1], row[2], row[3]) for row in new_items] == [(2, "cup", 3)]


@pytest.mark.parametrize("tree", ["before", "expected"])
def test_the_trees_differ_only_where_the_calls_are(tree: str) -> None:
    """A guard on the fixture itself: the before tree holds the sync calls this test is about."""
    api = (getattr(CASE, tree) / "scoped" / "services.py").read_text()
    assert ("await db_session.commit()" in api) == (tree == "expected")
