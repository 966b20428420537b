"""The target project's pytest-asyncio settings, read where pytest reads them.

pytest takes its configuration from the first of `pytest.ini` (`[pytest]`), `pyproject.toml`
(`[tool.pytest.ini_options]`), `tox.ini` (`[pytest]`), `setup.cfg` (`[tool:pytest]`) that has the section.
Only the project root is looked at (where awaitify found the project). What matters to the migration:

- `asyncio_mode = auto`: pytest-asyncio runs every `async def` test without a mark;
- `asyncio_default_test_loop_scope` / `asyncio_default_fixture_loop_scope`: the loop the tests and the
  async fixtures run in when they do not say.
"""

from __future__ import annotations

import configparser
import logging
import tomllib
from pathlib import Path
from typing import Any

from codemods.model import PytestAsyncioSettings

logger = logging.getLogger(__name__)

_INI_FILES = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


def load_pytest_asyncio_settings(root: Path) -> PytestAsyncioSettings:
    options = _pytest_ini_options(root)
    if options is None:
        return PytestAsyncioSettings()
    mode = str(options.get("asyncio_mode", "strict")).strip().lower()
    return PytestAsyncioSettings(
        auto_mode=mode == "auto",
        test_loop_scope=_scope(options.get("asyncio_default_test_loop_scope")),
        fixture_loop_scope=_scope(options.get("asyncio_default_fixture_loop_scope")),
    )


def _scope(value: Any) -> str | None:
    return str(value).strip().lower() if value is not None else None


def _pytest_ini_options(root: Path) -> dict[str, Any] | None:
    """The options of the configuration file pytest would use (None when there is none)."""
    candidates: list[tuple[str, str | None]] = [("pytest.ini", "pytest"), ("pyproject.toml", None)]
    candidates += [c for c in _INI_FILES if c[0] != "pytest.ini"]
    for name, section in candidates:
        path = root / name
        if not path.is_file():
            continue
        try:
            if section is None:
                tool = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
                table = tool.get("pytest", {}).get("ini_options") if isinstance(tool, dict) else None
                if isinstance(table, dict):
                    return table
                continue
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(path, encoding="utf-8")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error) as exc:
            logger.warning("%s: cannot read the pytest configuration: %s", path, exc)
            continue
        if parser.has_section(section):
            return dict(parser.items(section))
        if name == "pytest.ini":
            return {}  # pytest.ini is pytest's configuration even without a [pytest] section
    return None
