"""Behaviour suite of `target_backend/`, runnable against any tree root that holds a `backend/` package.

Every test runs on the product of two session-scoped parameters:

- ``backend_tree``: ``original`` (``target_backend/``) and ``migrated`` (``$AWAITIFY_MIGRATED_TREE`` or a
  copy converted by ``python -m codemods migrate``, built once per run and shared by the xdist workers);
- ``db_backend``: ``sqlite`` (a file per worker and tree) and, when ``$AWAITIFY_PG_URL`` is set,
  ``postgresql`` (a database per worker and tree, dropped at the end).

Each (tree, database) pair is imported once per worker: the ``backend.*`` modules of the inactive pairs are
kept aside and swapped back into ``sys.modules`` when needed. Before each test the data are reset to the seed
(`fixtures/library/seed_library.py`) if the previous test may have written, and the search cache keys of the
worker are flushed. All backend tests run on the worker's session event loop (``pytestmark`` in every
module), so the async engines of the trees are bound to one loop for their whole life and disposed once at
the end.

Markers: ``original_bug(reason)`` makes the test a strict xfail on the original tree only (a bug the migration
must fix); ``trap(reason)`` skips the test on the migrated tree (a code path awaitify reports for review).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio
from migrated_backend import ORIGINAL_TREE, REPO_ROOT, migrated_tree, shared_tmp
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
REDIS_URL = os.environ.get("AWAITIFY_REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_PREFIX = f"awaitify-test:{WORKER}:{os.getpid()}:"
PG_URL = os.environ.get("AWAITIFY_PG_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _load_fixture_module(name: str, relpath: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relpath)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


seed_library = _load_fixture_module("awaitify_seed_library", "fixtures/library/seed_library.py")
audio_files = _load_fixture_module("awaitify_audio_files", "fixtures/library/audio_files.py")
LIBRARY: dict[str, list[dict[str, Any]]] = seed_library.build_library()

TREE_PARAMS = ["original", "migrated"]
DB_PARAMS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "original_bug(reason): strict xfail on the original tree only")
    config.addinivalue_line("markers", "trap(reason): code path flagged for review; skipped on the migrated tree")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        tree = params.get("backend_tree")
        bug = item.get_closest_marker("original_bug")
        if bug is not None and tree == "original":
            item.add_marker(pytest.mark.xfail(strict=True, reason=f"original bug: {bug.args[0]}"))
        trap = item.get_closest_marker("trap")
        if trap is not None and tree == "migrated":
            item.add_marker(pytest.mark.skip(reason=f"review item after migration: {trap.args[0]}"))


# --------------------------------------------------------------------------------------------------- trees


@dataclass(frozen=True)
class Tree:
    name: str
    root: Path


@pytest.fixture(scope="session", params=TREE_PARAMS)
def backend_tree(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Tree:
    if request.param == "original":
        return Tree("original", ORIGINAL_TREE)
    env_tree = os.environ.get("AWAITIFY_MIGRATED_TREE")
    root = Path(env_tree) if env_tree else migrated_tree(shared_tmp(tmp_path_factory))
    if not (root / "backend" / "api" / "main.py").is_file():
        pytest.fail(f"{root} holds no backend/api/main.py", pytrace=False)
    return Tree("migrated", root)


# ------------------------------------------------------------------------------------------------ databases


@dataclass
class Database:
    kind: str
    tmp: Path
    created_pg: list[str] = field(default_factory=list)

    def url_for(self, tree: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / f'{WORKER}-{tree}.db'}"
        assert PG_URL is not None
        name = f"awaitify_{WORKER}_{tree}_{secrets.token_hex(3)}".lower()
        admin = create_engine(_pg_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
        admin.dispose()
        self.created_pg.append(name)
        return _pg_url(name)

    def drop_all(self) -> None:
        if not self.created_pg:
            return
        admin = create_engine(_pg_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as conn:
            for name in self.created_pg:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        self.created_pg.clear()


def _pg_url(database: str | None = None) -> str:
    assert PG_URL is not None
    url = make_url(PG_URL).set(drivername="postgresql+psycopg2")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


_DATABASES: list[Database] = []


@pytest.fixture(scope="session", params=DB_PARAMS)
def db_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "postgresql":
        try:
            probe = create_engine(_pg_url(), poolclass=NullPool, connect_args={"connect_timeout": 5})
            with probe.connect() as conn:
                conn.execute(text("SELECT 1"))
            probe.dispose()
        except Exception as exc:
            message = f"AWAITIFY_PG_URL is set but PostgreSQL is unreachable: {exc}"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    database = Database(request.param, tmp_path_factory.mktemp(f"db-{request.param}"))
    _DATABASES.append(database)
    yield database


# ------------------------------------------------------------------------------------------ loaded backends


@dataclass
class Backend:
    tree: Tree
    database: Database
    url: str
    modules: dict[str, ModuleType]
    admin: Engine
    dirty: bool = True  # data differ from the seed (or unknown): reset before the next test
    wrote_outside_http: bool = False  # set by tests that write without a POST/PUT/DELETE (e.g. lifespan)
    reset_sql: list[str] = field(default_factory=list)

    def mark_dirty(self) -> None:
        self.wrote_outside_http = True

    @property
    def app(self) -> Any:
        return self.modules["backend.api.main"].app

    @property
    def metadata(self) -> MetaData:
        return self.modules["backend.api.models"].Artist.metadata

    async def dispose(self) -> None:
        database_module = self.modules["backend.api.utils.database"]
        for value in list(vars(database_module).values()):
            if isinstance(value, AsyncEngine):
                await value.dispose()
            elif isinstance(value, Engine):
                value.dispose()


_LOADED: dict[tuple[str, str], Backend] = {}
_ACTIVE: list[Backend] = []


def _purge_backend_modules() -> None:
    for name in list(sys.modules):
        if name == "backend" or name.startswith("backend."):
            del sys.modules[name]


def activate(tree: Tree, database: Database) -> Backend:
    """Make (tree, database) the importable `backend` package; import it on first use."""
    key = (tree.name, database.kind)
    if _ACTIVE and _ACTIVE[0] is _LOADED.get(key):
        return _ACTIVE[0]
    if _ACTIVE:
        previous = _ACTIVE.pop()
        if str(previous.tree.root) in sys.path:
            sys.path.remove(str(previous.tree.root))
    _purge_backend_modules()
    sys.path.insert(0, str(tree.root))
    if key in _LOADED:
        backend = _LOADED[key]
        sys.modules.update(backend.modules)
    else:
        url = database.url_for(tree.name)
        os.environ.update(
            {
                "DATABASE_URL": url,
                "REDIS_URL": REDIS_URL,
                "SEARCH_CACHE_PREFIX": CACHE_PREFIX,
                "LOG_LEVEL": "WARNING",
            }
        )
        os.environ.pop("ASYNC_DATABASE_URL", None)
        importlib.invalidate_caches()
        importlib.import_module("backend.api.main")
        importlib.import_module("backend.api.models")
        modules = {n: m for n, m in sys.modules.items() if n == "backend" or n.startswith("backend.")}
        origin = Path(modules["backend"].__file__ or "").resolve()
        assert origin.is_relative_to(tree.root.resolve()), f"backend imported from {origin}, not {tree.root}"
        admin = create_engine(url, poolclass=NullPool)
        backend = Backend(tree, database, url, modules, admin)
        backend.metadata.drop_all(admin)
        backend.metadata.create_all(admin)
        if database.kind == "postgresql":
            # A throwaway test database: skip the WAL (the per-test reset is dominated by it).
            with admin.begin() as conn:
                for table in reversed(backend.metadata.sorted_tables):  # referencing tables first
                    conn.execute(text(f'ALTER TABLE "{table.name}" SET UNLOGGED'))
        seed_database(backend)
        _LOADED[key] = backend
    _ACTIVE.append(backend)
    return backend


SNAPSHOT_PREFIX = "seed_snapshot__"


def _reset_statements(backend: Backend) -> list[str]:
    """SQL that empties every table and refills it from its snapshot (no ORM, no Python-side rows)."""
    tables = backend.metadata.sorted_tables
    statements = [f'DELETE FROM "{t.name}"' for t in reversed(tables)]
    for table in tables:
        if LIBRARY.get(table.name):
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            snapshot = f'"{SNAPSHOT_PREFIX}{table.name}"'
            statements.append(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM {snapshot}')
        if backend.database.kind == "postgresql" and "id" in table.c and table.c.id.primary_key:
            statements.append(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE(MAX(id), 0) + 1, false) FROM "{table.name}"'
            )
    return statements


def seed_database(backend: Backend) -> None:
    """Insert the seed rows once, through the models' tables, and keep a snapshot of each table beside it."""
    tables = backend.metadata.sorted_tables
    unknown = set(LIBRARY) - {t.name for t in tables}
    assert not unknown, f"seed tables missing from the models: {unknown}"
    postgres = backend.database.kind == "postgresql"
    with backend.admin.begin() as conn:
        for table in tables:
            rows = LIBRARY.get(table.name)
            if rows:
                conn.execute(table.insert(), rows)
                unlogged = "UNLOGGED " if postgres else ""
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{SNAPSHOT_PREFIX}{table.name}"')
                conn.exec_driver_sql(
                    f'CREATE {unlogged}TABLE "{SNAPSHOT_PREFIX}{table.name}" AS SELECT * FROM "{table.name}"'
                )
    backend.reset_sql = _reset_statements(backend)


def reset_data(backend: Backend) -> None:
    """Back to the seeded library: empty every table, copy the snapshot rows back, fix the sequences."""
    with backend.admin.begin() as conn:
        # Nobody needs durability here (and DELETE beats TRUNCATE by far on tables this small).
        if backend.database.kind == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            conn.exec_driver_sql(";\n".join(backend.reset_sql))
        else:
            for statement in backend.reset_sql:
                conn.exec_driver_sql(statement)


def flush_search_cache() -> None:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        keys = list(client.scan_iter(match=f"{CACHE_PREFIX}*", count=500))
        if keys:
            client.delete(*keys)
        client.close()
    except redis.RedisError:
        pass  # the backend runs uncached without Redis; nothing to flush


_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@pytest.fixture
def backend(backend_tree: Tree, db_backend: Database) -> Iterator[Backend]:
    loaded = activate(backend_tree, db_backend)
    if loaded.dirty:
        reset_data(loaded)
        loaded.dirty = False
    flush_search_cache()
    loaded.wrote_outside_http = False
    # Until proven otherwise (see `client`), a test may have written: the next one starts from the seed again.
    loaded.dirty = True
    yield loaded


@pytest_asyncio.fixture(loop_scope="session")
async def client(backend: Backend) -> AsyncIterator[httpx.AsyncClient]:
    """HTTP client on the app. A test that only sends GET requests leaves the data clean for the next one.

    All backend tests share the worker's session event loop (``pytestmark`` in each module), so the trees'
    async engines keep their pooled connections from one test to the next; they are disposed once, at the end.
    """
    methods: set[str] = set()

    async def record(request: httpx.Request) -> None:
        methods.add(request.method)

    transport = httpx.ASGITransport(app=backend.app)
    outcome_clean = False
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", event_hooks={"request": [record]}
        ) as http:
            yield http
        outcome_clean = methods <= _READ_ONLY_METHODS
    finally:
        backend.dirty = backend.wrote_outside_http or not outcome_clean


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _dispose_engines_at_end() -> AsyncIterator[None]:
    yield
    for loaded in _LOADED.values():
        await loaded.dispose()
        loaded.admin.dispose()
    for database in _DATABASES:
        database.drop_all()


@pytest.fixture(scope="session")
def library() -> dict[str, list[dict[str, Any]]]:
    return LIBRARY


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    root = tmp_path / "music"
    audio_files.make_audio_library(root)
    return root
