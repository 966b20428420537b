"""Which functions a call reaches, and what it hands their parameters.

`CallTargets` resolves a call to the project functions it may run (a method of the object's class, a `super()`
method, a function held in a parameter) and records the argument hints the callee's analysis reads
(`argument_hints`). Apart from the walk, which records a `CallSite` with what it resolved.
"""

from __future__ import annotations

import ast

from codemods import task_arguments as TA
from codemods.argument_hints import (
    _ARGUMENT_HINTS,
    _PARAM_HINTED,
    _PARAM_HINTS,
    PASSED_HANDLES,
    ArgumentHint,
    ForwardedParam,
    RecordedHint,
    _function_default,
)
from codemods.engine_constructors import EngineConstructors
from codemods.symbols import FunctionSymbols
from codemods.types import (
    ClassRef,
    FunctionChoice,
    FunctionRef,
    Instance,
    InstanceChoice,
    InstanceList,
    LoadedEntities,
    ModuleRef,
    QueryType,
    Type,
)
from codemods.unpacked_dicts import DictItem, unpacked_items


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


class CallTargets(EngineConstructors):
    """Call resolution and argument hints (see the module's docstring)."""

    def _resolve_callees(self, node: ast.Call) -> tuple[str, ...]:
        func = node.func
        if isinstance(func, (ast.Name, ast.Attribute)):
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
        if isinstance(func, ast.Call):  # `make_lister()(db)`: the function a factory returns, called at once
            kind = self.type_of(func)
            return (kind.qualname,) if isinstance(kind, FunctionRef) else ()
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
        if isinstance(owner, LoadedEntities) and not owner.is_list:
            owner = Instance(owner.qualname)  # `user = db.get(User, pk)`, then `user.item_count()`: its method
        if isinstance(owner, (Instance, ClassRef)) and owner.qualname in self.project.classes:
            method = self.project.lookup_method(owner.qualname, func.attr)
            if method is not None:
                return (method.qualname,)
            return ()
        if isinstance(owner, Instance) and (bound := self.project.typevar_bound(owner.qualname)) is not None:
            return self._methods_under_bound(bound, func.attr)
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

    def _methods_under_bound(self, bound: str, name: str) -> tuple[str, ...]:
        """`entry.update(...)` of an `entry: Model`, `Model = TypeVar("Model", bound=Base)`: the method `Base`
        gives, or else every one its subclasses declare (one of them is the object's: the others' classes have no
        such method, so the call could not run on them). Several: the engine awaits the call only if all of them
        are async, else flags it."""
        inherited = self.project.lookup_method(bound, name)
        if inherited is not None:
            return (inherited.qualname,)
        methods = [self.project.lookup_method(sub, name) for sub in self.project.subclasses(bound)]
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
            hint: RecordedHint = self._argument_hint(kind)
            if kind is None and isinstance(arg, ast.Name):
                hint = self._forwarded_param(arg.id)
            if isinstance(kind, FunctionRef) and _function_default(self.project, target, param_name) is not None:
                hint = kind
                handed.add(id(arg))
            _ARGUMENT_HINTS.setdefault((target.qualname, param_name), set()).add(hint)
        unpacked = self._unpacked_hints(target, node, {param_name for param_name, _ in bound})
        for param_name, hint in unpacked:
            _ARGUMENT_HINTS.setdefault((target.qualname, param_name), set()).add(hint)
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(k.arg is None for k in node.keywords):
            named = {param_name for param_name, _ in bound} | {param_name for param_name, _ in unpacked}
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

    def _unpacked_hints(
        self, target: FunctionSymbols, node: ast.Call, named: set[str]
    ) -> list[tuple[str, RecordedHint]]:
        """What the `**name` arguments of the call hand the target's parameters, where `name` is a dict literal
        awaitify can follow (see `unpacked_dicts`): `paginate(model=Tag, **common)` hands `db_session` the session
        the dependency building `common` gets. A key no parameter of the target is named after is left alone."""
        params = {p.name for p in target.params} - named
        out: list[tuple[str, RecordedHint]] = []
        for keyword in node.keywords:
            if keyword.arg is not None or not isinstance(keyword.value, ast.Name):
                continue
            items = unpacked_items(self.project, self.func, keyword.value.id)
            for item in items or ():
                if item.key in params:
                    out.append((item.key, self._item_hint(item)))
        return out

    def _item_hint(self, item: DictItem) -> RecordedHint:
        """What a dict item hands the parameter it is unpacked into: the type of its value in the function
        analysed, or, in the dependency that builds the dict, that of the dependency's parameter it names."""
        if item.owner is None:
            kind = self.type_of(item.value)
            if kind is None and isinstance(item.value, ast.Name):
                return self._forwarded_param(item.value.id)
            return self._argument_hint(kind)
        if not isinstance(item.value, ast.Name):
            return None
        param = next((p for p in item.owner.params if p.name == item.value.id), None)
        if param is None:
            return None
        module = item.owner.module
        kind = self.project.declared_type(module, param.annotation)
        return self._argument_hint(kind or self.project.dependency_type(module, param.default))

    def _forwarded_param(self, name: str) -> ForwardedParam | None:
        """`name` is an untyped parameter of the function analysed, never rebound in it, handed on as it came: it
        holds what this function's callers hand it, typed perhaps only in a later round (see `ForwardedParam`)."""
        func = self.func
        if func is None or func.node is None:
            return None
        param = next((p for p in func.params if p.name == name), None)
        if param is None or param.annotation is not None or param.default is not None:
            return None
        for node in ast.walk(func.node):
            if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Load):
                return None
            if isinstance(node, (ast.Nonlocal, ast.Global)) and name in node.names:
                return None
        return ForwardedParam(func.qualname, name)

    def _record_task_arguments(self, node: ast.Call) -> None:
        """A project function run as a background task gets the task's arguments (see `task_arguments`)."""
        deferred = TA.deferred_call(self.project, self.module.name, self.func, node)
        target = self.project.resolve_expr(self.module.name, deferred.func) if deferred is not None else None
        if deferred is not None and target in self.project.functions:
            self._record_query_arguments(self.project.functions[target], deferred)

    def _argument_hint(self, kind: Type | None) -> ArgumentHint:
        """What an argument tells of the parameter it is bound to: a session (an engine, a connection), or objects of
        a mapped class that has relationships (a read of one from them lazy-loads where the objects came from
        elsewhere)."""
        if isinstance(kind, PASSED_HANDLES):
            return kind
        if isinstance(kind, LoadedEntities):
            kind = InstanceList(kind.qualname) if kind.is_list else Instance(kind.qualname)
        if isinstance(kind, (Instance, InstanceList)) and self.project.has_relationships(kind.qualname):
            return kind
        if isinstance(kind, ClassRef) and kind.qualname in self.project.classes:
            return kind if self.project.is_mapped_class(kind.qualname) else None  # `ModelRouter(Item, get_db)`
        return None
