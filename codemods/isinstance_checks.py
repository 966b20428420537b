"""`isinstance(x, Engine)` / `isinstance(conn, Connection)`: a type check against a sync class the migration replaces.

`create_engine()` becomes `create_async_engine()` and `engine.connect()` an `AsyncConnection`; neither is an instance
of the sync class (an `AsyncEngine` wraps its `Engine`, `sync_engine`), so such a check, left as it is, is False for
the migrated value and silently takes the other branch. Where the analysis types `x` as an engine or connection that
the migration makes async, the class becomes the async one (`isinstance(engine, AsyncEngine)`: the same answer as
before); where it cannot type `x`, the check gets a review marker (AWT226). A value typed as something else (a
session, a mapped object) was no engine and is none after: left as it is. The `Session` class is renamed
`AsyncSession` everywhere the module names it (see `module_edits.session_type_edits`), these checks included.

This module only decides; the analysis (`session_calls.SessionCalls._check_isinstance_of_sync_class`) applies it.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from codemods import sqla_names as N

ISINSTANCE = "builtins.isinstance"
ASYNC_CLASS = {
    **dict.fromkeys(N.SYNC_ENGINE_CLASSES, "AsyncEngine"),
    **dict.fromkeys(N.SYNC_CONNECTION_CLASSES, "AsyncConnection"),
}


def sync_classes(classes: ast.expr, resolve: Callable[[ast.expr], str | None]) -> list[tuple[ast.expr, str]]:
    """The operands of `isinstance`'s second argument (a class, or a tuple of them) that name a sync engine or
    connection class, each with the async class it becomes."""
    operands = list(classes.elts) if isinstance(classes, ast.Tuple) else [classes]
    found = []
    for operand in operands:
        async_class = ASYNC_CLASS.get(resolve(operand) or "")
        if async_class is not None:
            found.append((operand, async_class))
    return found


def review_reason(async_classes: list[str]) -> str:
    named = sorted(set(async_classes))
    sync = " / ".join(name.removeprefix("Async") for name in named)
    return (
        f"isinstance() against the sync {sync} is False for the {' / '.join(named)} the migration makes: "
        f"test the async class (or both) where the value can be one"
    )
