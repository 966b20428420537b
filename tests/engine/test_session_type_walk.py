"""`session_type_edits` walks only the statements that can name the Session class, and finds what a walk of every
node finds: the same edits, imports and names, in the same order."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods import astwalk, module_edits
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
        patched.setattr(module_edits, "_nodes_that_can_name_the_session", lambda _p, tree, _t: astwalk.walk(tree))
        return _edits(project, path, text)


def _edits(project: Project, path: str, text: str) -> ModuleEdits:
    symbols = project.modules[collect_symbols(path, ast.parse(text), text).name]
    return session_type_edits(project, symbols, _trees[path], SpanMaker(text), text)


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
    # r.Handle (decorator), db.DBSession, r.Handle (module level), r.Handle (decorator of a def without the word)
    assert [edit.text for edit in service.edits] == ["AsyncSession"] * 4
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
