"""Sync callables handed to a worker thread, and sync iterables handed to a response: what becomes of them once the
callable is async.

`await run_in_threadpool(get_user, db, 1)` (and `asyncio.to_thread`, `anyio.to_thread.run_sync`,
`loop.run_in_executor(None, ...)`) ran sync session I/O off the event loop. Once `get_user` is `async def`, the
thread would only return its coroutine, unawaited: the migrated form awaits the call itself,
`await get_user(db, 1)` (see `engine`'s plan; the analysis records the call in `FunctionFacts.offloads`).

`loop = asyncio.get_running_loop()` (or `get_event_loop()`) whose only use was `loop.run_in_executor(None, fn, ...)`
goes with the call it served: once every such call is rewritten it is an unused local (`loop_assignment`).

`StreamingResponse(export_lines(db))` takes an async iterable as well as a sync one: a generator that became an
async generator is handed over as it is.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# the functions that run `fn(*args, **kwargs)` in a worker thread, and whether keywords go to `fn`
_OFFLOADERS = {
    "starlette.concurrency.run_in_threadpool": True,
    "fastapi.concurrency.run_in_threadpool": True,
    "asyncio.to_thread": True,
    "asyncio.threads.to_thread": True,
    "anyio.to_thread.run_sync": False,  # its keywords (`limiter`, `abandon_on_cancel`) are its own
}
# responses that iterate an async iterable as well as a sync one
ASYNC_ITERABLE_CONSUMERS = frozenset(
    {
        "starlette.responses.StreamingResponse",
        "fastapi.responses.StreamingResponse",
        "sse_starlette.EventSourceResponse",
        "sse_starlette.sse.EventSourceResponse",
    }
)


@dataclass(frozen=True)
class Offload:
    """`run_in_threadpool(fn, *args, **kwargs)`: what runs in the thread, and what it is called with."""

    function: ast.expr
    arguments: tuple[ast.expr | ast.keyword, ...]
    imported: bool  # the offloading function is an import (`run_in_threadpool`), not a method (`loop.run_in_executor`)


def offload_of(node: ast.Call, resolved: str | None) -> Offload | None:
    """The callable a call runs in a worker thread, if the call is one of those and its arguments are plain values
    (names, attributes, constants: a rewrite of the call then moves them as they are)."""
    if resolved in _OFFLOADERS:
        if not node.args or (node.keywords and not _OFFLOADERS[resolved]):
            return None
        function, rest, imported = node.args[0], node.args[1:], True
    elif _runs_in_the_default_executor(node):
        function, rest, imported = node.args[1], node.args[2:], False
    else:
        return None
    arguments: tuple[ast.expr | ast.keyword, ...] = (*rest, *node.keywords)
    values: list[ast.expr] = [a.value if isinstance(a, ast.keyword | ast.Starred) else a for a in arguments]
    if not isinstance(function, ast.Name | ast.Attribute) or not all(map(_plain, values)):
        return None
    return Offload(function, arguments, imported)


def _runs_in_the_default_executor(node: ast.Call) -> bool:
    """`loop.run_in_executor(None, fn, *args)`: another executor is the caller's own choice, left to review."""
    return (
        isinstance(node.func, ast.Attribute)
        and node.func.attr == "run_in_executor"
        and len(node.args) >= 2
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value is None
        and not node.keywords
    )


def _plain(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return _plain(node.value)
    return isinstance(node, ast.Name | ast.Constant)


LOOP_GETTERS = frozenset(
    {
        "asyncio.get_running_loop",
        "asyncio.get_event_loop",
        "asyncio.events.get_running_loop",
        "asyncio.events.get_event_loop",
    }
)


def loop_assignment(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> tuple[ast.Assign, int] | None:
    """`name = asyncio.get_running_loop()`, the one binding of `name` in the function: the statement, and how many
    times the function reads `name` (closures nested in it included). The caller checks what the call resolves to.
    None where `name` is bound anywhere else, a parameter, or declared global / nonlocal."""
    bindings = reads = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name:
            reads += isinstance(node.ctx, ast.Load)
            bindings += not isinstance(node.ctx, ast.Load)
        elif _declares(node, name):
            return None
    # a statement of the function's own body (never the only one of an inner block, which removing would empty)
    assignments = [stmt for stmt in function.body if _assigns_a_call_without_arguments(stmt, name)]
    if bindings != 1 or len(assignments) != 1:
        return None
    assignment = assignments[0]
    assert isinstance(assignment, ast.Assign)
    return assignment, reads


def _declares(node: ast.AST, name: str) -> bool:
    """A parameter named `name`, or `global name` / `nonlocal name`."""
    if isinstance(node, ast.Global | ast.Nonlocal):
        return name in node.names
    return isinstance(node, ast.arg) and node.arg == name


def _assigns_a_call_without_arguments(stmt: ast.stmt, name: str) -> bool:
    """`name = f()`."""
    return (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and stmt.targets[0].id == name
        and isinstance(stmt.value, ast.Call)
        and not stmt.value.args
        and not stmt.value.keywords
    )
