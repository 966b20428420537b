"""`codemods.cst_spans.node_spans` must give every node exactly the span LibCST's PositionProvider gives it:
the transformer matches the analysis' edit spans against these, so one differing column loses an edit.
Its extents must cover each node's code, children included: the transformer skips a node no edit starts in."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from codemods.cst_spans import node_spans, node_spans_and_extents

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("fixtures", "target_backend", "codemods") for p in (REPO / folder).rglob("*.py"))
TRICKY = [
    "x = (\n    1 +\n    2\n)\r\n",  # a line break inside parentheses, then a CRLF
    "def f(a, /, b=1, *c, d, **e):\n\tif a:\r\n\t\treturn [i async for i in b]\n",
    "@d\n# between\nclass C(B, metaclass=M):\n    '''doc\n    string'''\n    x: int = 1; y = 2  # tail\n",
    "s = f'{a!r:>{w}} \\\n{b}'\nwith (a as b, c):\n    pass\nmatch p:\n    case [1, *rest]:\n        pass\n",
    "",
]


def _position_provider(module: cst.Module) -> dict[cst.CSTNode, tuple[int, int, int, int]]:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {node: (r.start.line, r.start.column, r.end.line, r.end.column) for node, r in positions.items()}


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_layouts_get_positionprovider_spans(text: str) -> None:
    module = cst.parse_module(text)
    assert node_spans(module) == _position_provider(module)


def test_every_project_file_gets_positionprovider_spans() -> None:
    assert len(SOURCES) > 100
    differing = []
    for path in SOURCES:
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except cst.ParserSyntaxError:
            continue  # fixtures of unparsable input
        if node_spans(module) != _position_provider(module):
            differing.append(path.relative_to(REPO).as_posix())
    assert differing == []


class _Children(cst.CSTVisitor):
    def __init__(self) -> None:
        self.pairs: list[tuple[cst.CSTNode, cst.CSTNode]] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.pairs += [(node, child) for child in node.children]
        return True


@pytest.mark.parametrize("text", TRICKY[:-1])
def test_extents_cover_spans_and_children(text: str) -> None:
    module = cst.parse_module(text)
    spans, extents = node_spans_and_extents(module)
    for node, span in spans.items():
        extent = extents[node]
        assert extent[:2] <= span[:2] and span[2:] <= extent[2:], (type(node).__name__, span, extent)
    walker = _Children()
    module.visit(walker)
    for parent, child in walker.pairs:
        outer, inner = extents[parent], extents[child]
        assert outer[:2] <= inner[:2] and inner[2:] <= outer[2:], (type(parent).__name__, type(child).__name__)


def test_a_parameter_extent_holds_its_annotation() -> None:
    # the case extents exist for: PositionProvider's span of a parameter is its name alone
    spans, extents = node_spans_and_extents(cst.parse_module("def f(db: Session = Depends(get_db)):\n    pass\n"))
    parameter = next(node for node in spans if isinstance(node, cst.Param))
    assert parameter.annotation is not None
    assert spans[parameter][2:] < extents[parameter.annotation][2:] <= extents[parameter][2:]
