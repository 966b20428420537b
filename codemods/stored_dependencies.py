"""Dependencies handed to a constructor that keeps them for `Depends(...)`: no callback for FastAPI to mind.

`ModelRouter(Item, get_db)` of a project class whose `__init__` only stores the function it is handed
(`self.db_func = db`) and whose code reads that attribute only as a dependency, `Depends(self.db_func)` (the
shape of fastapi-crudrouter's routers): FastAPI inspects the dependency and, once `get_db` is an async generator,
runs it as one, so handing `get_db` to the constructor is no callback made wrong by the migration (AWT213).
Only when the parameter is used for nothing else in `__init__`, and every read of the attribute in the project
is the first argument of `Depends(...)` / `Security(...)` (any read of an attribute so named counts, whatever
its owner: a read elsewhere keeps the marker).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable

from codemods.call_targets import _bind_arguments
from codemods.edits import Span
from codemods.project import Project
from codemods.route_handoffs import DEPENDENCY_DECLARATIONS
from codemods.spans import SpanMaker
from codemods.symbols import FunctionSymbols

# (module name, text, a getter of its tree) of each file of the project
Modules = Iterable[tuple[str, str, Callable[[], ast.Module]]]


def stored_for_dependency(project: Project, modules: Modules, module: str, span: Span) -> bool:
    """`span`, in `module`, is an argument of a construction of a project class whose `__init__` stores it in
    attributes read only as `Depends(self.attr)` (see the module's docstring)."""
    by_name = {name: (text, tree_of) for name, text, tree_of in modules}
    if module not in by_name:
        return False
    text, tree_of = by_name[module]
    found = _construction(project, module, text, tree_of(), span)
    if found is None:
        return False
    init, param = found
    attributes = _stored_only(init, param)
    if not attributes:
        return False
    return all(
        _read_only_as_dependency(project, name, tree_of(), attributes)
        for name, (text, tree_of) in by_name.items()
        if any(attribute in text for attribute in attributes)
    )


def _construction(
    project: Project, module: str, text: str, tree: ast.Module, span: Span
) -> tuple[FunctionSymbols, str] | None:
    """The `__init__` a class construction whose argument is at `span` runs, and the parameter it binds it to."""
    spans = SpanMaker(text)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not any(isinstance(arg, ast.Name | ast.Attribute) and spans.span(arg) == span for arg in arguments):
            continue
        constructed = project.resolve_expr(module, node.func)
        if constructed not in project.classes:
            return None
        init = project.lookup_method(constructed, "__init__")
        if init is None:
            return None
        bound = [name for name, arg in _bind_arguments(init, node, skip_self=True) if spans.span(arg) == span]
        return (init, bound[0]) if len(bound) == 1 else None
    return None


def _stored_only(init: FunctionSymbols, param: str) -> frozenset[str]:
    """The attributes `__init__` stores its parameter in (`self.db_func = db`), where that is all it does with it."""
    node = init.node
    if node is None or not node.args.args:
        return frozenset()
    owner = node.args.args[0].arg
    stored: set[int] = set()
    attributes: set[str] = set()
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Assign)
            and len(sub.targets) == 1
            and isinstance(target := sub.targets[0], ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == owner
            and isinstance(sub.value, ast.Name)
            and sub.value.id == param
        ):
            stored.add(id(sub.value))
            attributes.add(target.attr)
    reads = _uses(node.body, param)
    return frozenset(attributes) if reads and all(id(read) in stored for read in reads) else frozenset()


def _uses(body: list[ast.stmt], name: str) -> list[ast.Name]:
    """The uses of the function's own `name` in its body: in a nested function's decorators, defaults and
    annotations, and in its body unless it binds `name` itself (a parameter `db` of a route defined in `__init__`);
    a nested class's body is left out (its methods do not see the function's names, except through their own
    nested parts, which do not occur in the shapes looked for here)."""
    found: list[ast.Name] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and node.id == name:
            found.append(node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *(a for a in (args.vararg, args.kwarg) if a)]
            stack.extend([*args.defaults, *(d for d in args.kw_defaults if d is not None)])
            stack.extend(a.annotation for a in every if a.annotation is not None)
            inner: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else [*node.body]
            if not isinstance(node, ast.Lambda):
                stack.extend(node.decorator_list)
            binds = any(a.arg == name for a in every) or any(
                isinstance(sub, ast.Name) and sub.id == name and not isinstance(sub.ctx, ast.Load)
                for part in inner
                for sub in ast.walk(part)
            )
            if not binds:
                stack.extend(inner)
        elif not isinstance(node, ast.ClassDef):
            stack.extend(ast.iter_child_nodes(node))
    return found


def _read_only_as_dependency(project: Project, module: str, tree: ast.Module, attributes: frozenset[str]) -> bool:
    """Every read of one of `attributes` in this module is the first argument of `Depends(...)` / `Security(...)`."""
    declared = {
        id(node.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and node.args
        and project.resolve_expr(module, node.func) in DEPENDENCY_DECLARATIONS
    }
    return all(
        id(node) in declared
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in attributes and isinstance(node.ctx, ast.Load)
    )
