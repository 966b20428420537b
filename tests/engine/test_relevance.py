"""Analysing only the modules that can matter (codemods.relevance) decides what analysing every module decides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods import engine, project_analysis
from codemods.model import EngineOptions
from codemods.project import Project
from codemods.relevance import Relevance
from codemods.symbols import collect_symbols
from tests.engine.test_parallel_analysis import PROJECTS, _project, relevant_paths


def _decisions(sources: dict[str, str], jobs: int = 1) -> tuple[object, object]:
    migrated = engine.migrate_sources(sources, EngineOptions(jobs=jobs))
    outcomes = {p: (o.status, o.new_text, o.findings, o.error, o.async_reasons) for p, o in migrated.items()}
    return outcomes, engine.check_sources(sources, EngineOptions(jobs=jobs))


@pytest.mark.parametrize("name", PROJECTS)
def test_same_decisions_as_analysing_every_module(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sources = _project(name, tmp_path)
    only_relevant = _decisions(sources)
    monkeypatch.setattr(project_analysis, "ANALYSE_EVERY_MODULE", True)
    assert only_relevant == _decisions(sources)


REACHED_ONLY_BY_HINTS_AND_ASYNC = {
    "app/db.py": (
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\n\n"
        "class Base(DeclarativeBase):\n    pass\n\n\n"
        "class User(Base):\n    __tablename__ = 'users'\n    id: Mapped[int] = mapped_column(primary_key=True)\n"
    ),
    # no import at all: only the hints of service.py's calls say that these parameters are a query, a session
    "app/paging.py": (
        "def first_page(query, size=10):\n    return query.limit(size).all()\n\n\n"
        "def save(session, obj):\n    session.add(obj)\n    session.commit()\n"
    ),
    # no SQLAlchemy: only its `async def` makes it matter
    "app/notify.py": "async def notify(message):\n    return message\n",
    "app/service.py": (
        "from sqlalchemy.orm import Session\n\nfrom app.db import User\nfrom app.notify import notify\n"
        "from app.paging import first_page, save\n\n\n"
        "def list_users(db: Session):\n    return first_page(db.query(User))\n\n\n"
        "def add_user(db: Session, user: User):\n    save(db, user)\n    notify('added')\n    return user\n"
    ),
}


@pytest.mark.parametrize("jobs", [1, 2])
def test_modules_reached_by_hints_or_defining_coroutines(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    sources = REACHED_ONLY_BY_HINTS_AND_ASYNC
    assert relevant_paths(sources) == {"app/db.py", "app/notify.py", "app/service.py"}
    migrated = engine.migrate_sources(sources, EngineOptions(jobs=jobs))
    paging, service = migrated["app/paging.py"].new_text, migrated["app/service.py"].new_text
    assert "async def save(session, obj):\n    session.add(obj)\n    await session.commit()" in paging
    assert "AWT208" in paging  # the query handed over is run here
    assert "    await save(db, user)\n    await notify('added')\n" in service
    findings = engine.check_sources(sources, EngineOptions(jobs=jobs))
    assert any(f.code == "AWT304" and "notify" in f.message for f in findings["app/service.py"])
    decisions = _decisions(sources, jobs)
    monkeypatch.setattr(project_analysis, "ANALYSE_EVERY_MODULE", True)
    assert decisions == _decisions(sources, jobs)


def test_same_decisions_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Modules added by hints between rounds reach the workers' shares."""
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    for name in ("untyped_session_params", "generic_repository", "generated"):
        sources = _project(name, tmp_path / name)
        assert _decisions(sources, jobs=2) == _decisions(sources, jobs=1), name


PLAIN_UTILS = "def slug(text):\n    return text.lower()\n"


def test_plain_modules_are_not_analysed_unless_reached() -> None:
    sources = {
        "app/db.py": "from sqlalchemy.orm import Session\n",
        "app/service.py": "from app.db import Session\nfrom app.utils import slug\n",
        "app/router.py": "from app import service\n",
        "app/package_user.py": "import app\n",
        "app/utils.py": PLAIN_UTILS,
        "app/schemas.py": "from app.utils import slug\n",
        "app/helpers.py": "async def fetch():\n    return 1\n",
        "tests/test_api.py": "def test_it(db):\n    pass\n",
    }
    symbols = {path: collect_symbols(path, ast.parse(text)) for path, text in sources.items()}
    relevance = Relevance(Project(symbols.values()), symbols)
    assert relevance.paths() == {
        "app/db.py",  # uses SQLAlchemy
        "app/service.py",  # imports db
        "app/router.py",  # imports service (by its package)
        "app/package_user.py",  # imports the package that holds db
        "app/helpers.py",  # defines an async def
        "tests/test_api.py",  # pytest hands fixtures over by name
    }
    # a hint naming a utility's function brings it in, and the modules that import it
    assert relevance.add_functions({"app.utils.slug"}) == {"app/utils.py", "app/schemas.py"}


def test_a_configured_session_factory_makes_its_module_matter() -> None:
    sources = {"app/factory.py": "def make():\n    return connect()\n", "app/use.py": "from app.factory import make\n"}
    symbols = {path: collect_symbols(path, ast.parse(text)) for path, text in sources.items()}
    assert Relevance(Project(symbols.values()), symbols).paths() == set()
    with_factory = Relevance(Project(symbols.values(), {"app.factory.make"}), symbols)
    assert with_factory.paths() == {"app/factory.py", "app/use.py"}


BLOCKING_HELPERS = {
    "app/db.py": "from sqlalchemy.orm import Session\n",
    "app/service.py": (
        "from app.db import Session\nfrom app.labels import label\nfrom app.utils import slug\n\n\n"
        "def names(db: Session):\n    db.commit()\n    return slug(label('x'))\n"
    ),
    # imports nothing that blocks, but leads to a module that does
    "app/labels.py": "from app.covers import fetch\n\n\ndef label(url):\n    return fetch(url).upper()\n",
    "app/covers.py": "import urllib.request\n\n\ndef fetch(url):\n    return urllib.request.urlopen(url).read()\n",
    "app/utils.py": PLAIN_UTILS,  # reached, leads to nothing that blocks
    # imports a module of blocking calls, reached by no module that matters
    "app/retry.py": "import time\n\n\ndef backoff(attempt):\n    time.sleep(attempt)\n",
    "app/schemas.py": "from app.retry import backoff\n\n\ndef parse(query):\n    backoff(1)\n    return query.all()\n",
    "app/other.py": "from app.covers import fetch\n",  # imports covers, which makes it matter no more than before
}


def test_modules_of_blocking_calls_are_analysed_when_reached() -> None:
    """A module importing `time`, `urllib`... is analysed when a module that matters imports it, directly or
    through plain modules; it makes no module importing it matter."""
    symbols = {path: collect_symbols(path, ast.parse(text)) for path, text in BLOCKING_HELPERS.items()}
    relevance = Relevance(Project(symbols.values()), symbols)
    assert relevance.paths() == {"app/db.py", "app/service.py", "app/labels.py", "app/covers.py"}
    assert relevance.relevant == {"app.db", "app.service"}
    # a hint naming a function of schemas brings it in, and the blocking module it leads to
    assert relevance.add_functions({"app.schemas.parse"}) == {"app/schemas.py", "app/retry.py"}
    # a restart of the analysis sets `relevant` back: what is analysed for blocking calls follows
    relevance.relevant = {"app.db", "app.service"}
    assert relevance.paths() == {"app/db.py", "app/service.py", "app/labels.py", "app/covers.py"}


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_blocking_helper_in_a_plain_module_runs_in_a_thread(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_analysis, "PARALLEL_ANALYSIS_MIN_MODULES", 1)
    migrated = engine.migrate_sources(BLOCKING_HELPERS, EngineOptions(jobs=jobs))
    service = migrated["app/service.py"].new_text or ""
    assert "    return slug(await asyncio.to_thread(label, 'x'))\n" in service
    decisions = _decisions(BLOCKING_HELPERS, jobs)
    monkeypatch.setattr(project_analysis, "ANALYSE_EVERY_MODULE", True)
    assert decisions == _decisions(BLOCKING_HELPERS, jobs)
