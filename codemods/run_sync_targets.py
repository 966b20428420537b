"""Functions that SQLAlchemy's `run_sync()` calls synchronously, and what stays sync with them.

Code already moved to asyncio by hand runs its legacy helpers through `await conn.run_sync(count_active)` /
`await session.run_sync(cheapest_title)`: SQLAlchemy calls the helper synchronously, handing it a sync Connection
or Session (`Project.runs_synchronously`). Such a helper is right as it is: its parameters are not typed as
handles to migrate, it is a boundary (it never becomes async), its annotations keep naming the sync classes, and
the sync import they need is no leftover for `check`. Made async, `run_sync` returned its coroutine unawaited.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from codemods.project import Project
from codemods.symbols import ModuleSymbols

LineRange = tuple[int, int]


def kept_sync_ranges(project: Project, symbols: ModuleSymbols, tree: Callable[[], ast.Module]) -> list[LineRange]:
    """The line ranges of the module's functions that `run_sync()` calls synchronously; `tree` gives the module's
    tree, asked for only when there is one (a tree let go under a budget is parsed again: see tree_budget)."""
    lines = {func.lineno for func in symbols.functions.values() if project.runs_synchronously(func.qualname)}
    if not lines:
        return []
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in ast.walk(tree())
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno in lines
    ]


def within(line: int, ranges: list[LineRange]) -> bool:
    return any(start <= line <= end for start, end in ranges)


def used_only_within(tree: ast.Module, name: str, ranges: list[LineRange]) -> bool:
    """Every read of `name` in the module is inside `ranges` (and there is one)."""
    lines = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == name]
    return bool(lines) and all(within(line, ranges) for line in lines)
