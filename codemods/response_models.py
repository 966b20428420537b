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
# Mapped classes that are dataclasses (`class Base(MappedAsDataclass, DeclarativeBase)`): each relationship is a field.
MAPPED_DATACLASSES = frozenset({"sqlalchemy.orm.MappedAsDataclass", "sqlalchemy.orm.decl_api.MappedAsDataclass"})
# Functions that read every field of a dataclass object, and of the dataclass objects in them (FastAPI's encoder
# turns a dataclass into `dataclasses.asdict(obj)`; another object into its `vars()`, which loads nothing).
DATACLASS_READERS = frozenset({"dataclasses.asdict", "dataclasses.astuple", "fastapi.encoders.jsonable_encoder"})
PYDANTIC_FIELDS = frozenset({"pydantic.Field", "pydantic.fields.Field"})
# pydantic v2's adapter of any type (`TypeAdapter(list[UserOut]).validate_python(users)`).
TYPE_ADAPTERS = frozenset({"pydantic.TypeAdapter", "pydantic.type_adapter.TypeAdapter"})
# `parse_obj_as(list[UserOut], users)`: pydantic v1's spelling of it (deprecated in v2, which still runs it).
PARSING_FUNCTIONS = frozenset(
    {"pydantic.parse_obj_as", "pydantic.tools.parse_obj_as", "pydantic.deprecated.tools.parse_obj_as"}
)
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


def dataclass_relationships(project: Project, entity: str) -> list[Chain]:
    """Every lazy relationship `dataclasses.asdict()` reads from an `entity` object of a mapped dataclass: all of its
    relationships, and those of the mapped dataclasses they hold, as chains from `entity` (the longest ones)."""
    chains: list[Chain] = []
    _collect_dataclass(project, entity, (), chains, frozenset())
    return [
        chain
        for chain in chains
        if not any(len(other) > len(chain) and other[: len(chain)] == chain for other in chains)
    ]


def _collect_dataclass(project: Project, entity: str, prefix: Chain, chains: list[Chain], seen: frozenset[str]) -> None:
    if len(prefix) >= _MAX_DEPTH or entity in seen or not project.is_subclass_of_external(entity, MAPPED_DATACLASSES):
        return
    attrs = dict.fromkeys(attr for name in project.mro(entity) for attr in project.classes[name].attr_values)
    for attr in attrs:
        loading = project.relationship_loading(entity, attr)
        if loading not in N.LAZY_LOADING or loading == "dynamic":
            continue
        chain = (*prefix, (entity, attr))
        chains.append(chain)
        target = project.relationship_target(entity, attr)
        if target is not None:
            _collect_dataclass(project, target, chain, chains, seen | {entity})


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
    """The attributes the annotated fields of a model class and of its project bases read from an object (the nearest
    definition wins): a field's name, and the alias its `Field(...)` validates by (`Field(validation_alias="x")`,
    `Field(alias="x")`; tried first, the name after it with `populate_by_name`)."""
    fields: dict[str, list[tuple[str, ast.expr]]] = {}
    for name in project.mro(schema):
        cls = project.classes[name]
        for attr, annotation in cls.attr_annotations.items():
            if attr not in fields:
                values = [value for where, value in cls.attr_values.get(attr, []) if where == "<class>"]
                alias = _validation_alias(project, cls.module, values[-1]) if values else None
                fields[attr] = [(attr, annotation)] + ([(alias, annotation)] if alias not in {None, attr} else [])
    return [field for read in fields.values() for field in read]


def _validation_alias(project: Project, module: str, value: ast.expr) -> str | None:
    """The attribute name a pydantic `Field(...)` validates its field by, when it spells one."""
    if not (isinstance(value, ast.Call) and project.resolve_expr(module, value.func) in PYDANTIC_FIELDS):
        return None
    keywords = {k.arg: k.value for k in value.keywords if k.arg}
    alias = keywords.get("validation_alias", keywords.get("alias"))
    return alias.value if isinstance(alias, ast.Constant) and isinstance(alias.value, str) else None
