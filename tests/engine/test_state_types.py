"""`request.state.<attr>` and `app.state.<attr>` are typed by what the project stores there: through a parameter
handed the request (a middleware), or on the application (a lifespan, module-level code).

The positive cases, with a run, are `fixtures/coloring/session_in_request_state_read_elsewhere` and
`fixtures/coloring/engine_in_app_state`; most cases here are those where the reads must stay untyped, so that
nothing is rewritten on a guess.
"""

from __future__ import annotations

from codemods.engine import migrate_sources
from codemods.model import EngineOptions

DB = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""

ROUTES = """from fastapi import Request


def save(request: Request):
    request.state.db.commit()
"""


def _migrated_routes(middleware: str) -> str:
    sources = {"app/db.py": DB, "app/middleware.py": middleware, "app/routes.py": ROUTES}
    return migrate_sources(sources, EngineOptions())["app/routes.py"].new_text


def test_a_session_stored_by_a_middleware_types_the_reads() -> None:
    middleware = """from fastapi import Request

from app.db import SessionLocal


async def open_session(request: Request, call_next):
    request.state.db = SessionLocal()
    return await call_next(request)
"""
    # the routes module imports nothing of the project and no SQLAlchemy: it is analysed for its `.state.` reads
    assert _migrated_routes(middleware) == ROUTES.replace("def save", "async def save").replace(
        "request.state.db.commit()", "await request.state.db.commit()"
    )


def test_assignments_that_disagree_leave_the_reads_alone() -> None:
    middleware = """from fastapi import Request

from app.db import SessionLocal


async def open_session(request: Request, call_next):
    request.state.db = SessionLocal()
    return await call_next(request)


async def replace_it(request: Request, call_next):
    request.state.db = object()
    return await call_next(request)
"""
    assert _migrated_routes(middleware) == ROUTES


def test_a_state_that_is_not_a_requests_is_left_alone() -> None:
    middleware = """from app.db import SessionLocal


def install(holder):
    holder.state.db = SessionLocal()
"""
    assert _migrated_routes(middleware) == ROUTES


def test_an_unannotated_function_is_no_middleware() -> None:
    middleware = """from app.db import SessionLocal


async def open_session(request, call_next):
    request.state.db = SessionLocal()
    return await call_next(request)
"""
    assert _migrated_routes(middleware) == ROUTES


def test_the_request_of_an_http_middleware_needs_no_annotation() -> None:
    middleware = """from fastapi import FastAPI

from app.db import SessionLocal

app = FastAPI()


@app.middleware("http")
async def open_session(request, call_next):
    request.state.db = SessionLocal()
    return await call_next(request)
"""
    assert "await request.state.db.commit()" in _migrated_routes(middleware)


PING = """from fastapi import Request


def ping(request: Request):
    with request.app.state.engine.connect() as conn:
        conn.commit()
"""


def _migrated_ping(main: str) -> str:
    sources = {"app/db.py": DB, "app/main.py": main, "app/ping.py": PING}
    return migrate_sources(sources, EngineOptions())["app/ping.py"].new_text


def test_an_engine_stored_on_the_application_at_module_level_types_the_reads() -> None:
    main = """from fastapi import FastAPI

from app.db import engine

app = FastAPI()
app.state.engine = engine
"""
    assert _migrated_ping(main) == PING.replace("def ping", "async def ping").replace(
        "with request", "async with request"
    ).replace("conn.commit()", "await conn.commit()")


def test_a_state_of_something_else_than_the_application_is_left_alone() -> None:
    main = """from types import SimpleNamespace

from app.db import engine

app = SimpleNamespace(state=SimpleNamespace())
app.state.engine = engine
"""
    assert _migrated_ping(main) == PING


def test_a_dependency_yielding_the_state_session_types_its_users() -> None:
    middleware = """from fastapi import Request

from app.db import SessionLocal


async def open_session(request: Request, call_next):
    request.state.db = SessionLocal()
    return await call_next(request)


def get_db(request: Request):
    yield request.state.db
"""
    users = """from fastapi import Depends

from app.middleware import get_db


def save(db=Depends(get_db)):
    db.commit()
"""
    sources = {"app/db.py": DB, "app/middleware.py": middleware, "app/users.py": users}
    migrated = migrate_sources(sources, EngineOptions())["app/users.py"].new_text
    assert migrated == users.replace("def save", "async def save").replace("db.commit()", "await db.commit()")
