"""Run harness for the rewrite fixtures: a before module on a sync `Session`, its expected module on an
`AsyncSession`, against the same freshly seeded database, and a normalized comparison of what they did.

Kept free of pytest so the property tests and the fixture tests share it.
"""

from __future__ import annotations

import atexit
import importlib.util
import inspect
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import URL, Row, make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import PASSIVE_NO_FETCH, PASSIVE_NO_RESULT
from sqlalchemy.orm.exc import DetachedInstanceError
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
RUNTIME = FIXTURES / "_runtime"
FAMILIES = ("queries", "session_io", "engine", "review")
# Families whose fixtures rewrite code: each must be runnable. review/ holds markers that may not run.
RUNNABLE_FAMILIES = ("queries", "session_io", "engine")
ENTRY_POINTS = ("run", "run_url")
BACKENDS = ("sqlite", "postgresql")

if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))

import models  # noqa: E402
from seed import seed  # noqa: E402

_BACKENDS_COMMENT = re.compile(r"^# awaitify-fixture: backends=([\w,]+)\s*$", re.MULTILINE)
_RAISES_COMMENT = re.compile(r"^# awaitify-fixture: raises=(\w+)\s*$", re.MULTILINE)
_FIXES_COMMENT = re.compile(r"^# awaitify-fixture: fixes=(\w+)\b", re.MULTILINE)


@dataclass(frozen=True)
class Pair:
    family: str
    name: str
    before: Path
    expected: Path

    @property
    def id(self) -> str:
        return f"{self.family}/{self.name}"

    def backends(self) -> tuple[str, ...]:
        """A fixture may limit itself to some backends (a literal driver in its URL)."""
        match = _BACKENDS_COMMENT.search(self.before.read_text())
        return tuple(match.group(1).split(",")) if match else BACKENDS

    def declared_raise(self) -> str | None:
        """The exception a fixture means to raise; any other one is a broken fixture, not a behaviour."""
        match = _RAISES_COMMENT.search(self.before.read_text())
        return match.group(1) if match else None

    def fixed_error(self) -> str | None:
        """An error the before code raises on SQLAlchemy 2 (1.x-only code) and the rewrite removes: such a
        pair cannot be compared, only checked to run cleanly after the rewrite."""
        match = _FIXES_COMMENT.search(self.before.read_text())
        return match.group(1) if match else None


def discover_pairs() -> list[Pair]:
    pairs = []
    for family in FAMILIES:
        for before in sorted((FIXTURES / family).glob("*.py")):
            if before.name.endswith(".expected.py"):
                continue
            name = before.name.removesuffix(".py")
            pairs.append(Pair(family, name, before, before.with_name(f"{name}.expected.py")))
    return pairs


def orphan_expected_files() -> list[Path]:
    return [
        p
        for family in FAMILIES
        for p in sorted((FIXTURES / family).glob("*.expected.py"))
        if not p.with_name(p.name.removesuffix(".expected.py") + ".py").exists()
    ]


_loaded: dict[Path, ModuleType] = {}


def load_module(path: Path) -> ModuleType:
    """Import a fixture file by path under a unique module name (fixtures/_runtime is on sys.path)."""
    if path in _loaded:
        return _loaded[path]
    rel = path.relative_to(FIXTURES).with_suffix("")
    module_name = "awaitify_fixture__" + re.sub(r"\W", "_", str(rel))
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    _loaded[path] = module
    return module


def load_source(source: str, module_name: str) -> ModuleType:
    """Import generated code (property tests) under a unique module name."""
    module = ModuleType(module_name)
    module.__file__ = f"<{module_name}>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def entry_point(path: Path) -> str | None:
    """The entry point a fixture defines, found from its text so that review fixtures are never imported."""
    text = path.read_text()
    for name in ENTRY_POINTS:
        if re.search(rf"^(async )?def {name}\(", text, re.MULTILINE):
            return name
    return None


# ---- databases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """One test database, reachable by a sync and an async driver."""

    backend: str
    sync_url: URL
    async_url: URL


def sqlite_database(path: Path) -> Database:
    return Database(
        "sqlite",
        make_url(f"sqlite:///{path}"),
        make_url(f"sqlite+aiosqlite:///{path}"),
    )


def postgresql_database(base_url: str, database: str) -> Database:
    url = make_url(base_url).set(database=database)
    return Database(
        "postgresql",
        url.set(drivername="postgresql+psycopg2"),
        url.set(drivername="postgresql+asyncpg"),
    )


_sqlite_template: Path | None = None
_pg_schema_ready: set[str] = set()


def _create_and_seed(url: URL) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        models.Base.metadata.drop_all(engine)
        models.Base.metadata.create_all(engine)
        with Session(engine) as session:
            seed(session)
    finally:
        engine.dispose()


def reset_database(db: Database) -> None:
    """Every run starts from the same tables, rows and ids (and sequences, so new rows get the same ids).

    SQLite: a copy of a seeded template file. PostgreSQL: tables created once per database, then emptied
    with their sequences restarted and seeded again (recreating them per run costs ~10x more).
    """
    global _sqlite_template
    if db.backend == "sqlite":
        if _sqlite_template is None:
            template_dir = tempfile.mkdtemp(prefix="awaitify-seed-")
            atexit.register(shutil.rmtree, template_dir, True)
            template = Path(template_dir) / "seeded.db"
            _create_and_seed(make_url(f"sqlite:///{template}"))
            _sqlite_template = template
        assert db.sync_url.database is not None
        shutil.copyfile(_sqlite_template, db.sync_url.database)
        return
    key = db.sync_url.render_as_string(hide_password=False)
    if key not in _pg_schema_ready:
        _create_and_seed(db.sync_url)
        _pg_schema_ready.add(key)
        return
    engine = create_engine(db.sync_url, poolclass=NullPool)
    try:
        # One connection, one transaction: DELETE and setval are cheaper than TRUNCATE on tables this small.
        with Session(engine) as session:
            for table in reversed(models.Base.metadata.sorted_tables):
                session.execute(table.delete())
            for table in models.Base.metadata.sorted_tables:
                if table.autoincrement_column is not None:
                    column = table.autoincrement_column.name
                    sequence = f"pg_get_serial_sequence('{table.name}', '{column}')"
                    session.execute(text(f"SELECT setval({sequence}, 1, false)"))
            seed(session)
    finally:
        engine.dispose()


def dump_database(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows ordered by primary key, read on a fresh sync connection."""
    engine = create_engine(db.sync_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in models.Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


# ---- normalization -----------------------------------------------------------------------------------


def _load_expired(obj: Any) -> None:
    """The sync side runs with expire_on_commit=True (the default) and the async side with False, as the
    rewrite configures it: reload what a commit expired so that only real differences remain."""
    state = sa_inspect(obj)
    if state.expired_attributes and state.session is not None:
        for key in list(state.expired_attributes):
            try:
                getattr(obj, key)
            except DetachedInstanceError:
                return


def _column_values(obj: Any) -> tuple[tuple[str, Any], ...]:
    """Every column attribute as a caller would read it without I/O; what would need a SELECT is
    "<unloaded>" (deferred, or expired: under asyncio that read raises MissingGreenlet)."""
    state = sa_inspect(obj)
    values = []
    for attr in state.mapper.column_attrs:
        value = state.manager[attr.key].impl.get(state, state.dict, PASSIVE_NO_FETCH)
        values.append((attr.key, "<unloaded>" if value is PASSIVE_NO_RESULT else value))
    return tuple(values)


def normalize(value: Any, *, load_expired: bool = False) -> Any:
    """A comparable form of what a fixture returned: ORM instances by class, identity and column values."""
    if hasattr(value, "_sa_instance_state"):
        if load_expired:
            _load_expired(value)
        return ("<orm>", type(value).__name__, sa_inspect(value).identity, _column_values(value))
    if isinstance(value, Row):
        return ("<row>", *(normalize(v, load_expired=load_expired) for v in value))
    if isinstance(value, list | tuple):
        return [type(value).__name__, *(normalize(v, load_expired=load_expired) for v in value)]
    if isinstance(value, dict):
        return {k: normalize(v, load_expired=load_expired) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return ("<set>", sorted((normalize(v, load_expired=load_expired) for v in value), key=repr))
    return value


@dataclass
class Outcome:
    """What one side did: its normalized result (or the class name of what it raised) and the rows left."""

    result: Any
    raised: str | None
    database: dict[str, list[tuple[Any, ...]]]


# ---- running one side --------------------------------------------------------------------------------


def run_sync_side(fn: Callable[..., Any], entry: str, db: Database) -> Outcome:
    reset_database(db)
    result: Any = None
    raised: str | None = None
    if entry == "run":
        engine = create_engine(db.sync_url, poolclass=NullPool)
        try:
            with Session(engine) as session:
                try:
                    result = normalize(fn(session), load_expired=True)
                except Exception as exc:  # the exception class is part of the behaviour
                    raised = type(exc).__name__
        finally:
            engine.dispose()
    else:
        try:
            result = normalize(fn(db.sync_url.render_as_string(hide_password=False)))
        except Exception as exc:
            raised = type(exc).__name__
    return Outcome(result, raised, dump_database(db))


async def run_async_side(fn: Callable[..., Any], entry: str, db: Database) -> Outcome:
    reset_database(db)
    result: Any = None
    raised: str | None = None
    if entry == "run":
        engine = create_async_engine(db.async_url, poolclass=NullPool)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                try:
                    value = fn(session)
                    if inspect.isawaitable(value):
                        value = await value
                    result = normalize(value)
                except Exception as exc:
                    raised = type(exc).__name__
        finally:
            await engine.dispose()
    else:
        try:
            value = fn(db.sync_url.render_as_string(hide_password=False))
            if inspect.isawaitable(value):
                value = await value
            result = normalize(value)
        except Exception as exc:
            raised = type(exc).__name__
    return Outcome(result, raised, dump_database(db))


async def run_pair(before: ModuleType, after: ModuleType, entry: str, db: Database) -> tuple[Outcome, Outcome]:
    sync_outcome = run_sync_side(getattr(before, entry), entry, db)
    async_outcome = await run_async_side(getattr(after, entry), entry, db)
    return sync_outcome, async_outcome
