"""SQLModel's sync `Session` / `create_engine` are never migrated and never silent: `migrate` puts an AWT221 marker on
each line importing or naming one (and rewrites nothing else of SQLModel's), `check` reports each as AWT303.

Before this, a SQLModel backend came out of `migrate` untouched and `check` reported it clean."""

from __future__ import annotations

import pytest

from codemods import engine, project_analysis
from codemods.model import EngineOptions

SOURCES = {
    "app/__init__.py": "",
    "app/db.py": (
        "from sqlmodel import Session, SQLModel, create_engine\n"
        "\n"
        "engine = create_engine('sqlite://')\n"
        "\n"
        "\n"
        "def get_session():\n"
        "    with Session(engine) as session:\n"
        "        yield session\n"
    ),
    "app/crud.py": (
        "import sqlmodel\n"
        "from app.db import Session\n"  # a re-export of SQLModel's Session
        "\n"
        "\n"
        "def count(session: sqlmodel.Session) -> int:\n"
        "    return len(session.exec(sqlmodel.select(sqlmodel.SQLModel)).all())\n"
    ),
    "app/models.py": "from sqlmodel import Field, SQLModel, select\n",  # no session, no engine: nothing to say
}


def _lines(findings: dict[str, list[engine.Finding]], code: str) -> dict[str, list[int]]:
    out = {path: [f.line for f in found if f.code == code] for path, found in findings.items()}
    return {path: lines for path, lines in out.items() if lines}


def test_check_reports_every_sqlmodel_session_and_engine() -> None:
    found = engine.check_sources(SOURCES, EngineOptions())
    assert _lines(found, "AWT303") == {"app/db.py": [1, 1], "app/crud.py": [2, 5]}
    messages = {f.message for findings in found.values() for f in findings}
    assert "sync SQLModel API `Session` is still used (awaitify does not migrate SQLModel: AWT221)" in messages


def test_migrate_flags_the_lines_and_rewrites_nothing_else() -> None:
    outcomes = engine.migrate_sources(SOURCES, EngineOptions())
    for path, text in SOURCES.items():
        new = outcomes[path].new_text
        flagged = [n for n, line in enumerate(new.splitlines(), start=1) if "# awaitify: review AWT221" in line]
        assert flagged == {"app/db.py": [1], "app/crud.py": [2, 5]}.get(path, []), path
        assert [line.split("  # awaitify")[0] for line in new.splitlines()] == text.splitlines(), path
    assert "`Session`, `create_engine` not migrated" in outcomes["app/db.py"].new_text


def test_migrated_code_still_fails_check_by_its_markers() -> None:
    migrated = {path: o.new_text for path, o in engine.migrate_sources(SOURCES, EngineOptions()).items()}
    found = engine.check_sources(migrated, EngineOptions())
    assert _lines(found, "AWT307") == {"app/db.py": [1], "app/crud.py": [2, 5]}  # a marker left in the code
    assert all("review marker AWT221" in f.message for findings in found.values() for f in findings)
    assert _lines(found, "AWT303") == {}  # a line with a marker is reported once, by its marker


def test_disabling_the_marker_leaves_the_check_finding() -> None:
    options = EngineOptions(disabled_rules=frozenset({"AWT221"}))
    outcomes = engine.migrate_sources(SOURCES, options)
    assert all(o.new_text == SOURCES[path] for path, o in outcomes.items())
    assert _lines(engine.check_sources(SOURCES, options), "AWT303") == {"app/db.py": [1, 1], "app/crud.py": [2, 5]}


class _EveryName:
    def __contains__(self, name: object) -> bool:
        return True


def test_the_name_filter_finds_what_resolving_every_import_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    filtered = _lines(engine.check_sources(SOURCES, EngineOptions()), "AWT303")
    monkeypatch.setattr(project_analysis.Project, "names_of", lambda self, targets: _EveryName())
    assert _lines(engine.check_sources(SOURCES, EngineOptions()), "AWT303") == filtered


def test_a_project_class_named_session_is_no_sqlmodel_session() -> None:
    sources = {
        "app/__init__.py": "",
        "app/models.py": (
            "from sqlmodel import Field, SQLModel\n\n\n"
            "class Session(SQLModel, table=True):\n"
            "    id: int = Field(primary_key=True)\n"
        ),
        "app/load.py": "from app.models import Session as SessionModel\n\nrow = SessionModel(id=1)\n",
    }
    assert _lines(engine.check_sources(sources, EngineOptions()), "AWT303") == {}
    assert all(o.new_text == sources[path] for path, o in engine.migrate_sources(sources, EngineOptions()).items())


# A route module that names nothing of SQLModel's: its session arrives through a dependency alias defined elsewhere.
ALIAS_SOURCES = {
    "app/__init__.py": "",
    "app/db.py": (
        "from typing import Annotated, Optional\n"
        "\n"
        "from fastapi import Depends\n"
        "from sqlmodel import Session, create_engine\n"
        "\n"
        "engine = create_engine('sqlite://')\n"
        "\n"
        "\n"
        "def get_session():\n"
        "    with Session(engine) as session:\n"
        "        yield session\n"
        "\n"
        "\n"
        "SessionDep = Annotated[Session, Depends(get_session)]\n"
        "MaybeSession = Optional[SessionDep]\n"
        "NotASession = Annotated[int, Depends(get_session)]\n"
    ),
    "app/routes.py": (
        "from app import db\n"
        "from app.db import MaybeSession, NotASession, SessionDep\n"
        "\n"
        "\n"
        "def read(session: SessionDep) -> int:\n"
        "    return 1\n"
        "\n"
        "\n"
        "def read_many(\n"
        "    limit: int,\n"
        "    session: db.SessionDep,\n"
        ") -> int:\n"
        "    return limit\n"
        "\n"
        "\n"
        "def maybe(session: MaybeSession = None, other: NotASession = 0) -> int:\n"
        "    return other\n"
        "\n"
        "\n"
        "def unrelated(count: int) -> int:\n"
        "    return count\n"
    ),
}


def test_check_reports_each_parameter_a_session_alias_annotates() -> None:
    found = engine.check_sources(ALIAS_SOURCES, EngineOptions())
    assert _lines(found, "AWT303") == {"app/db.py": [4, 4], "app/routes.py": [5, 11, 16]}
    messages = {f.message for f in found["app/routes.py"]}
    assert messages == {
        "sync SQLModel `Session` arrives through `SessionDep` (awaitify does not migrate SQLModel: AWT221)",
        "sync SQLModel `Session` arrives through `db.SessionDep` (awaitify does not migrate SQLModel: AWT221)",
        "sync SQLModel `Session` arrives through `MaybeSession` (awaitify does not migrate SQLModel: AWT221)",
    }


def test_migrate_flags_the_functions_taking_a_session_alias_and_check_then_reports_the_markers() -> None:
    outcomes = engine.migrate_sources(ALIAS_SOURCES, EngineOptions())
    routes = outcomes["app/routes.py"].new_text
    flagged = [n for n, line in enumerate(routes.splitlines(), start=1) if "# awaitify: review AWT221" in line]
    assert flagged == [5, 12, 16]  # a def over several lines: the marker ends its header
    assert [line.split("  # awaitify")[0] for line in routes.splitlines()] == ALIAS_SOURCES[
        "app/routes.py"
    ].splitlines()
    migrated = {path: o.new_text for path, o in outcomes.items()}
    found = engine.check_sources(migrated, EngineOptions())
    assert _lines(found, "AWT307") == {"app/db.py": [4], "app/routes.py": [5, 12, 16]}
    assert _lines(found, "AWT303") == {}


# Code migrated by hand to SQLModel's AsyncSession (`sqlmodel.ext.asyncio.session`, a subclass of SQLAlchemy's whose
# `exec()` is a coroutine): no sync leftover where it is awaited, the leftovers where it is not.
HAND_MIGRATED = {
    "app/__init__.py": "",
    "app/crud.py": (
        "from sqlmodel import select\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "\n"
        "from app.models import Hero\n"
        "\n"
        "\n"
        "async def names(session: AsyncSession) -> list[str]:\n"
        "    return [hero.name for hero in (await session.exec(select(Hero))).all()]\n"
        "\n"
        "\n"
        "async def rename(session: AsyncSession, hero: Hero, name: str) -> None:\n"
        "    hero.name = name\n"
        "    session.add(hero)\n"
        "    await session.commit()\n"
        "\n"
        "\n"
        "async def forgot_commit(session: AsyncSession) -> None:\n"
        "    session.commit()\n"
        "\n"
        "\n"
        "async def forgot_exec(session: AsyncSession) -> list[Hero]:\n"
        "    return session.exec(select(Hero)).all()\n"
        "\n"
        "\n"
        "async def legacy_query(session: AsyncSession) -> list[Hero]:\n"
        "    return session.query(Hero).all()\n"
    ),
    "app/models.py": (
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Hero(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    name: str\n"
    ),
}


def test_check_knows_sqlmodels_async_session() -> None:
    found = engine.check_sources(HAND_MIGRATED, EngineOptions())
    assert {(f.line, f.code) for f in found["app/crud.py"]} == {(18, "AWT302"), (22, "AWT302"), (26, "AWT301")}
    messages = {f.message for f in found["app/crud.py"]}
    assert "`session.exec()` on an AsyncSession is not awaited" in messages
    assert _lines(found, "AWT303") == {}


# SQLModel's sync Session used in `async def` routes: awaitify leaves it sync (AWT221), and its I/O blocks the event
# loop as SQLAlchemy's does; `check` says so per call (AWT306), wherever the session comes from.
BLOCKING_SOURCES = {
    "app/__init__.py": "",
    "app/db.py": (
        "from typing import Annotated\n"
        "\n"
        "from fastapi import Depends\n"
        "from sqlmodel import Session, create_engine\n"
        "\n"
        "engine = create_engine('sqlite://')\n"
        "\n"
        "\n"
        "def get_session():\n"
        "    with Session(engine) as session:\n"
        "        yield session\n"
        "\n"
        "\n"
        "SessionDep = Annotated[Session, Depends(get_session)]\n"
    ),
    "app/routes.py": (
        "from sqlmodel import Session, select\n"
        "\n"
        "from app.db import SessionDep, engine, get_session\n"
        "from app.models import Hero\n"
        "\n"
        "\n"
        "async def listed(session: SessionDep) -> list[Hero]:\n"
        "    return session.exec(select(Hero)).all()\n"
        "\n"
        "\n"
        "async def added(name: str) -> None:\n"
        "    with Session(engine) as session:\n"
        "        session.add(Hero(name=name))\n"  # no I/O: nothing to say
        "        session.commit()\n"
        "\n"
        "\n"
        "async def drawn(session=Depends(get_session)) -> Hero | None:\n"
        "    return session.get(Hero, 1)\n"
        "\n"
        "\n"
        "def synchronous(session: Session) -> None:\n"  # a sync def: blocking is what it does
        "    session.commit()\n"
        "\n"
        "\n"
        "async def look_alike(cache) -> None:\n"  # an untyped object with the same method names: not a session
        "    cache.commit()\n"
        "    cache.exec('x')\n"
    ),
    "app/models.py": (
        "from sqlmodel import Field, SQLModel\n\n\n"
        "class Hero(SQLModel, table=True):\n"
        "    id: int | None = Field(default=None, primary_key=True)\n"
        "    name: str\n"
    ),
}
BLOCKING_SOURCES["app/routes.py"] = "from fastapi import Depends\n" + BLOCKING_SOURCES["app/routes.py"]


def test_check_reports_sqlmodel_session_io_in_async_def() -> None:
    found = engine.check_sources(BLOCKING_SOURCES, EngineOptions())
    assert _lines(found, "AWT306") == {"app/routes.py": [9, 15, 19]}
    messages = {f.message for f in found["app/routes.py"] if f.code == "AWT306"}
    assert messages == {
        "sync `session.exec()` of SQLModel's Session inside `async def` blocks the event loop",
        "sync `session.commit()` of SQLModel's Session inside `async def` blocks the event loop",
        "sync `session.get()` of SQLModel's Session inside `async def` blocks the event loop",
    }


def test_migrate_still_rewrites_nothing_of_a_sqlmodel_session_in_async_def() -> None:
    outcomes = engine.migrate_sources(BLOCKING_SOURCES, EngineOptions())
    for path, text in BLOCKING_SOURCES.items():
        new = outcomes[path].new_text
        assert [line.split("  # awaitify")[0] for line in new.splitlines()] == text.splitlines(), path
