"""`source_lines` numbers lines as Python does (at \\n, \\r\\n, \\r), unlike `str.splitlines`."""

from __future__ import annotations

import ast

import pytest

from codemods.source_lines import source_lines

TEXTS = ["", "x = 1", "x = 1\n", "a = 1\r\nb = 2\rc = 3\n\x0cd = 4\n\ne = 5", "\n\n", "s = 'x\x0cy\x1c'\n"]


@pytest.mark.parametrize("text", TEXTS)
def test_lines_join_back_to_the_text(text: str) -> None:
    assert "".join(source_lines(text, keepends=True)) == text
    assert [line.rstrip("\r\n") for line in source_lines(text, keepends=True)] == source_lines(text)


@pytest.mark.parametrize("text", TEXTS)
def test_each_statement_is_on_the_line_ast_says(text: str) -> None:
    lines = source_lines(text)
    for node in ast.parse(text).body:  # single-line statements, ASCII columns
        assert node.lineno == node.end_lineno
        segment = lines[node.lineno - 1][node.col_offset : node.end_col_offset]
        assert segment == ast.get_source_segment(text, node)
