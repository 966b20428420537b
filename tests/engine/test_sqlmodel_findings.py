"""SQLModel's sync `Session` / `create_engine` are never migrated and never silent: `migrate` puts an AWT221 marker on
each line importing or naming one (and rewrites nothing else of SQLModel's), `check` reports each as AWT303.

Before this, a SQLModel backend came out of `migrate` untouched and `check` reported it clean."""

from __future__ import annotations

import pytest

from codemods import engine
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
    monkeypatch.setattr(engine.Project, "names_of", lambda self, targets: _EveryName())
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
