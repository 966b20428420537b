"""`[tool.awaitify]` in the target project's pyproject.toml.

```toml
[tool.awaitify]
include = ["app/**/*.py"]          # globs; when set, only matching files are processed
exclude = ["migrations", "app/legacy"]
disable = ["AWT106"]               # rule codes
session-factories = ["app.db.new_session", "app.deps.get_session"]
only = ["app/users/**"]            # staged migration: rewrite only these files (docs/staged-migrations.md)
file-timeout = 120                 # seconds per file before it is reported and left as it is (0: none)
max-file-mb = 2                    # bigger files are reported and left as they are (0: no limit)
max-tree-mb = 512                  # memory for parsed trees per process; beyond it they are parsed again (0: no limit)
```

Command-line `--include` / `--exclude` / `--only` replace the configured lists; `--disable` and
`--session-factory` add to them; `--file-timeout`, `--max-file-mb` and `--max-tree-mb` replace the configured
limits.
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemods.rules.registry import RULES
from codemods.scope import glob_problem
from codemods.tree_budget import DEFAULT_MAX_TREE_MB

logger = logging.getLogger(__name__)

KNOWN_KEYS = (
    "include",
    "exclude",
    "disable",
    "session-factories",
    "only",
    "file-timeout",
    "max-file-mb",
    "max-tree-mb",
)
DEFAULT_FILE_TIMEOUT = 120.0
# Memory grows with a file's size (~600 bytes per source byte in LibCST); generated files beyond this are skipped.
DEFAULT_MAX_FILE_MB = 2.0
# The per-file timer counts nanoseconds in 64 bits (up to ~9.2e9 s): a longer limit is refused, not overflowed.
MAX_FILE_TIMEOUT = 1e9  # seconds, ~31 years
_DOTTED_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


class ConfigError(Exception):
    """Invalid configuration; the message says where and what."""


@dataclass(frozen=True)
class Config:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    disable: frozenset[str] = frozenset()
    session_factories: frozenset[str] = frozenset()
    file_timeout: float = DEFAULT_FILE_TIMEOUT
    max_file_mb: float = DEFAULT_MAX_FILE_MB
    max_tree_mb: float = DEFAULT_MAX_TREE_MB
    only: tuple[str, ...] = ()
    source: Path | None = None

    def merged(
        self,
        include: tuple[str, ...] = (),
        exclude: tuple[str, ...] = (),
        disable: tuple[str, ...] = (),
        session_factories: tuple[str, ...] = (),
        file_timeout: float | None = None,
        max_file_mb: float | None = None,
        only: tuple[str, ...] = (),
        max_tree_mb: float | None = None,
    ) -> Config:
        """The configuration with command-line values applied on top."""
        return Config(
            include=include or self.include,
            exclude=exclude or self.exclude,
            disable=self.disable | validate_rule_codes(disable, "--disable"),
            session_factories=self.session_factories | validate_dotted_names(session_factories, "--session-factory"),
            file_timeout=self.file_timeout if file_timeout is None else file_timeout,
            max_file_mb=self.max_file_mb if max_file_mb is None else max_file_mb,
            max_tree_mb=self.max_tree_mb if max_tree_mb is None else max_tree_mb,
            only=validate_only_globs(only, "--only") if only else self.only,
            source=self.source,
        )


def load_config(root: Path) -> Config:
    """Read `[tool.awaitify]` from root/pyproject.toml; no file or no table gives the defaults."""
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return Config()
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{pyproject}: invalid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc}") from exc
    tool = document.get("tool", {})
    table = tool.get("awaitify") if isinstance(tool, dict) else None
    if table is None:
        return Config(source=pyproject)
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.awaitify] must be a table")
    return parse_config(table, pyproject)


def parse_config(table: Mapping[str, Any], source: Path | None = None) -> Config:
    """Validate a `[tool.awaitify]` table; unknown keys are warned about, bad values are errors."""
    where = f"{source}: [tool.awaitify]" if source else "[tool.awaitify]"
    for key in sorted(set(table) - set(KNOWN_KEYS)):
        logger.warning("%s: unknown key %r ignored (known: %s)", where, key, ", ".join(KNOWN_KEYS))
    return Config(
        include=tuple(_string_list(table, "include", where)),
        exclude=tuple(_string_list(table, "exclude", where)),
        disable=validate_rule_codes(_string_list(table, "disable", where), f"{where} disable"),
        session_factories=validate_dotted_names(
            _string_list(table, "session-factories", where), f"{where} session-factories"
        ),
        file_timeout=_limit(table, "file-timeout", where, DEFAULT_FILE_TIMEOUT, "seconds", MAX_FILE_TIMEOUT),
        max_file_mb=_limit(table, "max-file-mb", where, DEFAULT_MAX_FILE_MB, "megabytes"),
        max_tree_mb=_limit(table, "max-tree-mb", where, DEFAULT_MAX_TREE_MB, "megabytes"),
        only=validate_only_globs(_string_list(table, "only", where), f"{where} only"),
        source=source,
    )


def validate_rule_codes(codes: Any, where: str) -> frozenset[str]:
    normalized = {str(code).strip().upper() for code in codes}
    unknown = sorted(code for code in normalized if code not in RULES)
    if unknown:
        raise ConfigError(f"{where}: unknown rule code(s) {', '.join(unknown)} (see `awaitify rules` for the list)")
    return frozenset(normalized)


def validate_dotted_names(names: Any, where: str) -> frozenset[str]:
    bad = sorted(str(name) for name in names if not _DOTTED_NAME.match(str(name)))
    if bad:
        raise ConfigError(f"{where}: not a dotted name like `app.db.get_session`: {', '.join(bad)}")
    return frozenset(str(name) for name in names)


def validate_only_globs(globs: Any, where: str) -> tuple[str, ...]:
    problems = [f"{glob!r}: {glob_problem(glob)}" for glob in globs if glob_problem(glob)]
    if problems:
        raise ConfigError(f"{where}: bad glob(s): {'; '.join(problems)}")
    return tuple(glob.strip() for glob in globs)


def _string_list(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
    return value


def limit_problem(value: object, unit: str, maximum: float = math.inf) -> str | None:
    """What makes `value` no limit in `unit`s, or None: a limit is a finite number from 0 (no limit) to `maximum`.
    inf and nan are refused by name: they pass comparisons (nan) or overflow once used as a timer or a byte count."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return f"expected a number of {unit} >= 0"
    if not math.isfinite(value):
        return f"expected a finite number of {unit} (0: no limit)"
    if value > maximum:
        return f"expected at most {maximum:g} {unit}"
    return None


def _limit(
    table: Mapping[str, Any], key: str, where: str, default: float, unit: str, maximum: float = math.inf
) -> float:
    value = table.get(key, default)
    problem = limit_problem(value, unit, maximum)
    if problem:
        raise ConfigError(f"{where} {key}: {problem}, got {value!r}")
    return float(value)
