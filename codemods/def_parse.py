"""A def statement found again by parsing its own lines, not its whole module.

A module whose tree was let go (see `tree_budget`), or parsed by the parse helper, holds no def statements: one
asked for (the facts of a helper another module calls) was found in a parse of the whole module. On the generated
2,131-file repository that was ~200 whole-module parses per process and per analysis (~0.2 s of CPU each time),
mostly of app/utils/* modules whose one or two called helpers are a fraction of their text; now ~140 defs per
process are parsed alone (~0.02 s), and only the modules the process analyses anyway are parsed whole.

The def's own lines parse to the same nodes as in the whole module's parse when they are parsed at the same lines
and columns: the text parsed is blank lines up to the def, an `if 1:` opener on the line before an indented def,
then the def's lines unchanged (its first decorator's to its last). Nothing before a statement's first line
changes how it parses but a backslash continuation (`ast.parse` applies no future import; the indentation of the
enclosing blocks only has to be less, as the opener's is; no statement shares a line with a def: `x = 1; def f():`
does not parse, and in `def f(): pass; y = 2` the `y = 2` is f's). The result is checked: one statement, the def,
where it was, ending where it did; on any doubt (a form feed, a continuation before it, a decorator's `@` on a line
before its expression, a syntax error) the caller parses the whole module.
"""

from __future__ import annotations

import ast

from codemods.source_lines import source_lines

DefNode = ast.FunctionDef | ast.AsyncFunctionDef

# Indented lines need a block to belong to: this opener, on the line before the def's first (line 1 is never
# indented in a module that parsed, so an indented def starts on line 2 or later).
_OPENER = "if 1:\n"


def def_alone(text: str, path: str, start: tuple[int, int], lines: tuple[int, int]) -> DefNode | None:
    """The def statement at `start` (line, column), whose lines are `lines` (first decorator's, last), parsed from
    those lines alone with every position as in the whole `text`; None when that is in doubt (parse it whole)."""
    first, last = lines
    lineno, column = start
    if not 1 <= first <= lineno <= last or (column > 0 and first < 2):
        return None
    all_lines = source_lines(text, keepends=True)
    if last > len(all_lines) or (first > 1 and all_lines[first - 2].rstrip("\r\n").endswith("\\")):
        return None  # a backslash on the line before may join it to the def's first line
    own = "".join(all_lines[first - 1 : last])
    if "\f" in own:  # a form feed resets the tokenizer's column count: the indentation would be in doubt
        return None
    head = "\n" * (first - 1) if column == 0 else "\n" * (first - 2) + _OPENER
    try:
        module = ast.parse(head + own, filename=path)
    except (SyntaxError, ValueError):  # a text that parsed whole (its lines may not, alone)
        return None
    return _the_def(module, start, last)


def _the_def(module: ast.Module, start: tuple[int, int], last: int) -> DefNode | None:
    """The one statement parsed, if it is the def expected: where it started, and ending on its last line (lines
    that are not the def's alone, a statement before or after it, make more than one)."""
    body = module.body
    if start[1] > 0:
        if len(body) != 1 or not isinstance(body[0], ast.If) or body[0].orelse:
            return None
        body = body[0].body
    if len(body) != 1:
        return None
    node = body[0]
    if not isinstance(node, DefNode) or (node.lineno, node.col_offset) != start or node.end_lineno != last:
        return None
    return node
