"""Which files a run looks at, and the project root their engine keys are relative to.

Directories are walked without following symlinks: a link inside a root points either back into the
tree (its target is found anyway) or out of it (where the tool must not write), and not following
links also rules out loops. A symlink named on the command line is not followed either (naming it must
not get round that), nor is one between the project root and a path named (`repo/link/sub`, where `repo/link`
points elsewhere): the path is left out, and listed in `Discovery.not_followed`: the run reports it as a failed
path. The project root itself, and the directories above it, may be links: the project may be reached through one.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

logger = logging.getLogger(__name__)

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "env",
    ".tox",
    ".nox",
    "__pycache__",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "*.egg-info",
)
ROOT_MARKERS = ("pyproject.toml", ".git")
NOT_FOLLOWED = "a symlink, not followed (symlinks never are: name the file it points to)"


@dataclass
class Discovery:
    """The files to process (absolute paths, sorted by key) and the given paths that do not exist."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)  # engine key (POSIX, root-relative) -> path
    missing: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # directory -> reason it was not listed
    not_followed: dict[str, str] = field(default_factory=dict)  # given path that is or is below a symlink -> why


def find_project_root(paths: Sequence[Path]) -> Path:
    """The nearest ancestor of the given paths holding pyproject.toml or .git, else their directory."""
    dirs = [p if p.is_dir() else p.parent for p in (_absolute(p) for p in paths)]
    base = Path(os.path.commonpath(dirs)) if dirs else _absolute(Path("."))
    for candidate in (base, *base.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    # No marker: a directory that is itself a package (has __init__.py) is named by its parent, so that
    # `app/db.py` keeps the module name `app.db` its imports use.
    while (base / "__init__.py").is_file() and base.parent != base:
        base = base.parent
    return base


def matches(rel_path: str, patterns: Iterable[str]) -> bool:
    """True when a POSIX path matches one of the glob patterns.

    A pattern without "/" is matched against every component (`migrations`, `*_pb2.py`); a pattern
    with "/" against the path and each of its leading directories (`app/legacy`, `app/*/old_*.py`).
    """
    parts = PurePosixPath(rel_path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in _normalised(patterns):
        candidates = prefixes if "/" in pattern else parts
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            return True
    return False


def discover(
    paths: Sequence[Path],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    root: Path | None = None,
) -> Discovery:
    """Python files under the given paths, minus default and configured excludes.

    `include`, when not empty, keeps only files matching one of its globs. Globs are matched against
    paths relative to the project root. Explicitly named files bypass include/exclude.
    """
    project_root = root or find_project_root([p for p in paths if _lexists(p)] or [Path(".")])
    result = Discovery(root=project_root)
    found: dict[str, Path] = {}
    excludes = (*DEFAULT_EXCLUDES, *exclude)
    for given in paths:
        path = _absolute(given)
        if not _lexists(path):
            result.missing.append(str(given))
            continue
        link = _symlink_on_the_way(path, project_root)
        if link is not None:
            logger.debug("not following symlink %s on the way to %s, named on the command line", link, path)
            result.not_followed[str(given)] = _why_not_followed(given, path, link)
            continue
        if not path.is_dir():  # a file (reading will say when it is not a regular one)
            found.setdefault(_key(path, project_root), path)
            continue
        for key, file in _walk(path, project_root, excludes, result.unreadable):
            if include and not matches(key, include):
                continue
            found.setdefault(key, file)
    result.files = dict(sorted(found.items()))
    return result


def _symlink_on_the_way(path: Path, root: Path) -> Path | None:
    """`path` when it is a symlink, else the first of its directories below `root` that is one, else None."""
    if path.is_symlink():
        return path
    try:
        between = path.parent.relative_to(root).parts
    except ValueError:  # `path` is the root (or not below it)
        return None
    step = root
    for part in between:
        step = step / part
        if step.is_symlink():
            return step
    return None


def _why_not_followed(given: Path, path: Path, link: Path) -> str:
    if link == path:
        return NOT_FOLLOWED
    written = Path(os.path.normpath(given))  # the link as the path was written: less its components below the link
    below = len(path.parts) - len(link.parts)
    shown = written.parents[below - 1] if below < len(written.parts) else link
    return f"{shown} is a symlink, not followed (symlinks never are: name the directory it points to)"


def _walk(top: Path, root: Path, excludes: Sequence[str], unreadable: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """The Python files under `top` and their keys: `os.walk` top-down (a directory's files, then its
    subdirectories, each in name order), with `os.scandir`'s entries saying which are links (no `lstat` each)."""
    top_key = _key(top, root)
    yield from _walk_directory(str(top), top_key, _Excludes(excludes, top_key), unreadable)


def _walk_directory(
    directory: str, key: str, excluded: _Excludes, unreadable: dict[str, str]
) -> Iterator[tuple[str, Path]]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:  # os.walk would skip the directory silently
        unreadable[str(error.filename)] = f"cannot list directory: {error.strerror or error}"
        return
    subdirectories = []
    for entry in entries:
        if _is_directory(entry):  # a link to a directory too, as in os.walk
            subdirectories.append(entry)
        elif entry.name.endswith(".py"):
            child_key = _kept(entry, key, excluded, "file")
            if child_key is not None:
                yield child_key, Path(entry.path)
    for entry in subdirectories:
        child_key = _kept(entry, key, excluded, "directory")
        if child_key is not None:
            yield from _walk_directory(entry.path, child_key, excluded, unreadable)


def _kept(entry: os.DirEntry[str], directory_key: str, excluded: _Excludes, kind: str) -> str | None:
    """The entry's key, or None when the walk leaves it out (a symlink, or excluded)."""
    if entry.is_symlink():
        logger.debug("not following symlinked %s %s", kind, entry.path)
        return None
    key = _joined(directory_key, entry.name)
    if excluded(entry.name, key):
        logger.debug("excluded %s %s", kind, entry.path)
        return None
    return key


def _is_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


class _Excludes:
    """Whether an entry met by the walk is excluded: `matches` on its path below the walked directory (patterns
    without "/") and on its root-relative key (patterns with "/"), as in `matches`' docstring. Excludes apply below
    the given path only: naming an excluded directory explicitly walks it.

    The walk meets a directory's entries only once the directory itself was kept, so of the components and
    leading paths `matches` would try, only those the entry adds are new: its name, and its whole key. The key's
    leading paths at and above the walked directory are the same for every entry: tried once, here."""

    def __init__(self, excludes: Sequence[str], top_key: str) -> None:
        components = _normalised(p for p in excludes if "/" not in p.strip("/"))
        # `fnmatchcase(name, p)` for any p: one regular expression, `fnmatch.translate`'s patterns joined
        self.component = re.compile("|".join(map(fnmatch.translate, components))).match if components else None
        self.slashed = _normalised(p for p in excludes if "/" in p.strip("/"))
        self.top_excluded = bool(self.slashed) and matches(top_key, self.slashed)

    def __call__(self, name: str, key: str) -> bool:
        if self.component is not None and self.component(name):
            return True
        if not self.slashed:
            return False
        if self.top_excluded:
            return True
        return any(fnmatch.fnmatchcase(key if "/" in pattern else name, pattern) for pattern in self.slashed)


def _normalised(patterns: Iterable[str]) -> list[str]:
    """The patterns as `matches` reads them (leading and trailing "/" and a leading "./" dropped; empty ones out)."""
    out = [pattern.strip("/").removeprefix("./") for pattern in patterns]
    return [pattern for pattern in out if pattern]


def _joined(directory_key: str, name: str) -> str:
    return name if directory_key == "." else f"{directory_key}/{name}"


def _key(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # pragma: no cover - root is an ancestor of every given path
        return path.as_posix()


def _absolute(path: Path) -> Path:
    """Absolute and normalised (`..` removed) without resolving symlinks."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)
