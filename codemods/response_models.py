"""What a FastAPI route's response model reads of the mapped objects its function returns.

FastAPI validates a route's return value against its response model (`response_model=`, else the return
annotation) after the function has returned. A field of the model named like a relationship of the returned
object reads it: lazily, with a SELECT, which a sync `Session` allows and an `AsyncSession` refuses
(`MissingGreenlet`, a 500 for every such request). The analysis loads those relationships with the query.
"""

from __future__ import annotations

import ast

from codemods import sqla_names as N
from codemods.project import Project
from codemods.symbols import FunctionSymbols

FASTAPI_ROUTERS = frozenset(
    {"fastapi.FastAPI", "fastapi.APIRouter", "fastapi.applications.FastAPI", "fastapi.routing.APIRouter"}
)
# Class methods of a pydantic model that read a mapped object's attributes (v2, and v1's spelling).
VALIDATING_METHODS = frozenset({"model_validate", "from_orm"})
# pydantic v2's adapter of any type (`TypeAdapter(list[UserOut]).validate_python(users)`).
TYPE_ADAPTERS = frozenset({"pydantic.TypeAdapter", "pydantic.type_adapter.TypeAdapter"})
ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace", "api_route"})
# Generic types whose arguments are what a value of them holds (`list[UserOut]`, `Optional[UserOut]`).
_CONTAINERS = N.LIST_TYPES | frozenset(
    {
        "builtins.set",
        "builtins.tuple",
        "builtins.frozenset",
        "typing.Set",
        "typing.Tuple",
        "typing.FrozenSet",
        "typing.Optional",
        "typing.Union",
    }
)
_MAX_DEPTH = 4  # nested response models followed this deep (models that refer to each other end sooner)

# A relationship a response model reads: (mapped class, attribute), from the returned class down.
Chain = tuple[tuple[str, str], ...]


def response_schemas(project: Project, func: FunctionSymbols) -> tuple[str, ...]:
    """The project classes the route decorating `func` validates its return value with (none: not a route)."""
    for decorator in func.decorators:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            continue
        if decorator.func.attr not in ROUTE_METHODS:
            continue
        if not project.global_made_by(func.module, decorator.func.value, FASTAPI_ROUTERS):
            continue
        declared = next((k.value for k in decorator.keywords if k.arg == "response_model"), func.returns)
        return schema_classes(project, func.module, declared)
    return ()


def adapted_schemas(project: Project, module: str, adapter: ast.expr) -> tuple[str, ...]:
    """The project classes a pydantic `TypeAdapter` validates with: `TypeAdapter(list[UserOut])` called here, or a
    module global made so (`USERS = TypeAdapter(list[UserOut])`); none for anything else."""
    if not isinstance(adapter, ast.Call):
        qualname = project.resolve_expr(module, adapter)
        if qualname is None or "." not in qualname:
            return ()
        module, name = qualname.rsplit(".", 1)
        symbols = project.modules.get(module)
        value = symbols.global_values.get(name) if symbols is not None else None
        if not isinstance(value, ast.Call):
            return ()
        adapter = value
    if project.resolve_expr(module, adapter.func) not in TYPE_ADAPTERS or not adapter.args:
        return ()
    return schema_classes(project, module, adapter.args[0])


def schema_classes(project: Project, module: str, annotation: ast.expr | None) -> tuple[str, ...]:
    """The project classes an annotation names, inside `list[...]`, `Optional[...]` and `X | None`."""
    if annotation is None:
        return ()
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return schema_classes(project, module, annotation.left) + schema_classes(project, module, annotation.right)
    if isinstance(annotation, ast.Subscript):
        if project.resolve_expr(module, annotation.value) not in _CONTAINERS:
            return ()
        inner = annotation.slice
        parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return tuple(found for part in parts for found in schema_classes(project, module, part))
    resolved = project.resolve_expr(module, annotation)
    return (resolved,) if resolved in project.classes else ()


def serialised_relationships(project: Project, entity: str, schemas: tuple[str, ...]) -> list[Chain]:
    """Every lazy relationship the response models read from an `entity` object, as chains from `entity`; a chain
    that a longer one extends is left out (loading `User.items` then `Item.owner` loads `User.items`)."""
    chains: list[Chain] = []
    _collect(project, entity, schemas, (), chains, frozenset())
    return [
        chain
        for chain in chains
        if not any(len(other) > len(chain) and other[: len(chain)] == chain for other in chains)
    ]


def _collect(
    project: Project,
    entity: str,
    schemas: tuple[str, ...],
    prefix: Chain,
    chains: list[Chain],
    seen: frozenset[tuple[str, str]],
) -> None:
    if len(prefix) >= _MAX_DEPTH:
        return
    for schema in schemas:
        if (entity, schema) in seen:
            continue
        for attr, annotation in _fields(project, schema):
            loading = project.relationship_loading(entity, attr)
            if loading not in N.LAZY_LOADING or loading == "dynamic":  # dynamic: AWT206 says why
                continue
            chain = (*prefix, (entity, attr))
            if chain not in chains:
                chains.append(chain)
            target = project.relationship_target(entity, attr)
            nested = schema_classes(project, project.classes[schema].module, annotation)
            if target is not None and nested:
                _collect(project, target, nested, chain, chains, seen | {(entity, schema)})


def _fields(project: Project, schema: str) -> list[tuple[str, ast.expr]]:
    """The annotated fields of a model class and of its project bases (the nearest definition wins)."""
    fields: dict[str, ast.expr] = {}
    for name in project.mro(schema):
        for attr, annotation in project.classes[name].attr_annotations.items():
            fields.setdefault(attr, annotation)
    return list(fields.items())
