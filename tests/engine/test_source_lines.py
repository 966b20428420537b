"""`source_lines` numbers lines as Python does (at \\n, \\r\\n, \\r), unlike `str.splitlines`."""

from __future__ import annotations

import ast
import random

import pytest

from codemods.source_lines import _LINE, lines_holding, source_lines

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


def _by_pattern(text: str, keepends: bool) -> list[str]:
    """The reference: the pattern alone (the general path, which `\\r` texts still take)."""
    found = _LINE.findall(text)
    return found if keepends else [line.rstrip("\r\n") for line in found]


ALPHABET = ["\n", "\r", "\r\n", "\x0c", "\x0b", "\u2028", "a", "yield", " ", "#", "é", "Session"]


def test_the_fast_split_gives_the_lines_the_pattern_gives() -> None:
    rng = random.Random(20261206)
    texts = [*TEXTS, *("".join(rng.choices(ALPHABET, k=rng.randrange(0, 40))) for _ in range(3000))]
    for text in texts:
        for keepends in (False, True):
            assert source_lines(text, keepends=keepends) == _by_pattern(text, keepends), (text, keepends)


def test_lines_holding_numbers_the_lines_source_lines_gives() -> None:
    rng = random.Random(6122026)
    texts = [*TEXTS, *("".join(rng.choices(ALPHABET, k=rng.randrange(0, 40))) for _ in range(3000))]
    for text in texts:
        for words in (("yield",), ("Session", "a"), ("#",), ("absent",), ("yi", "eld")):
            expected = [n for n, line in enumerate(_by_pattern(text, False), 1) if any(w in line for w in words)]
            assert lines_holding(text, words) == expected, (text, words)
