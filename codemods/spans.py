"""Source spans in characters, from `ast` nodes (whose columns are UTF-8 byte offsets)."""

from __future__ import annotations

import ast

from codemods.edits import Span
from codemods.source_lines import lines_holding, source_lines


class SpanMaker:
    """Spans of the nodes of one text. Its lines are split on first use: every module gets one, and the analysis
    asks for spans in about half of them (see codemods.relevance)."""

    _lines: list[str]

    def __init__(self, text: str) -> None:
        self._text = text
        self._word_lines: dict[str, list[int]] = {}

    def lines_holding(self, word: str) -> list[int]:
        """The numbers of the lines holding `word` (see source_lines.lines_holding), found once per word."""
        lines = self._word_lines.get(word)
        if lines is None:
            lines = self._word_lines[word] = lines_holding(self._text, (word,))
        return lines

    def __getattr__(self, name: str) -> list[str]:
        # called only while `_lines` is not set: once set, reading it is a plain attribute read
        if name != "_lines":
            raise AttributeError(name)
        self._lines = source_lines(self._text, keepends=True)
        return self._lines

    def lines_text(self, first: int, last: int) -> str:
        """The text of lines `first` to `last` (1-based, both included)."""
        return "".join(self._lines[first - 1 : last])

    def forget_lines(self) -> None:
        """Let go of the lines (split again on next use): a module's tree was let go, and they go with it."""
        self.__dict__.pop("_lines", None)

    def _char_col(self, line: int, byte_col: int) -> int:
        if line - 1 >= len(self._lines):
            return byte_col
        source_line = self._lines[line - 1]
        if source_line.isascii():
            return byte_col
        return len(source_line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))

    def commented(self, node: ast.stmt) -> bool:
        """A `#` on the statement's lines or a comment line right above it (LibCST holds that one with it)."""
        lines = self._lines[node.lineno - 1 : node.end_lineno]
        above = self._lines[node.lineno - 2].strip() if node.lineno > 1 else ""
        return any("#" in line for line in lines) or above.startswith("#")

    def span(self, node: ast.AST) -> Span:
        line = node.lineno  # type: ignore[attr-defined]
        end_line = node.end_lineno  # type: ignore[attr-defined]
        return (
            line,
            self._char_col(line, node.col_offset),  # type: ignore[attr-defined]
            end_line,
            self._char_col(end_line, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def segment(self, node: ast.AST) -> str:
        line, col, end_line, end_col = self.span(node)
        if line == end_line:
            return self._lines[line - 1][col:end_col]
        parts = [self._lines[line - 1][col:]]
        parts.extend(self._lines[line : end_line - 1])
        parts.append(self._lines[end_line - 1][:end_col])
        return "".join(parts)
