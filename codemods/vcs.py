"""Refuse to rewrite files with uncommitted changes: the user must be able to review and undo us."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

CHANGED = "changed"  # modified, staged, or untracked
IGNORED = "ignored"  # ignored by git (.gitignore, .git/info/exclude, core.excludesFile): git has no copy of it


def dirty_files(targets: Iterable[Path]) -> list[Path]:
    """Those of the target files that git could not give back as they are: modified, staged, untracked or ignored.

    Outside a git work tree, or without git, nothing is dirty: there is nothing to check against.
    """
    return sorted(unsafe_files(targets))


def unsafe_files(targets: Iterable[Path]) -> dict[Path, str]:
    """The dirty target files (see `dirty_files`), each with why: CHANGED or IGNORED.

    One `git status` per work tree answers both: `--ignored=matching` lists an ignored directory once, without
    walking it, so a target below one is ignored too."""
    wanted = {_real(path) for path in targets}
    unsafe: dict[Path, str] = {}
    for top, paths in _group_by_work_tree(wanted).items():
        if top is None:
            continue
        # One pathspec (the files' common directory) keeps the command line short on big trees.
        scope = os.path.commonpath([str(path.parent) for path in paths])
        status = _git(top, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--", scope)
        if status is None:
            continue
        entries = _parse_porcelain(status, top)
        ignored = {path for code, path in entries if code == "!!"}
        unsafe.update((path, CHANGED) for code, path in entries if code != "!!" and path in wanted)
        unsafe.update((path, IGNORED) for path in paths if _below_any(path, ignored, top))
    return unsafe


def _below_any(path: Path, ignored: set[Path], top: Path) -> bool:
    """Whether path, or one of its directories below the work tree's top, is among the ignored paths."""
    while path != top and path != path.parent:
        if path in ignored:
            return True
        path = path.parent
    return False


def _group_by_work_tree(paths: Iterable[Path]) -> dict[Path | None, list[Path]]:
    groups: dict[Path | None, list[Path]] = {}
    ordered = sorted(paths)
    tops = _work_tree_tops(sorted({path.parent for path in ordered}))
    for path in ordered:
        groups.setdefault(tops[path.parent], []).append(path)
    return groups


def _work_tree_tops(directories: list[Path]) -> dict[Path, Path | None]:
    """Each directory's work tree top (None: in none), git asked once for their common ancestor and again only
    for a directory below a `.git` entry (a nested repository, a submodule) or on another file system.

    git finds the repository of a directory by walking up to the first `.git` (stopping at a file system
    boundary), so a directory with neither on its way up to the common ancestor gets the ancestor's answer: one
    `git rev-parse` for a tree of hundreds of directories, not one each. With GIT_CEILING_DIRECTORIES set (the
    walk may stop earlier), git is asked for every directory."""
    if not directories:
        return {}
    answers: dict[Path, Path | None] = {}

    def top(directory: Path) -> Path | None:
        if directory not in answers:
            out = _git(directory, "rev-parse", "--show-toplevel")
            answers[directory] = _real(Path(out.strip())) if out else None
        return answers[directory]

    if os.environ.get("GIT_CEILING_DIRECTORIES"):
        return {directory: top(directory) for directory in directories}
    common = Path(os.path.commonpath(directories))
    device = _device(common)
    on_its_own: dict[Path, bool] = {common: False}  # a `.git` or another file system below `common`, on the way

    def asked_alone(directory: Path) -> bool:
        chain = []
        while directory not in on_its_own and directory != directory.parent:
            chain.append(directory)
            directory = directory.parent
        alone = on_its_own.get(directory, True)
        for step in reversed(chain):
            alone = alone or os.path.lexists(step / ".git") or _device(step) != device
            on_its_own[step] = alone
        return alone

    return {directory: top(directory if asked_alone(directory) else common) for directory in directories}


def _device(directory: Path) -> int | None:
    try:
        return os.stat(directory).st_dev
    except OSError:
        return None


def _parse_porcelain(output: str, top: Path) -> list[tuple[str, Path]]:
    """The (status code, path) of each `git status --porcelain=v1 -z` entry (paths relative to the work tree's
    top; an ignored directory is listed with a trailing "/")."""
    entries = output.split("\0")
    parsed = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        status, name = entry[:2], entry[3:]
        parsed.append((status, _real(top / name)))
        if "R" in status or "C" in status:
            index += 1  # the original name of a rename/copy follows
    return parsed


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
