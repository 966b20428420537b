"""Harness of the coloring fixture projects: discovery, engine runs, loading and running a project.

A case is a directory `fixtures/coloring/<case>/` with a `before/` tree (sync `Session`), an `expected/`
tree (the reviewed output of the migration) and a `case.json`:

- ``summary``: the behaviour the case pins down;
- ``run``: how the project runs — ``"entry"`` (``entry.run(db)``), ``"fastapi"`` (``entry.app`` called with
  ``requests``: ``[method, url]`` or ``[method, url, headers]``), ``"script"`` (``entry.py`` run as
  ``__main__``), ``"pytest"`` (the project's own ``tests/`` run by pytest in a subprocess; ``tests``: how many
  must pass) or ``null`` (a review-only case);
- ``before_fails`` / ``responses``: requests the before tree gets wrong (the bug a migration fixes), and
  what the expected tree must answer instead;
- ``xfail``: engine bugs, ``{"migrate": {file: reason}, "check"|"idempotent": reason}``: strict xfails
  that flip when fixed.

Kept free of pytest so that a script can use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import inspect
import io
import json
import os
import random
import re
import runpy
import shutil
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    select,
    text,
)
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from codemods.engine import check_sources, migrate_sources
from codemods.model import EngineOptions, FileOutcome

ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "fixtures" / "coloring"


# ---- cases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    meta: dict[str, Any] = field(hash=False, compare=False)

    @property
    def before(self) -> Path:
        return self.path / "before"

    @property
    def expected(self) -> Path:
        return self.path / "expected"

    @property
    def run(self) -> str | None:
        return self.meta.get("run")

    def migrate_xfail(self, relpath: str) -> str | None:
        return self.meta.get("xfail", {}).get("migrate", {}).get(relpath)

    def xfail(self, test: str) -> str | None:
        reason = self.meta.get("xfail", {}).get(test)
        return reason if isinstance(reason, str) else None

    def __str__(self) -> str:
        return self.name


def discover_cases() -> list[Case]:
    return [
        Case(path.name, path, json.loads((path / "case.json").read_text()))
        for path in sorted(CASES_DIR.iterdir())
        if (path / "case.json").is_file()
    ]


def read_tree(root: Path) -> dict[str, str]:
    """Every `.py` file of a tree by POSIX path, decoded without newline translation (CRLF must survive)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8")
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def migrate_tree(sources: dict[str, str], *, jobs: int = 1, shuffle_seed: int | None = None) -> dict[str, FileOutcome]:
    items = list(sources.items())
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(items)
    return migrate_sources(dict(items), EngineOptions(jobs=jobs))


def check_tree(sources: dict[str, str]) -> list[tuple[str, int, str]]:
    """(path, line, code) of every finding of `awaitify check`."""
    return sorted(
        (finding.path, finding.line, finding.code)
        for findings in check_sources(sources, EngineOptions()).values()
        for finding in findings
    )


def review_marker_lines(sources: dict[str, str]) -> list[tuple[str, int, str]]:
    """The AWT307 findings the expected tree means to produce: one per `# awaitify: review` line."""
    return sorted(
        (path, number, "AWT307")
        for path, source in sources.items()
        for number, line in enumerate(source.splitlines(), start=1)
        if "# awaitify: review AWT" in line
    )


# ---- databases ---------------------------------------------------------------------------------------

# The schema of every case's `models.py`, declared here: seeding must not depend on the code under test.
METADATA = MetaData()
USERS = Table(
    "users",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("active", Boolean, nullable=False),
)
ITEMS = Table(
    "items",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("owner_id", ForeignKey("users.id"), nullable=False),
    Column("title", String(50), nullable=False),
    Column("price", Integer, nullable=False),
)
SEED_USERS = [("alice", True), ("bob", True), ("carol", False)]
SEED_ITEMS = [(1, "pen", 2), (1, "book", 15), (2, "lamp", 40), (3, "mug", 7)]


@dataclass(frozen=True)
class Database:
    backend: str
    sync_url: URL

    @property
    def async_url(self) -> URL:
        driver = "aiosqlite" if self.backend == "sqlite" else "asyncpg"
        return self.sync_url.set(drivername=f"{self.backend}+{driver}")

    @property
    def env_url(self) -> str:
        """What the projects read from DATABASE_URL (a sync URL: the migrated code converts it itself)."""
        return self.sync_url.render_as_string(hide_password=False)


def sqlite_database(path: Path) -> Database:
    return Database("sqlite", make_url(f"sqlite:///{path}"))


def postgresql_database(base_url: str, name: str) -> Database:
    return Database("postgresql", make_url(base_url).set(drivername="postgresql+psycopg2", database=name))


def reset_database(db: Database) -> None:
    """Fresh tables and seed rows; inserted one by one without ids so that ids and sequences agree."""
    engine = create_engine(db.sync_url, poolclass=NullPool)
    try:
        _end_left_connections(engine, db)
        METADATA.drop_all(engine)
        METADATA.create_all(engine)
        with engine.begin() as conn:
            for name, active in SEED_USERS:
                conn.execute(USERS.insert().values(name=name, active=active))
            for owner_id, title, price in SEED_ITEMS:
                conn.execute(ITEMS.insert().values(owner_id=owner_id, title=title, price=price))
    finally:
        engine.dispose()


def _end_left_connections(engine: Engine, db: Database) -> None:
    """End the connections an earlier run left open on this PostgreSQL database. A session a project never
    closes (`crud.get_user(next(get_db()), 1)`, sync or migrated) keeps its connection in a transaction until the
    garbage collector finds it; an asyncpg connection collected after its event loop closed cannot even be
    terminated, and its transaction's locks would block this DROP TABLE for good."""
    if db.backend != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


def dump_database(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(db.sync_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: [tuple(row) for row in conn.execute(select(table).order_by(table.c.id))]
                for table in METADATA.sorted_tables
            }
    finally:
        engine.dispose()


# ---- loading a project -------------------------------------------------------------------------------


def _top_level_names(root: Path) -> set[str]:
    return {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if (p / "__init__.py").exists()}


def _purge(names: set[str]) -> None:
    for module_name in list(sys.modules):
        if module_name.split(".", 1)[0] in names:
            del sys.modules[module_name]


@contextlib.contextmanager
def loaded_project(root: Path, database_url: str) -> Iterator[ModuleType]:
    """Import `entry` of the project at `root` (its own sys.path entry), then forget every module of it.

    Before and expected trees share package names: purging sys.modules around each load keeps them apart.
    """
    names = _top_level_names(root)
    _purge(names)
    old_url = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database_url
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module("entry")
    finally:
        sys.path.remove(str(root))
        _purge(names)
        if old_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old_url


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def _project_engines(root: Path) -> list[Engine | AsyncEngine]:
    """Engines the project created at import (module globals, or bound to a module-level sessionmaker)."""
    names = _top_level_names(root)
    found: dict[int, Engine | AsyncEngine] = {}
    for module_name, module in sys.modules.copy().items():  # a finalizer run meanwhile may import a module
        if module is None or module_name.split(".", 1)[0] not in names:
            continue
        for value in vars(module).values():
            if isinstance(value, sessionmaker | async_sessionmaker):
                value = value.kw.get("bind")
            if isinstance(value, Engine | AsyncEngine):
                found[id(value)] = value
    return list(found.values())


def _collect_sessions_left_open() -> None:
    """Collect, inside the event loop and now rather than at a random later point, the sessions the project left
    open (`crud.get_user(next(get_db()), 1)` never closes the session it draws, sync or migrated). SQLAlchemy
    cannot give an asyncio connection back to the pool from the garbage collector: it terminates it, says so, and
    leaves a driver coroutine unawaited. Collected after the loop closed, the connection could not even be
    terminated. Only those two warnings are silenced: a coroutine of the project never awaited still shows."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The garbage collector is trying to clean up", SAWarning)
        warnings.filterwarnings("ignore", "coroutine 'Connection.cursor' was never awaited", RuntimeWarning)
        gc.collect()


# ---- outcomes ----------------------------------------------------------------------------------------


def normalize(value: Any) -> Any:
    """A comparable form of a result: ORM instances by class and column values, containers recursively."""
    if hasattr(value, "_sa_instance_state"):
        table = value.__table__
        return ("<orm>", type(value).__name__, tuple((c.key, getattr(value, c.key)) for c in table.columns))
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(normalize(v) for v in value)]
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if inspect.isawaitable(value) or inspect.isasyncgen(value) or inspect.isgenerator(value):
        return f"<{type(value).__name__}>"  # never equal to a real value: a missing await shows here
    return value


@dataclass
class Outcome:
    result: Any
    database: dict[str, list[tuple[Any, ...]]]


def _raised(exc: BaseException) -> str:
    return f"raised {type(exc).__name__}"


def run_before(case: Case, root: Path, db: Database) -> Outcome:
    """The before tree on a sync `Session` (entry), `TestClient` (fastapi) or as `__main__` (script)."""
    reset_database(db)
    if case.run == "script":
        return Outcome(_run_script(root, db), dump_database(db))
    with loaded_project(root, db.env_url) as entry:
        try:
            if case.run == "entry":
                engine = create_engine(db.sync_url, poolclass=NullPool)
                try:
                    with Session(engine) as session:
                        try:
                            result = normalize(entry.run(session))
                        except Exception as exc:
                            result = _raised(exc)
                finally:
                    engine.dispose()
            else:
                from fastapi.testclient import TestClient

                with TestClient(entry.app, raise_server_exceptions=False) as client:
                    result = []
                    for method, url, *headers in case.meta["requests"]:
                        response = client.request(method, url, headers=headers[0] if headers else None)
                        key = _request_key(method, url, headers)
                        result.append([key, response.status_code, _json(response)])
        finally:
            for engine in _project_engines(root):
                assert isinstance(engine, Engine)
                engine.dispose()
    return Outcome(result, dump_database(db))


async def run_expected(case: Case, root: Path, db: Database) -> Outcome:
    """The expected tree on an `AsyncSession` (entry), `httpx.AsyncClient` (fastapi) or as `__main__`."""
    reset_database(db)
    if case.run == "script":
        # The migrated script calls asyncio.run(): it needs a thread without a running event loop.
        return Outcome(await asyncio.to_thread(_run_script, root, db), dump_database(db))
    with loaded_project(root, db.env_url) as entry:
        try:
            if case.run == "entry":
                assert inspect.iscoroutinefunction(entry.run), "the migrated entry point must be `async def run`"
                engine = create_async_engine(db.async_url, poolclass=NullPool)
                try:
                    async with AsyncSession(engine, expire_on_commit=False) as session:
                        try:
                            result = normalize(await entry.run(session))
                        except Exception as exc:
                            result = _raised(exc)
                    _collect_sessions_left_open()
                finally:
                    await engine.dispose()
            else:
                result = []
                async with _async_client(entry.app) as client:
                    for method, url, *headers in case.meta["requests"]:
                        response = await client.request(method, url, headers=headers[0] if headers else None)
                        key = _request_key(method, url, headers)
                        result.append([key, response.status_code, _json(response)])
        finally:
            for engine in _project_engines(root):
                assert isinstance(engine, AsyncEngine), f"the migrated project still creates a sync engine: {engine}"
                await engine.dispose()
    return Outcome(result, dump_database(db))


@contextlib.asynccontextmanager
async def _async_client(app: Any) -> AsyncIterator[Any]:
    import httpx

    # An unhandled error becomes a 500, as with TestClient(raise_server_exceptions=False).
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    # ASGITransport sends no lifespan events (TestClient does): run the app's lifespan around the client.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        yield client


def _request_key(method: str, url: str, headers: list[dict[str, str]]) -> str:
    """`GET /url`, with the headers when the request has some (several requests differ only by them)."""
    return f"{method} {url}" + (f" {sorted(headers[0].items())}" if headers else "")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _run_script(root: Path, db: Database) -> str:
    """`python entry.py` in this process (a subprocess costs seconds of imports): its stdout or error."""
    names = _top_level_names(root)
    _purge(names)
    old_url = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = db.env_url
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(root / "entry.py"), run_name="__main__")
    except Exception as exc:
        return _raised(exc)
    finally:
        sys.path.remove(str(root))
        _purge(names)
        if old_url is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old_url
    return out.getvalue()


def assert_same_behaviour(case: Case, before: Outcome, after: Outcome) -> None:
    """The run comparison: same results (or the declared fixes of the before tree's bugs) and same rows."""
    assert not (isinstance(before.result, str) and before.result.startswith("raised ")), (
        f"the before tree itself fails ({before.result}): the comparison would prove nothing"
    )
    expected_result = before.result
    fails = case.meta.get("before_fails", [])
    if fails:  # a FastAPI case: [key, status, body] per request, in request order
        expected_result = []
        for key, *response in before.result:
            if key in fails:
                fixed = case.meta["responses"][key]
                assert response != fixed, f"the before tree no longer fails on {key}"
                response = fixed
            expected_result.append([key, *response])
    assert after.result == expected_result
    assert after.database == before.database


# ---- a project's own test suite ----------------------------------------------------------------------


@dataclass
class TestRun:
    passed: int
    failed: int
    returncode: int
    output: str


def run_project_tests(root: Path, db: Database) -> TestRun:
    """The project's `tests/` run by pytest in a subprocess (its own event loops, its own imports), fresh seed."""
    reset_database(db)
    env = {
        **os.environ,
        "DATABASE_URL": db.env_url,
        "PYTHONPATH": str(root),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(root),
            "tests",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summaries = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (?:passed|failed|errors?)\b.* in ", line)]
    summary = summaries[-1] if summaries else ""
    return TestRun(
        _count(r"(\d+) passed", summary),
        _count(r"(\d+) (?:failed|errors?)\b", summary),
        proc.returncode,
        proc.stdout + proc.stderr,
    )


def _count(pattern: str, summary: str) -> int:
    """A count of pytest's last summary line (`3 failed, 6 passed in 1.2s`)."""
    return sum(int(n) for n in re.findall(pattern, summary))
