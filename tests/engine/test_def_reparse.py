"""A def statement let go is found again by parsing its own lines (`codemods.def_parse`): the same nodes, at the same
lines and columns, as in a parse of the whole module; the whole module is parsed when that is in doubt."""

from __future__ import annotations

import ast
import pickle

import pytest

from codemods import project_analysis
from codemods.def_parse import def_alone
from codemods.tree_budget import TreeBudget

DefNode = ast.FunctionDef | ast.AsyncFunctionDef

MODULES = {
    "top level": "import json\n\n\ndef dumps(value):\n    return json.dumps(value)\n\n\ndef last(): return 1\n",
    "first line": "def first(x):\n    return x\n",
    "methods": (
        "class Codec:\n    def encode(self, value):\n        return str(value)\n\n"
        "    class Inner:\n        def deep(self):\n            return 1\n"
    ),
    "nested": (
        "def outer(x):\n    def inner(y):\n        def innermost():\n            return y\n"
        "        return innermost\n    class Local:\n        def method(self):\n            return x\n"
        "    return inner(x)\n"
    ),
    "decorated": (
        "import functools\n\n\n@functools.lru_cache(\n    maxsize=None,\n)\n# a comment between decorators\n"
        "@staticmethod\ndef cached(x):\n    return x\n\n\nclass Routes:\n    @property\n\n    @other.deco\n"
        "    def name(self):\n        return 'n'\n"
    ),
    "async": "async def fetch(db):\n    async with db() as s:\n        return await s.get(1)\n\n\nclass A:\n"
    "    async def run(self):\n        async for x in self:\n            yield x\n",
    "strings and continuations": (
        'def doc():\n    """A docstring\n\nwith a blank line and   \n  odd indentation."""\n'
        "    total = 1 + \\\n2\n    items = [\n1,\n        2]\n    return f'''{total}\n{items}'''\n\n\n"
        "if True:\n    def in_if(a,\n          b):  # trailing comment\n        return (a\n+ b)\n"
    ),
    "tabs": "class A:\n\tdef f(self):\n\t\tif self:\n\t\t\treturn 1\n\t\treturn 2\n\n\tdef g(self): return 'x'\n",
    "non-ASCII": "# café\nclass Ünïcode:\n    def naïve(self, é='ü'):\n        return é + '€'  # ✓\n",
    "CRLF line ends": "class A:\r\n    def f(self):\r\n        return 1\r\n\r\ndef g():\r\n    return 2\r\n",
    "CR and mixed line ends": (
        "class A:\r    def f(self):\r        return 1\r\r"
        "class B:\r\n    @d\r    def g(self):\n        return '''a\rb'''\r\n"
    ),
    # `; y = 2` is in the body: no statement shares a line with a def (`x = 1; def f(): ...` does not parse)
    "simple statements on its line": "def f(): pass; y = 2\nclass A:\n    def g(self): return 1; z = 3\n",
    "form feed elsewhere": "\x0c\ndef f():\n    return 1\n\x0c\n\nclass A:\n    def g(self):\n        return '\x0b'\n",
}


def defs(text: str) -> list[DefNode]:
    return [node for node in ast.walk(ast.parse(text)) if isinstance(node, DefNode)]


def place(node: DefNode) -> tuple[tuple[int, int], tuple[int, int]]:
    """(line, column) of its `def`, (its first line, its last), as `FunctionSymbols` keeps them."""
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    return (node.lineno, node.col_offset), (first, node.end_lineno or node.lineno)


def dump(node: ast.AST) -> str:
    return ast.dump(node, include_attributes=True)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_a_def_parsed_alone_is_the_def_of_the_whole_parse(name: str) -> None:
    text = MODULES[name]
    found = defs(text)
    assert found
    for node in found:
        alone = def_alone(text, "app/m.py", *place(node))
        assert alone is not None, (name, node.name)
        assert dump(alone) == dump(node), (name, node.name)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("def f():\n    return 1\x0c\n", "f"),  # a form feed in its lines
        ("class A:\n\x0c    def f(self):\n        return 1\n", "f"),
        ("x = 1  # a comment that ends with a backslash \\\ndef f():\n    return 1\n", "f"),
        ("@(\n    deco\n)\ndef f():\n    return 1\n", "f"),  # the decorator's expression is not on the `@` line
        ("@\\\ndeco\ndef f():\n    return 1\n", "f"),
    ],
)
def test_a_def_whose_own_lines_are_in_doubt_is_not_parsed_alone(text: str, name: str) -> None:
    (node,) = [node for node in defs(text) if node.name == name]
    assert def_alone(text, "app/m.py", *place(node)) is None


def test_lines_that_are_not_the_def_it_was_are_not_taken_for_it() -> None:
    text = "x = 1\ndef f():\n    a = 1\n    return a\ny = 2\n"
    assert def_alone(text, "app/m.py", (2, 0), (2, 5)) is None  # the next statement with it
    assert def_alone(text, "app/m.py", (2, 0), (1, 4)) is None  # the statement before it
    assert def_alone(text, "app/m.py", (2, 4), (2, 4)) is None  # not at that column
    assert def_alone(text, "app/m.py", (2, 0), (2, 9)) is None  # beyond the text
    assert def_alone("def f(\n", "app/m.py", (1, 0), (1, 1)) is None  # it does not parse


def released(text: str) -> project_analysis._Parsed:
    item = project_analysis._parse("app/m.py", text, None)
    assert not isinstance(item, str)
    item.release_tree()
    return item


def test_a_module_let_go_finds_its_defs_without_parsing_it_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project_analysis, "_trees", TreeBudget(None))
    for name, text in MODULES.items():
        expected = {dump(node) for node in defs(text)}
        item = released(text)
        found = {dump(func.node) for func in item.symbols.functions.values() if func.node is not None}
        assert found == expected, name
        assert item._tree is None, name  # not parsed whole
        assert item.holds_tree and project_analysis._trees.size == TreeBudget.cost(item), name  # counted as the tree
        item.release_tree()  # the defs parsed alone go as the tree would
        assert project_analysis._trees.size == 0
        assert all(func.def_node is None for func in item.symbols.functions.values()), name


def test_a_def_in_doubt_is_found_in_the_whole_module_parsed_again() -> None:
    text = "@(\n    deco\n)\ndef f():\n    return 1\n\n\ndef g():\n    return 1\n"
    item = released(text)
    nodes = {func.name: func.node for func in item.symbols.functions.values()}
    assert item._tree is not None  # parsed whole for f, in doubt
    assert {name: dump(node) for name, node in nodes.items() if node} == {n.name: dump(n) for n in defs(text)}


def test_defs_let_go_in_the_parse_helper_are_parsed_alone_here() -> None:
    """What the helper sends crosses a pipe pickled: where each def starts, its first line included, goes with it."""
    text = MODULES["decorated"] + MODULES["nested"]
    item = project_analysis._parse("app/m.py", text, None)
    assert not isinstance(item, str)
    symbols = pickle.loads(pickle.dumps(project_analysis._portable(item)))
    here = project_analysis._parsed_elsewhere("app/m.py", text, symbols)
    found = {dump(func.node) for func in here.symbols.functions.values() if func.node is not None}
    assert found == {dump(node) for node in defs(text)}
    assert here._tree is None


def test_symbols_that_outlive_their_module_parse_a_def_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed_alone: list[DefNode | None] = []

    def recorded(*args: object) -> DefNode | None:
        parsed_alone.append(def_alone(*args))  # type: ignore[arg-type]
        return parsed_alone[-1]

    monkeypatch.setattr(project_analysis, "def_alone", recorded)
    text = MODULES["methods"]
    item = released(text)
    functions = item.symbols.functions
    del item  # the finder refers to it weakly: it is freed, and the finder parses on its own
    assert {dump(func.node) for func in functions.values() if func.node is not None} == {dump(n) for n in defs(text)}
    assert len(parsed_alone) == len(functions) and all(parsed_alone)
