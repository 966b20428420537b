"""A sync redis pipeline in a function the migration makes async (AWT220).

`pipe = r.pipeline()` (or `with r.pipeline() as pipe:`) does no I/O: the pipeline buffers each command
(`pipe.set(k, v)` returns the pipeline at once) and sends them all at `pipe.execute()`, in MULTI/EXEC by default
(`transaction=True`) or as they are. So only `execute()` needs a worker thread,
`values = await asyncio.to_thread(pipe.execute)`, and the buffered commands stay where they are.

That holds while every use of the pipeline is seen: the name is bound once, to the pipeline, and only ever read to
call one of its methods. A pipeline handed to a function, stored, returned or rebound may be executed where its type
is not followed; one on which `watch()` is called runs its commands at once, each a round trip, until `multi()`
(optimistic locking), and its `reset()` on leaving a `with` block (or its `__del__`) sends UNWATCH while it still
watches. There `r.pipeline()` keeps its review marker.

Whatever the pipeline's origin (a local, a parameter annotated `redis.client.Pipeline`, a project function's
result), a command on a pipeline that the function watches may run at once: `current = pipe.get(key)` after
`pipe.watch(key)` is a round trip, which on the event loop would hold every request. Such a command runs in a worker
thread, `current = await asyncio.to_thread(pipe.get, key)`: the same call, whatever the pipeline's mode (buffered,
it returns the pipeline there too). Only a command that follows `pipe.multi()` in the same run of statements, with
no `watch()` between, is known to be buffered and stays as it is (`watched_commands`).
"""

from __future__ import annotations

import ast

from codemods.astwalk import own_nodes

# methods whose call, on a pipeline seen whole, keeps its commands buffered (see the module's docstring)
_IMMEDIATE_MODE = frozenset({"watch"})
# methods of a watched pipeline that send UNWATCH (`reset()` and `close()` while it watches) or DISCARD at once
_UNWATCHING = frozenset({"unwatch", "reset", "close", "discard"})
# methods that never send anything, whatever the mode
_NO_IO = frozenset({"multi"})
_Body = list[ast.stmt]


def kept_local(function: ast.FunctionDef | ast.AsyncFunctionDef | None, call: ast.Call) -> bool:
    """Whether `call` (an `r.pipeline(...)`) is bound to a local name, once, that the function reads only to call
    one of the pipeline's methods, never `watch()`."""
    if function is None:
        return False
    name = _bound_name(function, call)
    if name is None:
        return False
    receivers = [found for node in ast.walk(function) if (found := _method_of(node)) is not None]
    if any(receiver.id == name and method in _IMMEDIATE_MODE for receiver, method in receivers):
        return False
    called_on = {id(receiver) for receiver, _ in receivers}
    bindings = 0
    for node in ast.walk(function):
        if isinstance(node, ast.Global | ast.Nonlocal) and name in node.names:
            return False
        if isinstance(node, ast.arg) and node.arg == name:
            return False
        if isinstance(node, ast.Name) and node.id == name:
            if not isinstance(node.ctx, ast.Load):
                bindings += 1
            elif id(node) not in called_on:
                return False
    return bindings == 1


def _bound_name(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> str | None:
    """`pipe = <call>` or `with <call> as pipe:` in the function: the name."""
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and node.value is call
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            return node.targets[0].id
        if isinstance(node, ast.With):
            for item in node.items:
                if item.context_expr is call and isinstance(item.optional_vars, ast.Name):
                    return item.optional_vars.id
    return None


def _method_of(node: ast.AST) -> tuple[ast.Name, str] | None:
    """`name.method(...)`: the name read, and the method."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
        return node.func.value, node.func.attr
    return None


def watched_commands(function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> set[int]:
    """The calls (by `id`) of a pipeline's methods, in `function`, that may run at once because the function calls
    `watch()` on the same name: every command on that name but those known to follow its `multi()` (see the
    module's docstring), and its `unwatch()`, `reset()`, `close()`, `discard()`. The caller checks that the name
    holds a pipeline."""
    if function is None:
        return set()
    calls = [(node, found) for node in ast.walk(function) if (found := _method_of(node)) is not None]
    watched = {receiver.id for _, (receiver, method) in calls if method in _IMMEDIATE_MODE}
    if not watched:
        return set()
    buffered = _after_multi(function.body, watched)
    return {
        id(node)
        for node, (receiver, method) in calls
        if receiver.id in watched
        and method not in _NO_IO
        and (method in _UNWATCHING or id(node) not in buffered.get(receiver.id, set()))
    }


def _after_multi(body: _Body, names: set[str]) -> dict[str, set[int]]:
    """Name -> the calls (by `id`) in statements that follow `name.multi()` in the same statement list, with no
    `name.watch(...)` from there on in that list: each runs after `multi()` in the same pass, with no WATCH since.
    Nested functions and classes are not followed (they run at another time)."""
    found: dict[str, set[int]] = {}
    for statements in _statement_lists(body):
        for name in names:
            for index, statement in enumerate(statements):
                if not _is_multi(statement, name):
                    continue
                rest = statements[index + 1 :]
                if any(_calls_method(stmt, name, "watch") for stmt in rest):
                    break
                found.setdefault(name, set()).update(id(node) for stmt in rest for node in own_nodes([stmt]))
                break
    return found


def _statement_lists(body: _Body) -> list[_Body]:
    """`body` and every statement list nested in it (blocks of `if`, loops, `with`, `try`, `match`), not in nested
    functions or classes."""
    lists = [body]
    for statement in body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            nested = getattr(statement, field, None)
            if isinstance(nested, list) and nested and isinstance(nested[0], ast.stmt):
                lists.extend(_statement_lists(nested))
        for handler in getattr(statement, "handlers", []):
            lists.extend(_statement_lists(handler.body))
        for case in getattr(statement, "cases", []):
            lists.extend(_statement_lists(case.body))
    return lists


def _is_multi(statement: ast.stmt, name: str) -> bool:
    """`name.multi()` as a statement of its own."""
    return (
        isinstance(statement, ast.Expr)
        and (found := _method_of(statement.value)) is not None
        and (found[0].id == name and found[1] == "multi")
    )


def _calls_method(statement: ast.stmt, name: str, method: str) -> bool:
    return any(
        (found := _method_of(node)) is not None and found[0].id == name and found[1] == method
        for node in ast.walk(statement)
    )
