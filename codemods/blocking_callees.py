"""The project's own sync functions that block, called from a function the migration makes async (AWT220).

`SearchService.search` queries the session, so it becomes `async def`; it also calls `self.cache.get(key)`, a sync
method of the project that stays sync and calls a sync redis client. As a sync route the whole of `search` ran in a
worker thread; async, that call would run on the event loop and hold every request while Redis answers (or until
its socket times out). So the call is moved into a worker thread as it is, `await asyncio.to_thread(self.cache.get,
key)`: the same function, called the same way, in a thread as before. A call that cannot be moved as its text (in a
lambda, a loop's iterable, with arguments the migration rewrites too) or whose callee blocks only later (a generator,
a context manager) gets a review marker instead; so does a call of a function that returns what blocks when used
(`return subprocess.Popen(...)`, `return socket.create_connection(...)`: `FunctionFacts.returns_blocking`), since
in a thread the call would return at once and leave `child.communicate()` or `sock.recv()` on the event loop.

A function blocks when it makes a blocking call itself (`FunctionFacts.blocks_on`: `time.sleep`, `requests.get`,
a sync client's method) or calls, not awaited, a project function that blocks, or constructs a project class whose
`__init__` blocks (`CoverArtClient(base)` -> `await asyncio.to_thread(CoverArtClient, base)`); followed up to
`MAX_DEPTH` calls deep. Only the functions the analysis looked at count (see `relevance`): a module of blocking
helpers that imports no database or client package is analysed when a module that is analysed imports it (directly
or through plain modules); one that no analysed module imports is not.
"""

from __future__ import annotations

from collections.abc import Mapping

from codemods.function_facts import CallSite, FunctionFacts

MAX_DEPTH = 4  # calls followed from the function called down to the blocking call


def blocking_functions(facts: Mapping[str, FunctionFacts], async_functions: set[str]) -> dict[str, list[str]]:
    """Each function that stays sync and blocks -> the path to its blocking call: `[f, g, "redis.Redis.get"]`."""
    found: dict[str, list[str]] = {}
    for qualname in sorted(facts):
        fact = facts[qualname]
        if qualname not in async_functions and not fact.is_async and fact.blocks_on:
            found[qualname] = [qualname, fact.blocks_on[0]]
    for _ in range(MAX_DEPTH - 1):
        added: dict[str, list[str]] = {}
        for qualname in sorted(facts):
            fact = facts[qualname]
            if qualname in found or qualname in async_functions or fact.is_async:
                continue
            for site in [*fact.calls, *fact.constructions]:
                callee = blocking_callee(site, found)
                if callee is not None:
                    added[qualname] = [qualname, *found[callee]]
                    break
        if not added:
            break
        found.update(added)
    return found


def blocking_callee(site: CallSite, blocking: Mapping[str, list[str]]) -> str | None:
    """The callee of a call that blocks, when the call is made on the spot (not a callback, not awaited)."""
    if site.awaited or site.context in {"task_arg", "main_entry", "async_iterable_arg", "uncertain"}:
        return None
    return next((callee for callee in site.callees if callee in blocking), None)


def path_text(path: list[str]) -> str:
    """`SearchCache.get() -> redis.Redis.get()`."""
    return " -> ".join(f"{'.'.join(step.rsplit('.', 2)[-2:])}()" for step in path)
