"""The small type lattice the analysis works with: only what matters for the migration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SessionType:
    """A SQLAlchemy session; `is_async` for an `AsyncSession` (half-migrated code)."""

    is_async: bool


@dataclass(frozen=True)
class SessionFactoryType:
    """`sessionmaker(...)` / `async_sessionmaker(...)`: calling it gives a session."""

    is_async: bool


@dataclass(frozen=True)
class ScopedSessionType(SessionFactoryType):
    """`async_scoped_session(factory, scopefunc=current_task)`: calling it gives the scope's session, like a factory;
    and it proxies that session's methods (`db_session.execute(...)`, `await db_session.commit()`): see
    `proxied_session`."""


# what an async scoped session answers itself rather than proxying to its session (`remove()` is a coroutine too:
# it closes the scope's session; it is awaited like a session's `close()`, see `proxied_session`)
SCOPED_REGISTRY_ATTRS = frozenset({"configure", "registry", "session_factory"})


@dataclass(frozen=True)
class SqlModelSessionType:
    """SQLModel's sync `Session`: awaitify migrates nothing that uses it (AWT221), so it is never a `SessionType`;
    inside an `async def` its I/O blocks the event loop, which `check` reports (AWT306)."""


@dataclass(frozen=True)
class EngineType:
    is_async: bool


@dataclass(frozen=True)
class ConnectionType:
    """`engine.connect()` / `engine.begin()`: a Connection, an AsyncConnection when `is_async`."""

    is_async: bool


@dataclass(frozen=True)
class TransactionType:
    """`session.begin()` / `begin_nested()` / `get_transaction()`, `conn.begin()`: a transaction whose
    `commit()` / `rollback()` / `close()` are coroutines when `is_async`."""

    is_async: bool


@dataclass(frozen=True)
class HttpClientType:
    """A test HTTP client: Starlette's `TestClient` (sync) or `httpx.AsyncClient` (`is_async`).

    `convertible`: a TestClient that awaitify rewrites to `httpx.AsyncClient` (its requests get awaited)."""

    is_async: bool
    convertible: bool = False


@dataclass(frozen=True)
class RequestType:
    """A Starlette / FastAPI `Request` (or `WebSocket`): its `state` holds what middleware stored there."""


@dataclass(frozen=True)
class AppType:
    """A FastAPI / Starlette application (`app = FastAPI()`, `request.app`): its `state` holds what the project
    stored there (a lifespan's `app.state.engine = create_engine(...)`)."""


@dataclass(frozen=True)
class StateType:
    """`request.state` (`owner` "request") or `app.state` ("app"): an attribute read from it has the type every
    assignment of it in the project gives (`request.state.db = SessionLocal()` in a middleware: a session)."""

    owner: str


@dataclass(frozen=True)
class BlockingClientType:
    """A sync network client whose methods block: `redis.Redis`, `requests.Session`, `httpx.Client` (`client` names
    the class, see `blocking_calls.CLIENT_CLASSES`)."""

    client: str


@dataclass(frozen=True)
class GeneratorRef:
    """A generator object from calling project function `qualname` (`gen = get_db()`)."""

    qualname: str


@dataclass(frozen=True)
class ClassRef:
    """The class object itself (`User`, `self.model` holding a mapped class)."""

    qualname: str


@dataclass(frozen=True)
class MappedClassChoice(ClassRef):
    """A mapped class, one of `qualnames`, unknown which: an attribute every construction stores a mapped class in,
    not all the same (`ModelRouter(User, ...)`, `ModelRouter(Item, ...)`, see `argument_hints.passed_class`). Its
    `qualname` is none of the project's classes: a query of it selects an entity, whose objects are an
    `InstanceChoice` among `qualnames`."""

    qualnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instance:
    """An instance of a class of the project (`service = TrackService(db)`)."""

    qualname: str


@dataclass(frozen=True)
class InstanceList:
    """A collection of instances of a project class (a relationship collection)."""

    qualname: str


@dataclass(frozen=True)
class InstanceMap:
    """A mapping whose values are instances of a project class (`PLUGINS: dict[str, BasePlugin]`), or of one of
    several, unknown which (`{"name": NamePlugin(), "count": CountPlugin()}`, `dict[str, A | B]`): `.values()`
    gives a list of them, `[key]` and `.get(key)` one (`value`), `.items()` `InstancePairs`."""

    qualnames: tuple[str, ...]

    @property
    def value(self) -> Instance | InstanceChoice:
        return instance_of(self.qualnames)


@dataclass(frozen=True)
class InstancePairs:
    """The (key, instance) pairs of an `InstanceMap`'s `.items()` (a list of them when `is_list`): position 1 is an
    instance of the class, or of one of the classes."""

    qualnames: tuple[str, ...]
    is_list: bool = True

    @property
    def value(self) -> Instance | InstanceChoice:
        return instance_of(self.qualnames)


@dataclass(frozen=True)
class InstanceChoice:
    """An instance of one of several project classes, unknown which: an element of `[UserRepo(db), ItemRepo(db)]`
    (a list of them when `is_list`). A method called on it is one of theirs."""

    qualnames: tuple[str, ...]
    is_list: bool = False


def instance_of(qualnames: tuple[str, ...]) -> Instance | InstanceChoice:
    """An instance of the one project class named, or of one of several, unknown which."""
    return Instance(qualnames[0]) if len(qualnames) == 1 else InstanceChoice(tuple(sorted(qualnames)))


def instances_of(qualnames: tuple[str, ...]) -> InstanceList | InstanceChoice:
    """A list of instances of the one project class named, or of instances of one of several."""
    return InstanceList(qualnames[0]) if len(qualnames) == 1 else InstanceChoice(tuple(sorted(qualnames)), is_list=True)


@dataclass(frozen=True)
class ColumnRef:
    """A column-like SQL expression (`User.id`, `func.count(...)`)."""


@dataclass(frozen=True)
class ColumnLoad:
    """A column loader option: `load_only(User.a, User.b)`, `defer(User.c)` or `undefer(User.d)`. `entity_src` is the
    text naming the entity of its attributes (`User`, `owner` for an alias) and `qualname` its mapped class; both
    are "" / None where its attributes name no entity or several."""

    loader: str  # "load_only" | "defer" | "undefer"
    entity_src: str
    qualname: str | None
    names: tuple[str, ...]


@dataclass(frozen=True)
class QueryType:
    """A legacy `Query` object, built on `session_src` (source text of the session expression)."""

    session_src: str
    entity_kinds: tuple[str, ...]  # "entity" | "column" | "unknown", one per selected element
    dedupe: bool
    entity: tuple[str, str] | None = None  # (class qualname, source text) when one mapped entity is selected
    eager: frozenset[str] = frozenset()  # relationships of `entity` loaded by loader options
    column_options: tuple[ColumnLoad, ...] = ()  # column loader options, in order
    # one per selected element: (class qualname, source text) of a mapped entity, None for a column or an expression;
    # the text is "" for an entity with no plain name to load by (`aliased(User)` written inline)
    entities: tuple[tuple[str, str] | None, ...] = ()
    # (entity's source text, relationship) of the first-level loader options (`selectinload(User.orders)`)
    eager_of: frozenset[tuple[str, str]] = frozenset()
    # the mapped classes the one entity selected is one of, where it is a `MappedClassChoice` (`self.db_model`)
    entity_choice: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedEntities:
    """Mapped objects (one, or a list when `is_list`) loaded by the query ending at `span` in this function."""

    qualname: str
    entity_src: str
    span: tuple[int, int, int, int]
    is_list: bool
    eager: frozenset[str] = frozenset()
    # other queries a variable assigned in several places loaded it from: each gets the same loader options
    other_spans: tuple[tuple[int, int, int, int], ...] = ()
    # objects loaded through relationships of the queried ones (`user.orders`): the loader option that loads them,
    # which prefixes the options of relationships read from them (`selectinload(User.orders).selectinload(...)`)
    path: str = ""
    column_options: tuple[ColumnLoad, ...] = ()  # the query's options about these objects, as on QueryType
    # a variable also assigned new objects (`user = User(name=...)`): the keywords every such constructor sets,
    # the only relationships that read without a lazy load on that path (None: no such assignment)
    constructed: frozenset[str] | None = None


@dataclass(frozen=True)
class LoadedRows:
    """Rows of a query selecting several elements (`db.query(User, Address)`), one row or a list when `is_list`:
    per position, the objects loaded there (an Instance where the entity has no name to load by), None for a column
    or an expression. `user, address = row` types its names position by position."""

    columns: tuple[LoadedEntities | Instance | None, ...]
    is_list: bool


@dataclass(frozen=True)
class ModuleRef:
    name: str


@dataclass(frozen=True)
class FunctionRef:
    qualname: str


@dataclass(frozen=True)
class WrappedContextManager:
    """`db_context = contextmanager(get_db)`: `@contextmanager` applied as a call to a generator function of the
    project (`qualname`), which stays a plain generator for its other uses (`Depends(get_db)`). Calling it enters
    what the generator yields: `with db_context() as session`."""

    qualname: str


@dataclass(frozen=True)
class FunctionChoice:
    """A parameter whose default is a project function (`loader=load_user`) and that callers pass other functions
    to: it holds one of `qualnames`. `complete` is False when some caller passes something else (a lambda, a
    value, `**kwargs`): then what a call of it returns is unknown."""

    qualnames: tuple[str, ...]
    complete: bool


Type = (
    SessionType
    | SessionFactoryType
    | EngineType
    | ClassRef
    | Instance
    | ColumnRef
    | QueryType
    | ModuleRef
    | FunctionRef
    | LoadedEntities
    | LoadedRows
    | ConnectionType
    | TransactionType
    | GeneratorRef
    | InstanceList
    | InstanceMap
    | InstancePairs
    | InstanceChoice
    | FunctionChoice
    | WrappedContextManager
    | HttpClientType
    | RequestType
    | AppType
    | StateType
    | BlockingClientType
    | SqlModelSessionType
)

# the database handles: what the migration makes async (a session, an engine, a connection)
DB_HANDLES = (SessionType, EngineType, ConnectionType)

SYNC_SESSION = SessionType(is_async=False)
REQUEST = RequestType()
REQUEST_STATE = StateType("request")
APP = AppType()
APP_STATE = StateType("app")
ASYNC_SESSION = SessionType(is_async=True)
SQLMODEL_SESSION = SqlModelSessionType()


def proxied_session(owner: Type | None, attr: str) -> Type | None:
    """`owner.attr` read for a session's method: an async scoped session stands for the AsyncSession it proxies
    (`db_session.commit()` is the scope's session's `commit()`); any other owner is itself."""
    if isinstance(owner, ScopedSessionType) and attr not in SCOPED_REGISTRY_ATTRS:
        return SessionType(is_async=owner.is_async)
    return owner
