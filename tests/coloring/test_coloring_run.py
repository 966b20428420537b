"""The coloring fixture projects run: before on a sync `Session`, expected on an `AsyncSession`, same results.

SQLite always; PostgreSQL (asyncpg) when AWAITIFY_PG_URL is set. FastAPI cases are called through
`TestClient` (before) and `httpx.AsyncClient` + `ASGITransport` (expected). A missing `await` must make the
comparison fail: test_a_missing_await_fails_the_run_comparison proves it on copies of expected trees with
one `await` removed.
"""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path

import pytest
from coloring_harness import (
    Case,
    Database,
    Outcome,
    assert_same_behaviour,
    copy_tree,
    discover_cases,
    run_before,
    run_expected,
    run_project_tests,
)

RUNNABLE = [case for case in discover_cases() if case.run not in {None, "pytest"}]
WITH_TESTS = [case for case in discover_cases() if case.run == "pytest"]


def test_there_are_runnable_cases() -> None:
    assert len(RUNNABLE) >= 12
    assert {case.run for case in RUNNABLE} == {"entry", "fastapi", "script"}
    assert WITH_TESTS, "a case whose own pytest suite is migrated and run"


@pytest.mark.parametrize("case", WITH_TESTS, ids=str)
def test_the_projects_own_tests_pass_before_and_after(case: Case, database: Database, tmp_path: Path) -> None:
    """The before tree's tests pass on a sync Session and TestClient; the migrated ones on pytest-asyncio."""
    before = run_project_tests(copy_tree(case.before, tmp_path / "before"), database)
    assert (before.returncode, before.passed) == (0, case.meta["tests"]), before.output
    after = run_project_tests(copy_tree(case.expected, tmp_path / "expected"), database)
    assert (after.returncode, after.passed) == (0, case.meta["tests"]), after.output


# (file, text with the await, the same text without it): the migrated suite must then fail.
TEST_SUITE_MUTATIONS = [
    pytest.param("tests/test_services.py", "assert await services.get_user(db, 42) is None", id="service-result"),
    pytest.param("tests/test_api.py", 'response = await client.get("/users/1")', id="http-request"),
    pytest.param("tests/conftest.py", "return await active_names(session)", id="session-fixture"),
]


@pytest.mark.parametrize(("relpath", "with_await"), TEST_SUITE_MUTATIONS)
def test_a_missing_await_fails_the_migrated_test_suite(relpath: str, with_await: str, tmp_path: Path) -> None:
    from coloring_harness import sqlite_database

    case = next(c for c in WITH_TESTS if c.name == "pytest_suite")
    broken = copy_tree(case.expected, tmp_path / "broken")
    source = (broken / relpath).read_text()
    assert source.count(with_await) == 1, "the mutation must remove exactly one await"
    (broken / relpath).write_text(source.replace(with_await, with_await.replace("await ", "", 1)))
    run = run_project_tests(broken, sqlite_database(tmp_path / "mutation.db"))
    assert run.returncode == 1, run.output
    assert run.failed >= 1, run.output


@pytest.mark.filterwarnings("error::RuntimeWarning")  # "coroutine ... was never awaited"
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")  # a version notice
@pytest.mark.parametrize("case", RUNNABLE, ids=str)
async def test_expected_tree_behaves_like_the_before_tree(case: Case, database: Database, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        if case.meta.get("before_fails"):  # the before tree's own missing await, the bug the migration fixes
            warnings.simplefilter("ignore", RuntimeWarning)
        before = run_before(case, copy_tree(case.before, tmp_path / "before"), database)
        gc.collect()
    after = await run_expected(case, copy_tree(case.expected, tmp_path / "expected"), database)
    gc.collect()
    assert_same_behaviour(case, before, after)


# (case, file, text with the await, the same text without it): each must break the run comparison.
MUTATIONS = [
    pytest.param(
        "services_across_modules",
        "shop/services.py",
        "user = await repo.get_user(db, user_id)",
        "user = repo.get_user(db, user_id)",
        id="result-used-as-object",
    ),
    pytest.param(
        "fastapi_routers",
        "api/routers/users.py",
        "if not await user_service.deactivate(db, user_id):",
        "if not user_service.deactivate(db, user_id):",
        id="coroutine-always-true",
    ),
    pytest.param(
        "fastapi_routers",
        "api/services/users.py",
        "    await db.commit()\n    return True",
        "    db.commit()\n    return True",
        id="commit-never-runs",
    ),
    pytest.param(
        "callable_dependency",
        "api/checks.py",
        'return f"hello {(await active_user(user_id, db)).name}"',
        'return f"hello {active_user(user_id, db).name}"',
        id="instance-call",
    ),
    pytest.param(
        "inheritance",
        "zoo/specialised.py",
        "return await super().fetch(key)",
        "return super().fetch(key)",
        id="super-call",
    ),
    pytest.param(
        "main_script",
        "entry.py",
        "changed = await discount(db, 10)",
        "changed = discount(db, 10)",
        id="script",
    ),
]


@pytest.mark.parametrize(("case_name", "relpath", "with_await", "without_await"), MUTATIONS)
async def test_a_missing_await_fails_the_run_comparison(
    case_name: str, relpath: str, with_await: str, without_await: str, tmp_path: Path
) -> None:
    from coloring_harness import sqlite_database

    case = next(c for c in RUNNABLE if c.name == case_name)
    broken = copy_tree(case.expected, tmp_path / "broken")
    source = (broken / relpath).read_text()
    assert source.count(with_await) == 1, "the mutation must remove exactly one await"
    (broken / relpath).write_text(source.replace(with_await, without_await))
    database = sqlite_database(tmp_path / "mutation.db")

    before = run_before(case, copy_tree(case.before, tmp_path / "before"), database)
    with pytest.warns(RuntimeWarning, match="never awaited"):
        after = await run_expected(case, broken, database)
        gc.collect()  # the warning comes when the forgotten coroutine is collected
    with pytest.raises(AssertionError):
        assert_same_behaviour(case, before, after)


# (text of response_model_relationships' expected routes, the same without the loader option awaitify added):
# the response model (or a model validating the objects) then reads a relationship lazily, which an AsyncSession
# refuses (a 500 for the request)
LOADER_MUTATIONS = [
    pytest.param(
        "select(User).options(selectinload(User.items)).order_by(User.id)",
        "select(User).order_by(User.id)",
        id="collection",
    ),
    pytest.param(
        "select(Item).options(selectinload(Item.owner)).order_by(Item.id)",
        "select(Item).order_by(Item.id)",
        id="many-to-one",
    ),
    pytest.param(
        ".options(selectinload(Item.owner).selectinload(User.items))",
        ".options(selectinload(Item.owner))",
        id="nested",
    ),
    pytest.param(
        "select(User).options(selectinload(User.items)).where(User.id == user_id))).scalar_one()",
        "select(User).where(User.id == user_id))).scalar_one()",
        id="model-validate",
    ),
    pytest.param(
        "select(User).options(selectinload(User.items)).where(User.id > 0)",
        "select(User).where(User.id > 0)",
        id="map-model-validate",
    ),
]


@pytest.mark.parametrize(("with_option", "without_option"), LOADER_MUTATIONS)
async def test_a_missing_loader_option_fails_the_run_comparison(
    with_option: str, without_option: str, tmp_path: Path
) -> None:
    from coloring_harness import sqlite_database

    case = next(c for c in RUNNABLE if c.name == "response_model_relationships")
    broken = copy_tree(case.expected, tmp_path / "broken")
    routes = broken / "api" / "routes.py"
    source = routes.read_text()
    assert source.count(with_option) == 1, "the mutation must remove exactly one loader option"
    routes.write_text(source.replace(with_option, without_option))
    database = sqlite_database(tmp_path / "mutation.db")
    before = run_before(case, copy_tree(case.before, tmp_path / "before"), database)
    after = await run_expected(case, broken, database)
    with pytest.raises(AssertionError):
        assert_same_behaviour(case, before, after)


# (the draw in session_drawn_inline_by_next's expected reports, the same left to the event loop to close): the
# dropped async generator is closed by a task of the loop while the drawn session flushes. Depending on timing that
# task's `db.close()` closes the flush's transaction ("This transaction is closed") or fails itself
# (IllegalStateChangeError, in a task nobody awaits); the sync generator was closed before the session was used.
async def test_a_generator_closed_later_fails_the_run_comparison(tmp_path: Path) -> None:
    from coloring_harness import sqlite_database

    case = next(c for c in RUNNABLE if c.name == "session_drawn_inline_by_next")
    broken = copy_tree(case.expected, tmp_path / "broken")
    reports = broken / "inl" / "reports.py"
    source = reports.read_text()
    draw = "await crud.add_item(await _awaitify_next_closed(get_db()), 1, title, 3)"
    assert source.count(draw) == 1, "the mutation must change exactly one draw"
    reports.write_text(source.replace(draw, "await crud.add_item(await anext(get_db()), 1, title, 3)"))
    database = sqlite_database(tmp_path / "mutation.db")
    before = run_before(case, copy_tree(case.before, tmp_path / "before"), database)
    loop = asyncio.get_running_loop()
    failed_tasks: list[BaseException | None] = []
    loop.set_exception_handler(lambda _loop, context: failed_tasks.append(context.get("exception")))
    try:
        after = await run_expected(case, broken, database)
        gc.collect()  # a failed task nobody awaited is reported when it is collected
    finally:
        loop.set_exception_handler(None)
    closing_failed = any(type(exc).__name__ == "IllegalStateChangeError" for exc in failed_tasks)
    assert closing_failed or after.result == "raised ResourceClosedError", (after.result, failed_tasks)
    if not closing_failed:
        with pytest.raises(AssertionError):
            assert_same_behaviour(case, before, after)


async def _run_collecting_failed_tasks(case: Case, root: Path, database: Database) -> tuple[Outcome, list[str]]:
    """The expected tree run, with the names of the exceptions raised by tasks nobody awaited (the event loop's
    closing of a dropped async generator is such a task)."""
    loop = asyncio.get_running_loop()
    failed_tasks: list[str] = []
    loop.set_exception_handler(lambda _loop, context: failed_tasks.append(type(context.get("exception")).__name__))
    try:
        after = await run_expected(case, root, database)
        gc.collect()  # a failed task nobody awaited is reported when it is collected
    finally:
        loop.set_exception_handler(None)
    return after, failed_tasks


# session_drawn_held_by_next: `return next(gen)` of a held generator. CPython closed the sync generator on that
# return; the migrated draw closes it at once too, so no closing task runs while the caller uses the session.
async def test_a_held_generator_returned_at_once_is_closed_before_the_session_is_used(
    database: Database, tmp_path: Path
) -> None:
    case = next(c for c in RUNNABLE if c.name == "session_drawn_held_by_next")
    before = run_before(case, copy_tree(case.before, tmp_path / "before"), database)
    after, failed_tasks = await _run_collecting_failed_tasks(
        case, copy_tree(case.expected, tmp_path / "after"), database
    )
    assert failed_tasks == []
    assert_same_behaviour(case, before, after)


# The same draw as `await anext(gen)` (what awaitify wrote before): the generator dropped on the return is closed by a
# task of the event loop while the caller flushes the session it handed out; that task fails
# (IllegalStateChangeError) and the session is never closed, or the flush finds its transaction closed.
async def test_a_held_generator_left_to_the_loop_fails_while_its_session_is_used(
    database: Database, tmp_path: Path
) -> None:
    case = next(c for c in RUNNABLE if c.name == "session_drawn_held_by_next")
    broken = copy_tree(case.expected, tmp_path / "broken")
    reports = broken / "held" / "reports.py"
    source = reports.read_text()
    draw = "    return await _awaitify_next_closed(gen)\n"
    assert source.count(draw) == 1, "the mutation must change exactly one draw"
    reports.write_text(source.replace(draw, "    return await anext(gen)\n"))
    after, failed_tasks = await _run_collecting_failed_tasks(case, broken, database)
    assert "IllegalStateChangeError" in failed_tasks or after.result == "raised ResourceClosedError", (
        after.result,
        failed_tasks,
    )
