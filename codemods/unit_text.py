"""The text path of statement-level rewriting (`codemods.statement_rewrite`): a unit's new code written as text.

For the commonest units (awaits added, names renamed, headers made `async def`, legacy query chains, `text()`,
one-line expression replacements, review markers) the new code is spliced from the unit's own text at `ast`
positions, exactly as the transformer (`transform._Applier`, `transform_query.rewrite_query`) would print it
through LibCST. Whatever this module is not sure to reproduce byte for byte raises `_NoText`, and the unit goes
through LibCST, which stays the reference (`tests/engine/test_statement_rewrite.py` compares the two).
"""

from __future__ import annotations

import ast
import itertools
import re
from typing import TYPE_CHECKING

from codemods import edits as E
from codemods.deadline import import_untimed
from codemods.edits import REVIEW_PREFIX, QuerySpec
from codemods.queries import RENAMED_METHODS, UPDATE_SYNC_FOR_FALSE

if TYPE_CHECKING:
    from codemods.statement_rewrite import _Source, _Unit

# compound statements whose header can be rewritten alone, with a stub body
HEADER_ONLY = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.While,
    ast.For,
    ast.AsyncFor,
    ast.With,
    ast.AsyncWith,
)


_PRIMARY_PARENTS = ((ast.Attribute, "value"), (ast.Subscript, "value"), (ast.Call, "func"))
_COMPOUND = (*HEADER_ONLY, ast.Try, ast.TryStar, ast.Match)
_TEXT_KINDS = frozenset({E.AWAIT, E.RENAME, E.QUERY, E.TEXT_SQL, E.REPLACE_EXPR, E.REVIEW})


class _NoText(Exception):
    """The text path cannot reproduce the transformer exactly for this unit: it goes through LibCST."""


def text_rewrite(unit: _Unit, source: _Source) -> str | None:
    """The unit's new code as the transformer would write it, for the commonest units: only `await` added to
    calls, names renamed (`self.db.commit()`, `return service.get(db, id)`, `db: Session` in an assignment or a
    header, a def made async), legacy query chains rewritten (`_QueryText`), expressions replaced, strings
    wrapped in `text()`, review markers on simple statements; on ASCII lines with no comment (but one after a
    simple statement's code), no two decisions starting together, no decision inside another but inside an
    `await`.
    None otherwise: the unit then goes through LibCST."""
    if not unit.edits or any(edit.kind not in _TEXT_KINDS for edit in unit.edits):
        return None
    lines = source.lines[unit.first - 1 : unit.last]
    plain = not any("#" in line or not line.isascii() for line in lines)
    if not plain and (unit.header_only or any(edit.kind == E.REVIEW for edit in unit.edits)):
        return None
    expression_edits = [edit for edit in unit.edits if edit.kind != E.REVIEW]
    if len({edit.span[:2] for edit in expression_edits}) != len(expression_edits):
        return None
    try:
        unit_text = _UnitText(unit, "\n".join(lines) + "\n")
        if not plain:
            # a comment (or non-ASCII text) only after the statements: no decision's node holds it, so no
            # rewrite can displace it, and the columns before it are characters
            end = unit.statements[-1]
            code = unit_text.text[: unit_text.offset(end.end_lineno or end.lineno, end.end_col_offset or 0)]
            if "#" in code or not code.isascii():
                return None
        return unit_text.rewrite()
    except _NoText:
        return None


_NodeAt = tuple[ast.AST, ast.AST | None, str]  # a node, its parent and the parent's field holding it
_BODY_FIELDS = frozenset({"body", "orelse", "handlers", "finalbody"})


class _UnitText:
    """A unit's text and its statements in the file's `ast` tree (ASCII lines: `ast` columns are characters)."""

    def __init__(self, unit: _Unit, text: str) -> None:
        self.unit = unit
        self.text = text
        self.statements = unit.statements
        if not self.statements:
            raise _NoText
        self.line_starts = [0]
        for line in text.split("\n"):
            self.line_starts.append(self.line_starts[-1] + len(line) + 1)

    def offset(self, line: int, column: int) -> int:
        """The offset in the unit's text of a position in the file."""
        return self.line_starts[line - self.unit.first] + column

    def extent(self, node: ast.AST) -> tuple[int, int]:
        """A node's first and end offsets in the unit's text (parentheses around it excluded, as in `ast`)."""
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def segment(self, node: ast.AST) -> str:
        start, end = self.extent(node)
        return self.text[start:end]

    def find(self, span: tuple[int, int, int, int]) -> _NodeAt | None:
        """The expression node with this span, with its parent; None if there is none, or two. It descends only
        into nodes that hold the span; not into a header's body, nor into f-strings (`ast` positions there are
        not always LibCST's)."""
        start, end = span[:2], span[2:]
        found: list[_NodeAt] = []
        stack: list[_NodeAt] = [(stmt, None, "") for stmt in self.statements]
        header = self.statements[0] if self.unit.header_only else None
        while stack:
            node, parent, name = stack.pop()
            if isinstance(node, ast.expr):
                node_start = (node.lineno, node.col_offset)
                node_end = (node.end_lineno or node.lineno, node.end_col_offset or 0)  # set by `ast.parse`
                if node_start > start or node_end < end:
                    continue
                if node_start == start and node_end == end:
                    found.append((node, parent, name))
                if isinstance(node, ast.JoinedStr):
                    continue
            for field_name, value in ast.iter_fields(node):
                if node is header and field_name in _BODY_FIELDS:
                    continue
                if isinstance(value, list):
                    stack.extend((child, node, field_name) for child in value if isinstance(child, ast.AST))
                elif isinstance(value, ast.AST):
                    stack.append((value, node, field_name))
        return found[0] if len(found) == 1 else None

    def rewrite(self) -> str:
        unit, text = self.unit, self.text
        changes: list[tuple[int, int, str]] = []
        names: set[str] = set()  # the names written as `Name` nodes
        if unit.header_only:
            if len(self.statements) != 1 or not isinstance(self.statements[0], HEADER_ONLY):
                raise _NoText
            header = self.statements[0]
            for line in unit.async_defs:
                if not isinstance(header, ast.FunctionDef) or header.lineno != line:
                    raise _NoText
                start = self.offset(header.lineno, header.col_offset)
                if not re.match(r"def\s", text[start : start + 4]):
                    raise _NoText
                changes.append((start, start, "async "))
        elif unit.async_defs or any(isinstance(stmt, _COMPOUND) for stmt in self.statements):
            raise _NoText  # a compound statement: LibCST
        reviews = sorted({edit.text for edit in unit.edits if edit.kind == E.REVIEW})
        if reviews and (unit.header_only or any(not r.strip() or "\n" in r or "\r" in r for r in reviews)):
            raise _NoText  # a header's markers go after its colon; an empty or multi-line reason fails
        for edit in unit.edits:
            if edit.kind == E.REVIEW:
                continue
            found = self.find(edit.span)
            if found is None:
                raise _NoText
            node, parent, name = found
            start, end = self.extent(node)
            in_primary = parent is not None and (type(parent), name) in _PRIMARY_PARENTS
            if edit.kind == E.AWAIT:
                if not isinstance(node, ast.Call):
                    raise _NoText
                # the transformer moves the call's own parentheses to the `await` (the text keeps them where
                # they are), and parenthesises an unparenthesised `await` used as a primary: `(await f()).x`
                if in_primary and parent is not None and self.extent(parent)[0] == start:
                    changes += [(start, start, "(await "), (end, end, ")")]
                else:
                    changes.append((start, start, "await "))
            elif edit.kind == E.RENAME:
                if not isinstance(node, ast.Name | ast.Attribute) or "\n" in edit.text:
                    raise _NoText
                if _IDENTIFIER.fullmatch(edit.text):
                    names.add(edit.text)
                changes.append((start, end, edit.text))
            elif edit.kind == E.TEXT_SQL:
                changes.append((start, end, f"text({text[start:end]})"))  # the node's parentheses go outside
                names.add("text")
            elif edit.kind == E.REPLACE_EXPR:
                new = edit.text
                import_untimed("codemods.transform")  # here only: most files have no such decision, and need no LibCST
                import libcst as cst

                from codemods.transform import _expression

                try:
                    parsed = _expression(new)  # the transformer parses it: the same error, through LibCST
                except Exception as exc:
                    raise _NoText from exc
                if new != new.strip() or "\n" in new or parsed.lpar:
                    # the transformer gives the new expression the node's parentheses, not its own; it indents
                    # the lines after the first by the block's indentation
                    raise _NoText
                if isinstance(parsed, cst.Await) and in_primary and parent and self.extent(parent)[0] == start:
                    new = f"({new})"  # as an awaited call: `(await f()).x`
                changes.append((start, end, new))
            else:
                assert edit.query is not None
                query = _QueryText(self, edit.query)
                new, awaited = query.rewrite(node)
                names |= query.names
                if awaited and in_primary and parent is not None and self.extent(parent)[0] == start:
                    new = f"({new})"  # `(await s.scalar(...)).x`: the transformer parenthesises an await there
                changes.append((start, end, new))
        changes.sort()
        for before, after in itertools.pairwise(changes):
            if after[0] < before[1] or after[0] == before[0]:
                raise _NoText  # a decision inside another (but an `await`, which only inserts text)
        for start, end, new in reversed(changes):
            text = text[:start] + new + text[end:]
        if reviews:
            # `_with_markers` on the statement line's trailing whitespace (no comment there): two blanks, the
            # markers joined by two blanks
            head, newline, last = text[:-1].rpartition("\n")
            if last != last.rstrip() or last.endswith((";", "\\")):
                raise _NoText  # the blanks after a last `;` are the semicolon's, and kept
            markers = "  ".join(f"{REVIEW_PREFIX} {reason}" for reason in reviews)
            text = f"{head}{newline}{last}  {markers}\n"
        unit.names = frozenset(names)
        return text


_DOT = re.compile(r"\s*\.\s*")
_OPENS = re.compile(r"\s*\(")
_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class _QueryText:
    """`transform_query.rewrite_query` on text: the new chain is built from the original's pieces, as LibCST
    prints the nodes `rewrite_query` reuses (the text between and around the links, the arguments), and the
    code LibCST generates for the nodes it creates. Any shape it is not sure of raises `_NoText`: parentheses
    around a link, a link that is not `.name(...)`, unusual source for the session or parameters..."""

    def __init__(self, unit: _UnitText, spec: QuerySpec) -> None:
        self.unit = unit
        self.text = unit.text
        self.spec = spec
        self.names: set[str] = set()  # the names it wrote as `Name` nodes
        for src in (spec.session_src, spec.params_src or "", *spec.extra_options):
            if src != src.strip() or "#" in src or "\\" in src or "\n" in src or not src.isascii():
                raise _NoText  # LibCST parses it: a line after the first would be indented by the block's
        if not _REFERENCE.fullmatch(spec.session_src) or not _IDENTIFIER.fullmatch(spec.builder_base):
            raise _NoText

    def method(self, call: ast.expr) -> tuple[int, int]:
        """A chain link `value.name(args)`: the offsets of `name` and of the call's end. The link must be plain:
        nothing but blanks and a dot between the value and the name, no parentheses around the value or the
        callee, arguments right after the name."""
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            raise _NoText
        func = call.func
        call_start, call_end = self.unit.extent(call)
        value_start, value_end = self.unit.extent(func.value)
        name_end = self.unit.extent(func)[1]
        name_start = name_end - len(func.attr)
        if (
            call_start != value_start
            or self.text[name_start:name_end] != func.attr
            or not _DOT.fullmatch(self.text, value_end, name_start)
            or not _OPENS.match(self.text, name_end)
            or self.text[call_end - 1] != ")"
        ):
            raise _NoText
        return name_start, call_end

    def rewrite(self, node: ast.AST) -> tuple[str, bool]:
        """The new text of the query expression, and whether it is an `await` (the parent may parenthesise it)."""
        spec = self.spec
        terminal = spec.terminal
        if terminal == "builder":  # keeps `.params()`: see transform_query.rewrite_query
            return self.select(node, spec.builder_base, frozenset(), ()), False
        if terminal == "iter":  # `for x in db.query(M)...:`: `await session.scalars(select(M)...)`
            statement = self.select(node, "select", frozenset({"params"}), spec.extra_options)
            method = "scalars" if spec.scalars else "execute"
            awaited = f"await {self.call(method, [statement, *([spec.params_src] if spec.params_src else [])])}"
            return (f"({awaited}).unique()", False) if spec.unique else (awaited, True)
        if terminal not in {"all", "first", "count", "get", "scalar", "one", "one_or_none", "delete", "update"}:
            raise _NoText
        if "\\" in self.text:
            raise _NoText  # a line continuation in the text the rewrite drops
        name_start, end = self.method(node)  # type: ignore[arg-type]
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        chain = node.func.value
        params = [spec.params_src] if spec.params_src else []
        if terminal == "get":
            return self.get(chain, self.text[name_start + len("get") : end], params)
        if terminal in {"delete", "update"}:
            return self.bulk(node, chain, self.text[name_start + len(terminal) : end])
        statement = self.select(chain, "select", frozenset({"params"}), spec.extra_options)
        if terminal == "count":
            self.names |= {"select", "func"}
            counted = f"select(func.count()).select_from({statement}.subquery())"
            return f"await {self.call('scalar', [counted, *params])}", True
        if terminal == "first":
            statement += ".limit(1)"
        if terminal == "scalar" and spec.aggregate:
            return f"await {self.call('scalar', [statement, *params])}", True
        if terminal in {"all", "first"}:
            method, finish = "scalars" if spec.scalars else "execute", terminal
        elif terminal == "scalar":
            method, finish = "execute", "scalar_one_or_none"
        else:
            method, finish = "execute", f"scalar_{terminal}" if spec.scalars else terminal
        unique = ".unique()" if spec.unique else ""
        return f"(await {self.call(method, [statement, *params])}){unique}.{finish}()", False

    def call(self, method: str, args: list[str]) -> str:
        return f"{self.spec.session_src}.{method}({', '.join(args)})"

    def spine(self, expr: ast.AST) -> list[ast.Call]:
        """`transform_query._spine`: calls along `.func.value`, outermost first, down to `X.query(...)`."""
        out: list[ast.Call] = []
        current = expr
        while isinstance(current, ast.Call) and isinstance(current.func, ast.Attribute):
            out.append(current)
            if current.func.attr == "query":
                break
            current = current.func.value
        return out

    def select(self, expr: ast.AST, base: str, drop: frozenset[str], options: tuple[str, ...]) -> str:
        """`transform_query.to_select`."""
        added = f".options({', '.join(options)})" if options else ""
        spine = self.spine(expr)
        if not spine:
            return self.unit.segment(expr) + added
        innermost = spine[-1]
        name_start, end = self.method(innermost)
        assert isinstance(innermost.func, ast.Attribute)
        if innermost.func.attr == "query":
            self.names.add(base)
            rebuilt = base + self.text[name_start + len("query") : end] + added
            links = spine[:-1]
        else:
            rebuilt = self.unit.segment(innermost.func.value) + added
            links = spine
        for call in reversed(links):
            assert isinstance(call.func, ast.Attribute)
            name = call.func.attr
            name_start, end = self.method(call)  # a dropped link too: its value may not be in parentheses
            if name in drop or name == "yield_per":  # as transform_query.to_select
                continue
            dot = self.text[self.unit.extent(call.func.value)[1] : name_start]
            arguments = self.text[name_start + len(name) : end]
            if name == "populate_existing":
                if arguments != "()":
                    raise _NoText
                rebuilt += f"{dot}execution_options(populate_existing=True)"
            else:
                rebuilt += dot + RENAMED_METHODS.get(name, name) + arguments
        return rebuilt

    def bulk(self, node: ast.Call, chain: ast.expr, arguments: str) -> tuple[str, bool]:
        """`transform_query._rewrite_bulk`: `await session.execute(delete(M)...)`, `.rowcount` of it when read."""
        terminal = self.spec.terminal
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise _NoText
        if any(k.arg != "synchronize_session" for k in node.keywords) or len(node.keywords) > 1:
            raise _NoText  # the transformer fails on other arguments
        if len(node.args) != (1 if terminal == "update" else 0):
            raise _NoText
        values = [self.unit.segment(a) for a in node.args]
        sync = [self.unit.segment(k.value) for k in node.keywords]
        if arguments != f"({', '.join([*values, *(f'synchronize_session={v}' for v in sync)])})":
            raise _NoText  # blanks, a trailing comma, parentheses around an argument
        statement = self.select(chain, terminal, frozenset(), ())
        if values:
            statement += f".values({values[0]})"
        if sync:
            mode = f'"{UPDATE_SYNC_FOR_FALSE}"' if terminal == "update" and sync[0] == "False" else sync[0]
            statement += f".execution_options(synchronize_session={mode})"
        if self.spec.discard_result:
            return f"await {self.call('execute', [statement])}", True
        return f"(await {self.call('execute', [statement])}).rowcount", False

    def get(self, chain: ast.expr, arguments: str, params: list[str]) -> tuple[str, bool]:
        """`transform_query._rewrite_get`: `await session.get(Model, key, options=[...])`."""
        spine = self.spine(chain)
        if not spine:
            raise _NoText
        query = spine[-1]
        assert isinstance(query.func, ast.Attribute)
        if query.func.attr != "query" or not query.args or isinstance(query.args[0], ast.Starred):
            raise _NoText
        name_start, end = self.method(query)
        model = self.unit.segment(query.args[0])
        if self.text[name_start + len("query") : end] != f"({model})":
            raise _NoText  # one argument, no parentheses, no blanks: its value is all `rewrite_query` keeps
        keys = arguments[1:-1]
        if not arguments.startswith("(") or not keys or keys != keys.strip() or "\n" in keys or keys.endswith(","):
            raise _NoText
        options: list[str] = []
        for call in spine[:-1]:
            assert isinstance(call.func, ast.Attribute)
            if call.func.attr != "options" or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
                raise _NoText
            name_start, end = self.method(call)
            values = [self.unit.segment(a) for a in call.args]
            if self.text[name_start + len("options") : end] != f"({', '.join(values)})" or not values:
                raise _NoText
            options = [*values, *options]
        options += self.spec.extra_options
        args = [model, keys]
        if options:
            args.append(f"options=[{', '.join(options)}]")
        return f"await {self.call('get', args)}", True
