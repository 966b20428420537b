"""Mapped objects an unannotated function returns, from its query (`return db.query(User).filter(...).first()`).

The FastAPI tutorial's data layer (`crud.get_user(db, user_id)`, `crud.create_user(db, user)`) has no return
annotations. Without them nothing knew that a route returning `crud.get_user(db, user_id)` returns `User` objects,
so a response model reading their lazy relationships (`items: list[Item] = []`) was not flagged, and every such
request failed with `MissingGreenlet` (a 500) after the migration. The symbols keep the whole query of a `return`
only in this compact form (see `symbols._callee_only` for why they keep so little):

- `return <name>.query(<Entity>)<chain>.<terminal>()` -> `<name>.query(<Entity>).<terminal>()`;
- `return <name>.get(<Entity>, ...)` -> `<name>.get(<Entity>)`;
- `return <local>` with `<local> = ` one of those, or `<local> = <Class>(...)` (an object the function
  creates, then adds and refreshes): the same form, or the constructor call marked as a local's (`LOCAL_MARK`).

`returned_entity_type` types them, where `<name>` is a parameter annotated as a sync session and the entity a
project class: then they are what annotated functions gave all along (`Instance` / `InstanceList`).
"""

from __future__ import annotations

import ast
from typing import TypeGuard

from codemods.astwalk import dotted_name, names_in

# terminal -> whether it gives a list
_TERMINALS = {"first": False, "one": False, "one_or_none": False, "all": True}
# Query methods that keep the selected entity (anything else, `with_entities(...)`, `add_columns(...)`, is unknown)
_KEEPING = frozenset(
    {
        "filter",
        "filter_by",
        "where",
        "order_by",
        "offset",
        "limit",
        "options",
        "join",
        "outerjoin",
        "distinct",
        "group_by",
        "having",
        "execution_options",
        "populate_existing",
        "with_for_update",
        "params",
        "select_from",
    }
)
# `return None` as kept: `if user is None: return None` beside `return user` still returns mapped objects
NONE_RETURNED = "<None>"
# a keyword on a kept constructor call: the object came from a local (`db_user = User(...); ...; return db_user`)
LOCAL_MARK = "__awaitify_local__"
# the prefix of a kept `return route`, `route` a function defined in the returning one: the rest is its qualname
NESTED_FUNCTION_MARK = "<nested function>"


def nested_function_return(qualname: str) -> ast.Name:
    """How `return route` is kept, `route` a function nested in the returning one (a route or dependency factory,
    fastapi-crudrouter's `def _get_all(self): def route(db: Session = Depends(...)): ...; return route`)."""
    return ast.Name(id=f"{NESTED_FUNCTION_MARK}{qualname}", ctx=ast.Load())


def nested_function_returned(value: ast.expr) -> str | None:
    """The qualname of the nested function a kept return value stands for (see `nested_function_return`)."""
    if isinstance(value, ast.Name) and value.id.startswith(NESTED_FUNCTION_MARK):
        return value.id.removeprefix(NESTED_FUNCTION_MARK)
    return None


def single_assignments(nodes: list[ast.AST]) -> dict[str, ast.expr]:
    """The locals of a function body assigned exactly once (`nodes`: its own statements), with their value."""
    values: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in names_in(target):
                    counts[name.id] = counts.get(name.id, 0) + 1
                    if isinstance(node, ast.Assign) and target is name and node.value is not None:
                        values[name.id] = node.value
    return {name: value for name, value in values.items() if counts[name] == 1}


def kept_entity_return(value: ast.expr, assigned: dict[str, ast.expr]) -> ast.expr | None:
    """The compact form of a returned query of one entity, or of a local bound to one, or `NONE_RETURNED` for
    `return None` (None: none of them)."""
    if isinstance(value, ast.Constant) and value.value is None:
        return ast.Name(id=NONE_RETURNED, ctx=ast.Load())
    if isinstance(value, ast.Name) and value.id in assigned:
        local = assigned[value.id]
        compact = _compact_query(local)
        if compact is None and isinstance(local, ast.Call) and dotted_name(local.func) is not None:
            compact = ast.Call(func=local.func, args=[], keywords=[ast.keyword(arg=LOCAL_MARK, value=ast.Constant(1))])
        return compact
    return _compact_query(value)


def _compact_query(value: ast.expr) -> ast.Call | None:
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return None
    method, owner = value.func.attr, value.func.value
    if method == "get" and isinstance(owner, ast.Name) and value.args and dotted_name(value.args[0]) is not None:
        return _call(owner, "get", value.args[0])  # `db.get(User, pk)`
    if method == "get" and _query_root(owner) is not None:
        root = _query_root(owner)
        assert root is not None
        return _call(root[0], "get", root[1])  # legacy `db.query(User).get(pk)`
    if method not in _TERMINALS:
        return None
    root = _query_root(owner)
    if root is None:
        return None
    query = _call(root[0], "query", root[1])
    return ast.Call(func=ast.Attribute(value=query, attr=method, ctx=ast.Load()), args=[], keywords=[])


def _query_root(chain: ast.expr) -> tuple[ast.Name, ast.expr] | None:
    """(`db`, `User`) of `db.query(User)` followed by methods that keep the entity."""
    while isinstance(chain, ast.Call) and isinstance(chain.func, ast.Attribute) and chain.func.attr in _KEEPING:
        chain = chain.func.value
    if not (isinstance(chain, ast.Call) and isinstance(chain.func, ast.Attribute) and chain.func.attr == "query"):
        return None
    owner = chain.func.value
    if not isinstance(owner, ast.Name) or len(chain.args) != 1 or chain.keywords:
        return None
    entity = chain.args[0]
    return (owner, entity) if dotted_name(entity) is not None else None


def _call(owner: ast.Name, method: str, entity: ast.expr) -> ast.Call:
    func = ast.Attribute(value=ast.Name(id=owner.id, ctx=ast.Load()), attr=method, ctx=ast.Load())
    return ast.Call(func=func, args=[entity], keywords=[])


def entity_form(value: ast.expr) -> tuple[str, ast.expr, bool] | None:
    """(session parameter, entity, is_list) of a kept query form; None for anything else."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return None
    func = value.func
    if func.attr == "get" and isinstance(func.value, ast.Name) and len(value.args) == 1:
        return func.value.id, value.args[0], False
    inner = func.value
    if not (func.attr in _TERMINALS and isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)):
        return None
    if inner.func.attr == "query" and isinstance(inner.func.value, ast.Name) and len(inner.args) == 1:
        return inner.func.value.id, inner.args[0], _TERMINALS[func.attr]
    return None


def is_local_object(value: ast.expr) -> TypeGuard[ast.Call]:
    """A constructor call kept for a returned local (`kept_entity_return`)."""
    return isinstance(value, ast.Call) and any(k.arg == LOCAL_MARK for k in value.keywords)


def is_none_returned(value: ast.expr) -> bool:
    """`return None`, as `kept_entity_return` keeps it."""
    return isinstance(value, ast.Name) and value.id == NONE_RETURNED
