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
    lines = _LINE.findall(text)
    return lines if keepends else [line.rstrip("\r\n") for line in lines]
