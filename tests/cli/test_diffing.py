"""`codemods.diffing.unified_diff`: difflib's diff for ordinary files, a correct one fast for big ones."""

from __future__ import annotations

import difflib
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from codemods import diffing

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$")


def _apply(old: list[str], diff: list[str]) -> list[str]:
    """The new lines, from the old ones and a unified diff of them (lineterm="", lines without endings)."""
    assert diff[0].startswith("--- ") and diff[1].startswith("+++ ")
    out: list[str] = []
    position = 0  # next old line to copy
    index = 2
    while index < len(diff):
        match = _HUNK.match(diff[index])
        assert match, diff[index]
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        assert start >= position
        out += old[position:start]
        position = start
        index += 1
        while index < len(diff) and not diff[index].startswith("@@"):
            tag, line = diff[index][0], diff[index][1:]
            if tag in " -":
                assert old[position] == line, (position, line)
                position += 1
            if tag in " +":
                out.append(line)
            index += 1
    return out + old[position:]


def _service(count: int, *, migrated: bool) -> list[str]:
    """A module in the style of the generated benchmark repo: every function changes when migrated."""
    lines = ["from sqlalchemy.ext.asyncio import AsyncSession" if migrated else "from sqlalchemy.orm import Session"]
    for i in range(count):
        lines += [
            "",
            "",
            f"{'async ' if migrated else ''}def f{i}(db: {'AsyncSession' if migrated else 'Session'}, obj):",
            "    db.add(obj)",
            f"    {'await ' if migrated else ''}db.commit()",
            f"    return [{i}, 'padding']",
        ]
    return lines


def test_ordinary_files_get_difflibs_diff() -> None:
    old, new = _service(50, migrated=False), _service(50, migrated=True)
    expected = list(difflib.unified_diff(old, new, "a/x.py", "b/x.py", lineterm=""))
    assert list(diffing.unified_diff(old, new, "a/x.py", "b/x.py", lineterm="")) == expected


def test_a_big_file_changed_everywhere() -> None:
    old, new = _service(6_000, migrated=False), _service(6_000, migrated=True)  # 36k lines each
    assert len(old) * len(new) > diffing.DIRECT_LIMIT
    diff = list(diffing.unified_diff(old, new, "a/x.py", "b/x.py", lineterm=""))
    assert _apply(old, diff) == new
    # as small as difflib's: only the changed lines and their context
    assert sum(line.startswith("-") for line in diff[2:]) == 1 + 2 * 6_000


@pytest.mark.parametrize("seed", range(30))
def test_the_anchored_diff_applies(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random edits of random texts with repeated lines, cut at anchors however small (DIRECT_LIMIT tiny)."""
    monkeypatch.setattr(diffing, "DIRECT_LIMIT", seed % 5)
    rng = random.Random(seed)
    words = ["a", "b", "c", "d", "pass", "", "return x"]
    old = [
        rng.choice(words) + (str(rng.randrange(40)) if rng.random() < 0.5 else "") for _ in range(rng.randrange(200))
    ]
    new = list(old)
    for _ in range(rng.randrange(30)):
        where = rng.randrange(len(new) + 1)
        action = rng.random()
        if action < 0.4 and new and where < len(new):
            del new[where]
        elif action < 0.7:
            new.insert(where, rng.choice(words))
        elif new and where < len(new):
            new[where] = new[where] + "!"
    diff = list(diffing.unified_diff(old, new, "a/x", "b/x", lineterm=""))
    if old == new:
        assert diff == []
        return
    assert _apply(old, diff) == new


def test_line_terminators_as_difflib_writes_them() -> None:
    old, new = [f"{i}\n" for i in range(5000)], [f"{i}\n" for i in range(5000) if i % 7]
    diff = list(diffing.unified_diff(old, new, "a/x", "b/x"))
    assert diff[0] == "--- a/x\n" and diff[1] == "+++ b/x\n" and diff[2].endswith("@@\n")
    assert _apply([line.rstrip("\n") for line in old], [line.rstrip("\n") for line in diff]) == [
        line.rstrip("\n") for line in new
    ]


# file names that git quotes, and names it writes as they are (beyond ASCII too, with core.quotePath off)
_NAMES = ["new\nline.py", "tab\there.py", 'quote".py', "back\\slash.py", "bell\x07.py", "del\x7f.py", "a b.py", "ü.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_file_names_are_quoted_as_git_quotes_them(tmp_path: Path) -> None:
    for name in _NAMES:
        (tmp_path / name).write_text("x = 1\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    listed = subprocess.run(
        ["git", "-c", "core.quotePath=false", "ls-files"], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert sorted(listed.stdout.splitlines()) == sorted(diffing.quote_path(name) for name in _NAMES)
    assert diffing.quote_path("new\nline.py") == '"new\\nline.py"'
    assert diffing.diff_names("app/svc.py") == ("a/app/svc.py", "b/app/svc.py")
