"""`imports_edit.update_imports` by text, for the import windows it can reproduce exactly.

The import fix-up of the statement-level rewrite (`statement_rewrite._fix_imports`) runs `update_imports` on a
window of the module: its top-level statements up to two past the last import. Parsing that window with LibCST
and generating its code back cost most of the fix-up, and importing LibCST at all cost a rewrite worker more than
rewriting a small project's files. Here the same edits are made on the window's lines, step by step as
`update_imports` makes them on LibCST nodes, when every import statement of the window is one plain line that a
regular expression reads whole (`from a.b import c, d as e  # comment`, `import x`): single spaces, no
parentheses, no continuation. Anything else (and an added plain `import x`) returns None: the caller runs
`update_imports` on LibCST, as before.

How LibCST holds the window decides where blank and comment lines go when an import is dropped or added, so the
model follows it: the lines above the first statement are the module's header; the lines between two statements
are the later one's leading lines. After a compound statement LibCST gives the lines up to the last indented one
to the block's footer instead, so such a gap with an indented line returns None.

The functions below mirror `imports_edit`'s of the same names, on this model; which names an import statement
loses is decided once, here (`name_dropped`, `plain_import_dropped`), for both. No LibCST here: a rewrite worker
whose files all take this path never imports it. `tests/engine/test_imports_text.py` compares the two on
thousands of windows.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from codemods import astwalk
from codemods.edits import ImportName

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = rf"{_NAME}(?:\.{_NAME})*"
_TAIL = r"([ \t]*(?:#[^\n]*)?\n)"  # what follows the names on the line: blanks, a comment
_FROM_HEAD = re.compile(rf"from (\.*{_DOTTED}|\.+) import ")
_FROM_LINE = re.compile(
    rf"from (\.*{_DOTTED}|\.+) import (\*|{_NAME}(?: as {_NAME})?(?:, {_NAME}(?: as {_NAME})?)*){_TAIL}"
)
_IMPORT_LINE = re.compile(rf"import ({_DOTTED}(?: as {_NAME})?(?:, {_DOTTED}(?: as {_NAME})?)*){_TAIL}")

Alias = tuple[str, str | None]  # (name, asname)


@dataclass(slots=True)
class WindowStatement:
    """A top-level statement of the window: the only statement of its lines."""

    leading: list[str]  # the blank and comment lines above it, each with its newline (the first's: the header)
    code: str  # its own lines
    stmt: ast.stmt
    follows_compound: bool = False  # the statement before it is a compound statement


@dataclass(slots=True)
class _Statement:
    leading: list[str]
    code: str  # the statement's text without its leading lines (re-rendered when its names change)
    kind: str  # "import", "from" or "other"
    module: str | None = None  # of a `from` import; None when relative
    names: list[Alias] = field(default_factory=list)  # empty for `from m import *`
    star: bool = False
    head: str = ""  # `from m import ` / `import `
    tail: str | None = ""  # the blanks, comment and newline after the names; None: not one plain line
    defines: frozenset[str] = frozenset()  # names a def, class or assignment binds (`_module_level_names`)
    docstring: bool = False

    def with_names(self, names: list[Alias]) -> _Statement:
        if self.tail is None:
            raise _Unsupported("an import to print again is not one plain line")
        code = self.head + ", ".join(_alias_code(alias) for alias in names) + self.tail
        return _Statement(
            self.leading, code, self.kind, self.module, names, self.star, self.head, self.tail, self.defines
        )

    def text(self) -> str:
        return "".join(self.leading) + self.code


class _Unsupported(Exception):
    """The window holds something this model does not reproduce exactly."""


def update_imports_text(
    header: list[str],
    window: Sequence[WindowStatement],
    add: set[ImportName],
    removable: set[str],
    force_remove: frozenset[str],
    in_use: set[str],
    defined_elsewhere: frozenset[str] = frozenset(),
) -> tuple[list[str], list[str]] | None:
    """`update_imports` on the window: (the header's lines, every statement's code with its leading lines), the
    way `Module.code_for_node` gives them for the updated LibCST module; None when this model cannot tell.
    The arguments are `update_imports`'; `header`: the lines above the first statement (whose own leading lines
    are empty, as in LibCST)."""
    try:
        body = [_statement(item) for item in window]
        return _update(header, body, add, removable, force_remove, in_use, defined_elsewhere)
    except _Unsupported:
        return None


def _update(
    header: list[str],
    body: list[_Statement],
    add: set[ImportName],
    removable: set[str],
    force_remove: frozenset[str],
    in_use: set[str],
    defined_elsewhere: frozenset[str],
) -> tuple[list[str], list[str]] | None:
    """`update_imports`, step by step, on the model (raises _Unsupported for what it cannot print)."""
    dropped = (removable - in_use) | force_remove
    present = (_bound_locals(body) - dropped) | _module_level_names(body) | defined_elsewhere
    wanted = sorted(item for item in add if item.local in in_use and item.local not in present)
    if any(not item.module for item in wanted):
        return None  # a plain `import x` to add: left to LibCST
    by_module: dict[str, list[ImportName]] = {}
    for item in wanted:
        by_module.setdefault(item.module, []).append(item)
    for module_name in sorted(by_module):
        index = _find_from_import(body, module_name)
        if index is not None:
            statement = body[index]
            items = by_module.pop(module_name)
            names = [*statement.names, *((item.name, item.asname) for item in items)]
            existing = [_local(alias) for alias in statement.names]
            if existing == sorted(existing):
                names.sort(key=_local)
            body[index] = statement.with_names(names)
    body, anchor, anchor_lines = _drop_names(body, removable, force_remove, in_use)
    for module_name, items in sorted(by_module.items()):
        code = f"from {module_name} import " + ", ".join(_alias_code((i.name, i.asname)) for i in items) + "\n"
        new = _Statement([], code, "from", module_name, [(i.name, i.asname) for i in items])
        fallback = anchor if anchor is not None else _insert_position(body)
        index, before_member = _sorted_position(body, module_name, fallback)
        if index == anchor and anchor_lines is not None and not before_member:
            new.leading = list(anchor_lines)
            body.insert(index, new)
            anchor_lines = None
        elif before_member:
            _insert_before_or_after(body, index, new)
        else:
            body.insert(index, new)
        if anchor is not None and index <= anchor:
            anchor += 1
    if anchor is not None and anchor_lines and anchor < len(body) and not body[anchor].leading:
        body[anchor].leading = list(anchor_lines)
    if body and not header and body[0].leading:
        kept = list(body[0].leading)
        while kept and _blank(kept[0]):
            kept.pop(0)  # never start the file with blank lines
        body[0].leading = kept
    return list(header), [statement.text() for statement in body]


def _statement(item: WindowStatement) -> _Statement:
    stmt = item.stmt
    if item.follows_compound and any(line[:1] in (" ", "\t") for line in item.leading):
        raise _Unsupported("an indented line after a block: LibCST gives it to the block's footer")
    if isinstance(stmt, ast.ImportFrom):
        head = _FROM_HEAD.match(item.code)
        if head is None:
            raise _Unsupported("an import LibCST would name differently")
        source = head.group(1)
        module = None if source.startswith(".") else source
        star = any(alias.name == "*" for alias in stmt.names)
        aliases = [] if star else [(alias.name, alias.asname) for alias in stmt.names]
        line = _FROM_LINE.fullmatch(item.code)
        tail = line.group(3) if line is not None else None  # None: a parenthesised import, printed only as it is
        return _Statement(item.leading, item.code, "from", module, aliases, star, head.group(0), tail)
    if isinstance(stmt, ast.Import):
        match = _IMPORT_LINE.fullmatch(item.code)
        if match is None:
            raise _Unsupported("an import LibCST would print differently")
        names, tail = match.groups()
        aliases = [_alias(text) for text in names.split(", ")]
        return _Statement(item.leading, item.code, "import", None, aliases, head="import ", tail=tail)
    value = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(value, ast.JoinedStr):
        raise _Unsupported("an f-string statement: LibCST's string classes differ from ast's")
    docstring = isinstance(value, ast.Constant) and isinstance(value.value, str | bytes)
    return _Statement(item.leading, item.code, "other", defines=_defines(stmt), docstring=docstring)


def name_dropped(
    local: str, module_name: str, removable: set[str], force_remove: frozenset[str], in_use: set[str]
) -> bool:
    """Whether `from <module_name> import ...` loses the name bound as `local` (relative imports: module "")."""
    if local in removable and local not in in_use:
        return True
    return local in force_remove and module_name.startswith("sqlalchemy")


def plain_import_dropped(local: str, removable: set[str], in_use: set[str]) -> bool:
    """Whether the one-name statement `import x` binding `local` goes."""
    return local in removable and local not in in_use and "." not in local


_LITERAL_NAMES = {None: "None", True: "True", False: "False"}  # `Name` nodes in LibCST, constants in `ast`


def used_names_of_tree(tree: ast.AST) -> set[str]:
    """The names the code refers to: each `Name` read or deleted (`x`, `del x`, `x += 1`), and the literals LibCST
    holds as `Name` nodes. A name only bound (a def, class, parameter, assignment or loop target, `as` name,
    `global`, pattern capture) or only spelling a keyword argument or a pattern's attribute is not a use: an
    import of it would be unused (`def update(self, ...)` needs no `from sqlalchemy import update`)."""
    names: set[str] = set()
    for node in astwalk.walk(tree):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Store):
                names.add(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)  # read before it is bound again
        elif isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool)):
            names.add(_LITERAL_NAMES[node.value])
        elif isinstance(node, ast.arg | ast.AnnAssign) and node.annotation is not None:
            names |= _names_in_string_annotation(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            names |= _names_in_string_annotation(node.returns)
    return names


def _names_in_string_annotation(annotation: ast.expr) -> set[str]:
    """The names a string annotation reads (`db: "AsyncSession"`, `-> Optional["AsyncSession"]`): a type checker,
    and `typing.get_type_hints`, look them up in the module, so an import of them is in use."""
    names: set[str] = set()
    for node in astwalk.walk(annotation):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            names |= names_in_annotation_text(node.value)
    return names


def names_in_annotation_text(text: str) -> set[str]:
    """The names a string in an annotation reads, parsed as a type expression (none if it is not one)."""
    if len(text) >= 200:
        return set()
    try:
        parsed = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError):
        return set()
    return {name.id for name in astwalk.walk(parsed) if isinstance(name, ast.Name)}


# a type comment (PEP 484), not `# type: ignore`: the text after `type:` is the type
_TYPE_COMMENT = re.compile(r"#\s*type:\s*(?P<type>.+?)\s*$")
_IGNORE = re.compile(r"ignore\b")
_A_TYPE_COMMENT = re.compile(r"#\s*type:\s*(?!ignore\b)\S")  # maybe one (or the text of a string)
# a name or dotted name in a type's text
NAME_IN_TYPE = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


def type_comments(text: str) -> Iterator[tuple[int, int, str, int]]:
    """(line, column, comment, where its type text starts in it) of each type comment of the text, `# type:
    ignore` aside."""
    if "type:" not in text or _A_TYPE_COMMENT.search(text) is None:
        return  # most modules have none, and tokenizing them costs
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type != tokenize.COMMENT:
                continue
            match = _TYPE_COMMENT.match(token.string)
            if match is not None and not _IGNORE.match(match["type"]):
                yield token.start[0], token.start[1], token.string, match.start("type")
    except (tokenize.TokenError, SyntaxError):
        return


def names_in_type_comments(text: str) -> set[str]:
    """The names the module's type comments read: an import of them is in use."""
    names: set[str] = set()
    for _, _, comment, start in type_comments(text):
        names |= {match.group().split(".", 1)[0] for match in NAME_IN_TYPE.finditer(comment[start:])}
    return names


def _defines(stmt: ast.stmt) -> frozenset[str]:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return frozenset({stmt.name})
    targets: Iterable[ast.expr] = ()
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign):
        targets = [stmt.target]
    return frozenset(target.id for target in targets if isinstance(target, ast.Name))


def _alias(text: str) -> Alias:
    name, _, asname = text.partition(" as ")
    return name, asname or None


def _alias_code(alias: Alias) -> str:
    return f"{alias[0]} as {alias[1]}" if alias[1] else alias[0]


def _local(alias: Alias) -> str:
    return alias[1] or alias[0]


def _blank(line: str) -> bool:
    return not line.strip()


def _is_import(statement: _Statement) -> bool:
    return statement.kind != "other"


def _bound_locals(body: list[_Statement]) -> set[str]:
    bound: set[str] = set()
    for statement in body:
        if statement.kind == "import":
            bound |= {_local(alias).split(".")[0] for alias in statement.names}
        elif statement.kind == "from":
            bound |= {_local(alias) for alias in statement.names}
    return bound


def _module_level_names(body: list[_Statement]) -> set[str]:
    return {name for statement in body for name in statement.defines}


def _find_from_import(body: list[_Statement], module_name: str) -> int | None:
    for index, statement in enumerate(body):
        if statement.kind == "from" and statement.module == module_name and not statement.star:
            return index
    return None


def _drop_names(
    body: list[_Statement], removable: set[str], force_remove: frozenset[str], in_use: set[str]
) -> tuple[list[_Statement], int | None, list[str] | None]:
    """`imports_edit._drop_names`: the body without the dropped names, and where the first emptied import
    statement stood (the first emptied SQLAlchemy import, if any), with its leading lines."""
    out: list[_Statement] = []
    anchor: int | None = None
    anchor_lines: list[str] | None = None
    pending_lines: list[str] | None = None
    anchored_sqlalchemy = False
    for statement in body:
        if statement.kind == "import" and len(statement.names) == 1:
            local = _local(statement.names[0])
            if plain_import_dropped(local, removable, in_use):
                if statement.leading:
                    pending_lines = statement.leading
                continue
        if pending_lines is not None:
            statement.leading = pending_lines
            pending_lines = None
        if statement.kind != "from" or statement.star:
            out.append(statement)
            continue
        module_name = statement.module or ""
        sqlalchemy = module_name.split(".")[0] == "sqlalchemy"
        kept = [
            alias
            for alias in statement.names
            if not name_dropped(_local(alias), module_name, removable, force_remove, in_use)
        ]
        if len(kept) == len(statement.names):
            out.append(statement)
        elif kept:
            out.append(statement.with_names(kept))
        elif anchor is None or (sqlalchemy and not anchored_sqlalchemy):
            anchor, anchor_lines, anchored_sqlalchemy = len(out), statement.leading, sqlalchemy
    return out, anchor, anchor_lines


def _insert_before_or_after(body: list[_Statement], index: int, new: _Statement) -> None:
    following = body[index] if index < len(body) else None
    if following is not None and _is_import(following):
        new.leading = following.leading
        following.leading = []
    body.insert(index, new)


def _sorted_position(body: Sequence[_Statement], module_name: str, fallback: int) -> tuple[int, bool]:
    package = module_name.split(".")[0]
    last_same = None
    for index, statement in enumerate(body):
        if statement.kind != "from":
            continue
        other = statement.module or ""
        if other.split(".")[0] != package:
            continue
        if other > module_name:
            return index, True
        last_same = index
    return (last_same + 1, False) if last_same is not None else (fallback, False)


def _insert_position(body: Sequence[_Statement]) -> int:
    last_sqlalchemy = last_import = None
    for index, statement in enumerate(body):
        if _is_import(statement):
            last_import = index
            if "sqlalchemy" in statement.text():
                last_sqlalchemy = index
        elif last_import is not None:
            break
    if last_sqlalchemy is not None:
        return last_sqlalchemy + 1
    if last_import is not None:
        return last_import + 1
    return 1 if body and body[0].docstring else 0
