"""Blocking calls in a function the migration makes async (AWT220).

FastAPI runs a sync (`def`) route in a worker thread: a `time.sleep()` or a `requests.get()` there blocks that thread
only. Made `async def`, the route runs on the event loop, and the same call stalls every request the process serves.
So, in a function that becomes async (never in one that was async already: that is the code's own choice):

- `time.sleep(x)` becomes `await asyncio.sleep(x)`;
- a blocking call of the standard library or `requests` becomes `await asyncio.to_thread(fn, *args, **kwargs)`: the
  same call, in a worker thread as before;
- where the call cannot be moved as it is (inside a lambda, or with arguments the migration rewrites too), it gets a
  review marker instead.

The analysis records the calls (`FunctionFacts.blocking_calls`); the plan applies them once the function is async.
"""

from __future__ import annotations

import ast

SLEEP = frozenset({"time.sleep"})
# module functions that block on the network or on a child process
BLOCKING = frozenset(
    {
        *(f"requests.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")),
        *(f"requests.api.{verb}" for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")),
        "urllib.request.urlopen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
    }
)
_NOT_MOVABLE = (ast.Call, ast.Await, ast.Lambda, ast.NamedExpr, ast.Yield, ast.YieldFrom)


def is_blocking(resolved: str | None) -> bool:
    return resolved in SLEEP or resolved in BLOCKING


def movable(node: ast.Call) -> bool:
    """Whether the call's arguments can be moved into another call as their text: nothing in them that the
    migration rewrites too (a call), or that would change meaning moved (an await, a lambda, a walrus)."""
    arguments = [*node.args, *(k.value for k in node.keywords)]
    return not any(isinstance(sub, _NOT_MOVABLE) for argument in arguments for sub in ast.walk(argument))


def async_form(resolved: str, function_src: str, arguments_src: list[str]) -> str:
    """`time.sleep(x)` -> `await asyncio.sleep(x)`; `requests.get(u)` -> `await asyncio.to_thread(requests.get, u)`."""
    if resolved in SLEEP:
        return f"await asyncio.sleep({', '.join(arguments_src)})"
    return f"await asyncio.to_thread({', '.join([function_src, *arguments_src])})"
