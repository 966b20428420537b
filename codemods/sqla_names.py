"""Fully qualified SQLAlchemy names the analysis recognises (type-driven, never by variable name)."""

SYNC_SESSION_CLASSES = frozenset({"sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.Session"})
# SQLModel's AsyncSession subclasses SQLAlchemy's (adds a coroutine `exec()`): code migrated to it by hand is
# async code (never a leftover), and an I/O call on it not awaited is one
ASYNC_SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession",
        "sqlmodel.ext.asyncio.session.AsyncSession",
    }
)
SYNC_SESSIONMAKERS = frozenset({"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"})
ASYNC_SESSIONMAKERS = frozenset(
    {"sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker"}
)
SCOPED_SESSION = frozenset({"sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session"})
# `async_scoped_session(factory, scopefunc=...)`: code that already chose it (AWT205's advice) proxies an AsyncSession
ASYNC_SCOPED_SESSION = frozenset(
    {"sqlalchemy.ext.asyncio.async_scoped_session", "sqlalchemy.ext.asyncio.scoping.async_scoped_session"}
)
SYNC_CREATE_ENGINE = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"})
# the sync API whose import is a leftover (AWT303)
SYNC_API = SYNC_SESSION_CLASSES | SYNC_SESSIONMAKERS | SCOPED_SESSION | SYNC_CREATE_ENGINE
# SQLModel's sync session and engine (`sqlmodel.Session` subclasses SQLAlchemy's, `sqlmodel.create_engine` is
# SQLAlchemy's): recognised, never migrated (AWT221 in `migrate`, AWT303 in `check`; see codemods.sqlmodel_api)
SQLMODEL_SYNC_API = frozenset(
    {
        "sqlmodel.Session",
        "sqlmodel.orm.session.Session",
        "sqlmodel.create_engine",
        "sqlmodel.engine.create.create_engine",
    }
)
SQLMODEL_SESSION_CLASSES = frozenset(name for name in SQLMODEL_SYNC_API if name.endswith(".Session"))
ASYNC_CREATE_ENGINE = frozenset(
    {"sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.ext.asyncio.engine.create_async_engine"}
)
SYNC_ENGINE_CLASSES = frozenset({"sqlalchemy.engine.Engine", "sqlalchemy.Engine"})
ASYNC_ENGINE_CLASSES = frozenset({"sqlalchemy.ext.asyncio.AsyncEngine"})
SYNC_CONNECTION_CLASSES = frozenset(
    {"sqlalchemy.engine.Connection", "sqlalchemy.Connection", "sqlalchemy.engine.base.Connection"}
)
ASYNC_CONNECTION_CLASSES = frozenset(
    {"sqlalchemy.ext.asyncio.AsyncConnection", "sqlalchemy.ext.asyncio.engine.AsyncConnection"}
)
OBJECT_SESSION = frozenset(
    {
        "sqlalchemy.orm.object_session",
        "sqlalchemy.orm.session.object_session",
        # the classmethod, `Session.object_session(obj)`: the same function
        "sqlalchemy.orm.Session.object_session",
        "sqlalchemy.orm.session.Session.object_session",
    }
)
# what `object_session(obj)` becomes, with its module: the call alone, or the session of a query chain on it
ASYNC_OBJECT_SESSION = ("sqlalchemy.ext.asyncio", "async_object_session")
FASTAPI_DEPENDS = frozenset({"fastapi.Depends", "fastapi.params.Depends"})
# what a route or a middleware is handed: its `state` carries what middleware stored for the request
REQUEST_CLASSES = frozenset(
    {
        "fastapi.Request",
        "fastapi.requests.Request",
        "starlette.requests.Request",
        "starlette.requests.HTTPConnection",
        "fastapi.WebSocket",
        "fastapi.websockets.WebSocket",
        "starlette.websockets.WebSocket",
    }
)
HTTP_MIDDLEWARE_BASES = frozenset({"starlette.middleware.base.BaseHTTPMiddleware"})
# applications whose `@app.middleware("http")` functions are handed the request first
ASGI_APPS = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"})

# Session methods that return awaitables on AsyncSession (rule book §2).
AWAITABLE_SESSION_METHODS = frozenset(
    {
        "remove",  # of an async scoped session (`types.proxied_session`): closes the scope's session
        "commit",
        "rollback",
        "flush",
        "refresh",
        "execute",
        "scalar",
        "scalars",
        "get",
        "get_one",
        "delete",
        "merge",
        "close",
        "connection",
        "invalidate",
        "reset",
        "run_sync",
        "stream",
        "stream_scalars",
        "delete_all",
        "merge_all",
    }
)
SYNC_SESSION_METHODS = frozenset(
    {
        "add",
        "add_all",
        "expunge",
        "expunge_all",
        "expire",
        "expire_all",
        "is_modified",
        "in_transaction",
        "get_bind",
        "begin",
        "begin_nested",
        "in_nested_transaction",
        "get_transaction",
        "get_nested_transaction",
    }
)
BULK_METHODS = frozenset({"bulk_insert_mappings", "bulk_update_mappings", "bulk_save_objects"})
AWAITABLE_ENGINE_METHODS = frozenset({"dispose"})

GENERIC_WRAPPERS = frozenset(
    {
        "typing.Optional",
        "typing.Union",
        "typing.Annotated",
        "typing_extensions.Annotated",
    }
)
TYPE_OF = frozenset({"typing.Type", "builtins.type", "type"})
TYPE_VARS = frozenset({"typing.TypeVar", "typing_extensions.TypeVar"})
# a list of instances: its elements are instances (`-> list[User]`)
LIST_TYPES = frozenset({"typing.List", "builtins.list", "typing.Sequence", "collections.abc.Sequence"})
UNION_TYPES = frozenset({"typing.Union", "typing.Optional"})
# `tuple[C, ...]`: a sequence of instances, as `list[C]` is
TUPLE_TYPES = frozenset({"typing.Tuple", "builtins.tuple"})
# `dict[K, C]`: a mapping whose values are instances of C
MAPPING_TYPES = frozenset(
    {
        "typing.Dict",
        "builtins.dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
    }
)
GENERATOR_TYPES = frozenset(
    {
        "typing.Generator",
        "typing.Iterator",
        "typing.Iterable",
        "collections.abc.Generator",
        "collections.abc.Iterator",
        "collections.abc.Iterable",
        "typing.AsyncGenerator",
        "typing.AsyncIterator",
        "collections.abc.AsyncGenerator",
        "collections.abc.AsyncIterator",
        "contextlib.AbstractContextManager",
        "typing.ContextManager",
    }
)
CLOSING = frozenset({"contextlib.closing"})
# caches of a function's return value, which for an async function is its coroutine (AWT218)
FUNCTOOLS_CACHES = frozenset({"functools.lru_cache", "functools.cache"})
EVENT_LISTEN = frozenset({"sqlalchemy.event.listen", "sqlalchemy.event.listens_for"})
RELATIONSHIP = frozenset({"sqlalchemy.orm.relationship", "sqlalchemy.orm.relationships.relationship"})
LAZY_LOADING = frozenset({"select", "True", "dynamic"})
AWAITABLE_CONNECTION_METHODS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "commit",
        "rollback",
        "close",
        "run_sync",
        "exec_driver_sql",
        "stream",
        "stream_scalars",
        "invalidate",
        "get_raw_connection",
        "start",
    }
)
# Session and connection methods that return a transaction (an AsyncSessionTransaction / AsyncTransaction on
# the async side), and that transaction's methods that are coroutines there.
TRANSACTION_METHODS = frozenset({"begin", "begin_nested", "get_transaction", "get_nested_transaction"})
AWAITABLE_TRANSACTION_METHODS = frozenset({"commit", "rollback", "close"})
