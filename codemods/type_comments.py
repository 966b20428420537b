"""PEP 484 type comments naming the sync classes: `db = SessionLocal()  # type: Session`, `def get(db):  # type:
(Session) -> User`.

A type checker reads them as annotations. Left as they are, they name classes the migrated values are no instances
of, and once the sync import goes (nothing else uses it), a name the module no longer defines: mypy rejects the
migrated code (`Name "Session" is not defined`, `"AsyncSession" ... expected "Session"`), and `check` found nothing.
So they are migrated like annotations: each name or dotted name of a sync class becomes the async one (`Session` ->
`AsyncSession`, `sa.Engine` -> `AsyncEngine`, `sessionmaker` -> `async_sessionmaker`), imported from
`sqlalchemy.ext.asyncio`; the comment's other text is kept. A function's signature comment also types its
parameters where they have no annotation (`LocalBindings._bind_params`), as an annotation would: the body of
`def get(db):  # type: (Session) -> User` is migrated as that of `def get(db: Session) -> User`.

Comments are not in the `ast`: they are found by `tokenize`, only in modules whose text holds `type:`.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable

from codemods import edits as E
from codemods import sqla_names as N
from codemods.edits import Edit, ImportName
from codemods.imports_text import NAME_IN_TYPE, type_comments
from codemods.isinstance_checks import ASYNC_CLASS
from codemods.module_edits import ModuleEdits
from codemods.project import Project
from codemods.spans import SpanMaker
from codemods.symbols import FunctionSymbols, ModuleSymbols

_ASYNC_MODULE = "sqlalchemy.ext.asyncio"
# the async name each sync class (or factory) named in a type comment becomes, by canonical name
_ASYNC_NAME = {
    **ASYNC_CLASS,
    **dict.fromkeys(N.SYNC_SESSION_CLASSES, "AsyncSession"),
    **dict.fromkeys(N.SYNC_SESSIONMAKERS, "async_sessionmaker"),
}
_SIGNATURE = re.compile(r"\((?P<params>.*)\)\s*->\s*(?P<returns>.+)")


def type_comment_edits(
    project: Project, module: ModuleSymbols, tree: Callable[[], ast.Module], spans: SpanMaker, text: str
) -> ModuleEdits:
    """The type comments of the module naming a sync class, with the async one (see the module's docstring)."""
    out = ModuleEdits()
    for line, column, comment, start in type_comments(text):
        renamed = comment[:start] + _rename(project, module.name, comment[start:], out)
        if renamed != comment:
            out.edits.append(Edit(E.COMMENT, (line, column, line, column + len(comment)), text=renamed))
    return out


def _rename(project: Project, module: str, type_text: str, out: ModuleEdits) -> str:
    def renamed(match: re.Match[str]) -> str:
        try:
            expr = ast.parse(match.group(), mode="eval").body
        except SyntaxError:
            return match.group()
        async_name = _ASYNC_NAME.get(project.resolve_expr(module, expr) or "")
        if async_name is None:
            return match.group()
        out.imports.add(ImportName(_ASYNC_MODULE, async_name))
        out.removable.add(match.group().split(".", 1)[0])
        return async_name

    return NAME_IN_TYPE.sub(renamed, type_text)


def signature_types(func: FunctionSymbols, spans: SpanMaker) -> dict[str, ast.expr]:
    """The types a function's signature comment gives its parameters (`def get(db):  # type: (Session) -> User`),
    by parameter name; a method's comment may leave out `self` / `cls`. Empty when there is none, or it does not
    parse, or it counts other parameters than the function has."""
    node = func.def_node
    if node is None or not node.body:
        return {}
    first = node.body[0].lineno
    holding = spans.lines_holding("type:")  # without a split of the text into lines, for most modules
    index = bisect.bisect_left(holding, node.lineno)
    if index == len(holding) or holding[index] > first:
        return {}
    header = spans.lines_text(node.lineno, first)  # the def line(s), and the body's first line
    for _, _, comment, start in type_comments(header):
        match = _SIGNATURE.fullmatch(comment[start:].rstrip())
        if match is None:
            continue
        try:
            parsed = ast.parse(f"({match['params']},)", mode="eval").body if match["params"].strip() else None
        except SyntaxError:
            return {}
        types = list(parsed.elts) if isinstance(parsed, ast.Tuple) else []
        names = [param.name for param in func.params]
        if len(types) == len(names) - 1 and func.class_qualname:
            names = names[1:]
        if len(types) != len(names):
            return {}
        return dict(zip(names, types, strict=True))
    return {}
