"""The trees of modules the analysis does not look at are let go, and parsed again when something asks for them."""

from __future__ import annotations

import ast

import pytest

from codemods import engine, project_analysis
from codemods.model import EngineOptions
from codemods.relevance import cannot_matter, name_parts
from codemods.symbols import collect_symbols
from tests.engine.test_relevance import REACHED_ONLY_BY_HINTS_AND_ASYNC

PROJECT = [
    "app/__init__.py",
    "app/models.py",
    "app/helpers.py",
    "app/schemas.py",
    "target_backend/backend/api/users.py",
    "tests/test_users.py",
]


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("app/schemas.py", "import json\nfrom pydantic import BaseModel\n", True),
        ("app/schemas.py", "def plain(x):\n    return x\n", True),
        ("app/schemas.py", "from app.models import User\n", False),
        ("app/schemas.py", "from .models import User\n", False),
        ("app/schemas.py", "import app.helpers\n", False),
        ("app/schemas.py", "from app.helpers import *\n", False),
        # a project whose root is above the package: `backend.api.users` is `target_backend.backend.api.users`
        ("app/schemas.py", "from backend.api.users import router\n", False),
        ("app/schemas.py", "from sqlalchemy import select\n", False),
        ("app/schemas.py", "async def notify(message):\n    return message\n", False),
        ("tests/test_users.py", "def test_plain():\n    assert True\n", False),
    ],
)
def test_a_module_that_cannot_matter_is_known_from_its_own_symbols(path: str, text: str, expected: bool) -> None:
    symbols = collect_symbols(path, ast.parse(text), text)
    assert cannot_matter(symbols, name_parts(PROJECT)) is expected


NESTED = (
    "import json\n\n\n"
    "def outer(x):\n    def inner(y):\n        return json.dumps(y)\n    return inner(x)\n\n\n"
    "class Codec:\n    def encode(self, value):\n        return json.dumps(value)\n\n"
    "    @staticmethod\n    def decode(text):\n        return json.loads(text)\n"
)


def test_a_def_let_go_is_found_again() -> None:
    item = project_analysis._parse("app/codec.py", NESTED, None)
    assert not isinstance(item, str)
    before = {name: ast.dump(func.node, include_attributes=True) for name, func in item.symbols.functions.items()}
    item.release_tree()
    assert not item.holds_tree
    assert all(func.def_node is None for func in item.symbols.functions.values())
    after = {name: ast.dump(func.node, include_attributes=True) for name, func in item.symbols.functions.items()}
    assert after == before
    assert item.holds_tree  # the defs parsed alone (see `codemods.def_parse`), counted as the tree, let go with it
    item.release_tree()
    assert all(func.def_node is None for func in item.symbols.functions.values())


def test_the_defs_of_a_module_the_analysis_reads_whole_are_found_in_its_tree_parsed_again() -> None:
    item = project_analysis._parse("app/codec.py", NESTED, None)
    assert not isinstance(item, str)
    item.release_tree()
    item.analysed = True
    nodes = [func.node for func in item.symbols.functions.values()]
    in_tree = {id(node) for node in ast.walk(item.tree)}
    assert all(id(node) in in_tree for node in nodes)  # one parse serves the defs and the module's analysis


def test_a_look_at_a_tree_let_go_does_not_keep_it() -> None:
    item = project_analysis._parse("app/codec.py", NESTED, None)
    assert not isinstance(item, str)
    kept = ast.dump(item.tree)
    item.release_tree()
    assert ast.dump(item.transient_tree()) == kept
    assert not item.holds_tree


HINTED_AND_PLAIN = {
    **REACHED_ONLY_BY_HINTS_AND_ASYNC,
    "app/text.py": "import re\n\n\ndef slug(title):\n    return re.sub('[^a-z]+', '-', title.lower())\n",
}


def test_the_analysis_lets_go_of_the_trees_it_does_not_need() -> None:
    analysis = project_analysis._analyse(HINTED_AND_PLAIN, EngineOptions())
    held = {path for path, item in analysis.parsed.items() if item.holds_tree}
    # app/paging.py imports nothing and is let go at once, then parsed again: service.py's hints reach it
    assert held == {"app/db.py", "app/notify.py", "app/service.py", "app/paging.py"}
    assert analysis.parsed["app/text.py"].symbols.functions["app.text.slug"].def_node is None


def results(sources: dict[str, str], options: EngineOptions) -> tuple[object, object]:
    """What `migrate` and `check` make of the project: every outcome's status, text, findings, error and reasons."""
    migrated = engine.migrate_sources(sources, options)
    outcomes = {p: (o.status, o.new_text, o.findings, o.error, o.async_reasons) for p, o in migrated.items()}
    return outcomes, engine.check_sources(sources, options)


@pytest.mark.parametrize("jobs", [1, 2])
def test_letting_trees_go_changes_no_result(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    released = results(HINTED_AND_PLAIN, EngineOptions(jobs=jobs))
    monkeypatch.setattr(project_analysis._Parsed, "release_tree", lambda self: None)
    assert released == results(HINTED_AND_PLAIN, EngineOptions(jobs=jobs))
    outcomes = released[0]
    assert isinstance(outcomes, dict)
    assert "    await save(db, user)\n" in outcomes["app/service.py"][1]  # save() is in app/paging.py, let go


def test_modules_that_cannot_matter_are_let_go_while_the_project_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the whole project is parsed, not after: the peak of memory is the end of the parse."""
    items: list[project_analysis._Parsed] = []
    parse, project = project_analysis._parse, project_analysis.Project

    def parse_and_record(path: str, text: str, file_timeout: float | None) -> project_analysis._Parsed | str:
        item = parse(path, text, file_timeout)
        assert not isinstance(item, str)
        items.append(item)
        return item

    held_once_parsed: dict[str, bool] = {}

    def project_once_parsed(*args: object, **kwargs: object) -> object:
        held_once_parsed.update({item.path: item.holds_tree for item in items})
        return project(*args, **kwargs)

    monkeypatch.setattr(project_analysis, "_parse", parse_and_record)
    monkeypatch.setattr(project_analysis, "Project", project_once_parsed)
    project_analysis._analyse(HINTED_AND_PLAIN, EngineOptions())
    assert {path for path, held in held_once_parsed.items() if not held} == {"app/paging.py", "app/text.py"}
