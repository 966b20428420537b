"""The Query API of the sync session: a query chain found, rewritten to `select()` when it ends in a terminal
(`.all()`, `.first()`, `.count()`, ...), or flagged where it escapes the function as a Query.

`QueryVisits` builds the spec of a chain (`QuerySpec`), follows a Query held in a variable to the terminal that
runs it, and marks which queries a known pattern consumed. Apart from the session calls (`session_calls`): those
are the methods of a session itself.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codemods import edits as E
from codemods import queries as Q
from codemods import sqla_names as N
from codemods.analyzer_base import _Ctx
from codemods.argument_hints import QUERY_PARAM_PREFIX
from codemods.edits import Edit, QuerySpec
from codemods.local_bindings import LocalBindings
from codemods.method_chains import _chain_base_is_var, _chain_base_name, _chain_calls, _chain_methods
from codemods.types import QueryType, SessionType


class QueryVisits(LocalBindings):
    """Query chains and their terminals (see the module's docstring)."""

    def _is_query_expression(self, node: ast.expr) -> bool:
        if isinstance(self.type_of(node), QueryType):
            return True
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in Q.SELECTABLE_METHODS
            and isinstance(self.type_of(node.func.value), QueryType)
        )

    def _io_where_await_is_impossible(self, node: ast.Call, ctx: _Ctx) -> bool:
        if ctx.context not in {"lambda", "genexp"}:
            return False
        where = "a lambda" if ctx.context == "lambda" else "a generator expression"
        self._review(node, "AWT204", f"database I/O inside {where} cannot be awaited")
        self._mark_consumed_chain(node)
        return True

    def _is_terminal_call(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(self.type_of(node.func.value), QueryType)
            and node.func.attr not in Q.BUILDER_METHODS
        )

    def _spec(self, query: QueryType, terminal: str, node: ast.expr) -> QuerySpec | None:
        if query.session_src.startswith(QUERY_PARAM_PREFIX):
            self._review(node, "AWT208", "a query received as a parameter is run here: its session is unknown")
            return None
        constructs = {"delete": ("delete",), "update": ("update",), "get": (), "count": ("select", "func")}
        if self._review_shadowed_construct(node, constructs.get(terminal, ("select",))):
            return None
        if "unknown" in query.entity_kinds:
            self._review(node, "AWT209", "cannot tell whether query() selects entities or columns")
            return None
        chain = self._query_chain_calls(node)
        for method, call in chain:
            if method in Q.REMOVED_METHODS:
                self._review(node, "AWT207", f"Query.{method}() was removed in 2.0")
                return None
            if method in {"join", "outerjoin"} and (
                any(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)
                or any(k.arg in {"aliased", "from_joinpoint"} for k in call.keywords)
            ):
                self._review(node, "AWT207", "string join targets and aliased=True were removed in 2.0")
                return None
            if (
                method not in Q.BUILDER_METHODS
                and method not in Q.SELECTABLE_METHODS
                and method != "query"
                and method not in Q.TERMINAL_METHODS
            ):
                self._review(node, "AWT209", f"Query.{method}() has no exact select() form here")
                return None
        params_src = None
        params = [call for method, call in chain if method == "params"]
        if params:
            if len(params) > 1 or params[0].args:
                self._review(node, "AWT209", "params() with positional arguments")
                return None
            params_src = (
                "{"
                + ", ".join(
                    f"{k.arg!r}: {self.spans.segment(k.value)}" if k.arg else f"**{self.spans.segment(k.value)}"
                    for k in params[0].keywords
                )
                + "}"
            )
            params_src = params_src.replace("'", '"')
        single_entity = query.entity_kinds == ("entity",)
        aggregate = query.entity_kinds == ("aggregate",) and not any(m == "group_by" for m, _ in chain)
        # Query.yield_per() turns the legacy de-duplication off (Query._iter), wherever it is in the chain
        unique = query.dedupe and "entity" in query.entity_kinds and not self._yields_per(node)
        return QuerySpec(
            terminal=terminal,
            session_src=self._async_session_src(query, chain),
            scalars=single_entity,
            unique=unique,
            aggregate=aggregate,
            params_src=params_src,
        )

    def _query_chain_calls(self, node: ast.expr) -> list[tuple[str, ast.Call]]:
        """The Query method calls of the chain ending at `node`, without the call that made the Query when that is
        a function reached through a module or an object (`service.get_all(db_session=db).order_by(...).all()`,
        Netflix dispatch's services): `get_all` is no Query method."""
        chain = _chain_calls(node)
        while chain and chain[0][0] != "query" and not self._called_on_query(chain[0][1]):
            chain = chain[1:]
        return chain

    def _called_on_query(self, call: ast.Call) -> bool:
        return isinstance(call.func, ast.Attribute) and isinstance(self.type_of(call.func.value), QueryType)

    def _async_session_src(self, query: QueryType, chain: list[tuple[str, ast.Call]]) -> str:
        """The session the rewritten query runs on: `object_session(user).query(...)` runs on
        `async_object_session(user)` (the rename a bare `object_session(user)` call gets; the query's rewrite
        replaces the whole chain, so the call is renamed here, or a second run would rename it)."""
        if not chain:  # a query held in a variable, iterated
            return query.session_src
        method, call = chain[0]
        session = call.func.value if method == "query" and isinstance(call.func, ast.Attribute) else None
        if not isinstance(session, ast.Call) or self.project.resolve_expr(self.module.name, session.func) not in (
            N.OBJECT_SESSION
        ):
            return query.session_src
        self.facts.async_imports.add(N.ASYNC_OBJECT_SESSION)
        arguments = self.spans.segment(session)[len(self.spans.segment(session.func)) :]
        return f"{N.ASYNC_OBJECT_SESSION[1]}{arguments}"

    def _yields_per(self, node: ast.expr) -> bool:
        """`yield_per()` in the chain ending at `node`, or in an assignment of the Query variable it starts from."""
        if "yield_per" in _chain_methods(node):
            return True
        base = _chain_base_name(node)
        return base is not None and any("yield_per" in _chain_methods(v) for v in self._var_assignments.get(base, []))

    def _visit_query_terminal(self, node: ast.Call, method: str, query: QueryType, ctx: _Ctx) -> bool:
        assert isinstance(node.func, ast.Attribute)
        if method in Q.BUILDER_METHODS or method in Q.SELECTABLE_METHODS:
            if method in Q.SELECTABLE_METHODS:
                # `q.subquery()`, `q.exists()`: an SQL expression, no I/O
                self._query_builder(node)
                self._visit_query_args(node)
                return True
            self._escape(node, "a Query used where awaitify cannot follow it")
            return True
        if method in Q.TERMINAL_METHODS and self._io_where_await_is_impossible(node, ctx):
            return True
        if method not in Q.TERMINAL_METHODS:
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(self.type_of(arg), QueryType):  # `q1.union(q2)`: q2 stays a Query too
                    base = arg.id if isinstance(arg, ast.Name) else _chain_base_name(arg)
                    if base is not None and base in self._var_assignments:
                        self._poison(base, f"passed to Query.{method}()")
                    self._mark_consumed_chain(arg)
            if method in Q.REMOVED_METHODS:
                self._review(node, "AWT207", f"Query.{method}() was removed in 2.0")
            else:
                self._review(node, "AWT209", f"Query.{method}() has no exact select() form here")
            self._mark_consumed(node.func.value)
            return True
        if method == "get" and not self._is_plain_get(node):
            self._review(node, "AWT209", "Query.get() after filters/joins has no exact session.get() form")
            self._mark_consumed(node.func.value)
            return True
        if method in {"delete", "update"} and not self._is_plain_bulk(node, method):
            self._review(node, "AWT209", f"Query.{method}() after joins/limits has no exact 2.0 form here")
            self._mark_consumed(node.func.value)
            return True
        spec = self._spec(query, method, node)
        self._mark_consumed(node.func.value)
        if spec is None:
            return True
        if method in {"delete", "update"} and id(node) in self._discarded_calls:
            spec = replace(spec, discard_result=True)
        self._add_async_edit(Edit(E.QUERY, self.spans.span(node), spec), node)
        self._seed(f"runs a query on {query.session_src}")
        self.facts.async_imports.add(("sqlalchemy", "select"))
        if method == "count":
            self.facts.async_imports.add(("sqlalchemy", "func"))
        if method in {"delete", "update"}:
            self.facts.async_imports.add(("sqlalchemy", method))
        self._visit_query_args(node)
        return True

    def _is_plain_get(self, node: ast.Call) -> bool:
        chain = _chain_methods(node)
        return all(m in {"query", "options", "get"} for m in chain) and chain[0] == "query"

    def _is_plain_bulk(self, node: ast.Call, method: str) -> bool:
        chain = _chain_calls(node)
        base = _chain_base_name(node)
        if base is not None and self._bulk_vars.get(base) == method:
            return all(m in {"filter", "filter_by", "where", method} for m, _ in chain)
        if chain[0][0] != "query" or len(chain[0][1].args) != 1:
            return False
        if not all(m in {"query", "filter", "filter_by", "where", method} for m, _ in chain):
            return False
        return all(keyword.arg in {"synchronize_session", None} for keyword in chain[-1][1].keywords)

    def _query_builder(self, node: ast.expr, base: str = "select") -> None:
        """A Query that is only built here (assigned, returned, turned into a subquery): no I/O."""
        query = self.type_of(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in Q.SELECTABLE_METHODS
        ):
            query = self.type_of(node.func.value)
        if not isinstance(query, QueryType):
            return
        if _chain_base_is_var(node):
            chain = _chain_methods(node)
            if not any(m in Q.RENAMED_METHODS or m in {"populate_existing", "yield_per"} for m in chain):
                self._mark_consumed_chain(node)
                return
        if "unknown" in query.entity_kinds and not _chain_base_is_var(node):
            self._review(node, "AWT209", "cannot tell whether query() selects entities or columns")
            self._mark_consumed_chain(node)
            return
        if self._review_shadowed_construct(node, (base,)):
            self._mark_consumed_chain(node)
            return
        spec = QuerySpec(
            terminal="builder", session_src=query.session_src, scalars=False, unique=False, builder_base=base
        )
        self.facts.edits.append(Edit(E.QUERY, self.spans.span(node), spec))
        self.facts.imports.add(("sqlalchemy", "select"))
        self._mark_consumed_chain(node)

    def _visit_query_args(self, node: ast.expr) -> None:
        """Visit the arguments of every call in a query chain (they may hold awaitable calls too)."""
        self._mark_consumed_chain(node)
        current: ast.expr = node
        while True:
            if isinstance(current, ast.Subscript):
                current = current.value
                continue
            is_query_link = (
                isinstance(current, ast.Call)
                and isinstance(current.func, ast.Attribute)
                and isinstance(self._owner_type(current.func), (QueryType, SessionType))
            )
            if is_query_link:
                assert isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute)
                for arg in [*current.args, *(k.value for k in current.keywords)]:
                    self._visit_expr(arg, _Ctx(context="query_arg"))
                if current.func.attr == "query" and isinstance(self._owner_type(current.func), SessionType):
                    session = current.func.value
                    if (
                        isinstance(session, ast.Call)
                        and self.project.resolve_expr(self.module.name, session.func) == "builtins.next"
                    ):
                        self._visit_call(session, _Ctx())  # `next(get_db()).query(...)`: a generator drawn here
                    return
                current = current.func.value
                continue
            if isinstance(current, ast.Call):
                self._visit_call(current, _Ctx())  # a helper returning a Query: its arguments, its callee
            return

    def _mark_consumed(self, node: ast.expr) -> None:
        self._mark_consumed_chain(node)

    def _mark_consumed_chain(self, node: ast.expr) -> None:
        current: ast.expr = node
        while True:
            self._consumed_queries.add(id(current))
            if isinstance(current, ast.Subscript):
                current = current.value
            elif isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
                if current.func.attr == "query" and isinstance(self._owner_type(current.func), SessionType):
                    self._note_session_query(current)
                    return
                current = current.func.value
            else:
                return

    def _note_session_query(self, call: ast.Call) -> None:
        if id(call) in self._noted_queries:
            return
        self._noted_queries.add(id(call))
        assert isinstance(call.func, ast.Attribute)
        src = self.spans.segment(call.func.value)
        self._finding(call, "AWT301", f"`{src}.query()`: AsyncSession has no query(); use select()")

    def _escape(self, node: ast.expr, reason: str) -> None:
        if id(node) in self._consumed_queries:
            return
        self._review(node, "AWT208", reason)
        self._mark_consumed_chain(node)

    def _finish_query_vars(self) -> None:
        """A Query variable with one use awaitify cannot convert is left entirely as it was (never half)."""
        for name in sorted(self._poisoned_vars):
            dropped = {id(e) for e in self._var_edits.get(name, [])}
            if not dropped:
                continue
            self.facts.edits = [e for e in self.facts.edits if id(e) not in dropped]
            self.facts.async_edits = [e for e in self.facts.async_edits if id(e) not in dropped]
            for value in self._var_assignments.get(name, []):
                self.facts.reviews.append(
                    Edit(
                        E.REVIEW,
                        self.spans.span(value),
                        text=(f"AWT208 query variable {name!r} left as is: one of its uses cannot be converted"),
                    )
                )
