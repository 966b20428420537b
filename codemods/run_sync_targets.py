"""Functions that SQLAlchemy's `run_sync()` calls synchronously, and what stays sync with them.

Code already moved to asyncio by hand runs its legacy helpers through `await conn.run_sync(count_active)` /
`await session.run_sync(cheapest_title)`: SQLAlchemy calls the helper synchronously, handing it a sync Connection
or Session (`Project.runs_synchronously`). Such a helper is right as it is: its parameters are not typed as
handles to migrate, it is a boundary (it never becomes async), its annotations keep naming the sync classes, and
the sync import they need is no leftover for `check`. Made async, `run_sync` returned its coroutine unawaited.

The callable is followed to the functions it stands for: a function or method (`count_active`, a function defined
in the calling one, `self.helper`, `reports.cheapest`), `functools.partial(helper, ...)`, and the functions a
`lambda c: helper(c, ...)` hands its parameter to; then, from each of them, the project functions they hand the
sync Connection / Session on to (`def count_active(conn): return _count(conn)`): those only get the sync object
there, and stay as they are too.
Migrated code handing such a function the AsyncSession it now has gets AWT219 (see
`session_calls.SessionCalls._check_run_sync_escapes`): it stays sync for run_sync(), and cannot take the async one.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from codemods.astwalk import dotted_name
from codemods.symbols import FunctionSymbols
from codemods.types import ClassRef, Instance

if TYPE_CHECKING:
    from codemods.project import Project

LineRange = tuple[int, int]
PARTIAL = frozenset({"functools.partial"})
# a function and the index of the parameter the sync Connection / Session reaches it through
_Handed = tuple[FunctionSymbols, int]


def run_sync_side(project: Project) -> frozenset[str]:
    """The project functions `run_sync()` calls synchronously, and those they hand the sync object on to."""
    pending = [
        handed
        for module, symbols in project.modules.items()
        for scope, target in symbols.run_sync_callables
        for handed in _called_by_run_sync(project, module, project.functions.get(scope), target, 0)
    ]
    seen: set[tuple[str, int]] = set()
    kept: set[str] = set()
    while pending:
        func, index = pending.pop()
        if (func.qualname, index) in seen:
            continue
        seen.add((func.qualname, index))
        kept.add(func.qualname)
        if index < len(func.params) and func.node is not None:
            pending.extend(_handed_on(project, func, func.params[index].name, func.node))
    return frozenset(kept)


def _called_by_run_sync(
    project: Project, module: str, scope: FunctionSymbols | None, target: ast.expr, offset: int
) -> Iterator[_Handed]:
    """What `run_sync(target)` calls, written in `scope` of `module`: the sync object is its argument `offset`."""
    if isinstance(target, ast.Call) and target.args and project.resolve_expr(module, target.func) in PARTIAL:
        yield from _called_by_run_sync(project, module, scope, target.args[0], offset + len(target.args) - 1)
    elif isinstance(target, ast.Lambda):
        if offset == 0 and target.args.posonlyargs + target.args.args:
            param = (target.args.posonlyargs + target.args.args)[0].arg
            yield from _handed_on(project, scope, param, target.body, module)
    else:
        yield from _callee(project, module, scope, target, offset)


def _handed_on(
    project: Project, func: FunctionSymbols | None, name: str, node: ast.AST, module: str | None = None
) -> Iterator[_Handed]:
    """The project functions that code `node` of `func` calls with `name` as an argument."""
    module = module or (func.module if func is not None else "")
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        for index, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                break
            if isinstance(arg, ast.Name) and arg.id == name:
                yield from _callee(project, module, func, call.func, index)
        for keyword in call.keywords:
            if keyword.arg is not None and isinstance(keyword.value, ast.Name) and keyword.value.id == name:
                for callee, _ in _callee(project, module, func, call.func, 0):
                    found = next((i for i, p in enumerate(callee.params) if p.name == keyword.arg), None)
                    if found is not None:
                        yield callee, found


def _callee(
    project: Project, module: str, scope: FunctionSymbols | None, callee: ast.expr, index: int
) -> Iterator[_Handed]:
    """The project function `callee` (a name, `self.method`, `instance.method`) written in `scope`, and the
    parameter its argument `index` binds."""
    if isinstance(callee, ast.Name) and scope is not None:
        nested = _nested_function(project, scope.qualname, callee.id)
        if nested is not None:
            yield nested, index
            return
    resolved = project.resolve_expr(module, callee)
    if resolved in project.functions:
        yield project.functions[resolved], index
        return
    if not isinstance(callee, ast.Attribute) or dotted_name(callee) is None:
        return
    owner: str | None = None
    if (
        scope is not None
        and scope.class_qualname is not None
        and scope.params
        and isinstance(callee.value, ast.Name)
        and callee.value.id == scope.params[0].name
    ):
        owner = scope.class_qualname  # `self.helper` / `cls.helper`
    else:
        kind = project.value_type_in(module, scope, callee.value)
        owner = kind.qualname if isinstance(kind, Instance | ClassRef) else None
    method = project.lookup_method(owner, callee.attr) if owner in project.classes else None
    if method is not None:
        static = any(dotted_name(d) == "staticmethod" for d in method.decorators)
        yield method, index if static else index + 1


@dataclass(frozen=True)
class KeptSync:
    """What of a module stays sync, for the module-wide parts of the migration (the parameters' types, the annotation
    renames, `check`'s sync imports): all of it (an Alembic script, see `codemods.alembic_scripts`), or the functions
    `run_sync()` (or an event) calls synchronously (`Project.runs_synchronously`), by the lines of their defs. See
    `Project.kept_sync` and `Project.function_stays_sync`."""

    whole_module: bool = False
    # the line ranges of the functions that stay sync, from their symbols (no tree needed: one let go under a
    # budget would be parsed again, see tree_budget); a whole module has none
    ranges: tuple[LineRange, ...] = ()


def within(line: int, ranges: list[LineRange]) -> bool:
    return any(start <= line <= end for start, end in ranges)


def used_only_within(tree: ast.Module, name: str, ranges: list[LineRange]) -> bool:
    """Every read of `name` in the module is inside `ranges` (and there is one)."""
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == name]
    return bool(lines) and all(within(line, ranges) for line in lines)


def _nested_function(project: Project, qualname: str, name: str) -> FunctionSymbols | None:
    """The function `name` defined in function `qualname` or a function it is nested in (a class body's names are
    not seen from its methods)."""
    while qualname in project.functions:
        found = project.functions.get(f"{qualname}.{name}")
        if found is not None:
            return found
        qualname = qualname.rsplit(".", 1)[0]
    return None
