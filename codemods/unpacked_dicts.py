"""The keys a `**name` argument hands the callee, where `name` is a dict literal awaitify can follow.

`paginate(model=Tag, **common)`, with `common: Annotated[dict, Depends(common_parameters)]` and
`def common_parameters(db_session: DbSession, page: int = 1): return {"db_session": db_session, "page": page}`
(Netflix dispatch's list endpoints), hands `paginate` its `db_session` and `page`. Followed: a local assigned one
dict literal (`d = {"db": db}`), and a parameter whose dependency (`Depends(f)`, in its default or in its
`Annotated[...]` annotation, or an alias of one) is a project function whose one `return` is a dict literal. The
keys must all be strings (no `**other` inside), and the function must use `name` only to unpack it or to read a key
(`common["page"]`) or to store a value under a string key (`common["page"] = 1`, which that key may then hold
too): a dict it updates otherwise, or hands elsewhere, may hold anything by the time it is unpacked. What
each value is typed as is the caller's business (`CallTargets._record_query_arguments`): a value of the function
itself, or, for a dependency, the parameter of the dependency the value names (`DictItem.owner`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from codemods import astwalk
from codemods import sqla_names as N
from codemods.project import Project
from codemods.symbols import FunctionSymbols


@dataclass(frozen=True)
class DictItem:
    key: str
    value: ast.expr
    owner: FunctionSymbols | None  # the dependency that builds the dict, None: the function analysed


def unpacked_items(project: Project, func: FunctionSymbols | None, name: str) -> list[DictItem] | None:
    """The items `**name` hands a call in `func` (None: not a dict literal awaitify can follow)."""
    if func is None or func.node is None or not _only_unpacked(func.node, name):
        return None
    param = next((p for p in func.params if p.name == name), None)
    if param is not None:
        dependency = _dependency(project, func.module, param.annotation, param.default)
        if dependency is None or dependency.node is None or dependency.is_generator:
            return None
        returned = _returned_dicts(dependency.node)
        if returned is None:
            return None
        found = _items(returned[0]) if len(returned) == 1 else None
        if found is None:
            return None
        return [DictItem(key, value, dependency) for key, value in found] + _stored_items(func.node, name)
    assigned = [
        node
        for node in astwalk.own_nodes(func.node.body)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign))
        and any(isinstance(t, ast.Name) and t.id == name for t in _targets(node))
    ]
    if len(assigned) != 1 or not isinstance(assigned[0], ast.Assign) or len(assigned[0].targets) != 1:
        return None
    found = _items(assigned[0].value)
    if found is None:
        return None
    return [DictItem(key, item, None) for key, item in found] + _stored_items(func.node, name)


def _stored_items(root: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> list[DictItem]:
    """`name["page"] = 1` in the function: the key may hold that value too when the dict is unpacked."""
    return [
        DictItem(key, node.value, None)
        for node in astwalk.walk(root)
        if isinstance(node, ast.Assign) and (key := stored_key(node.targets[0], name)) is not None
    ]


def stored_key(target: ast.expr, name: str) -> str | None:
    """The key of `name["key"]` as an assignment's target (None: another target)."""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == name):
        return None
    key = target.slice
    return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None


def _targets(node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> list[ast.expr]:
    return list(node.targets) if isinstance(node, ast.Assign) else [node.target]


def _only_unpacked(root: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """`name` is read only as `**name` in a call or `name[key]`, stored into only as `name["key"] = value`, and
    bound only by its parameter or one plain assignment (which `unpacked_items` checks), nowhere else in the
    function, nested ones included."""
    allowed: set[int] = set()
    names: list[ast.Name] = []
    for node in astwalk.walk(root):
        if isinstance(node, ast.Call):
            allowed |= {id(k.value) for k in node.keywords if k.arg is None}
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            allowed.add(id(node.value))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Subscript) and stored_key(target, name) is not None:
                allowed.add(id(target.value))  # `name["key"] = value`
            else:
                allowed.add(id(target))
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return False
        if isinstance(node, ast.Name) and node.id == name:
            names.append(node)
    return all(id(node) in allowed for node in names)


def _dependency(
    project: Project, module: str, annotation: ast.expr | None, default: ast.expr | None, depth: int = 0
) -> FunctionSymbols | None:
    """The project function a `Depends(f)` default, or an `Annotated[..., Depends(f)]` annotation (or a
    module-level alias of one), names."""
    depends = isinstance(default, ast.Call) and project.resolve_expr(module, default.func) in N.FASTAPI_DEPENDS
    if depends and isinstance(default, ast.Call) and default.args:
        target = project.resolve_expr(module, default.args[0])
        return project.functions.get(target or "")
    if depth > 3 or annotation is None:
        return None
    if isinstance(annotation, ast.Subscript):
        origin = project.resolve_expr(module, annotation.value) or ""
        if origin.rsplit(".", 1)[-1] != "Annotated" or not isinstance(annotation.slice, ast.Tuple):
            return None
        for extra in annotation.slice.elts[1:]:
            found = _dependency(project, module, None, extra, depth + 1)
            if found is not None:
                return found
        return None
    qual = project.resolve_expr(module, annotation)
    owner, _, alias = (qual or "").rpartition(".")
    symbols = project.modules.get(owner)
    if symbols is None or alias not in symbols.global_values:
        return None
    return _dependency(project, owner, symbols.global_values[alias], None, depth + 1)


def _returned_dicts(root: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.expr] | None:
    """What each `return` of the function returns (None: one returns nothing, or none returns)."""
    returns = [node for node in astwalk.own_nodes(root.body) if isinstance(node, ast.Return)]
    if not returns or any(node.value is None for node in returns):
        return None
    return [node.value for node in returns if node.value is not None]


def _items(value: ast.expr) -> list[tuple[str, ast.expr]] | None:
    """The (key, value) pairs of a dict literal whose keys are all strings (None: anything else)."""
    if not isinstance(value, ast.Dict):
        return None
    items: list[tuple[str, ast.expr]] = []
    for key, item in zip(value.keys, value.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return None
        items.append((key.value, item))
    return items
