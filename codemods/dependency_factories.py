"""Dependency factories: a function made async that its factory returns, where FastAPI or the caller awaits it.

`def check_role(roles): def role_checker(user=Depends(...)): ...; return role_checker`, used as
`Depends(check_role(["admin"]))` (or `Security(...)`, or in a route's `dependencies=[...]`): FastAPI inspects the
dependency it is handed and awaits a coroutine function, so `role_checker` becoming async changes nothing where
the factory is used, and the AWT213 "passed as a callback" marker on `return role_checker` would be noise. The
same for a factory whose result is called at once (`make_lister()(db)`) or bound to a local (`handle =
make_lister()`): the analysis types the result as the nested function, so those calls are awaited and a use
handing the local on is flagged where it is. Only when every use of the factory in the project is such a call:
a factory whose result is stored or passed anywhere else keeps the marker.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from codemods.edits import Span
from codemods.function_facts import FunctionFacts
from codemods.project import Project
from codemods.route_handoffs import DEPENDENCY_DECLARATIONS
from codemods.spans import SpanMaker


def returned_as_dependency(
    project: Project,
    modules: Iterable[tuple[str, str, Callable[[], ast.Module]]],
    factory: str,
    returned: str,
    span: Span,
) -> bool:
    """`span` (a reference to `returned`, a function nested in `factory`) is the value of one of the factory's
    `return` statements, and every use of `factory` in `modules` is a call handed to `Depends(...)` /
    `Security(...)`. `modules`: (module name, text, a getter of its tree) of each file; a tree is asked for only
    where the text names the factory."""
    module_name = factory.rpartition(".")[0]
    if returned.rpartition(".")[0] != factory:
        return False
    by_name = {name: (text, tree_of) for name, text, tree_of in modules}
    if module_name not in by_name:
        return False
    text, tree_of = by_name[module_name]
    if not _is_returned(text, tree_of(), span):
        return False
    short = factory.rpartition(".")[2]
    return all(
        _only_declared_dependencies(project, name, tree_of(), factory)
        for name, (text, tree_of) in by_name.items()
        if short in text
    )


def returned_by_followed_method(
    project: Project,
    facts: Iterable[FunctionFacts],
    module: tuple[str, Callable[[], ast.Module]],
    factory: str,
    returned: str,
    span: Span,
) -> bool:
    """`span` is the value of a `return` of `factory`, a method (`def _get_all(self): def route(...): ...; return
    route`), and every call of it in the project (`self._get_all()`, resolved by the analysis like any method call)
    has its result followed (see `route_handoffs`), and nothing refers to the method without calling it. `facts`:
    those of every function and module top level analysed; `module`: the text and a getter of the tree of the
    factory's module."""
    symbols = project.functions.get(factory)
    if symbols is None or symbols.class_qualname is None or returned.rpartition(".")[0] != factory:
        return False
    text, tree_of = module
    if not _is_returned(text, tree_of(), span):
        return False
    for fact in facts:
        if any(qualname == factory for _span, _line, qualname in fact.callback_refs):
            return False  # `handlers = [self._get_all]`: handed on, called elsewhere
        followed = set(fact.followed_calls)
        if any(factory in site.callees and site.span not in followed for site in fact.calls):
            return False
    return True


def _is_returned(text: str, tree: ast.Module, span: Span) -> bool:
    spans = SpanMaker(text)
    return any(
        isinstance(node, ast.Return) and isinstance(node.value, ast.Name) and spans.span(node.value) == span
        for node in ast.walk(tree)
    )


def _only_declared_dependencies(project: Project, module: str, tree: ast.Module, factory: str) -> bool:
    """Every reference to `factory` in this module is the callee of a call whose result the analysis follows: the
    first argument of a dependency declaration, `Depends(factory(...))`; a call of the result at once,
    `factory(...)(db)`; a local bound to the result, `handle = factory(...)` (its calls are awaited and a use handing
    it on is flagged where it is, as for `create_tables = init_db`)."""
    followed = {id(call.func) for call in _calls_whose_result_is_followed(project, module, tree)}
    return all(
        id(node) in followed
        for node in ast.walk(tree)
        if isinstance(node, ast.Name | ast.Attribute) and project.resolve_expr(module, node) == factory
    )


def _calls_whose_result_is_followed(project: Project, module: str, tree: ast.Module) -> list[ast.Call]:
    calls: list[ast.Call] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call):
            calls.append(node.func)  # `factory(...)(db)`
        elif (
            isinstance(node, ast.Assign)
            and all(isinstance(target, ast.Name) for target in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            calls.append(node.value)  # `handle = factory(...)`
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Call)
            and project.resolve_expr(module, node.func) in DEPENDENCY_DECLARATIONS
        ):
            calls.append(node.args[0])  # `Depends(factory(...))`
    return calls
