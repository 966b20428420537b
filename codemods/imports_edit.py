"""Deterministic import edits on a LibCST module: add names, drop names nothing uses any more.

New names join an existing `from <module> import ...` statement when there is one; otherwise a new
statement takes the place of an import that became empty, or goes after the last top-level import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from typing import TypeGuard, cast

import libcst as cst

from codemods.edits import ImportName as ImportName  # defined with the decisions (no LibCST there)
from codemods.imports_text import (
    name_dropped,
    names_in_annotation_text,
    names_in_type_comments,
    plain_import_dropped,
    used_names_of_tree,
)


def _module_name(node: cst.ImportFrom) -> str | None:
    if node.relative or node.module is None:
        return None
    return _dotted_code(node.module)


def _alias_local(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return _dotted_code(alias.name)


def _dotted_code(node: cst.BaseExpression) -> str:
    """`cst.Module([]).code_for_node(node)` for the dotted names of import statements, without LibCST's code
    generation (a fifth of the import fix-up) when there are no parentheses and no blanks around the dots."""
    if isinstance(node, cst.Name) and not node.lpar and not node.rpar:
        return node.value
    if (
        isinstance(node, cst.Attribute)
        and not node.lpar
        and not node.rpar
        and isinstance(node.attr, cst.Name)
        and not node.attr.lpar
        and not node.attr.rpar
        and _no_blank(node.dot.whitespace_before)
        and _no_blank(node.dot.whitespace_after)
    ):
        return f"{_dotted_code(node.value)}.{node.attr.value}"
    return cst.Module([]).code_for_node(node)


def _no_blank(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.SimpleWhitespace) and not whitespace.value


class _NameUses(cst.CSTVisitor):
    """The `Name` nodes read or deleted, outside imports and attribute names (see `used_names_of_tree`)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._bindings: set[int] = set()  # ids of the `Name` nodes that only bind or spell a name

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        if id(node) not in self._bindings:
            self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Annotation(self, node: cst.Annotation) -> None:
        """A string in an annotation reads the names it spells (`db: "AsyncSession"`)."""
        for text in _strings_in(node.annotation):
            self.names |= names_in_annotation_text(text)

    def visit_Comment(self, node: cst.Comment) -> None:
        """A type comment reads the names it spells (`db = SessionLocal()  # type: AsyncSession`)."""
        if "type:" in node.value:
            self.names |= names_in_type_comments(node.value)

    def _bind(self, node: cst.CSTNode | None) -> None:
        """`node` (an assignment target) binds the names it is made of: `x`, `(x, *y)`, `[x, y]`; an attribute or
        subscript target reads its value."""
        if isinstance(node, cst.Name):
            self._bindings.add(id(node))
        elif isinstance(node, cst.Tuple | cst.List):
            for element in node.elements:
                self._bind(element.value)
        elif isinstance(node, cst.AsName):
            self._bind(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._bind(node.name)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._bind(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self._bind(node.name)

    def visit_Arg(self, node: cst.Arg) -> None:
        self._bind(node.keyword)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._bind(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        self._bind(node.asname)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._bind(node.name)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        self._bind(node.name)

    def visit_NameItem(self, node: cst.NameItem) -> None:
        self._bind(node.name)  # of `global` / `nonlocal`

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        self._bind(node.name)

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        self._bind(node.name)

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        self._bind(node.rest)

    def visit_MatchKeywordElement(self, node: cst.MatchKeywordElement) -> None:
        self._bind(node.key)

    def visit_TypeVar(self, node: cst.TypeVar) -> None:
        self._bind(node.name)

    def visit_TypeVarTuple(self, node: cst.TypeVarTuple) -> None:
        self._bind(node.name)

    def visit_ParamSpec(self, node: cst.ParamSpec) -> None:
        self._bind(node.name)

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        self._bind(node.name)


def _strings_in(node: cst.CSTNode) -> list[str]:
    """The string constants in `node`, as `ast` sees them: implicitly concatenated parts are one string, an f-string
    is none."""
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
        value = node.evaluated_value
        return [value] if isinstance(value, str) else []
    if isinstance(node, cst.FormattedString):
        return []
    return [text for child in node.children for text in _strings_in(child)]


def used_names(module: cst.Module) -> set[str]:
    visitor = _NameUses()
    module.visit(visitor)
    return visitor.names


def used_names_of_code(code: str) -> set[str] | None:
    """`used_names(cst.parse_module(code))`, read from the stdlib `ast` (many times faster than a LibCST visit).

    The names read or deleted (`used_names_of_tree`), not those only bound or spelling a keyword. None when
    `ast` cannot parse the code (syntax newer than this Python): the caller visits the LibCST tree then.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return used_names_of_tree(tree) | names_in_type_comments(code)


def _new_alias(item: ImportName) -> cst.ImportAlias:
    return cst.ImportAlias(
        name=cst.Name(item.name),
        asname=cst.AsName(name=cst.Name(item.asname)) if item.asname else None,
    )


def _join_aliases(aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    out = []
    for index, alias in enumerate(aliases):
        if index < len(aliases) - 1:
            comma = (
                alias.comma
                if isinstance(alias.comma, cst.Comma)
                else cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            )
            out.append(alias.with_changes(comma=comma))
        else:
            out.append(alias.with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return out


def _is_import(stmt: cst.CSTNode) -> TypeGuard[cst.SimpleStatementLine]:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, cst.Import | cst.ImportFrom) for s in stmt.body
    )


def update_imports(
    module: cst.Module,
    add: set[ImportName],
    removable: set[str],
    force_remove: frozenset[str] = frozenset(),
    in_use: set[str] | None = None,
    defined_elsewhere: frozenset[str] = frozenset(),
) -> cst.Module:
    """Add the names of `add` the module uses; drop `removable` names it no longer uses, and `force_remove`.

    `in_use`: the module's `used_names`, when the caller has them already. `defined_elsewhere`: names the
    module defines at top level in statements `module` leaves out (the caller passed a prefix of the module:
    an added import must not shadow them either)."""
    in_use = used_names(module) if in_use is None else in_use
    body: list[cst.BaseStatement] = list(module.body)
    dropped = {
        name for name in (removable - in_use) | force_remove
    }  # names the import statements lose: not "present" when deciding what to add
    present = (_bound_locals(body) - dropped) | _module_level_names(body) | defined_elsewhere
    wanted = sorted(item for item in add if item.local in in_use and item.local not in present)
    plain = [item.name for item in wanted if not item.module]
    by_module: dict[str, list[ImportName]] = {}
    for item in wanted:
        if item.module:
            by_module.setdefault(item.module, []).append(item)
    # merge into existing statements first, so a statement that loses a name and gains one keeps its place
    for module_name in sorted(by_module):
        index = _find_from_import(body, module_name)
        if index is not None:
            stmt = body[index]
            assert isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.ImportFrom)
            small = stmt.body[0]
            assert not isinstance(small.names, cst.ImportStar)
            items = by_module.pop(module_name)
            names = [*small.names, *map(_new_alias, items)]
            existing = [_alias_local(a) for a in small.names]
            if existing == sorted(existing):  # keep an isort-ordered list ordered
                names.sort(key=lambda alias: _alias_local(alias))
            body[index] = stmt.with_changes(body=[_set_names(small, names)])
    body, anchor, anchor_lines = _drop_names(body, removable, force_remove, in_use)
    for module_name, items in sorted(by_module.items()):
        new_stmt = cst.SimpleStatementLine(
            body=[
                cst.ImportFrom(
                    module=cast(cst.Attribute | cst.Name, cst.parse_expression(module_name)),
                    names=_join_aliases([_new_alias(i) for i in items]),
                )
            ]
        )
        fallback = anchor if anchor is not None else _insert_position(body)
        index, before_member = _sorted_position(body, module_name, fallback)
        if index == anchor and anchor_lines is not None and not before_member:
            body.insert(index, new_stmt.with_changes(leading_lines=anchor_lines))
            anchor_lines = None
        elif before_member:
            _insert_before_or_after(body, index, new_stmt)
        else:
            body.insert(index, new_stmt)
        if anchor is not None and index <= anchor:
            anchor += 1
    if anchor is not None and anchor_lines and anchor < len(body):
        following = body[anchor]
        if isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement) and not following.leading_lines:
            body[anchor] = following.with_changes(leading_lines=anchor_lines)
    if body and not module.header:
        first = body[0]
        if isinstance(first, cst.SimpleStatementLine | cst.BaseCompoundStatement) and first.leading_lines:
            kept = list(first.leading_lines)
            while kept and kept[0].comment is None:
                kept.pop(0)  # never start the file with blank lines
            body[0] = first.with_changes(leading_lines=kept)
    for name in reversed(plain):
        new_stmt = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name(name))])])
        after = _plain_import_after(body, name)
        if after is not None:
            body.insert(after + 1, new_stmt)
            continue
        first_import = next((i for i, stmt in enumerate(body) if _is_import(stmt) and not _is_future(stmt)), None)
        _insert_before_or_after(body, first_import if first_import is not None else _insert_position(body), new_stmt)
        if first_import is not None and first_import + 1 < len(body):
            following = body[first_import + 1]
            if _is_import(following) and (
                isinstance(following.body[0], cst.ImportFrom) or _another_section(name, following.body[0])
            ):
                body[first_import + 1] = following.with_changes(leading_lines=[cst.EmptyLine()])  # its own group
        elif first_import is None:
            _separate_from_code(body, new_stmt)
    return module.with_changes(body=body)


def _separate_from_code(body: list[cst.BaseStatement], new_stmt: cst.SimpleStatementLine) -> None:
    """The first import of a module: two blank lines before a following def or class, one before other code."""
    index = next(i for i, stmt in enumerate(body) if stmt is new_stmt)
    if index + 1 >= len(body):
        return
    following = body[index + 1]
    if not isinstance(following, cst.SimpleStatementLine | cst.BaseCompoundStatement):
        return
    wanted = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
    blank = [line for line in following.leading_lines if line.comment is None]
    if len(blank) < wanted and len(blank) == len(following.leading_lines):
        body[index + 1] = following.with_changes(leading_lines=[cst.EmptyLine()] * wanted)


def _plain_import_after(body: list[cst.BaseStatement], name: str) -> int | None:
    """The index of the last leading `import x` statement that sorts before `name` (isort order), if any."""
    found = None
    for index, stmt in enumerate(body):
        if _is_future(stmt):
            continue  # `from __future__ import ...` comes first, whatever sorts before it
        if not _is_import(stmt):
            if found is not None or index > 0:
                break
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.Import):
            break
        if _alias_local(small.names[0]) > name:
            break
        found = index
    return found


def _is_future(stmt: cst.CSTNode) -> bool:
    """`from __future__ import annotations`: nothing may go before it but the docstring."""
    return _is_import(stmt) and isinstance(stmt.body[0], cst.ImportFrom) and _module_name(stmt.body[0]) == "__future__"


def _another_section(name: str, following: cst.BaseSmallStatement) -> bool:
    """`import asyncio` going before `import requests`: the standard library's imports are a section of their own
    (isort), separated by a blank line from the third-party ones."""
    if not isinstance(following, cst.Import):
        return False
    following_top = _alias_local(following.names[0]).split(".", 1)[0]
    stdlib = sys.stdlib_module_names
    return name.split(".", 1)[0] in stdlib and following_top not in stdlib


def _drop_names(
    body: list[cst.BaseStatement], removable: set[str], force_remove: frozenset[str], in_use: set[str]
) -> tuple[list[cst.BaseStatement], int | None, Sequence[cst.EmptyLine] | None]:
    """The body without the dropped names, and where the first emptied import statement stood (the first emptied
    SQLAlchemy import, if any)."""
    out: list[cst.BaseStatement] = []
    anchor: int | None = None
    anchor_lines: Sequence[cst.EmptyLine] | None = None
    pending_lines: Sequence[cst.EmptyLine] | None = None
    anchored_sqlalchemy = False
    for stmt in body:
        small = stmt.body[0] if _is_import(stmt) else None
        if isinstance(small, cst.Import) and len(small.names) == 1:
            local = _alias_local(small.names[0])
            if plain_import_dropped(local, removable, in_use):
                if isinstance(stmt, cst.SimpleStatementLine) and stmt.leading_lines:
                    pending_lines = stmt.leading_lines  # the next statement takes the dropped line's blank lines
                continue
        if pending_lines is not None and isinstance(stmt, cst.SimpleStatementLine | cst.BaseCompoundStatement):
            stmt = stmt.with_changes(leading_lines=pending_lines)
            pending_lines = None
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            out.append(stmt)
            continue
        module_name = _module_name(small) or ""
        sqlalchemy = module_name.split(".")[0] == "sqlalchemy"
        kept = [
            alias
            for alias in small.names
            if not name_dropped(_alias_local(alias), module_name, removable, force_remove, in_use)
        ]
        if len(kept) == len(small.names):
            out.append(stmt)
        elif kept:
            out.append(stmt.with_changes(body=[_set_names(small, kept)]))
        elif isinstance(stmt, cst.SimpleStatementLine) and (anchor is None or (sqlalchemy and not anchored_sqlalchemy)):
            # the new imports are SQLAlchemy's: they take the place of an emptied SQLAlchemy import, not of
            # another package's (`from fastapi.concurrency import run_in_threadpool`, see thread_offloads)
            anchor, anchor_lines, anchored_sqlalchemy = len(out), stmt.leading_lines, sqlalchemy
    return out, anchor, anchor_lines


def _module_level_names(body: list[cst.BaseStatement]) -> set[str]:
    """Names a module defines itself: an added import must never shadow them."""
    names: set[str] = set()
    for stmt in body:
        if isinstance(stmt, cst.FunctionDef | cst.ClassDef):
            names.add(stmt.name.value)
        elif isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, cst.AnnAssign):
                    targets = [small.target]
                names |= {t.value for t in targets if isinstance(t, cst.Name)}
    return names


def _bound_locals(body: list[cst.BaseStatement]) -> set[str]:
    bound: set[str] = set()
    for stmt in body:
        if not _is_import(stmt):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Import):
                bound |= {_alias_local(a).split(".")[0] for a in small.names}
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                bound |= {_alias_local(a) for a in small.names}
    return bound


def _find_from_import(body: list[cst.BaseStatement], module_name: str) -> int | None:
    for index, stmt in enumerate(body):
        if not _is_import(stmt):
            continue
        small = stmt.body[0]
        if (
            isinstance(small, cst.ImportFrom)
            and _module_name(small) == module_name
            and not isinstance(small.names, cst.ImportStar)
        ):
            return index
    return None


def _insert_before_or_after(body: list[cst.BaseStatement], index: int, new_stmt: cst.SimpleStatementLine) -> None:
    """Insert at `index`; the new import takes over the blank lines of the import it goes before."""
    following = body[index] if index < len(body) else None
    if following is not None and _is_import(following):
        new_stmt = new_stmt.with_changes(leading_lines=following.leading_lines)
        body[index] = following.with_changes(leading_lines=[])
    body.insert(index, new_stmt)


def _set_names(node: cst.ImportFrom, names: list[cst.ImportAlias]) -> cst.ImportFrom:
    joined = _join_aliases(list(names))
    if node.lpar is not None and len(joined) > 0:
        # keep a trailing comma in parenthesised multi-line imports
        last = names[-1]
        if isinstance(last.comma, cst.Comma):
            joined[-1] = joined[-1].with_changes(comma=last.comma)
    return node.with_changes(names=joined)


def _sorted_position(body: Sequence[cst.BaseStatement], module_name: str, fallback: int) -> tuple[int, bool]:
    """Among the top-level `from <same package> import` statements, keep module names sorted.

    Returns the index, and whether the new statement goes before a member of that group."""
    package = module_name.split(".")[0]
    last_same = None
    for index, stmt in enumerate(body):
        if not _is_import(stmt):
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.ImportFrom):
            continue
        other = _module_name(small) or ""
        if other.split(".")[0] != package:
            continue
        if other > module_name:
            return index, True
        last_same = index
    return (last_same + 1, False) if last_same is not None else (fallback, False)


def _insert_position(body: Sequence[cst.BaseStatement]) -> int:
    last_sqlalchemy = last_import = None
    for index, stmt in enumerate(body):
        if _is_import(stmt):
            last_import = index
            code = cst.Module([]).code_for_node(stmt)
            if "sqlalchemy" in code:
                last_sqlalchemy = index
        elif last_import is not None:
            break
    if last_sqlalchemy is not None:
        return last_sqlalchemy + 1
    if last_import is not None:
        return last_import + 1
    first = body[0] if body else None
    docstring = (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )
    return 1 if docstring else 0
