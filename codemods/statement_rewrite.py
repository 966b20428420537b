"""Statement-level rewriting: `apply_plan` without parsing the whole file with LibCST.

Most statements of a file the engine rewrites do not change, yet the full rewrite (`transform.apply_plan_full`)
parses all of them with LibCST, records every node's position and generates the code of every one. Here the
stdlib `ast` (many times cheaper) finds, for each decision, its *unit*: the statement LibCST would rewrite it in.
Only the units are parsed with LibCST — all of them in one small module — and the existing `_Applier` rewrites
them; their new code is spliced back into the original text. So the rewrite logic stays in one place and the
output stays byte-identical.

A unit is a whole number of lines, so the snippet holds the unit's lines verbatim (no re-indentation, columns
unchanged; only line numbers shift):

- a simple statement line (`a; b` is one line, as in LibCST);
- a compound statement's header (decorators to the colon), with a stub `pass` body, when the decision lies in
  the header and the body sits on its own lines;
- a whole compound statement otherwise (a decision on an `else:` line, a one-line body `if x: y`, a `match`...).

Each unit is preceded in the snippet by synthetic headers (`class C:`, `def f():`, or `if 1:`) at the indentation
of the enclosing classes and functions: LibCST then sees the unit at its real indentation, and the `_Applier`
builds the same qualified names for `async def` decisions. `async def`, `async with` and `async for` on a
statement that holds no unit are inserted as text (it is exactly what LibCST generates). The import fix-up runs
on the module prefix that holds the top-level imports (see `_fix_imports`).

Most units never reach LibCST: `codemods.unit_text` writes their new code as text, from the unit's `ast` nodes
in the file's tree, exactly as LibCST would print the transformer's result (awaits, renames, `async def` on a
header, legacy query chains rebuilt from their own pieces, `text()`, one-line replacements, review markers).
It declines (the unit then goes through LibCST) whenever it is not sure to match: comments inside the code,
parentheses around a chain link, continuations, decisions nested in others... The import fix-up is made by text
too where `codemods.imports_text` reproduces it. LibCST (and `transform`, which builds on it) is imported only
when a unit or an import window needs it: a rewrite worker whose files all go by text never pays for the import
(~0.2 s, more than rewriting a small project's files). It is imported on a stopped clock (`deadline.import_untimed`):
the import is not the work of the file that first needs it, and does not count against its `--file-timeout`.

Anything this path does not reproduce exactly makes it decline (`None`), and the caller runs the full rewrite:
being conservative costs time, never output. Decisions that fail (a node not found) make it decline too, so the
full rewrite raises the error, as before.
"""

from __future__ import annotations

import ast
import bisect
import logging
import re
import tokenize
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from codemods import edits as E
from codemods.deadline import FileTimeout, import_untimed
from codemods.edits import Edit, FilePlan, ImportName
from codemods.imports_text import WindowStatement, names_in_type_comments, update_imports_text, used_names_of_tree
from codemods.query_imports import query_imports_read
from codemods.source_lines import source_lines
from codemods.unit_text import HEADER_ONLY as _HEADER_ONLY
from codemods.unit_text import text_rewrite as _text_rewrite

if TYPE_CHECKING:
    import libcst as cst

log = logging.getLogger(__name__)

# decision kinds this path handles; the others (statement replacements, decorators) make it decline
_EXPRESSION_KINDS = frozenset(
    {
        E.AWAIT,
        E.QUERY,
        E.TEXT_SQL,
        E.RENAME,
        E.REPLACE_EXPR,
        E.DROP_KWARG,
        E.ADD_KWARG,
        E.DROP_LAST_INDEX,
        E.ASYNC_COMP,
    }
)
_STATEMENT_KINDS = frozenset({E.ASYNC_WITH, E.ASYNC_FOR})
_SUPPORTED_KINDS = _EXPRESSION_KINDS | _STATEMENT_KINDS | {E.REVIEW}

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_COMPOUND = (*_HEADER_ONLY, ast.Try, ast.TryStar, ast.Match)
_TAB_INDENT = re.compile(r"^ *\t", re.MULTILINE)
_STUB = "pass"


class _Decline(Exception):
    """This path cannot reproduce the full rewrite exactly: the caller runs the full one."""


@dataclass(frozen=True, slots=True)
class _Scope:
    """An enclosing class or function: what its synthetic header needs."""

    keyword: str  # "class" or "def"
    name: str
    indent: str  # of its header
    body_indent: str  # of its body's statements


@dataclass(slots=True)
class _Unit:
    first: int  # first line (1-based), decorators included
    last: int  # last line
    indent: str  # the indentation of its first statement line
    scopes: list[_Scope]  # the enclosing classes and functions, outermost first
    header_only: bool  # the snippet holds the header and a stub body
    edits: list[Edit] = field(default_factory=list)
    # the `def` lines (file line numbers) of the functions it holds that the plan makes async
    async_defs: list[int] = field(default_factory=list)
    statements: list[ast.stmt] = field(default_factory=list)  # its statements in the file's tree (a header's own)
    names: frozenset[str] = frozenset()  # names its text rewrite wrote as `Name` nodes (`select`, a new type)


_UnitAt = Callable[[int], _Unit | None]  # the outermost unit holding a line, if any


@dataclass(slots=True)
class _Group:
    """Statements LibCST holds as one statement: a compound statement, or the simple statements of a line."""

    first: int
    last: int
    stmts: list[ast.stmt]


class _Source:
    """The original text by line, and the statement structure `ast` gives it."""

    def __init__(self, source: str, tree: ast.Module) -> None:
        self.lines = source.split("\n")  # no `\r` or form feed here (checked): `ast` numbers lines the same way
        self.tree = tree
        self._groups: dict[int, tuple[list[_Group], list[int]]] = {}

    def line(self, number: int) -> str:
        return self.lines[number - 1]

    def lines_text(self, first: int, last: int) -> str:
        """Lines `first` to `last` (inclusive), each with its newline: one join, not one string per line."""
        return "\n".join(self.lines[first - 1 : last]) + "\n" if first <= last else ""

    def indent_of(self, number: int) -> str:
        text = self.line(number)
        return text[: len(text) - len(text.lstrip(" "))]

    def starts_line(self, stmt: ast.stmt) -> bool:
        """Only blanks precede the statement on its line (`ast` columns are UTF-8 bytes: blanks are one byte)."""
        return stmt.col_offset == len(self.indent_of(stmt.lineno))

    def groups(self, body: list[ast.stmt]) -> tuple[list[_Group], list[int]]:
        """The statement groups of a body that start their own line, and their first lines (for bisection)."""
        known = self._groups.get(id(body))
        if known is not None:
            return known
        groups: list[_Group] = []
        if body and self.starts_line(body[0]):
            for stmt in body:
                end = stmt.end_lineno or stmt.lineno
                if groups and stmt.lineno == groups[-1].last:  # `a; b`: one simple statement line
                    groups[-1].stmts.append(stmt)
                    groups[-1].last = max(groups[-1].last, end)
                    continue
                groups.append(_Group(_first_line(stmt), end, [stmt]))
        result = (groups, [g.first for g in groups])
        self._groups[id(body)] = result
        return result

    def find(self, body: list[ast.stmt], first: int, last: int) -> _Group | None:
        groups, firsts = self.groups(body)
        index = bisect.bisect_right(firsts, first) - 1
        if index < 0:
            return None
        group = groups[index]
        return group if group.last >= last else None


def _first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    return min(d.lineno for d in decorators) if decorators else stmt.lineno


def _child_bodies(stmt: ast.stmt, source: _Source) -> list[list[ast.stmt]]:
    """The statement lists of a compound statement; an `elif` belongs to its `if` (it cannot stand alone)."""
    if isinstance(stmt, ast.If):
        orelse = stmt.orelse
        if (
            len(orelse) == 1
            and isinstance(orelse[0], ast.If)
            and source.line(orelse[0].lineno).lstrip(" ").startswith("elif")
        ):
            return [stmt.body, *_child_bodies(orelse[0], source)]
        return [stmt.body, orelse]
    if isinstance(stmt, ast.Try | ast.TryStar):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    if isinstance(stmt, ast.Match):
        return [case.body for case in stmt.cases]
    bodies = [getattr(stmt, "body", None), getattr(stmt, "orelse", None)]
    return [body for body in bodies if isinstance(body, list)]


def _colon_line(source: _Source, stmt: ast.stmt) -> int | None:
    """The line of the colon that ends the statement's header; None when it is not safely found."""
    start = stmt.lineno
    scanned = _header_colon_scan(source.lines, start)
    if scanned is not None:
        return scanned
    return _colon_line_tokenized(source, start)


# an f-string's quote (Python 3.12 tokenizes inside them), a triple quote, a continuation, a lambda
_NOT_ONE_LINE_TOKENS = re.compile(r"(?i)(?<!\w)(?:rf|fr|f)['\"]|'''|\"\"\"|\\|\blambda\b")
_SCAN_LINES = 100  # a longer header: the tokenizer


def _header_colon_scan(lines: list[str], start: int) -> int | None:
    """The line of the colon ending the header that starts on line `start`, found without tokenizing: outside
    brackets (a header goes on to the next line only inside them), one-line strings (without backslashes) and
    comments. None when it cannot tell (a comment or a line end outside brackets before any colon, a lambda, a
    continuation, an f-string...): the caller tokenizes."""
    depth = 0
    for number in range(start, min(start + _SCAN_LINES, len(lines) + 1)):
        line = lines[number - 1]
        if _NOT_ONE_LINE_TOKENS.search(line):
            return None
        index = 0
        end = len(line)
        while index < end:
            char = line[index]
            if char in "'\"":
                close = line.find(char, index + 1)  # no backslash on the line: no escaped quote
                if close == -1:
                    return None
                index = close + 1
                continue
            if char == "#":
                break
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == ":" and depth == 0 and line[index + 1 : index + 2] != "=":  # `:=` is no colon
                return number
            index += 1
        if depth <= 0:
            return None  # the logical line ends without a colon (or brackets do not match): the tokenizer's call
    return None


def _colon_line_tokenized(source: _Source, start: int) -> int | None:
    """`_colon_line` by the tokenizer, from the statement's first line."""
    number = start
    lines = source.lines

    def readline() -> str:
        nonlocal number
        if number > len(lines):
            return ""
        number += 1
        return lines[number - 2] + "\n"

    depth = 0
    try:
        for token in tokenize.generate_tokens(readline):
            if token.type == tokenize.OP:
                if token.string in "([{":
                    depth += 1
                elif token.string in ")]}":
                    depth -= 1
                elif token.string == ":" and depth == 0:
                    return start + token.start[0] - 1
            elif token.type == tokenize.NAME and token.string == "lambda" and depth == 0:
                return None  # its colon is no header's
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


class _Planner:
    """Finds the units of a file's decisions."""

    def __init__(self, source: _Source) -> None:
        self.source = source
        self.units: dict[tuple[int, int], _Unit] = {}

    def locate(self, first: int, last: int) -> tuple[int, int]:
        """The unit holding lines first..last (created if new); its key."""
        source = self.source
        scopes: list[_Scope] = []
        body = source.tree.body
        enclosing: ast.stmt | None = None
        while True:
            group = None
            for candidate in [body] if enclosing is None else _child_bodies(enclosing, source):
                group = source.find(candidate, first, last)
                if group is not None:
                    break
            if group is None:
                if enclosing is None:
                    raise _Decline(f"line {first}: in no statement")
                return self._compound_unit(enclosing, scopes[:-1] if _is_scope(enclosing) else scopes, first, last)
            stmt = group.stmts[0]
            if len(group.stmts) > 1 or not _child_bodies(stmt, source):
                unit = _Unit(group.first, group.last, source.indent_of(stmt.lineno), list(scopes), False)
                unit.statements = list(group.stmts)
                return self._add(unit)
            enclosing = stmt
            if isinstance(stmt, _SCOPES):
                keyword = "class" if isinstance(stmt, ast.ClassDef) else "def"
                body_indent = source.indent_of(stmt.body[0].lineno)
                scopes.append(_Scope(keyword, stmt.name, source.indent_of(stmt.lineno), body_indent))

    def _compound_unit(self, stmt: ast.stmt, scopes: list[_Scope], first: int, last: int) -> tuple[int, int]:
        source = self.source
        start = _first_line(stmt)
        indent = source.indent_of(stmt.lineno)
        if isinstance(stmt, _HEADER_ONLY):
            colon = _colon_line(source, stmt)
            body_first = _first_line(stmt.body[0])
            if colon is not None and colon < body_first and source.starts_line(stmt.body[0]) and last <= colon:
                return self._add(_Unit(start, colon, indent, list(scopes), True, statements=[stmt]))
        return self._add(_Unit(start, stmt.end_lineno or stmt.lineno, indent, list(scopes), False, statements=[stmt]))

    def _add(self, unit: _Unit) -> tuple[int, int]:
        key = (unit.first, unit.last)
        self.units.setdefault(key, unit)
        return key


def _is_scope(stmt: ast.stmt) -> bool:
    return isinstance(stmt, _SCOPES)


def apply_plan(source: str, plan: FilePlan, tree: ast.Module | None = None) -> str:
    """The file's new text: rewritten statement by statement (`try_apply`) where that path reproduces
    `transform.apply_plan_full` exactly, by the full LibCST rewrite otherwise (it also raises every error).
    `tree`: `ast.parse(source)`, when the caller has it (read, never changed)."""
    new_text = try_apply(source, plan, tree)
    if new_text is not None:
        return new_text
    import_untimed("codemods.transform")
    from codemods.transform import apply_plan_full

    return apply_plan_full(source, plan)


def try_apply(source: str, plan: FilePlan, tree: ast.Module | None = None) -> str | None:
    """`apply_plan_full(source, plan)`, or None when this path declines (the caller then runs the full one).
    `tree`: `ast.parse(source)`, when the caller has it (read, never changed)."""
    if plan.helpers or plan.async_contextmanagers or plan.added_decorators:
        return None
    if "\r" in source or "\f" in source or not source.endswith("\n") or source.startswith("\ufeff"):
        return None
    if any(edit.kind not in _SUPPORTED_KINDS for edit in plan.edits):
        return None
    if _TAB_INDENT.search(source):
        return None
    try:
        return _apply(source, plan, tree)
    except FileTimeout:
        raise
    except _Decline as exc:
        log.debug("%s: full rewrite (%s)", plan.module_name, exc)
        return None
    except Exception as exc:  # the full rewrite raises it again (same behaviour), or succeeds where this path cannot
        log.debug("%s: full rewrite (%s: %s)", plan.module_name, type(exc).__name__, exc)
        return None


def _apply(text: str, plan: FilePlan, tree: ast.Module | None) -> str:
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise _Decline("ast cannot parse it") from exc
    source = _Source(text, tree)
    planner = _Planner(source)
    located: list[tuple[Edit, tuple[int, int]]] = []
    statement_edits: list[Edit] = []
    for edit in plan.edits:
        if edit.kind in _STATEMENT_KINDS:
            statement_edits.append(edit)
        elif edit.kind == E.REVIEW:
            located.append((edit, planner.locate(edit.span[0], edit.span[0])))
        else:
            located.append((edit, planner.locate(edit.span[0], edit.span[2])))
    units = _outermost(list(planner.units.values()))
    firsts = [unit.first for unit in units]

    def unit_at(line: int) -> _Unit | None:
        index = bisect.bisect_right(firsts, line) - 1
        return units[index] if index >= 0 and units[index].last >= line else None

    for edit, (first, _) in located:
        unit = unit_at(first)
        assert unit is not None
        unit.edits.append(edit)
    inserts = _statement_inserts(source, statement_edits, unit_at)
    inserts |= _async_def_inserts(source, plan, unit_at)
    codes = _rewrite_units(units, source, plan)
    new_text = _splice(source, units, codes, inserts)
    written = frozenset().union(*(unit.names for unit in units))
    return _fix_imports(new_text, plan, written)


def _outermost(units: list[_Unit]) -> list[_Unit]:
    """Units are whole statements or headers: nested or apart. Keep the outermost, in line order."""
    kept: list[_Unit] = []
    for unit in sorted(units, key=lambda u: (u.first, -u.last)):
        if kept and unit.first <= kept[-1].last:
            if unit.last > kept[-1].last:
                raise _Decline(f"units overlap at line {unit.first}")
            continue
        kept.append(unit)
    return kept


def _statements_by_line(source: _Source) -> dict[int, ast.stmt]:
    """Every compound statement of the file by its keyword's line (they start their line)."""
    found: dict[int, ast.stmt] = {}
    stack = [source.tree.body]
    while stack:
        for stmt in stack.pop():
            bodies = _child_bodies(stmt, source)
            if bodies:
                found[stmt.lineno] = stmt
                stack.extend(bodies)
    return found


def _statement_inserts(source: _Source, edits: list[Edit], unit_at: _UnitAt) -> set[int]:
    """`async with` / `async for` decisions: the lines to insert `async ` on, or the units that apply them."""
    if not edits:
        return set()
    by_line = _statements_by_line(source)
    by_start: dict[tuple[int, int], list[Edit]] = {}
    for edit in edits:
        by_start.setdefault(edit.span[:2], []).append(edit)
    lines: set[int] = set()
    for (line, column), group in by_start.items():
        stmt = by_line.get(line)
        indent = len(source.indent_of(line))
        if stmt is None or stmt.lineno != line or column != indent:
            raise _Decline(f"line {line}: no statement for {group[0].kind}")
        kinds = {edit.kind for edit in group}
        if kinds == {E.ASYNC_FOR}:
            if not isinstance(stmt, ast.For):
                raise _Decline(f"line {line}: async_for on no sync for")
        elif kinds == {E.ASYNC_WITH}:
            if not isinstance(stmt, ast.With):
                raise _Decline(f"line {line}: async_with on no sync with")
            wanted = {edit.text for edit in group}
            if "" not in wanted and any(_item_key(source, item) not in wanted for item in stmt.items):
                raise _Decline(f"line {line}: a with mixing sync and async managers")
        else:
            raise _Decline(f"line {line}: mixed statement decisions")
        unit = unit_at(line)
        if unit is not None:
            unit.edits.extend(group)
        else:
            lines.add(line)
    return lines


def _item_key(source: _Source, item: ast.withitem) -> str:
    """`line:column` of a with item's expression, column in characters (what the decision names)."""
    expr = item.context_expr
    prefix = source.line(expr.lineno).encode()[: expr.col_offset].decode(errors="replace")
    return f"{expr.lineno}:{len(prefix)}"


def _async_def_inserts(source: _Source, plan: FilePlan, unit_at: _UnitAt) -> set[int]:
    """The `def` lines to insert `async ` on: the functions to make async that no unit holds."""
    if not plan.async_defs:
        return set()
    lines: set[int] = set()
    stack: list[tuple[list[ast.stmt], str]] = [(source.tree.body, plan.module_name)]
    while stack:
        body, prefix = stack.pop()
        for stmt in body:
            if isinstance(stmt, _SCOPES):
                qualname = f"{prefix}.{stmt.name}"
                if isinstance(stmt, ast.FunctionDef) and qualname in plan.async_defs:
                    unit = unit_at(stmt.lineno)
                    if unit is not None:
                        unit.async_defs.append(stmt.lineno)  # the unit's rewrite makes it async
                    else:
                        if not source.line(stmt.lineno).lstrip(" ").startswith("def") or not source.starts_line(stmt):
                            raise _Decline(f"line {stmt.lineno}: no def keyword")
                        lines.add(stmt.lineno)
                stack.append((stmt.body, qualname))
            else:
                stack.extend((child, prefix) for child in _child_bodies(stmt, source))
    return lines


_Entry = tuple[str, str, str]  # a synthetic header: (its indentation, its text, its body's indentation)


def _chain(unit: _Unit) -> list[_Entry]:
    """The synthetic headers that put the unit at its indentation, inside classes and functions of the same
    names (the `_Applier` builds qualified names from them); `if 1:` where the real code nests deeper."""
    chain: list[_Entry] = []
    current = ""  # the indentation of the statements of the innermost block so far
    for scope in unit.scopes:
        if scope.indent != current:
            chain.append((current, "if 1:", scope.indent))
        header = f"class {scope.name}:" if scope.keyword == "class" else f"def {scope.name}():"
        chain.append((scope.indent, header, scope.body_indent))
        current = scope.body_indent
    if unit.indent != current:
        chain.append((current, "if 1:", unit.indent))
    return chain


def _rewrite_units(units: list[_Unit], source: _Source, plan: FilePlan) -> list[str]:
    """Every unit's new code: by text where `unit_text.text_rewrite` can reproduce the transformer exactly, the others
    through LibCST (`_rewrite_units_with_libcst`)."""
    by_text = [_text_rewrite(unit, source) for unit in units]
    through_libcst = iter(
        _rewrite_units_with_libcst([u for u, code in zip(units, by_text, strict=True) if code is None], source, plan)
    )
    return [code if code is not None else next(through_libcst) for code in by_text]


def _rewrite_units_with_libcst(units: list[_Unit], source: _Source, plan: FilePlan) -> list[str]:
    """Every unit's new code. One snippet module holds them all, each under synthetic headers (shared by
    consecutive units of the same function); only the line numbers differ from the file's."""
    if not units:
        return []
    import_untimed("codemods.transform")  # LibCST, and what builds on it, only for the files that need it
    import libcst as cst
    from libcst._nodes.internal import CodegenState

    from codemods.cst_spans import node_spans_and_extents
    from codemods.transform import _Applier

    parts: list[str] = []
    shifted: list[Edit] = []
    snippet_line = 1
    open_chain: list[_Entry] = []
    # the statement count of every open block, the module's first; a unit's path: its index in each block
    counts: list[int] = [0]
    paths: list[list[int]] = []
    for unit in units:
        chain = _chain(unit)
        common = 0
        while common < min(len(chain), len(open_chain)) and chain[common] == open_chain[common]:
            common += 1
        del open_chain[common:]
        del counts[common + 1 :]
        for entry in chain[common:]:
            parts.append(f"{entry[0]}{entry[1]}\n")
            snippet_line += 1
            counts[-1] += 1
            open_chain.append(entry)
            counts.append(0)
        paths.append([*(count - 1 for count in counts[:-1]), counts[-1]])
        counts[-1] += 1
        delta = unit.first - snippet_line
        parts.extend(line + "\n" for line in source.lines[unit.first - 1 : unit.last])
        snippet_line += unit.last - unit.first + 1
        if unit.header_only:
            parts.append(unit.indent + "    " + _STUB + "\n")
            snippet_line += 1
        shifted.extend(_shift(edit, delta) for edit in unit.edits)
    snippet = "".join(parts)
    module = cst.parse_module(snippet)
    comment_lines = frozenset(number for number, line in enumerate(source_lines(snippet), 1) if "#" in line)
    applier = _Applier(replace(plan, edits=shifted), *node_spans_and_extents(module), comment_lines)
    new_module = module.visit(applier)
    if applier.unapplied() or applier.displaced_comments:
        raise _Decline("a decision found no node, or displaced comments found no statement")
    codes = []
    for unit, path in zip(units, paths, strict=True):
        statement = _statement_at(new_module, module, path)
        if unit.header_only and not _bare_stub(statement):
            # comments a header rewrite displaced went to the stub: in the file they go after the comments
            # already above the first statement of the body
            raise _Decline("the stub body changed")
        state = CodegenState(
            default_indent=new_module.default_indent,
            default_newline=new_module.default_newline,
            indent_tokens=[unit.indent] if unit.indent else [],
        )
        statement._codegen(state)
        code = "".join(state.tokens)
        if unit.header_only:
            stub = unit.indent + "    " + _STUB + "\n"
            if not code.endswith("\n" + stub):
                raise _Decline("the stub body changed")
            code = code[: -len(stub)]
        codes.append(code)
    return codes


def _bare_stub(statement: cst.BaseStatement) -> bool:
    """The stub body of a header-only unit, as the snippet had it: `pass` alone, nothing above or after it."""
    import libcst as cst

    body = getattr(statement, "body", None)
    if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1 or body.footer:
        return False
    stub = body.body[0]
    return isinstance(stub, cst.SimpleStatementLine) and not stub.leading_lines and len(stub.body) == 1


def _statement_at(module: cst.Module, before: cst.Module, path: list[int]) -> cst.BaseStatement:
    """The statement at `path` in the rewritten snippet; every block on the way must hold as many statements as
    before the rewrite (a unit that became several statements would shift the paths)."""
    import libcst as cst

    if len(module.body) != len(before.body):
        raise _Decline("a unit became several statements")
    statement: cst.BaseStatement = module.body[path[0]]
    original: cst.BaseStatement = before.body[path[0]]
    for index in path[1:]:
        block, original_block = getattr(statement, "body", None), getattr(original, "body", None)
        if not isinstance(block, cst.IndentedBlock) or not isinstance(original_block, cst.IndentedBlock):
            raise _Decline("no synthetic block on a unit's path")
        if len(block.body) != len(original_block.body):
            raise _Decline("a unit became several statements")
        statement, original = block.body[index], original_block.body[index]
    return statement


def _shift(edit: Edit, delta: int) -> Edit:
    line, column, end_line, end_column = edit.span
    text = edit.text
    if edit.kind == E.ASYNC_WITH and text:
        item_line, _, item_column = text.partition(":")
        text = f"{int(item_line) - delta}:{item_column}"
    return replace(edit, span=(line - delta, column, end_line - delta, end_column), text=text)


def _splice(source: _Source, units: Sequence[_Unit], codes: Sequence[str], inserts: set[int]) -> str:
    out: list[str] = []
    lines = source.lines
    number = 1

    def copy_until(stop: int) -> None:
        nonlocal number
        while number < stop:
            text = lines[number - 1]
            if number in inserts:
                indent = len(text) - len(text.lstrip(" "))
                text = f"{text[:indent]}async {text[indent:]}"
            out.append(text + "\n")
            number += 1

    for unit, code in zip(units, codes, strict=True):
        copy_until(unit.first)
        out.append(code)
        number = unit.last + 1
    copy_until(len(lines))  # the last element of `lines` is the "" after the final newline
    return "".join(out)


def _fix_imports(text: str, plan: FilePlan, written: frozenset[str] = frozenset()) -> str:
    """`update_imports`, on the part of the module it can touch.

    It adds, drops and merges top-level import statements, and moves blank lines between them and the statement
    right after the imports (or the first two statements, in a module without imports); of the others it only
    reads the names they define. So it runs on a window ending two statements after the last top-level import
    (at least the first four statements), with the compound statements after the imports cut down to their
    header and a stub body (their type, name and leading lines are all it reads). The names the rest defines
    come from `ast`. `written`: names the text rewrite wrote as `Name` nodes (see `_names_in_use`)."""
    if not (plan.imports or plan.removable or plan.force_remove):
        return text  # nothing to add or drop: the fix-up leaves the module as it is
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Decline("ast cannot parse the new text") from exc
    source = _Source(text, tree)
    in_use = _names_in_use(text, source, plan, written)
    if in_use is None:
        in_use = used_names_of_tree(tree) | names_in_type_comments(text)
    add = query_imports_read(plan.imports, text, in_use, tree)
    groups, _ = source.groups(tree.body)
    if not groups or len(groups) != len(_top_level_lines(tree.body)):
        raise _Decline("top-level statements not on their own lines")
    last_import = -1
    for index, group in enumerate(groups):
        if all(isinstance(stmt, ast.Import | ast.ImportFrom) for stmt in group.stmts):
            last_import = index
    cut = min(max(last_import, 1) + 2, len(groups) - 1)
    header: list[str] = []
    window: list[WindowStatement] = []
    stubbed: dict[int, tuple[str, str]] = {}  # window index -> (stub line, the body text it stands for)
    line = 1
    for index in range(cut + 1):
        group = groups[index]
        stmt = group.stmts[0]
        leading = [gap_line + "\n" for gap_line in source.lines[line - 1 : group.first - 1]]
        code = source.lines_text(group.first, group.last)
        if index > last_import and isinstance(stmt, _HEADER_ONLY):
            colon = _colon_line(source, stmt)
            gap_is_blank = index == cut or all(
                not source.line(number).strip() for number in range(group.last + 1, groups[index + 1].first)
            )
            first_body = stmt.body[0]
            own_line = colon is not None and colon < _first_line(first_body) and source.starts_line(first_body)
            if colon is not None and own_line and gap_is_blank:
                stub = source.indent_of(stmt.lineno) + "    " + _STUB + "\n"
                stubbed[index] = (stub, source.lines_text(colon + 1, group.last))
                code = source.lines_text(group.first, colon) + stub
        if index == 0:
            header, leading = leading, []  # LibCST's module header: the lines above the first statement
        previous = groups[index - 1].stmts[0] if index else None
        window.append(WindowStatement(leading, code, stmt, isinstance(previous, _COMPOUND)))
        line = group.last + 1
    suffix = source.lines_text(line, len(source.lines) - 1)
    names = frozenset(_defined_names(stmt for group in groups[cut + 1 :] for stmt in group.stmts))
    updated = None
    if all(len(group.stmts) == 1 for group in groups[: cut + 1]):
        force_remove = frozenset(plan.force_remove)
        updated = update_imports_text(header, window, add, plan.removable, force_remove, in_use, names)
    header_codes, body_codes = updated or _update_imports_with_libcst(header, window, plan, add, in_use, names)
    after = cut - last_import  # the window's statements after the imports end the body, in order
    if len(body_codes) < after:
        raise _Decline("unexpected import window")
    codes = [*header_codes, *body_codes]
    for index, (stub, body) in stubbed.items():
        position = len(codes) - after + (index - last_import - 1)
        if not codes[position].endswith(stub):
            raise _Decline("the import fix-up changed a stub")
        codes[position] = codes[position][: -len(stub)] + body
    return "".join(codes) + suffix


def _update_imports_with_libcst(
    header: list[str],
    window: list[WindowStatement],
    plan: FilePlan,
    add: set[ImportName],
    in_use: set[str],
    names: frozenset[str],
) -> tuple[list[str], list[str]]:
    """`update_imports` on the window parsed by LibCST: the code of the header's lines, and of every statement
    (as `update_imports_text` gives them); `add`: the imports to add, of `plan.imports`."""
    import_untimed("codemods.imports_edit")
    import libcst as cst

    from codemods.imports_edit import update_imports

    text = "".join(header) + "".join("".join(item.leading) + item.code for item in window)
    module = cst.parse_module(text)
    updated = update_imports(module, add, plan.removable, frozenset(plan.force_remove), in_use, names)
    if updated.footer:
        raise _Decline("unexpected import window")
    header_codes = [updated.code_for_node(empty) for empty in updated.header]
    return header_codes, [updated.code_for_node(statement) for statement in updated.body]


def _names_in_use(text: str, source: _Source, plan: FilePlan, written: frozenset[str]) -> set[str] | None:
    """`used_names_of_tree(tree)` for the only names `update_imports` asks about (the removable names and those
    of the imports to add), without walking the tree; None when it cannot tell.

    A name the text rewrite wrote as a `Name` is in use. A name is not, when each of its occurrences as a word
    in the (ASCII: no identifier normalisation) text is an attribute (right after a dot) or lies inside a
    top-level or class-level import statement or a docstring (`_quiet_spans`): every name `used_names_of_tree`
    collects is such a word. Otherwise: None."""
    wanted = plan.removable | {item.local for item in plan.imports}
    if not text.isascii():
        return None
    in_use = {name for name in wanted if name in written}
    firsts: list[tuple[int, int]] | None = None
    ends: list[tuple[int, int]] = []
    for name in wanted - in_use:
        start = text.find(name)
        while start != -1:
            end = start + len(name)
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
                # a word, not an attribute
                if firsts is None:
                    firsts, ends = _quiet_spans(source.tree)
                position = (text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start) - 1)
                index = bisect.bisect_right(firsts, position) - 1
                if index < 0 or ends[index] <= position:
                    return None  # maybe a use
            start = text.find(name, start + 1)
    return in_use


def _quiet_spans(tree: ast.Module) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The first and end positions (line, column) of the import statements of the module and class bodies and
    of the docstrings (a statement that is only a constant) of the module, classes and functions, in order: no
    name there is a use of it."""
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def add(stmt: ast.stmt) -> None:
        spans.append(((stmt.lineno, stmt.col_offset), (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)))

    stack = [tree.body]
    while stack:
        body = stack.pop()
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            add(body[0])
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                add(stmt)
            elif isinstance(stmt, ast.ClassDef):
                stack.append(stmt.body)
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                first = stmt.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    add(first)
    spans.sort()
    return [first for first, _ in spans], [end for _, end in spans]


def _top_level_lines(body: list[ast.stmt]) -> set[int]:
    return {stmt.lineno for stmt in body if stmt.col_offset == 0}


def _defined_names(stmts: Iterable[ast.stmt]) -> set[str]:
    """What `imports_edit._module_level_names` reads from top-level statements, from `ast`."""
    names: set[str] = set()
    for stmt in stmts:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(target.id for target in stmt.targets if isinstance(target, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)
    return names
