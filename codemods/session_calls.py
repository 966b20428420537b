"""Calls on a session, a connection, a transaction or an engine that do I/O, made awaitable (or flagged).

`SessionCalls` turns `db.commit()`, `conn.execute(...)`, `engine.dispose()`, `inspect(conn).get_table_names()`,
a test client's request and a bulk method into their async forms, and flags what has none (a server-side cursor,
DB-API level code, a session shared between an object's methods, an engine handed to sync code).
"""

from __future__ import annotations

import ast

from codemods import astwalk, sqlmodel_api
from codemods import edits as E
from codemods import isinstance_checks as I
from codemods import pytest_support as T
from codemods import sqla_names as N
from codemods.analyzer_base import _Ctx
from codemods.edits import Edit
from codemods.engine_escapes import escape_reason as engine_escape_reason
from codemods.queries import UPDATE_SYNC_FOR_FALSE
from codemods.query_visits import QueryVisits
from codemods.raw_updates import is_raw_update, stale_reads
from codemods.types import (
    ConnectionType,
    EngineType,
    HttpClientType,
    Instance,
    LoadedEntities,
    SessionType,
    TransactionType,
)

# what AWT219 calls each database handle handed on (see `engine_escapes`)
_ESCAPE_KINDS: dict[type, str] = {EngineType: "engine", ConnectionType: "connection", SessionType: "session"}
# execution options that make a statement run on a server-side cursor, which AsyncSession.execute() refuses
_SERVER_SIDE_CURSOR_OPTIONS = frozenset({"yield_per", "stream_results"})
# where `update()` / `sqlalchemy.update` resolves to (the Core construct whose ORM execution synchronizes objects)
_UPDATE_CONSTRUCTS = frozenset({"sqlalchemy.update", "sqlalchemy.sql.update", "sqlalchemy.sql.expression.update"})


_RAW_CONNECTION_REVIEW = (
    "AsyncEngine.raw_connection() is a coroutine, and its DB-API cursor raises MissingGreenlet in async code: "
    "run DB-API code in await conn.run_sync(...)"
)
_DRIVER_PLACEHOLDERS_REVIEW = (
    "exec_driver_sql() placeholders are the driver's own: psycopg2's %s and %(name)s are $1, $2 under asyncpg "
    "(sqlite3 and aiosqlite share ? and :name)"
)


def _synchronize_session_false(statement: ast.expr) -> list[ast.Constant]:
    """The `False` of each `.execution_options(synchronize_session=False)` in a statement expression."""
    return [
        keyword.value
        for sub in astwalk.walk(statement)
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "execution_options"
        for keyword in sub.keywords
        if keyword.arg == "synchronize_session"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is False
    ]


def _passes_driver_parameters(node: ast.Call) -> bool:
    """`conn.exec_driver_sql(sql, parameters)`: the SQL holds placeholders in the driver's own style."""
    return len(node.args) > 1 or any(keyword.arg in {"parameters", None} for keyword in node.keywords)


def _is_string_expr(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.BinOp) and (_is_string_expr(node.left) or _is_string_expr(node.right))


class SessionCalls(QueryVisits):
    """Session, connection, transaction and engine calls (see the module's docstring)."""

    def _visit_session_call(self, node: ast.Call, method: str, session: SessionType, ctx: _Ctx) -> bool:
        assert isinstance(node.func, ast.Attribute)
        src = self.spans.segment(node.func.value)
        if method in N.AWAITABLE_SESSION_METHODS and not ctx.awaited and self._io_where_await_is_impossible(node, ctx):
            return True
        if method == "exec":
            if not session.is_async:
                self._review(node, "AWT221", sqlmodel_api.exec_review_reason(src))
            elif not ctx.awaited and ctx.context != "task_arg":  # only SQLModel's AsyncSession has it: a coroutine
                self._finding(node, "AWT302", f"`{src}.exec()` on an AsyncSession is not awaited")
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self._visit_expr(arg, _Ctx())
            if session.is_async:
                self._visit_expr(node.func.value, _Ctx())
            return True
        if method == "query":
            self._escape(node, "a Query used where awaitify cannot follow it")
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                self._visit_expr(arg, _Ctx())
            return True
        if method in N.BULK_METHODS and not session.is_async:
            self._visit_bulk(node, method, src)
            return True
        if method in {"get", "get_one"} and isinstance(self.type_of(node), LoadedEntities):
            self._session_gets[self.spans.span(node)] = node
        if method == "get_bind" and not session.is_async and not node.args and not node.keywords:
            self.facts.edits.append(Edit(E.REPLACE_EXPR, self.spans.span(node), text=f"{src}.bind"))
            self._visit_expr(node.func.value, _Ctx())
            return True
        if method in {"expire", "expire_all"}:
            self._review(node, "AWT202", f"{method}() makes the next attribute read lazy-load; use await refresh()")
        if method in {"execute", "scalars"} and not session.is_async and self._uses_server_side_cursor(node):
            self._review(
                node,
                "AWT209",
                f"AsyncSession.{method}() refuses a yield_per/stream_results statement (AsyncMethodRequired): "
                "stream it with `await session.stream()` / `stream_scalars()` and `async for`",
            )
        if (
            method in {"begin", "begin_nested"}
            and not ctx.awaited
            and ctx.context != "with_item"
            and not session.is_async
        ):
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
            self._seed(f"{src}.{method}()")
        if method in N.AWAITABLE_SESSION_METHODS and not ctx.awaited:
            if session.is_async and ctx.context not in {"task_arg"}:
                self._finding(node, "AWT302", f"`{src}.{method}()` on an AsyncSession is not awaited")
            elif not session.is_async and self.facts.is_async:
                self._finding(node, "AWT306", f"sync `{src}.{method}()` inside `async def` blocks the event loop")
            if ctx.context != "task_arg":
                self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
                self._seed(f"session I/O: {src}.{method}()")
                if (
                    method == "execute"
                    and node.args
                    and _is_string_expr(node.args[0])
                    and not session.is_async
                    and not self._review_shadowed_construct(node.args[0], ("text",))
                ):
                    self.facts.edits.append(Edit(E.TEXT_SQL, self.spans.span(node.args[0])))
                    self.facts.imports.add(("sqlalchemy", "text"))
        elif method in N.AWAITABLE_SESSION_METHODS and ctx.awaited and not session.is_async:
            self._finding(node, "AWT302", f"`{src}.{method}()` awaited on a sync Session")
        if method == "execute" and not session.is_async:
            self._fetch_for_unsynchronized_update(node)
            self._flag_raw_update_read_after_commit(node, src)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            self._visit_expr(arg, _Ctx())
        self._visit_expr(node.func.value, _Ctx())
        return True

    def _fetch_for_unsynchronized_update(self, call: ast.Call) -> None:
        """`db.execute(update(User)...execution_options(synchronize_session=False))`, then commit: the sync commit
        expired the objects loaded before and the next read saw the new values; with `expire_on_commit=False` (the
        migrated sessionmaker) they kept the old ones. "fetch" updates them, as for the legacy `Query.update()`
        (`UPDATE_SYNC_FOR_FALSE`, fixtures/queries/core_update_synchronize_false_*)."""
        for statement in self._statement_expressions(call):
            self._fetch_instead_of_false(statement)

    def _fetch_instead_of_false(self, statement: ast.expr) -> None:
        """`synchronize_session=False` of an ORM UPDATE statement becomes "fetch": one run here, or one a function
        returns or a module or class keeps (`RENAME = update(User)...`), run elsewhere on a session awaitify cannot
        always follow (a builder's result, a constant another module imports). A Connection ignores the option
        (measured: the same single UPDATE, sync and async, SQLite and PostgreSQL), so it is safe either way
        (fixtures/queries/core_update_synchronize_false_built_elsewhere)."""
        if self._is_update_chain(statement):
            for value in _synchronize_session_false(statement):
                edit = Edit(E.REPLACE_EXPR, self.spans.span(value), text=f'"{UPDATE_SYNC_FOR_FALSE}"')
                self.facts.edits.append(edit)

    def _flag_raw_update_read_after_commit(self, call: ast.Call, session_src: str) -> None:
        """AWT224 (see `raw_updates`): a literal SQL UPDATE, then a commit, then a read of an object loaded before."""
        if not call.args or not is_raw_update(
            call.args[0], lambda func: self.project.resolve_expr(self.module.name, func)
        ):
            return
        given = self._mapped_object_params()
        names = stale_reads(self._own_nodes(), call, session_src, self.spans.segment, self.type_of, given)
        if not names:
            return
        shown = ", ".join(f"`{name}`" for name in names)
        self._review(
            call,
            "AWT224",
            f"a raw SQL UPDATE does not update objects already loaded ({shown}): the sync commit expired them and "
            f"the reads after it saw the new values; with expire_on_commit=False they see the old ones: "
            f"`await {session_src}.refresh(obj)` after the commit",
        )

    def _mapped_object_params(self) -> list[str]:
        """Parameters annotated with a mapped class (`user: User`): objects the caller loaded."""
        if self.func is None:
            return []
        return [
            param.name
            for param in self.func.params
            if isinstance(kind := self.env.get(param.name), Instance) and self.project.is_mapped_class(kind.qualname)
        ]

    def _statement_expressions(self, call: ast.Call) -> list[ast.expr]:
        """The statement passed to `execute()`: the argument, or what this function assigns to the local it names."""
        if not call.args:
            return []
        statement = call.args[0]
        if not isinstance(statement, ast.Name):
            return [statement]
        assigned = [
            node.value
            for node in self._own_nodes()
            if isinstance(node, ast.Assign)
            and any(isinstance(target, ast.Name) and target.id == statement.id for target in node.targets)
        ]
        return assigned if len(assigned) == 1 else []  # a local rebound to other statements: left as it is

    def _is_update_chain(self, statement: ast.expr) -> bool:
        """`update(M).where(...).values(...)...`: a chain of method calls on sqlalchemy's `update()`."""
        node = statement
        while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            node = node.func.value
        if not isinstance(node, ast.Call) or node is statement:
            return False
        if isinstance(node.func, ast.Name) and self._shadowing_local((node.func.id,)) is not None:
            return False
        return self.project.resolve_expr(self.module.name, node.func) in _UPDATE_CONSTRUCTS

    def _uses_server_side_cursor(self, call: ast.Call) -> bool:
        """`db.scalars(stmt.execution_options(yield_per=100))`: the statement (or the local variable holding it)
        or the call's `execution_options={...}` asks for a server-side cursor."""
        statements = list(call.args[:1])
        if call.args and isinstance(call.args[0], ast.Name):
            name = call.args[0].id
            for node in self._own_nodes():
                if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                    statements.append(node.value)
        for statement in statements:
            for sub in astwalk.walk(statement):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr == "execution_options"
                    and any(k.arg in _SERVER_SIDE_CURSOR_OPTIONS for k in sub.keywords)
                ):
                    return True
        options = next((k.value for k in call.keywords if k.arg == "execution_options"), None)
        return isinstance(options, ast.Dict) and any(
            isinstance(key, ast.Constant) and key.value in _SERVER_SIDE_CURSOR_OPTIONS for key in options.keys
        )

    def _visit_test_client(self, node: ast.Call, ctx: _Ctx) -> None:
        """`TestClient(app)` -> `httpx.AsyncClient(...)` where exact (`async with` where entered), else AWT214."""
        entered = ctx.context == "with_item" and ctx.stmt_span is not None
        blocker = T.testclient_blocker(self.project, self.module.name, node, entered=entered)
        if blocker is not None:
            self._review(node, "AWT214", blocker)
            return
        indent = " " * ctx.stmt_span[1] if entered and ctx.stmt_span is not None else None
        text = T.async_client_source(node, self.spans.segment, indent)
        edit = Edit(E.REPLACE_EXPR, self.spans.span(node), text=text)
        if entered and ctx.stmt_span is not None:
            self._add_async_edit(edit)
            start = self.spans.span(node)[:2]
            self._add_async_edit(Edit(E.ASYNC_WITH, ctx.stmt_span, text=f"{start[0]}:{start[1]}"))
            self.facts.async_imports.add(("", "httpx"))
            self.facts.removable_names.add(self.spans.segment(node.func).split(".", 1)[0])
            self._seed("enters an httpx.AsyncClient with `async with`")
        else:
            self.facts.edits.append(edit)
            self.facts.imports.add(("", "httpx"))
            self.facts.replaced_names.add(self.spans.segment(node.func).split(".", 1)[0])

    def _visit_http_request(self, node: ast.Call, method: str, client: HttpClientType, ctx: _Ctx) -> None:
        """A request through a test client that is (or becomes) an httpx.AsyncClient is awaited."""
        if method not in T.REQUEST_METHODS or ctx.awaited or ctx.context in {"lambda", "genexp", "task_arg"}:
            return
        if client.is_async:
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))  # half-migrated: a forgotten await
        elif client.convertible:
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
            self._seed(f"request through the test client: {self.spans.segment(node.func)}()")

    def _visit_bulk(self, node: ast.Call, method: str, src: str) -> None:
        args = [self.spans.segment(a) for a in node.args]
        if (
            node.keywords
            or (method != "bulk_save_objects" and len(args) != 2)
            or (method == "bulk_save_objects" and len(args) != 1)
        ):
            self._review(node, "AWT209", f"{method}() with options has no exact 2.0 form here")
            return
        if method == "bulk_insert_mappings":
            text = f"{src}.execute(insert({args[0]}), {args[1]})"
            self.facts.async_imports.add(("sqlalchemy", "insert"))
        elif method == "bulk_update_mappings":
            text = f"{src}.execute(update({args[0]}), {args[1]})"
            self.facts.async_imports.add(("sqlalchemy", "update"))
        else:
            text = f"{src}.run_sync(lambda sync_session: sync_session.bulk_save_objects({args[0]}))"
        self._add_async_edit(Edit(E.REPLACE_EXPR, self.spans.span(node), text=f"await {text}"))
        self._seed(f"session I/O: {src}.{method}()")

    def _visit_connection_call(self, node: ast.Call, method: str, conn: ConnectionType, ctx: _Ctx) -> bool:
        assert isinstance(node.func, ast.Attribute)
        src = self.spans.segment(node.func.value)
        if method == "exec_driver_sql" and not conn.is_async and _passes_driver_parameters(node):
            self._review(node, "AWT217", _DRIVER_PLACEHOLDERS_REVIEW)
        if method in {"begin", "begin_nested"} and not conn.is_async and not ctx.awaited and ctx.context != "with_item":
            # `trans = conn.begin()`: an AsyncTransaction starts when awaited (or entered with `async with`)
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
            self._seed(f"connection I/O: {src}.{method}()")
            return False
        if method not in N.AWAITABLE_CONNECTION_METHODS or ctx.awaited or ctx.context == "task_arg":
            return False
        if self._io_where_await_is_impossible(node, ctx):
            return True
        if conn.is_async:
            self._finding(node, "AWT302", f"`{src}.{method}()` on an AsyncConnection is not awaited")
        self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
        self._seed(f"connection I/O: {src}.{method}()")
        if (
            method == "execute"
            and node.args
            and _is_string_expr(node.args[0])
            and not conn.is_async
            and not self._review_shadowed_construct(node.args[0], ("text",))
        ):
            self.facts.edits.append(Edit(E.TEXT_SQL, self.spans.span(node.args[0])))
            self.facts.imports.add(("sqlalchemy", "text"))
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            self._visit_expr(arg, _Ctx())
        self._visit_expr(node.func.value, _Ctx())
        return True

    def _visit_transaction_call(self, node: ast.Call, method: str, tx: TransactionType, ctx: _Ctx) -> bool:
        """`tx = db.begin_nested()` ... `tx.rollback()`: on the async side the transaction's commit, rollback
        and close are coroutines; unawaited, the savepoint is neither rolled back nor released."""
        assert isinstance(node.func, ast.Attribute)
        if method not in N.AWAITABLE_TRANSACTION_METHODS or ctx.awaited or ctx.context == "task_arg":
            return False
        if self._io_where_await_is_impossible(node, ctx):
            return True
        src = self.spans.segment(node.func.value)
        if tx.is_async:
            self._finding(node, "AWT302", f"`{src}.{method}()` on an async transaction is not awaited")
        self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
        self._seed(f"transaction I/O: {src}.{method}()")
        self._visit_expr(node.func.value, _Ctx())
        return True

    def _visit_inspect_call(self, node: ast.Call) -> bool:
        """`inspect(conn).get_table_names()` -> `await conn.run_sync(lambda sync_conn: inspect(sync_conn)...)`."""
        inner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if not (isinstance(inner, ast.Call) and len(inner.args) == 1 and not inner.keywords):
            return False
        if self.project.resolve_expr(self.module.name, inner.func) not in {
            "sqlalchemy.inspect",
            "sqlalchemy.inspection.inspect",
        }:
            return False
        target = self.type_of(inner.args[0])
        if not isinstance(target, ConnectionType) or target.is_async:
            return False
        conn_src = self.spans.segment(inner.args[0])
        inspect_src = self.spans.segment(inner.func)
        rest = self.spans.segment(node)[len(self.spans.segment(inner)) :]
        text = f"await {conn_src}.run_sync(lambda sync_conn: {inspect_src}(sync_conn){rest})"
        self._add_async_edit(Edit(E.REPLACE_EXPR, self.spans.span(node), text=text))
        self._seed(f"inspects {conn_src}")
        return True

    def _visit_engine_call(self, node: ast.Call, method: str, engine: EngineType, ctx: _Ctx) -> bool:
        if method == "raw_connection" and not engine.is_async:
            self._review(node, "AWT217", _RAW_CONNECTION_REVIEW)
            return False
        if method in N.AWAITABLE_ENGINE_METHODS and not ctx.awaited:
            assert isinstance(node.func, ast.Attribute)
            src = self.spans.segment(node.func.value)
            if engine.is_async:
                self._finding(node, "AWT302", f"`{src}.{method}()` on an AsyncEngine is not awaited")
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
            self._seed(f"engine I/O: {src}.{method}()")
            return True
        if method in {"connect", "begin"} and not engine.is_async and not ctx.awaited and ctx.context != "with_item":
            self._add_async_edit(Edit(E.AWAIT, self.spans.span(node)))
            self._seed(f"engine I/O: {self.spans.segment(node)}")
        return False

    def _check_shared_session(self, node: ast.Call) -> None:
        """`gather(a(db), b(db))`, `gather(*(self.m(x) for x in xs))` with a session on self: one session,
        many tasks."""
        uses: list[str] = []
        repeated = False
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            for sub in astwalk.walk(arg):
                if isinstance(sub, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
                    repeated = True
                if not isinstance(sub, ast.Call):
                    continue
                for value in [*sub.args, *(k.value for k in sub.keywords)]:
                    if isinstance(self.type_of(value), SessionType):
                        uses.append(self.spans.segment(value))
                if self._method_uses_own_session(sub):
                    uses.append("self")
        if len(uses) > 1 or (uses and repeated):
            self._review(node, "AWT203", "one session shared by concurrent tasks: give each task its own session")

    def _method_uses_own_session(self, call: ast.Call) -> bool:
        """`self.method(...)` on a class holding a session attribute."""
        if not (isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name)):
            return False
        if call.func.value.id != self.self_name or self.class_qualname is None:
            return False
        for cls_name in self.project.mro(self.class_qualname):
            cls = self.project.classes[cls_name]
            for attr in [*cls.attr_annotations, *cls.attr_values]:
                if isinstance(self._instance_attr_type(self.class_qualname, attr), SessionType):
                    return True
        return False

    def _check_isinstance_of_sync_class(self, node: ast.Call, resolved: str | None) -> None:
        """`isinstance(engine, Engine)`: the async class where `engine` is an engine or connection made async, a
        review marker (AWT226) where its type is unknown (see `isinstance_checks`)."""
        if resolved != I.ISINSTANCE or len(node.args) != 2 or self.project.stays_sync(self.module.name):
            return
        if self.func is not None and self.project.runs_synchronously(self.func.qualname):
            return  # `conn.run_sync(fn)` hands it the sync Connection: the sync class is right there
        classes = I.sync_classes(node.args[1], lambda expr: self.project.resolve_expr(self.module.name, expr))
        if not classes:
            return
        kind = self.type_of(node.args[0])
        if isinstance(kind, (EngineType, ConnectionType)) and not kind.is_async:
            for operand, async_class in classes:
                self.facts.edits.append(Edit(E.RENAME, self.spans.span(operand), text=async_class))
                self.facts.imports.add(("sqlalchemy.ext.asyncio", async_class))
                self.facts.replaced_names.add(self.spans.segment(operand).split(".", 1)[0])
        elif kind is None:
            self._review(node, "AWT226", I.review_reason([async_class for _, async_class in classes]))

    def _check_engine_escapes(self, node: ast.Call, resolved: str | None, callees: tuple[str, ...]) -> None:
        """A sync engine, connection or session, made async by the migration, handed to code that needs the sync
        one (AWT219, see `engine_escapes`)."""
        if self.project.stays_sync(self.module.name):
            return
        arguments = [(None, arg) for arg in node.args] + [(k.arg, k.value) for k in node.keywords]
        for keyword, arg in arguments:
            kind = self.type_of(arg)
            if not isinstance(kind, (EngineType, ConnectionType, SessionType)) or kind.is_async:
                continue
            reason = engine_escape_reason(
                kind=_ESCAPE_KINDS[type(kind)],
                callee=resolved,
                method=node.func.attr if isinstance(node.func, ast.Attribute) else None,
                keyword=keyword,
                callee_in_project=bool(callees)
                or (resolved is not None and self.project.owning_module(resolved) is not None)
                # a module of the project's own package that this run does not see (a file migrated alone)
                or (resolved is not None and resolved.partition(".")[0] == self.module.name.partition(".")[0]),
            )
            if reason is not None:
                self._review(node, "AWT219", reason)
                return
        self._check_run_sync_escapes(node, callees)

    def _check_run_sync_escapes(self, node: ast.Call, callees: tuple[str, ...]) -> None:
        """A session or connection made async handed to a function that stays sync because `run_sync()`
        calls it with the sync one (AWT219, see `run_sync_targets`): made async, it would break `run_sync()`; sync,
        it cannot use the async one."""
        kept = [callee for callee in callees if self.project.runs_synchronously(callee)]
        if not kept or (self.func is not None and self.project.runs_synchronously(self.func.qualname)):
            return
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            kind = self.type_of(arg)
            if isinstance(kind, (SessionType, ConnectionType)) and not kind.is_async:
                name, handle = kept[0].rsplit(".", 1)[-1], "Session" if isinstance(kind, SessionType) else "Connection"
                self._review(
                    node,
                    "AWT219",
                    f"{name}() stays sync (run_sync() calls it with a sync {handle}) and gets the Async{handle} here, "
                    f"which it cannot use: run it as `await {self.spans.segment(arg)}.run_sync({name}, ...)` in an "
                    "async def",
                )
                return
