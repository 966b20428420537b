"""`codemods.astwalk` walks `ast` trees as the stdlib does, in the same order, minus the leaves it skips
(contexts, operators, type ignores): the analysis' results depend on the order nodes are met in."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemods import astwalk

REPO = Path(__file__).resolve().parents[2]
LEAVES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop, ast.type_ignore)
TRICKY = """
import a.b as c
from . import d
@dec(x=1)
async def f(p, /, q: int = 2, *r, s, t=3, **u) -> "T":
    global g
    async with m() as (v, w), n:
        async for i in aiter():
            yield [j async for j in k if j], {**z, 1: -i}, lambda y=1: y ** 2
    match q:
        case {"k": [1, *rest]} | Point(x=0) as pt if pt:
            pass
    try:
        x = not a < b <= c
    except* ValueError as e:
        del x
    f"{a!r:>{w}}"; x[1:2, ::3] += 1  # type: ignore
class C(B, metaclass=M):
    x: int = (yield)
"""


def _trees() -> Iterator[ast.AST]:
    yield ast.parse(TRICKY)
    for folder in ("codemods", "target_backend", "fixtures/coloring"):
        for path in sorted((REPO / folder).rglob("*.py")):
            yield ast.parse(path.read_text(encoding="utf-8"))


def _old_own_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, LEAVES))
    return out


@pytest.mark.parametrize("which", ["tricky", "project files"])
def test_walks_match_the_stdlib(which: str) -> None:
    trees = [ast.parse(TRICKY)] if which == "tricky" else list(_trees())[1:]
    assert len(trees) > (0 if which == "tricky" else 100)
    for root in trees:
        assert astwalk.walk(root) == [node for node in ast.walk(root) if not isinstance(node, LEAVES)]
        for node in ast.walk(root):
            expected = [child for child in ast.iter_child_nodes(node) if not isinstance(child, LEAVES)]
            assert astwalk.child_nodes(node) == expected
        body = root.body  # type: ignore[attr-defined]
        assert astwalk.own_nodes(body) == _old_own_nodes(body)
        statements = [node for node in astwalk.statements(root) if isinstance(node, ast.stmt)]  # type: ignore[arg-type]
        assert sorted(map(id, statements)) == sorted(id(node) for node in ast.walk(root) if isinstance(node, ast.stmt))


def test_statements_spanning_lines_are_those_of_every_statement_that_span_one() -> None:
    """`statements(tree, lines)` keeps every statement (nested ones, decorators' lines included) spanning one of the
    lines, as filtering `statements` would, for random sets of lines over the project's own files."""
    rng = random.Random(2026)
    for root in _trees():
        assert isinstance(root, ast.Module)
        every = [node for node in astwalk.statements(root) if isinstance(node, ast.stmt)]
        last = max((node.end_lineno or node.lineno for node in every), default=1)
        for size in (0, 1, 3, 20):
            lines = sorted(rng.sample(range(1, last + 2), min(size, last + 1)))

            found = [node for node in astwalk.statements(root, lines) if isinstance(node, ast.stmt)]
            assert sorted(map(id, found)) == sorted(id(node) for node in every if _spans(node, lines))


def _spans(node: ast.stmt, lines: list[int]) -> bool:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return any(first <= line <= (node.end_lineno or node.lineno) for line in lines)


def test_binding_nodes_are_those_of_the_whole_walk() -> None:
    """`own_nodes_of` (as the local type inference calls it) skips the expressions spanning no line with `for`: the
    binding nodes it finds, in
    its order, are those of the whole walk of every function body (and module body) of the project's own files."""
    from codemods.local_bindings import _BINDING_NODES
    from codemods.source_lines import lines_holding

    texts = [TRICKY, "x = [a for a in b]\nif y:\n    z = {k: v for k, v in (\n    w)}\n"]
    for folder in ("codemods", "target_backend", "fixtures/coloring", "tests/engine"):
        texts += [path.read_text(encoding="utf-8") for path in sorted((REPO / folder).rglob("*.py"))]
    bodies = 0
    for text in texts:
        tree = ast.parse(text)
        for_lines = lines_holding(text, ("for",))
        for node in [tree, *ast.walk(tree)]:
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef):
                expected = [n for n in astwalk.own_nodes(node.body) if type(n) in _BINDING_NODES]
                assert astwalk.own_nodes_of(node.body, _BINDING_NODES, for_lines) == expected
                bodies += 1
    assert bodies > 1000


@pytest.mark.parametrize("target", ["x", "a, (b, *c)", "self.db", "d[k].e", "[f, g.h]", "i[j]"])
def test_names_in_a_target_are_those_of_the_stdlib_walk(target: str) -> None:
    node = ast.parse(f"{target} = value").body[0].targets[0]  # type: ignore[attr-defined]
    expected = [found for found in ast.walk(node) if isinstance(found, ast.Name)]
    assert [id(name) for name in astwalk.names_in(node)] == [id(name) for name in expected]
