"""Refuse to rewrite files with uncommitted changes: the user must be able to review and undo us."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)


def dirty_files(targets: Iterable[Path]) -> list[Path]:
    """Those of the target files that git reports as modified, staged, or untracked.

    Outside a git work tree, or without git, nothing is dirty: there is nothing to check against.
    """
    wanted = {_real(path) for path in targets}
    dirty: set[Path] = set()
    for top, paths in _group_by_work_tree(wanted).items():
        if top is None:
            continue
        # One pathspec (the files' common directory) keeps the command line short on big trees.
        scope = os.path.commonpath([str(path.parent) for path in paths])
        status = _git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", scope)
        if status is None:
            continue
        dirty.update(path for path in _parse_porcelain(status, top) if path in wanted)
    return sorted(dirty)


def _group_by_work_tree(paths: Iterable[Path]) -> dict[Path | None, list[Path]]:
    groups: dict[Path | None, list[Path]] = {}
    tops: dict[Path, Path | None] = {}
    for path in sorted(paths):
        directory = path.parent
        if directory not in tops:
            out = _git(directory, "rev-parse", "--show-toplevel")
            tops[directory] = _real(Path(out.strip())) if out else None
        groups.setdefault(tops[directory], []).append(path)
    return groups


def _parse_porcelain(output: str, top: Path) -> list[Path]:
    """Paths of `git status --porcelain=v1 -z` entries (relative to the work tree's top)."""
    entries = output.split("\0")
    paths = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        status, name = entry[:2], entry[3:]
        paths.append(_real(top / name))
        if "R" in status or "C" in status:
            index += 1  # the original name of a rename/copy follows
    return paths


def _git(cwd: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"},
        )
    except (OSError, ValueError) as exc:  # git not installed, or cwd vanished
        logger.debug("git %s: %s", " ".join(args), exc)
        return None
    if completed.returncode != 0:
        logger.debug("git %s in %s: %s", " ".join(args), cwd, completed.stderr.strip())
        return None
    return completed.stdout


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))
