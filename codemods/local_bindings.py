"""What the function's names start as: its signature, its parameters' types and what its locals are bound to.

`LocalBindings` reads the decorators (a pytest test or fixture, a sync wrapper, a cache), types the parameters
from their annotations and from what callers pass (`argument_hints`), types loop and annotated bindings, and
flags an annotation the value contradicts. The fixed-point inference of the locals (`analyze.FunctionAnalyzer.
_infer_locals`) uses these steps.
"""

from __future__ import annotations

import ast

from codemods import astwalk
from codemods import edits as E
from codemods import pytest_support as T
from codemods import queries as Q
from codemods import sqla_names as N
from codemods.annotation_contradictions import review_text as annotation_review_text
from codemods.argument_hints import (
    ArgumentHint,
    _argument_hints,
    _callable_param_type,
    _passed_type,
    _query_param_type,
)
from codemods.edits import Edit
from codemods.function_facts import CONTEXTMANAGER, TASK_FUNCTIONS
from codemods.loader_options import LoaderOptions
from codemods.method_chains import _chain_base_name, _chain_calls
from codemods.module_edits import async_sessionmaker_in, names_the_session, names_the_session_dotted
from codemods.project import Project, overrules_annotation
from codemods.symbols import FunctionSymbols
from codemods.type_comments import signature_types
from codemods.types import DB_HANDLES, REQUEST, ClassRef, ConnectionType, EngineType, Instance, SessionType, Type


def _sync_wrapper(decorator: FunctionSymbols) -> bool:
    """Whether a decorator of the project wraps what it decorates in a sync function (`def inner(*args):
    return fn(*args)`), unaware of coroutines: no `async def` wrapper, no `inspect.iscoroutinefunction(fn)`.
    One returning the function itself (`def register(fn): ...; return fn`) wraps nothing."""
    node = decorator.node
    if node is None:
        return False  # nothing to read: say nothing rather than guess
    wraps = False
    for inner in ast.walk(node):
        if inner is node:
            continue
        if isinstance(inner, ast.AsyncFunctionDef):
            return False
        if isinstance(inner, ast.FunctionDef):
            wraps = True
        if isinstance(inner, (ast.Name, ast.Attribute)) and _last_name(inner) in _COROUTINE_CHECKS:
            return False
    return wraps


def _partly_a_session(passed: frozenset[ArgumentHint]) -> bool:
    """Some callers hand a session, the others something unknown (see `_passed_type`)."""
    known = passed - {None}
    return None in passed and len(known) == 1 and isinstance(next(iter(known)), SessionType)


def _no_default(default: ast.expr | None) -> bool:
    """No default, or None (`db_session=None`, a session a decorator's wrapper may supply): typed from what calls
    hand the parameter."""
    return default is None or (isinstance(default, ast.Constant) and default.value is None)


def _untyped_or_query(project: Project, module: str, annotation: ast.expr | None) -> bool:
    if annotation is None:
        return True
    resolved = project.resolve_expr(module, annotation) or ""
    return resolved in {"typing.Any", "sqlalchemy.orm.Query", "sqlalchemy.orm.query.Query"}


# the node types `_infer_locals` learns a local's type from
_BINDING_NODES = frozenset(
    {
        ast.Assign,
        ast.AnnAssign,
        ast.With,
        ast.AsyncWith,
        ast.For,
        ast.ListComp,
        ast.SetComp,
        ast.GeneratorExp,
        ast.DictComp,
    }
)


# the value of a name bound in a way awaitify does not follow: its type is unknown
_UNKNOWN_VALUE: ast.expr = ast.Constant(value=None)


def _unpacked(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    """The names a target binds, each with the expression it takes its type from: `name = value`;
    `a, b = UserRepo(db), ItemRepo(db)` element by element; `user, address = row` position by position (`value[0]`,
    `value[1]`), a nested target too (`i, (user, address) = pair`: `value[1][0]`, `value[1][1]`). Where awaitify
    cannot pair them (a literal of another length, a starred target), the names are bound to something unknown, so
    that another assignment of theirs does not type them alone."""
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if not isinstance(target, (ast.Tuple, ast.List)):
        return []
    if not any(isinstance(element, ast.Starred) for element in target.elts):
        if not isinstance(value, (ast.Tuple, ast.List)):
            return [
                binding
                for i, element in enumerate(target.elts)
                for binding in _unpacked(element, ast.Subscript(value=value, slice=ast.Constant(i)))
            ]
        if len(value.elts) == len(target.elts) and not any(isinstance(element, ast.Starred) for element in value.elts):
            pairs = zip(target.elts, value.elts, strict=True)
            return [binding for element, part in pairs for binding in _unpacked(element, part)]
    return [(node.id, _UNKNOWN_VALUE) for node in ast.walk(target) if isinstance(node, ast.Name)]


class LocalBindings(LoaderOptions):
    """The signature and the locals' bindings (see the module's docstring)."""

    def _async_return_annotation(self) -> None:
        """`-> Generator[X, None, None]` / `Iterator[X]` of a generator: its async counterpart, if it becomes async.
        So is a bare `-> Generator` / `typing.Iterator` (no parameters)."""
        func = self.func
        if func is None or not func.is_generator or func.is_async:
            return
        if not isinstance(func.returns, (ast.Subscript, ast.Name, ast.Attribute)):
            return
        # edited: the node of this module's tree, not what the symbols keep (see `symbols.SharedExpressions`)
        returns = self._own_def().returns
        assert isinstance(returns, (ast.Subscript, ast.Name, ast.Attribute))  # the same text as `func.returns`
        origin_node = returns.value if isinstance(returns, ast.Subscript) else returns
        origin = self.project.resolve_expr(self.module.name, origin_node) or ""
        module, _, name = origin.rpartition(".")
        counterparts = {"Generator": "AsyncGenerator", "Iterator": "AsyncIterator", "Iterable": "AsyncIterable"}
        counterpart = counterparts.get(name)
        if counterpart is None or module not in {"typing", "collections.abc"}:
            return
        args: list[ast.expr] = []
        if isinstance(returns, ast.Subscript):
            args = returns.slice.elts if isinstance(returns.slice, ast.Tuple) else [returns.slice]
        head = self.spans.segment(origin_node)
        prefix = head.rsplit(".", 1)[0] + "." if "." in head else ""
        self.facts.async_edits.append(Edit(E.RENAME, self.spans.span(origin_node), text=f"{prefix}{counterpart}"))
        if name == "Generator" and len(args) == 3:  # AsyncGenerator has no return type parameter
            self.facts.async_edits.append(Edit(E.DROP_LAST_INDEX, self.spans.span(returns)))
        if not prefix:
            self.facts.async_imports.add((module, counterpart))
            self.facts.removable_names.add(head)

    def _bind_params(self) -> None:
        func = self.func
        if func is None:
            return
        decorators = {n.rsplit(".", 1)[-1] for n in self._decorator_names()}
        commented = signature_types(func, self.spans)  # `def get(db):  # type: (Session) -> User`
        for index, param in enumerate(func.params):
            kind: Type | None = None
            if index == 0 and func.class_qualname and "staticmethod" not in decorators:
                self.self_name = param.name
                cls_kind: Type = (
                    ClassRef(func.class_qualname) if "classmethod" in decorators else Instance(func.class_qualname)
                )
                self.env[param.name] = cls_kind
                continue
            if param.annotation is not None:
                kind = self.project.declared_type(self.module.name, param.annotation)
            else:  # a type comment: parsed for this analysis
                kind = self.project.type_of_annotation(self.module.name, commented.get(param.name))
            if isinstance(kind, DB_HANDLES) and self.project.function_stays_sync(func):
                self.env[param.name] = None  # the sync Connection / Session run_sync() / Alembic hands: it stays sync
                continue
            if kind is None:
                kind = self.project.dependency_type(self.module.name, param.default)
            if kind is None and _untyped_or_query(self.project, self.module.name, param.annotation):
                kind = _query_param_type(func.qualname, param.name)
            if kind is None and param.annotation is None and _no_default(param.default):
                passed = _argument_hints(func.qualname, param.name)
                kind = _passed_type(passed)
                if kind is None and _partly_a_session(passed):
                    self._partly_session_params.append(param.name)
            if kind is None and param.default is not None:
                kind = _callable_param_type(self.project, func, param.name)
            if kind is None and param.annotation is None:
                kind = T.fixture_param_type(self.project, func, param.name)  # pytest hands it a fixture's value
            if kind is None and param.annotation is None and self.project.is_request_param(func, param.name):
                kind = REQUEST  # a middleware's request
            self.env[param.name] = kind
        for name in self._decorator_names():
            if name in CONTEXTMANAGER:
                self.facts.is_contextmanager = True
                for dec in self._own_decorators():
                    self.facts.contextmanager_decorator = self.spans.span(dec)

    def _flag_partly_session_params(self) -> None:
        """AWT225: an untyped parameter some callers hand a session and others something the analysis cannot type
        (a session a decorator injects, an argument of a plugin call) stays untyped, so the function is left as it
        is; the callers with a session hand it an AsyncSession, on which its session calls fail. Flagged on the
        first such call of each parameter (`db_session.query(...)`, `db_session.commit()`)."""
        if self.func is None or self.func.is_async or self.func.node is None:
            return
        for name in self._partly_session_params:
            calls = [
                node
                for node in astwalk.walk(self.func.node)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and (node.func.attr == "query" or node.func.attr in N.AWAITABLE_SESSION_METHODS)
            ]
            if not calls:
                continue
            first = min(calls, key=lambda node: (node.lineno, node.col_offset))
            method = first.func.attr if isinstance(first.func, ast.Attribute) else ""
            text = (
                f"AWT225 some callers hand `{name}` a session and others a value awaitify cannot type: the function "
                f"stays sync and `{name}.{method}()` fails on the AsyncSession the first ones hand it now; "
                f"annotate `{name}: AsyncSession` and migrate again"
            )
            self.facts.reviews.append(Edit(E.REVIEW, self.spans.span(first), text=text))

    def _sync_wrappers(self) -> None:
        """The decorators defined in the project as plain sync functions (`def retry(times): def wrap(fn): ...`):
        made async, the decorated function hands their wrapper a coroutine (see `_sync_wrapper`)."""
        if self.func is None:
            return
        for name in self._decorator_names():
            target = self.project.functions.get(name)
            if target is not None and not target.is_async and _sync_wrapper(target):
                # the `def` line: a marker goes on a statement's header, not on a decorator (asked for only here:
                # the spans of a module split its text into lines, which most modules never need)
                line, col, _, _ = self.spans.span(self._own_def())
                nested = tuple(sorted(q for q in self.project.functions if q.startswith(f"{target.qualname}.")))
                self.facts.sync_wrappers.append(((line, col, line, col), name, nested))

    def _flag_sync_caches(self) -> None:
        """`@lru_cache` / `@cache` on a function that becomes async keeps its coroutine, not its result: the
        first caller awaits it, the next gets the same coroutine and `RuntimeError: cannot reuse already awaited
        coroutine` (AWT218, on the decorator, should the function become async)."""
        if self.func is None or self.func.is_async or not self.func.decorators:
            return
        for decorator in self._own_decorators():
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.project.resolve_expr(self.module.name, target) in N.FUNCTOOLS_CACHES:
                text = (
                    f"AWT218 @{self.spans.segment(target)} would keep the coroutine, not its result: a second await "
                    "raises RuntimeError; cache the awaited result instead"
                )
                self.facts.async_edits.append(Edit(E.REVIEW, self.spans.span(decorator), text=text))

    def _pytest_decorators(self) -> None:
        """A fixture made async becomes a pytest-asyncio fixture; a test made async gets the asyncio mark."""
        func = self.func
        if func is None or func.is_async:
            return
        decorator = T.fixture_decorator(self.project, func)
        if decorator is not None:
            decorator = self._own_decorators()[func.decorators.index(decorator)]
            text = T.async_fixture_decorator(self.project, decorator, self.spans.segment)
            self.facts.async_fixture_edit = Edit(E.REPLACE_EXPR, self.spans.span(decorator), text=text)
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            self.facts.removable_names.add(self.spans.segment(target).split(".", 1)[0])
        elif T.is_test_function(self.project, func) and not T.has_asyncio_mark(self.project, func):
            self.facts.async_decorator = T.async_test_mark(self.project)

    def _loop_bindings(self, target: ast.expr, iterable: ast.expr) -> list[tuple[str, ast.expr]]:
        """The names `for target in iterable` binds, each with the expression it takes its type from: an element of
        the iterable (`iterable[0]`), unpacked as an assignment is. Through the builtins that pair elements:
        `for i, user in enumerate(users)` (the count is no object), `for user, address in zip(users, addresses)`."""
        paired = self._paired_iterables(iterable) if isinstance(iterable, ast.Call) else None
        if (
            isinstance(target, (ast.Tuple, ast.List))
            and paired is not None
            and len(paired) == len(target.elts)
            and not any(isinstance(element, ast.Starred) for element in target.elts)
        ):
            return [
                binding
                for element, source in zip(target.elts, paired, strict=True)
                for binding in (
                    self._loop_bindings(element, source) if source is not None else _unpacked(element, _UNKNOWN_VALUE)
                )
            ]
        return _unpacked(target, ast.Subscript(value=iterable, slice=ast.Constant(0)))

    def _paired_iterables(self, call: ast.Call) -> list[ast.expr | None] | None:
        """`enumerate(users)` -> [None (the count), users]; `zip(users, addresses)` -> [users, addresses]: the
        iterables whose elements make up each tuple the call yields (None: not one of them), or None for any other
        call."""
        if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
            return None
        resolved = self.project.resolve_expr(self.module.name, call.func)
        keywords = {k.arg for k in call.keywords}
        if resolved == "builtins.enumerate" and len(call.args) in {1, 2} and keywords <= {"start"}:
            if len(call.args) == 2 and keywords:
                return None
            return [None, call.args[0]]
        if resolved == "builtins.zip" and call.args and keywords <= {"strict"}:
            return list(call.args)
        return None

    def _type_annotated(self, annotated: list[tuple[ast.AnnAssign, Type]], flag: bool = False) -> None:
        """Names annotated as a database handle take the annotation's type, unless the value says otherwise
        (`factory: Session = sessionmaker(...)`: what the name holds at run time, and what the code using it was
        written against, is the factory). With `flag`, each annotation overruled gets an AWT222 marker (an attribute
        target too: `self.factory: Session = sessionmaker(...)`, typed by `_instance_attr_type`)."""
        for node, declared in annotated:
            assert node.value is not None  # see _infer_locals
            assigned = self.type_of(node.value)
            overruled = assigned is not None and overrules_annotation(assigned, declared)
            if isinstance(node.target, ast.Name):
                self.env[node.target.id] = assigned if overruled else declared
            if flag and overruled:
                assert assigned is not None  # overruled
                self._flag_contradicted_annotation(node.annotation, declared, assigned)

    def _async_sessionmaker_signature(self) -> None:
        """`sessionmaker` in the annotations of the function's parameters and return (see below)."""
        if self.func is None:
            return
        node = self._own_def()
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))]
        for annotation in [*(param.annotation for param in params), node.returns]:
            if annotation is not None:
                self._async_sessionmaker_annotation(annotation)

    def _async_sessionmaker_annotation(self, annotation: ast.expr) -> None:
        """`SessionLocal: sessionmaker[Session] = sessionmaker(...)`: the annotation names the factory the value
        becomes, `async_sessionmaker` (its `Session` becomes `AsyncSession` with the module's other names of the
        class). Left as it was, it names a sync class the code no longer uses, whose type parameter must be a
        `Session`, and keeps its import (AWT303 in `check`)."""
        if self.project.stays_sync(self.module.name):
            return  # an Alembic script's own sessions stay sync
        names = self.project.names_of(N.SYNC_SESSIONMAKERS)  # what such a name ends with: others need no resolution
        for node in astwalk.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self._async_sessionmaker_string(node, node.value)
            elif (
                isinstance(node, (ast.Name, ast.Attribute))
                and _last_name(node) in names
                and self.project.resolve_expr(self.module.name, node) in N.SYNC_SESSIONMAKERS
            ):
                self.facts.edits.append(Edit(E.RENAME, self.spans.span(node), text="async_sessionmaker"))
                self.facts.imports.add(("sqlalchemy.ext.asyncio", "async_sessionmaker"))

    def _async_sessionmaker_string(self, node: ast.Constant, value: str) -> None:
        """`-> "sessionmaker"`: the factory named in a string annotation, renamed as above. A string naming the
        `Session` class too is rewritten whole with the module's session names (`module_edits.names_the_session`)."""
        session_locals = {
            local
            for local, target in self.module.imports.items()
            if self.project.canonical(target) in N.SYNC_SESSION_CLASSES
        }
        if names_the_session(value, session_locals) or names_the_session_dotted(self.project, self.module.name, value):
            return
        try:
            parsed = ast.parse(value, mode="eval")
        except SyntaxError:
            return
        factory_locals = {
            name.id
            for name in astwalk.walk(parsed)
            if isinstance(name, ast.Name) and self.project.resolve_expr(self.module.name, name) in N.SYNC_SESSIONMAKERS
        }
        literal = self.spans.segment(node)
        renamed = async_sessionmaker_in(literal, factory_locals)
        if renamed != literal:
            self.facts.edits.append(Edit(E.REPLACE_EXPR, self.spans.span(node), text=renamed))
            self.facts.imports.add(("sqlalchemy.ext.asyncio", "async_sessionmaker"))

    def _flag_contradicted_return(self) -> None:
        """`-> Session` over `return sessionmaker(...)`: the returned type wins (`Project.return_type`), and the
        annotation gets an AWT222 marker."""
        if self.func is None:
            return
        contradicted = self.project.contradicted_return_annotation(self.func)
        returns = self._own_def().returns if contradicted is not None else None
        if contradicted is not None and returns is not None:
            self._flag_contradicted_annotation(returns, *contradicted)

    def _flag_contradicted_annotation(self, annotation: ast.expr, declared: Type, value_type: Type) -> None:
        text = annotation_review_text(declared, value_type)
        if text is not None:
            self.facts.reviews.append(Edit(E.REVIEW, self.spans.span(annotation), text=text))

    def _type_attribute_slots(self, slots: list[tuple[str, ast.expr]]) -> None:
        """An attribute path every assignment of which stores the same session, connection or engine type."""
        kinds: dict[str, set[Type | None]] = {}
        for path, value in slots:
            kinds.setdefault(path, set()).add(self.type_of(value))
        for path, found in kinds.items():
            kind = next(iter(found))
            if len(found) == 1 and isinstance(kind, (SessionType, ConnectionType, EngineType)):
                self._attribute_slots[path] = kind

    def _find_bulk_vars(self) -> None:
        """`q = db.query(M)`, `q = q.filter(...)`, `q.delete()`: the whole variable becomes a `delete(M)`."""
        if not self._var_assignments:
            return  # no Query variable: nothing to look for
        terminals: dict[str, set[str]] = {}
        # Every read of the variable must be the start of its bulk terminal or of its own reassignment
        # (`q = q.filter(...)`): one that is iterated, sliced, returned or passed on needs a select().
        reads: dict[str, int] = {}
        for node in self._own_nodes():
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self._var_assignments:
                reads[node.id] = reads.get(node.id, 0) + 1
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                base = _chain_base_name(node)
                if base in self._var_assignments and node.func.attr in Q.TERMINAL_METHODS:
                    terminals.setdefault(base, set()).add(node.func.attr)
                if base in self._var_assignments and isinstance(node.func.value, ast.Name):
                    terminals.setdefault(base, set())
        for name, methods in terminals.items():
            if methods not in ({"delete"}, {"update"}):
                continue
            bulk_calls = sum(
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in methods
                and _chain_base_name(node) == name
                for node in self._own_nodes()
            )
            reassignments = sum(_chain_base_name(value) == name for value in self._var_assignments[name])
            if reads.get(name, 0) != bulk_calls + reassignments:
                continue
            plain = True
            for value in self._var_assignments[name]:
                chain = _chain_calls(value)
                if not chain or any(m not in {"query", "filter", "filter_by", "where"} for m, _ in chain):
                    plain = False
                if chain and chain[0][0] == "query" and len(chain[0][1].args) != 1:
                    plain = False
            if plain:
                self._bulk_vars[name] = next(iter(methods))

    def _deferred_names(self) -> set[str]:
        """Variables holding coroutines on purpose: later awaited (`await x`) or handed to asyncio (`gather(*xs)`)."""
        names: set[str] = set()
        for node in self._own_nodes():
            if isinstance(node, ast.Await) and isinstance(node.value, ast.Name):
                names.add(node.value.id)
            elif isinstance(node, ast.Call):
                resolved = self.project.resolve_expr(self.module.name, node.func)
                if resolved in TASK_FUNCTIONS:
                    for arg in node.args:
                        inner = arg.value if isinstance(arg, ast.Starred) else arg
                        if isinstance(inner, ast.Name):
                            names.add(inner.id)
        return names


_COROUTINE_CHECKS = frozenset({"iscoroutinefunction", "iscoroutine", "isawaitable", "markcoroutinefunction"})


def _last_name(node: ast.Name | ast.Attribute) -> str:
    """What a name or attribute reference ends with (`sessionmaker` of `orm.sessionmaker`)."""
    return node.id if isinstance(node, ast.Name) else node.attr
