"""`difflib.unified_diff`, in time that stays linear-ish on big files with changes all over them.

difflib's matcher looks for the longest common block again and again; on a generated 5 MB module whose every
function changed it ran for more than ten minutes. Here a file pair larger than `DIRECT_LIMIT` lines squared is
first cut at anchors, lines that occur exactly once in each text and keep their order (the patience diff's
idea): function headers, docstrings, most of a module's lines. The stretches between anchors are small, and
difflib matches them as it matches any file. Smaller pairs go to difflib unchanged, so the diffs of ordinary
files are difflib's own, byte for byte.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Iterator, Sequence

# Up to this many (old lines x new lines), difflib runs directly: about 3,000 lines each
DIRECT_LIMIT = 10_000_000

# How `git diff` writes these characters of a quoted file name; other control characters are octal (`\001`)
_C_ESCAPES = {"\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r", '"': '"', "\\": "\\"}


def quote_path(name: str) -> str:
    """A file name as `git diff` writes it in its headers (and `git status` in its lines): as it is, or, when it
    holds a control character, a double quote or a backslash, C-style quoted in double quotes (`"a/new\\nline.py"`),
    which `git apply` and GNU patch read back. Unquoted, a newline would split a `+++ b/...` or `path:line:` line in
    two, and a tab end the name. (Unlike git by default, characters beyond ASCII are kept as they are.)"""
    if not any(char < " " or char in '"\\\x7f' for char in name):
        return name
    return '"' + "".join(_quoted_char(char) for char in name) + '"'


def _quoted_char(char: str) -> str:
    if char in _C_ESCAPES:
        return "\\" + _C_ESCAPES[char]
    if char < " " or char == "\x7f":
        return f"\\{ord(char):03o}"
    return char


def diff_names(path: str) -> tuple[str, str]:
    """The `---` and `+++` names of a file's diff, as git writes them: `a/path` and `b/path`, quoted if need be."""
    return quote_path(f"a/{path}"), quote_path(f"b/{path}")


def unified_diff(
    a: Sequence[str], b: Sequence[str], fromfile: str = "", tofile: str = "", n: int = 3, lineterm: str = "\n"
) -> Iterator[str]:
    """The lines of a unified diff of `a` to `b`, as `difflib.unified_diff(a, b, fromfile, tofile, n=n,
    lineterm=lineterm)` writes them."""
    if len(a) * len(b) <= DIRECT_LIMIT:
        yield from difflib.unified_diff(a, b, fromfile, tofile, n=n, lineterm=lineterm)
        return
    started = False
    for group in _AnchoredMatcher(a, b).get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}{lineterm}"
            yield f"+++ {tofile}{lineterm}"
        first, last = group[0], group[-1]
        old_range = difflib._format_range_unified(first[1], last[2])  # type: ignore[attr-defined]
        new_range = difflib._format_range_unified(first[3], last[4])  # type: ignore[attr-defined]
        yield f"@@ -{old_range} +{new_range} @@{lineterm}"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in {"replace", "delete"}:
                yield from ("-" + line for line in a[i1:i2])
            if tag in {"replace", "insert"}:
                yield from ("+" + line for line in b[j1:j2])


class _AnchoredMatcher(difflib.SequenceMatcher[str]):
    """A SequenceMatcher whose matching blocks are found between anchors (see the module docstring)."""

    def __init__(self, a: Sequence[str], b: Sequence[str]) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._old, self._new = a, b
        self._blocks: list[difflib.Match] | None = None

    def get_matching_blocks(self) -> list[difflib.Match]:
        if self._blocks is None:
            found: list[tuple[int, int, int]] = []
            _match(self._old, self._new, 0, len(self._old), 0, len(self._new), found)
            self._blocks = [difflib.Match(i, j, k) for i, j, k in _merged(found)]
            self._blocks.append(difflib.Match(len(self._old), len(self._new), 0))
        return self._blocks


def _match(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int, out: list[tuple[int, int, int]]
) -> None:
    """Matching blocks of a[alo:ahi] and b[blo:bhi], in order, appended to `out`."""
    head = 0  # the stretches' common first and last lines match as they are
    while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
        head += 1
    if head:
        out.append((alo, blo, head))
        alo, blo = alo + head, blo + head
    tail = 0
    while alo < ahi - tail and blo < bhi - tail and a[ahi - tail - 1] == b[bhi - tail - 1]:
        tail += 1
    _match_middle(a, b, alo, ahi - tail, blo, bhi - tail, out)
    if tail:
        out.append((ahi - tail, bhi - tail, tail))


def _match_middle(
    a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int, out: list[tuple[int, int, int]]
) -> None:
    if alo >= ahi or blo >= bhi:
        return
    if (ahi - alo) * (bhi - blo) <= DIRECT_LIMIT:
        matcher = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        out.extend((alo + i, blo + j, size) for i, j, size in matcher.get_matching_blocks() if size)
        return
    anchors = _anchors(a, b, alo, ahi, blo, bhi)
    if not anchors:
        # nothing unique to hold on to: the stretch is shown as replaced (still a correct diff)
        return
    previous_a, previous_b = alo, blo
    for i, j in anchors:
        _match(a, b, previous_a, i, previous_b, j, out)
        out.append((i, j, 1))
        previous_a, previous_b = i + 1, j + 1
    _match(a, b, previous_a, ahi, previous_b, bhi, out)


def _anchors(a: Sequence[str], b: Sequence[str], alo: int, ahi: int, blo: int, bhi: int) -> list[tuple[int, int]]:
    """The longest run, in order in both, of lines that occur exactly once in each of the two stretches."""
    once_a = _unique_positions(a, alo, ahi)
    once_b = _unique_positions(b, blo, bhi)
    pairs = [(i, once_b[line]) for line, i in once_a.items() if line in once_b]
    pairs.sort()
    # longest increasing subsequence of the b positions (patience sorting), with back links
    tails: list[int] = []  # b position ending the best run of each length
    tail_index: list[int] = []  # index in `pairs` of that run's last pair
    back: list[int] = [-1] * len(pairs)
    for index, (_i, j) in enumerate(pairs):
        length = bisect.bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            tail_index.append(index)
        else:
            tails[length] = j
            tail_index[length] = index
        back[index] = tail_index[length - 1] if length else -1
    run: list[tuple[int, int]] = []
    index = tail_index[-1] if tail_index else -1
    while index != -1:
        run.append(pairs[index])
        index = back[index]
    run.reverse()
    return run


def _unique_positions(lines: Sequence[str], lo: int, hi: int) -> dict[str, int]:
    seen: dict[str, int] = {}
    repeated: set[str] = set()
    for index in range(lo, hi):
        line = lines[index]
        if line in seen:
            repeated.add(line)
        else:
            seen[line] = index
    for line in repeated:
        del seen[line]
    return seen


def _merged(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Adjacent blocks joined, as difflib's own matching blocks are."""
    merged: list[tuple[int, int, int]] = []
    for i, j, size in blocks:
        if merged and merged[-1][0] + merged[-1][2] == i and merged[-1][1] + merged[-1][2] == j:
            last = merged[-1]
            merged[-1] = (last[0], last[1], last[2] + size)
        else:
            merged.append((i, j, size))
    return merged
