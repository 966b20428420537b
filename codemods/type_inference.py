"""What type an expression has inside one function: sessions, engines, queries and what they load.

`TypeInference.type_of` types a node from the locals' types (`env`), the project's symbols and what a call of a
project function returns; a Query's type carries what it selects and the loader options it holds, which the lazy
read checks (`loader_options`) and the query rewrites (`query_visits`) read. Apart from the walk: it records
nothing, it only answers.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codemods import astwalk
from codemods import blocking_calls as B
from codemods import pytest_support as T
from codemods import queries as Q
from codemods import sqla_names as N
from codemods.analyzer_base import AnalyzerBase
from codemods.argument_hints import _argument_hints, passed_class
from codemods.astwalk import dotted_name, own_nodes
from codemods.decorator_wrappers import stored_keywords
from codemods.function_facts import CONTEXTMANAGER
from codemods.project import DATABASE_HANDLES, Project, overrules_annotation
from codemods.symbols import FunctionSymbols, getattr_read
from codemods.types import (
    APP,
    APP_STATE,
    DB_HANDLES,
    REQUEST_STATE,
    AppType,
    BlockingClientType,
    ClassRef,
    ColumnLoad,
    ColumnRef,
    ConnectionType,
    EngineType,
    FunctionRef,
    GeneratorRef,
    HttpClientType,
    Instance,
    InstanceChoice,
    InstanceList,
    InstanceMap,
    InstancePairs,
    LoadedEntities,
    LoadedRows,
    MappedClassChoice,
    ModuleRef,
    QueryType,
    RequestType,
    SessionFactoryType,
    SessionType,
    StateType,
    TransactionType,
    Type,
    WrappedContextManager,
    instances_of,
    proxied_session,
)

_NOT_TYPED = object()  # no entry in the type memo yet (None is a type: unknown)


def _column_options_of(query: QueryType, entity: tuple[str, str]) -> tuple[ColumnLoad, ...]:
    """The column options of a query selecting several entities that are about one of them: those naming it
    (`load_only(User.name)` leaves Address's columns alone); one whose text names none of the selected entities
    (`models.User.name`) by its class; one whose attributes name no class, or several, about every entity."""
    named = {selected[1] for selected in query.entities if selected and selected[1]}
    return tuple(
        option
        for option in query.column_options
        if option.entity_src == entity[1] or (option.entity_src not in named and option.qualname in {None, entity[0]})
    )


def _call_root(node: ast.Call) -> ast.expr:
    """`exists().where(x)` -> the `exists` name at the root of a method chain."""
    current: ast.expr = node
    while isinstance(current, ast.Call):
        func = current.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            current = func.value
        else:
            return func
    return current


def _is_property(project: Project, func: FunctionSymbols) -> bool:
    """`@property` / `@cached_property`: reading the attribute runs the method and gives what it returns."""
    for decorator in func.decorators:
        resolved = project.resolve_expr(func.module, decorator) or ""
        if resolved.rsplit(".", 1)[-1] in {"property", "cached_property"}:
            return True
    return False


def _is_contextmanager(project: Project, func: FunctionSymbols) -> bool:
    return any(
        (project.resolve_expr(func.module, d.func if isinstance(d, ast.Call) else d) or "") in CONTEXTMANAGER
        for d in func.decorators
    )


# 2.0-style reads giving mapped objects (see `TypeInference._selected_objects`): terminal -> nothing else
_SELECT_TERMINALS = frozenset({"one", "first", "one_or_none", "all", "scalar_one", "scalar_one_or_none", "scalar"})
# what a `select(M)` statement may be built with and still give objects of M, once each
_STATEMENT_METHODS = frozenset(
    {
        *("where", "filter", "filter_by", "order_by", "limit", "offset", "options", "execution_options", "distinct"),
        *("join", "outerjoin", "join_from", "outerjoin_from", "select_from"),  # the rows still give objects of M
    }
)
_SELECT_FUNCTIONS = frozenset(
    {"sqlalchemy.select", "sqlalchemy.sql.select", "sqlalchemy.sql.expression.select", "sqlalchemy.future.select"}
)


def _skip_unique(node: ast.expr) -> ast.expr:
    """`result.unique()` stands for `result`."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "unique"
        and not node.args
        and not node.keywords
    ):
        node = node.func.value
    return node


class TypeInference(AnalyzerBase):
    """Types of expressions (see the module's docstring)."""

    def _owner_type(self, method: ast.Attribute) -> Type | None:
        """The type of the object a method is called on (`owner.method(...)`), an async scoped session standing for
        the session it proxies (see `types.proxied_session`)."""
        return proxied_session(self.type_of(method.value), method.attr)

    def type_of(self, node: ast.expr) -> Type | None:
        memo = self._type_memo
        if memo is None:
            return self._type_of(node)
        key = id(node)
        known = memo.get(key, _NOT_TYPED)
        if known is _NOT_TYPED:
            known = memo[key] = self._type_of(node)
        return known  # type: ignore[return-value]

    def _type_of(self, node: ast.expr) -> Type | None:
        if isinstance(node, ast.Name):
            if self._env_reads is not None:
                self._env_reads.add(node.id)
            if node.id in self.env:
                return self.env[node.id]
            return self.project.type_of_qualname(self.project.resolve_name(self.module.name, node.id))
        if isinstance(node, ast.Attribute):
            return self._attribute_type(node)
        if isinstance(node, ast.Call):
            return self._call_type(node)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return self._literal_type(node)
        if isinstance(node, ast.Dict):
            return self._dict_literal_type(node)
        if isinstance(node, ast.Await):
            awaited = self.type_of(node.value) if isinstance(node.value, ast.Call) else None
            # `tx = await db.begin_nested()`: still a transaction (check flags its unawaited `tx.rollback()`)
            return awaited if isinstance(awaited, TransactionType) else None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and type(node.slice.value) is int:
            return self._element_type(node.value, node.slice.value)  # see _infer_locals
        if isinstance(node, ast.Subscript) and (element := self._keyed_element_type(node)) is not None:
            return element
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            return self._stored_keyword_type(node.value, node.slice.value)  # `kwargs["db_session"]`
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return self._factory_or_none(node.values)  # `factory or SessionLocal`
        if isinstance(node, ast.IfExp):
            return self._factory_or_none([node.body, node.orelse])  # `factory if factory else SessionLocal`
        return None

    def _keyed_element_type(self, node: ast.Subscript) -> Instance | InstanceChoice | None:
        """`PLUGINS[slug]` of a mapping of instances of a project class (`dict[str, BasePlugin]`), `plugins[i]` of
        a list of them: one instance. Not with an int literal: that one stands for an element iterated (see
        `_infer_locals`), and iterating a mapping gives its keys."""
        if isinstance(node.slice, ast.Slice):
            return None
        container = self.type_of(node.value)
        if isinstance(container, InstanceMap):
            return container.value
        if isinstance(container, InstanceList):
            return Instance(container.qualname)
        if isinstance(container, InstanceChoice) and container.is_list:  # `plugins[i]` of a `list[A | B]`
            return replace(container, is_list=False)
        return None

    def _mapping_method_type(self, mapping: InstanceMap, node: ast.Call) -> Type | None:
        """`.values()`, `.get(key)` (default None or another instance of the class, or of one of the classes) and
        `.items()` of a mapping of instances of a project class, or of one of several."""
        assert isinstance(node.func, ast.Attribute)
        method, args = node.func.attr, node.args
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in args):
            return None
        if method == "values" and not args:
            return instances_of(mapping.qualnames)
        if method == "items" and not args:
            return InstancePairs(mapping.qualnames)
        if method == "get" and len(args) == 1:
            return mapping.value
        if method == "get" and len(args) == 2:
            default = args[1]
            if isinstance(default, ast.Constant) and default.value is None:
                return mapping.value
            kind = self.type_of(default)
            return mapping.value if isinstance(kind, Instance) and kind.qualname in mapping.qualnames else None
        return None

    def _stored_keyword_type(self, mapping: ast.expr, key: str) -> Type | None:
        """`kwargs["db_session"]` in a function whose own body stores a database handle there, the same kind each
        time (`kwargs["db_session"] = db_session`, Netflix dispatch's `@background_task` wrapper): that handle."""
        own = self.func.node if self.func is not None else None
        if own is None or own.args.kwarg is None or not isinstance(mapping, ast.Name):
            return None
        if mapping.id != own.args.kwarg.arg or key in self._stored_keys_typed:
            return None  # typed already up the stack: `kwargs["headers"] = f(kwargs["headers"])`
        self._stored_keys_typed.add(key)
        try:
            stored = stored_keywords(own_nodes(own.body), mapping.id)
            kinds = {self.type_of(value) for name, value in stored if name == key}
        finally:
            self._stored_keys_typed.discard(key)
        if len(kinds) == 1 and isinstance(kind := next(iter(kinds)), DB_HANDLES):
            return kind
        return None

    def _factory_or_none(self, operands: list[ast.expr]) -> SessionFactoryType | None:
        """`(factory or SessionLocal)()`, `factory if factory is not None else SessionLocal`: a session factory
        when every operand is one (the same kind) or None (`None`, an untyped parameter defaulting to None that no
        caller hands anything but that factory, and that the function rebinds only to such an expression). Calling
        the None raises TypeError before the migration and after it; any other value could be anything, and leaves
        the expression untyped."""
        factories: set[SessionFactoryType] = set()
        for operand in operands:
            kind = self.type_of(operand)
            if isinstance(kind, SessionFactoryType):
                factories.add(kind)
            elif kind is not None or not self._is_none_or_unset(operand):
                return None
        return factories.pop() if len(factories) == 1 else None

    def _is_none_or_unset(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return node.value is None
        if not isinstance(node, ast.Name) or self.func is None:
            return False
        param = next((p for p in self.func.params if p.name == node.id), None)
        if not (
            param is not None
            and param.annotation is None
            and isinstance(param.default, ast.Constant)
            and param.default.value is None
        ):
            return False
        passed = _argument_hints(self.func.qualname, param.name)
        if any(not isinstance(hint, SessionFactoryType) for hint in passed):
            return False
        defaulted = {  # `factory = factory or SessionLocal`: rebound to itself or a default (see _infer_locals)
            id(own.targets[0])
            for own in self._own_nodes()
            if isinstance(own, ast.Assign)
            and len(own.targets) == 1
            and isinstance(own.targets[0], ast.Name)
            and own.targets[0].id == node.id
            and isinstance(own.value, (ast.BoolOp, ast.IfExp))
        }
        return not any(
            isinstance(own, ast.Name)
            and own.id == node.id
            and not isinstance(own.ctx, ast.Load)
            and id(own) not in defaulted
            for own in self._own_nodes()
        )

    def _element_type(self, container_node: ast.expr, index: int) -> Type | None:
        """`container[index]`: an element of a loaded list or of a query iterated, a position of a row."""
        container = self.type_of(container_node)
        if isinstance(container, InstancePairs):  # `for slug, plugin in PLUGINS.items()`
            if container.is_list:
                return replace(container, is_list=False) if index == 0 else None
            return container.value if index in {1, -1} else None
        if isinstance(container, LoadedRows):
            if container.is_list:
                return replace(container, is_list=False)
            return container.columns[index] if -len(container.columns) <= index < len(container.columns) else None
        if index != 0:
            return None
        if isinstance(container, InstanceList):
            return Instance(container.qualname)
        if isinstance(container, InstanceChoice) and container.is_list:
            return replace(container, is_list=False)
        if isinstance(container, LoadedEntities) and container.is_list:
            return replace(container, is_list=False)
        if isinstance(container, QueryType) and container.entity is not None:
            return self._loaded_entities(container, container.entity, container_node, is_list=False)
        if isinstance(container, QueryType) and container.entity_choice:
            return InstanceChoice(container.entity_choice)
        if isinstance(container, QueryType) and len(container.entities) > 1 and any(container.entities):
            return self._loaded_rows(container, container_node, is_list=False)
        statement = self._scalars_statement(container_node)  # `for user in db.scalars(select(User))`
        return self._statement_objects(statement, is_list=False) if statement is not None else None

    def _loaded_entities(
        self, query: QueryType, entity: tuple[str, str], node: ast.expr, is_list: bool
    ) -> LoadedEntities | Instance | InstanceList:
        """The objects of a query selecting one entity, loaded by the query ending at `node`. Where the entity has no
        name to write a loader option with (`db.query(aliased(User))`: another `aliased(User)` in the option is
        another alias, which raises ArgumentError), plain instances, whose lazy reads are flagged."""
        qualname, entity_src = entity
        if not entity_src:
            return InstanceList(qualname) if is_list else Instance(qualname)
        span = self.spans.span(node)
        return LoadedEntities(qualname, entity_src, span, is_list, query.eager, column_options=query.column_options)

    def _loaded_rows(self, query: QueryType, node: ast.expr, is_list: bool) -> LoadedRows:
        """The rows of a query selecting several elements, loaded by the query ending at `node`: each entity's
        objects, with the loader options naming that entity (`selectinload(User.orders)` is not about Address)."""
        columns: list[LoadedEntities | Instance | None] = []
        for entity in query.entities:
            if entity is None:
                columns.append(None)
            elif not entity[1]:
                columns.append(Instance(entity[0]))  # no name to write its loader option with: flagged
            else:
                eager = frozenset(attr for owner, attr in query.eager_of if owner == entity[1])
                span = self.spans.span(node)
                options = _column_options_of(query, entity)
                columns.append(LoadedEntities(entity[0], entity[1], span, False, eager, column_options=options))
        return LoadedRows(tuple(columns), is_list)

    def _literal_type(self, node: ast.List | ast.Tuple | ast.Set) -> Type | None:
        """`[UserRepo(db), ItemRepo(db)]`: instances of project classes, every element (a starred one or any other
        value: unknown). Of one class, a list of its instances; of several, a list of choices among them."""
        classes = self._classes_of_instances(node.elts)
        return instances_of(classes) if classes else None

    def _dict_literal_type(self, node: ast.Dict) -> InstanceMap | None:
        """`{"audit": AuditPlugin(), "mail": AuditPlugin(db)}`: a mapping of instances of one project class, or of
        several (`{"name": NamePlugin(), "count": CountPlugin()}`: a value is one of them, unknown which; left
        untyped until 2026-12-08, its calls were neither awaited nor flagged). A `**other`, or a value of no project
        class: unknown."""
        if any(key is None for key in node.keys):
            return None
        classes = self._classes_of_instances(node.values)
        return InstanceMap(classes) if classes else None

    def _classes_of_instances(self, values: list[ast.expr]) -> tuple[str, ...] | None:
        """The project classes the values are instances of, sorted; None as soon as one is no such instance (a
        starred element, any other value). The values after it are not typed: typing every value of a response
        dict (`{"id": track.id, ...}`) whose first is no instance was ~5% of `check`'s CPU on the generated
        repository."""
        classes: set[str] = set()
        for value in values:
            kind = self.type_of(value)
            if not isinstance(kind, Instance) or kind.qualname not in self.project.classes:
                return None
            classes.add(kind.qualname)
        return tuple(sorted(classes))

    def _attribute_type(self, node: ast.Attribute) -> Type | None:
        if self._attribute_slots:
            stored = self._attribute_slots.get(dotted_name(node) or "")
            if stored is not None:
                return stored
        owner = proxied_session(self.type_of(node.value), node.attr)
        if isinstance(owner, RequestType):
            if node.attr == "app":
                return APP
            return REQUEST_STATE if node.attr == "state" else None
        if isinstance(owner, AppType):
            return APP_STATE if node.attr == "state" else None
        if isinstance(owner, StateType):
            # `request.state.db` stored by a middleware, `app.state.engine` by a lifespan
            return self.project.state_type(owner.owner, node.attr)
        if isinstance(owner, LoadedEntities) and not owner.is_list:
            return self._loaded_relationship_type(owner, node.attr)
        if isinstance(owner, Instance):
            return self._instance_attr_type(owner.qualname, node.attr)
        if isinstance(owner, InstanceChoice) and not owner.is_list:
            # what every one of the classes gives (`repo.db` of repositories that all keep a session)
            kinds = {self._instance_attr_type(qualname, node.attr) for qualname in owner.qualnames}
            return kinds.pop() if len(kinds) == 1 else None
        if isinstance(owner, ModuleRef):
            return self.project.type_of_qualname(self.project.attribute_of(owner.name, node.attr))
        if isinstance(owner, ClassRef):
            method = self.project.lookup_method(owner.qualname, node.attr)
            if method is not None:
                return FunctionRef(method.qualname)
            if owner.qualname in self.project.classes:
                held = self.project.class_attribute_type(owner.qualname, node.attr)
                if held is not None:
                    return held  # `Store.factory`, `cls.factory`: a session factory the class body keeps
                cls = self.project.classes[owner.qualname]
                for _, value in cls.attr_values.get(node.attr, []):
                    if isinstance(value, (ast.Name, ast.Attribute)):
                        ref = self.project.resolve_expr(cls.module, value)
                        if ref and ref in self.project.classes:
                            return ClassRef(ref)
            return ColumnRef()
        if isinstance(owner, ColumnRef):
            return ColumnRef()  # `subq.c.total`
        if owner is None:
            resolved = self.project.resolve_expr(self.module.name, node)
            if resolved is not None:
                return self.project.type_of_qualname(resolved)
        return None

    def _merge_loaded(self, kinds: set[Type | None], values: list[ast.expr]) -> Type | None:
        """One variable assigned objects of one mapped class in several places (`user = db.get(User, 1)` in one
        branch, a query in the other): the loaded objects of every query, so that each one gets the loader options
        of the relationships read from it. Objects built there (`user = User(name=...)`) keep the relationships
        their constructor sets; a read of another one is flagged (after a flush it lazy-loads)."""
        objects = [k for k in kinds if isinstance(k, (LoadedEntities, Instance))]
        if len(objects) != len(kinds) or len({k.qualname for k in objects}) != 1:
            return None
        loaded = sorted((k for k in objects if isinstance(k, LoadedEntities)), key=lambda k: k.span)
        if not loaded or any(k.is_list for k in loaded) or len({(k.entity_src, k.path) for k in loaded}) != 1:
            return Instance(objects[0].qualname) if not any(getattr(k, "is_list", False) for k in objects) else None
        constructed = None
        if len(loaded) != len(objects):
            built = [v for v in values if isinstance(self.type_of(v), Instance)]
            calls = [v for v in built if isinstance(v, ast.Call) and isinstance(self.type_of(v.func), ClassRef)]
            if len(calls) != len(built):
                return Instance(objects[0].qualname)  # an Instance from elsewhere (a helper, an attribute)
            # the keywords it names (`**fields` may set more, never fewer)
            constructed = frozenset.intersection(*(frozenset(k.arg for k in v.keywords if k.arg) for v in calls))
        spans = tuple(span for k in loaded for span in (k.span, *k.other_spans))
        eager = frozenset.intersection(*(k.eager for k in loaded))
        return replace(loaded[0], span=spans[0], eager=eager, other_spans=spans[1:], constructed=constructed)

    def _loaded_relationship_type(self, owner: LoadedEntities, attr: str) -> Type | None:
        """`user.orders` of a user this function's query loaded, a lazy relationship that query gets a
        `selectinload` for: the objects it loads, so that a relationship read from them (`order.lines`) gets the
        nested option. Flagged instead (a plain Instance) where the target class has no name in this module.

        A relationship the query's own options load keeps their strategy: `defaultload(User.orders).selectinload(...)`
        (a second strategy for one path raises). The names those options load, at any depth, count as loaded."""
        loading = self.project.relationship_loading(owner.qualname, attr)
        if loading not in N.LAZY_LOADING or loading == "dynamic":
            return None
        target = self.project.relationship_target(owner.qualname, attr)
        if target is None:
            return None
        is_list = self.project.relationship_is_collection(owner.qualname, attr)
        name = self._local_name_of(target)  # `from models import Order as OrderModel`: OrderModel
        if name is None:
            return InstanceList(target) if is_list else Instance(target)
        loader = "defaultload" if attr in owner.eager else "selectinload"
        option = f"{loader}({owner.entity_src}.{attr})"
        path = f"{owner.path}.{option}" if owner.path else option
        return LoadedEntities(target, name, owner.span, is_list, owner.eager, owner.other_spans, path)

    def _instance_attr_type(self, class_qualname: str, attr: str) -> Type | None:
        if self.project.relationship_loading(class_qualname, attr) is not None:
            target = self.project.relationship_target(class_qualname, attr)
            if target is None:
                return None
            if self.project.relationship_is_collection(class_qualname, attr):
                return InstanceList(target)
            return Instance(target)
        for cls_name in self.project.mro(class_qualname):
            cls = self.project.classes[cls_name]
            kinds: set[Type | None] = set()
            declared = None
            if attr in cls.attr_annotations:
                declared = self.project.declared_type(cls.module, cls.attr_annotations[attr])
                if declared is not None and not isinstance(declared, DATABASE_HANDLES):
                    return declared
            for method_name, value in cls.attr_values.get(attr, []):
                kinds.add(self._assigned_attr_type(cls.qualname, method_name, value))
            kinds.discard(None)
            if declared is not None:
                # `factory: Session = sessionmaker(...)`: what every assignment stores wins over a wrong annotation
                assigned = kinds.pop() if len(kinds) == 1 else None
                return assigned if overrules_annotation(assigned, declared) else declared
            if len(kinds) == 1:
                return kinds.pop()
            method = cls.methods.get(attr)
            if method is not None and _is_property(self.project, method):
                return self.project.return_type(method)  # `self.users.get(pk)` with `@property def users(self) -> Repo`
            if method is not None:
                return FunctionRef(method.qualname)
        return None

    def _assigned_attr_type(self, class_qualname: str, method_name: str, value: ast.expr) -> Type | None:
        cls = self.project.classes[class_qualname]
        if isinstance(value, ast.Name):
            method = cls.methods.get(method_name)
            if method is not None:
                for param in method.params:
                    if param.name == value.id:
                        found = self.project.declared_type(cls.module, param.annotation)
                        found = found or self.project.dependency_type(cls.module, param.default)
                        if found is None and param.annotation is None:
                            passed = _argument_hints(method.qualname, param.name)
                            if len(passed) == 1 and isinstance(next(iter(passed)), DB_HANDLES):
                                found = next(iter(passed))  # every caller constructs it with a session
                            elif param.default is None:
                                found = passed_class(passed)  # every caller constructs it with a mapped class
                        return found
            resolved = self.project.resolve_name(cls.module, value.id)
            return self.project.type_of_qualname(resolved)
        if isinstance(value, ast.Call):
            return self.project.call_value_type(cls.module, value)
        if isinstance(value, ast.IfExp):  # `cache if cache is not None else get_cache()`: where both sides agree
            sides = {self._assigned_attr_type(class_qualname, method_name, side) for side in (value.body, value.orelse)}
            return sides.pop() if len(sides) == 1 else None
        if isinstance(value, ast.Attribute):
            chained = self._parameter_attribute_type(cls.qualname, method_name, value)
            if chained is not None:
                return chained
            dotted = self.project.resolve_expr(cls.module, value)
            if dotted:
                return self.project.type_of_qualname(dotted)
        return None

    def _parameter_attribute_type(self, class_qualname: str, method_name: str, value: ast.Attribute) -> Type | None:
        """`self.lists = repos.shopping_lists` in `__init__(self, repos: AllRepositories)` (mealie's services): the
        attributes read, one after the other, from an annotated parameter of the method assigning it, or from its
        `self`."""
        attrs: list[str] = []
        node: ast.expr = value
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        method = self.project.classes[class_qualname].methods.get(method_name)
        if not isinstance(node, ast.Name) or method is None or not method.params:
            return None
        key = (class_qualname, method_name, ast.unparse(value))
        if key in self._chains_typed:
            return None  # `self.a = self.b.a` while typing `self.b`: no type rather than a loop
        self._chains_typed.add(key)
        try:
            current: Type | None
            if node.id == method.params[0].name and "staticmethod" not in {ast.unparse(d) for d in method.decorators}:
                current = Instance(class_qualname)
            else:
                param = next((p for p in method.params if p.name == node.id), None)
                module = self.project.classes[class_qualname].module
                current = self.project.declared_type(module, param.annotation) if param is not None else None
            for attr in reversed(attrs):
                if not isinstance(current, Instance) or current.qualname not in self.project.classes:
                    return None
                current = self._instance_attr_type(current.qualname, attr)
            return current
        finally:
            self._chains_typed.discard(key)

    def _call_type(self, node: ast.Call) -> Type | None:
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = self._owner_type(func)
            if isinstance(owner, SessionType) and func.attr == "query":
                return self._new_query(func.value, node)
            if isinstance(owner, SessionType) and func.attr == "connection":
                return ConnectionType(owner.is_async)
            if isinstance(owner, (SessionType, ConnectionType)) and func.attr in N.TRANSACTION_METHODS:
                return TransactionType(owner.is_async)
            if isinstance(owner, SessionType) and func.attr in {"get", "get_one"} and not owner.is_async:
                return self._session_get_type(node)
            if func.attr in _SELECT_TERMINALS:
                loaded = self._selected_objects(node)
                if loaded is not None:
                    return loaded
            if isinstance(owner, QueryType):
                return self._query_method_type(owner, func.attr, node)
            if isinstance(owner, InstanceMap):
                return self._mapping_method_type(owner, node)
            if isinstance(owner, EngineType) and func.attr in {"connect", "begin"}:
                return ConnectionType(owner.is_async)
            if isinstance(owner, ColumnRef):
                return ColumnRef()
            if isinstance(owner, SessionFactoryType) and func.attr == "begin":
                return SessionType(owner.is_async)  # `with SessionLocal.begin() as db:` a session in a transaction
            if isinstance(owner, BlockingClientType) and (client := B.method_result_client(owner.client, func.attr)):
                return BlockingClientType(client)  # a redis pipeline (see `redis_pipelines`)
        callee = self.type_of(func)
        if isinstance(callee, SessionFactoryType):
            return SessionType(is_async=callee.is_async)
        if isinstance(callee, ClassRef):
            known = callee.qualname in self.project.classes or self.project.typevar_bound(callee.qualname)
            return Instance(callee.qualname) if known else None  # `self.model(...)` of a `type[Model]`: a `Model`
        if isinstance(func, ast.Subscript):  # `CRUDBase[Item](Item)`: an instance of the generic class
            generic = self.type_of(func.value)
            if isinstance(generic, ClassRef) and generic.qualname in self.project.classes:
                return Instance(generic.qualname)
        if isinstance(callee, WrappedContextManager):
            return self.project.return_type(self.project.functions[callee.qualname])  # what the generator yields
        if isinstance(callee, FunctionRef):
            target = self.project.functions.get(callee.qualname)
            if target is not None and target.is_generator and not _is_contextmanager(self.project, target):
                return GeneratorRef(target.qualname)
            if target is not None:
                returned = self.project.return_type(target)
                if returned is None:
                    returned = self._query_returned_by(target, node)
                return returned
        resolved = self.project.resolve_expr(self.module.name, func)
        if resolved in N.SYNC_SESSION_CLASSES and self.func and self.project.runs_synchronously(self.func.qualname):
            return None  # `Session(bind=session.connection())` in a listener: a sync session on its sync connection
        if resolved in N.CLOSING and len(node.args) == 1 and not node.keywords:
            closed = self.type_of(node.args[0])  # `closing(SessionLocal())` gives back what it closes
            return closed if isinstance(closed, SessionType) else None
        if resolved in T.TEST_CLIENTS:
            entered = id(node) in self._with_item_calls()
            blocker = T.testclient_blocker(self.project, self.module.name, node, entered=entered)
            return HttpClientType(is_async=False, convertible=blocker is None)
        if resolved == "builtins.getattr" and (read := getattr_read(node)) is not None:
            return self._attribute_type(read)  # `getattr(request.state, "db")` reads `request.state.db`
        if resolved == "builtins.type" and len(node.args) == 1 and not node.keywords:
            instance = self.type_of(node.args[0])  # `type(self).factory()`: the class of a project instance
            return ClassRef(instance.qualname) if isinstance(instance, Instance) else None
        if resolved in {"builtins.next", "builtins.anext"} and node.args:
            generator = self.type_of(node.args[0])
            if isinstance(generator, GeneratorRef):
                return self.project.return_type(self.project.functions[generator.qualname])
        if resolved is not None:
            if resolved.startswith(("sqlalchemy.func.", "sqlalchemy.sql.func.", "sqlalchemy.sql.expression.func.")):
                return ColumnRef()
            if resolved in {"sqlalchemy.orm.aliased", "sqlalchemy.orm.util.aliased"} and node.args:
                inner = self.type_of(node.args[0])
                return inner if isinstance(inner, ClassRef) else None
            if resolved.rsplit(".", 1)[0] == "sqlalchemy" and resolved.rsplit(".", 1)[1] in {
                "literal",
                "literal_column",
                "cast",
                "case",
                "distinct",
                "label",
                "null",
                "true",
                "false",
            }:
                return ColumnRef()
            return self.project.call_result_type_in(self.module.name, resolved)
        return None

    def _with_item_calls(self) -> set[int]:
        return {
            id(item.context_expr) for node in self._own_nodes() if isinstance(node, ast.With) for item in node.items
        }

    def _session_get_type(self, node: ast.Call) -> Type | None:
        """`db.get(User, pk)`: the object it loads; a relationship read from it gets a loader option in the
        call's `options=` list (or, where that is not a list literal, is flagged as a lazy load)."""
        model = self.type_of(node.args[0]) if node.args else None
        if isinstance(model, MappedClassChoice):
            return InstanceChoice(model.qualnames)  # `db.get(self.db_model, pk)`: one of their objects
        if not isinstance(model, ClassRef) or model.qualname not in self.project.classes:
            return None
        options = next((k.value for k in node.keywords if k.arg == "options"), None)
        if any(k.arg is None for k in node.keywords) or not isinstance(options, ast.List | None):
            return Instance(model.qualname)
        eager = self._eager_relationships(options.elts) if options is not None else frozenset()
        columns = self._column_options(options.elts) if options is not None else ()
        return LoadedEntities(
            model.qualname,
            self.spans.segment(node.args[0]),
            self.spans.span(node),
            False,
            eager,
            column_options=columns,
        )

    def _selected_objects(self, node: ast.Call) -> LoadedEntities | Instance | InstanceList | None:
        """The mapped objects a 2.0-style read of one entity gives: `db.scalars(select(M)...).one()` / `.all()`,
        `db.execute(select(M)...).scalars().first()`, `db.execute(stmt).scalar_one()`, `db.scalar(select(M))`
        (`.unique()` anywhere between). A relationship read from them gets `.options(selectinload(...))` after
        `select(M)` when the statement is written in the call, and is flagged otherwise (AWT201)."""
        assert isinstance(node.func, ast.Attribute)
        terminal, receiver = node.func.attr, node.func.value
        statement: ast.expr | None
        if terminal == "scalar" and self._is_sync_session(receiver):
            statement = node.args[0] if len(node.args) == 1 else None  # `db.scalar(select(M))`
        elif terminal in {"scalar_one", "scalar_one_or_none", "scalar"}:
            statement = self._executed_statement(_skip_unique(receiver))
        else:
            statement = self._scalars_statement(receiver)
        if statement is None:
            return None
        return self._statement_objects(statement, is_list=terminal == "all")

    def _scalars_statement(self, node: ast.expr) -> ast.expr | None:
        """The statement whose objects the scalar result `node` gives: `db.scalars(stmt)`,
        `db.execute(stmt).scalars()` (`.unique()` anywhere between), read by a terminal or iterated; held by a local
        assigned once (`result = db.scalars(stmt)`) too."""
        node = _skip_unique(self._single_value(node))
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "scalars"):
            return None
        if self._is_sync_session(node.func.value):
            return node.args[0] if len(node.args) == 1 else None
        if node.args or node.keywords:
            return None
        return self._executed_statement(_skip_unique(node.func.value))

    def _executed_statement(self, node: ast.expr) -> ast.expr | None:
        """`stmt` of `db.execute(stmt)` on a sync session (held by a local assigned once too)."""
        node = _skip_unique(self._single_value(node))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "execute"
            and self._is_sync_session(node.func.value)
        ):
            return node.args[0] if len(node.args) == 1 else None
        return None

    def _single_value(self, node: ast.expr) -> ast.expr:
        """What a local assigned once holds (`result` of `result = db.execute(stmt)`), else `node`."""
        if isinstance(node, ast.Name):
            return self._single_assignments().get(node.id, node)
        return node

    def _is_sync_session(self, node: ast.expr) -> bool:
        session = self.type_of(node)
        return isinstance(session, SessionType) and not session.is_async

    def _statement_objects(self, statement: ast.expr, is_list: bool) -> LoadedEntities | Instance | InstanceList | None:
        written = isinstance(statement, ast.Call)  # the statement is built in the call itself
        if isinstance(statement, ast.Name):  # `stmt = select(M)...`, assigned once: its objects' lazy reads flagged
            statement = self._single_assignments().get(statement.id, statement)
        options: list[ast.expr] = []
        while (
            isinstance(statement, ast.Call)
            and isinstance(statement.func, ast.Attribute)
            and statement.func.attr in _STATEMENT_METHODS
        ):
            if statement.func.attr == "options":
                options.extend(statement.args)
            statement = statement.func.value
        if not (isinstance(statement, ast.Call) and len(statement.args) == 1 and not statement.keywords):
            return None
        if self.project.resolve_expr(self.module.name, statement.func) not in _SELECT_FUNCTIONS:
            return None
        entity = statement.args[0]
        model = self.type_of(entity)
        if not isinstance(model, ClassRef) or model.qualname not in self.project.classes:
            return None
        if not written or self.project.resolve_expr(self.module.name, entity) != model.qualname:
            return InstanceList(model.qualname) if is_list else Instance(model.qualname)  # its lazy reads flagged
        span = self.spans.span(statement)
        self._select_statements[span] = statement
        return LoadedEntities(
            model.qualname,
            self.spans.segment(entity),
            span,
            is_list,
            self._eager_relationships(options),
            column_options=self._column_options(options),
        )

    def _entity_kind(self, node: ast.expr) -> str:
        if isinstance(node, ast.Starred):
            return "unknown"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "exists"
            and isinstance(self.type_of(node.func.value), QueryType)
        ):
            return "aggregate"
        if isinstance(node, ast.Call):
            called = self.project.resolve_expr(self.module.name, _call_root(node)) or ""
            if called in {"sqlalchemy.exists", "sqlalchemy.sql.expression.exists", "sqlalchemy.sql.exists"}:
                return "aggregate"  # one row: `exists().where(...)`
        kind = self.type_of(node)
        if isinstance(kind, ClassRef):
            return "entity"
        if isinstance(kind, ColumnRef):
            if isinstance(node, ast.Call):
                resolved = self.project.resolve_expr(self.module.name, node.func) or ""
                if resolved.startswith(("sqlalchemy.func.", "sqlalchemy.sql.func.")) and (
                    resolved.rsplit(".", 1)[-1] in Q.AGGREGATE_FUNCTIONS
                ):
                    return "aggregate"
            return "column"
        return "unknown"

    def _new_query(self, session_node: ast.expr, call: ast.Call) -> QueryType:
        kinds = tuple(self._entity_kind(arg) for arg in call.args) or ("unknown",)
        dedupe = self._mentions_other_class(call.args, [])
        entities = self._selected_entities(call.args)
        entity = entities[0] if kinds == ("entity",) else None  # "" for its text where it has no name (see entities)
        selected = self.type_of(call.args[0]) if len(call.args) == 1 else None
        choice = selected.qualnames if isinstance(selected, MappedClassChoice) else ()
        return QueryType(
            self.spans.segment(session_node), kinds, dedupe, entity, entities=entities, entity_choice=choice
        )

    def _selected_entities(self, selected: list[ast.expr]) -> tuple[tuple[str, str] | None, ...]:
        """Per selected element, the mapped class it loads and the text that names it (see `QueryType.entities`)."""
        entities: list[tuple[str, str] | None] = []
        for arg in selected:
            kind = self.type_of(arg)
            if isinstance(kind, ClassRef) and kind.qualname in self.project.classes:
                named = isinstance(arg, (ast.Name, ast.Attribute))
                entities.append((kind.qualname, self.spans.segment(arg) if named else ""))
            else:
                entities.append(None)
        return tuple(entities)

    def _mentions_other_class(self, selected: list[ast.expr], criteria: list[ast.expr]) -> bool:
        """An entity selected with a column of another class (or filtered on one): an implicit join."""
        selected_classes = set()
        for arg in selected:
            kind = self.type_of(arg)
            if isinstance(kind, ClassRef):
                selected_classes.add(kind.qualname)
        if not selected_classes:
            return False
        for expr in [*selected, *criteria]:
            for sub in astwalk.walk(expr):
                if isinstance(sub, ast.Attribute):
                    owner = self.type_of(sub.value)
                    if isinstance(owner, ClassRef) and owner.qualname not in selected_classes:
                        return True
        return False

    def _query_method_type(self, query: QueryType, method: str, node: ast.Call) -> Type | None:
        if method in Q.BUILDER_METHODS:
            kinds, dedupe, entities = query.entity_kinds, query.dedupe, query.entities
            if method == "with_entities":
                kinds = tuple(self._entity_kind(a) for a in node.args) or ("unknown",)
                # a loader option is added where the query starts: one about an entity it did not select there
                # raises ArgumentError (`select(User).options(selectinload(Address.user)).with_only_columns(Address)`)
                entities = tuple(
                    (selected[0], "") if selected is not None and selected not in query.entities else selected
                    for selected in self._selected_entities(node.args)
                )
            elif method in {"add_columns", "add_entity"}:
                kinds = kinds + tuple(self._entity_kind(a) for a in node.args)
                entities = entities + self._selected_entities(node.args)
            if method in Q.DUPLICATING_METHODS:
                dedupe = True
            if method == "options" and self._has_duplicating_loader(node):
                dedupe = True
            if method in {"filter", "where"}:
                dedupe = dedupe or self._criteria_mentions_foreign_class(query, node.args)
            entity = query.entity if kinds == query.entity_kinds else None
            if method == "with_entities":
                entity = entities[0] if kinds == ("entity",) else None  # what it selects now
            eager = query.eager | (self._eager_relationships(node.args) if method == "options" else frozenset())
            columns = query.column_options + (self._column_options(node.args) if method == "options" else ())
            eager_of = query.eager_of | (self._eager_of(node.args) if method == "options" else frozenset())
            choice = query.entity_choice if kinds == query.entity_kinds and method != "with_entities" else ()
            return QueryType(query.session_src, kinds, dedupe, entity, eager, columns, entities, eager_of, choice)
        if method in {"first", "one", "one_or_none", "all"} and len(query.entities) > 1 and any(query.entities):
            return self._loaded_rows(query, node, is_list=method == "all")
        if method in {"first", "one", "one_or_none", "get", "all"} and query.entity is not None:
            return self._loaded_entities(query, query.entity, node, is_list=method == "all")
        if method in {"first", "one", "one_or_none", "get", "all"} and query.entity_choice:
            return InstanceChoice(query.entity_choice, is_list=method == "all")  # `db.query(self.db_model).all()`
        if method in Q.SELECTABLE_METHODS:
            return ColumnRef()
        return None

    def _column_options(self, loader_options: list[ast.expr]) -> tuple[ColumnLoad, ...]:
        """`load_only(M.a, M.b)`, `defer(M.c)`, `undefer(M.d)` among loader options, each with the entity its
        attributes name. Only options of a queried entity itself: `selectinload(M.rel).load_only(...)` is about
        another one."""
        found = []
        for option in loader_options:
            if not isinstance(option, ast.Call) or isinstance(getattr(option.func, "value", None), ast.Call):
                continue
            loader = option.func.attr if isinstance(option.func, ast.Attribute) else getattr(option.func, "id", "")
            if loader not in {"load_only", "defer", "undefer"}:
                continue
            attributes = [a for a in option.args if isinstance(a, ast.Attribute)]
            owners = {self.spans.segment(a.value) for a in attributes}
            classes = {self.type_of(a.value) for a in attributes}
            owner_class = classes.pop() if len(classes) == 1 else None
            found.append(
                ColumnLoad(
                    loader,
                    owners.pop() if len(owners) == 1 else "",
                    owner_class.qualname if isinstance(owner_class, ClassRef) else None,
                    tuple(a.attr for a in attributes),
                )
            )
        return tuple(found)

    def _eager_relationships(self, loader_options: list[ast.expr]) -> frozenset[str]:
        """Relationship names loader options (`joinedload(M.rel), ...`) load eagerly (first level)."""
        loaded: set[str] = set()
        for arg in loader_options:
            for sub in astwalk.walk(arg):
                if isinstance(sub, ast.Call) and sub.args and isinstance(sub.args[0], ast.Attribute):
                    name = sub.func.attr if isinstance(sub.func, ast.Attribute) else getattr(sub.func, "id", "")
                    if name in Q.EAGER_LOADERS:
                        loaded.add(sub.args[0].attr)
        return frozenset(loaded)

    def _eager_of(self, loader_options: list[ast.expr]) -> frozenset[tuple[str, str]]:
        """(entity's text, relationship) of the first-level eager loader options (`joinedload(User.orders)`, not the
        `.selectinload(Order.lines)` chained on it, which loads the orders' lines)."""
        loaded = set()
        for arg in loader_options:
            for sub in astwalk.walk(arg):
                if not (isinstance(sub, ast.Call) and sub.args and isinstance(sub.args[0], ast.Attribute)):
                    continue
                if isinstance(sub.func, ast.Attribute) and isinstance(sub.func.value, ast.Call):
                    continue  # chained on another option
                loader = (self.project.resolve_expr(self.module.name, sub.func) or "").rsplit(".", 1)[-1]
                if loader in Q.EAGER_LOADERS:
                    loaded.add((self.spans.segment(sub.args[0].value), sub.args[0].attr))
        return frozenset(loaded)

    def _criteria_mentions_foreign_class(self, query: QueryType, criteria: list[ast.expr]) -> bool:
        # Which classes are selected is not kept on QueryType; a criterion naming two different classes
        # (an implicit join) is what brings duplicates.
        owners = set()
        for expr in criteria:
            for sub in astwalk.walk(expr):
                if isinstance(sub, ast.Attribute):
                    owner = self.type_of(sub.value)
                    if isinstance(owner, ClassRef):
                        owners.add(owner.qualname)
        return len(owners) > 1

    def _has_duplicating_loader(self, node: ast.Call) -> bool:
        """`joinedload(A.children)` / `contains_eager(...)` of a collection (many-to-one joins never repeat)."""
        for arg in node.args:
            for sub in astwalk.walk(arg):
                if not isinstance(sub, ast.Call):
                    continue
                callee = (
                    sub.func.attr
                    if isinstance(sub.func, ast.Attribute)
                    else ((self.project.resolve_expr(self.module.name, sub.func) or "").rsplit(".", 1)[-1])
                )
                if callee not in Q.DUPLICATING_LOADERS:
                    continue
                target = sub.args[0] if sub.args else None
                if not isinstance(target, ast.Attribute):
                    return True
                owner = self.type_of(target.value)
                if not isinstance(owner, ClassRef) or self.project.relationship_is_collection(
                    owner.qualname, target.attr
                ):
                    return True
        return False
