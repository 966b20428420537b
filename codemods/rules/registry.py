"""Rule definitions. Each carries its doc and a before/after example, so docs are generated from here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RuleKind(StrEnum):
    REWRITE = "rewrite"
    REVIEW = "review"
    CHECK = "check"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    kind: RuleKind
    summary: str
    why: str
    before: str
    after: str


def _rule(code: str, name: str, summary: str, why: str, before: str = "", after: str = "") -> Rule:
    kind = {"1": RuleKind.REWRITE, "2": RuleKind.REVIEW, "3": RuleKind.CHECK}[code[3]]
    return Rule(code, name, kind, summary, why, before.strip("\n"), after.strip("\n"))


_ALL = [
    # ---- rewrites -------------------------------------------------------------------------------
    _rule(
        "AWT101",
        "session-type",
        "`Session` becomes `AsyncSession` in annotations and imports.",
        "Annotations drive the rest of the migration and tell readers which session a function expects.",
        "from sqlalchemy.orm import Session\ndef get(db: Session): ...",
        "from sqlalchemy.ext.asyncio import AsyncSession\nasync def get(db: AsyncSession): ...",
    ),
    _rule(
        "AWT102",
        "query-to-select",
        "`session.query(...)` chains become `select(...)` run by an awaited execute.",
        "`AsyncSession` has no `query()`. The terminal decides the result shape: one entity gives "
        "`scalars`, columns or several entities give rows; `first()` keeps its LIMIT 1; `.unique()` is added "
        "where the legacy Query de-duplicated entities (joins, eager-joined collections).",
        "user = db.query(User).filter(User.id == uid).first()",
        "user = (await db.scalars(select(User).where(User.id == uid).limit(1))).first()",
    ),
    _rule(
        "AWT103",
        "await-session-io",
        "Session I/O (`commit`, `refresh`, `execute`, `delete`, ...) is awaited.",
        "On `AsyncSession` these return coroutines; a forgotten `await db.delete(x)` deletes nothing.",
        "db.commit()\ndb.refresh(user)",
        "await db.commit()\nawait db.refresh(user)",
    ),
    _rule(
        "AWT104",
        "async-begin",
        "`with session.begin():` becomes `async with session.begin():`.",
        "`AsyncSessionTransaction` is an async context manager; a plain `with` raises TypeError.",
        "with db.begin():\n    db.add(x)",
        "async with db.begin():\n    db.add(x)",
    ),
    _rule(
        "AWT105",
        "bulk-operations",
        "`bulk_insert_mappings` / `bulk_update_mappings` / `bulk_save_objects` become their 2.0 forms.",
        "`AsyncSession` has no bulk_* methods; executemany through `insert(M)` / `update(M)` is the 2.0 form.",
        "db.bulk_insert_mappings(Track, rows)",
        "await db.execute(insert(Track), rows)",
    ),
    _rule(
        "AWT106",
        "textual-sql",
        '`session.execute("SQL")` wraps the string in `text()`.',
        "SQLAlchemy 2 rejects plain strings: ArgumentError: Textual SQL expression should be declared as text().",
        'db.execute("DELETE FROM t")',
        'await db.execute(text("DELETE FROM t"))',
    ),
    _rule(
        "AWT107",
        "async-engine",
        "`create_engine` becomes `create_async_engine` with an async driver in the URL.",
        "The asyncio extension requires an async driver (asyncpg, aiosqlite, aiomysql).",
        'engine = create_engine("postgresql://u@h/db")',
        'engine = create_async_engine("postgresql+asyncpg://u@h/db")',
    ),
    _rule(
        "AWT108",
        "async-sessionmaker",
        "`sessionmaker` becomes `async_sessionmaker(..., expire_on_commit=False)`.",
        "After commit, expired attributes reload lazily, which raises MissingGreenlet under asyncio.",
        "SessionLocal = sessionmaker(bind=engine, autoflush=False)",
        "SessionLocal = async_sessionmaker(bind=engine, autoflush=False, expire_on_commit=False)",
    ),
    _rule(
        "AWT109",
        "engine-io",
        "`metadata.create_all(engine)` runs through `run_sync`; `engine.dispose()` is awaited.",
        "DDL helpers take a sync connection; an AsyncEngine hands one out via `conn.run_sync`.",
        "Base.metadata.create_all(bind=engine)",
        "async with engine.begin() as conn:\n    await conn.run_sync(Base.metadata.create_all)",
    ),
    _rule(
        "AWT110",
        "async-def",
        "A function that now awaits becomes `async def`.",
        "`await` is only legal inside `async def`; the call graph is colored to a fixed point across files.",
        "def get_user(db, uid):\n    return db.get(User, uid)",
        "async def get_user(db, uid):\n    return await db.get(User, uid)",
    ),
    _rule(
        "AWT111",
        "await-call",
        "Every call of a function that is (or became) async is awaited.",
        "A missed await is silent: `if get_user(db, 1):` is always true, a coroutine is truthy.",
        "user = service.get_user(uid)",
        "user = await service.get_user(uid)",
    ),
    _rule(
        "AWT112",
        "async-dependency",
        "Session-yielding dependencies and context managers become async.",
        "`get_db` must hand out an `AsyncSession` and close it with `async with`; `@contextmanager` becomes "
        "`@asynccontextmanager` and its users `async with`; generators that await become async generators, "
        "`next(gen)` becomes `await anext(gen)`. An inline `next(get_db())` becomes "
        "`await _awaitify_next_closed(get_db())` (a helper added to the module): CPython closed the dropped sync "
        "generator at once, while a dropped async generator is closed by the event loop later, in the middle of "
        "the drawn session's next flush.",
        "def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()",
        "async def get_db():\n    db = SessionLocal()\n    try:\n        yield db\n"
        "    finally:\n        await db.close()",
    ),
    _rule(
        "AWT113",
        "async-object-session",
        "`object_session(obj)` becomes `async_object_session(obj)`.",
        "`object_session` returns the sync Session proxied by the AsyncSession, whose I/O cannot be awaited.",
        "s = object_session(track)",
        "s = async_object_session(track)",
    ),
    # ---- review items ---------------------------------------------------------------------------
    _rule(
        "AWT201",
        "lazy-load",
        "A relationship is read lazily after the query: it raises MissingGreenlet under asyncio.",
        "Lazy loads emit I/O on attribute access, which AsyncSession cannot do implicitly. When the access is in "
        "the same function awaitify adds `selectinload`; otherwise it flags the read. A FastAPI response model "
        "reads the relationships its fields name after the route returns: loaded by the route's own query the "
        "same way (and so for `Model.model_validate(obj)`), flagged when the objects come from elsewhere. Replacing "
        "a lazy collection (`album.tracks = [...]`) loads the old one first: the same holds for it, except on an "
        "object the function builds.",
        "album = db.query(Album).first()\nreturn album.tracks",
        "album = (await db.scalars(select(Album).options(selectinload(Album.tracks)).limit(1))).first()",
    ),
    _rule(
        "AWT202",
        "expire",
        "`expire()` / `expire_all()` make the next attribute read lazy-load.",
        "An expired attribute reloads on access, which raises MissingGreenlet; use `await session.refresh(obj)`.",
        "db.expire(user)",
        "db.expire(user)  # awaitify: review AWT202 ...",
    ),
    _rule(
        "AWT203",
        "shared-session-concurrency",
        "One session is used by concurrent tasks (`gather`, `create_task`).",
        "AsyncSession is not safe for concurrent use: InvalidRequestError ... concurrent operations are not permitted.",
        "await asyncio.gather(a(db), b(db))",
        "await asyncio.gather(a(db), b(db))  # awaitify: review AWT203 ...",
    ),
    _rule(
        "AWT204",
        "io-in-sync-boundary",
        "Database I/O where `await` is impossible (property, dunder, lambda, callback).",
        "Properties, dunders, lambdas and callbacks handed to sync code cannot become async; the I/O has to move.",
        "@property\ndef n(self):\n    return self.db.query(T).count()",
        "@property\ndef n(self):\n    return self.db.query(T).count()  # awaitify: review AWT204 ...",
    ),
    _rule(
        "AWT205",
        "scoped-session",
        "`scoped_session` has no exact async equivalent.",
        "`async_scoped_session` needs an explicit `scopefunc` (e.g. `asyncio.current_task`); pick one deliberately. "
        "Once the line reads `async_scoped_session(async_sessionmaker(...), scopefunc=...)`, run `migrate` again: "
        "the scoped session stands for the AsyncSession it proxies, so its calls (`Session.execute(...)`, "
        "`Session.commit()`, `Session.remove()`) are awaited and their functions made async.",
        "Session = scoped_session(factory)",
        "Session = scoped_session(factory)  # awaitify: review AWT205 ...",
    ),
    _rule(
        "AWT206",
        "dynamic-relationship",
        '`lazy="dynamic"` relationships cannot be iterated under asyncio.',
        "Use `WriteOnlyMapped` and `await session.scalars(obj.rel.select())`.",
        'tracks = relationship("Track", lazy="dynamic")',
        'tracks = relationship("Track", lazy="dynamic")  # awaitify: review AWT206 ...',
    ),
    _rule(
        "AWT207",
        "removed-query-api",
        "A Query API removed in 2.0 (`from_self`, `values`, `value`, string joins).",
        "These have no `select()` equivalent with the same meaning; rewrite them by hand.",
        "db.query(User).from_self()",
        "db.query(User).from_self()  # awaitify: review AWT207 ...",
    ),
    _rule(
        "AWT208",
        "query-escapes",
        "A `Query` object escapes to code awaitify cannot follow.",
        "A Query passed to or stored for unknown code may be iterated synchronously there.",
        "return paginate(db.query(User))",
        "return paginate(db.query(User))  # awaitify: review AWT208 ...",
    ),
    _rule(
        "AWT209",
        "unsupported-query",
        "A query construct awaitify cannot convert exactly.",
        "A rewrite that could change results is worse than none: the result shape or semantics could not be "
        "proven (unknown entity, `q[i]`, `*args` in query(), an unknown terminal), or a construct the rewrite needs "
        "(`select`, `update`, `delete`, `func`, `text`) names something else there (`def f(db, update): ...`).",
        "db.query(*cols).all()",
        "db.query(*cols).all()  # awaitify: review AWT209 ...",
    ),
    _rule(
        "AWT210",
        "asyncio-run-in-loop",
        "`asyncio.run()` inside code that now runs on the event loop.",
        "asyncio.run cannot be called from a running event loop (RuntimeError).",
        "asyncio.run(job())",
        "asyncio.run(job())  # awaitify: review AWT210 ...",
    ),
    _rule(
        "AWT211",
        "engine-option",
        "An engine option the async driver rejects and that cannot be converted exactly.",
        "asyncpg rejects `sslmode=` and psycopg2 `options`; `QueuePool` cannot be used with asyncio.",
        'create_engine(url, connect_args={"sslmode": "require"})',
        'create_async_engine(url, connect_args={"sslmode": "require"})  # awaitify: review AWT211 ...',
    ),
    _rule(
        "AWT212",
        "event-listener",
        "Event listeners cannot target an AsyncEngine or AsyncSession.",
        "awaitify retargets what it can: an engine named by a name to `engine.sync_engine`, the `Session` class to "
        "`AsyncSession.sync_session_class` (the class every AsyncSession runs inside). It flags the rest: an "
        "AsyncSession (use its `.sync_session`), an async_sessionmaker (listen on a Session subclass passed as its "
        "`sync_session_class=`).",
        'event.listen(engine, "connect", fn)',
        'event.listen(engine, "connect", fn)  # awaitify: review AWT212 ...',
    ),
    _rule(
        "AWT213",
        "sync-caller",
        "A caller that must stay sync calls a function that became async.",
        "Sync code cannot await; the call returns a coroutine. The report shows the call-graph path that forced "
        "the callee async. Callers that stay sync: dunders, properties, lambdas, callbacks handed to sync code, "
        "module-level code, Celery tasks (`@app.task`, `@shared_task`: the worker calls them synchronously), click "
        "and Typer commands (`@click.command()`, `@group.command()`, `@app.command()`: called synchronously too) and "
        "Alembic's scripts (`env.py`, importing `alembic.context`, and revision scripts, importing `alembic.op`: "
        "their own sessions and engines stay sync too, on Alembic's sync connection). Also flagged: a "
        "`dependency_overrides[dep] = ...` value awaitify cannot follow when `dep` became async, and a sync "
        "decorator defined in the project on a function that became async (its wrapper gets a coroutine: a "
        "try/except or retry around the call no longer catches anything; marked on the `def` line). Not flagged there: "
        "a decorator whose wrapper does database I/O itself (Airflow's `@provide_session`, opening a session when "
        "the caller passes none) and is applied nowhere but as a decorator: its wrapper awaits the call, and every "
        "function it decorates becomes async and is awaited, one without I/O of its own too. And calls that "
        "may or may not return a coroutine, never awaited: a method of one of several classes (`for repo in "
        "[UserRepo(db), CachedRepo()]: repo.count()`, or `repo: UserRepo | CachedRepo`, `repos: list[UserRepo | "
        "CachedRepo]`, a value of `{'users': UserRepo(db), 'cached': CachedRepo()}`) that became async in some of "
        "them only (where it did in all, "
        "the call is awaited), and a parameter whose default is a function that became async (`loader=load_user`) "
        "when a caller hands it something else (a lambda, `**kwargs`) or a function that stayed sync (where every "
        "caller hands it functions that became async, or none, the call is awaited). Not flagged: reading what a "
        "function declares, which the `async def` keeps (`fn.__name__`, `fn.__annotations__`, `fn.__doc__`, "
        "`typing.get_type_hints(fn)`, `inspect.signature(fn)`); `inspect.iscoroutinefunction(fn)` is, its answer "
        "changes.",
        "result = sorted(xs, key=lambda x: svc.score(x))",
        "result = sorted(xs, key=lambda x: svc.score(x))  # awaitify: review AWT213 ...",
    ),
    _rule(
        "AWT214",
        "sync-test-client",
        "A `TestClient` that cannot become `httpx.AsyncClient` + `ASGITransport` exactly.",
        "In test modules and conftest.py awaitify rewrites `TestClient(app)` to `httpx.AsyncClient("
        "transport=httpx.ASGITransport(app=app, ...), ...)` with TestClient's defaults (base URL, redirects "
        "followed, client address, user-agent), awaits its requests and makes the tests pytest-asyncio tests. "
        "It flags a TestClient entered with `with` in an app with lifespan or startup/shutdown handlers "
        "(TestClient runs them, ASGITransport does not), arguments without an httpx equivalent (`backend=`), "
        "tests that open websockets (httpx has none), and a TestClient outside test modules.",
        "with TestClient(app) as client:  # app = FastAPI(lifespan=lifespan)",
        "with TestClient(app) as client:  # awaitify: review AWT214 ...",
    ),
    _rule(
        "AWT215",
        "staged-blocked",
        "`migrate --only`: an in-scope file stays sync because code out of scope is coupled to it.",
        "A stage must leave a tree that runs: a file migrates with every file it calls, is called by, or shares "
        "a session global with, and a session provider migrates only once no sync user remains. The file is left "
        "byte-identical (no marker is written) and the report names the chain of couplings down to the file out "
        "of scope: widen `--only` to it, or migrate that file first. See docs/staged-migrations.md.",
        "# awaitify migrate --only 'shop/users/**'  (shop/admin/router.py calls shop.users.service.get_user)\n"
        "def get_user(db: Session, user_id: int) -> User | None: ...",
        "def get_user(db: Session, user_id: int) -> User | None: ...\n"
        "# report: shop/users/service.py:11:1 AWT215 not migrated in this stage: coupled to shop/admin/router.py ...",
    ),
    _rule(
        "AWT216",
        "call-into-file-left-alone",
        "A call into a file that awaitify could not rewrite (it failed or ran out of time), so it stayed sync.",
        "The rest of the project was planned without that file: nothing awaits its functions. If it hands them a "
        "session, they now receive an `AsyncSession`; migrate that file (or the call) by hand.",
        "rows = legacy.report(db)",
        "rows = legacy.report(db)  # awaitify: review AWT216 ...",
    ),
    _rule(
        "AWT217",
        "dbapi-level",
        "Code at the DB-API level: a raw driver connection, or `exec_driver_sql()` with parameters.",
        "The async engine's driver is not the sync one: `AsyncConnection.connection` raises, a raw connection's "
        "cursor raises `MissingGreenlet` outside `run_sync()`, and placeholders are the driver's own (psycopg2's "
        "`%s` and `%(name)s` are `$1`, `$2` under asyncpg; sqlite3 and aiosqlite share `?` and `:name`).",
        'conn.exec_driver_sql("SELECT * FROM users WHERE name = %s", (name,))',
        'await conn.exec_driver_sql("SELECT * FROM users WHERE name = %s", (name,))  # awaitify: review AWT217 ...',
    ),
    _rule(
        "AWT218",
        "sync-cache",
        "`functools.lru_cache` / `functools.cache` on a function that became async.",
        "The cache keeps what the function returns, now a coroutine: the first caller awaits it, the next one gets "
        "the same coroutine and `RuntimeError: cannot reuse already awaited coroutine`. Cache the awaited result "
        "(a module-level value, an async cache) instead.",
        "@lru_cache\nasync def settings(): ...",
        "@lru_cache  # awaitify: review AWT218 ...\nasync def settings(): ...",
    ),
    _rule(
        "AWT219",
        "engine-escapes",
        "An engine, connection or session made async, handed to code that needs the sync one (`inspect()`, "
        "reflection, a library function).",
        "`inspect(engine)`, `MetaData().reflect(bind=engine)` and `Table(..., autoload_with=engine)` raise "
        "`NoInspectionAvailable` on an `AsyncEngine`, and a library written for a sync `Engine` or `Connection` "
        "(pandas' `read_sql`, ...) fails with the async one. Run such code inside `await conn.run_sync(...)` on a "
        "connection of the async engine: it gets a sync `Connection` there. Project functions that take the engine "
        "are followed and rewritten instead; printing or logging it is left alone. A session handed to a library's "
        "function (`paginate(db, stmt)` of fastapi-pagination) is flagged too: one written for a sync `Session` "
        "fails with the `AsyncSession`, one that takes both returns a coroutine to await; the standard library, "
        "FastAPI / Starlette, Pydantic and SQLAlchemy are not flagged. Also flagged: a session or "
        "connection made async handed to a project function that stays sync because `run_sync()` calls it with the "
        "sync one (`await session.run_sync(owner_of)` elsewhere, `owner_of(db, ...)` here): run it through "
        "`await db.run_sync(owner_of, ...)`.",
        'df = pd.read_sql("SELECT * FROM users", engine)',
        'df = pd.read_sql("SELECT * FROM users", engine)  # awaitify: review AWT219 ...',
    ),
    _rule(
        "AWT220",
        "blocking-call-made-async",
        "A blocking call (`time.sleep`, `requests`, `httpx`, `subprocess`, `urlopen`, `socket`, a sync redis / "
        "`requests.Session` / `httpx.Client` client's method, a project function or constructor that blocks) in a "
        "function that became async.",
        "FastAPI runs a sync route in a worker thread, where a blocking call holds that thread only; made `async def`, "
        "the route runs on the event loop and the same call stalls every request. `time.sleep(x)` becomes "
        "`await asyncio.sleep(x)` and the other calls `await asyncio.to_thread(fn, ...)` (the same call, in a "
        "worker thread as before). A client is known from its constructor (`redis.Redis(...)`, "
        "`redis.Redis.from_url(...)`, `requests.Session()`, `httpx.Client()`, assigned to a local or to `self.x` in "
        "`__init__`) or a parameter's annotation, never from its name. A call of the project's own function that "
        "stays sync and blocks (itself, or through the functions it calls, up to four calls deep: "
        "`self.cache.get(key)` over a sync redis client) is moved the same way: "
        "`await asyncio.to_thread(self.cache.get, key)`. A redis pipeline kept in a local (`pipe = r.pipeline()`, "
        "`with r.pipeline() as pipe:`) and used only through its methods buffers its commands, which stay as they "
        "are: only `pipe.execute()` goes to a thread. A pipeline the function `watch()`es (whatever its origin: a "
        "local, a parameter annotated `redis.client.Pipeline`) answers each command at once until `multi()`: "
        "those commands, and its `unwatch()` / `reset()`, run in a thread, `await asyncio.to_thread(pipe.get, key)`; "
        "the commands that follow `pipe.multi()` in the same block stay buffered as they are. "
        "The construction of a project class whose "
        "`__init__` blocks is moved too: `await asyncio.to_thread(CoverArtClient, base)`. Such functions and "
        "classes are found in modules "
        "that import no database or client package too (`utils/retry.py` with `time.sleep`, a helper calling "
        "`urllib.request.urlopen`), when a module that is analysed imports them. The module functions recognised: "
        "`requests` and `httpx` requests, `urllib.request.urlopen` / `urlretrieve`, `subprocess.run` / `call` / "
        "`check_call` / `check_output` / `getoutput` / `getstatusoutput`, `os.system`, `socket.getaddrinfo` and the "
        "other name lookups, under any name they are imported as. Where the call cannot be moved as it is "
        "(inside a lambda, arguments that are rewritten too), or its result does the I/O later (a redis "
        "`pipeline()` handed on, stored, or `watch()`ed, `pubsub()`, `lock()`, `scan_iter()`, "
        "`httpx.Client.stream()` and `httpx.stream()`, "
        "`socket.create_connection()`, `smtplib.SMTP()`, `ftplib.FTP()`, `subprocess.Popen()`, `os.popen()`, a "
        "project generator or context manager that blocks, a project function that returns such an object: "
        "`child = open_child()` over `return subprocess.Popen(...)`, whose `child.communicate()` would run on the "
        "loop), it gets this marker. File I/O (`open()`, reads and writes) is left as it "
        "is: a local file is read from the disk or the page cache, not from a peer that may not answer, and "
        "moving every `with open(...)` block would flag most functions that read a template or a config file. "
        "Functions that were async already are left as they are.",
        "r = requests.get(url, timeout=5)",
        "r = await asyncio.to_thread(requests.get, url, timeout=5)",
    ),
    _rule(
        "AWT221",
        "sqlmodel-not-migrated",
        "SQLModel's sync `Session` or `create_engine`: awaitify does not migrate SQLModel.",
        "A known limitation. SQLModel's async session is `sqlmodel.ext.asyncio.session.AsyncSession` "
        "(`await session.exec(...)`), a "
        "different class from SQLAlchemy's; awaitify has no rule for it, so nothing that uses SQLModel's session is "
        "made async, and `check` reports each import (AWT303) until it is migrated by hand. A function whose "
        "session arrives through a dependency alias (`def read(session: SessionDep)` with `SessionDep = "
        "Annotated[Session, Depends(get_session)]`, usually imported from another module) is flagged on its `def`, "
        "and reported by `check`, too. Code migrated by hand to SQLModel's AsyncSession is async code to `check` "
        "(an `exec()` or `commit()` on it left unawaited is AWT302); SQLModel's sync `Session` used in an "
        "`async def` blocks the event loop, and `check` reports each of its I/O calls there (AWT306). A SQLAlchemy "
        "session "
        "bound to an engine from `sqlmodel.create_engine` is still migrated: that engine must become "
        "`create_async_engine` by hand too, or every request fails (`AsyncEngine expected, got Engine`). "
        "`session.exec(...)` on a session annotated as SQLAlchemy's is flagged too: only SQLModel's `Session` has "
        "`exec()`, and SQLAlchemy's `AsyncSession` has none.",
        "from sqlmodel import Session, create_engine",
        "from sqlmodel import Session, create_engine  # awaitify: review AWT221 ...",
    ),
    _rule(
        "AWT222",
        "annotation-contradicted",
        "An annotation naming a session, session factory, engine or connection that its value contradicts "
        "(`SessionLocal: Session = sessionmaker(...)`, `-> Session` over `return sessionmaker(...)`).",
        "awaitify follows the value, which is what the code using the name was written against (`SessionLocal()`, "
        "`with SessionLocal() as db`): those uses are migrated, functions made async and calls awaited for a type "
        "the annotation denies. The annotation stays wrong in the migrated code, and whatever trusts it is misled: "
        "a type checker reports the working `async with SessionLocal() as db` as an error (`AsyncSession` is not "
        "callable) and accepts `await SessionLocal.commit()`, which raises AttributeError. Annotate the name with "
        "what it holds (`async_sessionmaker[AsyncSession]`).",
        "SessionLocal: Session = sessionmaker(bind=engine)",
        "SessionLocal: AsyncSession = async_sessionmaker(bind=engine, expire_on_commit=False)  "
        "# awaitify: review AWT222 ...",
    ),
    _rule(
        "AWT223",
        "generator-closed-by-the-loop",
        "`db = next(gen)` of a generator that became async and that the function never closes.",
        "CPython closes a sync generator as soon as its last reference goes, so `gen = get_db(); db = next(gen)` ran "
        "`get_db`'s `finally: db.close()` when the function returned. A dropped async generator is closed later, by a "
        "task of the event loop, in the middle of whatever runs then: a session still in use (handed on, or sharing "
        "its connection) gets `close()` during its next flush (`IllegalStateChangeError` in that task, the session "
        "never closed). awaitify draws with `await anext(gen)` where the function closes the generator itself "
        "(`gen.close()` becomes `await gen.aclose()`), with its close-at-once helper where the drawn value is "
        "returned at once (`return next(gen)`), and flags the rest: close it where the function is done with the "
        "session (`try: ... finally: await gen.aclose()`).",
        "gen = get_db()\ndb = next(gen)",
        "gen = get_db()\ndb = await anext(gen)  # awaitify: review AWT223 ...",
    ),
    _rule(
        "AWT224",
        "raw-update-stale-after-commit",
        "A raw SQL UPDATE, then a commit, then a read of an object the function loaded before it.",
        'The ORM does not update loaded objects with a textual UPDATE (`text("UPDATE users ...")`). The sync code '
        "read the new values anyway: its commit expired every object (`expire_on_commit=True`, the default) and the "
        "read loaded it again. The migrated session sets `expire_on_commit=False` (a lazy load raises "
        "MissingGreenlet under asyncio), so the same read returns the old value, silently. Flagged only where a "
        "mapped object loaded before the UPDATE is read after the commit: loaded by the function (one object, or a "
        "list read in a loop or comprehension), or handed in by a parameter annotated with its mapped class. "
        "Refresh it after the "
        "commit (`await db.refresh(user)`), or use an ORM `update(User)`, which synchronises it.",
        "user = db.get(User, 1)\ndb.execute(text(\"UPDATE users SET name = 'zz' WHERE id = 1\"))\ndb.commit()\n"
        "return user.name",
        "user = await db.get(User, 1)\nawait db.execute(text(\"UPDATE users SET name = 'zz' WHERE id = 1\"))  "
        "# awaitify: review AWT224 ...\nawait db.commit()\nreturn user.name",
    ),
    _rule(
        "AWT225",
        "untyped-session-parameter",
        "An untyped parameter that some callers hand a session and others a value awaitify cannot type.",
        "awaitify types an untyped parameter (`def get(*, db_session, tag_id)`, Netflix dispatch's services) from "
        "what its callers hand it, only when every caller hands a session: one that hands something it cannot type "
        "(a session a decorator injects, `context.db`, a plugin's argument) leaves the parameter untyped, and the "
        "function as it is. The callers that hand a session now hand an AsyncSession, on which the function's "
        "`db_session.query()` raises AttributeError (`db_session.commit()` returns a coroutine nobody awaits), and "
        "`check` cannot see it either. Flagged on the first session call of each such parameter: annotate it "
        "(`db_session: AsyncSession`) and migrate again, which makes the function async and awaits it everywhere.",
        "def get(*, db_session, tag_id):\n    return db_session.query(Tag).get(tag_id)",
        "def get(*, db_session, tag_id):\n    return db_session.query(Tag).get(tag_id)  # awaitify: review AWT225 ...",
    ),
    _rule(
        "AWT226",
        "isinstance-sync-engine-class",
        "`isinstance(x, Engine)` / `isinstance(x, Connection)` on a value awaitify cannot type.",
        "The engine the migration makes is an `AsyncEngine` and its connections `AsyncConnection`s, neither an "
        "instance of the sync class (an `AsyncEngine` wraps its `Engine` as `sync_engine`): the check, left as it "
        "is, is False for the migrated value and the code silently takes the other branch. Where `x` is typed as an "
        "engine or connection the migration makes async, the class is rewritten (`isinstance(engine, AsyncEngine)`, "
        "the same answer as before); where `x` cannot be typed (an untyped parameter, a value from a library), it is "
        "flagged: test the async class, or both (`isinstance(x, (Engine, AsyncEngine))`) where a sync engine can "
        "still arrive. `isinstance(x, Session)` needs no marker: the `Session` class is renamed `AsyncSession` "
        "everywhere the module names it.",
        "if isinstance(bind, Engine):",
        "if isinstance(bind, Engine):  # awaitify: review AWT226 ...",
    ),
    # ---- check findings -------------------------------------------------------------------------
    _rule(
        "AWT301",
        "session-query",
        "`.query()` is still called on a session.",
        "AsyncSession has no `query()`: AttributeError at run time.",
        "db.query(User).all()",
        "(await db.scalars(select(User))).all()",
    ),
    _rule(
        "AWT302",
        "unawaited-session-io",
        "AsyncSession I/O whose result is not awaited.",
        "The coroutine is created and dropped: nothing is committed, deleted or loaded.",
        "db.commit()",
        "await db.commit()",
    ),
    _rule(
        "AWT303",
        "sync-sqlalchemy-api",
        "Sync `Session`, `sessionmaker`, `scoped_session` or `create_engine` (SQLAlchemy's or SQLModel's) still used.",
        "Mixed sync and async sessions in one app block the event loop and split transactions.",
        "from sqlalchemy.orm import Session",
        "from sqlalchemy.ext.asyncio import AsyncSession",
    ),
    _rule(
        "AWT304",
        "unawaited-coroutine",
        "A call to an `async def` function whose result is never awaited.",
        "The body never runs; the caller gets a coroutine object (always truthy).",
        "user = service.get_user(uid)",
        "user = await service.get_user(uid)",
    ),
    _rule(
        "AWT305",
        "sync-with-on-async",
        "`with` (not `async with`) on an async session, factory or transaction.",
        "Async context managers do not implement `__enter__`: TypeError at run time.",
        "with SessionLocal() as db: ...",
        "async with SessionLocal() as db: ...",
    ),
    _rule(
        "AWT306",
        "blocking-db-in-async",
        "Sync database work inside an `async def`.",
        "A sync Session in an async endpoint blocks the event loop and serialises every request.",
        "async def list_users(db: Session):\n    return db.query(User).all()",
        "async def list_users(db: AsyncSession):\n    return (await db.scalars(select(User))).all()",
    ),
    _rule(
        "AWT307",
        "review-marker",
        "A review marker left by `awaitify migrate` is still in the code.",
        "Each marker is a place where a human decision is needed; remove it once handled.",
        "x = q[0]  # awaitify: review AWT209 ...",
        "x = (await db.scalars(stmt.limit(1))).one()",
    ),
]

RULES: dict[str, Rule] = {rule.code: rule for rule in _ALL}


def get_rule(code: str) -> Rule | None:
    return RULES.get(code.upper())
