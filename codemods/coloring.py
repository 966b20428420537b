"""Whole-repo coloring: which functions must be `async def`, to a fixed point over the call graph.

Seeds are functions doing session I/O (or already `async def`). A caller of an async function must
await it and so becomes async, unless it cannot (a boundary: dunder, property, lambda, module level),
in which case the call is left for review. Methods overriding each other share one color.
The result depends only on the facts, never on file order: every iteration is over sorted keys.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from codemods.blocking_callees import blocking_functions
from codemods.function_facts import FunctionFacts
from codemods.project import Project


@dataclass
class Coloring:
    async_functions: set[str] = field(default_factory=set)
    newly_async: set[str] = field(default_factory=set)
    # function -> call-graph path that forced it async: [f, g, ..., "<reason>"]
    reasons: dict[str, list[str]] = field(default_factory=dict)
    # function that stays sync and blocks -> the path to its blocking call (see `blocking_callees`)
    blocking: dict[str, list[str]] = field(default_factory=dict)
    # the wrappers of decorators whose calls of the wrapped function are awaited: the wrapper became async, and so
    # did every function the decorator is applied to (see `decorator_wrappers`)
    awaited_wrappers: set[str] = field(default_factory=set)


def _override_families(project: Project, names: set[str]) -> dict[str, set[str]]:
    """Each method -> the other methods of the same name in the MRO of one class: up and down its hierarchy,
    and across the bases a class combines (`class Saver(LoggingMixin, Base)`: `Saver().save()` runs
    `LoggingMixin.save`, whose `super().save()` runs `Base.save`, so the two must share a color); and the methods
    of the `typing.Protocol` classes it satisfies (`def f(repo: UserReader)` calls `UserRepo.get` through
    `UserReader.get`)."""
    family: dict[str, set[str]] = {}
    for cls_name in sorted(project.classes):
        by_name: dict[str, list[str]] = {}
        for ancestor in project.mro(cls_name):
            for method_name, method in project.classes[ancestor].methods.items():
                if not method_name.startswith("__") and method.qualname in names:
                    by_name.setdefault(method_name, []).append(method.qualname)
        for protocol in project.implemented_protocols(cls_name):
            for method_name in sorted(by_name):
                declared = project.lookup_method(protocol, method_name)
                if declared is not None and declared.qualname in names:
                    by_name[method_name].append(declared.qualname)
        for members in by_name.values():
            for member in members:
                family.setdefault(member, set()).update(other for other in members if other != member)
    return {method: relatives for method, relatives in family.items() if relatives}


def color_call_graph(project: Project, facts: dict[str, FunctionFacts]) -> Coloring:
    result = Coloring()
    callers: dict[str, list[str]] = {}
    for qualname in sorted(facts):
        for site in facts[qualname].calls:
            if site.context in {"lambda", "genexp", "task_arg", "main_entry", "uncertain"}:
                continue  # not awaited: "uncertain" may not return a coroutine at all (flagged instead)
            for callee in site.callees:
                callers.setdefault(callee, []).append(qualname)
    family = _override_families(project, set(facts))
    # `app.dependency_overrides[get_db] = fake_get_db`: FastAPI calls the override where it called get_db
    replaced_by: dict[str, set[str]] = {}
    for qualname in sorted(facts):
        for dependency, override in facts[qualname].dependency_overrides:
            replaced_by.setdefault(dependency, set()).add(override)

    through_wrapper = _called_through_wrappers(facts)

    queue: deque[str] = deque()
    for qualname in sorted(facts):
        fact = facts[qualname]
        if fact.is_async:
            # already async: awaited where its callers are async, but it makes no sync caller (or sync
            # base method) async: a sync caller may mean to make a coroutine (`run_until_complete(f())`)
            result.async_functions.add(qualname)
            result.reasons[qualname] = [qualname, "already async def"]
        elif fact.seeds and fact.boundary is None:
            result.async_functions.add(qualname)
            result.newly_async.add(qualname)
            result.reasons[qualname] = [qualname, fact.seeds[0]]
            queue.append(qualname)

    while queue:
        current = queue.popleft()
        candidates = [(c, "calls") for c in sorted(set(callers.get(current, [])))]
        candidates += [(m, "overrides") for m in sorted(family.get(current, set()))]
        candidates += [(o, "replaces") for o in sorted(replaced_by.get(current, set()))]
        candidates += [(d, "decorated") for d in sorted(through_wrapper.get(current, set()))]
        for candidate, relation in candidates:
            if candidate in result.async_functions or candidate not in facts:
                continue
            if facts[candidate].boundary is not None:
                continue
            result.async_functions.add(candidate)
            result.newly_async.add(candidate)
            path = result.reasons[current]
            if relation == "calls":
                result.reasons[candidate] = [candidate, *path]
            elif relation == "replaces":
                result.reasons[candidate] = [candidate, f"overrides the FastAPI dependency {current}", *path[1:]]
            elif relation == "decorated":
                result.reasons[candidate] = [candidate, f"called through its decorator's {current}", *path[1:]]
            else:
                result.reasons[candidate] = [candidate, f"shares its signature with {current}", *path[1:]]
            queue.append(candidate)
    result.awaited_wrappers = {
        wrapper
        for wrapper, decorated in through_wrapper.items()
        if wrapper in result.async_functions and decorated <= result.async_functions
    }
    result.blocking = blocking_functions(facts, result.async_functions)
    return result


def _called_through_wrappers(facts: dict[str, FunctionFacts]) -> dict[str, set[str]]:
    """Each wrapper of a project decorator (a function calling the function it wraps, see `decorator_wrappers`) ->
    the functions the decorator is applied to. A wrapper made async makes each of them async: a call of one runs
    the wrapper and returns its coroutine."""
    decorated: dict[str, set[str]] = {}
    for qualname in sorted(facts):
        for _span, decorator, _nested in facts[qualname].sync_wrappers:
            decorated.setdefault(decorator, set()).add(qualname)
    through: dict[str, set[str]] = {}
    for qualname in sorted(facts):
        if not facts[qualname].wrapped_calls:
            continue
        for decorator, functions in decorated.items():
            if qualname.startswith(f"{decorator}."):
                through.setdefault(qualname, set()).update(functions)
    return through


# the override relation, for staged runs (codemods.staging): methods of one family migrate together
override_families = _override_families
