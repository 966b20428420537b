"""`session_type_edits` walks only the statements that can name the Session class, and finds what a walk of every
node finds: the same edits, imports and names, in the same order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods import astwalk, module_edits
from codemods.engine import migrate_sources
from codemods.model import EngineOptions
from codemods.module_edits import ModuleEdits, session_type_edits
from codemods.project import Project
from codemods.spans import SpanMaker
from codemods.symbols import collect_symbols
from tests.engine.trees import REPO, generated_repo, python_files

# `db.DBSession` names the class under a name without "Session" in this module; decorators come before a def's line
ALIASES = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import Session as DBSession, sessionmaker\n\nS = sessionmaker()\n",
    "app/reexport.py": "from app.db import DBSession as Handle\n",
    "app/service.py": (
        "import app.reexport as r\n"
        "from app import db\n"
        "\n"
        "\n"
        "def deco(x):\n"
        "    return lambda f: f\n"
        "\n"
        "\n"
        "@deco(\n"
        "    r.Handle\n"
        ")\n"
        "def get(session: db.DBSession, other: 'r.Handle') -> None:\n"
        "    return None\n"
        "\n"
        "\n"
        "def plain(x: int) -> int:\n"
        "    return x + 1\n"
        "\n"
        "\n"
        "HANDLE_TYPE = r.Handle\n"
        "\n"
        "\n"
        "@deco(\n"
        "    r.Handle\n"
        ")\n"
        "def decorated(x: int) -> int:\n"
        "    return x\n"
    ),
    "app/annotations.py": (
        "from sqlalchemy.orm import Session\n"
        "\n"
        "\n"
        "def f(db: 'Session | None' = None) -> 'Session':\n"
        "    def g(inner: Session) -> None:\n"
        "        from sqlalchemy.orm import Session as Local\n"
        "    return db\n"
    ),
}


def _every_node_edits(project: Project, path: str, text: str, monkeypatch: pytest.MonkeyPatch) -> ModuleEdits:
    with monkeypatch.context() as patched:
        patched.setattr(module_edits, "_nodes_that_can_name_the_session", lambda _p, tree, _t: astwalk.walk(tree()))
        return _edits(project, path, text)


def _edits(project: Project, path: str, text: str) -> ModuleEdits:
    symbols = project.modules[collect_symbols(path, ast.parse(text), text).name]
    return session_type_edits(project, symbols, lambda: _trees[path], SpanMaker(text), text)


_trees: dict[str, ast.Module] = {}


def _project(files: dict[str, str]) -> Project:
    _trees.clear()
    parsed = []
    for path, text in files.items():
        try:
            _trees[path] = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            continue
        parsed.append(collect_symbols(path, _trees[path], text))
    return Project(parsed)


def _assert_same_as_every_node(files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> int:
    project = _project(files)
    found = 0
    for path, text in files.items():
        if path not in _trees:
            continue
        expected = _every_node_edits(project, path, text, monkeypatch)
        assert _edits(project, path, text) == expected, path
        found += len(expected.edits) + len(expected.imports)
    return found


def test_aliases_decorators_strings_and_nested_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(ALIASES)
    service = _edits(project, "app/service.py", ALIASES["app/service.py"])
    # r.Handle (decorator), db.DBSession, 'r.Handle' (a string annotation: the whole string), r.Handle (module
    # level), r.Handle (decorator of a def without the word)
    assert sorted(edit.text for edit in service.edits) == ["'AsyncSession'"] + ["AsyncSession"] * 4
    annotations = _edits(project, "app/annotations.py", ALIASES["app/annotations.py"])
    assert sorted(edit.text for edit in annotations.edits) == [
        "'AsyncSession | None'",
        "'AsyncSession'",
        "AsyncSession",
    ]
    assert _assert_same_as_every_node(ALIASES, monkeypatch) > 0


def test_a_module_that_cannot_name_the_session_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"models.py": "from sqlalchemy.orm import DeclarativeBase\n\n\nclass Base(DeclarativeBase):\n    pass\n"}
    project = _project(files)
    walked: list[ast.AST] = []
    monkeypatch.setattr(astwalk, "walk_lines", lambda root, lines: walked.append(root) or [])
    assert _edits(project, "models.py", files["models.py"]) == ModuleEdits()
    assert walked == []


@pytest.mark.parametrize("tree", ["target_backend", "fixtures"])
def test_project_trees(tree: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _assert_same_as_every_node(python_files(REPO / tree), monkeypatch) > 0


def test_generated_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = generated_repo(tmp_path / "generated", domains=6)
    assert _assert_same_as_every_node(python_files(dest), monkeypatch) > 0


def _migrated(files: dict[str, str]) -> dict[str, str]:
    return {path: outcome.new_text for path, outcome in migrate_sources(files, EngineOptions()).items()}


@pytest.mark.parametrize("tree", ["target_backend", "generated"])
def test_migrated_code_naming_async_session(tree: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second run over migrated code (`AsyncSession` in most modules, blanked before the lines are found) finds
    what a walk of every node finds."""
    root = REPO / tree if tree == "target_backend" else generated_repo(tmp_path / "generated", domains=6)
    migrated = _migrated(python_files(root))
    assert sum("AsyncSession" in text for text in migrated.values()) >= 10
    _assert_same_as_every_node(migrated, monkeypatch)


# the Session class under names holding `AsyncSession`: those are words, and the text is not blanked
ASYNC_SESSION_ALIASES = {
    "app/__init__.py": "",
    "app/db.py": "from sqlalchemy.orm import Session as MyAsyncSession\n",
    "app/odd.py": "from sqlalchemy.orm import Session as AsyncSession\n\n\ndef f(db: AsyncSession) -> None: ...\n",
    "app/service.py": (
        "from app import db\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "\n"
        "\n"
        "def get(session: db.MyAsyncSession, other: AsyncSession) -> None:\n"
        "    return None\n"
    ),
}


def test_names_holding_async_session(monkeypatch: pytest.MonkeyPatch) -> None:
    project = _project(ASYNC_SESSION_ALIASES)
    service = _edits(project, "app/service.py", ASYNC_SESSION_ALIASES["app/service.py"])
    assert [edit.text for edit in service.edits] == ["AsyncSession"]  # `db.MyAsyncSession`
    odd = _edits(project, "app/odd.py", ASYNC_SESSION_ALIASES["app/odd.py"])
    assert odd.removable == {"AsyncSession"} and odd.imports
    assert _assert_same_as_every_node(ASYNC_SESSION_ALIASES, monkeypatch) > 0


def test_a_module_naming_only_async_session_is_not_parsed() -> None:
    service = (
        "from sqlalchemy.ext.asyncio import AsyncSession\n\n\n"
        "async def get(db: AsyncSession) -> None:\n"
        '    """Takes an AsyncSession."""\n'
        "    await db.commit()\n"
    )
    files = {"db.py": "from sqlalchemy.orm import Session\n", "service.py": service}
    project = _project(files)
    symbols = project.modules[collect_symbols("service.py", _trees["service.py"], service).name]

    def no_tree() -> ast.Module:
        raise AssertionError("the tree was asked for")

    assert session_type_edits(project, symbols, no_tree, SpanMaker(service), service) == ModuleEdits()
