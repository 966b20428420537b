"""`codemods.cst_spans.node_spans` must give every node exactly the span LibCST's PositionProvider gives it:
the transformer matches the analysis' edit spans against these, so one differing column loses an edit."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from codemods.cst_spans import node_spans

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    p for folder in ("fixtures", "target_backend", "codemods") for p in (REPO / folder).rglob("*.py")
)
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
