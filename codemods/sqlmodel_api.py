"""SQLModel's sync API (`from sqlmodel import Session, create_engine`): found from imports, never migrated.

SQLModel's async session is `sqlmodel.ext.asyncio.session.AsyncSession`, whose `exec()` is a coroutine; awaitify
has no rule for it, so it rewrites nothing that uses SQLModel's session or engine. Each place that imports or
names one gets a review marker (AWT221) from `migrate` and a finding (AWT303) from `check`, so a SQLModel
backend is never reported clean while it is still sync.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from codemods import astwalk
from codemods import sqla_names as N
from codemods.project import Project
from codemods.symbols import ModuleSymbols

# the modules through which `module.attribute` can name SQLModel's sync API (`import sqlmodel` ... `sqlmodel.Session`)
_API_MODULES = frozenset(name.rsplit(".", 1)[0] for name in N.SQLMODEL_SYNC_API)


@dataclass(frozen=True)
class SqlModelUse:
    line: int
    column: int  # 0-based, of the import statement or the dotted name
    name: str  # `Session` or `create_engine`


def sqlmodel_sync_uses(project: Project, symbols: ModuleSymbols, tree: Callable[[], ast.Module]) -> list[SqlModelUse]:
    """Every import of SQLModel's sync `Session` / `create_engine` in the module, and every dotted name reaching one
    through an imported module (`sqlmodel.Session`). `tree` is asked for only when the module imports such a
    module itself."""
    candidates = project.names_of(N.SQLMODEL_SYNC_API)  # the others need no resolution (see `names_of`)
    found = [
        SqlModelUse(line, column, name)
        for line, column, module, names in symbols.from_imports
        for name in names
        if name in candidates and project.canonical(f"{module}.{name}") in N.SQLMODEL_SYNC_API
    ]
    if any(target in _API_MODULES for target in symbols.imports.values()):
        found += _dotted_uses(project, symbols.name, tree())
    return sorted(set(found), key=lambda use: (use.line, use.column, use.name))


# what each name of SQLModel's sync API becomes, by hand
_REPLACEMENTS = {
    "Session": "`sqlmodel.ext.asyncio.session.AsyncSession`",
    "create_engine": "`create_async_engine` (`create_all` through `run_sync`)",
}


def review_reason(names: list[str]) -> str:
    """The AWT221 marker's reason for SQLModel's `names` on one line."""
    unique = list(dict.fromkeys(names))
    named = ", ".join(f"`{name}`" for name in unique)
    replacements = " and ".join(_REPLACEMENTS[name] for name in sorted(unique, key=list(_REPLACEMENTS).index))
    return f"AWT221 SQLModel's sync {named} not migrated: move to {replacements} by hand"


def exec_review_reason(session_source: str) -> str:
    """The AWT221 marker's reason for `session.exec(...)` on a session typed as SQLAlchemy's: only SQLModel's
    `Session` has `exec()`, so the session handed in is SQLModel's, and SQLAlchemy's `AsyncSession` has no `exec()`."""
    return (
        f"`{session_source}.exec()` is SQLModel's: a SQLModel session, not migrated (SQLAlchemy's AsyncSession "
        "has no exec()): move to `sqlmodel.ext.asyncio.session.AsyncSession` by hand"
    )


def check_message(name: str) -> str:
    """The AWT303 finding's message for SQLModel's `name`."""
    return f"sync SQLModel API `{name}` is still used (awaitify does not migrate SQLModel: AWT221)"


def _dotted_uses(project: Project, module: str, tree: ast.Module) -> list[SqlModelUse]:
    return [
        SqlModelUse(node.lineno, node.col_offset, node.attr)
        for node in astwalk.walk(tree)
        if isinstance(node, ast.Attribute) and project.resolve_expr(module, node) in N.SQLMODEL_SYNC_API
    ]
