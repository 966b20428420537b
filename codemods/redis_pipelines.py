"""A sync redis pipeline in a function the migration makes async (AWT220).

`pipe = r.pipeline()` (or `with r.pipeline() as pipe:`) does no I/O: the pipeline buffers each command
(`pipe.set(k, v)` returns the pipeline at once) and sends them all at `pipe.execute()`, in MULTI/EXEC by default
(`transaction=True`) or as they are. So only `execute()` needs a worker thread,
`values = await asyncio.to_thread(pipe.execute)`, and the buffered commands stay where they are.

That holds while every use of the pipeline is seen: the name is bound once, to the pipeline, and only ever read to
call one of its methods. A pipeline handed to a function, stored, returned or rebound may be executed where its type
is not followed; one on which `watch()` is called runs its commands at once, each a round trip, until `multi()`
(optimistic locking: the whole block belongs in a thread). There `r.pipeline()` keeps its review marker.
"""

from __future__ import annotations

import ast

# methods whose call, on a pipeline seen whole, keeps its commands buffered (see the module's docstring)
_IMMEDIATE_MODE = frozenset({"watch"})


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
