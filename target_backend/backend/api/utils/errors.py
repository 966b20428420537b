"""Answers for database errors under a request: a JSON response with the right status, the connection kept.

Without these handlers an exception from the database goes up to the server, which sends a bare 500 and then
closes the client's keep-alive connection: the client's next request on that connection fails without any
response. Handled here, each request gets an answer that says whose fault it was, logged with its traceback:

- 409 when the request's data break a constraint (a referenced row that does not exist, a duplicate);
- 422 when the database cannot store the request's data (a number out of the column's range, a NUL byte);
- 503 when the database is unreachable or the connection died (terminated, server restarting): retry later;
- 500 for any other database error (a bug).

The request's transaction is rolled back when its session is closed (`utils.database`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, InternalError, OperationalError

from backend.api.utils.logging import logger

# Driver errors that mean "the database connection is gone or unusable", not "this statement is wrong".
_UNAVAILABLE = (OperationalError, InterfaceError, InternalError)

_ANSWERS = {
    409: "The data conflict with the library (a missing referenced row or a duplicate)",
    422: "The data cannot be stored (a value out of range or not representable)",
    503: "Database unavailable, retry later",
    500: "Database error",
}


def _sqlstate(exc: DBAPIError) -> str:
    """The SQLSTATE of the driver's error (asyncpg: `sqlstate`, psycopg2: `pgcode`), or ''."""
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def status_for(exc: Exception) -> int:
    if isinstance(exc, OverflowError):  # an integer too large for the driver (sqlite3 checks it client-side)
        return 422
    if not isinstance(exc, DBAPIError):
        return 503  # ConnectionError: refused or reset while connecting
    sqlstate = _sqlstate(exc)
    if isinstance(exc, IntegrityError) or sqlstate.startswith("23"):  # class 23: integrity constraint violation
        return 409
    # Class 22: data exception. asyncpg checks its arguments before sending them: its DataError is a ValueError.
    checked_by_driver = isinstance(getattr(exc.orig, "__cause__", None), ValueError)
    if isinstance(exc, DataError) or sqlstate.startswith("22") or checked_by_driver:
        return 422
    # Class 08: connection exception; class 57: operator intervention (terminated, shutting down, starting up).
    if exc.connection_invalidated or isinstance(exc, _UNAVAILABLE) or sqlstate[:2] in ("08", "57"):
        return 503
    return 500


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    logger.error("Database error (%d) on %s %s: %s", status, request.method, request.url.path, exc, exc_info=exc)
    return JSONResponse(status_code=status, content={"detail": _ANSWERS[status]})


def install_database_error_handlers(app: FastAPI) -> None:
    for error in (DBAPIError, ConnectionError, OverflowError):
        app.add_exception_handler(error, database_error)
