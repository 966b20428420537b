"""Calls that block the event loop, and calls already moved to a worker thread, as the facts record them.

`OffloadRecords` records a blocking call (`time.sleep`, a sync Redis or HTTP client; see `blocking_calls`) with its
async form, and `run_in_threadpool(fn, ...)` or `loop.run_in_executor(None, fn, ...)` whose `fn` may become async
(see `thread_offloads`).
"""

from __future__ import annotations

import ast

from codemods import blocking_calls as B
from codemods.analyzer_base import _Ctx
from codemods.astwalk import dotted_name
from codemods.call_targets import CallTargets
from codemods.function_facts import _CALL_SITE_CONTEXTS, CallSite
from codemods.thread_offloads import LOOP_GETTERS, loop_assignment, offload_of
from codemods.types import FunctionRef


class OffloadRecords(CallTargets):
    """Blocking calls and worker-thread offloads (see the module's docstring)."""

    def _record_blocking_call(self, node: ast.Call, resolved: str, ctx: _Ctx, movable: bool = True) -> None:
        """`time.sleep(x)`, `requests.get(url)`, `client.get(key)` of a sync redis client in a sync function: should
        it become async, they would block the event loop (see `blocking_calls`). `movable`: False for a call whose
        result does the I/O later (flagged)."""
        where = self.func.name if self.func is not None else "it"
        reason = (
            f"AWT220 {resolved}() blocks the event loop now that {where}() is async (sync, it ran in a worker thread):"
            f" {B.THREAD_ADVICE}"
            if movable
            else f"AWT220 {resolved}() returns what blocks the event loop when used, now that {where}() is async"
            " (sync, it ran in a worker thread): use an async client, or run that code in `asyncio.to_thread(...)`"
        )
        async_text = None
        if movable and ctx.context not in {"lambda", "genexp"} and not ctx.awaited and B.movable(node):
            async_text = self._async_form(node, resolved)
        head = dotted_name(node.func)
        removable = head.split(".", 1)[0] if head and resolved in B.SLEEP else None
        self.facts.blocking_calls.append((self.spans.span(node), async_text, reason, removable))
        self.facts.blocks_on.append(resolved)
        function = self.func.node if self.func is not None else None
        returned = not movable and function is not None and B.result_returned(function, node)
        if returned and self.facts.returns_blocking is None:
            self.facts.returns_blocking = resolved  # a call of the function is flagged (see `blocking_callees`)

    def _record_construction(self, node: ast.Call, init: str, ctx: _Ctx) -> None:
        """`CoverArtClient(url)`: should `init` block, the call runs in a worker thread (see `blocking_callees`)."""
        if self.func is None or self.facts.is_async or ctx.awaited:
            return
        context = ctx.context if ctx.context in _CALL_SITE_CONTEXTS else "normal"
        site = CallSite(
            self.spans.span(node), node.lineno, (init,), False, context, thread_text=self._thread_text(node, ctx)
        )
        self.facts.constructions.append(site)

    def _thread_text(self, node: ast.Call, ctx: _Ctx) -> str | None:
        """`await asyncio.to_thread(fn, *args)` for a call of a project function, where the call can be moved as it
        is (see `CallSite.thread_text`)."""
        if self.facts.is_async or ctx.awaited or ctx.context != "normal" or not B.movable(node):
            return None
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            return None
        return self._async_form(node, "")

    def _async_form(self, node: ast.Call, resolved: str) -> str:
        """The call as `blocking_calls.async_form` writes it, from its text (`resolved`: what it calls, "" for a
        project function)."""
        arguments = [self.spans.segment(a) for a in node.args] + [self.spans.segment(k) for k in node.keywords]
        return B.async_form(resolved, self.spans.segment(node.func), arguments)

    def _record_offload(self, node: ast.Call, resolved: str | None) -> None:
        """`await run_in_threadpool(fn, *args)` of a project function: should `fn` become async, the plan awaits
        `fn(*args)` itself (see `thread_offloads`)."""
        offload = offload_of(node, resolved)
        if offload is None or not isinstance(self.type_of(offload.function), FunctionRef):
            return
        arguments = ", ".join(self.spans.segment(argument) for argument in offload.arguments)
        direct = f"{self.spans.segment(offload.function)}({arguments})"
        imported = dotted_name(node.func) if offload.imported else None
        self.facts.offloads.append(
            (
                self.spans.span(offload.function),
                self.spans.span(node),
                direct,
                imported.split(".", 1)[0] if imported else None,
            )
        )
        if not offload.imported:
            self._record_offload_loop(node)

    def _record_offload_loop(self, node: ast.Call) -> None:
        """`loop = asyncio.get_running_loop()` before `loop.run_in_executor(None, fn, ...)`: removable once every
        read of `loop` is such a call and rewritten (see `thread_offloads.loop_assignment`)."""
        function = self.func.node if self.func is not None else None
        if function is None or not isinstance(node.func, ast.Attribute) or not isinstance(node.func.value, ast.Name):
            return
        found = loop_assignment(function, node.func.value.id)
        if found is None:
            return
        assignment, reads = found
        assert isinstance(assignment.value, ast.Call)
        if self.project.resolve_expr(self.module.name, assignment.value.func) not in LOOP_GETTERS:
            return
        if self.spans.commented(assignment):
            return  # its comment would go with it
        getter = (dotted_name(assignment.value.func) or "").split(".", 1)[0]
        self.facts.offload_loops.append((self.spans.span(node), self.spans.span(assignment), reads, getter))
