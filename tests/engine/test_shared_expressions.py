"""The symbol tables of an analysis keep one node per expression text (`symbols.SharedExpressions`): the same
expressions, fewer nodes, and edits still land where their own module has them."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from codemods import engine, project_analysis
from codemods.model import EngineOptions
from codemods.symbols import ModuleSymbols, SharedExpressions, collect_symbols
from tests.engine.test_released_trees import results
from tests.engine.trees import REPO, python_files


def _kept(symbols: ModuleSymbols) -> Iterator[tuple[str, ast.expr]]:
    """Every expression the symbol tables keep, with where it is kept, in a fixed order."""
    for cls in symbols.classes.values():
        yield from ((f"{cls.qualname} base", base) for base in cls.bases)
        yield from ((f"{cls.qualname} decorator", decorator) for decorator in cls.decorators)
        yield from ((f"{cls.qualname}.{attr}: annotation", a) for attr, a in cls.attr_annotations.items())
        for attr, values in cls.attr_values.items():
            yield from ((f"{cls.qualname}.{attr} = in {method}", value) for method, value in values)
    for func in symbols.functions.values():
        yield from ((f"{func.qualname} decorator", decorator) for decorator in func.decorators)
        for param in func.params:
            yield from ((f"{func.qualname}({param.name}: )", e) for e in [param.annotation] if e is not None)
            yield from ((f"{func.qualname}({param.name}=)", e) for e in [param.default] if e is not None)
        yield from ((f"{func.qualname} ->", e) for e in [func.returns] if e is not None)
        yield from ((f"{func.qualname} return", value) for value in func.return_values)
        yield from ((f"{func.qualname} yield", value) for value in func.yield_values)


def _collect(sources: dict[str, str], shared: SharedExpressions | None) -> list[ModuleSymbols]:
    return [collect_symbols(path, ast.parse(text), text, shared) for path, text in sorted(sources.items())]


ANNOTATED = {
    "app/a.py": (
        "from sqlalchemy.orm import Session\n\n\ndef get(db: Session, key: int = 1) -> Session:\n    return db\n"
    ),
    "app/b.py": (
        "from sqlalchemy.orm import Session\n\n\nclass Repo:\n    db: Session\n\n"
        "    def find(self, db: Session, key: int = 1) -> Session:\n        return db\n"
    ),
}


def test_one_node_is_kept_per_text() -> None:
    a, b = _collect(ANNOTATED, SharedExpressions())
    get, find = a.functions["app.a.get"], b.functions["app.b.Repo.find"]
    assert get.params[0].annotation is find.params[1].annotation is b.classes["app.b.Repo"].attr_annotations["db"]
    assert get.returns is find.returns is get.params[0].annotation  # `Session`, wherever it is written
    assert get.params[1].default is find.params[2].default
    assert get.params[1].annotation is not get.params[0].annotation  # `int` is another text
    a, b = _collect(ANNOTATED, None)
    assert a.functions["app.a.get"].params[0].annotation is not b.functions["app.b.Repo.find"].params[1].annotation


def _parsable(sources: dict[str, str]) -> dict[str, str]:
    out = {}
    for path, text in sources.items():
        try:
            ast.parse(text)
        except SyntaxError:
            continue  # fixtures of unparsable input
        out[path] = text
    return out


@pytest.mark.parametrize("tree", ["target_backend", "fixtures", "codemods", "generated"])
def test_shared_symbols_keep_the_same_expressions_with_fewer_nodes(tree: str, generated: dict[str, str]) -> None:
    sources = generated if tree == "generated" else _parsable(python_files(REPO / tree))
    shared = [[(where, ast.dump(e)) for where, e in _kept(m)] for m in _collect(sources, SharedExpressions())]
    own = [[(where, ast.dump(e)) for where, e in _kept(m)] for m in _collect(sources, None)]
    assert shared == own
    kept = [e for m in _collect(sources, SharedExpressions()) for _, e in _kept(m)]
    assert len({id(e) for e in kept}) < len(kept) / 2  # most texts repeat


SCOPED_SESSION = (
    "from contextlib import contextmanager\n"
    "from typing import Generator, Iterator\n\n"
    "from sqlalchemy import create_engine\n"
    "from sqlalchemy.orm import Session, sessionmaker\n\n"
    'engine = create_engine("sqlite:///./app.db")\n'
    "SessionLocal = sessionmaker(bind=engine)\n\n\n"
    "@contextmanager\n"
    "def session_scope() -> Iterator[Session]:\n"
    "    db = SessionLocal()\n    try:\n        yield db\n        db.commit()\n    finally:\n        db.close()\n\n\n"
    "def get_db() -> Generator[Session, None, None]:\n"
    "    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n"
)
FIXTURE = (
    "import pytest\n\nfrom app.db import SessionLocal\n\n\n"
    '@pytest.fixture(scope="module")\n'
    "def db():\n    session = SessionLocal()\n    yield session\n    session.close()\n\n\n"
    "def test_count(db):\n    assert db.get(int, 1) is None\n"
)
PADDING = "# the same code, lower down\n\n\n"
# each text twice, the second copy lower down: what it keeps of its decorators and annotations are the first's nodes
TWICE = {
    "app/__init__.py": "",
    "app/db.py": SCOPED_SESSION,
    "app/db_copy.py": PADDING + SCOPED_SESSION,
    "tests/test_a.py": FIXTURE,
    "tests/test_b.py": PADDING + FIXTURE,
}


def test_edits_of_decorators_and_annotations_land_where_their_own_module_has_them() -> None:
    """The rewrite of `@contextmanager`, `-> Iterator[Session]`, `-> Generator[...]` and `@pytest.fixture(...)`
    edits the function's own nodes: in the copy lower down, the same rewrite lower down."""
    outcomes = engine.migrate_sources(TWICE, EngineOptions())
    db, fixture = outcomes["app/db.py"].new_text, outcomes["tests/test_a.py"].new_text
    assert db is not None and fixture is not None
    for rewritten in [
        "@asynccontextmanager",
        "-> AsyncIterator[AsyncSession]",
        "-> AsyncGenerator[AsyncSession, None]",
    ]:
        assert rewritten in db
    assert '@pytest_asyncio.fixture(scope="module"' in fixture
    assert outcomes["app/db_copy.py"].new_text == PADDING + db
    assert outcomes["tests/test_b.py"].new_text == PADDING + fixture


@pytest.mark.parametrize("project", ["twice", "target_backend", "generated"])
def test_sharing_changes_no_result(project: str, generated: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    sources = {"twice": TWICE, "generated": generated}.get(project) or python_files(REPO / "target_backend")
    options = EngineOptions(max_tree_bytes=1)  # every tree let go: only what the symbols keep outlives it
    shared = results(sources, options)
    collect = project_analysis.collect_symbols

    def unshared(path: str, tree: ast.Module, text: str | None = None, _shared: object = None) -> ModuleSymbols:
        return collect(path, tree, text)

    monkeypatch.setattr(project_analysis, "collect_symbols", unshared)
    assert results(sources, options) == shared


def test_each_analysis_shares_within_itself() -> None:
    """A new analysis starts a new table: one run's nodes are not held by the next."""
    first = project_analysis._analyse(ANNOTATED, EngineOptions())
    second = project_analysis._analyse({path: text + "\n" for path, text in ANNOTATED.items()}, EngineOptions())
    kept_first = first.project.functions["app.a.get"].params[0].annotation
    kept_second = second.project.functions["app.a.get"].params[0].annotation
    assert kept_first is not kept_second
    assert second.project.functions["app.b.Repo.find"].params[1].annotation is kept_second


def test_one_param_per_name_annotation_and_default_and_one_tuple_per_list() -> None:
    sources = {
        **ANNOTATED,
        "app/c.py": (
            "from sqlalchemy.orm import Session\n\n\ndef get(db: Session, key: int = 1) -> None:\n    pass\n\n\n"
            "def other(db: Session, key: int = 2) -> None:\n    pass\n"
        ),
    }
    a, b, c = _collect(sources, SharedExpressions())
    get, find = a.functions["app.a.get"], b.functions["app.b.Repo.find"]
    assert get.params[0] is find.params[1] and get.params[1] is find.params[2]
    assert get.params is c.functions["app.c.get"].params  # the same list of parameters: one tuple
    other = c.functions["app.c.other"].params
    assert other[0] is get.params[0] and other[1] is not get.params[1]  # `key: int = 2`: another default
    assert other[1].name == "key" and isinstance(other[1].default, ast.Constant) and other[1].default.value == 2
    with pytest.raises(AttributeError):  # shared: nobody may change one
        get.params[0].name = "session"  # type: ignore[misc]
    a, b, _c = _collect(sources, None)
    assert a.functions["app.a.get"].params[0] is not b.functions["app.b.Repo.find"].params[1]
