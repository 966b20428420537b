"""SQLModel's sync API (`from sqlmodel import Session, create_engine`): found from imports, never migrated.

SQLModel's async session is `sqlmodel.ext.asyncio.session.AsyncSession`, whose `exec()` is a coroutine; awaitify
has no rule for it, so it rewrites nothing that uses SQLModel's session or engine. Each place that imports or
names one gets a review marker (AWT221) from `migrate` and a finding (AWT303) from `check`, so a SQLModel
backend is never reported clean while it is still sync; so does each parameter annotated with an alias of SQLModel's
`Session` (`session: SessionDep`, `SessionDep = Annotated[Session, Depends(get_session)]`), where a route gets its
session without naming SQLModel. SQLModel's AsyncSession is known to the analysis as an AsyncSession
(`sqla_names.ASYNC_SESSION_CLASSES`).
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


_SESSION_CLASSES = frozenset(name for name in N.SQLMODEL_SYNC_API if name.endswith(".Session"))
_MAX_ALIAS_HOPS = 8


@dataclass(frozen=True)
class SqlModelUse:
    line: int
    column: int  # 0-based, of the import statement, the dotted name or the parameter
    name: str  # `Session` or `create_engine`
    # `def read(session: SessionDep)`: the parameter whose annotation is an alias of SQLModel's `Session`
    # (`SessionDep = Annotated[Session, Depends(get_session)]`, defined elsewhere), and the alias as written
    alias: str = ""


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
    if _imports_a_session_alias(project, symbols):
        found += _alias_parameters(project, symbols.name, tree())
    return sorted(set(found), key=lambda use: (use.line, use.column, use.name, use.alias))


def _imports_a_session_alias(project: Project, symbols: ModuleSymbols) -> bool:
    """Whether the module defines or imports an alias of SQLModel's `Session` (the gate that keeps the walk over
    parameters to the few modules that can have one: no tree is needed otherwise)."""
    return any(_is_session_alias(project, f"{symbols.name}.{name}", 0) for name in symbols.global_values) or any(
        target not in _SESSION_CLASSES and _is_session_alias(project, project.canonical(target), 0)
        for target in symbols.imports.values()
    )


def _is_session_alias(project: Project, qualname: str, depth: int) -> bool:
    """`SessionDep` of `SessionDep = Annotated[Session, Depends(get_session)]` (or `= Session`, or an alias of one)
    in a module of the project, `Session` being SQLModel's."""
    owner, _, name = qualname.rpartition(".")
    symbols = project.modules.get(owner)
    value = symbols.global_values.get(name) if symbols is not None else None
    if value is None or depth > _MAX_ALIAS_HOPS:
        return False
    return _names_the_session(project, owner, value, depth + 1)


def _names_the_session(project: Project, module: str, annotation: ast.expr, depth: int) -> bool:
    """`Session`, `Annotated[Session, ...]`, `Optional[Session]`, `Session | None`, or an alias of one of them."""
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        return any(_names_the_session(project, module, side, depth) for side in (annotation.left, annotation.right))
    if isinstance(annotation, ast.Subscript):
        origin = (project.resolve_expr(module, annotation.value) or "").rsplit(".", 1)[-1]
        if origin not in {"Annotated", "Optional", "Union"}:
            return False
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        candidates = elements[:1] if origin == "Annotated" else elements
        return any(_names_the_session(project, module, element, depth) for element in candidates)
    resolved = project.resolve_expr(module, annotation)
    if resolved is None:
        return False
    canonical = project.canonical(resolved)
    return canonical in _SESSION_CLASSES or _is_session_alias(project, canonical, depth)


def _alias_parameters(project: Project, module: str, tree: ast.Module) -> list[SqlModelUse]:
    """Each parameter annotated with an alias of SQLModel's `Session`: a route's `session: SessionDep` names no
    SQLModel import where it is (the alias is usually imported from another module), so the marker goes on it."""
    found = []
    for node in astwalk.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        arguments = node.args
        for parameter in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
            alias = _alias_in(project, module, parameter.annotation) if parameter.annotation else None
            if alias is not None:
                found.append(SqlModelUse(parameter.lineno, parameter.col_offset, "Session", alias))
    return found


def _alias_in(project: Project, module: str, annotation: ast.expr) -> str | None:
    """The alias of SQLModel's `Session` the annotation names (`SessionDep`, `db.SessionDep | None`), if any."""
    for node in astwalk.walk(annotation):
        if not isinstance(node, ast.Name | ast.Attribute):
            continue
        resolved = project.resolve_expr(module, node)
        if resolved is None:
            continue
        canonical = project.canonical(resolved)
        if _is_session_alias(project, canonical, 0):
            return ast.unparse(node)
    return None


# what each name of SQLModel's sync API becomes, by hand
_REPLACEMENTS = {
    "Session": "`sqlmodel.ext.asyncio.session.AsyncSession`",
    "create_engine": "`create_async_engine` (`create_all` through `run_sync`)",
}


def review_reason(uses: list[SqlModelUse]) -> str:
    """The AWT221 marker's reason for SQLModel's uses on one line."""
    aliases = list(dict.fromkeys(use.alias for use in uses if use.alias))
    if aliases and len(aliases) == len(uses):
        named = ", ".join(f"`{alias}`" for alias in aliases)
        return (
            f"AWT221 SQLModel's sync `Session` arrives through {named}, not migrated: nothing using it becomes async; "
            f"move to {_REPLACEMENTS['Session']} by hand"
        )
    unique = list(dict.fromkeys(use.name for use in uses))
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


def check_message(use: SqlModelUse) -> str:
    """The AWT303 finding's message for a use of SQLModel's sync API."""
    if use.alias:
        return f"sync SQLModel `Session` arrives through `{use.alias}` (awaitify does not migrate SQLModel: AWT221)"
    return f"sync SQLModel API `{use.name}` is still used (awaitify does not migrate SQLModel: AWT221)"


def _dotted_uses(project: Project, module: str, tree: ast.Module) -> list[SqlModelUse]:
    return [
        SqlModelUse(node.lineno, node.col_offset, node.attr)
        for node in astwalk.walk(tree)
        if isinstance(node, ast.Attribute) and project.resolve_expr(module, node) in N.SQLMODEL_SYNC_API
    ]
