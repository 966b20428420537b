"""Sync callers that must stay sync whatever they call: Celery tasks, command-line commands, Alembic's scripts.

A Celery worker calls a task function synchronously (`@app.task` / `@shared_task`): made `async def`, the
task would return an un-awaited coroutine and do nothing. So do click and Typer with a command's function
(`@click.command()`, `@group.command()`, `@app.command()` of a `typer.Typer()`). Alembic runs `env.py` and its
revision scripts synchronously too (see `codemods.alembic_scripts`). All stay sync; a call they make to code that
became async is flagged (AWT213) with the reason given here.
"""

from __future__ import annotations

import ast

from codemods.alembic_scripts import is_alembic_env, is_revision_script
from codemods.project import Project
from codemods.symbols import FunctionSymbols, ModuleSymbols

SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task"})
CELERY_APPS = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
CLICK_DECORATORS = frozenset({"click.command", "click.group", "click.decorators.command", "click.decorators.group"})
TYPER_APPS = frozenset({"typer.Typer", "typer.main.Typer"})
CLICK_GROUPS = frozenset({"click.Group", "click.core.Group"})
# `@app.command()` / `@app.callback()` of a Typer app, `@main.command()` / `@main.group()` of a click group
_CLI_REGISTRATIONS = frozenset({"command", "callback", "group"})
CELERY_REASON = "a Celery task stays sync: the worker calls it synchronously"
CLI_REASON = "a command-line command stays sync: click and Typer call it synchronously"
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
    return project.global_made_by(func.module, node, CELERY_APPS)


def is_cli_command(project: Project, func: FunctionSymbols, _depth: int = 0) -> bool:
    """`@click.command()`, `@click.group()`, `@main.command()` of a click group (a function so decorated or a
    `click.Group(...)`), `@app.command()` / `@app.callback()` of `app = typer.Typer()`."""
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if project.resolve_expr(func.module, target) in CLICK_DECORATORS:
            return True
        if not (isinstance(target, ast.Attribute) and target.attr in _CLI_REGISTRATIONS):
            continue
        if project.global_made_by(func.module, target.value, TYPER_APPS | CLICK_GROUPS):
            return True
        group = project.functions.get(project.resolve_expr(func.module, target.value) or "")
        if group is not None and _depth < 8 and is_cli_command(project, group, _depth + 1):
            return True
    return False


def boundary_reason(project: Project, module: ModuleSymbols, func: FunctionSymbols | None) -> str | None:
    if is_alembic_env(module):
        return ALEMBIC_REASON
    if is_revision_script(module):
        return ALEMBIC_SCRIPT_REASON
    if func is not None and is_celery_task(project, func):
        return CELERY_REASON
    if func is not None and is_cli_command(project, func):
        return CLI_REASON
    return None
