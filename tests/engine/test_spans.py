"""Spans in characters from `ast` positions (UTF-8 byte columns); the lines are split on first use only."""

from __future__ import annotations

import ast

import pytest

from codemods.spans import SpanMaker

TEXT = 'name = "café"  # é\nx = (\n    "ü",\n)\n'


def test_spans_and_segments_in_characters() -> None:
    tree = ast.parse(TEXT)
    spans = SpanMaker(TEXT)
    first, second = tree.body
    assert isinstance(first, ast.Assign) and isinstance(second, ast.Assign)
    assert spans.span(first.value) == (1, 7, 1, 13)
    assert spans.segment(first.value) == '"café"'
    assert spans.segment(second.value) == '(\n    "ü",\n)'


def test_lines_are_split_on_first_use() -> None:
    spans = SpanMaker(TEXT)
    assert "_lines" not in vars(spans)
    spans.segment(ast.parse(TEXT).body[0])
    assert vars(spans)["_lines"] == ['name = "café"  # é\n', "x = (\n", '    "ü",\n', ")\n"]
    with pytest.raises(AttributeError):
        spans.missing  # noqa: B018
