"""The walk of one function's body: statements, expressions and calls, each dispatched to the layer that knows it.

`StatementWalk` visits the statements (`for`, `with`, dependency overrides, DDL, `if __name__ == "__main__"`),
the expressions and their contexts (awaited, a lambda, a loop's iterable, a task's argument), generator uses, and
every call: recorded as a `CallSite` for the coloring and handed to the session, query, engine, blocking-call and
offload layers below it, which walk a call's arguments back through it.
"""

from __future__ import annotations

import ast
import itertools

from codemods import astwalk
from codemods import blocking_calls as B
from codemods import edits as E
from codemods import pytest_support as T
from codemods import sqla_names as N
from codemods.analyzer_base import _Ctx, _walk_own
from codemods.astwalk import child_nodes
from codemods.edits import Edit
from codemods.function_facts import (
    _CALL_SITE_CONTEXTS,
    CALLBACK_OK,
    CONCURRENCY_FUNCTIONS,
    COROUTINE_CONSUMERS,
    FUNCTION_METADATA,
    HELD_DROPPED,
    HELD_RETURNED,
    INTROSPECTION_FUNCTIONS,
    NEXT_CLOSED_HELPER,
    TASK_FUNCTIONS,
    CallSite,
    GeneratorUse,
)
from codemods.method_chains import _chain_base_name, _chain_methods
from codemods.offload_records import OffloadRecords
from codemods.redis_pipelines import kept_local, watched_commands
from codemods.route_handoffs import followed_values
from codemods.thread_offloads import ASYNC_ITERABLE_CONSUMERS
from codemods.types import (
    BlockingClientType,
    ClassRef,
    ConnectionType,
    EngineType,
    FunctionChoice,
    FunctionRef,
    GeneratorRef,
    HttpClientType,
    QueryType,
    SessionType,
    SqlModelSessionType,
    TransactionType,
)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _returned_at_once(body: list[ast.stmt], nodes: list[ast.AST], value: ast.expr) -> bool:
    """`return <value>`, or `x = <value>` directly followed by `return x` (in the function's body or a block)."""
    if any(isinstance(node, ast.Return) and node.value is value for node in nodes):
        return True
    blocks = [body]
    for node in nodes:
        blocks.extend(
            block for name in ("body", "orelse", "finalbody") if isinstance(block := getattr(node, name, None), list)
        )
    for block in blocks:
        for stmt, following in itertools.pairwise(block):
            if (
                isinstance(stmt, ast.Assign)
                and stmt.value is value
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(following, ast.Return)
                and isinstance(following.value, ast.Name)
                and following.value.id == stmt.targets[0].id
            ):
                return True
    return False


_NORMAL = _Ctx()  # the plain context: not awaited, no statement span (a context is never changed once made)


class StatementWalk(OffloadRecords):
    """The walk of a body (see the module's docstring)."""

    def _visit_stmt(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for dec in stmt.decorator_list:
                self._visit_expr(dec, _Ctx())
            if isinstance(stmt, ast.ClassDef):
                for base in stmt.bases:
                    self._visit_expr(base, _Ctx())
            return  # analysed on their own
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self._visit_for(stmt)
            return
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            self._visit_with(stmt)
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and self._visit_ddl(stmt):
            return
        if self._visit_dependency_override(stmt):
            return
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self._discarded_calls.add(id(stmt.value))
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.YieldFrom):
            source = stmt.value.value
            if isinstance(source, (ast.GeneratorExp, ast.ListComp)) and source.generators:
                source = source.generators[0].iter
            callees = self._resolve_callees(source) if isinstance(source, ast.Call) else ()
            self.facts.yield_froms.append((self.spans.span(stmt), callees))
        run_elsewhere = stmt.value if isinstance(stmt, ast.Return) else None  # a value returned, or kept by the module
        if self.func is None and isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            run_elsewhere = stmt.value
        if run_elsewhere is not None:
            self._fetch_instead_of_false(run_elsewhere)
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            returned = self.type_of(stmt.value)
            if isinstance(returned, QueryType) and not self._is_terminal_call(stmt.value):
                self.facts.returns_query = returned
                self._query_builder(stmt.value)
                self._visit_query_args(stmt.value)
                return
            self._load_what_the_response_reads(stmt, returned)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None and self.facts.is_async:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id in self._deferred for t in targets):
                self._visit_expr(stmt.value, _Ctx(context="task_arg"))  # a coroutine kept to be awaited later
                return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            value_type = self.type_of(stmt.value)
            if isinstance(value_type, QueryType) and not self._is_terminal_call(stmt.value):
                if all(isinstance(t, ast.Name) and t.id not in self._query_vars_escaped for t in targets):
                    names = [t.id for t in targets if isinstance(t, ast.Name)]
                    before = len(self.facts.edits)
                    self._query_builder(stmt.value, base=self._bulk_vars.get(names[0], "select"))
                    for name in names:
                        self._var_edits.setdefault(name, []).extend(self.facts.edits[before:])
                        origin = _chain_base_name(stmt.value)
                        if origin is not None and origin != name and origin in self._poisoned_vars:
                            self._poison(name, f"built from {origin!r}")
                    self._visit_query_args(stmt.value)
                    return
                self._escape(stmt.value, "a Query stored where awaitify cannot follow it")
                return
        if (
            isinstance(stmt, ast.Assign)
            and isinstance(stmt.value, (ast.Name, ast.Attribute))
            and isinstance(self.type_of(stmt.value), FunctionRef)
        ):
            # `create_tables = init_db`: an alias, resolved like the function itself;
            # `app.dependency_overrides[get_db] = override`: FastAPI awaits async overrides itself
            return
        if (
            isinstance(stmt, ast.Assign)
            and all(isinstance(target, ast.Name) for target in stmt.targets)
            and isinstance(stmt.value, ast.Call)
            and isinstance(self.type_of(stmt.value), FunctionRef)
        ):
            # `handle = make_lister()`, a factory returning a function it defines: the local is resolved like it
            # (its calls awaited once it is async, a use handing it on flagged there)
            self._followed_values.add(id(stmt.value))
            self._visit_expr(stmt.value, _Ctx())
            return
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Call)
            and isinstance(self.type_of(stmt.value), GeneratorRef)
        ):
            self._visit_call(stmt.value, _Ctx(context="assigned"))
            return
        if isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
            for inner in stmt.body:
                self._visit_main_stmt(inner)
            for inner in stmt.orelse:
                self._visit_stmt(inner)
            return
        self._visit_children(stmt)

    def _visit_children(self, node: ast.AST) -> None:
        for child in child_nodes(node):
            if isinstance(child, ast.stmt):
                self._visit_stmt(child)
            elif isinstance(child, ast.expr):
                self._visit_expr(child, _NORMAL)
            else:  # except handlers, match cases, keywords
                self._visit_children(child)

    def _visit_main_stmt(self, stmt: ast.stmt) -> None:
        """`if __name__ == "__main__": main()` — an entry point that became async is run by asyncio."""
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            callees = self._resolve_callees(stmt.value)
            if callees:
                self.facts.calls.append(
                    CallSite(
                        self.spans.span(stmt.value),
                        stmt.lineno,
                        callees,
                        False,
                        "main_entry",
                        source=self.spans.segment(stmt.value),
                    )
                )
                for arg in [*stmt.value.args, *(k.value for k in stmt.value.keywords)]:
                    self._visit_expr(arg, _Ctx())
                return
        self._visit_stmt(stmt)

    def _visit_for(self, stmt: ast.For | ast.AsyncFor) -> None:
        iter_type = self.type_of(stmt.iter)
        stmt_span = self.spans.span(stmt)
        if isinstance(stmt, ast.For) and isinstance(iter_type, QueryType):
            chain = _chain_methods(stmt.iter)
            streaming = "yield_per" in chain
            spec = self._spec(iter_type, "stream" if streaming else "iter", stmt.iter)
            if spec is not None:
                self._add_async_edit(Edit(E.QUERY, self.spans.span(stmt.iter), spec), stmt.iter)
                if streaming:
                    self._add_async_edit(Edit(E.ASYNC_FOR, stmt_span))
                    self._review_if_break(stmt)
                self._seed(f"iterates a query on {iter_type.session_src}")
                self._visit_query_args(stmt.iter)
        elif isinstance(stmt, ast.AsyncFor):
            self._visit_expr(stmt.iter, _Ctx(awaited=True))
        elif isinstance(stmt.iter, ast.Call):
            self._visit_expr(stmt.iter, _Ctx(context="for_iter", stmt_span=stmt_span))
        else:
            self._visit_expr(stmt.iter, _Ctx())
        self._visit_expr(stmt.target, _Ctx())
        for inner in [*stmt.body, *stmt.orelse]:
            self._visit_stmt(inner)

    def _review_if_break(self, stmt: ast.For | ast.AsyncFor) -> None:
        for node in _walk_own(stmt.body):
            if isinstance(node, ast.Break):
                self._review(node, "AWT209", "early `break` out of a streamed result: close it explicitly")

    def _visit_with(self, stmt: ast.With | ast.AsyncWith) -> None:
        stmt_span = self.spans.span(stmt)
        for item in stmt.items:
            ctx_type = self.type_of(item.context_expr)
            expr = item.context_expr
            begins = (
                isinstance(expr, ast.Call)
                and isinstance(expr.func, ast.Attribute)
                and expr.func.attr in {"begin", "begin_nested", "connect"}
                and isinstance(self._owner_type(expr.func), (SessionType, EngineType, ConnectionType))
                and not (expr.func.attr == "connect" and isinstance(self._owner_type(expr.func), SessionType))
            )
            owner = (
                self._owner_type(expr.func)
                if begins and isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute)
                else None
            )
            if isinstance(stmt, ast.With) and (isinstance(ctx_type, SessionType) or begins):
                is_async = getattr(ctx_type, "is_async", False) or getattr(owner, "is_async", False)
                if is_async:
                    self._finding(stmt, "AWT305", "`with` on an async session or transaction: use `async with`")
                item_start = self.spans.span(expr)[:2]
                self._add_async_edit(Edit(E.ASYNC_WITH, stmt_span, text=f"{item_start[0]}:{item_start[1]}"))
                self._seed("enters a session with `async with`")
                expr = self._without_closing(expr)
                if isinstance(expr, ast.Call):
                    for arg in [*expr.args, *(k.value for k in expr.keywords)]:
                        self._visit_expr(arg, _Ctx())
                    if not begins:
                        self._visit_sqla_constructor(expr, self.project.resolve_expr(self.module.name, expr.func))
                        # what it is called on (`request.app.state` of `request.app.state.SessionLocal()`), not the
                        # called attribute itself: `self.session_maker()` calls the factory it holds, it does not hand
                        # it on as a callback (as in `_visit_call`)
                        if isinstance(expr.func, ast.Attribute):
                            self._visit_expr(expr.func.value, _Ctx())
                        elif not isinstance(expr.func, ast.Name):
                            self._visit_expr(expr.func, _Ctx())
            elif isinstance(expr, ast.Call) and isinstance(stmt, ast.AsyncWith):
                self._visit_expr(expr, _Ctx(awaited=True))
            elif isinstance(expr, ast.Call):
                self._visit_expr(expr, _Ctx(context="with_item", stmt_span=stmt_span))
            else:
                self._visit_expr(expr, _Ctx())
        for inner in stmt.body:
            self._visit_stmt(inner)

    def _without_closing(self, expr: ast.expr) -> ast.expr:
        """`with closing(SessionLocal()) as db:` -> `async with SessionLocal() as db:` (an `AsyncSession` closes
        itself when its block ends; `closing()` would call its `close()` without awaiting it): the session inside."""
        if not (isinstance(expr, ast.Call) and len(expr.args) == 1 and not expr.keywords):
            return expr
        if self.project.resolve_expr(self.module.name, expr.func) not in N.CLOSING:
            return expr
        inner = expr.args[0]
        self._add_async_edit(Edit(E.REPLACE_EXPR, self.spans.span(expr), text=self.spans.segment(inner)))
        self.facts.removable_names.add(self.spans.segment(expr.func).split(".", 1)[0])
        return inner

    def _visit_dependency_override(self, stmt: ast.stmt) -> bool:
        """`app.dependency_overrides[get_db] = override_get_db`: the override is colored like get_db."""
        pair = T.dependency_override(stmt)
        if pair is None:
            return False
        dependency, override = (self.type_of(node) for node in pair)
        if not isinstance(dependency, FunctionRef):
            return False
        if isinstance(override, FunctionRef):
            self.facts.dependency_overrides.append((dependency.qualname, override.qualname))
        else:
            self.facts.opaque_overrides.append((self.spans.span(pair[1]), dependency.qualname))
            self._visit_expr(pair[1], _Ctx())
        assert isinstance(stmt, ast.Assign)
        target = stmt.targets[0]
        self._visit_expr(target.value if isinstance(target, ast.Subscript) else target, _Ctx())
        return True

    def _visit_ddl(self, stmt: ast.Expr) -> bool:
        """`Base.metadata.create_all(bind=engine)` with a sync engine -> run_sync on an async connection."""
        call = stmt.value
        assert isinstance(call, ast.Call)
        if not (isinstance(call.func, ast.Attribute) and call.func.attr in {"create_all", "drop_all"}):
            return False
        bind = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "bind"), None)
        bind_type = self.type_of(bind) if bind is not None else None
        if isinstance(bind_type, ConnectionType) and not bind_type.is_async and bind is not None:
            extra = [self.spans.segment(k) for k in call.keywords if k.arg != "bind"]
            arguments = ", ".join([self.spans.segment(call.func), *extra])
            self._add_async_edit(
                Edit(
                    E.REPLACE_STMT,
                    self.spans.span(stmt),
                    text=f"await {self.spans.segment(bind)}.run_sync({arguments})\n",
                )
            )
            self._seed("runs DDL on a connection")
            return True
        if bind is None or not isinstance(bind_type, EngineType):
            return False
        engine_type = self.type_of(bind)
        assert isinstance(engine_type, EngineType)
        if engine_type.is_async:
            return False
        metadata_src = self.spans.segment(call.func)
        engine_src = self.spans.segment(bind)
        extra = [self.spans.segment(k) for k in call.keywords if k.arg != "bind"]
        arguments = ", ".join([metadata_src, *extra])
        text = f"async with {engine_src}.begin() as conn:\n    await conn.run_sync({arguments})\n"
        self._add_async_edit(Edit(E.REPLACE_STMT, self.spans.span(stmt), text=text))
        self._seed(f"runs DDL on {engine_src}")
        return True

    def _visit_expr(self, node: ast.expr, ctx: _Ctx) -> None:
        if (
            ctx.context == "query_arg"
            and isinstance(node, (ast.Call, ast.Name, ast.Attribute))
            and self._is_query_expression(node)
            and id(node) not in self._consumed_queries
        ):
            if not isinstance(node, ast.Name):
                self._query_builder(node)
            self._visit_query_args(node)
            return
        if isinstance(node, ast.Await):
            self._visit_expr(node.value, _Ctx(awaited=True, context=ctx.context))
            return
        if isinstance(node, ast.Lambda):
            self._visit_expr(node.body, _Ctx(context="lambda"))
            return
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            self._visit_comprehension(node, ctx)
            return
        if isinstance(node, ast.GeneratorExp):
            inner = "task_arg" if ctx.context == "task_arg" else "genexp"
            for child in child_nodes(node):
                if isinstance(child, ast.expr):
                    self._visit_expr(child, _Ctx(context=inner))
                elif isinstance(child, ast.comprehension):
                    for sub in child_nodes(child):
                        if isinstance(sub, ast.expr):
                            self._visit_expr(sub, _Ctx(context="genexp" if sub is not child.iter else "normal"))
            return
        if isinstance(node, ast.Starred) and ctx.context == "task_arg":
            self._visit_expr(node.value, ctx)
            return
        if isinstance(node, ast.Call):
            self._visit_call(node, ctx)
            return
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            query = self.type_of(node.value)
            if isinstance(query, QueryType):
                spec = self._spec(query, "slice", node)
                if spec is not None:
                    self._add_async_edit(Edit(E.QUERY, self.spans.span(node), spec), node)
                    self._seed(f"slices a query on {query.session_src}")
                    self._visit_query_args(node.value)
                    for part in (node.slice.lower, node.slice.upper):
                        if part is not None:
                            self._visit_expr(part, _Ctx())
                return
        if isinstance(node, ast.Subscript) and isinstance(self.type_of(node.value), QueryType):
            self._review(node, "AWT209", "`query[i]` raises IndexError on no row; rewrite by hand")
            self._mark_consumed(node.value)
            return
        if isinstance(node, ast.Name):
            self._visit_name(node, ctx)
            return
        if isinstance(node, ast.Attribute) and node.attr in FUNCTION_METADATA and self._is_function(node.value):
            return  # `names.__annotations__`: the declaration read, no callback (see FUNCTION_METADATA)
        if isinstance(node, ast.Attribute):
            self._visit_attribute_ref(node, ctx)
        # a context is only read, never changed: one serves every child
        child_ctx = _Ctx(context=ctx.context) if ctx.context in {"lambda", "genexp", "query_arg"} else _NORMAL
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._visit_expr(child, child_ctx)
            elif isinstance(child, ast.comprehension):
                for sub in child_nodes(child):
                    if isinstance(sub, ast.expr):
                        self._visit_expr(sub, _Ctx(context=ctx.context))

    def _visit_comprehension(
        self, node: ast.GeneratorExp | ast.ListComp | ast.SetComp | ast.DictComp, ctx: _Ctx
    ) -> None:
        """The first `for ... in <iter>` runs in the enclosing function (an await there is fine);
        everything else runs in the comprehension's own scope (a generator expression cannot await)."""
        is_genexp = isinstance(node, ast.GeneratorExp)
        inner_context = "task_arg" if ctx.context == "task_arg" else ("genexp" if is_genexp else "normal")
        if ctx.context in {"lambda", "genexp"}:
            inner_context = ctx.context
        for index, generator in enumerate(node.generators):
            iter_context = ctx.context if index == 0 else inner_context
            iter_type = self.type_of(generator.iter)
            if isinstance(iter_type, QueryType) and iter_context not in {"lambda", "genexp"}:
                spec = self._spec(iter_type, "iter", generator.iter)
                if spec is not None:
                    self._add_async_edit(Edit(E.QUERY, self.spans.span(generator.iter), spec), generator.iter)
                    self._seed(f"iterates a query on {iter_type.session_src}")
                    self._visit_query_args(generator.iter)
            elif generator.is_async:
                self._visit_expr(generator.iter, _Ctx(awaited=True))  # `async for` consumes it already
            elif isinstance(generator.iter, ast.Call):
                self._visit_expr(
                    generator.iter,
                    _Ctx(
                        context="comp_iter" if iter_context == "normal" else iter_context,
                        stmt_span=self.spans.span(generator.iter),
                    ),
                )
            else:
                self._visit_expr(generator.iter, _Ctx(context=iter_context))
            for condition in generator.ifs:
                self._visit_expr(condition, _Ctx(context=inner_context))
        elements = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for element in elements:
            self._visit_expr(element, _Ctx(context=inner_context))

    def _visit_generator_use(self, node: ast.Call, resolved: str | None, ctx: _Ctx) -> bool:
        """`next(gen)`, `gen.close()`, `gen.send(x)` on a generator whose function may become async."""
        if self._visit_inline_draw(node, resolved, ctx):
            return True
        if resolved in {"builtins.next"} and len(node.args) == 1 and isinstance(node.args[0], ast.Name):
            generator = self.type_of(node.args[0])
            if isinstance(generator, GeneratorRef):
                name = node.args[0].id
                lifetime = self._held_draw_lifetime(node, name)
                drawn = f"{NEXT_CLOSED_HELPER}({name})" if lifetime == HELD_RETURNED else f"anext({name})"
                self.facts.generator_uses.append(
                    GeneratorUse(
                        generator.qualname, self.spans.span(node), f"await {drawn}", ctx.awaited, lifetime=lifetime
                    )
                )
                return True
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            generator = self.type_of(node.func.value)
            method = {"close": "aclose", "send": "asend", "throw": "athrow"}.get(node.func.attr)
            if isinstance(generator, GeneratorRef) and method:
                args = ", ".join(self.spans.segment(a) for a in node.args)
                self.facts.generator_uses.append(
                    GeneratorUse(
                        generator.qualname,
                        self.spans.span(node),
                        f"await {node.func.value.id}.{method}({args})",
                        ctx.awaited,
                    )
                )
                return True
        return False

    def _held_draw_lifetime(self, draw: ast.Call, name: str) -> str:
        """`gen = get_db(); db = next(gen)`: how long the generator lives. Closed in this function (`gen.close()`,
        which becomes `await gen.aclose()`): "" (`await anext(gen)` is exact). Otherwise CPython closed the sync
        generator when the function returned (its last reference dropped), and the event loop closes the dropped
        async generator later, in a task of its next turn: while the session it handed out may be in use again
        (`IllegalStateChangeError` in that task, the session never closed). Drawn and returned at once
        (`return next(gen)`, or `db = next(gen)` then `return db`), nothing ran between the draw and the sync
        close: HELD_RETURNED, drawn with the close-at-once helper. Anything else: HELD_DROPPED, flagged (AWT223)."""
        loads = 0
        for node in self._own_nodes():
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
                loads += 1
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"close", "aclose"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
            ):
                return ""
        if loads == 1 and _returned_at_once(self.body, self._own_nodes(), draw):
            return HELD_RETURNED
        return HELD_DROPPED

    def _visit_inline_draw(self, node: ast.Call, resolved: str | None, ctx: _Ctx) -> bool:
        """`next(get_db())`: a generator made, drawn from once and dropped. CPython closed the sync generator at
        once (its `finally` ran before the value was used); an async generator dropped so is closed later, by a
        task of the event loop, while the value is in use (`db.close()` in the middle of a flush: "This
        transaction is closed"). So the rewrite draws and closes it at once: `await _awaitify_next_closed(...)`.
        The call making the generator is recorded as assigned: it makes this function async, and the plan
        leaves it to this use."""
        if resolved != "builtins.next" or len(node.args) != 1 or node.keywords or ctx.context in {"lambda", "genexp"}:
            return False
        made = node.args[0]
        if not isinstance(made, ast.Call) or not isinstance(self.type_of(made), GeneratorRef):
            return False
        if not all(
            isinstance(arg, (ast.Name, ast.Constant)) for arg in [*made.args, *(k.value for k in made.keywords)]
        ):
            return False  # an argument the rewrite may change itself
        generator = self.type_of(made)
        assert isinstance(generator, GeneratorRef)
        text = f"await {NEXT_CLOSED_HELPER}({self.spans.segment(made)})"
        span = self.spans.span(node)
        self.facts.generator_uses.append(
            GeneratorUse(generator.qualname, span, text, ctx.awaited, self.spans.span(made), self.spans.segment(node))
        )
        self._visit_call(made, _Ctx(context="assigned"))
        return True

    def _visit_wrapped_contextmanager(self, node: ast.Call) -> bool:
        """`db_context = contextmanager(get_db)`: the generator is not handed on as a callback (no AWT213); should it
        become async, `contextmanager` becomes `asynccontextmanager`, as for the decorator, and the calls of
        `db_context()` enter it with `async with` (they are typed by what it yields)."""
        wrapped = self.project.wrapped_contextmanager(self.module.name, node)
        if wrapped is None:
            return False
        func = node.func
        prefix = f"{self.spans.segment(func.value)}." if isinstance(func, ast.Attribute) else ""
        record = (self.spans.span(func), f"{prefix}asynccontextmanager", wrapped.qualname)
        self.facts.wrapped_contextmanagers.append(record)
        return True

    def _is_function(self, node: ast.expr) -> bool:
        """A project function, or a parameter holding one: what `_visit_name` records as handed on."""
        return isinstance(self.type_of(node), (FunctionRef, FunctionChoice))

    def _visit_name(self, node: ast.Name, ctx: _Ctx) -> None:
        kind = self.type_of(node)
        if isinstance(kind, QueryType) and id(node) not in self._consumed_queries:
            self._escape(node, "a Query passed where awaitify cannot follow it")
        elif isinstance(kind, FunctionRef):
            self.facts.callback_refs.append((self.spans.span(node), node.lineno, kind.qualname))
        elif isinstance(kind, FunctionChoice):  # a parameter holding a function, handed on
            for qualname in kind.qualnames:
                self.facts.callback_refs.append((self.spans.span(node), node.lineno, qualname))

    def _visit_call(self, node: ast.Call, ctx: _Ctx) -> None:
        if self._visit_wrapped_contextmanager(node):
            return
        func = node.func
        owner_type = self._owner_type(func) if isinstance(func, ast.Attribute) else None
        resolved = self.project.resolve_expr(self.module.name, func)
        self._followed_values.update(
            map(id, followed_values(self.project, self.module.name, self.type_of, node, resolved))
        )
        if id(node) in self._followed_values and isinstance(self.type_of(node), FunctionRef):
            self.facts.followed_calls.append(self.spans.span(node))
        handled = False
        if isinstance(func, ast.Attribute) and isinstance(owner_type, QueryType):
            handled = self._visit_query_terminal(node, func.attr, owner_type, ctx)
        elif isinstance(func, ast.Attribute) and isinstance(owner_type, SessionType):
            handled = self._visit_session_call(node, func.attr, owner_type, ctx)
        elif isinstance(func, ast.Attribute) and isinstance(owner_type, EngineType):
            handled = self._visit_engine_call(node, func.attr, owner_type, ctx)
        elif isinstance(func, ast.Attribute) and isinstance(owner_type, ConnectionType):
            handled = self._visit_connection_call(node, func.attr, owner_type, ctx)
        elif isinstance(func, ast.Attribute) and isinstance(owner_type, TransactionType):
            handled = self._visit_transaction_call(node, func.attr, owner_type, ctx)
        elif isinstance(func, ast.Attribute) and isinstance(owner_type, HttpClientType):
            self._visit_http_request(node, func.attr, owner_type, ctx)
        elif isinstance(owner_type, SqlModelSessionType) and self.facts.is_async:
            assert isinstance(func, ast.Attribute)
            self._flag_blocking_sqlmodel_call(node, func.attr)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and not ctx.awaited:
            handled = self._visit_inspect_call(node)
        if resolved in CONCURRENCY_FUNCTIONS:
            self._check_shared_session(node)
        self._visit_model_validation(node)
        self._visit_template_context(node)
        if self.func is not None and not self.facts.is_async and B.is_blocking(resolved):
            assert resolved is not None
            self._record_blocking_call(node, resolved, ctx, movable=not B.blocks_later(resolved))
        elif self.func is not None and not self.facts.is_async and isinstance(owner_type, BlockingClientType):
            assert isinstance(func, ast.Attribute)
            io = B.client_method_io(owner_type.client, func.attr)
            if B.is_pipeline_call(owner_type.client, func.attr) and kept_local(self.func.node, node):
                io = None  # typed instead: its `execute()` is what blocks (see `redis_pipelines`)
            elif io is None and B.is_pipeline(owner_type.client) and id(node) in watched_commands(self.func.node):
                io = "call"  # a watched pipeline answers at once (see `redis_pipelines.watched_commands`)
            if io is not None:
                self._record_blocking_call(node, f"{owner_type.client}.{func.attr}", ctx, movable=io == "call")
        if resolved == "asyncio.run" and self.func is not None and not self.facts.is_async:
            # only where this migration makes the function async: then it runs inside the event loop
            self.facts.async_edits.append(
                Edit(E.REVIEW, self.spans.span(node), text="AWT210 asyncio.run() cannot run inside the event loop")
            )
        if not handled:
            handled = self._visit_generator_use(node, resolved, ctx)
        if handled:
            return
        if resolved in T.TEST_CLIENTS:
            self._visit_test_client(node, ctx)
        self._visit_sqla_constructor(node, resolved)
        callees = self._resolve_callees(node)
        self._check_engine_escapes(node, resolved, callees)
        self._check_isinstance_of_sync_class(node, resolved)
        handed: set[int] = set()  # functions handed to a parameter whose default is one: no callbacks
        if len(callees) == 1 and callees[0] in self.project.functions:
            handed = self._record_query_arguments(self.project.functions[callees[0]], node)
        self._record_task_arguments(node)
        constructed = self.type_of(func)
        if isinstance(constructed, ClassRef) and constructed.qualname in self.project.classes:
            init = self.project.lookup_method(constructed.qualname, "__init__")
            if init is not None:
                handed |= self._record_query_arguments(init, node, skip_self=True)
                self._record_construction(node, init.qualname, ctx)
        if ctx.awaited:
            self._record_offload(node, resolved)
        if callees:
            context = ctx.context if ctx.context in _CALL_SITE_CONTEXTS else "normal"
            if resolved in TASK_FUNCTIONS:
                context = "task_arg"
            if isinstance(constructed, FunctionChoice) and not constructed.complete and context == "normal":
                context = "uncertain"  # a parameter some caller hands something awaitify cannot follow
            self.facts.calls.append(
                CallSite(
                    self.spans.span(node),
                    node.lineno,
                    callees,
                    ctx.awaited,
                    context,
                    ctx.stmt_span,
                    thread_text=self._thread_text(node, ctx),
                )
            )
        takes_coroutine = resolved in TASK_FUNCTIONS or (
            isinstance(func, ast.Attribute) and func.attr in COROUTINE_CONSUMERS
        )
        arg_ctx_name = (
            "task_arg"
            if takes_coroutine
            else "async_iterable_arg"
            if resolved in ASYNC_ITERABLE_CONSUMERS
            else (ctx.context if ctx.context in {"lambda", "genexp", "query_arg"} else "normal")
        )
        if resolved in N.SCOPED_SESSION:
            self._frozen_calls |= {id(sub) for arg in node.args for sub in astwalk.walk(arg)}
        callback_ok = (
            (resolved or "").rsplit(".", 1)[-1] in CALLBACK_OK
            or (isinstance(func, ast.Attribute) and func.attr in CALLBACK_OK)
            or resolved in INTROSPECTION_FUNCTIONS
        )
        if isinstance(func, ast.Attribute) and not isinstance(owner_type, QueryType):
            self._visit_expr(func.value, _Ctx(context=ctx.context))
        elif not isinstance(func, (ast.Name, ast.Attribute)):
            self._visit_expr(func, _Ctx(context=ctx.context))
        arg_ctx = _NORMAL if arg_ctx_name == "normal" else _Ctx(context=arg_ctx_name)
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if (callback_ok and isinstance(arg, (ast.Name, ast.Attribute))) or id(arg) in handed:
                continue
            self._visit_expr(arg, arg_ctx)

    def _flag_blocking_sqlmodel_call(self, node: ast.Call, method: str) -> None:
        """`session.exec(...)` / `session.commit()` of SQLModel's sync Session in an `async def`: awaitify leaves
        SQLModel as it is (AWT221), and the call blocks the event loop (AWT306, as for SQLAlchemy's)."""
        if method in N.AWAITABLE_SESSION_METHODS or method == "exec":
            assert isinstance(node.func, ast.Attribute)
            src = self.spans.segment(node.func.value)
            message = f"sync `{src}.{method}()` of SQLModel's Session inside `async def` blocks the event loop"
            self._finding(node, "AWT306", message)
