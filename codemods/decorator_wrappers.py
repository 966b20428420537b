"""Decorators of the project whose wrapper does database I/O itself, and the functions they decorate.

Airflow's `@provide_session`, Netflix dispatch's `@background_task`: `def provide_session(func): @wraps(func) def
wrapper(*args, **kwargs): with create_session() as session: return func(*args, session=session, **kwargs); return
wrapper`. The wrapper opens a session, so it becomes async, and every function the decorator is applied to is now
called through it: a call of one returns the wrapper's coroutine, so it must be awaited, whether the decorated
function does I/O or not (the coloring makes each of them async, `coloring._called_through_wrappers`). Inside the
wrapper, `func(...)` then calls an async function: it is awaited (`wrapped_calls`, `Coloring.awaited_wrappers`),
where every function the decorator is applied to became async and the decorator is used nowhere but as a decorator
(`only_used_as_decorator`): a function wrapped by a call, `provide_session(helper)`, is not known to the analysis,
and awaiting a sync one raises TypeError. A decorator that keeps the function somewhere else too (a registry, a
thread, a queue) is not followed either. Elsewhere the AWT213 markers stay (see `function_plans._sync_wrapper_review`).

What the wrapper hands the function, `func(*args, session=session, **kwargs)` or `kwargs["db_session"] = db_session`
before `func(*args, **kwargs)` (`stored_keywords`), types the decorated functions' parameters of that name, as an
argument of a call would (`analyze.FunctionAnalyzer._hint_wrapped_functions`).

A wrapper that stays sync (a retry or logging decorator) is left as it is: making it async would make every function
it decorates, and their callers, async for the sake of the ones that do I/O.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from codemods.astwalk import own_nodes
from codemods.edits import Span
from codemods.project import Project
from codemods.returned_entities import nested_function_returned
from codemods.spans import SpanMaker
from codemods.symbols import FunctionSymbols
from codemods.unpacked_dicts import stored_key


def decorator_of(project: Project, wrapper: str) -> str:
    """The decorator a wrapper belongs to: the function it is nested in, or for a decorator factory
    (`@retry(3)`: `def retry(times): def deco(fn): def wrapper(...)`) the outermost function."""
    decorator = wrapper.rpartition(".")[0]
    while decorator.rpartition(".")[0] in project.functions:
        decorator = decorator.rpartition(".")[0]
    return decorator


def wrapped_parameter(project: Project, wrapper: FunctionSymbols) -> str | None:
    """The name under which `wrapper` sees the function it wraps: the first parameter of the plain function it is
    nested in (`def provide_session(func): def wrapper(...): ...`), when that function returns it. None for any
    other function."""
    if not wrapper.nested_in_function or wrapper.is_async:
        return None
    enclosing = project.functions.get(wrapper.qualname.rpartition(".")[0])
    if enclosing is None or enclosing.is_async or enclosing.class_qualname is not None or not enclosing.params:
        return None
    if not any(nested_function_returned(value) == wrapper.qualname for value in enclosing.return_values):
        return None
    name = enclosing.params[0].name
    if any(param.name == name for param in wrapper.params):
        return None
    if enclosing.node is None or _kept_by_the_decorator(enclosing.node, wrapper.name, name):
        return None
    return name


# what a decorator may do with the function it wraps, besides wrapping it: copy or read its signature and metadata
_READS_METADATA = frozenset({"wraps", "update_wrapper", "signature", "getfullargspec", "getdoc", "getmodule"})


def _kept_by_the_decorator(decorator: ast.FunctionDef | ast.AsyncFunctionDef, wrapper: str, name: str) -> bool:
    """The decorator keeps the function it wraps somewhere else than in its wrapper (`registry[fn.__name__] = fn`,
    `wrapper.sync = fn`, `executor.submit(fn)`): whoever calls it there would call a coroutine function."""
    metadata_reads: set[int] = set()
    roots: list[ast.AST] = []
    for statement in decorator.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == wrapper:
            roots.extend(statement.decorator_list)  # `@wraps(fn)`; its body is the wrapper's own (`wrapped_calls`)
        else:
            roots.append(statement)
    nodes = [node for root in roots for node in ast.walk(root)]
    for node in nodes:
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            metadata_reads.add(id(node.value))  # `fn.__name__`
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if callee in _READS_METADATA:
                metadata_reads.update(id(arg) for arg in node.args)
    return any(isinstance(node, ast.Name) and node.id == name and id(node) not in metadata_reads for node in nodes)


def wrapped_calls(wrapper: ast.FunctionDef | ast.AsyncFunctionDef, name: str, spans: SpanMaker) -> list[Span]:
    """The calls `name(...)` in the wrapper's own body, when that is all the wrapper does with `name` (reading an
    attribute aside, `func.__name__`): none when it binds it, hands it on or calls it in a nested function or a
    lambda, where no await can go."""
    nodes = own_nodes(wrapper.body)
    for node in nodes:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.withitem, ast.NamedExpr)):
            target = node.optional_vars if isinstance(node, ast.withitem) else node.target
            targets = [target] if target is not None else []
        if any(isinstance(sub, ast.Name) and sub.id == name for target in targets for sub in ast.walk(target)):
            return []
    calls = [node for node in nodes if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    called = {id(call.func) for call in calls if call.func.id == name}  # type: ignore[attr-defined]
    body = [node for statement in wrapper.body for node in ast.walk(statement)]  # not `@wraps(func)` above it
    read_attributes = {
        id(node.value) for node in body if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    for node in body:
        if isinstance(node, ast.Name) and node.id == name and id(node) not in called | read_attributes:
            return []  # handed on, or called in a lambda or a nested function: not awaited there
    return sorted(spans.span(call) for call in calls if id(call.func) in called)


def only_used_as_decorator(
    project: Project, modules: Iterable[tuple[str, str, Callable[[], ast.Module]]], decorator: str
) -> bool:
    """Every reference to `decorator` in the project is a decorator of a def (`@provide_session`, or
    `@retry(3)` for a decorator factory). `modules`: (module name, text, a getter of its tree) of each file; a tree
    is asked for only where the text names it."""
    short = decorator.rpartition(".")[2]
    for module, text, tree_of in modules:
        if short not in text:
            continue
        tree = tree_of()
        applied: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for expr in node.decorator_list:
                    applied.add(id(expr.func if isinstance(expr, ast.Call) else expr))
        for node in ast.walk(tree):
            if (
                isinstance(node, (ast.Name, ast.Attribute))
                and id(node) not in applied
                and project.resolve_expr(module, node) == decorator
            ):
                return False
    return True


def stored_keywords(nodes: Iterable[ast.AST], kwargs: str | None) -> list[tuple[str, ast.expr]]:
    """What a function stores in its `**kwargs` by a literal key (`kwargs["db_session"] = db_session`, Netflix
    dispatch's `@background_task`), in order: (key, value)."""
    if kwargs is None:
        return []
    return [
        (key, node.value)
        for node in nodes
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and (key := stored_key(node.targets[0], kwargs)) is not None
    ]
