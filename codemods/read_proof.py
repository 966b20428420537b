"""A proof, from a module's `ast` tree, that names are read as module-level names: `symtable`'s answer without it.

`query_imports.module_level_reads` asks the stdlib `symtable`, which parses the whole module again (as costly
as the `ast.parse` the caller already made). Its usual answer is "every candidate is read at module level": the
rewritten module calls `select(...)` in a function that binds no `select`. That answer is proved here from the
tree, looking only where the names occur: each occurrence of a name as a word in the text is located in the tree
(by positions, a descent from the root) and classified as a read, a binding, a `global` or `nonlocal`
declaration, or nothing (an attribute, a keyword argument, a string, a comment), with the scopes that hold it.

A name is proved read at module level by one read that `symtable` resolves to the module: at top level, or where
neither its scope nor an enclosing function scope binds it (class scopes do not enclose their methods; a
`global` declaration makes it the module's). Every binding of the name in those scopes has an occurrence too,
so none is missed. The proof is one-sided: it never says a name is *not* read (then `symtable` decides), and
anything it does not model exactly (a `match` statement, a walrus target, f-strings, non-ASCII text, an
occurrence it cannot place, a Python whose `symtable` scopes differ) makes it give up. A module `symtable`
rejects (`nonlocal` at top level...) gets every candidate either way, so a proof there changes nothing.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field

# symtable's scopes as modelled here (3.12 inlines comprehensions, 3.12+ adds type parameter scopes)
_MODELLED_PYTHON = sys.version_info[:2] == (3, 11)

_FUNCTION_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


class _GiveUp(Exception):
    """An occurrence this proof does not model exactly: `symtable` decides."""


@dataclass(slots=True)
class _Facts:
    """What the occurrences of one name looked at so far say, by scope node (`None`: the module)."""

    bound: set[int] = field(default_factory=set)  # ids of the scope nodes that bind it
    declared: set[int] = field(default_factory=set)  # ids of the scope nodes with `global` or `nonlocal` for it
    global_in: set[int] = field(default_factory=set)  # ids of the scope nodes with `global` for it


_Chain = tuple[ast.AST | None, ...]  # the scopes holding an occurrence: the module (None) first


def all_read_at_module_level(code: str, tree: ast.Module, names: set[str]) -> bool:
    """True when each of `names` is proved read as the module-level name in `code` (whose tree is `tree`), as
    `symtable` would resolve it; False when not proved (not a claim that some name is not read)."""
    if not _MODELLED_PYTHON or not names or not code.isascii() or "\r" in code:
        return False
    lines = code.split("\n")
    # right after a dot, a name is an attribute or part of a module's dotted name: never a read or a binding
    words = re.compile(r"(?<![\w.])(" + "|".join(sorted(map(re.escape, names))) + r")\b")
    occurrences: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for number, line in enumerate(lines, 1):
        if any(name in line for name in names):
            for match in words.finditer(line):
                occurrences[match.group(1)].append((number, match.start()))
    try:
        return all(_proved(tree, lines, name, found) for name, found in occurrences.items())
    except (_GiveUp, RecursionError):
        return False


def _proved(tree: ast.Module, lines: list[str], name: str, occurrences: list[tuple[int, int]]) -> bool:
    """One of the name's reads resolves to the module-level name (symtable's analysis of free names).

    A read in a function needs the bindings of the scopes that decide it (its own, the enclosing functions'):
    each lies in the outermost of those scopes, so only the occurrences there are looked at."""
    facts = _Facts()
    seen: dict[int, tuple[bool, _Chain]] = {}  # occurrence index -> (a read?, its scopes), once classified

    def classified(index: int) -> tuple[bool, _Chain]:
        known = seen.get(index)
        if known is None:
            number, column = occurrences[index]
            known = seen[index] = _classify(tree, lines[number - 1], number, column, name, facts)
        return known

    for index in range(len(occurrences)):
        is_read, chain = classified(index)
        if not is_read:
            continue
        deciding = _deciding_scopes(chain)
        if not deciding:
            return True  # read at top level
        first, last = _extent(deciding[0])
        for other in range(len(occurrences)):
            if first <= occurrences[other] <= last:
                classified(other)
        if _resolves_to_module(chain, facts):
            return True
    return False


def _deciding_scopes(chain: _Chain) -> list[ast.AST]:
    """The scopes whose bindings decide a read's resolution, outermost first: its own, the enclosing functions."""
    *enclosing, innermost = chain
    if innermost is None:
        return []
    return [scope for scope in enclosing if scope is not None and not isinstance(scope, ast.ClassDef)] + [innermost]


def _extent(node: ast.AST) -> tuple[tuple[int, int], tuple[int, int]]:
    """First and last positions of a scope node, its decorators included."""
    start = (node.lineno, node.col_offset)  # type: ignore[attr-defined]
    for decorator in getattr(node, "decorator_list", ()):
        start = min(start, (decorator.lineno, decorator.col_offset))
    return start, (node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


def _resolves_to_module(chain: tuple[ast.AST | None, ...], facts: _Facts) -> bool:
    innermost = chain[-1]
    if innermost is None:
        return True  # read at top level
    if id(innermost) in facts.global_in:
        return True
    if id(innermost) in facts.bound or id(innermost) in facts.declared:
        return False  # local, or free (nonlocal)
    for scope in reversed(chain[1:-1]):
        if isinstance(scope, ast.ClassDef):
            continue  # a class body does not enclose the scopes in it
        if id(scope) in facts.global_in:
            return True  # a function's `global` takes the name out of those its nested scopes see bound
        if id(scope) in facts.bound or id(scope) in facts.declared:
            return False
    return True


def _classify(tree: ast.Module, line: str, number: int, column: int, name: str, facts: _Facts) -> tuple[bool, _Chain]:
    """Whether the occurrence of `name` at (number, column) is a read that may be the module-level name, and the
    scopes holding it; a binding or declaration it is goes to `facts`."""
    node, chain, in_annotation = _locate(tree, number, column, len(name))
    scope = chain[-1]
    if isinstance(node, ast.Name):
        if node.id != name or node.col_offset != column or node.lineno != number:
            raise _GiveUp("a name at an unexpected position")
        if isinstance(node.ctx, ast.Load):
            # annotations: symtable's handling varies (`from __future__ import annotations`); not a proof
            return not in_annotation, chain
        facts.bound.add(id(scope))
        return False, chain
    if isinstance(node, ast.arg):
        if node.arg == name:
            facts.bound.add(id(scope))
            return False, chain
    elif isinstance(node, _DEFINITIONS):
        if node.name == name:
            facts.bound.add(id(scope))
            return False, chain
    elif isinstance(node, ast.alias):
        if (node.asname or node.name.partition(".")[0]) == name:
            facts.bound.add(id(scope))
            return False, chain
        if name in (node.asname, *node.name.split(".")):
            return False, chain  # `import a.func`, `import func as f`: binds another name
    elif isinstance(node, ast.ExceptHandler):
        if node.name == name:
            facts.bound.add(id(scope))
            return False, chain
    elif isinstance(node, ast.Global | ast.Nonlocal):
        if name in node.names:
            facts.declared.add(id(scope))
            if isinstance(node, ast.Global):
                facts.global_in.add(id(scope))
            return False, chain
    elif isinstance(node, ast.ImportFrom):
        if name in (node.module or "").split("."):
            return False, chain  # `from func import x`
    elif isinstance(node, ast.Attribute):
        if node.attr == name and re.search(r"\.\s*$", line[:column]):
            return False, chain  # `.func`
    elif isinstance(node, ast.keyword):
        if node.arg == name:
            return False, chain  # `f(func=...)`
    elif isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return False, chain  # in a string
    if "#" in line[:column]:
        return False, chain  # in a comment (a `#` in a string before it: the descent would have found the node at it)
    raise _GiveUp(f"line {number}: an occurrence of {name} in a {type(node).__name__}")


def _locate(tree: ast.Module, number: int, column: int, width: int) -> tuple[ast.AST, _Chain, bool]:
    """The innermost node holding the span, the scopes that hold it (the module first, as None; a def's name in
    its enclosing scope, its body in its own), and whether it lies in an annotation."""
    position, end = (number, column), (number, column + width)
    chain: list[ast.AST | None] = [None]
    in_annotation = False
    node: ast.AST = tree
    while True:
        found = _child_holding(node, position, end)
        if found is None:
            return node, tuple(chain), in_annotation
        path, child = found
        if isinstance(child, ast.JoinedStr | ast.Match | ast.NamedExpr):
            raise _GiveUp(f"a {type(child).__name__}")
        scope = _entered_scope(node, path, child)
        if scope is not None:
            chain.append(scope)
        if (isinstance(node, ast.AnnAssign) and path[0] == "annotation") or (
            path[0] in ("annotation", "returns") and isinstance(node, ast.arg | ast.FunctionDef | ast.AsyncFunctionDef)
        ):
            in_annotation = True
        if isinstance(node, ast.AnnAssign) and path[0] == "target" and not node.simple:
            raise _GiveUp("a parenthesised annotated target")
        node = child


def _entered_scope(parent: ast.AST, path: tuple[str | int, ...], child: ast.AST) -> ast.AST | None:
    """The scope node entered by going from `parent` to `child` through `path` (fields and indexes), if any."""
    head = path[0]
    if isinstance(parent, _FUNCTION_SCOPES):
        if head == "body":
            return parent
        if head == "args" and isinstance(child, ast.arg) and path[1] != "defaults" and path[1] != "kw_defaults":
            return parent  # a parameter binds in the function; its annotation is located from the arg
        return None
    if isinstance(parent, ast.ClassDef):
        return parent if head == "body" else None
    if isinstance(parent, _COMPREHENSIONS):
        if head == "generators" and path[1] == 0 and path[2] == "iter":
            return None  # the first iterable is evaluated in the enclosing scope
        return parent
    return None


def _child_holding(
    node: ast.AST, position: tuple[int, int], end: tuple[int, int]
) -> tuple[tuple[str | int, ...], ast.AST] | None:
    """The positioned child (through positionless ones: arguments, comprehension, withitem...) holding the span,
    with its path of fields and indexes from `node`."""
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, ast.AST):
                    found = _holding(item, (name, index), position, end)
                    if found is not None:
                        return found
        elif isinstance(value, ast.AST):
            found = _holding(value, (name,), position, end)
            if found is not None:
                return found
    return None


def _holding(
    item: ast.AST, path: tuple[str | int, ...], position: tuple[int, int], end: tuple[int, int]
) -> tuple[tuple[str | int, ...], ast.AST] | None:
    lineno = getattr(item, "lineno", None)
    if lineno is None:
        if isinstance(item, ast.expr_context | ast.operator | ast.unaryop | ast.cmpop | ast.boolop):
            return None
        found = _child_holding(item, position, end)
        return None if found is None else ((*path, *found[0]), found[1])
    column = getattr(item, "col_offset", None)
    if column is None:
        raise _GiveUp(f"a {type(item).__name__} without a column")
    start = (lineno, column)
    decorators = getattr(item, "decorator_list", None)
    if decorators:
        start = min(start, *((d.lineno, d.col_offset) for d in decorators))
    stop = (item.end_lineno, item.end_col_offset)  # type: ignore[attr-defined]
    if start <= position and end <= stop:
        return path, item
    return None
