"""Source spans of every LibCST node, as LibCST's `PositionProvider` computes them, at a fraction of its cost.

`PositionProvider` generates the module's code once while tracking line and column; it wraps every position in
`CodePosition` / `CodeRange` objects, splits every token with a regular expression and enters a generator-based
context manager around every node with a syntactic position. This module runs the same code generation with
the same bookkeeping (same start/end rules, same syntactic overrides) but keeps plain tuples
`(line, column, end line, end column)` — the `Span` the analysis puts on its edits — and takes the fast path for
the tokens without line breaks, which are nearly all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

from codemods.edits import Span

_NEWLINE = re.compile(r"\r\n?|\n")


@dataclass(slots=True)
class _SpanTrackingState(CodegenState):
    spans: dict[cst.CSTNode, Span] = field(default_factory=dict)
    extents: dict[cst.CSTNode, Span] = field(default_factory=dict)  # first to last character, children included
    line: int = 1  # 1-based
    column: int = 0  # 0-based
    starts: list[tuple[int, int]] = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.starts.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        start_line, start_column = self.starts.pop()
        self.extents[node] = (start_line, start_column, self.line, self.column)
        if node not in self.spans:  # a syntactic position recorded inside the node wins
            self.spans[node] = (start_line, start_column, self.line, self.column)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _SyntacticPosition:
        return _SyntacticPosition(self, node, start_node, end_node)


class _SyntacticPosition:
    """What `PositionProvidingCodegenState.record_syntactic_position` does, without a generator per node."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _SpanTrackingState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node
        self.start = (0, 0)

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        state = self.state
        start = state.spans[self.start_node][:2] if self.start_node is not None else self.start
        end = state.spans[self.end_node][2:] if self.end_node is not None else (state.line, state.column)
        state.spans[self.node] = (start[0], start[1], end[0], end[1])


def node_spans(module: cst.Module) -> dict[cst.CSTNode, Span]:
    """Every node of `module` -> its span (1-based lines, 0-based columns, end exclusive), as PositionProvider."""
    return node_spans_and_extents(module)[0]


def node_spans_and_extents(module: cst.Module) -> tuple[dict[cst.CSTNode, Span], dict[cst.CSTNode, Span]]:
    """`node_spans`, and every node's extent: PositionProvider gives some nodes a syntactic span narrower than
    their code (a parameter's is its name), the extent covers all of it, children included."""
    state = _SpanTrackingState(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return state.spans, state.extents
