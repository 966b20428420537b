"""Pass 1: a cheap, picklable symbol table per module, from the stdlib `ast`.

Only declarations are collected here (imports, classes, functions, module globals); bodies are
analysed later, once the whole project's symbols are known.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from codemods import returned_entities as RE
from codemods.astwalk import child_nodes, dotted_name, names_in
from codemods.source_lines import lines_holding, source_lines
from codemods.spans import SpanMaker


# slots here and below: one per parameter, function and class, all held to the end; a parameter is shared by every
# function with the same one (see `SharedExpressions.params`): frozen
@dataclass(slots=True, frozen=True)
class Param:
    name: str
    annotation: ast.expr | None
    default: ast.expr | None


# (line, column) of a def statement, (its first line, a decorator's if any, and its last) -> that statement, in a
# fresh parse of the module's text (of those lines alone, see `codemods.def_parse`)
FindDef = Callable[[tuple[int, int], tuple[int, int]], "ast.FunctionDef | ast.AsyncFunctionDef"]


@dataclass(slots=True)
class FunctionSymbols:
    qualname: str  # module-qualified: "pkg.mod.Class.method"
    name: str
    module: str
    class_qualname: str | None
    is_async: bool
    decorators: list[ast.expr]
    params: tuple[Param, ...]
    returns: ast.expr | None
    lineno: int
    is_generator: bool
    # what each `return value` returns, as far as the analysis reads it: a named callee (see `_callee_only`)
    return_values: list[ast.expr] = field(default_factory=list)
    yield_values: list[ast.expr] = field(default_factory=list)
    nested_in_function: bool = False
    end_lineno: int = 0  # the def statement's last line (see `Project.kept_sync`)
    def_node: ast.FunctionDef | ast.AsyncFunctionDef | None = field(default=None, repr=False)
    # Once the module's tree is let go (see `release_def`): where the def starts (its `def`, and the first line of
    # its first decorator), and what finds it again.
    _def_at: tuple[int, int] = field(default=(0, 0), init=False, repr=False, compare=False)
    _first_line: int = field(default=0, init=False, repr=False, compare=False)
    _find_def: FindDef | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def node(self) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The def statement, body and all: found again in a fresh parse of the module if it was let go."""
        if self._find_def is not None:
            found = self._find_def(self._def_at, (self._first_line, self.end_lineno))
            self.def_node, self._find_def = found, None
        return self.def_node

    def release_def(self, find_def: FindDef | None) -> None:
        """Let go of the def statement (it holds the function's whole body): `find_def` finds it again, by the
        line and column it starts at, in a fresh parse of the module's text, should anything ask for it. None:
        the symbols go to another process, which gives them their finder there (`find_def_with`)."""
        node = self.def_node
        if node is not None:
            self._def_at, self._find_def, self.def_node = (node.lineno, node.col_offset), find_def, None
            self._first_line = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])

    def find_def_with(self, find_def: FindDef) -> None:
        """The finder of a def statement let go in another process (see `codemods.parse_helper`)."""
        if self.def_node is None:
            self._find_def = find_def


@dataclass(slots=True)
class ClassSymbols:
    qualname: str
    name: str
    module: str
    bases: list[ast.expr]
    methods: dict[str, FunctionSymbols] = field(default_factory=dict)
    # class-level `x: T` / `x = value` and `self.x = value` / `self.x: T = value` in methods
    attr_annotations: dict[str, ast.expr] = field(default_factory=dict)
    attr_values: dict[str, list[tuple[str, ast.expr]]] = field(default_factory=dict)  # attr -> [(method, value)]
    decorators: list[ast.expr] = field(default_factory=list)


@dataclass
class ModuleSymbols:
    name: str
    path: str
    is_package: bool
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted target
    star_imports: list[str] = field(default_factory=list)  # modules imported with `from m import *`
    # every absolute `from m import a, b`, anywhere in the module: (line, column, m, (a, b))
    from_imports: list[tuple[int, int, str, tuple[str, ...]]] = field(default_factory=list)
    classes: dict[str, ClassSymbols] = field(default_factory=dict)
    functions: dict[str, FunctionSymbols] = field(default_factory=dict)
    global_values: dict[str, ast.expr] = field(default_factory=dict)
    global_annotations: dict[str, ast.expr] = field(default_factory=dict)
    uses_sqlalchemy: bool = False
    # the module registers a lifespan or startup/shutdown handler (run by TestClient, not by ASGITransport)
    lifespan_hooks: bool = False
    websocket_clients: bool = False  # calls `.websocket_connect(...)` (TestClient's websockets)
    # `conn.run_sync(fn)` on something not imported (a connection, a session): (the qualname of the function it is
    # written in, "" at module level; the callable, `fn`)
    run_sync_callables: list[tuple[str, ast.expr]] = field(default_factory=list)
    # `event.listen(target, "after_flush", fn)`: (what is called, `fn`), see `Project.runs_synchronously`
    event_listen_calls: list[tuple[ast.expr, ast.expr]] = field(default_factory=list)
    streaming_clients: bool = False  # calls `.stream(...)` (TestClient's streamed responses)
    # `request.state.db = SessionLocal()`, `app.state.engine = create_engine(...)`: attribute -> [(qualname of the
    # function assigning it, "" at module level; what `.state` is read from; value)] (see `Project.state_type`)
    state_values: dict[str, list[tuple[str, ast.expr, ast.expr]]] = field(default_factory=dict)
    reads_state: bool = False  # it may read `x.state.y` (see `may_read_state`)

    @cached_property
    def imported_prefixes(self) -> frozenset[str]:
        """Every dotted prefix of what the module imports (`alembic.context.configure` -> `alembic`,
        `alembic.context`, `alembic.context.configure`): whether it imports from a module, in one lookup.
        Computed on first use: the imports do not change once the symbols are collected."""
        prefixes: set[str] = set()
        for target in self.imports.values():
            parts = target.split(".")
            prefixes.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
        return frozenset(prefixes)


def module_name_for(path: str) -> tuple[str, bool]:
    """`pkg/sub/mod.py` -> ("pkg.sub.mod", False); `pkg/__init__.py` -> ("pkg", True)."""
    parts = path.removesuffix(".py").split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(p for p in parts if p) or "__root__", is_package


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    parts = [*base, *(target.split(".") if target else [])]
    return ".".join(p for p in parts if p)


_LIFESPAN_KEYWORDS = frozenset({"lifespan", "on_startup", "on_shutdown"})
_LIFESPAN_METHODS = frozenset({"on_event", "add_event_handler"})
_WEBSOCKET_METHOD = "websocket_connect"
_STREAM_METHOD = "stream"
# Of the expressions, the walk acts only on yields (`_collect_returns`) and on calls naming one of these
# (`visit_Call`): a module whose text holds none of them has no call the walk acts on.
# `await conn.run_sync(fn)` / `await session.run_sync(fn)`: SQLAlchemy calls `fn` synchronously with a sync
# Connection / Session (see `Project.runs_synchronously`)
_RUN_SYNC_METHOD = "run_sync"
_LISTEN_FUNCTION = "listen"  # `event.listen(target, identifier, fn)`
_CALL_WORDS = (
    *sorted(_LIFESPAN_KEYWORDS | _LIFESPAN_METHODS),
    _WEBSOCKET_METHOD,
    _STREAM_METHOD,
    _RUN_SYNC_METHOD,
    _LISTEN_FUNCTION,
)


class SharedExpressions:
    """One node for all the expressions of the same source text that the symbol tables of an analysis keep.

    The symbol tables keep expressions (annotations, defaults, decorators, bases, class attributes' values) for
    the analysis to resolve and to infer types from, which it does from their structure and the module they are
    in, never from where they are: a copy of the same text anywhere else serves as well. Most repeat (`Session`,
    `Depends(get_db)`, `Optional[int]`, `Column(Integer, primary_key=True)`): on the generated 2,131-file
    repository the 407,647 nodes they held are 46,131 distinct, and they outlive their module's tree when it is let
    go (see `tree_budget`). A node kept here comes from the first module that held its text: whatever needs a
    position (an edit of the function's own decorator or return annotation) reads the def statement of its own
    tree (`FunctionSymbols.node`). The same text parses to the same expression whatever the module."""

    __slots__ = ("_by_callee", "_by_text", "_params", "_signatures")

    def __init__(self) -> None:
        self._by_text: dict[str, ast.expr] = {}
        self._by_callee: dict[str, ast.Call] = {}  # a returned call as `_callee_only` keeps it, by its callee's text
        # parameters and parameter lists, by their parts (nodes kept here: their ids stay theirs while the table is)
        self._params: dict[tuple[str, int, int], Param] = {}
        self._signatures: dict[tuple[int, ...], tuple[Param, ...]] = {}

    def share(self, node: ast.expr, text: _ExpressionText) -> ast.expr:
        key = node.id if type(node) is ast.Name else text.of(node)  # most annotations: the name is the text
        return self._by_text.setdefault(key, node)

    def keeper(self, text: _ExpressionText) -> _Keep:
        """`share` for the expressions of the module of `text`, as one plain function: the collector calls it for
        each of the ~93,000 expressions the generated repository's symbols keep, through one call instead of three
        (a function, not a method of the collector: see `_HANDLERS`)."""
        by_text, text_of, name_kind = self._by_text, text.of, ast.Name

        def keep(node: ast.expr) -> ast.expr:
            return by_text.setdefault(node.id if type(node) is name_kind else text_of(node), node)

        return keep

    def param(self, name: str, annotation: ast.expr | None, default: ast.expr | None) -> Param:
        """One `Param` per name, annotation and default (their nodes kept here), built only the first time: of
        the generated repository's 63,461 parameters, most repeat (`self`, `db: Session = Depends(get_db)`)."""
        key = (name, id(annotation), id(default))
        param = self._params.get(key)
        if param is None:
            param = self._params[key] = Param(name, annotation, default)
        return param

    def signature(self, params: list[Param]) -> tuple[Param, ...]:
        """One tuple per list of parameters (each from `param`): `self, db: Session` repeats all over a project."""
        key = tuple(map(id, params))
        signature = self._signatures.get(key)
        if signature is None:
            signature = self._signatures[key] = tuple(params)
        return signature

    def call_of(self, callee: ast.expr, text: _ExpressionText) -> ast.Call:
        key = text.of(callee)
        call = self._by_callee.get(key)
        if call is None:
            call = self._by_callee[key] = ast.Call(func=self.share(callee, text), args=[], keywords=[])
        return call


class _ExpressionText:
    """The source text of a module's expressions (the keys of `SharedExpressions`), its lines split on first use."""

    __slots__ = ("_lines", "_spans", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: list[str] | None = None
        self._spans: SpanMaker | None = None

    def of(self, node: ast.expr) -> str:
        line = node.lineno
        if line == node.end_lineno:
            if self._lines is None:
                self._lines = source_lines(self._text)
            text = self._lines[line - 1]
            if text.isascii():  # columns are UTF-8 byte offsets: characters only in ASCII
                return text[node.col_offset : node.end_col_offset]
        if self._spans is None:
            self._spans = SpanMaker(self._text)
        return self._spans.segment(node)


class _OwnBody:
    """A function being walked, and the nodes of its own body met so far (see `_SymbolCollector.walk`)."""

    __slots__ = ("cls", "func", "node", "nodes")

    def __init__(
        self, func: FunctionSymbols, node: ast.FunctionDef | ast.AsyncFunctionDef, cls: ClassSymbols | None
    ) -> None:
        self.func = func
        self.node = node
        self.cls = cls
        self.nodes: list[ast.AST] = []  # returns, yields and assignments, in post-order


# a function's own nodes the walk keeps for `_finish_function` (nested defs: the functions it may return; expression
# statements: `setattr(request.state, "db", ...)`)
_OWN_BODY_TYPES = (
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.Assign,
    ast.AnnAssign,
    ast.Expr,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
)


class _SymbolCollector:
    """One walk of the module: declarations, and each function's returns, yields and `self.x = ...`.

    This was an `ast.NodeVisitor` plus two more walks of every function body; the walk is now one
    recursion over `child_nodes` that keeps the visitor's order (pre-order, fields in order), so
    dictionaries fill in the same order as before, or, in a module where no call matters, one over its
    statement lists (`walk_statements`) in the same order.
    """

    def __init__(self, symbols: ModuleSymbols, shared: SharedExpressions | None, text: str | None) -> None:
        self.symbols = symbols
        self.scope: list[tuple[str, str]] = []  # ("class"|"function", name)
        # What each scope's declarations need, kept as the scopes are entered rather than worked out of `scope` for
        # each of them: the qualname of each scope (the module's first), the class whose body each scope is (None:
        # not a class), and how many functions the walk is in.
        self._quals: list[str] = [symbols.name]
        self._classes: list[ClassSymbols | None] = [None]
        self._functions = 0
        self._shared = shared if text is not None else None
        self._text = _ExpressionText(text) if text is not None else None
        # The node to keep for an expression of the module: the one already kept for its text, if any.
        self._kept: _Keep = _unshared if self._shared is None or self._text is None else self._shared.keeper(self._text)
        # Whether an attribute of something's `state` may be written or returned here (see `_collect_state`): not in
        # an ASCII text without the word (identifiers are NFKC-normalised: `state` in fullwidth letters parses as
        # `state`). 1,866 of the generated repository's 2,131 modules, 18,227 of its 21,406 functions, hold none.
        self._may_touch_state = text is None or not text.isascii() or "state" in text

    def _kept_optional(self, node: ast.expr | None) -> ast.expr | None:
        return None if node is None else self._kept(node)

    def _returned(self, value: ast.expr) -> ast.expr:
        """A returned value as the analysis reads it (see `_callee_only`); `request.state.db` is kept whole."""
        if self._may_touch_state and state_attribute(value) is not None:
            return self._kept(value)
        return _callee_only(value, self._call_of)

    def _call_of(self, callee: ast.expr) -> ast.Call:
        if self._shared is None or self._text is None:
            return ast.Call(func=callee, args=[], keywords=[])
        return self._shared.call_of(callee, self._text)

    def walk(self, node: ast.AST, owner: _OwnBody | None) -> None:
        """Visit `node` and its whole subtree; `owner` is the function whose own body `node` is part of, if any.

        A function's own body (its children, not descending into nested functions, classes or lambdas)
        used to be walked with a stack, last child first; that order is the reverse of the post-order
        in which this recursion finishes nodes, so the nodes are gathered as they finish and read
        backwards (`_finish_function`), giving the same order.
        """
        kind = type(node)
        handler = _HANDLERS.get(kind)
        inner = owner  # whose own body the children belong to
        function: _OwnBody | None = None
        new_scope = False
        if handler is not None:
            handler(self, node)
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            inner = function = self._enter_function(node)
            new_scope = True
        elif kind is ast.ClassDef:
            assert isinstance(node, ast.ClassDef)
            self._enter_class(node)
            inner, new_scope = None, True
        elif kind is ast.Lambda:
            inner = None
        for child in child_nodes(node):
            self.walk(child, inner)
        if new_scope:
            self._leave_scope()
        if function is not None:
            self._finish_function(function)
        if owner is not None and isinstance(node, _OWN_BODY_TYPES):
            owner.nodes.append(node)

    def walk_statements(self, statements: list[Any], owner: _OwnBody | None, yields: _YieldLines | None) -> None:
        """`walk` of each of `statements` in a module where no call matters (see `collect_symbols`), statement by
        statement: only statements (and handlers and match cases) are visited, except a statement whose own
        expressions (a compound statement's header, decorators included) may hold a yield, which `walk` walks
        whole. Statements are never inside expressions, so every statement is still met, in the same order, and
        appended to its function's own nodes as it finishes, as `walk` does. `yields`: the lines holding the word
        `yield` (None: none of those `statements` span, nor any statement within them).

        This was `walk` itself, which on the generated repository visited 143,557 nodes (all but its 2,131
        modules statements) through its generic steps: 0.25 of `collect_symbols`' 1.86 s under cProfile."""
        for node in statements:
            if yields is not None and yields.may_hold_yield(node):
                self.walk(node, owner)
                continue
            kind = type(node)
            if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                function = self._enter_function(node)
                self.walk_statements(node.body, function, yields and yields.within(node))
                self._leave_scope()
                self._finish_function(function)
            elif kind is ast.ClassDef:
                self._enter_class(node)
                self.walk_statements(node.body, None, yields and yields.within(node))
                self._leave_scope()
            else:
                handler = _HANDLERS.get(kind)
                if handler is not None:
                    handler(self, node)
                fields = _STATEMENT_FIELDS.get(kind)
                if fields is None:
                    fields = _statement_fields(kind)
                for field_name in fields:
                    held = getattr(node, field_name, None)
                    if held:
                        self.walk_statements(held, owner, yields)
            if owner is not None and kind in _OWN_STATEMENT_KINDS:
                owner.nodes.append(node)

    # -- imports -------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "sqlalchemy":
                self.symbols.uses_sqlalchemy = True
            if alias.asname:
                self.symbols.imports[alias.asname] = alias.name
            else:
                first = alias.name.split(".")[0]
                self.symbols.imports.setdefault(first, first)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = resolve_relative(self.symbols.name, self.symbols.is_package, node.level, node.module)
        else:
            base = node.module or ""
        if base.split(".")[0] == "sqlalchemy":
            self.symbols.uses_sqlalchemy = True
        if not node.level and node.module:
            names = tuple(alias.name for alias in node.names)
            self.symbols.from_imports.append((node.lineno, node.col_offset, node.module, names))
        for alias in node.names:
            if alias.name == "*":
                self.symbols.star_imports.append(base)
                continue
            self.symbols.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    # -- declarations --------------------------------------------------------------------------
    def _qual(self, name: str) -> str:
        return f"{self._quals[-1]}.{name}"

    def _enter_scope(self, kind: str, name: str, qualname: str, cls: ClassSymbols | None) -> None:
        self.scope.append((kind, name))
        self._quals.append(qualname)
        self._classes.append(cls)
        self._functions += kind == "function"

    def _leave_scope(self) -> None:
        kind, _ = self.scope.pop()
        self._quals.pop()
        self._classes.pop()
        self._functions -= kind == "function"

    def _enclosing_function(self) -> str:
        """The qualname of the innermost function the walk is in, "" at module level."""
        depth = max((index + 1 for index, (kind, _) in enumerate(self.scope) if kind == "function"), default=0)
        return ".".join([self.symbols.name, *(name for _, name in self.scope[:depth])]) if depth else ""

    def _enclosing_class(self) -> ClassSymbols | None:
        """The class whose body the walk is in (not one of its methods'): the one recorded under its qualname, as
        no class or function in its body can record another under the same qualname (theirs are longer)."""
        return self._classes[-1]

    def _enter_class(self, node: ast.ClassDef) -> None:
        """Record the class and its class-level attributes; the caller walks the body, then leaves the scope."""
        qual = self._qual(node.name)
        self.symbols.classes[qual] = ClassSymbols(
            qualname=qual,
            name=node.name,
            module=self.symbols.name,
            bases=[self._kept(base) for base in node.bases],
            decorators=[self._kept(decorator) for decorator in node.decorator_list],
        )
        cls = self.symbols.classes[qual]
        keep = self._kept
        for stmt in node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                cls.attr_annotations[stmt.target.id] = keep(stmt.annotation)
                if stmt.value is not None:
                    cls.attr_values.setdefault(stmt.target.id, []).append(("<class>", keep(stmt.value)))
            elif isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        cls.attr_values.setdefault(target.id, []).append(("<class>", keep(stmt.value)))
        self._enter_scope("class", node.name, qual, cls)

    def _enter_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> _OwnBody:
        """Record the function; its returns and `self.x` assignments wait for the end of its walk."""
        cls = self._enclosing_class()
        qual = self._qual(node.name)
        params = self._params(node.args)  # kept before the decorators: the first node met of a text is the one kept
        keep = self._kept
        # Every field given by position, in the order they are declared (keywords and default factories made each
        # call 3.3 µs instead of 1.4, for each of the generated repository's 21,406 functions).
        func = FunctionSymbols(
            qual,  # qualname
            node.name,  # name
            self.symbols.name,  # module
            cls.qualname if cls else None,  # class_qualname
            type(node) is ast.AsyncFunctionDef,  # is_async
            [keep(decorator) for decorator in node.decorator_list],  # decorators
            params,  # params
            None if node.returns is None else keep(node.returns),  # returns
            node.lineno,  # lineno
            False,  # is_generator
            [],  # return_values
            [],  # yield_values
            self._functions > 0,  # nested_in_function
            node.end_lineno or node.lineno,  # end_lineno
            node,  # def_node
        )
        if cls is not None:
            cls.methods[node.name] = func
        self.symbols.functions[qual] = func
        self._enter_scope("function", node.name, qual, None)
        return _OwnBody(func, node, cls)

    def _params(self, args: ast.arguments) -> tuple[Param, ...]:
        """A function's parameters, positional then keyword-only, each one's annotation kept before its default."""
        keep = self._kept
        make = Param if self._shared is None else self._shared.param
        positional = [*args.posonlyargs, *args.args] if args.posonlyargs else args.args
        defaults = args.defaults
        undefaulted = len(positional) - len(defaults)  # the defaults belong to the last positional parameters
        params: list[Param] = []
        for index, arg in enumerate(positional):
            annotation = None if arg.annotation is None else keep(arg.annotation)
            default = keep(defaults[index - undefaulted]) if index >= undefaulted else None
            params.append(make(arg.arg, annotation, default))
        if args.kwonlyargs:  # rare: not even a `zip` for the others (with `strict`, a dict of keywords per call)
            for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                annotation = None if arg.annotation is None else keep(arg.annotation)
                params.append(make(arg.arg, annotation, None if kw_default is None else keep(kw_default)))
        return tuple(params) if self._shared is None else self._shared.signature(params)

    def _finish_function(self, own: _OwnBody) -> None:
        """Returns, yields and `self.x = ...` of a function whose walk is over.

        They used to be collected on entering the function; nothing reads them during the walk, and the
        only other state they touch (the class's attributes) gets no entries from nested functions, so
        collecting them at the end fills everything in the same order.
        """
        own.nodes.reverse()
        self_name = own.func.params[0].name if own.cls is not None and own.func.params else None
        _collect_returns(own.nodes, own.func, self._returned, self._kept, self_name)
        if own.cls is not None and own.func.params:
            _collect_self_attrs(own.nodes, own.node.name, own.func.params[0].name, own.cls, self._kept)
        if self._may_touch_state:
            _collect_state(own.nodes, own.func.qualname, self.symbols.state_values, self._kept)

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self.scope:
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.symbols.global_values[target.id] = node.value
                elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Call):
                    _collect_unpacked(target, node.value, self.symbols.global_values)
            if self._may_touch_state:
                _collect_state([node], "", self.symbols.state_values, self._kept)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not self.scope and self._may_touch_state:  # `setattr(app.state, "engine", engine)` at module level
            _collect_state([node], "", self.symbols.state_values, self._kept)

    def visit_Call(self, node: ast.Call) -> None:
        if any(k.arg in _LIFESPAN_KEYWORDS for k in node.keywords) or (
            isinstance(node.func, ast.Attribute) and node.func.attr in _LIFESPAN_METHODS
        ):
            self.symbols.lifespan_hooks = True
        if isinstance(node.func, ast.Attribute) and node.func.attr == _WEBSOCKET_METHOD:
            self.symbols.websocket_clients = True
        if isinstance(node.func, ast.Attribute) and node.func.attr == _STREAM_METHOD:
            self.symbols.streaming_clients = True
        if isinstance(node.func, ast.Attribute) and node.func.attr == _RUN_SYNC_METHOD and node.args:
            receiver = dotted_name(node.func.value)
            if receiver is None or receiver.split(".")[0] not in self.symbols.imports:  # not `anyio.to_thread`
                self.symbols.run_sync_callables.append((self._enclosing_function(), self._kept(node.args[0])))
        if len(node.args) >= 3 and (dotted_name(node.func) or "").rsplit(".", 1)[-1] == _LISTEN_FUNCTION:
            self.symbols.event_listen_calls.append((self._kept(node.func), self._kept(node.args[2])))

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not self.scope and isinstance(node.target, ast.Name):
            self.symbols.global_annotations[node.target.id] = node.annotation
            if node.value is not None:
                self.symbols.global_values[node.target.id] = node.value


# What a returned value the analysis infers nothing from is kept as (see `_callee_only`).
NOT_A_CALL: ast.expr = ast.Constant(value=None)


def _callee_only(value: ast.expr, call_of: Callable[[ast.expr], ast.Call]) -> ast.expr:
    """A returned value as the analysis reads it (`Project.return_type`: the type returned by a call of a dotted
    name, `a.b.c(...)`, resolved through the imports): such a call without its arguments, anything else (a call
    of a call's result, `db.query(X).first()`, included: it resolves to nothing) as `NOT_A_CALL`. The whole
    expression, a DTO built field by field or a query chain, would outlive its module's tree when the tree is let
    go (the returned values were 44% of the nodes the generated repo's symbols hold). `call_of`: a callee -> a call of
    it without arguments."""
    if isinstance(value, ast.Call) and dotted_name(value.func) is not None:
        return call_of(value.func)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Subscript) and dotted_name(value.func.value):
        return call_of(value.func.value)  # `HttpRepo[C, R](repo)` (mealie's mixins): an instance of the generic class
    return NOT_A_CALL


def _nested_functions(own_body: list[ast.AST]) -> set[str]:
    """The names of the functions a function defines in its own body, once each and never assigned otherwise."""
    defined: dict[str, int] = {}
    for node in own_body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defined[node.name] = defined.get(node.name, 0) + 1
    if not defined:
        return set()
    rebound = {
        name.id
        for node in own_body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for name in names_in(target)
    }
    return {name for name, count in defined.items() if count == 1 and name not in rebound}


# An expression to keep in the symbol tables -> the node kept for it (see `_SymbolCollector._kept`).
_Keep = Callable[[ast.expr], ast.expr]


def _unshared(node: ast.expr) -> ast.expr:
    """How an expression is kept when no `SharedExpressions` holds them: as it is."""
    return node


def _collect_returns(
    own_body: list[ast.AST], func: FunctionSymbols, returned: _Keep, keep: _Keep, self_name: str | None
) -> None:
    assigned: dict[str, ast.expr] = {}  # the locals assigned once: scanned for a `return <name>` only
    nested: set[str] | None = None  # the functions defined in this one's own body, bound once
    for child in own_body:
        kind = type(child)
        if kind is ast.Return and child.value is not None:  # type: ignore[attr-defined]
            value = child.value  # type: ignore[attr-defined]
            if type(value) is ast.Name:
                if not assigned:
                    assigned = RE.single_assignments(own_body)
                if nested is None:
                    nested = _nested_functions(own_body)
                if value.id in nested:
                    func.return_values.append(RE.nested_function_return(f"{func.qualname}.{value.id}"))
                    continue
            elif type(value) is ast.Tuple and not any(isinstance(e, ast.Starred) for e in value.elts):
                # `return factory, engine`: each element, for a module's `SessionLocal, engine = init(url)`
                elements = [keep(e) if isinstance(e, ast.Name) else returned(e) for e in value.elts]
                func.return_values.append(ast.Tuple(elts=elements, ctx=ast.Load()))
                continue
            if self_name is not None and _self_attribute_chain(value, self_name):
                func.return_values.append(keep(value))  # `return self.repos.users`, `return self`
                continue
            func.return_values.append(RE.kept_entity_return(value, assigned) or returned(value))
        elif kind is ast.Yield or kind is ast.YieldFrom:
            func.is_generator = True
            yielded = child.value  # type: ignore[attr-defined]
            if yielded is not None:
                func.yield_values.append(keep(yielded))


def _collect_unpacked(target: ast.Tuple, value: ast.Call, global_values: dict[str, ast.expr]) -> None:
    """`SessionLocal, engine = init(url)` (mealie's `db_setup`): each name holds `init(url)[i]`, the element the
    function returns at its place (see `Project.global_value_type`)."""
    if any(isinstance(e, ast.Starred) for e in target.elts):
        return
    for index, element in enumerate(target.elts):
        if isinstance(element, ast.Name):
            item = ast.Subscript(value=value, slice=ast.Constant(value=index), ctx=ast.Load())
            global_values[element.id] = ast.copy_location(item, value)


def _self_attribute_chain(value: ast.expr, self_name: str) -> bool:
    """`self`, `self.a.b`: a method's first parameter, or attributes read one after the other from it."""
    while isinstance(value, ast.Attribute):
        value = value.value
    return isinstance(value, ast.Name) and value.id == self_name


def _collect_self_attrs(
    own_body: list[ast.AST], method_name: str, self_name: str, cls: ClassSymbols, keep: _Keep
) -> None:
    for child in own_body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(child, ast.Assign):
            targets, value = child.targets, child.value
        elif isinstance(child, ast.AnnAssign):
            targets, value = [child.target], child.value
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == self_name
            ):
                if isinstance(child, ast.AnnAssign):
                    cls.attr_annotations.setdefault(target.attr, keep(child.annotation))
                if value is not None:
                    cls.attr_values.setdefault(target.attr, []).append((method_name, keep(value)))


def state_attribute(node: ast.expr) -> tuple[ast.expr, str] | None:
    """`request.state.db` -> (`request`, "db"); `request.app.state.engine` -> (`request.app`, "engine"): an
    attribute of the `state` of a name, or of a name's `app`. `getattr(request.state, "db")` reads the same, and so
    does `getattr(request.state, "db", None)`: what it gives when the attribute is there is the attribute."""
    kind = type(node)
    if kind is not ast.Attribute and kind is not ast.Call:  # most targets and returned values: a name
        return None
    read = getattr_read(node)
    if read is not None:
        node = read
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "state":
        owner = node.value.value
        if isinstance(owner, ast.Name) or (
            isinstance(owner, ast.Attribute) and owner.attr == "app" and isinstance(owner.value, ast.Name)
        ):
            return owner, node.attr
    return None


def getattr_read(node: ast.expr) -> ast.Attribute | None:
    """`getattr(x.state, "db")` / `getattr(x.state, "db", None)` as the attribute read `x.state.db` it spells (a
    literal name that is an identifier, a default of None); None for any other expression."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "getattr"
        and len(node.args) in (2, 3)
        and not node.keywords
    ):
        return None
    owner, name = node.args[0], node.args[1]
    if len(node.args) == 3 and not (isinstance(node.args[2], ast.Constant) and node.args[2].value is None):
        return None
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier()):
        return None
    if not (isinstance(owner, ast.Attribute) and owner.attr == "state"):
        return None
    return ast.Attribute(value=owner, attr=name.value, ctx=ast.Load())


def setattr_write(node: ast.expr) -> tuple[ast.Attribute, ast.expr] | None:
    """`setattr(x.state, "db", value)` as the assignment `x.state.db = value` it spells: (the target, the value),
    for a literal name that is an identifier (as `getattr_read`); None for any other expression."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "setattr"
        and len(node.args) == 3
        and not node.keywords
    ):
        return None
    owner, name, value = node.args
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str) and name.value.isidentifier()):
        return None
    if not (isinstance(owner, ast.Attribute) and owner.attr == "state"):
        return None
    return ast.Attribute(value=owner, attr=name.value, ctx=ast.Store()), value


def _collect_state(
    statements: list[ast.AST], qualname: str, found: dict[str, list[tuple[str, ast.expr, ast.expr]]], keep: _Keep
) -> None:
    """`request.state.db = value`, `app.state.engine = value` (or `setattr(request.state, "db", value)`) among a
    function's own statements (`qualname`) or at module level ("")."""
    for child in statements:
        kind = type(child)
        if kind is ast.Assign:
            targets, value = child.targets, child.value  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign and child.value is not None:  # type: ignore[attr-defined]
            targets, value = [child.target], child.value  # type: ignore[attr-defined]
        elif kind is ast.Expr and (written := setattr_write(child.value)) is not None:  # type: ignore[attr-defined]
            targets, value = [written[0]], written[1]
        else:
            continue
        for target in targets:
            assigned = state_attribute(target)
            if assigned is not None:
                found.setdefault(assigned[1], []).append((qualname, keep(assigned[0]), keep(value)))


# the node types with a handler, as plain functions: bound methods kept on the collector would make it a
# reference cycle, and with it the module's tree would outlive the walk until a garbage collection
_HANDLERS: dict[type, Callable[[_SymbolCollector, Any], None]] = {
    ast.Import: _SymbolCollector.visit_Import,
    ast.ImportFrom: _SymbolCollector.visit_ImportFrom,
    ast.Assign: _SymbolCollector.visit_Assign,
    ast.Expr: _SymbolCollector.visit_Expr,
    ast.AnnAssign: _SymbolCollector.visit_AnnAssign,
    ast.Call: _SymbolCollector.visit_Call,
}


# the fields of a node that hold statements (or handlers and match cases, which hold statements), in field order
_STATEMENT_FIELDS: dict[type, tuple[str, ...]] = {}
_STATEMENT_HOLDERS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})


def _statement_fields(kind: type) -> tuple[str, ...]:
    fields = _STATEMENT_FIELDS[kind] = tuple(f for f in kind._fields if f in _STATEMENT_HOLDERS)  # type: ignore[attr-defined]
    return fields


# the statements of `_OWN_BODY_TYPES` (the others are expressions, never met by `walk_statements`)
_OWN_STATEMENT_KINDS = frozenset(kind for kind in _OWN_BODY_TYPES if issubclass(kind, ast.stmt))


class _YieldLines:
    """The lines of a module holding the word `yield`: where a yield expression can be."""

    __slots__ = ("lines",)

    def __init__(self, text: str) -> None:
        self.lines = lines_holding(text, ("yield",))

    def may_hold_yield(self, node: ast.AST) -> bool:
        """Whether the node's own expressions (a statement's, or a compound statement's header, decorators
        included) may hold a yield: one of the lines they span holds the word."""
        if not self.lines or isinstance(node, ast.Module):
            return False
        body = getattr(node, "body", None)
        if isinstance(node, ast.match_case):
            first = node.pattern.lineno
        else:
            decorators = getattr(node, "decorator_list", None)
            first = min([node.lineno, *(d.lineno for d in decorators)]) if decorators else node.lineno  # type: ignore[attr-defined]
        # a compound statement's header ends on its body's first line at the latest (`if x: y` shares it)
        last = body[0].lineno if isinstance(body, list) and body else node.end_lineno  # type: ignore[attr-defined]
        index = bisect.bisect_left(self.lines, first)
        return index < len(self.lines) and self.lines[index] <= last

    def within(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> _YieldLines | None:
        """These lines, for the statements in the body of `node` (a def or class statement): None if none of them is
        within its lines (its decorators' aside: they are not in its body), so that none of those statements is
        checked. 531 of the generated repository's modules hold the word, mostly in a few `yield`ing dependencies."""
        index = bisect.bisect_left(self.lines, node.lineno)
        return self if index < len(self.lines) and self.lines[index] <= (node.end_lineno or node.lineno) else None


def collect_symbols(
    path: str, tree: ast.Module, text: str | None = None, shared: SharedExpressions | None = None
) -> ModuleSymbols:
    """The module's symbols. Given its `text`, a module in which no call matters (none of `_CALL_WORDS` in it)
    is walked statement by statement, and whole only under statements that may hold a yield: the same
    symbols, in the same order, from a fraction of the nodes. Given its text and `shared`, the expressions kept
    are those `shared` already holds for the same text (see `SharedExpressions`)."""
    name, is_package = module_name_for(path)
    symbols = ModuleSymbols(name=name, path=path, is_package=is_package)
    statements_only = text is not None and not any(map(text.__contains__, _CALL_WORDS))
    collector = _SymbolCollector(symbols, shared, text)
    if statements_only and text is not None:
        yields = _YieldLines(text)
        collector.walk_statements(tree.body, None, yields if yields.lines else None)
    else:
        collector.walk(tree, None)
    return symbols


# `request.state.db`, `request.state .db`, `request.\nstate.db` in parentheses, `getattr(request.state, "db")`; in a
# comment or string too (the analysis of a module that does not read one changes nothing)
_STATE_READ = re.compile(r"\.\s*state\s*[.,]")


def may_read_state(text: str) -> bool:
    """Whether a module's text may read an attribute of something's `state` (what a middleware stored on the
    request, `request.state.db`, or a lifespan on the application, `app.state.engine`): its `reads_state`, set by
    the parse (a full walk of every tree holding the word `state` took 2.3 s on the generated repository)."""
    return _STATE_READ.search(text) is not None


def names_bound_in(func: FunctionSymbols, nodes: list[ast.AST]) -> set[str]:
    """The names `func` binds in its own scope (`nodes`: its own nodes): parameters, assignment and loop targets,
    nested defs and classes, `except ... as`, imports other than SQLAlchemy's; not those declared global."""
    bound = {param.name for param in func.params}
    declared: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Import) or (
            isinstance(node, ast.ImportFrom) and not (node.module or "").startswith(("sqlalchemy", "sqlmodel"))
        ):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared |= set(node.names)
    return bound - declared
