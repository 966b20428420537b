"""Raw SQL UPDATEs run on a session, then a commit, then a read of an object loaded before (AWT224).

`user = db.get(User, 1); db.execute(text("UPDATE users SET name = 'zz' WHERE id = 1")); db.commit(); user.name`:
the ORM does not synchronise objects with a textual UPDATE. The sync code read the new value anyway, because the
commit expired every object (`expire_on_commit=True`, the default) and the read loaded it again. The migrated
sessionmaker sets `expire_on_commit=False` (a lazy load raises MissingGreenlet under asyncio), so the same read
returns the old value, silently (`tests/rules/test_raw_update_claims.py`). No rewrite reproduces the expiry
exactly (`await db.refresh(user)` costs a SELECT per object, and the code may rely on the old values), so the
UPDATE is flagged, only where a mapped object loaded before it (by this function, one of a list it loaded, or one
handed to it as a parameter annotated with its mapped class) is read after the commit.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Collection, Sequence

from codemods.types import LoadedEntities, Type

TEXT_CONSTRUCTS = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"})
_UPDATE_SQL = re.compile(r"\s*update\s", re.IGNORECASE)


def is_raw_update(statement: ast.expr, resolve: Callable[[ast.expr], str | None]) -> bool:
    """`"UPDATE ..."` or `text("UPDATE ...")` (sqlalchemy's `text`): a literal SQL UPDATE."""
    if isinstance(statement, ast.Call) and len(statement.args) == 1 and resolve(statement.func) in TEXT_CONSTRUCTS:
        statement = statement.args[0]
    return (
        isinstance(statement, ast.Constant)
        and isinstance(statement.value, str)
        and _UPDATE_SQL.match(statement.value) is not None
    )


def stale_reads(
    nodes: Sequence[ast.AST],
    execute: ast.Call,
    session_src: str,
    segment: Callable[[ast.AST], str],
    type_of: Callable[[ast.expr], Type | None],
    given: Collection[str] = (),
) -> list[str]:
    """The names holding mapped objects loaded before `execute` whose attributes are read after a
    `<session>.commit()` that follows `execute`, in source order: locals assigned one object or a list of them
    before it (a list's objects read through a loop or a comprehension over it after the commit), and `given`,
    the parameters holding one (the caller loaded it)."""
    commits = [
        node.lineno
        for node in nodes
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
        and segment(node.func.value) == session_src
        and node.lineno > (execute.end_lineno or execute.lineno)
    ]
    if not commits:
        return []
    loaded_before: dict[str, bool] = {name: False for name in given}  # name -> holds a list
    for node in nodes:
        if isinstance(node, ast.Assign) and node.lineno < execute.lineno:
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(kind := type_of(target), LoadedEntities):
                    loaded_before[target.id] = kind.is_list
    after_commit = min(commits)
    holder = {name: name for name, is_list in loaded_before.items() if not is_list}
    holder.update(
        _elements_read_after(nodes, after_commit, {name for name, is_list in loaded_before.items() if is_list})
    )
    read = {
        holder[node.value.id]
        for node in nodes
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.value, ast.Name)
        and node.value.id in holder
        and node.lineno > after_commit
    }
    return sorted(read)


def _elements_read_after(nodes: Sequence[ast.AST], line: int, lists: set[str]) -> dict[str, str]:
    """Loop variables of a `for` or a comprehension after `line` over one of `lists`: variable -> the list."""
    loops: list[tuple[ast.expr, ast.expr]] = []
    for node in nodes:
        if isinstance(node, ast.For) and node.lineno > line:
            loops.append((node.target, node.iter))
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) and node.lineno > line:
            loops.extend((generator.target, generator.iter) for generator in node.generators)
    return {
        target.id: iterable.id
        for target, iterable in loops
        if isinstance(target, ast.Name) and isinstance(iterable, ast.Name) and iterable.id in lists
    }
