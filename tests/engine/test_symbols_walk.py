"""Pass 1's statement walk (`collect_symbols` given the module's text) collects what the walk of every node does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods import returned_entities as RE
from codemods import symbols
from codemods.symbols import ModuleSymbols, SharedExpressions, collect_symbols
from tests.engine.trees import REPO, generated_repo, python_files

# yields where a statement walk would not see them unless it walks that statement whole
ODD_YIELDS = """
import contextlib


def deco(f):
    return f


def gen_in_decorator():
    @deco((yield 1))
    def inner():
        return 2

    return inner


def gen_in_default():
    def inner(x=(yield)):
        return x

    return inner


def gen_in_header(items):
    for item in (yield items):
        pass
    while (yield):
        break
    if (yield 3): pass
    with contextlib.nullcontext((yield)):
        pass


def gen_in_handler():
    try:
        pass
    except (yield):
        pass


def gen_in_match(value):
    match value:
        case 1 if (yield):
            pass


def gen_in_lambda():
    return lambda: (yield)


def gen_in_call(f):
    f(
        1,
        (yield 2),
    )


def gen_in_comprehension_target():
    return [x for x in (yield)]


class Holder:
    def __init__(self, db):
        self.db = db
        self.value = yield db

    def plain(self):
        return self.db
"""


def _order(found: ModuleSymbols) -> list[list[str]]:
    keys = [list(found.imports), list(found.classes), list(found.functions), list(found.global_values)]
    for cls in found.classes.values():
        keys += [list(cls.methods), list(cls.attr_annotations), list(cls.attr_values)]
    return keys


def _comparable(found: ModuleSymbols) -> ModuleSymbols:
    """A returned call is kept as a call of its callee, a node of its own (see `symbols._callee_only`): compared by
    its callee, the tree's own node."""
    for func in found.functions.values():
        func.return_values = [_comparable_value(value) for value in func.return_values]
    for name, value in found.global_values.items():
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Call):  # `a, b = init()`: built anew
            found.global_values[name] = ast.unparse(value)  # type: ignore[assignment]
    return found


def _comparable_value(value: ast.expr) -> object:
    """A kept query form, a local's constructor, a nested function (`returned_entities`) or a returned tuple's
    elements (`symbols._collect_returns`) is built anew: compared by its text."""
    if (
        isinstance(value, ast.Tuple)
        or RE.entity_form(value) is not None
        or RE.is_local_object(value)
        or RE.is_none_returned(value)
        or RE.nested_function_returned(value) is not None
    ):
        return ast.unparse(value)
    return getattr(value, "func", value)


def _same_symbols(path: str, text: str) -> None:
    tree = ast.parse(text)
    every_node = _comparable(collect_symbols(path, tree))
    statements = _comparable(collect_symbols(path, tree, text))
    # the symbols hold the tree's own nodes: equal means the very same nodes, in the same order
    assert statements == every_node, path
    assert _order(statements) == _order(every_node), path


@pytest.mark.parametrize("tree", ["target_backend", "fixtures", "codemods", "tests"])
def test_project_trees(tree: str) -> None:
    files = python_files(REPO / tree)
    assert files
    for path, text in files.items():
        try:
            ast.parse(text)
        except SyntaxError:
            continue  # fixtures of unparsable input
        _same_symbols(path, text)


def test_generated_repo(tmp_path: Path) -> None:
    dest = generated_repo(tmp_path / "generated", domains=6)
    for path, text in python_files(dest).items():
        _same_symbols(path, text)


def test_yields_in_odd_places() -> None:
    _same_symbols("odd.py", ODD_YIELDS)
    found = collect_symbols("odd.py", ast.parse(ODD_YIELDS), ODD_YIELDS)
    generators = {q.rsplit(".", 1)[1] for q, f in found.functions.items() if f.is_generator}
    # (a yield in a nested def's decorator or default is counted to the nested def, by both walks)
    assert generators - {"inner"} == {
        "gen_in_header",
        "gen_in_handler",
        "gen_in_match",
        "gen_in_call",
        "gen_in_comprehension_target",
        "__init__",
    }


@pytest.mark.parametrize(
    "call",
    ["app.add_event_handler('startup', f)", "FastAPI(lifespan=f)", "client.websocket_connect('/ws')", "c.stream()"],
)
def test_modules_with_calls_that_matter_are_walked_whole(call: str) -> None:
    text = f"def f():\n    return 1\n\n\nx = {call}\n"
    _same_symbols("calls.py", text)
    assert collect_symbols("calls.py", ast.parse(text), text) != ModuleSymbols("calls", "calls.py", False)


def test_a_plain_module_is_walked_by_statements(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "import os\n\n\ndef f(a: int = 1) -> int:\n    return os.getpid() + a\n"
    visited: list[ast.AST] = []
    real = symbols.child_nodes

    def counting(node: ast.AST) -> list[ast.AST]:
        visited.append(node)
        return real(node)

    monkeypatch.setattr(symbols, "child_nodes", counting)
    collect_symbols("plain.py", ast.parse(text), text)
    assert visited == []  # no expression visited
    collect_symbols("plain.py", ast.parse(text))
    assert visited  # the walk of every node


def test_yields_below_yield_free_headers() -> None:
    """The statement walk stops looking for yields below a def or class whose lines hold none (see
    `_YieldLines.within`): one in a later nested def's decorator (counted to the nested def, as in
    `test_yields_in_odd_places`), or in a function's body after other statements, is still met."""
    text = (
        "def deco(f):\n    return f\n\n\n"
        "class Outer:\n    x = 1\n\n"
        "    def method(self):\n        y = 2\n\n"
        "        @deco((yield 1))\n        def inner():\n            return y\n\n        return inner\n\n"
        "    def plain(self):\n        return self.x\n\n\n"
        "def gen():\n    first = 1\n    yield first\n"
    )
    _same_symbols("headers.py", text)
    found = collect_symbols("headers.py", ast.parse(text), text)
    assert [q for q, f in found.functions.items() if f.is_generator] == ["headers.Outer.method.inner", "headers.gen"]


@pytest.mark.parametrize("word", ["state", "\uff53\uff54\uff41\uff54\uff45"])  # fullwidth: NFKC makes it `state`
def test_state_written_in_any_spelling_of_the_word(word: str) -> None:
    """The search for `request.state.db = ...` is skipped in a text without the word `state` only when the text is
    ASCII: the fullwidth spelling is the same identifier."""
    text = f"def dependency(request):\n    request.{word}.db = make()\n    return request.{word}.db\n"
    found = collect_symbols("deps.py", ast.parse(text), text, SharedExpressions())
    assert list(found.state_values) == ["db"]
    assert ast.unparse(found.functions["deps.dependency"].return_values[0]) == "request.state.db"
