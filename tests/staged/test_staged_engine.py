"""`--only` in the engine: each stage's exact output, idempotence, blocked files, and convergence to one shot."""

from __future__ import annotations

from pathlib import Path

import pytest
from staged_cases import StagedCase, discover_staged_cases, migrate_staged, read_tree, texts

from codemods.engine import check_sources, migrate_sources
from codemods.model import EngineOptions, FileStatus
from codemods.scope import in_scope
from codemods.staging import BLOCKED_CODE

CASES = discover_staged_cases()
STAGED_ROOT = Path(__file__).resolve().parents[2] / "fixtures"
STAGES = [
    pytest.param(case, index, id=f"{case.name}/{tree}")
    for case in CASES
    for index, (_only, tree) in enumerate(case.stages)
]


def test_there_are_staged_cases() -> None:
    assert CASES and all(len(case.stages) >= 3 for case in CASES)


@pytest.mark.parametrize(("case", "index"), STAGES)
def test_stage_gives_the_expected_tree(case: StagedCase, index: int) -> None:
    only, tree = case.stages[index]
    outcomes = migrate_staged(read_tree(case.tree(case.previous_tree(index))), only)
    assert texts(outcomes) == read_tree(case.tree(tree))


@pytest.mark.parametrize(("case", "index"), STAGES)
def test_stage_leaves_out_of_scope_files_byte_identical(case: StagedCase, index: int) -> None:
    only, _tree = case.stages[index]
    before = read_tree(case.tree(case.previous_tree(index)))
    outcomes = migrate_staged(before, only)
    changed = {path for path, outcome in outcomes.items() if outcome.status is FileStatus.CHANGED}
    assert changed and all(in_scope(path, only) for path in changed)
    for path, outcome in outcomes.items():
        if not in_scope(path, only):
            assert outcome.status is FileStatus.UNCHANGED and outcome.new_text.encode() == before[path].encode()
            assert outcome.findings == []


@pytest.mark.parametrize(("case", "index"), STAGES)
def test_second_run_of_a_stage_is_a_no_op(case: StagedCase, index: int) -> None:
    only, tree = case.stages[index]
    expected = read_tree(case.tree(tree))
    outcomes = migrate_staged(expected, only)
    assert [p for p, o in outcomes.items() if o.status is not FileStatus.UNCHANGED or o.new_text != expected[p]] == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_files_coupled_to_out_of_scope_code_stay_sync_and_are_reported(case: StagedCase) -> None:
    blocked = case.meta["blocked"]
    before = read_tree(case.tree(blocked["tree"]))
    outcomes = migrate_staged(before, tuple(blocked["only"]))
    assert texts(outcomes) == before, "a blocked stage must leave every file as it is"
    reported = {f.path: f for o in outcomes.values() for f in o.findings}
    assert sorted(reported) == sorted(blocked["files"])
    for finding in reported.values():
        assert finding.code == BLOCKED_CODE
        assert f"{blocked['out_of_scope_caller']} is out of scope" in finding.message


@pytest.mark.parametrize("case", CASES, ids=str)
def test_stages_end_at_the_one_shot_tree_but_for_the_async_twin(case: StagedCase) -> None:
    """Staged == one shot, except that the endpoints migrated while the sync provider was shared depend on the twin."""
    sync_provider, twin = case.meta["twin"]
    staged = read_tree(case.tree(case.stages[-1][1]))
    one_shot = texts(migrate_sources(read_tree(case.tree("before")), EngineOptions()))
    assert sorted(staged) == sorted(one_shot)
    differing = sorted(path for path in staged if staged[path] != one_shot[path])
    assert differing, "the fixture is meant to show the twin difference"
    for path in differing:
        assert staged[path].replace(twin, sync_provider) == one_shot[path], path


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_last_stage_completes_the_migration(case: StagedCase) -> None:
    final = read_tree(case.tree(case.stages[-1][1]))
    outcomes = migrate_sources(final, EngineOptions())
    assert [p for p, o in outcomes.items() if o.status is not FileStatus.UNCHANGED] == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_check_only_reports_files_in_scope(case: StagedCase) -> None:
    sources = read_tree(case.tree("before"))
    only = case.stages[0][0]
    everything = check_sources(sources, EngineOptions())
    scoped = check_sources(sources, EngineOptions(only=only))
    assert scoped and set(scoped) == {path for path in everything if in_scope(path, only)}
    assert all(scoped[path] == everything[path] for path in scoped)
    assert any(findings for path, findings in everything.items() if path not in scoped)


COLORING_CASES = sorted(p for p in (STAGED_ROOT / "coloring").iterdir() if (p / "case.json").is_file())


@pytest.mark.parametrize("case_dir", COLORING_CASES, ids=lambda p: p.name)
def test_a_scope_covering_everything_is_the_one_shot_migration(case_dir: Path) -> None:
    """`--only '*'` rewrites what a plain run rewrites, byte for byte, on every coloring project."""
    sources = read_tree(case_dir / "before")
    one_shot = migrate_sources(sources, EngineOptions())
    scoped = migrate_sources(sources, EngineOptions(only=("*",)))
    assert texts(scoped) == texts(one_shot)
    assert {p: o.findings for p, o in scoped.items()} == {p: o.findings for p, o in one_shot.items()}


SHARED_ALIAS_PROJECT = {
    "app/__init__.py": "",
    "app/db.py": (
        "from typing import Annotated\n\n"
        "from fastapi import Depends\n"
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine\n"
        "from sqlalchemy.orm import Session, sessionmaker\n\n"
        'SessionLocal = sessionmaker(bind=create_engine("sqlite://"))\n'
        'AsyncSessionLocal = async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"))\n\n\n'
        "def get_db():\n    with SessionLocal() as db:\n        yield db\n\n\n"
        "async def get_async_db():\n    session: AsyncSession\n"
        "    async with AsyncSessionLocal() as session:\n        yield session\n\n\n"
        "DbSession = Annotated[Session, Depends(get_db)]\n"
    ),
    "app/a.py": (
        'from app.db import DbSession\n\n\ndef count_a(db: DbSession):\n    return db.execute("select 1").scalar()\n'
    ),
    "app/b.py": (
        'from app.db import DbSession\n\n\ndef count_b(db: DbSession):\n    return db.execute("select 2").scalar()\n'
    ),
}


def test_a_shared_session_alias_blocks_its_users_until_its_module_migrates() -> None:
    """`db: DbSession` from the provider's module: the alias is a session global, so users wait for that module."""
    outcomes = migrate_staged(dict(SHARED_ALIAS_PROJECT), ("app/a.py",))
    assert texts(outcomes) == SHARED_ALIAS_PROJECT
    (finding,) = [f for o in outcomes.values() for f in o.findings]
    assert (finding.path, finding.code) == ("app/a.py", BLOCKED_CODE)
    assert "uses `DbSession`" in finding.message and "app/db.py is out of scope" in finding.message
    # with the alias's module and every user of it in scope, the stage is the one-shot migration
    everything = migrate_staged(dict(SHARED_ALIAS_PROJECT), ("app",))
    assert texts(everything) == texts(migrate_sources(dict(SHARED_ALIAS_PROJECT), EngineOptions()))
    assert texts(everything)["app/a.py"] != SHARED_ALIAS_PROJECT["app/a.py"]


FACTORY_PROJECT = {
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlalchemy import create_engine\nfrom sqlalchemy.orm import sessionmaker\n\n"
        'SessionLocal = sessionmaker(bind=create_engine("sqlite://"))\n'
    ),
    "app/jobs.py": (
        "from sqlalchemy import text\n\nfrom app.db import SessionLocal\n\n\ndef purge():\n"
        "    with SessionLocal() as db:\n"
        '        db.execute(text("delete from items"))\n'
        "        db.commit()\n"
    ),
    "app/report.py": (
        "from sqlalchemy import text\n\nfrom app.db import SessionLocal\n\n\ndef total():\n"
        "    with SessionLocal() as db:\n"
        '        return db.execute(text("select count(*) from items")).scalar()\n'
    ),
}


def test_a_session_factory_of_a_module_that_cannot_migrate_blocks_its_users() -> None:
    """`with SessionLocal()` in scope while db.py (used by report.py, out of scope) stays sync: jobs.py waits."""
    blocked = migrate_staged(dict(FACTORY_PROJECT), ("app/jobs.py", "app/db.py"))
    assert texts(blocked) == FACTORY_PROJECT
    findings = sorted((f.path, f.code) for o in blocked.values() for f in o.findings)
    assert findings == [("app/db.py", BLOCKED_CODE), ("app/jobs.py", BLOCKED_CODE)]
    assert all("app/report.py is out of scope" in f.message for o in blocked.values() for f in o.findings)
    together = migrate_staged(dict(FACTORY_PROJECT), ("app",))
    assert texts(together) == texts(migrate_sources(dict(FACTORY_PROJECT), EngineOptions()))
    assert "async with SessionLocal() as db" in texts(together)["app/jobs.py"]


STUCK_CONSTRUCTOR_PROJECT = {
    "app/__init__.py": "",
    "app/repo.py": (
        "from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n\n\nclass Counter:\n"
        "    def __init__(self, db: Session):\n"
        '        self.total = db.execute(text("select 1")).scalar()\n'
    ),
    "app/views.py": (
        "from sqlalchemy.orm import Session\n\nfrom app.repo import Counter\n\n\ndef show(db: Session):\n"
        "    db.commit()\n    return Counter(db).total\n"
    ),
}


def test_code_that_hands_its_session_to_sync_io_out_of_scope_stays_sync() -> None:
    """`Counter(db)` does sync I/O in a constructor (AWT204 one-shot): views.py must not hand it an AsyncSession."""
    outcomes = migrate_staged(dict(STUCK_CONSTRUCTOR_PROJECT), ("app/views.py",))
    assert texts(outcomes) == STUCK_CONSTRUCTOR_PROJECT
    (finding,) = [f for o in outcomes.values() for f in o.findings]
    assert finding.path == "app/views.py" and "constructs `Counter`" in finding.message


@pytest.mark.parametrize("case", CASES, ids=str)
def test_the_provider_waits_for_its_last_sync_user(case: StagedCase) -> None:
    """db.py in scope with the first stage: users of `get_db` out of scope keep it sync; the stage still happens."""
    sync_provider, _twin = case.meta["twin"]
    only, first_tree = case.stages[0]
    outcomes = migrate_staged(read_tree(case.tree("before")), (*only, "shop/db.py"))
    assert texts(outcomes) == read_tree(case.tree(first_tree))
    (finding,) = [f for o in outcomes.values() for f in o.findings]
    assert (finding.path, finding.code) == ("shop/db.py", BLOCKED_CODE)
    assert f"used by shop/admin/router.py (`Depends({sync_provider})`" in finding.message
    assert read_tree(case.tree("before"))["shop/db.py"].splitlines()[finding.line - 1] == f"def {sync_provider}():"


def _handover_project(with_twin: bool) -> dict[str, str]:
    twin = (
        "\n\nasync def get_async_db():\n    session: AsyncSession\n"
        "    async with AsyncSessionLocal() as session:\n        yield session\n"
    )
    return {
        "app/__init__.py": "",
        "app/db.py": (
            "from sqlalchemy import create_engine\n"
            "from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            'SessionLocal = sessionmaker(bind=create_engine("sqlite://"))\n'
            'AsyncSessionLocal = async_sessionmaker(bind=create_async_engine("sqlite+aiosqlite://"))\n\n\n'
            "def get_db():\n    with SessionLocal() as db:\n        yield db\n" + (twin if with_twin else "")
        ),
        "app/audit.py": (
            "from sqlalchemy import text\nfrom sqlalchemy.orm import Session\n\n\n"
            "def record(db: Session, what: str) -> None:\n"
            '    db.execute(text("insert into log values (:w)"), {"w": what})\n    db.commit()\n'
        ),
        # a file the one-shot migration leaves as it is: `add_task` awaits what it is handed
        "app/views.py": (
            "from fastapi import BackgroundTasks, Depends\n\n"
            "from app.audit import record\nfrom app.db import get_db\n\n\n"
            'def endpoint(tasks: BackgroundTasks, db=Depends(get_db)):\n    tasks.add_task(record, db, "seen")\n'
            "    return {}\n"
        ),
    }


def test_a_function_handed_over_by_an_unchanged_file_out_of_scope_stays_sync() -> None:
    """views.py needs no rewrite, but it hands `record` the sync provider's session: record must stay sync."""
    project = _handover_project(with_twin=True)
    assert migrate_sources(project, EngineOptions())["app/views.py"].status is FileStatus.UNCHANGED
    outcomes = migrate_staged(dict(project), ("app/audit.py",))
    assert texts(outcomes) == project
    (finding,) = [f for o in outcomes.values() for f in o.findings]
    assert finding.path == "app/audit.py" and "refers to record()" in finding.message
    assert "app/views.py gets `Depends(get_db)` from app/db.py, which stays sync" in finding.message


def test_an_unchanged_file_in_scope_is_switched_to_the_twin_when_it_needs_to() -> None:
    project = _handover_project(with_twin=True)
    outcomes = migrate_staged(dict(project), ("app/audit.py", "app/views.py"))
    assert outcomes["app/audit.py"].status is FileStatus.CHANGED
    assert texts(outcomes)["app/views.py"] == project["app/views.py"].replace("get_db", "get_async_db")
    assert texts(outcomes)["app/db.py"] == project["app/db.py"]
    again = migrate_staged(texts(outcomes), ("app/audit.py", "app/views.py"))
    assert all(o.status is FileStatus.UNCHANGED for o in again.values())
    without_twin = _handover_project(with_twin=False)
    blocked = migrate_staged(dict(without_twin), ("app/audit.py", "app/views.py"))
    assert texts(blocked) == without_twin
    (finding,) = [f for o in blocked.values() for f in o.findings]
    assert "no async twin provider exists" in finding.message
