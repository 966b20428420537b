"""The scope of a staged run (`--only GLOB`): which files it may rewrite. Light: no engine imports."""

from __future__ import annotations

from collections.abc import Iterable

from codemods.discover import matches


def in_scope(path: str, only: Iterable[str]) -> bool:
    """Whether a root-relative POSIX path is in a stage's scope (the globs of `--include`/`--exclude`)."""
    return matches(path, only)


def glob_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be an `--only` glob (None when it can)."""
    stripped = pattern.strip()
    if not stripped or stripped.strip("/") in {"", "."}:
        return "an empty glob"
    if stripped.startswith("/") or (len(stripped) > 1 and stripped[1] == ":"):
        return "an absolute path (globs are relative to the project root)"
    if ".." in stripped.split("/"):
        return "`..` leaves the project"
    if stripped.count("[") != stripped.count("]"):
        return "unbalanced `[` `]`"
    return None


def unmatched_globs(only: Iterable[str], paths: Iterable[str]) -> list[str]:
    """The globs that match none of `paths` (a typo would otherwise make a stage silently do nothing)."""
    keys = list(paths)
    return [pattern for pattern in only if not any(matches(key, [pattern]) for key in keys)]
