"""A function's edits, from its facts and the coloring: what the analysis found, made to fit what became async.

`_plan_function` adds to a file's plan the function's own edits, and for a function made async its decorators,
blocking calls and offloads; the awaits, `async for` / `async with` and reviews of its calls of functions that
became async; and what a function that stays sync cannot await. The steps it takes for blocking calls of project
functions, calls that may or may not return a coroutine and generators drawn by hand are beside it. Apart from
the file's plan (`file_plans`) because this is most of the planning, and from the analysis because it reads only
its facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from codemods import edits as E
from codemods.async_urls import ASYNC_URL_HELPER
from codemods.blocking_callees import blocking_callee
from codemods.blocking_callees import path_text as block_path_text
from codemods.blocking_calls import THREAD_ADVICE
from codemods.coloring import Coloring
from codemods.decorator_wrappers import decorator_of, only_used_as_decorator
from codemods.dependency_factories import returned_as_dependency, returned_by_followed_method
from codemods.edits import Edit, FilePlan, ImportName, Span
from codemods.function_facts import HELD_DROPPED, CallSite, FunctionFacts, GeneratorUse
from codemods.helpers_src import ASYNC_URL_HELPER_SOURCE, NEXT_CLOSED_HELPER_SOURCE
from codemods.project_analysis import _Analysis
from codemods.query_imports import CORE_NAMES
from codemods.spans import SpanMaker
from codemods.stored_dependencies import stored_for_dependency


def _short(qualname: str) -> str:
    return qualname.rsplit(".", 1)[-1]


def _sync_wrapper_review(decorator: str, decorated: str, wrappers_made_async: list[str]) -> str:
    if wrappers_made_async:  # dispatch's `@background_task`: its wrapper opens and closes a session itself
        return (
            f"AWT213 @{decorator}'s {_short(wrappers_made_async[0])}() became async (it does I/O itself) and so did "
            f"{_short(decorated)}(): the wrapper calls it without await, returns its coroutine unawaited and does "
            "what it does around the call (try/except, closing a session) before it runs; await the call there"
        )
    return (
        f"AWT213 @{decorator} is a sync decorator and {_short(decorated)}() became async: its wrapper "
        "gets a coroutine, so what it does around the call (try/except, retries, using the result) no "
        "longer applies; make the wrapper async"
    )


def _path_text(path: list[str]) -> str:
    return " -> ".join(p.rsplit(".", 1)[-1] if i < len(path) - 1 else p for i, p in enumerate(path))


def _plan_function(
    fact: FunctionFacts,
    analysis: _Analysis,
    coloring: Coloring,
    plan: FilePlan,
    spans: SpanMaker,
    uses_sqlalchemy: bool,
) -> None:
    plan.edits.extend(fact.edits)
    plan.edits.extend(fact.reviews)
    plan.imports |= {ImportName(m, n) for m, n in fact.imports}
    plan.removable |= fact.replaced_names
    if any(e.kind == E.QUERY for e in fact.edits):
        plan.imports |= CORE_NAMES
    if fact.helpers:
        for helper in sorted(fact.helpers):
            if helper == ASYNC_URL_HELPER and ASYNC_URL_HELPER_SOURCE not in plan.helpers:
                plan.helpers.append(ASYNC_URL_HELPER_SOURCE)
    is_async = fact.qualname in coloring.async_functions
    in_migration = fact.qualname in coloring.newly_async or _touches_the_session(fact, uses_sqlalchemy)
    if not fact.is_async:
        plan.edits.extend(fact.lazy_reads)
    if is_async:
        if fact.qualname in coloring.newly_async:
            plan.async_defs.add(fact.qualname)
            if fact.async_decorator is not None:  # a test function: pytest must run it on an event loop
                plan.added_decorators[fact.qualname] = fact.async_decorator
                plan.imports.add(ImportName("", fact.async_decorator.split(".", 1)[0]))
            if fact.async_fixture_edit is not None:  # a fixture: pytest-asyncio must drive it
                plan.edits.append(fact.async_fixture_edit)
                plan.imports.add(ImportName("", "pytest_asyncio"))
            if fact.is_contextmanager:
                plan.async_contextmanagers.add(fact.qualname)
                plan.imports.add(ImportName("contextlib", "asynccontextmanager"))
                plan.removable.add("contextmanager")
            for span, decorator, nested in fact.sync_wrappers:
                made_async = [q for q in nested if q in coloring.async_functions]
                if made_async and all(_awaits_the_wrapped(analysis, coloring, q) for q in made_async):
                    continue  # the wrapper awaits the call (`decorator_wrappers`)
                plan.edits.append(
                    Edit(E.REVIEW, span, text=_sync_wrapper_review(_short(decorator), fact.qualname, made_async))
                )
            if _awaits_the_wrapped(analysis, coloring, fact.qualname):
                plan.edits.extend(Edit(E.AWAIT, span) for span in fact.wrapped_calls)
            for span, async_text, reason, removable in fact.blocking_calls:
                if async_text is None:
                    plan.edits.append(Edit(E.REVIEW, span, text=reason))
                    continue
                plan.edits.append(Edit(E.REPLACE_EXPR, span, text=async_text))  # `await asyncio.sleep(x)`
                plan.imports.add(ImportName("", "asyncio"))
                if removable:
                    plan.removable.add(removable)
        plan.edits.extend(fact.async_edits)
        plan.imports |= {ImportName(m, n) for m, n in fact.async_imports}
        plan.removable |= fact.removable_names
        if any(e.kind == E.QUERY for e in fact.async_edits):
            plan.imports |= CORE_NAMES
    else:
        reason = fact.boundary or "this function stays sync"
        for edit in fact.async_edits:
            if edit.kind in {E.AWAIT, E.QUERY, E.REPLACE_EXPR, E.REPLACE_STMT, E.ASYNC_WITH, E.ASYNC_FOR, E.ASYNC_COMP}:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        edit.span,
                        text=f"AWT204 database I/O that cannot be awaited here ({reason})",
                    )
                )
    if analysis.left_alone and (is_async or fact.async_edits or fact.edits):
        plan.edits.extend(_calls_into_files_left_alone(fact, analysis.left_alone))
    if fact.qualname in coloring.newly_async:
        for site in fact.constructions:  # `CoverArtClient()` whose `__init__` blocks
            _plan_blocking_call(site, fact, analysis, coloring, plan)
    for site in fact.calls:
        targets = [c for c in site.callees if c in coloring.async_functions]
        if not targets and fact.qualname in coloring.newly_async:
            _plan_blocking_call(site, fact, analysis, coloring, plan)
        if not targets or site.awaited or site.context == "task_arg":
            continue
        unsure = _unsure_call_review(site, targets)
        if unsure is not None:
            if any(t in coloring.newly_async for t in targets):
                plan.edits.append(unsure)
            continue
        if not any(t in coloring.newly_async for t in targets) and (not is_async or not in_migration):
            # a call between functions that were already async, in code that has nothing to do with the
            # session (asyncpg, redis...): a coroutine stored for later or returned by a lambda is deliberate
            continue
        callee = analysis.functions.get(targets[0])
        path = coloring.reasons.get(targets[0], [targets[0]])
        if site.context == "main_entry":
            plan.edits.append(Edit(E.REPLACE_EXPR, site.span, text=f"asyncio.run({site.source})"))
            plan.imports.add(ImportName("", "asyncio"))
            continue
        is_generator = bool(callee and callee.is_generator and not callee.is_contextmanager)
        is_cm = bool(callee and callee.is_contextmanager)
        if (is_generator or is_cm) and not any(t in coloring.newly_async for t in targets):
            continue  # an async generator or context manager that was already one is already used correctly
        if is_generator and site.context == "assigned":
            continue  # `gen = get_db()`: next(gen) / gen.close() are rewritten where they are used
        if is_generator and site.context == "async_iterable_arg":
            continue  # `StreamingResponse(export_lines(db))` iterates an async generator as well
        if is_generator:
            if site.context == "for_iter" and is_async and site.stmt_span is not None:
                plan.edits.append(Edit(E.ASYNC_FOR, site.stmt_span))
            elif site.context == "comp_iter" and is_async:
                plan.edits.append(Edit(E.ASYNC_COMP, site.span))
            else:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        site.span,
                        text=f"AWT213 {_short(targets[0])}() became an async generator: iterate it with `async for`"
                        f" ({_path_text(path)})",
                    )
                )
            continue
        if is_cm:
            if site.context == "with_item" and is_async and site.stmt_span is not None:
                plan.edits.append(Edit(E.ASYNC_WITH, site.stmt_span, text=f"{site.span[0]}:{site.span[1]}"))
            else:
                plan.edits.append(
                    Edit(
                        E.REVIEW,
                        site.span,
                        text=f"AWT213 {_short(targets[0])}() became an async context manager ({_path_text(path)})",
                    )
                )
            continue
        if site.context in {"lambda", "genexp"} or not is_async:
            where = {"lambda": "inside a lambda", "genexp": "inside a generator expression"}.get(
                site.context,
                f"in {fact.qualname.rsplit('.', 1)[-1]}, which cannot be async ({fact.boundary})",
            )
            plan.edits.append(
                Edit(
                    E.REVIEW,
                    site.span,
                    text=f"AWT213 calls async {targets[0].rsplit('.', 1)[-1]}() {where}; path: {_path_text(path)}",
                )
            )
            continue
        plan.edits.append(Edit(E.AWAIT, site.span))
    if fact.qualname in coloring.newly_async:
        for span, callees in fact.yield_froms:
            async_source = any(
                c in coloring.async_functions
                and analysis.functions.get(c) is not None
                and analysis.functions[c].is_generator
                for c in callees
            )
            plan.edits.append(Edit(E.YIELD_FROM, span, text="async" if async_source else "sync"))
    for use in fact.generator_uses:
        if use.qualname in coloring.newly_async and not use.awaited:
            _plan_generator_use(use, is_async, coloring, plan)
    offloaded = {function: (call, direct, imported) for function, call, direct, imported in fact.offloads}
    rewritten_offloads: set[Span] = set()
    for span, _line, qualname in fact.callback_refs:
        if qualname in coloring.newly_async and span in offloaded and is_async:
            # `await run_in_threadpool(fn, x)` -> `await fn(x)` (see thread_offloads)
            call, direct, imported = offloaded[span]
            plan.edits.append(Edit(E.REPLACE_EXPR, call, text=direct))
            rewritten_offloads.add(call)
            if imported:
                plan.removable.add(imported)
        elif (
            qualname in coloring.newly_async
            and not _returned_as_dependency(analysis, fact.qualname, qualname, span)
            and not _awaits_the_wrapped(analysis, coloring, qualname)  # `return wrapper`, all calls of it awaited
            and not _stored_for_dependency(analysis, fact.module, span)
        ):
            plan.edits.append(
                Edit(
                    E.REVIEW,
                    span,
                    text=f"AWT213 {qualname.rsplit('.', 1)[-1]}() became async and is passed as a callback",
                )
            )
    for span, async_text, qualname in fact.wrapped_contextmanagers:
        if qualname in coloring.newly_async:
            plan.edits.append(Edit(E.REPLACE_EXPR, span, text=async_text))  # `asynccontextmanager(get_db)`
            if async_text == "asynccontextmanager":
                plan.imports.add(ImportName("contextlib", "asynccontextmanager"))
                plan.removable.add("contextmanager")
    _drop_unused_loops(fact, rewritten_offloads, plan)
    for span, dependency in fact.opaque_overrides:
        if dependency in coloring.newly_async:
            text = (
                f"AWT213 overrides {_short(dependency)}(), which became async: check that this override hands out "
                "an AsyncSession (awaitify cannot follow it)"
            )
            plan.edits.append(Edit(E.REVIEW, span, text=text))


def _drop_unused_loops(fact: FunctionFacts, rewritten_offloads: set[Span], plan: FilePlan) -> None:
    """`loop = asyncio.get_running_loop()` whose every read was a `loop.run_in_executor(...)` rewritten to
    `await fn(...)`: the assignment goes (an unused local otherwise, ruff F841)."""
    served: dict[Span, list[tuple[Span, int, str]]] = {}
    for call, assignment, reads, getter in fact.offload_loops:
        served.setdefault(assignment, []).append((call, reads, getter))
    for assignment, calls in served.items():
        if all(call in rewritten_offloads for call, _, _ in calls) and len(calls) == calls[0][1]:
            plan.edits.append(Edit(E.REPLACE_STMT, assignment, text=""))
            plan.removable.add(calls[0][2])


def _awaits_the_wrapped(analysis: _Analysis, coloring: Coloring, wrapper: str) -> bool:
    """A decorator's wrapper that became async and awaits its calls of the function it wraps: every function the
    decorator is applied to became async, and it is applied nowhere else (see `decorator_wrappers`)."""
    if wrapper not in coloring.awaited_wrappers:
        return False
    decorator = decorator_of(analysis.project, wrapper)
    modules = (
        (parsed.symbols.name, parsed.text, lambda parsed=parsed: parsed.tree) for parsed in analysis.parsed.values()
    )
    return only_used_as_decorator(analysis.project, modules, decorator)


def _returned_as_dependency(analysis: _Analysis, factory: str, returned: str, span: Span) -> bool:
    """`return role_checker` in a factory used only as `Depends(check_role([...]))`: FastAPI awaits it; `return
    route` in a method whose every call hands its result to FastAPI or calls it (`self.add_api_route("/",
    self._get_all())`)."""
    modules = (
        (parsed.symbols.name, parsed.text, lambda parsed=parsed: parsed.tree) for parsed in analysis.parsed.values()
    )
    if returned_as_dependency(analysis.project, modules, factory, returned, span):
        return True
    symbols = analysis.project.functions.get(factory)
    parsed = next((p for p in analysis.parsed.values() if symbols and p.symbols.name == symbols.module), None)
    if parsed is None:
        return False
    module = (parsed.text, lambda: parsed.tree)
    facts = (fact for path_facts in analysis.facts_by_path.values() for fact in path_facts)
    return returned_by_followed_method(analysis.project, facts, module, factory, returned, span)


def _stored_for_dependency(analysis: _Analysis, module: str, span: Span) -> bool:
    """`ModelRouter(Item, get_db)` of a class keeping `get_db` for `Depends(self.db_func)`: FastAPI runs it."""
    modules = (
        (parsed.symbols.name, parsed.text, lambda parsed=parsed: parsed.tree) for parsed in analysis.parsed.values()
    )
    return stored_for_dependency(analysis.project, modules, module, span)


def _plan_blocking_call(
    site: CallSite, fact: FunctionFacts, analysis: _Analysis, coloring: Coloring, plan: FilePlan
) -> None:
    """A call, in a function made async, of a project function that stays sync and blocks: run in a worker thread
    as the sync function ran it, or flagged where it cannot be moved so (see `blocking_callees`)."""
    callee = blocking_callee(site, coloring.blocking)
    if callee is None:
        return
    facts = analysis.functions.get(callee)
    later = facts is not None and (facts.is_generator or facts.is_contextmanager)
    returned = facts.returns_blocking if facts is not None else None
    if site.thread_text is not None and not later and returned is None:
        plan.edits.append(Edit(E.REPLACE_EXPR, site.span, text=site.thread_text))
        plan.imports.add(ImportName("", "asyncio"))
        return
    called = _short(callee.removesuffix(".__init__"))  # a constructor: the class's name
    if returned is not None:
        # moved alone, the call would leave `proc.communicate()`, `sock.recv()` on the loop, unflagged
        text = (
            f"AWT220 {called}() returns what blocks the event loop when used, now that {_short(fact.qualname)}() is "
            f"async (sync, it ran in a worker thread): what {returned}() gives; run the code that uses it in a "
            "worker thread, or use an async client"
        )
        plan.edits.append(Edit(E.REVIEW, site.span, text=text))
        return
    if later:
        advice = (
            "it blocks when iterated or entered, not when called: do that in a worker thread, or use an async client"
        )
    else:
        advice = THREAD_ADVICE
    text = (
        f"AWT220 {called}() blocks the event loop now that {_short(fact.qualname)}() is async (sync, it ran "
        f"in a worker thread): {block_path_text(coloring.blocking[callee])}; {advice}"
    )
    plan.edits.append(Edit(E.REVIEW, site.span, text=text))


def _unsure_call_review(site: CallSite, targets: list[str]) -> Edit | None:
    """A call that may or may not return a coroutine: it runs one of several functions, some async and some not
    (`repo.count()` of `for repo in [UserRepo(db), ItemRepo(db)]`), or a parameter holding an async function or what
    some caller hands it instead (`loader=load_user`, a caller passing a lambda). Neither an await nor none is right
    for every case: flagged, never awaited."""
    if site.context == "uncertain":
        text = (
            f"AWT213 calls a parameter that holds {_callee_names(targets, site.callees)} (async) or what a caller "
            "passes instead: awaitify cannot tell whether it returns a coroutine"
        )
        return Edit(E.REVIEW, site.span, text=text)
    if len(targets) == len(site.callees):
        return None
    synced = _callee_names([c for c in site.callees if c not in targets], site.callees)
    text = (
        f"AWT213 calls one of {_callee_names(targets, site.callees)} (async) and {synced} (sync): awaitify cannot "
        "tell which it runs"
    )
    return Edit(E.REVIEW, site.span, text=text)


def _callee_names(qualnames: list[str], among: tuple[str, ...]) -> str:
    """`count()`; `UserRepo.count()` where the candidates share the name (methods of several classes)."""
    shared = len({_short(c) for c in among}) < len(among)
    return ", ".join(f"{'.'.join(q.rsplit('.', 2)[-2:]) if shared else _short(q)}()" for q in qualnames)


def _plan_generator_use(use: GeneratorUse, is_async: bool, coloring: Coloring, plan: FilePlan) -> None:
    """`next(gen)`, `gen.close()`... of a generator that became async: awaited in a function that is async,
    flagged elsewhere (an inline `next(get_db())` like the call making any generator there)."""
    if is_async:
        if use.needs_next_closed_helper and NEXT_CLOSED_HELPER_SOURCE not in plan.helpers:
            plan.helpers.append(NEXT_CLOSED_HELPER_SOURCE)
        if not _draw_as_query_session(use, plan):
            plan.edits.append(Edit(E.REPLACE_EXPR, use.span, text=use.async_text))
        if use.lifetime == HELD_DROPPED:
            plan.edits.append(Edit(E.REVIEW, use.span, text=_HELD_DROPPED_REVIEW.format(name=_short(use.qualname))))
        return
    if use.made_here is not None:
        path = _path_text(coloring.reasons.get(use.qualname, [use.qualname]))
        text = f"AWT213 {_short(use.qualname)}() became an async generator: iterate it with `async for` ({path})"
        plan.edits.append(Edit(E.REVIEW, use.made_here, text=text))
        return
    text = f"AWT213 {_short(use.qualname)}() became an async generator; this function cannot await it"
    plan.edits.append(Edit(E.REVIEW, use.span, text=text))


_HELD_DROPPED_REVIEW = (
    "AWT223 this {name}() generator is never closed here: the sync one was closed when this function returned, the "
    "async one is closed later by the event loop, while its session may be in use again (IllegalStateChangeError): "
    "close it here (`try: ... finally: await gen.aclose()`)"
)


def _draw_as_query_session(use: GeneratorUse, plan: FilePlan) -> bool:
    """`next(get_db()).query(User).all()`: the query's rewrite holds the session expression, so the draw is
    rewritten as its session (`(await _awaitify_next_closed(get_db())).scalars(...)`)."""
    for index, edit in enumerate(plan.edits):
        spec = edit.query
        if edit.kind != E.QUERY or spec is None or spec.session_src != use.source or not use.source:
            continue
        if edit.span[:2] <= use.span[:2] and use.span[2:] <= edit.span[2:]:
            plan.edits[index] = replace(edit, query=replace(spec, session_src=f"({use.async_text})"))
            return True
    return False


def _touches_the_session(fact: FunctionFacts, uses_sqlalchemy: bool) -> bool:
    """Whether a function is this migration's business even if nothing it calls became async.

    An already-async function missing an await is fixed (and reported by check) only where it works with the
    session (half-migrated code: `async def endpoint(db: Session)` calling an async service without await)
    or in a module that uses SQLAlchemy; async code with no session in it (asyncpg, redis) is left alone."""
    return uses_sqlalchemy or bool(fact.edits or fact.async_edits)


def _calls_into_files_left_alone(fact: FunctionFacts, left_alone: Mapping[str, str]) -> list[Edit]:
    found = []
    for site in fact.calls:
        for callee in site.callees:
            module = next((m for m in left_alone if callee.startswith(m + ".")), None)
            if module is not None:
                text = f"AWT216 {_short(callee)}() is in {module}, left sync: {left_alone[module]}"
                found.append(Edit(E.REVIEW, site.span, text=text))
                break
    return found
