"""The call a background task makes later: `background_tasks.add_task(write_audit, SessionLocal, user_id)`.

FastAPI runs `write_audit(SessionLocal, user_id)` after the response, with the arguments `add_task` was handed. The
analysis types an untyped parameter from what its callers pass (`analyze._passed_type`); without this module a task's
arguments told nothing, so `def write_audit(session_factory, user_id)` kept calling `db = session_factory()`,
`db.commit()` as sync code when `SessionLocal` became an `async_sessionmaker`: the commit returned a coroutine that
nothing awaited, and the row was silently never written.
"""

from __future__ import annotations

import ast

from codemods.project import Project
from codemods.symbols import FunctionSymbols

# the `BackgroundTasks` a route or dependency declares (`background_tasks: BackgroundTasks`)
BACKGROUND_TASKS = frozenset(
    {"fastapi.BackgroundTasks", "fastapi.background.BackgroundTasks", "starlette.background.BackgroundTasks"}
)
# `BackgroundTask(func, *args, **kwargs)`, one task handed to a response
BACKGROUND_TASK = frozenset({"starlette.background.BackgroundTask", "fastapi.background.BackgroundTask"})


def deferred_call(project: Project, module: str, func: FunctionSymbols | None, node: ast.Call) -> ast.Call | None:
    """`tasks.add_task(f, a, b=c)` (`tasks` a parameter annotated `BackgroundTasks`) or `BackgroundTask(f, a, b=c)`
    -> `f(a, b=c)`, the call the task makes; None for any other call."""
    if not node.args or isinstance(node.args[0], ast.Starred):
        return None
    callee = node.func
    if isinstance(callee, ast.Attribute) and callee.attr == "add_task":
        if not _is_background_tasks(project, module, func, callee.value):
            return None
    elif project.resolve_expr(module, callee) not in BACKGROUND_TASK:
        return None
    return ast.Call(func=node.args[0], args=node.args[1:], keywords=node.keywords)


def _is_background_tasks(project: Project, module: str, func: FunctionSymbols | None, owner: ast.expr) -> bool:
    if func is None or not isinstance(owner, ast.Name):
        return False
    param = next((p for p in func.params if p.name == owner.id), None)
    if param is None or param.annotation is None:
        return False
    return project.resolve_expr(module, param.annotation) in BACKGROUND_TASKS
