"""Pass 2a: what each function does with sessions, queries and other functions.

The analysis walks one function body (or a module's top level) on the stdlib `ast`, with the whole
project's symbols at hand, and records facts: session I/O sites and the edits they need, query chains,
resolved call sites (for coloring), review items and `check` findings. Nothing is rewritten here.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Callable

from codemods import astwalk
from codemods import blocking_calls as B
from codemods import edits as E
from codemods import pytest_support as T
from codemods import sqla_names as N
from codemods.analyzer_base import _Ctx, _walk_own
from codemods.argument_hints import (
    _ARGUMENT_HINTS,
    _DEPENDENCIES,
    _PARAM_HINTED,
    _PARAM_HINTS,
    PASSED_KINDS,
    QUERY_PARAM_PREFIX,
    ArgumentHint,
    _current_hint,
    _function_default,
    _has_param_hints,
)
from codemods.astwalk import child_nodes, dotted_name, own_nodes_of
from codemods.edits import Edit
from codemods.engine_constructors import EngineConstructors
from codemods.function_facts import (
    _CALL_SITE_CONTEXTS,
    CALLBACK_OK,
    CONCURRENCY_FUNCTIONS,
    COROUTINE_CONSUMERS,
    HELD_DROPPED,
    HELD_RETURNED,
    NEXT_CLOSED_HELPER,
    TASK_FUNCTIONS,
    CallSite,
    FunctionFacts,
    GeneratorUse,
    _finished,
)
from codemods.local_bindings import _BINDING_NODES, _unpacked
from codemods.method_chains import _chain_base_name, _chain_methods
from codemods.project import DATABASE_HANDLES, Project
from codemods.spans import SpanMaker
from codemods.symbols import FunctionSymbols, ModuleSymbols
from codemods.thread_offloads import ASYNC_ITERABLE_CONSUMERS, LOOP_GETTERS, loop_assignment, offload_of
from codemods.types import (
    DB_HANDLES,
    BlockingClientType,
    ClassRef,
    ConnectionType,
    EngineType,
    FunctionChoice,
    FunctionRef,
    GeneratorRef,
    HttpClientType,
    Instance,
    InstanceChoice,
    InstanceList,
    LoadedEntities,
    ModuleRef,
    QueryType,
    SessionType,
    TransactionType,
    Type,
)


class FunctionAnalyzer(EngineConstructors):
    """The analysis of one function or module body: every layer, and the steps that analyse other functions."""

    def _query_returned_by(self, target: FunctionSymbols, call: ast.Call) -> Type | None:
        """A helper returning a Query built on its own session parameter or `self.<attr>`."""
        facts = analyze_function_cached(self.project, target)
        if facts is None or facts.returns_query is None:
            return None
        returned = facts.returns_query
        src = returned.session_src
        if src.startswith(QUERY_PARAM_PREFIX):
            wanted = src[len(QUERY_PARAM_PREFIX) : -1]
            for param_name, arg in _bind_arguments(target, call):
                passed = self.type_of(arg) if param_name == wanted else None
                if isinstance(passed, QueryType):
                    kinds = passed.entity_kinds if returned.entity_kinds == PASSED_KINDS else returned.entity_kinds
                    return QueryType(passed.session_src, kinds, returned.dedupe or passed.dedupe)
            return None
        if isinstance(call.func, ast.Attribute) and src.startswith("self."):
            receiver = self.spans.segment(call.func.value)
            return QueryType(f"{receiver}{src[4:]}", returned.entity_kinds, returned.dedupe)
        params = [p.name for p in target.params]
        if src in params:
            index = params.index(src)
            if target.class_qualname and isinstance(call.func, ast.Attribute):
                index -= 1
            for keyword in call.keywords:
                if keyword.arg == src:
                    return QueryType(self.spans.segment(keyword.value), returned.entity_kinds, returned.dedupe)
            if 0 <= index < len(call.args):
                return QueryType(self.spans.segment(call.args[index]), returned.entity_kinds, returned.dedupe)
        return None

    # == the walk ===================================================================================
    def analyze(self) -> FunctionFacts:
        self._bind_params()
        self._sync_wrappers()
        self._bind_enclosing_scope()
        self._async_return_annotation()
        self._async_sessionmaker_signature()
        self._flag_contradicted_return()
        self._infer_locals()
        self._deferred = self._deferred_names() if self.facts.is_async else set()
        self._type_memo = {}
        if self.facts.qualname in self.project.enclosing_functions:  # kept for the functions nested in it
            self.facts.env = {k: v for k, v in self.env.items() if isinstance(v, SessionType | EngineType | Instance)}
        for stmt in self.body:
            self._visit_stmt(stmt)
        self._finish_query_vars()
        self._add_loader_options()
        if all(e.kind in {E.RENAME, E.DROP_LAST_INDEX} for e in self.facts.async_edits):
            self.facts.seeds = []  # renaming an annotation is no reason to become async
        self._flag_sync_caches()
        self._pytest_decorators()
        return _finished(self.facts)

    def _bind_enclosing_scope(self) -> None:
        """Nested functions: names of sibling nested defs, and the enclosing function's locals (closures)."""
        prefix = f"{self.facts.qualname}."
        for node in self.body:
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and f"{prefix}{node.name}" in self.project.functions
            ):
                self.env[node.name] = FunctionRef(f"{prefix}{node.name}")
        if self.func is None or not self.func.nested_in_function:
            return
        parent = self.project.functions.get(self.facts.qualname.rsplit(".", 1)[0])
        if parent is None:
            return
        parent_facts = analyze_function_cached(self.project, parent)
        if parent_facts is None:
            return
        own = {p.name for p in self.func.params}
        for name, kind in parent_facts.env.items():
            if name not in own and name not in self.env and kind is not None:
                self.env[name] = kind

    def _infer_locals(self) -> None:
        """Local variable types, flow-insensitive; a few rounds so `q = q.filter(...)` settles."""
        # One pass over the body gathers both kinds of binding; loop variables come after all the
        # assignments, as when they were gathered by a second pass.
        assignments: list[tuple[str, ast.expr]] = []
        annotated: list[tuple[ast.AnnAssign, Type]] = []  # annotated as a database handle, with a value
        slots: list[tuple[str, ast.expr]] = []  # (dotted path of an attribute target, value)
        loops: list[tuple[ast.expr, ast.expr]] = []
        # inside an expression only a comprehension binds, and it spans a line holding `for`
        for node in own_nodes_of(self.body, _BINDING_NODES, self.spans.lines_holding("for")):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name | ast.Tuple | ast.List):
                        assignments += _unpacked(target, node.value)
                    elif isinstance(target, ast.Attribute):
                        path = dotted_name(target)
                        if path is not None and path.split(".", 1)[0] not in {"self", "cls"}:  # see attr_values
                            slots.append((path, node.value))
            elif isinstance(node, ast.AnnAssign):
                self._async_sessionmaker_annotation(node.annotation)
                declared = self.project.type_of_annotation(self.module.name, node.annotation)
                if isinstance(declared, DATABASE_HANDLES) and node.value is not None:
                    # the value may overrule it (`factory: Session = sessionmaker(...)`), and may be a local the
                    # rounds below type (`inner: Engine = conn`): decided there
                    annotated.append((node, declared))
                    if isinstance(node.target, ast.Name):
                        self.env[node.target.id] = declared
                elif not isinstance(node.target, ast.Name):
                    pass
                elif declared is not None:
                    self.env[node.target.id] = declared
                elif node.value is not None:
                    assignments.append((node.target.id, node.value))
            elif isinstance(node, ast.With | ast.AsyncWith):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        assignments.append((item.optional_vars.id, item.context_expr))
            elif isinstance(node, ast.For):
                loops.append((node.target, node.iter))
            elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
                loops += [(g.target, g.iter) for g in node.generators]
        for target, iterable in loops:
            assignments += self._loop_bindings(target, iterable)
        params = set(self.env)
        assigned = {name for name, _ in assignments if name not in params}
        assigned |= {node.target.id for node, _ in annotated if isinstance(node.target, ast.Name)}
        for _ in range(3):
            # A round reads only the locals' types and, through the facts of other functions, the hints and
            # facts gathered so far, which grow only as functions are analysed: a round that changed no local
            # and analysed no function leaves the next one nothing different to do.
            before = {name: self.env.get(name, _UNBOUND) for name in assigned}
            analysed_before = len(_FACTS_CACHE)
            self._type_annotated(annotated)
            seen: dict[str, set[Type | None]] = {}
            for name, value in assignments:
                if name in params:
                    continue
                kind = self.type_of(value)
                if kind is None and self._passes_itself_through(name, value):
                    continue  # `q = helper(q, ...)`: typed by what the helper returns (next round)
                seen.setdefault(name, set()).add(kind)
            for name, kinds in seen.items():
                if len(kinds) == 1:
                    self.env[name] = next(iter(kinds))
                else:
                    queries = [k for k in kinds if isinstance(k, QueryType)]
                    if queries and len({(q.session_src, q.entity_kinds) for q in queries}) == 1:
                        self.env[name] = QueryType(
                            queries[0].session_src, queries[0].entity_kinds, any(q.dedupe for q in queries)
                        )
                    elif (merged := self._merge_loaded(kinds, [v for n, v in assignments if n == name])) is not None:
                        self.env[name] = merged
                    else:
                        self.env[name] = None
            if len(_FACTS_CACHE) == analysed_before and all(self.env.get(n, _UNBOUND) == t for n, t in before.items()):
                break
        self._type_annotated(annotated, flag=True)
        # a variable whose assignments disagree about being a Query: review its Query assignments
        for name, value in assignments:
            if self.env.get(name) is None and isinstance(self.type_of(value), QueryType):
                self._query_vars_escaped.add(name)
            if isinstance(self.env.get(name), QueryType):
                self._var_assignments.setdefault(name, []).append(value)
        self._find_bulk_vars()
        self._type_attribute_slots(slots)

    def _passes_itself_through(self, name: str, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call):
            return False
        inner = value
        while isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Call):
            inner = inner.func.value  # `helper(q).filter(...)`
        if not any(isinstance(a, ast.Name) and a.id == name for a in inner.args):
            return False
        callees = self._resolve_callees(inner)
        if len(callees) != 1 or callees[0] not in self.project.functions:
            return False
        target = self.project.functions[callees[0]]
        if not _has_param_hints(target.qualname):
            return True  # first round: the helper has not been typed yet
        facts = analyze_function_cached(self.project, target)
        return facts is not None and facts.returns_query is not None

    def _visit_stmt(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for dec in stmt.decorator_list:
                self._visit_expr(dec, _Ctx())
            if isinstance(stmt, ast.ClassDef):
                for base in stmt.bases:
                    self._visit_expr(base, _Ctx())
            return  # analysed on their own
        if isinstance(stmt, ast.For | ast.AsyncFor):
            self._visit_for(stmt)
            return
        if isinstance(stmt, ast.With | ast.AsyncWith):
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
            if isinstance(source, ast.GeneratorExp | ast.ListComp) and source.generators:
                source = source.generators[0].iter
            callees = self._resolve_callees(source) if isinstance(source, ast.Call) else ()
            self.facts.yield_froms.append((self.spans.span(stmt), callees))
        if isinstance(stmt, ast.Return) and stmt.value is not None:
            returned = self.type_of(stmt.value)
            if isinstance(returned, QueryType) and not self._is_terminal_call(stmt.value):
                self.facts.returns_query = returned
                self._query_builder(stmt.value)
                self._visit_query_args(stmt.value)
                return
            self._load_what_the_response_reads(stmt, returned)
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None and self.facts.is_async:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id in self._deferred for t in targets):
                self._visit_expr(stmt.value, _Ctx(context="task_arg"))  # a coroutine kept to be awaited later
                return
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
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
            and isinstance(stmt.value, ast.Name | ast.Attribute)
            and isinstance(self.type_of(stmt.value), FunctionRef)
        ):
            # `create_tables = init_db`: an alias, resolved like the function itself;
            # `app.dependency_overrides[get_db] = override`: FastAPI awaits async overrides itself
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
                self._visit_expr(child, _Ctx())
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
                and isinstance(self.type_of(expr.func.value), SessionType | EngineType | ConnectionType)
                and not (expr.func.attr == "connect" and isinstance(self.type_of(expr.func.value), SessionType))
            )
            owner = (
                self.type_of(expr.func.value)
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
                        if not isinstance(expr.func, ast.Name):
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

    # -- expressions -----------------------------------------------------------------------------
    def _visit_expr(self, node: ast.expr, ctx: _Ctx) -> None:
        if (
            ctx.context == "query_arg"
            and isinstance(node, ast.Call | ast.Name | ast.Attribute)
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
        if isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp | ast.DictComp):
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
        if isinstance(node, ast.Attribute):
            self._visit_attribute_ref(node, ctx)
        keep = ctx.context in {"lambda", "genexp", "query_arg"}
        for child in child_nodes(node):
            if isinstance(child, ast.expr):
                self._visit_expr(child, _Ctx(context=ctx.context if keep else "normal"))
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
        if not all(isinstance(arg, ast.Name | ast.Constant) for arg in [*made.args, *(k.value for k in made.keywords)]):
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
        func = node.func
        owner_type = self.type_of(func.value) if isinstance(func, ast.Attribute) else None
        resolved = self.project.resolve_expr(self.module.name, func)
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
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and not ctx.awaited:
            handled = self._visit_inspect_call(node)
        if resolved in CONCURRENCY_FUNCTIONS:
            self._check_shared_session(node)
        self._visit_model_validation(node)
        if self.func is not None and not self.facts.is_async and B.is_blocking(resolved):
            assert resolved is not None
            self._record_blocking_call(node, resolved, ctx)
        elif self.func is not None and not self.facts.is_async and isinstance(owner_type, BlockingClientType):
            assert isinstance(func, ast.Attribute)
            io = B.client_method_io(owner_type.client, func.attr)
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
        handed: set[int] = set()  # functions handed to a parameter whose default is one: no callbacks
        if len(callees) == 1 and callees[0] in self.project.functions:
            handed = self._record_query_arguments(self.project.functions[callees[0]], node)
        constructed = self.type_of(func)
        if isinstance(constructed, ClassRef) and constructed.qualname in self.project.classes:
            init = self.project.lookup_method(constructed.qualname, "__init__")
            if init is not None:
                handed |= self._record_query_arguments(init, node, skip_self=True)
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
        callback_ok = (resolved or "").rsplit(".", 1)[-1] in CALLBACK_OK or (
            isinstance(func, ast.Attribute) and func.attr in CALLBACK_OK
        )
        if isinstance(func, ast.Attribute) and not isinstance(owner_type, QueryType):
            self._visit_expr(func.value, _Ctx(context=ctx.context))
        elif not isinstance(func, ast.Name | ast.Attribute):
            self._visit_expr(func, _Ctx(context=ctx.context))
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            if (callback_ok and isinstance(arg, ast.Name | ast.Attribute)) or id(arg) in handed:
                continue
            self._visit_expr(arg, _Ctx(context=arg_ctx_name))

    def _record_blocking_call(self, node: ast.Call, resolved: str, ctx: _Ctx, movable: bool = True) -> None:
        """`time.sleep(x)`, `requests.get(url)`, `client.get(key)` of a sync redis client in a sync function: should
        it become async, they would block the event loop (see `blocking_calls`). `movable`: False for a call whose
        result does the I/O later (flagged)."""
        where = self.func.name if self.func is not None else "it"
        reason = (
            f"AWT220 {resolved}() blocks the event loop now that {where}() is async (sync, it ran in a worker thread):"
            f" {B.THREAD_ADVICE}"
            if movable
            else f"AWT220 {resolved}() returns what blocks the event loop when used, now that {where}() is async"
            " (sync, it ran in a worker thread): use an async client, or run that code in `asyncio.to_thread(...)`"
        )
        async_text = None
        if movable and ctx.context not in {"lambda", "genexp"} and not ctx.awaited and B.movable(node):
            async_text = self._async_form(node, resolved)
        head = dotted_name(node.func)
        removable = head.split(".", 1)[0] if head and resolved in B.SLEEP else None
        self.facts.blocking_calls.append((self.spans.span(node), async_text, reason, removable))
        self.facts.blocks_on.append(resolved)

    def _thread_text(self, node: ast.Call, ctx: _Ctx) -> str | None:
        """`await asyncio.to_thread(fn, *args)` for a call of a project function, where the call can be moved as it
        is (see `CallSite.thread_text`)."""
        if self.facts.is_async or ctx.awaited or ctx.context != "normal" or not B.movable(node):
            return None
        if not isinstance(node.func, ast.Name | ast.Attribute):
            return None
        return self._async_form(node, "")

    def _async_form(self, node: ast.Call, resolved: str) -> str:
        """The call as `blocking_calls.async_form` writes it, from its text (`resolved`: what it calls, "" for a
        project function)."""
        arguments = [self.spans.segment(a) for a in node.args] + [self.spans.segment(k) for k in node.keywords]
        return B.async_form(resolved, self.spans.segment(node.func), arguments)

    def _record_offload(self, node: ast.Call, resolved: str | None) -> None:
        """`await run_in_threadpool(fn, *args)` of a project function: should `fn` become async, the plan awaits
        `fn(*args)` itself (see `thread_offloads`)."""
        offload = offload_of(node, resolved)
        if offload is None or not isinstance(self.type_of(offload.function), FunctionRef):
            return
        arguments = ", ".join(self.spans.segment(argument) for argument in offload.arguments)
        direct = f"{self.spans.segment(offload.function)}({arguments})"
        imported = dotted_name(node.func) if offload.imported else None
        self.facts.offloads.append(
            (
                self.spans.span(offload.function),
                self.spans.span(node),
                direct,
                imported.split(".", 1)[0] if imported else None,
            )
        )
        if not offload.imported:
            self._record_offload_loop(node)

    def _record_offload_loop(self, node: ast.Call) -> None:
        """`loop = asyncio.get_running_loop()` before `loop.run_in_executor(None, fn, ...)`: removable once every
        read of `loop` is such a call and rewritten (see `thread_offloads.loop_assignment`)."""
        function = self.func.node if self.func is not None else None
        if function is None or not isinstance(node.func, ast.Attribute) or not isinstance(node.func.value, ast.Name):
            return
        found = loop_assignment(function, node.func.value.id)
        if found is None:
            return
        assignment, reads = found
        assert isinstance(assignment.value, ast.Call)
        if self.project.resolve_expr(self.module.name, assignment.value.func) not in LOOP_GETTERS:
            return
        if self.spans.commented(assignment):
            return  # its comment would go with it
        getter = (dotted_name(assignment.value.func) or "").split(".", 1)[0]
        self.facts.offload_loops.append((self.spans.span(node), self.spans.span(assignment), reads, getter))

    def _record_query_arguments(self, target: FunctionSymbols, node: ast.Call, skip_self: bool = False) -> set[int]:
        """A Query handed to a project function: its parameter is typed as a Query from here.

        Sessions and mapped objects too: an untyped parameter that every caller passes a session to holds a session,
        one they pass `User` objects to holds them (see `_passed_type`). And functions handed to a parameter whose
        default is one: the calls through it are the target's business (see `_callable_param_type`), so these
        arguments (their `id()`s, returned) are no callbacks to flag here."""
        handed: set[int] = set()
        bound = _bind_arguments(target, node, skip_self)
        for param_name, arg in bound:
            kind = self.type_of(arg)
            hint = self._argument_hint(kind)
            if isinstance(kind, FunctionRef) and _function_default(self.project, target, param_name) is not None:
                hint = kind
                handed.add(id(arg))
            _ARGUMENT_HINTS.setdefault((target.qualname, param_name), set()).add(hint)
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
            named = {param_name for param_name, _ in bound}
            for param in target.params:  # `*args` / `**kwargs` may hand them anything
                if param.name not in named and _function_default(self.project, target, param.name) is not None:
                    _ARGUMENT_HINTS.setdefault((target.qualname, param.name), set()).add(None)
        for param_name, arg in bound:
            kind = self.type_of(arg)
            if not isinstance(kind, QueryType):
                continue
            _PARAM_HINTS.setdefault((target.qualname, param_name), set()).add(kind)
            _PARAM_HINTED.add(target.qualname)
            if not isinstance(arg, ast.Name):
                self._query_builder(arg)
            self._visit_query_args(arg)
        return handed

    def _argument_hint(self, kind: Type | None) -> ArgumentHint:
        """What an argument tells of the parameter it is bound to: a session (an engine, a connection), or objects of
        a mapped class that has relationships (a read of one from them lazy-loads where the objects came from
        elsewhere)."""
        if isinstance(kind, DB_HANDLES):
            return kind
        if isinstance(kind, LoadedEntities):
            kind = InstanceList(kind.qualname) if kind.is_list else Instance(kind.qualname)
        if isinstance(kind, Instance | InstanceList) and self.project.has_relationships(kind.qualname):
            return kind
        return None

    # -- calls -------------------------------------------------------------------------------------
    def _resolve_callees(self, node: ast.Call) -> tuple[str, ...]:
        func = node.func
        if isinstance(func, ast.Name | ast.Attribute):
            called = self._called_instance(func)
            if called is not None:
                return called
        if isinstance(func, ast.Name):
            kind = self.type_of(func)
            if isinstance(kind, FunctionRef):
                return (kind.qualname,)
            if isinstance(kind, FunctionChoice):
                return kind.qualnames
            return ()
        if not isinstance(func, ast.Attribute):
            return ()
        if (
            isinstance(func.value, ast.Call)
            and isinstance(func.value.func, ast.Name)
            and func.value.func.id == "super"
            and self.class_qualname
        ):
            method = self._super_method(self.class_qualname, func.attr)
            return (method.qualname,) if method is not None else ()
        owner = self.type_of(func.value)
        if isinstance(owner, Instance | ClassRef) and owner.qualname in self.project.classes:
            method = self.project.lookup_method(owner.qualname, func.attr)
            if method is not None:
                return (method.qualname,)
            return ()
        if isinstance(owner, InstanceChoice) and not owner.is_list:
            return self._methods_of_choice(owner, func.attr)
        if isinstance(owner, ModuleRef):
            target = self.project.attribute_of(owner.name, func.attr)
            if target in self.project.functions:
                return (target,)
        return ()

    def _methods_of_choice(self, owner: InstanceChoice, name: str) -> tuple[str, ...]:
        """`repo.count()` of one of several classes: the method each of them has (one, where they share its
        declaration). Several: the engine awaits the call only if all of them are async, else flags it."""
        methods = [self.project.lookup_method(qualname, name) for qualname in owner.qualnames]
        if any(method is None for method in methods):
            return ()  # a class without it: nothing awaitify can say about the call
        return tuple(sorted({method.qualname for method in methods if method is not None}))

    def _called_instance(self, func: ast.Name | ast.Attribute) -> tuple[str, ...] | None:
        """`checker(...)` of an instance of a project class: its `__call__` (None: not such an instance)."""
        kind = self.type_of(func)
        if not (isinstance(kind, Instance) and kind.qualname in self.project.classes):
            return None
        method = self.project.lookup_method(kind.qualname, "__call__")
        return (method.qualname,) if method is not None else ()

    def _super_method(self, class_qualname: str, name: str) -> FunctionSymbols | None:
        """What `super().name()` calls in a method of `class_qualname`: the next method up its own bases, or,
        for a mixin with none, the one after the mixin in a subclass's MRO (`class Saver(LoggingMixin, Base)`:
        `LoggingMixin.save`'s `super().save()` is `Base.save`). Every candidate shares one color with the
        method (`coloring._override_families`), so any one of them tells whether the call is awaited."""
        for cls_name in self.project.mro(class_qualname)[1:]:
            method = self.project.classes[cls_name].methods.get(name)
            if method is not None:
                return method
        for subclass in sorted(self.project.subclasses(class_qualname)):
            order = self.project.mro(subclass)
            for cls_name in order[order.index(class_qualname) + 1 :]:
                method = self.project.classes[cls_name].methods.get(name)
                if method is not None:
                    return method
        return None


# == entry points ===================================================================================
_UNBOUND = object()  # a local not assigned yet (unlike one bound to None: an unknown type)


def _bind_arguments(target: FunctionSymbols, node: ast.Call, skip_self: bool = False) -> list[tuple[str, ast.expr]]:
    params = [p.name for p in target.params]
    bound_method = isinstance(node.func, ast.Attribute) and params and params[0] in {"self", "cls"}
    if target.class_qualname and params and (skip_self or bound_method):
        params = params[1:]
    bound: list[tuple[str, ast.expr]] = []
    for index, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred) or index >= len(params):
            break
        bound.append((params[index], arg))
    bound += [(k.arg, k.value) for k in node.keywords if k.arg is not None]
    return bound


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


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.comparators) == 1
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


_SPANS: dict[str, SpanMaker] = {}
_FACTS_CACHE: dict[str, FunctionFacts | None] = {}
_IN_PROGRESS: set[str] = set()
# module -> the keys of its top level's and class bodies' facts, in order (see `analyze_module`)
_BODY_KEYS: dict[str, list[str]] = {}


def register_source(module: str, text: str) -> None:
    _SPANS[module] = SpanMaker(text)


def forget_lines(module: str) -> None:
    """The module's tree was let go (see `tree_budget`): its lines go too, split again should a span be asked for."""
    spans = _SPANS.get(module)
    if spans is not None:
        spans.forget_lines()


def reset_caches(*, keep_hints: bool = False) -> None:
    if not keep_hints:
        _SPANS.clear()
        _PARAM_HINTS.clear()
        _ARGUMENT_HINTS.clear()
        _PARAM_HINTED.clear()
    _FACTS_CACHE.clear()
    _BODY_KEYS.clear()
    _IN_PROGRESS.clear()
    _DEPENDENCIES.clear()


def start_next_round() -> None:
    """Keep the hints, and the facts of every function the hints gathered since it was analysed cannot change."""
    for qualname in _DEPENDENCIES.stale(_current_hint):
        _FACTS_CACHE.pop(qualname, None)
    _IN_PROGRESS.clear()


def analyze_function_cached(project: Project, func: FunctionSymbols) -> FunctionFacts | None:
    _DEPENDENCIES.requested(func.qualname)
    if func.qualname in _FACTS_CACHE:
        return _FACTS_CACHE[func.qualname]
    if func.qualname in _IN_PROGRESS or func.node is None or func.module not in _SPANS:
        return None
    if func.nested_in_function and func.qualname.rsplit(".", 1)[0] in _IN_PROGRESS:
        # a closure reads its enclosing function's locals (`_closure_env`), whose analysis is under way: facts
        # computed now would miss them (a closure over `db` doing no I/O) and be kept; they come after it
        return None
    _IN_PROGRESS.add(func.qualname)
    _DEPENDENCIES.begin(func.qualname)
    try:
        module = project.modules[func.module]
        facts = FunctionAnalyzer(project, module, _SPANS[func.module], func, func.node.body).analyze()
    finally:
        _DEPENDENCIES.end()
        _IN_PROGRESS.discard(func.qualname)
    _FACTS_CACHE[func.qualname] = facts
    return facts


def analyze_module(project: Project, module: ModuleSymbols, tree: Callable[[], ast.Module]) -> list[FunctionFacts]:
    """Facts for every function of the module, and for its top level. `tree` gives the module's tree: asked for
    only when some facts are not known yet (a later hint round seldom needs it; a tree let go is parsed again)."""
    out = _known_body_facts(module.name)
    if out is None:
        out = _body_facts(project, module, tree())
    for func in module.functions.values():
        facts = analyze_function_cached(project, func)
        if facts is not None:
            out.append(facts)
    return out


def _known_body_facts(module: str) -> list[FunctionFacts] | None:
    """The facts of the module's top level and class bodies, if every one is known (see `_body_facts`)."""
    keys = _BODY_KEYS.get(module)
    if keys is None:
        return None
    known = [facts for facts in map(_FACTS_CACHE.get, keys) if facts is not None]
    return known if len(known) == len(keys) else None


def _body_facts(project: Project, module: ModuleSymbols, tree: ast.Module) -> list[FunctionFacts]:
    """The facts of the module's top level and of its class bodies; their keys are kept for the next round."""
    keys = [f"{module.name}.<module>"]
    out = [_analyze_body_cached(keys[0], project, module, tree.body)]
    for class_node, class_body in _class_bodies(tree):
        keys.append(f"{module.name}.<body of the class at {class_node.lineno}:{class_node.col_offset}>")
        out.append(_analyze_body_cached(keys[-1], project, module, class_body))
    _BODY_KEYS[module.name] = keys
    return out


def _analyze_body_cached(key: str, project: Project, module: ModuleSymbols, body: list[ast.stmt]) -> FunctionFacts:
    """The facts of a module's top level or a class body, kept across hint rounds like a function's (by `key`,
    with the hints it read and the functions it asked for, so a round re-analyses it only when those changed)."""
    cached = _FACTS_CACHE.get(key)
    if cached is not None:
        return cached
    _DEPENDENCIES.begin(key)
    try:
        facts = FunctionAnalyzer(project, module, _SPANS[module.name], None, body).analyze()
    finally:
        _DEPENDENCIES.end()
    _FACTS_CACHE[key] = facts
    return facts


def _class_bodies(tree: ast.Module) -> list[tuple[ast.ClassDef, list[ast.stmt]]]:
    """Class bodies (without their methods), nested classes included, not descending into functions."""
    bodies = []
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.ClassDef):
            bodies.append((node, [s for s in node.body if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]))
            stack.extend(node.body)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            stack.extend(n for n in child_nodes(node) if isinstance(n, ast.stmt))
    return bodies
