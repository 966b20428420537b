"""Pass 2a: what each function does with sessions, queries and other functions.

The analysis walks one function body (or a module's top level) on the stdlib `ast`, with the whole
project's symbols at hand, and records facts: session I/O sites and the edits they need, query chains,
resolved call sites (for coloring), review items and `check` findings. Nothing is rewritten here.

This module holds the entry points and the analysis cache (`analyze_function_cached`, `analyze_module`,
`reset_caches`, `start_next_round`) and `FunctionAnalyzer`, which completes the chain of layers the analysis is
made of (see `analyzer_base`) with the steps that analyse other functions: a callee's returned query, an enclosing
function's locals, the fixed-point inference of the locals. The facts are `function_facts`; the hints gathered
between rounds are `argument_hints`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import NamedTuple

from codemods import edits as E
from codemods.argument_hints import (
    _ARGUMENT_HINTS,
    _DEPENDENCIES,
    _PARAM_HINTED,
    _PARAM_HINTS,
    PASSED_KINDS,
    QUERY_PARAM_PREFIX,
    _current_hint,
    _has_param_hints,
)
from codemods.astwalk import child_nodes, dotted_name, own_nodes, own_nodes_of
from codemods.call_targets import _bind_arguments
from codemods.decorator_wrappers import decorator_of, stored_keywords, wrapped_calls, wrapped_parameter
from codemods.function_facts import FunctionFacts, _finished
from codemods.local_bindings import _BINDING_NODES, _unpacked
from codemods.method_chains import _chain_base_name
from codemods.project import DATABASE_HANDLES, Project
from codemods.spans import SpanMaker
from codemods.statement_walk import StatementWalk
from codemods.symbols import FunctionSymbols, ModuleSymbols
from codemods.types import (
    EngineType,
    FunctionRef,
    Instance,
    InstanceChoice,
    QueryType,
    SessionFactoryType,
    SessionType,
    Type,
)

_UNBOUND = object()  # a local not assigned yet (unlike one bound to None: an unknown type)


class _RoundType(NamedTuple):
    """An assigned value's type in a round of `_infer_locals`, with what it was computed from (see `_round_type`)."""

    kind: Type | None
    reads: dict[str, object]  # the locals read -> their types then (`_UNBOUND`: not bound)
    analysed: int  # how many functions' facts were known then (`len(_FACTS_CACHE)`)


class FunctionAnalyzer(StatementWalk):
    """The analysis of one function or module body: every layer, and the steps that analyse other functions."""

    def analyze(self) -> FunctionFacts:
        self._bind_params()
        self._sync_wrappers()
        self._wrapped_calls()
        self._bind_enclosing_scope()
        self._async_return_annotation()
        self._async_sessionmaker_signature()
        self._flag_contradicted_return()
        self._infer_locals()
        self._deferred = self._deferred_names() if self.facts.is_async else set()
        self._type_memo = {}
        if self.facts.qualname in self.project.enclosing_functions:  # kept for the functions nested in it
            self.facts.env = {k: v for k, v in self.env.items() if isinstance(v, (SessionType, EngineType, Instance))}
        for stmt in self.body:
            self._visit_stmt(stmt)
        self._finish_query_vars()
        self._add_loader_options()
        if all(e.kind in {E.RENAME, E.DROP_LAST_INDEX} for e in self.facts.async_edits):
            self.facts.seeds = []  # renaming an annotation is no reason to become async
        self._flag_sync_caches()
        self._flag_partly_session_params()
        self._pytest_decorators()
        self._hint_wrapped_functions()
        return _finished(self.facts)

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

    def _bind_enclosing_scope(self) -> None:
        """Nested functions: names of sibling nested defs, and the enclosing function's locals (closures)."""
        prefix = f"{self.facts.qualname}."
        for node in self.body:
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
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

    def _wrapped_calls(self) -> None:
        """A decorator's wrapper: its calls of the function it wraps (see `decorator_wrappers`)."""
        self._wrapped_name: str | None = None
        if self.func is None:
            return
        self._wrapped_name = wrapped_parameter(self.project, self.func)
        if self._wrapped_name is not None:
            self.facts.wrapped_calls = wrapped_calls(self._own_def(), self._wrapped_name, self.spans)

    def _hint_wrapped_functions(self) -> None:
        """A decorator's wrapper handing the function it wraps a session of its own (`func(*args, session=session,
        **kwargs)`, or `kwargs["db_session"] = db_session` before `func(*args, **kwargs)`, Netflix dispatch's
        `@background_task`): each function the decorator is applied to gets it as an argument hint, as from a
        call of it (`db_session=None`, untyped, then holds the session: see `local_bindings`)."""
        name = self._wrapped_name
        if self.func is None or not self.facts.wrapped_calls or name is None:
            return
        decorator = decorator_of(self.project, self.func.qualname)
        own = self._own_def()
        nodes = own_nodes(own.body)
        kwargs = own.args.kwarg.arg if own.args.kwarg is not None else None
        stored = dict(stored_keywords(nodes, kwargs))
        for call in nodes:
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == name):
                continue
            keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
            if any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs for k in call.keywords):
                keywords = {**stored, **keywords}
            for qualname in self.project.decorated_by(decorator):
                params = {p.name for p in self.project.functions[qualname].params}
                for param, value in keywords.items():
                    if param in params:
                        hint = self._argument_hint(self.type_of(value))
                        _ARGUMENT_HINTS.setdefault((qualname, param), set()).add(hint)

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
                    if isinstance(target, (ast.Name, ast.Tuple, ast.List)):
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
                elif node.value is not None and not isinstance(node.value, ast.Dict):
                    # a dict literal annotated with what awaitify cannot type (`dict[str, A | B]`): unknown
                    assignments.append((node.target.id, node.value))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        assignments.append((item.optional_vars.id, item.context_expr))
            elif isinstance(node, ast.For):
                loops.append((node.target, node.iter))
            elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
                loops += [(g.target, g.iter) for g in node.generators]
        for target, iterable in loops:
            assignments += self._loop_bindings(target, iterable)
        params = set(self.env)
        for name, value in assignments:
            if name in params and self.env[name] is None and isinstance(value, (ast.BoolOp, ast.IfExp)):
                kind = self.type_of(value)  # `factory = factory or SessionLocal`: see TypeInference._factory_or_none
                if isinstance(kind, SessionFactoryType):
                    self.env[name] = kind
        assigned = {name for name, _ in assignments if name not in params}
        assigned |= {node.target.id for node, _ in annotated if isinstance(node.target, ast.Name)}
        typed: list[_RoundType | None] = [None] * len(assignments)
        for _ in range(3):
            # A round reads only the locals' types and, through the facts of other functions, the hints and
            # facts gathered so far, which grow only as functions are analysed: a round that changed no local
            # and analysed no function leaves the next one nothing different to do.
            before = {name: self.env.get(name, _UNBOUND) for name in assigned}
            analysed_before = len(_FACTS_CACHE)
            self._type_annotated(annotated)
            seen: dict[str, set[Type | None]] = {}
            for index, (name, value) in enumerate(assignments):
                if name in params:
                    continue
                typed[index] = round_type = self._round_type(value, typed[index])
                kind = round_type.kind
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
                    elif self._reshaped_by_itself(name, queries, [v for n, v in assignments if n == name]):
                        # `query = query.with_entities(...)`: what it selects depends on which assignment ran last,
                        # which a flow-insensitive type cannot tell (the terminal is flagged rather than guessed)
                        self.env[name] = QueryType(queries[0].session_src, ("unknown",), any(q.dedupe for q in queries))
                    elif (merged := self._merge_loaded(kinds, [v for n, v in assignments if n == name])) is not None:
                        self.env[name] = merged
                    elif (choice := self._instance_choice(kinds)) is not None:
                        self.env[name] = choice
                    else:
                        self.env[name] = None
            if len(_FACTS_CACHE) == analysed_before and all(self.env.get(n, _UNBOUND) == t for n, t in before.items()):
                break
        self._type_annotated(annotated, flag=True)
        # a variable whose assignments disagree about being a Query: review its Query assignments
        for index, (name, value) in enumerate(assignments):
            if self.env.get(name) is None and isinstance(self._round_type(value, typed[index]).kind, QueryType):
                self._query_vars_escaped.add(name)
            if isinstance(self.env.get(name), QueryType):
                self._var_assignments.setdefault(name, []).append(value)
        self._find_bulk_vars()
        self._type_attribute_slots(slots)

    def _round_type(self, value: ast.expr, previous: _RoundType | None) -> _RoundType:
        """The type of an assigned value in a round of `_infer_locals`: the one of the round before when nothing it
        was computed from has changed since. Typing reads, besides the project's symbols (fixed), only the locals'
        types (those it read are noted by `TypeInference._type_of`) and the hints and facts of other functions,
        which change only as functions are analysed (then `_FACTS_CACHE` grows): with the same locals and no
        function analysed since, typing the value again gives the same type (most values settle in the first round,
        and the second one, which checks that nothing changed, typed them all again; so did the check after the
        rounds for a local left untyped)."""
        if (
            previous is not None
            and previous.analysed == len(_FACTS_CACHE)
            and all(self.env.get(name, _UNBOUND) == kind for name, kind in previous.reads.items())
        ):
            return previous
        reads: set[str] = set()
        self._env_reads = reads
        try:
            kind = self.type_of(value)
        finally:
            self._env_reads = None
        return _RoundType(kind, {name: self.env.get(name, _UNBOUND) for name in reads}, len(_FACTS_CACHE))

    def _instance_choice(self, kinds: set[Type | None]) -> InstanceChoice | None:
        """One variable bound to instances of different project classes (`user = User.read(db, name)`, typed by
        the base's `-> "Record"`, then `user = User(name=name)` in an `except`): one of them, unknown which. A
        method called on it is awaited where every class's method is async (a base and its subclass share it);
        left unknown, the call was left unawaited, a coroutine never run."""
        instances = [k for k in kinds if isinstance(k, Instance)]
        if len(instances) != len(kinds) or not all(k.qualname in self.project.classes for k in instances):
            return None
        return InstanceChoice(tuple(sorted(k.qualname for k in instances)))

    @staticmethod
    def _reshaped_by_itself(name: str, queries: list[QueryType], values: list[ast.expr]) -> bool:
        """A Query variable on one session whose assignments select different things, one of them built from the
        variable itself (`query = db.query(Chat)` ... `query = query.with_entities(Chat.id, Chat.title)`): rows of
        columns after the second, entities before. Typing it by either shape rewrites the terminal wrongly (open-webui's
        chat title list read `chat[0]` of `scalars()`: the first letter of each id)."""
        if len({q.session_src for q in queries}) != 1 or len({q.entity_kinds for q in queries}) < 2:
            return False
        return any(_chain_base_name(value) == name for value in values)

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


# == entry points ===================================================================================
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
            bodies.append((node, [s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]))
            stack.extend(node.body)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            stack.extend(n for n in child_nodes(node) if isinstance(n, ast.stmt))
    return bodies
