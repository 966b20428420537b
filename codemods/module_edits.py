"""Module-wide rewrites that do not belong to one function: the `Session` type and its imports."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from codemods import astwalk
from codemods import edits as E
from codemods import sqla_names as N
from codemods.astwalk import dotted_name
from codemods.edits import Edit, ImportName, Span
from codemods.project import Project
from codemods.source_lines import lines_holding
from codemods.spans import SpanMaker
from codemods.symbols import ModuleSymbols


@dataclass
class ModuleEdits:
    edits: list[Edit] = field(default_factory=list)
    imports: set[ImportName] = field(default_factory=set)
    removable: set[str] = field(default_factory=set)  # dropped from imports once nothing uses them
    force_remove: set[str] = field(default_factory=set)  # dropped whatever uses remain (re-imported async)


def session_type_edits(
    project: Project, module: ModuleSymbols, tree: Callable[[], ast.Module], spans: SpanMaker, text: str
) -> ModuleEdits:
    """`tree` gives the module's tree: asked for only when some line can name the Session class (a tree let go
    under a budget is parsed again: see codemods.tree_budget)."""
    out = ModuleEdits()
    session_locals = {
        local for local, target in module.imports.items() if project.canonical(target) in N.SYNC_SESSION_CLASSES
    }
    for local, target in module.imports.items():
        canonical = project.canonical(target)
        if canonical in N.SYNC_SESSIONMAKERS or canonical in N.SYNC_CREATE_ENGINE or canonical in N.OBJECT_SESSION:
            out.removable.add(local)
    factory_locals = {
        local
        for local, target in module.imports.items()
        if project.canonical(target) in N.SYNC_SESSIONMAKERS and "." not in local
    }
    annotation_strings: set[Span] | None = None  # where the module's annotations hold strings: `_annotation_strings`
    listened: set[int] = set()  # `event.listen(Session, ...)`: see `_event_target`
    for node in _nodes_that_can_name_the_session(project, tree, text):
        listener_target = _event_target(project, module.name, node)
        if listener_target is not None:
            listened.add(id(listener_target))
        if isinstance(node, ast.ImportFrom) and not node.level:
            for alias in node.names:
                local = alias.asname or alias.name
                if local in session_locals:
                    aliased = alias.asname is not None and alias.asname != "AsyncSession"
                    (out.force_remove if aliased else out.removable).add(local)
                    out.imports.add(ImportName("sqlalchemy.ext.asyncio", "AsyncSession", local if aliased else None))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and (names_the_session(node.value, session_locals) or "." in node.value)
            and _is_annotation_string(node.value)
        ):
            if annotation_strings is None:
                annotation_strings = _annotation_strings(tree())
            if _span_of(node) not in annotation_strings:
                continue  # `log.info("Session")`: a message, not a type
            original = spans.segment(node)
            # `"sa.orm.Session"`: a dotted name of the class (`import sqlalchemy` gives no `sqlalchemy.ext.asyncio`),
            # and of the factory in the same string (`"sa.orm.sessionmaker[sa.orm.Session]"`)
            literal = rename_dotted_in_string(original, lambda expr: _async_name_of(project, module.name, expr, out))
            if names_the_session(node.value, session_locals):
                literal = re.sub(r"\bSession\b", "AsyncSession", literal)
            renamed = async_sessionmaker_in(literal, factory_locals)
            if renamed != literal:  # `"sessionmaker[Session]"`: the factory the value becomes
                out.imports.add(ImportName("sqlalchemy.ext.asyncio", "async_sessionmaker"))
            if renamed != original:
                out.edits.append(Edit(E.REPLACE_EXPR, spans.span(node), text=renamed))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in session_locals:
            renamed = "AsyncSession" if node.id == "Session" else node.id  # an alias is imported as AsyncSession
            if id(node) in listened:
                out.edits.append(Edit(E.REPLACE_EXPR, spans.span(node), text=f"{renamed}.{_SYNC_CLASS}"))
            elif node.id == "Session":
                out.edits.append(Edit(E.RENAME, spans.span(node), text="AsyncSession"))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            resolved = project.resolve_expr(module.name, node)
            if resolved in N.SYNC_SESSION_CLASSES and not isinstance(node.value, ast.Call):
                if id(node) in listened:
                    out.edits.append(Edit(E.REPLACE_EXPR, spans.span(node), text=f"AsyncSession.{_SYNC_CLASS}"))
                else:
                    out.edits.append(Edit(E.RENAME, spans.span(node), text="AsyncSession"))
                out.imports.add(ImportName("sqlalchemy.ext.asyncio", "AsyncSession"))
    return out


def names_the_session(value: str, session_locals: set[str]) -> bool:
    """Whether a string names the Session class as `Session`: `session_type_edits` rewrites such an annotation
    string whole (`"sessionmaker[Session]"` -> `"async_sessionmaker[AsyncSession]"`); the analysis renames the
    factory in the others (`-> "sessionmaker"`, see `LocalBindings._async_sessionmaker_string`)."""
    return "Session" in session_locals and re.search(r"\bSession\b", value) is not None


# `AsyncSession.sync_session_class`: the sync `Session` class every `AsyncSession` runs inside
_SYNC_CLASS = "sync_session_class"


def _event_target(project: Project, module: str, node: ast.AST) -> ast.expr | None:
    """The target of `event.listen(Session, ...)` / `@event.listens_for(Session, ...)`: `AsyncSession` takes no
    listener (NotImplementedError as the module is imported), while the sync class it runs inside, its
    `sync_session_class`, fires them for every `AsyncSession` as the `Session` class did for every session."""
    if not (isinstance(node, ast.Call) and node.args):
        return None
    return node.args[0] if project.resolve_expr(module, node.func) in N.EVENT_LISTEN else None


def _nodes_that_can_name_the_session(project: Project, tree: Callable[[], ast.Module], text: str) -> list[ast.AST]:
    """The nodes of `astwalk.walk(tree())` that the loop above can act on, and others, in the same order: the walk
    skips the statements whose lines hold none of the words such a node is written with (and without such a
    line, the tree is not asked for).

    Each node acted on holds one of these words: an import of a local name of the Session class (the local);
    a string or a name `Session`; an attribute resolving to the class, whose attribute is `Session` or a name
    some module imports the class as (resolution renames a dotted path's last part only through imports)."""
    words = project.names_of(N.SYNC_SESSION_CLASSES)  # `Session`, and every local name it is imported as
    lines = lines_holding(_without_async_session(text, words), words)
    if not lines:
        return []
    return astwalk.walk_lines(tree(), lines)


_ASYNC_SESSION = "AsyncSession"


def _without_async_session(text: str, words: frozenset[str]) -> str:
    """The text with each `AsyncSession` blanked (same length, same lines), unless one of the words holds it.

    A word found inside it names no node the walk looks for: the name it is part of holds `AsyncSession`, so it is
    none of the words, and a string whose source holds `AsyncSession` holds no `Session` between word boundaries
    (the `c` before it ends no escape sequence: `\\x` and `\\u` take hex digits, and `n` is none). Migrated code
    names `AsyncSession` in most of its modules: their trees need no walk, nor a parse."""
    if _ASYNC_SESSION not in text or any(_ASYNC_SESSION in word for word in words):
        return text
    return text.replace(_ASYNC_SESSION, " " * len(_ASYNC_SESSION))


def _span_of(node: ast.expr) -> Span:
    return node.lineno, node.col_offset, node.end_lineno or node.lineno, node.end_col_offset or 0


def _annotation_strings(tree: ast.Module) -> set[Span]:
    """Where the module's annotations hold string constants (a parameter's, a return's, a variable's: `db: "Session"`,
    `-> Optional["Session"]`), and the type argument of `cast("Session", x)`: the strings that name a type. A
    string anywhere else (`log.info("Session")`) is text. By position: a tree let go is parsed again."""
    found: set[Span] = set()
    for node in astwalk.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg | ast.AnnAssign):
            annotations = [node.annotation]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations = [node.returns]
        elif isinstance(node, ast.Call) and dotted_name(node.func) in _CASTS and node.args:
            annotations = [node.args[0]]
        for annotation in filter(None, annotations):
            found.update(
                _span_of(inner)
                for inner in astwalk.walk(annotation)
                if isinstance(inner, ast.Constant) and isinstance(inner.value, str)
            )
    return found


_CASTS = frozenset({"cast", "typing.cast"})


def async_sessionmaker_in(literal: str, factory_locals: set[str]) -> str:
    """A string annotation's source with each name of the sync `sessionmaker` (as the module imports it) written
    `async_sessionmaker`; an attribute of that name (`orm.sessionmaker`) is left as it is."""
    for local in factory_locals:
        literal = re.sub(rf"(?<![\w.]){re.escape(local)}\b", "async_sessionmaker", literal)
    return literal


# a dotted name in a string annotation (`"sa.orm.Session"`, `"Optional[sa.Engine]"`), not the tail of a longer one
_DOTTED_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def rename_dotted_in_string(literal: str, rename: Callable[[ast.expr], str | None]) -> str:
    """A string annotation's source with each dotted name that `rename` gives a new name for (`"sa.orm.Session"` ->
    `"AsyncSession"`) written that way; the other dotted names are left as they are."""

    def renamed(match: re.Match[str]) -> str:
        try:
            expr = ast.parse(match.group(), mode="eval").body
        except SyntaxError:
            return match.group()
        return rename(expr) or match.group()

    return _DOTTED_NAME.sub(renamed, literal)


def names_the_session_dotted(project: Project, module: str, value: str) -> bool:
    """Whether a string names the Session class by a dotted name (`"sa.orm.Session"`): `session_type_edits`
    rewrites such an annotation string whole, the factory's dotted names in it included."""
    return "." in value and "Session" in value and rename_dotted_in_string(value, _session_of(project, module)) != value


def _session_of(project: Project, module: str) -> Callable[[ast.expr], str | None]:
    return lambda expr: _ASYNC_SESSION if project.resolve_expr(module, expr) in N.SYNC_SESSION_CLASSES else None


def _async_name_of(project: Project, module: str, expr: ast.expr, out: ModuleEdits) -> str | None:
    """The async name of a dotted name of the Session class or of its factory, imported into `out`."""
    resolved = project.resolve_expr(module, expr)
    name = (
        _ASYNC_SESSION
        if resolved in N.SYNC_SESSION_CLASSES
        else "async_sessionmaker"
        if resolved in N.SYNC_SESSIONMAKERS
        else None
    )
    if name is not None:
        out.imports.add(ImportName("sqlalchemy.ext.asyncio", name))
    return name


def _is_annotation_string(value: str) -> bool:
    """`"Session"`, `"Session | None"`, `"Optional[Session]"`: a string that parses as a type expression."""
    try:
        ast.parse(value, mode="eval")
    except SyntaxError:
        return False
    return len(value) < 200 and "\n" not in value
