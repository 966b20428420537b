"""The state every layer of the analyzer shares, and the steps they all use.

`AnalyzerBase` declares, once, the attributes of one function's analysis (the facts being recorded, the locals'
types, the query variables and their edits) and holds what every layer calls: the function's own nodes and
decorators, the names it binds (a local shadowing a SQLAlchemy construct), and the recording of edits, seeds,
review markers and findings. The layers above it, each in its own module, form one chain that
`analyze.FunctionAnalyzer` completes: `type_inference` -> `refreshed_objects` -> `template_contexts` -> `loader_options`
-> `local_bindings` -> `query_visits` -> `session_calls` -> `engine_constructors` -> `call_targets` -> `offload_records`
-> `statement_walk`.
"""

from __future__ import annotations

import ast
import bisect

from codemods import edits as E
from codemods import returned_entities as RE
from codemods import worker_boundaries as W
from codemods.astwalk import own_nodes
from codemods.edits import Edit, Span
from codemods.function_facts import BOUNDARY_DECORATORS, FunctionFacts
from codemods.method_chains import _chain_base_name
from codemods.project import Project
from codemods.spans import SpanMaker
from codemods.symbols import FunctionSymbols, ModuleSymbols, names_bound_in
from codemods.types import Instance, Type


class _Ctx:
    __slots__ = ("awaited", "context", "stmt_span")

    def __init__(self, awaited: bool = False, context: str = "normal", stmt_span: Span | None = None) -> None:
        self.awaited = awaited
        self.context = context
        self.stmt_span = stmt_span


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _walk_own(body: list[ast.stmt]) -> list[ast.AST]:
    """The statements and everything under them, not descending into nested functions, classes or lambdas."""
    return own_nodes(body)


class AnalyzerBase:
    """One function's analysis: its state and the steps every layer uses (see the module's docstring)."""

    def __init__(
        self,
        project: Project,
        module: ModuleSymbols,
        spans: SpanMaker,
        func: FunctionSymbols | None,
        body: list[ast.stmt],
    ) -> None:
        self.project = project
        self.module = module
        self.spans = spans
        self.func = func
        self.body = body
        self.env: dict[str, Type | None] = {}
        # `request.state.db = SessionLocal()`: attributes of outside objects this function stores a session,
        # connection or engine in, by their dotted path (flow-insensitive, like the locals)
        self._attribute_slots: dict[str, Type] = {}
        self.self_name: str | None = None
        self.class_qualname = func.class_qualname if func else None
        qualname = func.qualname if func else f"{module.name}.<module>"
        self.facts = FunctionFacts(
            qualname=qualname,
            module=module.name,
            def_key=f"{func.node.lineno}:{func.node.col_offset}" if func and func.node else None,
            is_async=bool(func and func.is_async),
            boundary=self._boundary_reason(),
            is_generator=bool(func and func.is_generator),
            is_contextmanager=False,
        )
        self._consumed_queries: set[int] = set()  # id() of Query-typed nodes consumed by a known pattern
        self._query_vars_escaped: set[str] = set()
        self._partly_session_params: list[str] = []  # untyped, a session from some callers only (AWT225)
        self._noted_queries: set[int] = set()
        self._discarded_calls: set[int] = set()
        self._frozen_calls: set[int] = set()
        self._followed_values: set[int] = set()  # id() of values called at once or handed to FastAPI
        self._own_nodes_cache: list[ast.AST] | None = None
        self._single_assignments_cache: dict[str, ast.expr] | None = None
        self._bound_names_cache: frozenset[str] | None = None  # what this function (and its outers) binds
        self._own_bound_names: frozenset[str] | None = None  # what this function binds itself
        self._module_bound_names: frozenset[str] | None = None  # what the module binds
        self._deferred: set[str] = set()
        # types are memoised once local inference has settled (the environment no longer changes)
        self._type_memo: dict[int, Type | None] | None = None  # left exactly as written (inside a reviewed construct)
        # the locals whose types the value being typed read (see `analyze.FunctionAnalyzer._round_type`)
        self._env_reads: set[str] | None = None
        # the `kwargs["key"]` being typed, up the stack (see `TypeInference._stored_keyword_type`)
        self._stored_keys_typed: set[str] = set()
        self._var_edits: dict[str, list[Edit]] = {}
        self._poisoned_vars: dict[str, str] = {}  # name -> why it cannot be converted
        self._var_assignments: dict[str, list[ast.expr]] = {}
        self._extra_options: dict[Span, set[str]] = {}  # query span -> loader options to add
        self._session_gets: dict[Span, ast.Call] = {}  # span -> `db.get(M, pk)` whose options= can take them
        self._select_statements: dict[Span, ast.Call] = {}  # span -> `select(M)` that `.options(...)` can follow
        self._chains_typed: set[tuple[str, str, str]] = set()  # see `TypeInference._parameter_attribute_type`
        self._refreshed: set[tuple[str, str]] | None = None  # (variable, relationship) named in a refresh()
        self._refreshed_lists: dict[str, Instance] | None = None  # see `refreshed_objects`
        self._refreshed_calls: dict[int, dict[str, str]] | None = None
        self._bulk_vars: dict[str, str] = {}  # Query variable only ever bulk-deleted/updated -> "delete"/"update"

    def _decorator_names(self) -> list[str]:
        if not self.func:
            return []
        names = []
        for dec in self.func.decorators:
            target = dec.func if isinstance(dec, ast.Call) else dec
            resolved = self.project.resolve_expr(self.module.name, target) or ""
            names.append(resolved)
        return names

    def _own_def(self) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The function's def statement in this module's tree. What the symbols keep of its decorators and
        annotations may be another module's nodes of the same text (see `symbols.SharedExpressions`): an edit
        needs this module's positions."""
        assert self.func is not None and self.func.node is not None
        return self.func.node

    def _own_decorators(self) -> list[ast.expr]:
        """The function's decorators as `_own_def` has them, in the order of `func.decorators`."""
        return self._own_def().decorator_list

    def _boundary_reason(self) -> str | None:
        worker = W.boundary_reason(self.project, self.module, self.func)
        if worker is not None:
            return worker
        if self.func is None:
            return "module-level code cannot await"
        if _is_dunder(self.func.name) and self.func.class_qualname and self.func.name != "__call__":
            # `__call__` can be async: `await instance()`, and FastAPI awaits a callable dependency's
            return f"dunder method {self.func.name}() cannot be async"
        for name in self._decorator_names():
            short = name.rsplit(".", 1)[-1]
            if short in BOUNDARY_DECORATORS or name in BOUNDARY_DECORATORS:
                return f"@{short} function cannot be async"
        if self.func.name == "lambda":
            return "lambda cannot be async"
        if self.project.runs_synchronously(self.func.qualname):
            return "run_sync() calls it synchronously"
        return None

    def _own_nodes(self) -> list[ast.AST]:
        if self._own_nodes_cache is None:
            self._own_nodes_cache = _walk_own(self.body)
        return self._own_nodes_cache

    def _single_assignments(self) -> dict[str, ast.expr]:
        """The function's locals assigned exactly once, with their value (see `RE.single_assignments`)."""
        if self._single_assignments_cache is None:
            self._single_assignments_cache = RE.single_assignments(self._own_nodes())
        return self._single_assignments_cache

    def _local_name_of(self, class_qualname: str) -> str | None:
        """The name this module binds a project class to (imported or defined here), if any."""
        if class_qualname == f"{self.module.name}.{class_qualname.rsplit('.', 1)[-1]}":
            return class_qualname.rsplit(".", 1)[-1]
        for local, target in self.module.imports.items():
            if self.project.canonical(target) == class_qualname:
                return local
        return None

    def _shadowing_local(self, names: tuple[str, ...]) -> str | None:
        """The first of `names` (SQLAlchemy constructs a rewrite writes as bare calls: `select`, `update`, `text`)
        that the module, this function or a function it is nested in binds to something else: there the call
        would reach that name (the import awaitify adds is not added over a name the module defines)."""
        if self._module_bound_names is None:
            self._module_bound_names = self.project.module_bound_names(self.module)
        found = next((name for name in names if name in self._module_bound_names), None)
        if found is not None or self.func is None or not self._may_bind_one_of(names):
            return found
        if self._bound_names_cache is None:
            bound = names_bound_in(self.func, self._own_nodes())
            qualname, nested = self.func.qualname, self.func.nested_in_function
            while nested:  # a closure sees the names of the functions it is nested in
                qualname = qualname.rsplit(".", 1)[0]
                outer = self.project.functions.get(qualname)
                if outer is None:
                    break
                node = outer.node
                bound |= names_bound_in(outer, own_nodes(node.body) if node else [])
                nested = outer.nested_in_function
            self._bound_names_cache = frozenset(bound)
        return next((name for name in names if name in self._bound_names_cache), None)

    def _may_bind_one_of(self, names: tuple[str, ...]) -> bool:
        """Whether a line of this function, or of the outermost function it is nested in, holds one of `names`:
        a name bound there is written there (a parameter on the `def` line, a target in the body). Without such
        a line, walking the function's nodes for what it binds would find none of them."""
        assert self.func is not None
        outermost = self.func
        while outermost.nested_in_function:
            outer = self.project.functions.get(outermost.qualname.rsplit(".", 1)[0])
            if outer is None:
                break
            outermost = outer
        node = outermost.node
        if node is None:
            return True
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        for name in names:
            lines = self.spans.lines_holding(name)
            index = bisect.bisect_left(lines, first)
            if index < len(lines) and lines[index] <= last:
                return True
        return False

    def _review_shadowed_construct(self, node: ast.AST, names: tuple[str, ...]) -> bool:
        """AWT209 where a construct the rewrite needs names something else (`def f(db, update): ...`)."""
        local = self._shadowing_local(names)
        if local is None:
            return False
        self._review(
            node,
            "AWT209",
            f"`{local}` names something else here (a local, a parameter or a definition of the module), not "
            f"sqlalchemy's `{local}`, which the rewrite needs: rename it",
        )
        return True

    def _add_async_edit(self, edit: Edit, node: ast.expr | None = None) -> None:
        self.facts.async_edits.append(edit)
        if edit.kind == E.QUERY and node is not None:
            base = _chain_base_name(node)
            if base is not None and base in self._var_assignments:
                self._var_edits.setdefault(base, []).append(edit)

    def _poison(self, name: str, reason: str) -> None:
        self._poisoned_vars.setdefault(name, reason)

    def _seed(self, reason: str) -> None:
        self.facts.seeds.append(reason)

    def _review(self, node: ast.AST, code: str, reason: str) -> None:
        self.facts.reviews.append(Edit(E.REVIEW, self.spans.span(node), text=f"{code} {reason}"))
        if isinstance(node, ast.expr):
            base = _chain_base_name(node)
            if base is not None and base in self._var_assignments:
                self._poison(base, reason)

    def _finding(self, node: ast.AST, code: str, message: str) -> None:
        line, col, _, _ = self.spans.span(node)
        self.facts.findings.append((line, col + 1, code, message))

    # == defined further up the chain ===============================================================
    # The walk recurses: a query's arguments and a session, connection or transaction call's arguments are walked like
    # any expression, by `statement_walk.StatementWalk`, which sits above the layers that dispatch to them; typing a
    # call of a project helper analyses the helper (`analyze.FunctionAnalyzer`, beside the analysis cache). Declared
    # here, once, so that the layers below can call them.
    def _visit_expr(self, node: ast.expr, ctx: _Ctx) -> None:
        raise NotImplementedError

    def _visit_call(self, node: ast.Call, ctx: _Ctx) -> None:
        raise NotImplementedError

    def _query_returned_by(self, target: FunctionSymbols, call: ast.Call) -> Type | None:
        raise NotImplementedError
