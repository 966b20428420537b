"""`Engine` and `Connection` annotations made `AsyncEngine` / `AsyncConnection`.

The analysis takes an annotation `Engine` / `Connection` for the engine or connection the migration makes async
(`Project.type_of_annotation`): a parameter `conn: Connection` gets its I/O awaited, `engine: Engine =
create_engine(URL)` becomes `create_async_engine(...)`. Left as they were, those annotations name the sync classes:
a type checker rejects every migrated use (`"Connection" has no attribute "__aenter__"`, `got "AsyncEngine",
expected "Engine"`), and `get_type_hints` names a class the value is no longer an instance of. So the class named in
an annotation (of a parameter, a return, a variable; in a string annotation too) becomes the async one, imported from
`sqlalchemy.ext.asyncio`; the sync import goes once nothing else uses it, as for `Session`.

Only annotations: `event.listens_for(Engine, "connect")` listens on every engine, the sync one inside each
`AsyncEngine` included, and `isinstance(x, Engine)` is code, not a declaration (decided by the type of `x`: see
`codemods.isinstance_checks`). Alembic's scripts never get here
(their engines stay sync, see `codemods.file_plans`); a variable whose value is SQLModel's `create_engine`, which the
migration leaves sync (AWT221), keeps its annotation.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator

from codemods import astwalk
from codemods import edits as E
from codemods import sqla_names as N
from codemods.edits import Edit, ImportName
from codemods.isinstance_checks import ASYNC_CLASS
from codemods.module_edits import ModuleEdits, rename_dotted_in_string
from codemods.project import Project
from codemods.spans import SpanMaker
from codemods.symbols import ModuleSymbols

# the async class each sync class becomes, by the canonical names that resolve to it
_ASYNC_CLASS = ASYNC_CLASS
_ASYNC_MODULE = "sqlalchemy.ext.asyncio"


def engine_annotation_edits(
    project: Project, module: ModuleSymbols, tree: Callable[[], ast.Module], spans: SpanMaker, text: str
) -> ModuleEdits:
    """The renames of the module's annotations naming the sync `Engine` / `Connection` class (see the module's
    docstring). `tree` is asked for only when the text holds a name of one of them."""
    out = ModuleEdits()
    words = project.names_of(frozenset(_ASYNC_CLASS))
    if not any(word in text for word in words):
        return out
    sync_locals = {  # `from sqlalchemy import Engine` / `... Connection as EngineConnection`: local -> async class
        local: _ASYNC_CLASS[project.canonical(target)]
        for local, target in module.imports.items()
        if project.canonical(target) in _ASYNC_CLASS and "." not in local
    }
    for annotation in _annotations(project, module.name, tree()):
        for node in astwalk.walk(annotation):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                _rename_in_string(
                    node, sync_locals, lambda expr: _async_class_of(project, module.name, expr), spans, out
                )
            elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
                async_class = _ASYNC_CLASS.get(project.resolve_expr(module.name, node) or "")
                if async_class is not None:
                    out.edits.append(Edit(E.RENAME, spans.span(node), text=async_class))
                    out.imports.add(ImportName(_ASYNC_MODULE, async_class))
                    root: ast.expr = node
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name):  # `Engine`, or the module of `sa.Engine`: dropped once unused
                        out.removable.add(root.id)
    return out


def _rename_in_string(
    node: ast.Constant,
    sync_locals: dict[str, str],
    async_class_of: Callable[[ast.expr], str | None],
    spans: SpanMaker,
    out: ModuleEdits,
) -> None:
    """`conn: "Connection"`, `-> "Optional[Engine]"`, `e: "sa.Engine"`: each plain or dotted name of a sync class in
    the string, renamed; a string that is no type expression (`Annotated[X, "the Engine's pool"]`) is text."""
    try:
        ast.parse(str(node.value), mode="eval")
    except SyntaxError:
        return
    literal = spans.segment(node)
    renamed = literal
    if "." in literal:

        def imported(expr: ast.expr) -> str | None:
            async_class = async_class_of(expr)
            if async_class is not None:
                out.imports.add(ImportName(_ASYNC_MODULE, async_class))
            return async_class

        renamed = rename_dotted_in_string(literal, imported)
    for local, async_class in sync_locals.items():
        renamed, count = re.subn(rf"(?<![\w.]){re.escape(local)}\b", async_class, renamed)
        if count:
            out.imports.add(ImportName(_ASYNC_MODULE, async_class))
            out.removable.add(local)
    if renamed != literal:
        out.edits.append(Edit(E.REPLACE_EXPR, spans.span(node), text=renamed))


def _async_class_of(project: Project, module: str, expr: ast.expr) -> str | None:
    return _ASYNC_CLASS.get(project.resolve_expr(module, expr) or "")


def _annotations(project: Project, module: str, tree: ast.Module) -> Iterator[ast.expr]:
    """The annotations of every parameter, return and annotated variable of the module, but a variable's whose
    value stays a sync engine (SQLModel's `create_engine`); and the module's type aliases (`ConnDep =
    Annotated[Connection, Depends(get_conn)]`), which the analysis reads as the annotations they stand for."""
    for node in astwalk.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            yield node.annotation
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            yield node.returns
        elif isinstance(node, ast.AnnAssign) and not _stays_sync(project, module, node.value):
            yield node.annotation
    for stmt in tree.body:
        if _is_type_alias(project, module, stmt):
            assert isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None  # see _is_type_alias
            yield stmt.value


# `X = Annotated[...]` / `Optional[...]` / `Union[...]` at module level: a type alias, whatever its name
_TYPING_FORMS = frozenset(
    f"{typing}.{form}" for typing in ("typing", "typing_extensions") for form in ("Annotated", "Optional", "Union")
)
# `X: TypeAlias = Connection`
_TYPE_ALIAS = frozenset({"typing.TypeAlias", "typing_extensions.TypeAlias"})


def _is_type_alias(project: Project, module: str, stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assign):
        value = stmt.value
        return isinstance(value, ast.Subscript) and project.resolve_expr(module, value.value) in _TYPING_FORMS
    return (
        isinstance(stmt, ast.AnnAssign)
        and stmt.value is not None
        and project.resolve_expr(module, stmt.annotation) in _TYPE_ALIAS
    )


def _stays_sync(project: Project, module: str, value: ast.expr | None) -> bool:
    return isinstance(value, ast.Call) and project.resolve_expr(module, value.func) in N.SQLMODEL_SYNC_API
