"""Sync callers that must stay sync whatever they call: Celery tasks and Alembic's scripts.

A Celery worker calls a task function synchronously (`@app.task` / `@shared_task`): made `async def`, the
task would return an un-awaited coroutine and do nothing. Alembic runs `env.py` and its revision scripts
synchronously too (see `codemods.alembic_scripts`). Both stay sync; a call they make to code that became async
is flagged (AWT213) with the reason given here.
"""

from __future__ import annotations

import ast

from codemods.alembic_scripts import is_alembic_env, is_revision_script
from codemods.project import Project
from codemods.symbols import FunctionSymbols, ModuleSymbols

SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task"})
CELERY_APPS = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
CELERY_REASON = "a Celery task stays sync: the worker calls it synchronously"
ALEMBIC_REASON = "Alembic runs env.py synchronously: it is never made async"
ALEMBIC_SCRIPT_REASON = "Alembic runs its revision scripts synchronously: they are never made async"


def is_celery_task(project: Project, func: FunctionSymbols) -> bool:
    """`@shared_task`, `@shared_task(...)`, `@app.task` or `@app.task(...)` with `app = Celery(...)`."""
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if project.resolve_expr(func.module, target) in SHARED_TASK:
            return True
        if isinstance(target, ast.Attribute) and target.attr == "task" and _is_celery_app(project, func, target.value):
            return True
    return False


def _is_celery_app(project: Project, func: FunctionSymbols, node: ast.expr) -> bool:
    qualname = project.resolve_expr(func.module, node)
    if qualname is None or "." not in qualname:
        return False
    module_name, name = qualname.rsplit(".", 1)
    module = project.modules.get(module_name)
    value = module.global_values.get(name) if module is not None else None
    return isinstance(value, ast.Call) and project.resolve_expr(module_name, value.func) in CELERY_APPS


def boundary_reason(project: Project, module: ModuleSymbols, func: FunctionSymbols | None) -> str | None:
    if is_alembic_env(module):
        return ALEMBIC_REASON
    if is_revision_script(module):
        return ALEMBIC_SCRIPT_REASON
    if func is not None and is_celery_task(project, func):
        return CELERY_REASON
    return None
