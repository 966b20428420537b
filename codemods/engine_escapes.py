"""An engine, connection or session the migration makes async, handed to code that needs the sync one (AWT219).

`create_engine()` becomes `create_async_engine()`, and `engine.connect()` an `AsyncConnection`; the SQLAlchemy API
that takes them is rewritten where an exact form exists (`sessionmaker`, `metadata.create_all`, event listeners,
`inspect(conn).x()`). What is left fails at run time, and nothing would say so before:

- `inspect(engine)`, `MetaData().reflect(bind=engine)` and `Table(..., autoload_with=engine)` raise
  `NoInspectionAvailable` on an `AsyncEngine` (on an `AsyncConnection` too);
- a library function written for a sync `Engine` (pandas' `read_sql`, an instrumentation's `instrument(engine=)`)
  gets an object without the sync API, or one whose I/O raises `MissingGreenlet` outside `run_sync()`;
- so does a library function handed the session (`fastapi_pagination.ext.sqlalchemy.paginate(db, stmt)`): one
  written for a sync `Session` fails with an `AsyncSession`, one that takes both returns a coroutine for it, which
  the call, left as it was, never awaits (the page answered 500, unflagged). A function of the standard library, of
  FastAPI / Starlette (the request's state, a background task) or of SQLAlchemy is not one.

This module only decides; the analysis (`session_calls.SessionCalls._check_engine_escapes`, for every call the walk
visits) asks it for every argument typed as a sync engine or connection of a module that becomes async, and puts the
review marker.
"""

from __future__ import annotations

import sys

INSPECTION = frozenset({"sqlalchemy.inspect", "sqlalchemy.inspection.inspect"})
# keywords and methods of SQLAlchemy's reflection (`Table(..., autoload_with=engine)`, `metadata.reflect(bind=engine)`)
_REFLECTION_KEYWORDS = frozenset({"autoload_with"})
_REFLECTION_METHODS = frozenset({"reflect"})
# modules whose functions take an engine only to show or test it: printing, logging, typing, type checks
_HARMLESS_MODULES = ("builtins.", "logging.", "typing.", "warnings.", "pprint.", "reprlib.")
# libraries known to take an `AsyncEngine` as well as an `Engine`
_ASYNC_AWARE = frozenset({"sqladmin.Admin", "sqladmin.application.Admin"})
# packages whose functions handed a session do no I/O with it themselves (or that the analysis follows)
_SESSION_HARMLESS_PACKAGES = frozenset({"fastapi", "starlette", "pydantic", "sqlalchemy"}) | sys.stdlib_module_names

_RUN_SYNC_ADVICE = "inside `await conn.run_sync(...)` on a connection of the async engine"


def escape_reason(
    *,
    kind: str,
    callee: str | None,
    method: str | None,
    keyword: str | None,
    callee_in_project: bool,
) -> str | None:
    """The AWT219 reason for handing a `kind` ("engine" / "connection" / "session") made async to this call, or
    None if the call takes it as is (SQLAlchemy API the migration rewrites, project code it follows, printing)."""
    if kind == "session":
        return _session_escape_reason(callee, callee_in_project)
    if callee in INSPECTION:
        return f"inspect() of an {_async_name(kind)} raises NoInspectionAvailable: inspect {_RUN_SYNC_ADVICE}"
    if keyword in _REFLECTION_KEYWORDS or method in _REFLECTION_METHODS:
        return f"reflection with an {_async_name(kind)} raises NoInspectionAvailable: reflect {_RUN_SYNC_ADVICE}"
    if callee_in_project or callee is None or callee in _ASYNC_AWARE:
        return None
    if callee.startswith(("sqlalchemy.", *_HARMLESS_MODULES)):
        return None
    listener_advice = ", or pass `engine.sync_engine` where it only listens (no I/O)" if kind == "engine" else ""
    return (
        f"{callee}() receives the {kind}, now an {_async_name(kind)}: code written for a sync {kind.title()} "
        f"fails with it; run it {_RUN_SYNC_ADVICE}{listener_advice}"
    )


def _session_escape_reason(callee: str | None, callee_in_project: bool) -> str | None:
    if callee_in_project or callee is None or callee.partition(".")[0] in _SESSION_HARMLESS_PACKAGES:
        return None
    return (
        f"{callee}() receives the session, now an AsyncSession: code written for a sync Session fails with it, and "
        "one that takes both returns a coroutine to await; await it if it does, else run it inside "
        "`await session.run_sync(...)`"
    )


def _async_name(kind: str) -> str:
    return "AsyncEngine" if kind == "engine" else "AsyncConnection"
