"""Every tree of a staged migration runs: before, after each stage, on SQLite and PostgreSQL (AWAITIFY_PG_URL).

Both halves answer: endpoints already migrated (AsyncSession from the twin provider) and those still sync
(Session from the sync provider), through `httpx.AsyncClient` + `ASGITransport`, from the same seed.
"""

from __future__ import annotations

import gc
import inspect
from pathlib import Path
from typing import Any

import pytest
from coloring_harness import (
    Database,
    _async_client,
    _json,
    _project_engines,
    copy_tree,
    dump_database,
    loaded_project,
    reset_database,
)
from staged_cases import StagedCase, discover_staged_cases

CASES = discover_staged_cases()
TREES = [pytest.param(case, tree, id=f"{case.name}/{tree}") for case in CASES for _only, tree in case.stages]


async def run_tree(case: StagedCase, root: Path, db: Database) -> tuple[list[Any], dict[str, Any]]:
    """The case's requests against the tree at `root`; its answers and the rows left in the database."""
    reset_database(db)
    answers: list[Any] = []
    with loaded_project(root, db.env_url) as entry:
        try:
            async with _async_client(entry.app) as client:
                for method, url in case.meta["requests"]:
                    response = await client.request(method, url)
                    answers.append([f"{method} {url}", response.status_code, _json(response)])
        finally:
            for engine in _project_engines(root):
                disposed = engine.dispose()
                if inspect.isawaitable(disposed):
                    await disposed
    return answers, dump_database(db)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # "coroutine ... was never awaited"
@pytest.mark.parametrize(("case", "tree"), TREES)
async def test_stage_tree_behaves_like_the_before_tree(
    case: StagedCase, tree: str, database: Database, tmp_path: Path
) -> None:
    before = await run_tree(case, copy_tree(case.tree("before"), tmp_path / "before"), database)
    gc.collect()
    assert all(status < 500 for _key, status, _body in before[0]), before[0]
    after = await run_tree(case, copy_tree(case.tree(tree), tmp_path / tree), database)
    gc.collect()
    assert after == before


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_first_stage_tree_runs_both_halves(case: StagedCase) -> None:
    """The run above covers a mixed tree: sync endpoints on the sync provider, async ones on the twin."""
    sync_provider, twin = case.meta["twin"]
    tree = case.tree(case.stages[0][1])
    text = "\n".join(p.read_text() for p in sorted(tree.rglob("*.py")))
    assert f"Depends({sync_provider})" in text and f"Depends({twin})" in text
    assert "\ndef " in text and "\nasync def " in text


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", CASES, ids=str)
async def test_a_missing_await_in_a_stage_tree_fails_the_comparison(case: StagedCase, tmp_path: Path) -> None:
    from coloring_harness import sqlite_database

    db = sqlite_database(tmp_path / "mutant.db")
    before = await run_tree(case, copy_tree(case.tree("before"), tmp_path / "before"), db)
    first_tree = case.stages[0][1]
    mutant = copy_tree(case.tree(first_tree), tmp_path / "mutant")
    router = mutant / "shop" / "items" / "router.py"
    text = router.read_text()
    assert "await service.add_item(" in text
    router.write_text(text.replace("await service.add_item(", "service.add_item(", 1))
    after = await run_tree(case, mutant, db)
    assert after != before
