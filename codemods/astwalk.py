"""Fast child iteration over the stdlib `ast`, for the analysis's walks.

`ast.iter_child_nodes` runs two generators and an `isinstance` per field of every node; the analysis
walks each module several times, so that bookkeeping was most of its time. Here each node class gets,
once, the tuple of its fields that can hold child nodes, read from the ASDL signature `ast` puts in the
class docstring (`BinOp(expr left, operator op, expr right)`).

Left out on purpose, so the walks never see them: plain values (identifiers, strings, constants) and
the singleton leaves (`expr_context`, `operator`, `boolop`, `unaryop`, `cmpop`) and `type_ignore`.
Those leaves have no children, and no caller of these helpers acts on them, so skipping them changes
nothing but the time. Children come in the same order as from `ast.iter_child_nodes`.
"""

from __future__ import annotations

import ast
import bisect
import logging
import re
from collections.abc import Iterable, Sequence

logger = logging.getLogger(__name__)

# ASDL types whose values are no child worth visiting (see the module docstring)
_LEAF_TYPES = frozenset(
    {"identifier", "int", "string", "constant", "expr_context", "boolop", "operator", "unaryop", "cmpop", "type_ignore"}
)
_SIGNATURE = re.compile(r"^\w+\((.*)\)$", re.DOTALL)

# node class -> ((field, holds_a_list), ...): the fields that can hold child nodes
_CHILD_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _child_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """The child-holding fields of `cls`, from its ASDL signature; every field if the signature is unreadable."""
    fields: tuple[str, ...] = getattr(cls, "_fields", ())
    match = _SIGNATURE.match((cls.__doc__ or "").strip())
    declared: list[tuple[str, str]] = []
    if match and match.group(1).strip():
        for part in match.group(1).split(","):
            kind, _, name = part.strip().rpartition(" ")
            declared.append((kind, name))
    if [name for _, name in declared] != list(fields):
        # not the signature we expect (a future node class?): visit every field, the general way
        logger.debug("no ASDL signature for %s: walking all its fields", cls.__name__)
        out = tuple((name, False) for name in fields)
        _CHILD_FIELDS[cls] = out
        return out
    out = tuple((name, kind.endswith("*")) for kind, name in declared if kind.rstrip("*?") not in _LEAF_TYPES)
    _CHILD_FIELDS[cls] = out
    return out


def child_nodes(node: ast.AST) -> list[ast.AST]:
    """The node's children, in `ast.iter_child_nodes` order, without the leaves named in the module docstring."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        fields = _child_fields(type(node))
    out: list[ast.AST] = []
    for name, is_list in fields:
        value = getattr(node, name, None)
        if is_list:
            if value:
                # `Dict.keys` and `arguments.kw_defaults` hold None (`**x`, a keyword-only arg without default)
                out.extend([item for item in value if item is not None])
        elif value is not None:
            if isinstance(value, ast.AST):
                out.append(value)
            elif isinstance(value, list):  # a field of a class without readable signature
                out.extend(item for item in value if isinstance(item, ast.AST))
    return out


def walk(root: ast.AST) -> list[ast.AST]:
    """`ast.walk(root)` (breadth first, the same order) without the leaves named in the module docstring."""
    out: list[ast.AST] = [root]
    index = 0
    while index < len(out):
        out.extend(child_nodes(out[index]))
        index += 1
    return out


def names_in(node: ast.AST) -> list[ast.Name]:
    """The `ast.Name` nodes of `ast.walk(node)`, in its order: an assignment's target is most often one name,
    returned as it is, without the two generators and the `iter_fields` per node of `ast.walk` (0.10 of the 1.86 s
    `collect_symbols` took under cProfile on the generated repository went there)."""
    if type(node) is ast.Name:
        return [node]
    return [found for found in walk(node) if isinstance(found, ast.Name)]


def walk_lines(root: ast.AST, lines: Sequence[int]) -> list[ast.AST]:
    """`walk(root)` (same order) without the statements, and all under them, that span none of `lines`.

    `lines`: sorted line numbers, those where some word occurs. Every node whose source holds the word lies
    within a statement spanning one of its lines (decorators included: they come before a `def`'s own line),
    so the walk still meets every such node, and only skips whole statements that cannot hold one."""
    out: list[ast.AST] = [root]
    index = 0
    while index < len(out):
        for child in child_nodes(out[index]):
            if isinstance(child, ast.stmt) and not _spans_one_of(child, lines):
                continue
            out.append(child)
        index += 1
    return out


def _spans_one_of(node: ast.stmt | ast.expr, lines: Sequence[int]) -> bool:
    first = node.lineno
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = min(first, *(decorator.lineno for decorator in decorators))
    index = bisect.bisect_left(lines, first)
    return index < len(lines) and lines[index] <= (node.end_lineno or node.lineno)


_STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(tree: ast.Module, lines: Sequence[int] | None = None) -> list[ast.AST]:
    """Every statement of the module, nested ones included, without descending into expressions (to find the
    imports, say: a tenth of the nodes `ast.walk` visits).

    With `lines` (sorted line numbers), only the statements spanning one of them, in no set order: a compound
    statement that spans none of them holds none that does. (Handlers and match cases count as spanning.)"""
    found: list[ast.AST] = []
    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if lines is not None and isinstance(node, ast.stmt) and not _spans_one_of(node, lines):
            continue
        found.append(node)
        for field in _STATEMENT_LISTS:
            children = getattr(node, field, None)
            if children:
                stack.extend(children)
    return found


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def own_nodes_of(roots: Iterable[ast.AST], kinds: frozenset[type], lines: Sequence[int]) -> list[ast.AST]:
    """The nodes of `own_nodes(roots)` whose class is one of `kinds`, in the same order, when every such node that
    is (or lies in) an expression spans one of `lines` (sorted line numbers: those holding a word it is written
    with). An expression that spans none of them is skipped whole; skipping a subtree leaves the order of the
    other nodes as it was. Statements are all walked."""
    out: list[ast.AST] = []
    stack = list(roots)
    count = len(lines)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.expr):
            # `_spans_one_of` inlined: an expression has no decorators
            index = bisect.bisect_left(lines, node.lineno)
            if not (index < count and lines[index] <= (node.end_lineno or node.lineno)):
                continue
        if type(node) in kinds:
            out.append(node)
        if not isinstance(node, _SCOPES):
            stack.extend(child_nodes(node))
    return out


def own_nodes(roots: Iterable[ast.AST]) -> list[ast.AST]:
    """`roots` and everything under them, not descending into nested functions, classes or lambdas.

    The order is the one of the walks this replaces (a stack: the last child first, depth first), which
    callers rely on: it decides, for instance, which of two assignments to a variable is seen first.
    """
    out: list[ast.AST] = []
    stack = list(roots)
    pop, push, extend = stack.pop, out.append, stack.extend
    while stack:
        node = pop()
        push(node)
        if not isinstance(node, _SCOPES):
            extend(child_nodes(node))
    return out


def dotted_name(node: ast.expr) -> str | None:
    """`a.b.c` -> "a.b.c"; anything else -> None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
