"""`# awaitify: ignore[AWTnnn]` comments: drop findings on the line that carries one.

`# awaitify: ignore` alone drops every finding on its line; `# awaitify: ignore[AWT301, AWT302]`
only those codes. Only real comments count (not text inside a string literal); a file that does
not tokenize falls back to a plain search of each line.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable

from codemods.model import Finding
from codemods.source_lines import source_lines

_IGNORE = re.compile(r"#\s*awaitify:\s*ignore\b(?:\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)
ALL_CODES: frozenset[str] = frozenset({"*"})


def suppressions(text: str) -> dict[int, frozenset[str]]:
    """Line number (1-based) -> codes ignored there; ALL_CODES for a bare `# awaitify: ignore`."""
    result: dict[int, frozenset[str]] = {}
    for line, comment in _comments(text):
        for match in _IGNORE.finditer(comment):
            codes = _parse_codes(match.group("codes"))
            result[line] = ALL_CODES if codes == ALL_CODES else result.get(line, frozenset()) | codes
    return result


def apply_suppressions(text: str, findings: Iterable[Finding]) -> list[Finding]:
    """The findings not silenced by an ignore comment on their line of text."""
    ignored = suppressions(text)
    kept = []
    for finding in findings:
        codes = ignored.get(finding.line)
        if codes is not None and (codes == ALL_CODES or finding.code.upper() in codes):
            continue
        kept.append(finding)
    return kept


def _parse_codes(raw: str | None) -> frozenset[str]:
    if raw is None:
        return ALL_CODES
    codes = frozenset(code.strip().upper() for code in re.split(r"[,\s]+", raw) if code.strip())
    return codes or ALL_CODES


def _comments(text: str) -> list[tuple[int, str]]:
    if "awaitify" not in text.lower():
        return []
    try:
        return [
            (token.start[0], token.string)
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
    except (tokenize.TokenError, SyntaxError):
        return [(number, line) for number, line in enumerate(source_lines(text), start=1) if "#" in line]
