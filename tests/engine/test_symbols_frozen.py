"""`collect_symbols` collects the same symbols as when they were frozen: a canonical dump of everything the symbol
tables hold (expressions with their positions, and which of them are the same node) for every file of
target_backend/ and fixtures/, compared by digest with `symbols_frozen.json`.

The digests were taken before the collector was made faster (statement lists walked by a walker of their own,
functions' qualnames and classes kept on a stack, parameters shared before they are built): the same symbols, in
the same order, sharing the same nodes. A file whose text has changed since is skipped (its digest is of other
text); after an intended change of what is collected, freeze again: `python -m tests.engine.test_symbols_frozen`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
from collections.abc import Iterator

import pytest

from codemods.symbols import ClassSymbols, FunctionSymbols, ModuleSymbols, SharedExpressions, collect_symbols
from tests.engine.trees import REPO, python_files

FROZEN = REPO / "tests" / "engine" / "symbols_frozen.json"
TREES = ("target_backend", "fixtures")

log = logging.getLogger(__name__)


class _Dump:
    """A canonical text of a module's symbols: each node as `ast.dump` with positions, or, met again, by the number
    of its first appearance (the same node kept twice, as `SharedExpressions` keeps it, dumps differently from two
    equal nodes)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._seen: dict[int, int] = {}
        self._held: list[object] = []  # keeps every dumped node alive: ids stay theirs

    def node(self, where: str, node: ast.AST | None) -> None:
        if node is None:
            self.lines.append(f"{where}: None")
            return
        number = self._seen.get(id(node))
        if number is not None:
            self.lines.append(f"{where}: #{number}")
            return
        self._seen[id(node)] = len(self._seen)
        self._held.append(node)
        self.lines.append(f"{where}: #{self._seen[id(node)]} {ast.dump(node, include_attributes=True)}")

    def text(self, where: str, value: object) -> None:
        self.lines.append(f"{where}: {value!r}")


def _function(dump: _Dump, func: FunctionSymbols, where: str) -> None:
    for name in ("qualname", "name", "module", "class_qualname", "is_async", "lineno", "is_generator"):
        dump.text(f"{where}.{name}", getattr(func, name))
    dump.text(f"{where}.nested_in_function", func.nested_in_function)
    dump.text(f"{where}.end_lineno", func.end_lineno)
    node = func.def_node
    dump.text(f"{where}.def_at", None if node is None else (node.lineno, node.col_offset, type(node).__name__))
    for index, decorator in enumerate(func.decorators):
        dump.node(f"{where}.decorators[{index}]", decorator)
    dump.text(f"{where}.params", len(func.params))
    for index, param in enumerate(func.params):
        dump.text(f"{where}.params[{index}].name", param.name)
        dump.node(f"{where}.params[{index}].annotation", param.annotation)
        dump.node(f"{where}.params[{index}].default", param.default)
    dump.node(f"{where}.returns", func.returns)
    for index, value in enumerate(func.return_values):
        dump.node(f"{where}.return_values[{index}]", value)
    for index, value in enumerate(func.yield_values):
        dump.node(f"{where}.yield_values[{index}]", value)


def _class(dump: _Dump, cls: ClassSymbols, where: str) -> None:
    for name in ("qualname", "name", "module"):
        dump.text(f"{where}.{name}", getattr(cls, name))
    for index, base in enumerate(cls.bases):
        dump.node(f"{where}.bases[{index}]", base)
    for index, decorator in enumerate(cls.decorators):
        dump.node(f"{where}.decorators[{index}]", decorator)
    dump.text(f"{where}.methods", [(name, func.qualname) for name, func in cls.methods.items()])
    for attr, annotation in cls.attr_annotations.items():
        dump.node(f"{where}.attr_annotations[{attr}]", annotation)
    for attr, values in cls.attr_values.items():
        for index, (method, value) in enumerate(values):
            dump.node(f"{where}.attr_values[{attr}][{index}] in {method}", value)


def dump_symbols(symbols: ModuleSymbols) -> str:
    dump = _Dump()
    for name in ("name", "path", "is_package", "imports", "star_imports", "from_imports", "uses_sqlalchemy"):
        dump.text(name, getattr(symbols, name))
    for name in ("lifespan_hooks", "websocket_clients", "streaming_clients", "reads_state"):
        dump.text(name, getattr(symbols, name))
    for qualname, cls in symbols.classes.items():
        _class(dump, cls, f"classes[{qualname}]")
    for qualname, func in symbols.functions.items():
        _function(dump, func, f"functions[{qualname}]")
    for kind, values in (("global_values", symbols.global_values), ("global_annotations", symbols.global_annotations)):
        for name, value in values.items():
            dump.node(f"{kind}[{name}]", value)
    for index, (qualname, callable_) in enumerate(symbols.run_sync_callables):
        dump.node(f"run_sync_callables[{index}] in {qualname!r}", callable_)
    for index, (called, listener) in enumerate(symbols.event_listen_calls):
        dump.node(f"event_listen_calls[{index}].called", called)
        dump.node(f"event_listen_calls[{index}].listener", listener)
    for attr, assigned in symbols.state_values.items():
        for index, (qualname, owner, value) in enumerate(assigned):
            dump.node(f"state_values[{attr}][{index}].owner in {qualname!r}", owner)
            dump.node(f"state_values[{attr}][{index}].value", value)
    return "\n".join(dump.lines)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def digests(path: str, text: str) -> str | None:
    """The digests of the text, of its symbols as the engine collects them (text, shared expressions) and as the walk
    of every node does (no text), in one string; None for a file that does not parse."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    engine = dump_symbols(collect_symbols(path, tree, text, SharedExpressions()))
    every_node = dump_symbols(collect_symbols(path, ast.parse(text)))
    return f"{_digest(text)} {_digest(engine)} {_digest(every_node)}"


def _files() -> Iterator[tuple[str, str]]:
    for tree in TREES:
        for path, text in python_files(REPO / tree).items():
            yield f"{tree}/{path}", text


@pytest.mark.parametrize("tree", TREES)
def test_symbols_as_frozen(tree: str) -> None:
    frozen: dict[str, str] = json.loads(FROZEN.read_text(encoding="utf-8"))
    compared, differing = 0, []
    for path, text in _files():
        expected = frozen.get(path)
        if not path.startswith(f"{tree}/") or expected is None or not expected.startswith(f"{_digest(text)} "):
            continue  # a file added or changed since the digests were frozen
        found = digests(path, text)
        assert found is not None
        compared += 1
        if found != expected:
            differing.append(path)
    assert compared > 0
    assert differing == []


def freeze() -> None:
    """Write the digests of every file as the collector collects them now."""
    found = {path: d for path, text in _files() if (d := digests(path, text)) is not None}
    FROZEN.write_text(json.dumps(found, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    log.info("%d files frozen in %s", len(found), FROZEN)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    freeze()


def test_a_functions_parameters_are_kept_before_its_decorators() -> None:
    """Of two expressions of the same text the first met is the one kept (`SharedExpressions`), and its position is
    the one the symbols hold: a function's parameters are met before its decorators, then its return annotation (the
    frozen digests, taken one file at a time, seldom see a decorator spelled as a parameter's default)."""
    text = "@cache\ndef f(a: cache = cache) -> cache:\n    return a\n"
    func = collect_symbols("m.py", ast.parse(text), text, SharedExpressions()).functions["m.f"]
    annotation = func.params[0].annotation
    assert annotation is not None
    assert (annotation.lineno, annotation.col_offset) == (2, 9)
    assert func.params[0].default is annotation
    assert func.decorators == [annotation]
    assert func.returns is annotation
