"""A file's lines as Python numbers them: broken at `\\r\\n`, `\\r` and `\\n` only.

`str.splitlines` also breaks at form feeds, vertical tabs, `\\x1c`-`\\x1e`, `\\x85`, `\\u2028` and `\\u2029`, which
Python source may hold inside a line (a form feed between sections is an old convention): line numbers from
`ast` or LibCST would then point at the wrong line.
"""

from __future__ import annotations

import re

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def source_lines(text: str, *, keepends: bool = False) -> list[str]:
    """`text.splitlines(keepends)`, except that only `\\r\\n`, `\\r` and `\\n` end a line."""
    if "\r" not in text:
        # only `\n` ends a line: `str.split` gives the same lines as the pattern, several times faster
        lines = text.split("\n")
        last = lines.pop()  # the text after the last `\n`: a line unless empty
        if keepends:
            lines = [line + "\n" for line in lines]
        if last:
            lines.append(last)
        return lines
    found = _LINE.findall(text)
    return found if keepends else [line.rstrip("\r\n") for line in found]


def lines_holding(text: str, words: tuple[str, ...] | frozenset[str] | list[str]) -> list[int]:
    """The numbers (1-based, as `source_lines` counts them) of the lines holding one of `words`, ascending.
    A word holds no line break. Without reading line by line: most texts hold a word on few lines, or none."""
    present = [word for word in words if word in text]
    if not present:
        return []
    if "\r" in text:
        return [number for number, line in enumerate(source_lines(text), 1) if any(w in line for w in present)]
    offsets = sorted({start for word in present for start in _occurrences(text, word)})
    numbers: list[int] = []
    line, counted = 1, 0
    for offset in offsets:
        line += text.count("\n", counted, offset)
        counted = offset
        if not numbers or numbers[-1] != line:
            numbers.append(line)
    return numbers


def _occurrences(text: str, word: str) -> list[int]:
    found: list[int] = []
    start = text.find(word)
    while start != -1:
        found.append(start)
        start = text.find(word, start + 1)
    return found
