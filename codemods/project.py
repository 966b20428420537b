"""The whole project's symbols: name resolution across modules, class hierarchies, declared types."""

from __future__ import annotations

import ast
import builtins
import sys
from collections.abc import Iterable

from codemods import returned_entities as RE
from codemods import sqla_names as N
from codemods.alembic_scripts import is_alembic_script
from codemods.astwalk import dotted_name, own_nodes
from codemods.blocking_calls import CLIENT_CLASSES, CLIENT_CONSTRUCTORS
from codemods.model import PytestAsyncioSettings
from codemods.run_sync_targets import KeptSync, run_sync_side
from codemods.symbols import ClassSymbols, FunctionSymbols, ModuleSymbols, names_bound_in, state_attribute
from codemods.types import (
    APP,
    ASYNC_SESSION,
    REQUEST,
    SQLMODEL_SESSION,
    SYNC_SESSION,
    BlockingClientType,
    ClassRef,
    ConnectionType,
    EngineType,
    FunctionRef,
    HttpClientType,
    Instance,
    InstanceChoice,
    InstanceList,
    InstanceMap,
    ModuleRef,
    ScopedSessionType,
    SessionFactoryType,
    SessionType,
    Type,
    WrappedContextManager,
    instances_of,
)

_MAX_ALIAS_HOPS = 8
# what an annotation may name wrongly (`-> Session` over `return sessionmaker(...)`, `SessionLocal: Session =
# sessionmaker(...)`): checked against the value, which wins (see `overrules_annotation`)
DATABASE_HANDLES = (SessionType, SessionFactoryType, EngineType, ConnectionType)
_SQLALCHEMY_PACKAGES = ("sqlalchemy.", "sqlmodel.")  # SQLModel's `select` is SQLAlchemy's
PROTOCOL_BASES = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


class Project:
    def __init__(self, modules: Iterable[ModuleSymbols], session_factories: Iterable[str] = ()) -> None:
        self.modules: dict[str, ModuleSymbols] = {m.name: m for m in modules}
        self.classes: dict[str, ClassSymbols] = {}
        self.functions: dict[str, FunctionSymbols] = {}
        for module in self.modules.values():
            self.classes.update(module.classes)
            self.functions.update(module.functions)
        # functions with a function nested in them: the nested ones read their locals' types (closures)
        self.enclosing_functions = frozenset(
            qualname.rsplit(".", 1)[0] for qualname, func in self.functions.items() if func.nested_in_function
        )
        self.extra_session_factories = frozenset(session_factories)
        self.pytest_asyncio = PytestAsyncioSettings()  # the target project's pytest-asyncio configuration
        # `backend.api.x` imported from a tree whose root is above `backend/` (module `target_backend.backend.api.x`)
        self._module_suffixes: dict[str, set[str]] = {}
        for name in self.modules:
            parts = name.split(".")
            for start in range(1, len(parts)):
                self._module_suffixes.setdefault(".".join(parts[start:]), set()).add(name)
        self._remap_cache: dict[str, str] = {}
        # name resolution reads only the symbol tables, which do not change once the project is built,
        # so its answers are memoised (the analysis asks the same few names over and over)
        self._canonical_cache: dict[str, str] = {}
        self._name_cache: dict[tuple[str, str], str] = {}
        self._dotted_cache: dict[tuple[str, str], str] = {}
        # the same nodes are resolved again and again (a callee, a decorator, an annotation): by the node, the
        # answer is one lookup instead of a walk of its dotted name first (nodes hash by identity; the entry keeps
        # the node alive, so no other node can take its id)
        self._node_cache: dict[ast.expr, tuple[str, str | None]] = {}
        # an annotation's type, likewise read from the symbol tables only, by the node (and its module: the symbols
        # share the nodes of one text between modules, see `symbols.SharedExpressions`); a string annotation is
        # parsed once
        self._annotation_cache: dict[tuple[str, ast.expr], Type | None] = {}
        self._declared_cache: dict[tuple[str, ast.expr], Type | None] = {}  # see `declared_type`
        self._mro_cache: dict[str, tuple[str, ...]] = {}
        self._protocols: dict[str, frozenset[str]] | None = None
        self._resolving: set[str] = set()
        self._return_cache: dict[str, Type | None] = {}
        self._subclasses: dict[str, set[str]] | None = None
        self._decorated: dict[str, list[str]] | None = None
        self._aliases: dict[frozenset[str], frozenset[str]] = {}
        self._stays_sync: dict[str, bool] = {}
        self._run_sync_targets: frozenset[str] | None = None
        self._has_relationships: dict[str, bool] = {}
        self._state: dict[tuple[str, str], Type | None] = {}
        self._local_names: dict[str, frozenset[str]] = {}  # function -> the names its own body binds
        self._module_bound: dict[str, frozenset[str]] = {}  # module -> see `module_bound_names`
        self._class_attributes: dict[tuple[str, str], Type | None] = {}  # see `class_attribute_type`

    # -- names -------------------------------------------------------------------------------------
    def resolve_name(self, module: str, name: str) -> str:
        """A name used in `module` -> the fully qualified name it refers to (best effort)."""
        key = (module, name)
        cached = self._name_cache.get(key)
        if cached is None:
            cached = self._name_cache[key] = self._resolve_name(module, name)
        return cached

    def _resolve_name(self, module: str, name: str) -> str:
        symbols = self.modules.get(module)
        if symbols is None:
            return name
        if name in symbols.imports:
            owner, _, attr = symbols.imports[name].rpartition(".")
            return self.attribute_of(owner, attr) if owner else self.canonical(attr)
        qual = f"{module}.{name}"
        if qual in self.classes or qual in self.functions or name in symbols.global_values:
            return qual
        starred = self._from_star_import(symbols, name)
        if starred is not None:
            return self.canonical(starred)
        return f"builtins.{name}" if name in _BUILTINS else qual

    def resolve_expr(self, module: str, node: ast.expr) -> str | None:
        known = self._node_cache.get(node)
        if known is not None and known[0] == module:
            return known[1]
        dotted = dotted_name(node)
        if dotted is None:
            resolved = None
        else:
            key = (module, dotted)
            resolved = self._dotted_cache.get(key)
            if resolved is None:
                resolved = self._dotted_cache[key] = self._resolve_dotted(module, dotted)
        self._node_cache[node] = (module, resolved)
        return resolved

    def forget_resolved_nodes(self) -> None:
        """Drop the answers kept by node (see `resolve_expr`): their keys hold the nodes, and with them parts of
        trees let go; the answers by dotted name stay, so asking again costs a walk of the node's name."""
        self._node_cache.clear()
        self._annotation_cache.clear()

    def _resolve_dotted(self, module: str, dotted: str) -> str:
        head, *rest = dotted.split(".")
        resolved = self.resolve_name(module, head)
        while rest and resolved in self.modules:
            resolved = self.attribute_of(resolved, rest.pop(0))
        return self.canonical(".".join([resolved, *rest]))

    def attribute_of(self, module: str, attr: str) -> str:
        """`module.attr` read as an attribute (a dotted expression, the name `from module import attr` binds).
        A package whose `__init__` rebinds the name of one of its submodules (`from .item import item`, the
        instance `item` of `item.py`) holds what it imported under that name, not the submodule."""
        qualname = f"{module}.{attr}"
        symbols = self.modules.get(module)
        if symbols is not None and symbols.is_package and qualname in self.modules and attr in symbols.imports:
            bound = self.canonical(symbols.imports[attr])
            if bound != qualname:
                return bound
        return self.canonical(qualname)

    def names_of(self, targets: frozenset[str]) -> frozenset[str]:
        """Every name a dotted path resolving to one of `targets` (canonical names) can end with: their own last
        parts, and each local name a module of the project imports one of them as (resolution renames the last
        part of a dotted path only through imports). Source that names none of these cannot refer to a target."""
        cached = self._aliases.get(targets)
        if cached is None:
            cached = self._aliases[targets] = frozenset(name.rsplit(".", 1)[-1] for name in targets) | frozenset(
                local
                for symbols in self.modules.values()
                for local, target in symbols.imports.items()
                if self.canonical(target) in targets
            )
        return cached

    def owning_module(self, dotted: str) -> str | None:
        """The longest prefix of a dotted name that is a module of the project (None when none is)."""
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            if prefix in self.modules:
                return prefix
        return None

    def remap_source_root(self, qualname: str) -> str:
        """An absolute import written against a source root below the project root: find its module."""
        cached = self._remap_cache.get(qualname)
        if cached is not None:
            return cached
        parts = qualname.split(".")
        result = qualname
        if parts[0] in sys.stdlib_module_names or parts[0] in self.modules:
            self._remap_cache[qualname] = result
            return result
        for end in range(len(parts), 1, -1):  # at least two components: `queue` alone is never remapped
            prefix = ".".join(parts[:end])
            if prefix in self.modules:
                break
            owners = self._module_suffixes.get(prefix)
            if owners is not None and len(owners) == 1:
                result = ".".join([next(iter(owners)), *parts[end:]])
                break
        self._remap_cache[qualname] = result
        return result

    def canonical(self, qualname: str) -> str:
        """Follow re-exports (`from .service import X` in a package `__init__`) to the definition."""
        cached = self._canonical_cache.get(qualname)
        if cached is None:
            cached = self._canonical_cache[qualname] = self._canonical(qualname)
        return cached

    def _canonical(self, qualname: str) -> str:
        qualname = self.remap_source_root(qualname)
        for _ in range(_MAX_ALIAS_HOPS):
            if qualname in self.classes or qualname in self.functions or qualname in self.modules:
                return qualname
            module, _, name = qualname.rpartition(".")
            symbols = self.modules.get(module)
            if symbols is None:
                # `pkg.mod.Class.attr`: resolve the longest known prefix.
                head, _, tail = module.rpartition(".")
                if head and head in self.modules and tail in self.modules[head].imports:
                    qualname = f"{self.modules[head].imports[tail]}.{name}"
                    continue
                return qualname
            if name in symbols.imports:
                qualname = self.remap_source_root(symbols.imports[name])
                continue
            starred = self._from_star_import(symbols, name)
            if starred is not None:
                qualname = starred
                continue
            return qualname
        return qualname

    def _from_star_import(self, symbols: ModuleSymbols, name: str) -> str | None:
        """`from .users import *` in `symbols`: the module that really defines `name`."""
        for source in symbols.star_imports:
            source = self.remap_source_root(source)
            other = self.modules.get(source)
            if other is None:
                continue
            qual = f"{source}.{name}"
            if qual in self.classes or qual in self.functions or name in other.global_values or name in other.imports:
                return qual
        return None

    # -- classes -------------------------------------------------------------------------------------
    def class_bases(self, cls: ClassSymbols) -> list[str]:
        """Resolved bases; `BaseRepo[User]` counts as `BaseRepo`."""
        bases = [base.value if isinstance(base, ast.Subscript) else base for base in cls.bases]
        return [b for b in (self.resolve_expr(cls.module, base) for base in bases) if b]

    def mro(self, qualname: str) -> tuple[str, ...]:
        """The class and its known ancestors, breadth first; memoised, as class hierarchies do not change."""
        cached = self._mro_cache.get(qualname)
        if cached is None:
            cached = self._mro_cache[qualname] = tuple(self._mro(qualname))
        return cached

    def _mro(self, qualname: str) -> list[str]:
        order: list[str] = []
        stack = [qualname]
        while stack:
            current = stack.pop(0)
            if current in order or current not in self.classes:
                continue
            order.append(current)
            stack.extend(self.class_bases(self.classes[current]))
        return order

    def decorated_by(self, decorator: str) -> list[str]:
        """The project functions `decorator` (a project function's qualname) is applied to, as `@decorator` or
        `@decorator(...)`."""
        if self._decorated is None:
            self._decorated = {}
            for qualname in sorted(self.functions):
                func = self.functions[qualname]
                for expr in func.decorators:
                    target = expr.func if isinstance(expr, ast.Call) else expr
                    resolved = self.resolve_expr(func.module, target)
                    if resolved in self.functions:
                        self._decorated.setdefault(resolved, []).append(qualname)
        return self._decorated.get(decorator, [])

    def subclasses(self, qualname: str) -> set[str]:
        if self._subclasses is None:
            self._subclasses = {}
            for cls in self.classes.values():
                for base in self.class_bases(cls):
                    self._subclasses.setdefault(base, set()).add(cls.qualname)
        out: set[str] = set()
        stack = [qualname]
        while stack:
            for sub in self._subclasses.get(stack.pop(), ()):
                if sub not in out:
                    out.add(sub)
                    stack.append(sub)
        return out

    def implemented_protocols(self, class_qualname: str) -> list[str]:
        """The project's `typing.Protocol` classes this class satisfies without naming them among its bases: it has
        every method they declare (structural typing, as a type checker sees it). A parameter typed with the
        protocol calls the class's methods, so they share a color with the protocol's."""
        if self._protocols is None:
            self._protocols = {}
            for qualname in sorted(self.classes):
                if PROTOCOL_BASES.isdisjoint(self.class_bases(self.classes[qualname])):
                    continue
                members = frozenset(
                    name
                    for ancestor in self.mro(qualname)
                    for name in self.classes[ancestor].methods
                    if not name.startswith("__")
                )
                if members:
                    self._protocols[qualname] = members
        if class_qualname in self._protocols:
            return []
        order = self.mro(class_qualname)
        return [
            protocol
            for protocol, members in self._protocols.items()
            if protocol not in order and all(self.lookup_method(class_qualname, name) for name in members)
        ]

    def lookup_method(self, class_qualname: str, name: str) -> FunctionSymbols | None:
        for cls in self.mro(class_qualname):
            method = self.classes[cls].methods.get(name) or _method_alias(self.classes[cls], name)
            if method is not None:
                return method
        return None

    def typevar_bound(self, qualname: str) -> str | None:
        """`Model = TypeVar("Model", bound=Base)`: the project class `Base` a value typed `Model` (or `type[Model]`)
        is a subclass of. A method called on it runs the method of whichever subclass it is (see
        `CallTargets._methods_under_bound`). None for anything else."""
        module, _, name = qualname.rpartition(".")
        symbols = self.modules.get(module)
        value = symbols.global_values.get(name) if symbols is not None else None
        if not (isinstance(value, ast.Call) and self.resolve_expr(module, value.func) in N.TYPE_VARS):
            return None
        bound = next((k.value for k in value.keywords if k.arg == "bound"), None)
        if isinstance(bound, ast.Constant) and isinstance(bound.value, str):
            try:
                bound = ast.parse(bound.value, mode="eval").body  # `bound="Base"`
            except SyntaxError:
                return None
        resolved = self.resolve_expr(module, bound) if bound is not None else None
        return resolved if resolved in self.classes else None

    def is_subclass_of_external(self, class_qualname: str, externals: frozenset[str]) -> bool:
        for cls in self.mro(class_qualname):
            if any(base in externals for base in self.class_bases(self.classes[cls])):
                return True
        return False

    # -- types ------------------------------------------------------------------------------------
    def type_of_qualname(self, qualname: str) -> Type | None:
        """What a fully qualified name denotes when used as a value."""
        if qualname in self._resolving:
            return None  # `x = x` / `a = b; b = a` at module level
        self._resolving.add(qualname)
        try:
            return self._type_of_qualname(qualname)
        finally:
            self._resolving.discard(qualname)

    def _type_of_qualname(self, qualname: str) -> Type | None:
        if qualname in N.SYNC_SESSION_CLASSES or qualname in N.ASYNC_SESSION_CLASSES:
            return None  # the class itself; its call gives a session (see call_result_type)
        if qualname in self.classes:
            return ClassRef(qualname)
        if qualname in self.functions:
            return FunctionRef(qualname)
        if qualname in self.modules:
            return ModuleRef(qualname)
        module, _, name = qualname.rpartition(".")
        symbols = self.modules.get(module)
        if symbols is not None and name in symbols.global_values:
            value = symbols.global_values[name]
            if name in symbols.global_annotations:
                declared = self.type_of_annotation(module, symbols.global_annotations[name])
                if declared is not None:
                    if not isinstance(declared, DATABASE_HANDLES):
                        return declared
                    assigned = self.global_value_type(module, value)
                    return assigned if overrules_annotation(assigned, declared) else declared
                if isinstance(value, (ast.Dict, ast.List, ast.Tuple)):
                    return None  # `dict[str, A | B]`: the annotation says what it holds, not its first values
            return self.global_value_type(module, value)
        return None

    def global_value_type(self, module: str, value: ast.expr) -> Type | None:
        if isinstance(value, ast.Call):
            return self.call_value_type(module, value)
        if (
            isinstance(value, ast.Subscript)
            and isinstance(value.value, ast.Call)
            and isinstance(value.slice, ast.Constant)
            and type(value.slice.value) is int
        ):
            return self._returned_element_type(module, value.value, value.slice.value)
        if isinstance(value, (ast.Name, ast.Attribute)):
            resolved = self.resolve_expr(module, value)
            return self.type_of_qualname(resolved) if resolved else None
        if isinstance(value, (ast.Dict, ast.List, ast.Tuple)):
            return self._literal_instances(module, value)
        return None

    def _literal_instances(self, module: str, value: ast.Dict | ast.List | ast.Tuple) -> Type | None:
        """`PLUGINS = {"audit": AuditPlugin()}`, `[AuditPlugin(), ...]` at module level: a mapping or a list of
        instances of one project class, or of one of several (`{"name": NamePlugin(), "count": CountPlugin()}`: left
        untyped until 2026-12-08), each value constructing it (`**other`, a starred element, a value of no project
        class: unknown)."""
        elements = value.values if isinstance(value, ast.Dict) else value.elts
        if isinstance(value, ast.Dict) and any(key is None for key in value.keys):
            return None
        classes: set[str] = set()
        for element in elements:
            kind = self.global_value_type(module, element) if isinstance(element, ast.Call) else None
            if not isinstance(kind, Instance) or kind.qualname not in self.classes:
                return None
            classes.add(kind.qualname)
        if not classes:
            return None
        qualnames = tuple(sorted(classes))
        return InstanceMap(qualnames) if isinstance(value, ast.Dict) else instances_of(qualnames)

    def _returned_element_type(self, module: str, call: ast.Call, index: int) -> Type | None:
        """`init(url)[index]`, `init` a project function whose every `return` is a tuple (`return factory,
        engine`): the type of the element at `index`, when the returns agree on it."""
        qualname = self.resolve_expr(module, call.func)
        func = self.functions.get(qualname) if qualname else None
        if func is None or func.is_generator or not func.return_values:
            return None
        kinds: set[Type | None] = set()
        for returned in func.return_values:
            if not isinstance(returned, ast.Tuple) or len(returned.elts) <= index:
                return None
            kinds.add(self.value_type_in(func.module, func, returned.elts[index]))
        return kinds.pop() if len(kinds) == 1 else None

    def class_attribute_type(self, class_qualname: str, attr: str) -> Type | None:
        """What a class attribute read through the class holds (`Store.factory`, `cls.factory`,
        `type(self).factory`) when it is a database handle or a session factory set in the class body
        (`factory = SessionLocal`): the type of its value there, which overrules a contradicting annotation. None
        for anything else, and for what the class body does not set (a mapped column or relationship reads as a
        column; `self.factory = ...` in a method is the instance's, not the class's). Memoised: every read of a
        model's column in a query (`User.id`) asks."""
        key = (class_qualname, attr)
        if key not in self._class_attributes:
            self._class_attributes[key] = self._class_attribute_type(class_qualname, attr)
        return self._class_attributes[key]

    def _class_attribute_type(self, class_qualname: str, attr: str) -> Type | None:
        for cls_name in self.mro(class_qualname):
            cls = self.classes[cls_name]
            values = [value for where, value in cls.attr_values.get(attr, []) if where == "<class>"]
            if not values:
                continue
            kinds = {self.global_value_type(cls.module, value) for value in values}
            assigned = kinds.pop() if len(kinds) == 1 else None
            declared = self.declared_type(cls.module, cls.attr_annotations.get(attr))
            if isinstance(declared, DATABASE_HANDLES) and not overrules_annotation(assigned, declared):
                assigned = declared if assigned is None else assigned
            return assigned if isinstance(assigned, DATABASE_HANDLES) else None
        return None

    def call_result_type(self, module: str, func: ast.expr) -> Type | None:
        """The type of `func(...)`, when `func` is a name we understand."""
        if isinstance(func, ast.Subscript):  # `CRUDBase[Item](Item)`: an instance of the generic class
            qual = self.resolve_expr(module, func.value)
            return Instance(qual) if qual in self.classes else None
        qual = self.resolve_expr(module, func)
        return None if qual is None else self.call_result_type_in(module, qual)

    def call_result_type_in(self, module: str, qual: str) -> Type | None:
        """`call_result_type_of_qualname`, for a call written in `module`: an Alembic script's own sessions and
        engines stay sync, so its calls of the sync constructors give nothing to migrate."""
        if qual in N.SYNC_API and self.stays_sync(module):
            return None
        return self.call_result_type_of_qualname(qual)

    def global_made_by(self, module: str, node: ast.expr, constructors: frozenset[str]) -> bool:
        """`node`, written in `module`, names a module global made by calling one of `constructors`
        (`app = Celery(...)`, `router = APIRouter(...)`)."""
        qualname = self.resolve_expr(module, node)
        if qualname is None or "." not in qualname:
            return False
        owner, name = qualname.rsplit(".", 1)
        symbols = self.modules.get(owner)
        value = symbols.global_values.get(name) if symbols is not None else None
        return isinstance(value, ast.Call) and self.resolve_expr(owner, value.func) in constructors

    def stays_sync(self, module: str) -> bool:
        """A module whose own sessions and engines stay sync: an Alembic script (see `codemods.alembic_scripts`)."""
        known = self._stays_sync.get(module)
        if known is None:
            symbols = self.modules.get(module)
            known = self._stays_sync[module] = symbols is not None and is_alembic_script(symbols)
        return known

    def kept_sync(self, module: ModuleSymbols) -> KeptSync:
        """What of `module` stays sync (see `run_sync_targets.KeptSync`): all of an Alembic script, the functions
        `run_sync()` calls synchronously elsewhere."""
        if is_alembic_script(module):
            return KeptSync(whole_module=True)
        return KeptSync(
            ranges=tuple(
                sorted(
                    (f.lineno, f.end_lineno or f.lineno)
                    for f in module.functions.values()
                    if self.runs_synchronously(f.qualname)
                )
            )
        )

    def function_stays_sync(self, func: FunctionSymbols) -> bool:
        """A function of a module that stays sync (`stays_sync`), or one `run_sync()` calls synchronously
        (`runs_synchronously`): the Connection / Session it is handed is the sync one."""
        return self.stays_sync(func.module) or self.runs_synchronously(func.qualname)

    def runs_synchronously(self, function: str) -> bool:
        """A project function handed to `conn.run_sync(fn)` / `session.run_sync(fn)` somewhere in the project, or
        one such a function hands the sync object on to (see `run_sync_targets.run_sync_side`): SQLAlchemy calls it
        synchronously, with a sync Connection / Session, in code that is already async. It stays as it is (made
        async, `run_sync` returned its coroutine unawaited: a silent wrong result). So does an event listener
        (`@event.listens_for(Session, "after_flush")`, `event.listen(Item, "after_insert", fn)`): the `AsyncSession`
        runs its sync `Session` inside, which calls the listener synchronously with that sync `Session` /
        `Connection` (mealie's `after_flush` listener opens `Session(bind=session.connection())`)."""
        if self._run_sync_targets is None:
            self._run_sync_targets = run_sync_side(self) | self._event_listeners()
        return function in self._run_sync_targets

    def _event_listeners(self) -> frozenset[str]:
        """The project functions registered as SQLAlchemy event listeners (see `runs_synchronously`)."""
        listeners = {
            qualname
            for name, symbols in self.modules.items()
            for called, target in symbols.event_listen_calls
            if self.resolve_expr(name, called) in N.EVENT_LISTEN
            and (qualname := self.resolve_expr(name, target)) in self.functions
        }
        listeners |= {
            func.qualname
            for func in self.functions.values()
            if any(
                isinstance(decorator, ast.Call) and self.resolve_expr(func.module, decorator.func) in N.EVENT_LISTEN
                for decorator in func.decorators
            )
        }
        return frozenset(listeners)

    def call_value_type(self, module: str, call: ast.Call) -> Type | None:
        """The type of `call`: `call_result_type`, and what `next(gen())` draws from a generator function (a
        session stored by `self.db = next(get_db())` is a session, whatever the review of the `next()` says)."""
        wrapped = self.wrapped_contextmanager(module, call)
        if wrapped is not None:
            return wrapped
        if self.resolve_expr(module, call.func) == "builtins.next" and len(call.args) == 1:
            inner = call.args[0]
            qual = self.resolve_expr(module, inner.func) if isinstance(inner, ast.Call) else None
            func = self.functions.get(qual) if qual else None
            if func is not None and func.is_generator:
                return self.return_type(func)
        return self.call_result_type(module, call.func)

    def wrapped_contextmanager(self, module: str, call: ast.Call) -> WrappedContextManager | None:
        """`contextmanager(get_db)` of a generator function of the project (letta's `db_context =
        contextmanager(get_db)`), else None."""
        if len(call.args) != 1 or call.keywords or not isinstance(call.args[0], (ast.Name, ast.Attribute)):
            return None
        if self.resolve_expr(module, call.func) != "contextlib.contextmanager":
            return None
        target = self.functions.get(self.resolve_expr(module, call.args[0]) or "")
        return WrappedContextManager(target.qualname) if target is not None and target.is_generator else None

    def call_result_type_of_qualname(self, qual: str) -> Type | None:
        if qual in N.SYNC_SESSION_CLASSES or qual in self.extra_session_factories or qual in N.OBJECT_SESSION:
            return SYNC_SESSION
        if qual in N.ASYNC_SESSION_CLASSES:
            return ASYNC_SESSION
        if qual in N.SQLMODEL_SESSION_CLASSES:
            return SQLMODEL_SESSION
        if qual in N.SYNC_SESSIONMAKERS or qual in N.SCOPED_SESSION:
            return SessionFactoryType(is_async=False)
        if qual in N.ASYNC_SESSIONMAKERS:
            return SessionFactoryType(is_async=True)
        if qual in N.ASYNC_SCOPED_SESSION:
            return ScopedSessionType(is_async=True)
        if qual in N.SYNC_CREATE_ENGINE:
            return EngineType(is_async=False)
        if qual in N.ASYNC_CREATE_ENGINE:
            return EngineType(is_async=True)
        if qual in N.ASGI_APPS:
            return APP
        if qual in _TEST_CLIENTS:
            return HttpClientType(is_async=False)
        if qual in _ASYNC_HTTP_CLIENTS:
            return HttpClientType(is_async=True)
        if qual in CLIENT_CONSTRUCTORS:
            return BlockingClientType(CLIENT_CONSTRUCTORS[qual])
        if qual in self.classes:
            return Instance(qual)
        if qual in self.functions:
            return self.return_type(self.functions[qual])
        value_type = self.type_of_qualname(qual)
        if isinstance(value_type, SessionFactoryType):
            return SessionType_for(value_type.is_async)
        if isinstance(value_type, WrappedContextManager):
            return self.return_type(self.functions[value_type.qualname])  # what the generator yields
        return None

    def type_of_annotation(self, module: str, ann: ast.expr | None, _depth: int = 0) -> Type | None:
        if ann is None:
            return None
        if _depth == 0:
            key = (module, ann)
            if key not in self._annotation_cache:
                self._annotation_cache[key] = self._type_of_annotation_in(module, ann, 0)
            return self._annotation_cache[key]
        return self._type_of_annotation_in(module, ann, _depth)

    def declared_type(self, module: str, ann: ast.expr | None) -> Type | None:
        """`type_of_annotation` of an annotation the symbol tables keep (a parameter's, a return's, a class
        attribute's): they keep its node as long as the project, so its answer is kept as long, by the node (not let
        go with the trees, as `type_of_annotation`'s are: the analysis asks for these with every function)."""
        if ann is None:
            return None
        key = (module, ann)
        if key not in self._declared_cache:
            self._declared_cache[key] = self.type_of_annotation(module, ann)
        return self._declared_cache[key]

    def _type_of_annotation_in(self, module: str, ann: ast.expr, _depth: int) -> Type | None:
        found = self._type_of_annotation(module, ann, _depth)
        if not isinstance(found, DATABASE_HANDLES) or found.is_async:
            return found
        return None if self.stays_sync(module) else found  # an Alembic script's own sync session stays as it is

    def _type_of_annotation(self, module: str, ann: ast.expr | None, _depth: int = 0) -> Type | None:
        if ann is None or _depth > _MAX_ALIAS_HOPS:
            return None
        if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
            try:
                ann = ast.parse(ann.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):  # X | None
            return self._union_type(module, ann, _depth)
        if isinstance(ann, ast.Subscript):
            origin = self.resolve_expr(module, ann.value) or ""
            args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            short = origin.rsplit(".", 1)[-1]
            if origin in N.SYNC_SESSIONMAKERS or origin in N.ASYNC_SESSIONMAKERS:  # `sessionmaker[Session]`
                return SessionFactoryType(is_async=origin in N.ASYNC_SESSIONMAKERS)
            if _is_union(origin):
                return self._union_type(module, ann, _depth)
            if origin in N.GENERIC_WRAPPERS or short == "Annotated":
                for arg in args[:1] if short == "Annotated" else args:
                    found = self.type_of_annotation(module, arg, _depth + 1)
                    if found is not None:
                        return found
                return None
            if origin in N.TYPE_OF or short in {"Type", "type"}:
                inner = self.resolve_expr(module, args[0]) if args else None
                return ClassRef(inner or "<typevar>")
            if origin in N.LIST_TYPES and len(args) == 1:
                classes = _classes_named(self.type_of_annotation(module, args[0], _depth + 1))
                return instances_of(classes) if classes else None
            if origin in N.TUPLE_TYPES and len(args) == 2 and isinstance(args[1], ast.Constant):
                if args[1].value is not Ellipsis:
                    return None
                classes = _classes_named(self.type_of_annotation(module, args[0], _depth + 1))  # `tuple[C, ...]`
                return instances_of(classes) if classes else None
            if origin in N.MAPPING_TYPES and len(args) == 2:
                classes = _classes_named(self.type_of_annotation(module, args[1], _depth + 1))  # `dict[str, C]`
                return InstanceMap(classes) if classes else None
            return None
        qual = self.resolve_expr(module, ann)
        if qual is None:
            return None
        if qual in N.SYNC_SESSION_CLASSES:
            return SYNC_SESSION
        if qual in N.ASYNC_SESSION_CLASSES:
            return ASYNC_SESSION
        if qual in N.SYNC_ENGINE_CLASSES:
            return EngineType(is_async=False)
        if qual in N.ASYNC_ENGINE_CLASSES:
            return EngineType(is_async=True)
        if qual in N.SQLMODEL_SESSION_CLASSES:
            return SQLMODEL_SESSION
        if qual in N.SYNC_CONNECTION_CLASSES or qual in N.ASYNC_CONNECTION_CLASSES:
            return ConnectionType(is_async=qual in N.ASYNC_CONNECTION_CLASSES)
        if qual in N.REQUEST_CLASSES:
            return REQUEST
        if qual in N.ASGI_APPS:
            return APP
        if qual in N.SYNC_SESSIONMAKERS or qual in N.ASYNC_SESSIONMAKERS:
            return SessionFactoryType(is_async=qual in N.ASYNC_SESSIONMAKERS)
        if qual in CLIENT_CLASSES:
            return BlockingClientType(CLIENT_CLASSES[qual])
        if qual in self.classes or self.typevar_bound(qual) is not None:
            return Instance(qual)  # a type variable stands for its bound's subclasses (see `typevar_bound`)
        # a module-level alias: `DbSession = Annotated[Session, Depends(get_db)]`
        owner, _, name = qual.rpartition(".")
        symbols = self.modules.get(owner)
        if symbols is not None and name in symbols.global_values:
            return self.type_of_annotation(owner, symbols.global_values[name], _depth + 1)
        return None

    def _union_members(self, module: str, ann: ast.expr) -> list[ast.expr]:
        """The members of `A | B | None` / `Union[A, B]` / `Optional[A]`, nested ones flattened, None left out, in
        the order written."""
        members: list[ast.expr] = []
        pending = [ann]
        while pending:
            node = pending.pop()
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
                pending += [node.right, node.left]
            elif isinstance(node, ast.Subscript) and _is_union(self.resolve_expr(module, node.value) or ""):
                pending += reversed(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
            elif not (isinstance(node, ast.Constant) and node.value is None):
                members.append(node)
        return members

    def _union_type(self, module: str, ann: ast.expr, _depth: int) -> Type | None:
        """`A | None`, `Optional[A]`: A's type. `A | B` of several project classes: an instance of one of them,
        unknown which (a method called on it is awaited only where every class's is async, else flagged). Typed
        as the first of them until 2026-12-08, `plugin: NamePlugin | LabelPlugin` awaited `plugin.on_user(...)`
        even when it was a LabelPlugin, whose method stayed sync (a TypeError at run time). Otherwise the first
        member that has a type, as before."""
        found = [self.type_of_annotation(module, member, _depth + 1) for member in self._union_members(module, ann)]
        classes = {kind.qualname for kind in found if isinstance(kind, Instance) and kind.qualname in self.classes}
        if len(classes) > 1:
            return InstanceChoice(tuple(sorted(classes)))
        return next((kind for kind in found if kind is not None), None)

    def generator_item_type(self, module: str, ann: ast.expr | None) -> Type | None:
        """`Generator[Session, None, None]` -> Session."""
        if isinstance(ann, ast.Subscript):
            origin = self.resolve_expr(module, ann.value) or ""
            if origin in N.GENERATOR_TYPES or origin.rsplit(".", 1)[-1] in {
                "Generator",
                "Iterator",
                "AsyncGenerator",
                "AsyncIterator",
                "Iterable",
            }:
                args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
                return self.type_of_annotation(module, args[0]) if args else None
        return None

    def return_type(self, func: FunctionSymbols) -> Type | None:
        """Declared or simply inferred return type (`return TrackService(db)`)."""
        if func.qualname in self._return_cache:
            return self._return_cache[func.qualname]
        self._return_cache[func.qualname] = None  # cycle guard
        result = self.declared_type(func.module, func.returns)
        if result is None and func.is_generator:
            result = self.generator_item_type(func.module, func.returns) or self._yielded_type(func)
        if not func.is_generator and (result is None or isinstance(result, DATABASE_HANDLES)):
            inferred = self._returned_type(func)
            if result is None or overrules_annotation(inferred, result):
                # a wrong annotation (`-> Session` over `return sessionmaker(...)`): every return says what the
                # callers really get, and their code was written against that (`get_factory()()`)
                result = inferred or result
        self._return_cache[func.qualname] = result
        return result

    def contradicted_return_annotation(self, func: FunctionSymbols) -> tuple[Type, Type] | None:
        """(declared, returned) when every `return` of `func` contradicts its return annotation, else None."""
        if func.is_generator or func.returns is None:
            return None
        declared = self.declared_type(func.module, func.returns)
        returned = self.return_type(func)
        if declared is None or returned is None or not overrules_annotation(returned, declared):
            return None
        return declared, returned

    def _returned_type(self, func: FunctionSymbols) -> Type | None:
        """The one type every `return` of `func` gives (None: unknown, or they disagree)."""
        values = [value for value in func.return_values if not RE.is_none_returned(value)]
        kinds = {self._returned_value_type(func, value) for value in values}
        if len(values) < len(func.return_values):  # `return None` beside `return user`: Optional[User]
            return self._mapped_objects(kinds.pop()) if len(kinds) == 1 else None
        return kinds.pop() if len(kinds) == 1 else None

    def _mapped_objects(self, kind: Type | None) -> Type | None:
        """`kind` when it is objects of a mapped class with relationships (whose reads may lazy-load), else None."""
        if isinstance(kind, (Instance, InstanceList)) and self.has_relationships(kind.qualname):
            return kind
        return None

    # -- what middleware and lifespans store on the request and the application -----------------------
    def is_request_param(self, func: FunctionSymbols, name: str) -> bool:
        """Parameter `name` of `func` is handed the request: annotated `Request` (or `WebSocket`), the request
        of a `BaseHTTPMiddleware.dispatch`, or the first parameter of an `@app.middleware("http")` function."""
        for index, param in enumerate(func.params):
            if param.name != name:
                continue
            if param.annotation is not None:
                return self.type_of_annotation(func.module, param.annotation) == REQUEST
            if index == 1 and func.name == "dispatch" and func.class_qualname in self.classes:
                return self.is_subclass_of_external(func.class_qualname, N.HTTP_MIDDLEWARE_BASES)
            return index == 0 and func.class_qualname is None and self._is_http_middleware(func)
        return False

    def _is_http_middleware(self, func: FunctionSymbols) -> bool:
        return any(
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Attribute)
            and decorator.func.attr == "middleware"
            and self.global_made_by(func.module, decorator.func.value, N.ASGI_APPS)
            for decorator in func.decorators
        )

    def state_owner(self, module: str, func: FunctionSymbols | None, owner: ast.expr) -> str | None:
        """Whose `state` `<owner>.state` is, written in `module` (in `func`, None at module level): "request" for a
        parameter handed the request; "app" for the application (a parameter annotated `FastAPI`, a module global
        made by `FastAPI(...)`, a request's `app`); None for anything else."""
        if isinstance(owner, ast.Attribute):  # `request.app`
            base = owner.value
            handed = func is not None and isinstance(base, ast.Name) and self.is_request_param(func, base.id)
            return "app" if handed else None
        if not isinstance(owner, ast.Name):
            return None
        param = next((p for p in func.params if p.name == owner.id), None) if func is not None else None
        if func is not None and param is not None:
            if self.is_request_param(func, owner.id):
                return "request"
            return "app" if self.type_of_annotation(module, param.annotation) == APP else None
        scope = self._binding_scope(func, owner.id)
        if scope is not None:  # a local (or an enclosing function's) named like the module's app is not that app
            return "app" if self._local_is_app(scope, owner.id) else None
        return "app" if self.global_made_by(module, owner, N.ASGI_APPS) else None

    def _binding_scope(self, func: FunctionSymbols | None, name: str) -> FunctionSymbols | None:
        """The function whose own scope binds `name` as read in `func`: `func` itself, or a function it is nested
        in (a closure); None when the name is the module's (or `func` is None: module level)."""
        while func is not None:
            if name in self._names_bound_in(func):
                return func
            enclosing = func.qualname.rpartition(".")[0] if func.nested_in_function else ""
            func = self.functions.get(enclosing)
        return None

    def module_bound_names(self, module: ModuleSymbols) -> frozenset[str]:
        """The names `module` binds at its top level to something of its own: its functions, classes and globals,
        and what it imports from outside SQLAlchemy (SQLModel's `select` is SQLAlchemy's), memoised (see
        `AnalyzerBase._shadowing_local`)."""
        known = self._module_bound.get(module.name)
        if known is None:
            bound = {
                qualname.rsplit(".", 1)[1]
                for qualname in [*module.functions, *module.classes]
                if qualname.rsplit(".", 1)[0] == module.name
            }
            bound |= set(module.global_values)
            outside = [local for local, target in module.imports.items() if not target.startswith(_SQLALCHEMY_PACKAGES)]
            bound |= set(outside)
            known = self._module_bound[module.name] = frozenset(bound)
        return known

    def _names_bound_in(self, func: FunctionSymbols) -> frozenset[str]:
        """The names a function's own body binds (see `symbols.names_bound_in`), memoised."""
        known = self._local_names.get(func.qualname)
        if known is None:
            nodes = own_nodes(func.node.body) if func.node is not None else []
            known = self._local_names[func.qualname] = frozenset(names_bound_in(func, nodes))
        return known

    def _local_is_app(self, func: FunctionSymbols, name: str) -> bool:
        """Local `name` of `func` holds an application: a parameter annotated `FastAPI`, a local annotated so, or one
        bound only by a call that gives one (`app = FastAPI()` in a `create_app()` factory)."""
        param = next((p for p in func.params if p.name == name), None)
        if param is not None:
            return self.type_of_annotation(func.module, param.annotation) == APP
        nodes = own_nodes(func.node.body) if func.node is not None else []
        annotations = [
            node.annotation
            for node in nodes
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name
        ]
        if annotations:
            return all(self.type_of_annotation(func.module, annotation) == APP for annotation in annotations)
        return self.local_value_types(func).get(name) == APP

    def state_type(self, owner: str, attr: str) -> Type | None:
        """What `request.state.<attr>` (`owner` "request") or `app.state.<attr>` ("app") holds: the one type every
        assignment of it in the project gives (`request.state.db = SessionLocal()` in a middleware,
        `app.state.engine = create_engine(...)` in a lifespan); None when they disagree or there is none."""
        key = (owner, attr)
        if key in self._state:
            return self._state[key]
        self._state[key] = None  # cycle guard: `app.state.factory = sessionmaker(bind=app.state.engine)`
        kinds: set[Type | None] = set()
        for symbols in self.modules.values():
            for qualname, assigned_to, value in symbols.state_values.get(attr, ()):
                func = self.functions.get(qualname) if qualname else None
                if (qualname and func is None) or self.state_owner(symbols.name, func, assigned_to) != owner:
                    continue
                kinds.add(self.value_type_in(symbols.name, func, value))
        found = kinds.pop() if len(kinds) == 1 else None
        self._state[key] = found
        return found

    def value_type_in(self, module: str, func: FunctionSymbols | None, value: ast.expr) -> Type | None:
        """The type of an expression written in `func` of `module` (None: at module level), as far as the symbols
        tell: what a `state` holds (`request.state.db`), a parameter's annotation, a local bound by a call, a call
        (of a factory kept on a `state` too: `request.app.state.SessionLocal()`), a global. What a function
        returns, yields or stores on a `state` is typed by it."""
        read = state_attribute(value)
        if read is not None:
            owner = self.state_owner(module, func, read[0])
            return self.state_type(owner, read[1]) if owner is not None else None
        if func is not None and isinstance(value, ast.Name):
            param = next((p for p in func.params if p.name == value.id), None)
            if param is not None:
                return self.type_of_annotation(module, param.annotation)
            local = self.local_value_types(func)
            if value.id in local:
                return local[value.id]
        if func is not None and isinstance(value, ast.Call) and state_attribute(value.func) is not None:
            return self._local_call_type(func, value.func)
        return self.global_value_type(module, value)

    def _returned_value_type(self, func: FunctionSymbols, value: ast.expr) -> Type | None:
        """A returned value's type, from what the symbols keep of it (see `symbols._callee_only`): a call of a named
        callee, an attribute of a `state`; anything else (a local, kept as `NOT_A_CALL`) is unknown."""
        nested = RE.nested_function_returned(value)
        if nested is not None:  # `return route`, a function defined in this one
            return FunctionRef(nested) if nested in self.functions else None
        if RE.is_local_object(value):  # `db_user = User(...); ...; return db_user`
            made = self.call_result_type(func.module, value.func)
            return made if isinstance(made, Instance) and self.has_relationships(made.qualname) else None
        if isinstance(value, (ast.Attribute, ast.Name)) and func.class_qualname in self.classes:
            return self._self_attribute_type(func, value)  # `return self.repos.users` (see `symbols._collect_returns`)
        entities = self._returned_entities(func, value)
        if entities is not None:
            return entities
        if isinstance(value, ast.Call) and state_attribute(value.func) is None and state_attribute(value) is None:
            return self.call_result_type(func.module, value.func)
        if isinstance(value, ast.Call) or state_attribute(value) is not None:
            return self.value_type_in(func.module, func, value)
        return None

    def _self_attribute_type(self, func: FunctionSymbols, value: ast.Attribute | ast.Name) -> Type | None:
        """`self` (a builder's `return self`: an instance of the method's class) or `self.repos.users` returned by a
        method: each attribute read from the instance of `func`'s class, through annotations, properties and the
        values assigned to it (mealie's `@cached_property def repo(self): return self.repos.users`, unannotated).
        Not of a class or static method, whose first parameter is no instance."""
        if any(self._decorator_name(func, d) in {"classmethod", "staticmethod"} for d in func.decorators):
            return None
        attrs: list[str] = []
        node: ast.expr = value
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if not (isinstance(node, ast.Name) and func.params and node.id == func.params[0].name):
            return None
        current: Type | None = Instance(func.class_qualname) if func.class_qualname else None
        for attr in reversed(attrs):
            if not isinstance(current, Instance) or current.qualname not in self.classes:
                return None
            current = self._instance_member_type(current.qualname, attr)
        return current

    def _instance_member_type(self, class_qualname: str, attr: str) -> Type | None:
        """What `instance.attr` gives: its annotation, what a property returns, or what every assignment stores
        (a constructor call, or a parameter annotated in the method assigning it)."""
        for cls_name in self.mro(class_qualname):
            cls = self.classes[cls_name]
            if attr in cls.attr_annotations:
                return self.declared_type(cls.module, cls.attr_annotations[attr])
            method = cls.methods.get(attr)
            if method is not None:
                if any(self._decorator_name(method, d) in {"property", "cached_property"} for d in method.decorators):
                    return self.return_type(method)
                return None
            values = cls.attr_values.get(attr, [])
            if values:
                kinds = {self._assigned_value_type(cls, where, value) for where, value in values}
                return kinds.pop() if len(kinds) == 1 else None
        return None

    def _decorator_name(self, func: FunctionSymbols, decorator: ast.expr) -> str:
        """The last part of what a decorator resolves to (`functools.cached_property` -> `cached_property`)."""
        return (self.resolve_expr(func.module, decorator) or "").rsplit(".", 1)[-1]

    def _assigned_value_type(self, cls: ClassSymbols, where: str, value: ast.expr) -> Type | None:
        if isinstance(value, ast.Call):
            return self.call_value_type(cls.module, value)
        method = cls.methods.get(where)
        if isinstance(value, ast.Name) and method is not None:
            param = next((p for p in method.params if p.name == value.id), None)
            if param is not None:
                return self.declared_type(cls.module, param.annotation)
        return None

    def _returned_entities(self, func: FunctionSymbols, value: ast.expr) -> Instance | InstanceList | None:
        """`db.query(User)...first()` / `.all()` / `db.get(User, pk)` returned by a function taking `db: Session`."""
        form = RE.entity_form(value)
        if form is None:
            return None
        session_name, entity, is_list = form
        param = next((p for p in func.params if p.name == session_name), None)
        if param is None or not isinstance(self.declared_type(func.module, param.annotation), SessionType):
            return None
        qualname = self.resolve_expr(func.module, entity)
        if qualname not in self.classes:
            return None
        return InstanceList(qualname) if is_list else Instance(qualname)

    def _yielded_type(self, func: FunctionSymbols) -> Type | None:
        """`db = SessionLocal(); yield db`, `with SessionLocal() as db: yield db`, `yield request.state.db`."""
        kinds = {self.value_type_in(func.module, func, value) for value in func.yield_values}
        return kinds.pop() if len(kinds) == 1 else None

    def relationship_loading(self, class_qualname: str, attr: str) -> str | None:
        """The `lazy=` strategy of relationship `attr` of a mapped class ("select" by default), else None."""
        for cls_name in self.mro(class_qualname):
            cls = self.classes[cls_name]
            for _, value in cls.attr_values.get(attr, []):
                if not isinstance(value, ast.Call):
                    continue
                if self.resolve_expr(cls.module, value.func) not in N.RELATIONSHIP:
                    return None
                for keyword in value.keywords:
                    if keyword.arg == "lazy" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
                return "select"
        return None

    def is_mapped_class(self, class_qualname: str) -> bool:
        """A project class mapped to a table: it (or a base) declares `__tablename__` or `__table__`."""
        return any(
            name in self.classes[cls_name].attr_values
            for cls_name in self.mro(class_qualname)
            for name in ("__tablename__", "__table__")
        )

    def has_relationships(self, class_qualname: str) -> bool:
        """Whether a class (or one of its bases) maps a relationship: reading one from its objects may lazy-load."""
        known = self._has_relationships.get(class_qualname)
        if known is None:
            known = self._has_relationships[class_qualname] = any(
                self.relationship_loading(class_qualname, attr) is not None
                for cls_name in self.mro(class_qualname)
                for attr in self.classes[cls_name].attr_values
            )
        return known

    def relationship_target(self, class_qualname: str, attr: str) -> str | None:
        """The mapped class a relationship points to, from `Mapped[list[Track]]` / `Mapped["Track"]`."""
        for cls_name in self.mro(class_qualname):
            cls = self.classes[cls_name]
            annotation = cls.attr_annotations.get(attr)
            if annotation is None:
                continue
            text = ast.unparse(annotation).replace('"', "").replace("'", "")
            for wrapper in ("Mapped[", "list[", "List[", "set[", "Set[", "Optional["):
                text = text.removeprefix(wrapper).removesuffix("]") if text.startswith(wrapper) else text
            name = text.split("|")[0].strip()
            try:
                target = self.resolve_expr(cls.module, ast.parse(name, mode="eval").body)
            except SyntaxError:
                return None
            return target if target in self.classes else None
        return None

    def relationship_is_collection(self, class_qualname: str, attr: str) -> bool:
        """From `Mapped[list[X]]` / `uselist=`; unknown counts as a collection (the safe side)."""
        for cls_name in self.mro(class_qualname):
            cls = self.classes[cls_name]
            for _, value in cls.attr_values.get(attr, []):
                if isinstance(value, ast.Call):
                    for keyword in value.keywords:
                        if keyword.arg == "uselist" and isinstance(keyword.value, ast.Constant):
                            return bool(keyword.value.value)
            annotation = cls.attr_annotations.get(attr)
            if annotation is not None:
                text = ast.unparse(annotation)
                inner = text.removeprefix("Mapped[").removesuffix("]") if text.startswith("Mapped[") else None
                if inner is not None:
                    return inner.split("[", 1)[0].rsplit(".", 1)[-1] in {
                        "list",
                        "List",
                        "set",
                        "Set",
                        "Sequence",
                        "Collection",
                        "WriteOnlyMapped",
                        "DynamicMapped",
                    }
        return True

    def local_value_types(self, func: FunctionSymbols) -> dict[str, Type | None]:
        """Flow-insensitive types of a function's locals bound by `x = call()` or `with call() as x`."""
        out: dict[str, Type | None] = {}
        if func.node is None:
            return out
        for node in ast.walk(func.node):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out[target.id] = self._local_value_type(func, node.value)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name) and isinstance(item.context_expr, ast.Call):
                        out[item.optional_vars.id] = self._local_value_type(func, item.context_expr)
        return out

    def _local_value_type(self, func: FunctionSymbols, call: ast.Call) -> Type | None:
        """What a local bound to `call` holds: what a `state` holds for `getattr(request.state, "db")`, else what
        the call gives (`_local_call_type`)."""
        read = state_attribute(call)
        if read is not None:
            owner = self.state_owner(func.module, func, read[0])
            return self.state_type(owner, read[1]) if owner is not None else None
        return self._local_call_type(func, call.func)

    def _local_call_type(self, func: FunctionSymbols, callee: ast.expr) -> Type | None:
        """What a call in `func` gives: `call_result_type`, and a session from a factory stored on a `state`
        (`db = request.app.state.SessionLocal()`)."""
        read = state_attribute(callee)
        if read is None:
            return self.call_result_type(func.module, callee)
        owner = self.state_owner(func.module, func, read[0])
        factory = self.state_type(owner, read[1]) if owner is not None else None
        return SessionType_for(factory.is_async) if isinstance(factory, SessionFactoryType) else None

    def dependency_type(self, module: str, default: ast.expr | None) -> Type | None:
        """`Depends(get_db)` -> what get_db yields or returns."""
        if not isinstance(default, ast.Call) or not default.args:
            return None
        if self.resolve_expr(module, default.func) not in N.FASTAPI_DEPENDS:
            return None
        target = self.resolve_expr(module, default.args[0])
        if target is None:
            return None
        if target in self.functions:
            return self.return_type(self.functions[target])
        return self.call_result_type_of_qualname(target)


def overrules_annotation(value_type: Type | None, declared: Type | None) -> bool:
    """A database handle annotated as another one (`SessionLocal: Session = sessionmaker(...)`, `-> Session` over
    `return sessionmaker(...)`): the value's type wins. What the name holds at run time, and what the code using it
    was written against (`SessionLocal()`, `with SessionLocal() as db`), is the value."""
    return (
        isinstance(declared, DATABASE_HANDLES) and isinstance(value_type, DATABASE_HANDLES) and value_type != declared
    )


def SessionType_for(is_async: bool) -> Type:
    return ASYNC_SESSION if is_async else SYNC_SESSION


_BUILTINS = frozenset(dir(builtins))
_TEST_CLIENTS = frozenset({"fastapi.testclient.TestClient", "starlette.testclient.TestClient"})
_ASYNC_HTTP_CLIENTS = frozenset({"httpx.AsyncClient", "httpx._client.AsyncClient"})


def _method_alias(cls: ClassSymbols, name: str) -> FunctionSymbols | None:
    """`fetch = get` in a class body: `obj.fetch()` calls the method `get`."""
    values = cls.attr_values.get(name, [])
    if len(values) == 1 and values[0][0] == "<class>" and isinstance(values[0][1], ast.Name):
        return cls.methods.get(values[0][1].id)
    return None


def _is_union(origin: str) -> bool:
    """`typing.Union` / `typing.Optional`, or a name ending so (resolved or not)."""
    return origin in N.UNION_TYPES or origin.rsplit(".", 1)[-1] in {"Optional", "Union"}


def _classes_named(element: Type | None) -> tuple[str, ...] | None:
    """The project classes an element of a container annotation is an instance of (`list[C]`, `dict[str, A | B]`):
    one, or several (an instance of one of them: typed as the first until 2026-12-08, or left untyped); None for
    anything else."""
    if isinstance(element, Instance):
        return (element.qualname,)
    if isinstance(element, InstanceChoice) and not element.is_list:
        return element.qualnames
    return None
