"""config: [tool.awaitify] parsing, validation and merging with flags."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from codemods.config import Config, ConfigError, load_config, parse_config


def write_pyproject(root: Path, body: str) -> Path:
    (root / "pyproject.toml").write_text(body, encoding="utf-8")
    return root


def test_full_table(tmp_path: Path) -> None:
    write_pyproject(
        tmp_path,
        """
[tool.awaitify]
include = ["app/*"]
exclude = ["migrations"]
disable = ["awt106", "AWT201"]
session-factories = ["app.db.new_session"]
file-timeout = 30
max-file-mb = 0.5
max-tree-mb = 64
""",
    )
    config = load_config(tmp_path)
    assert config.include == ("app/*",)
    assert config.exclude == ("migrations",)
    assert config.disable == frozenset({"AWT106", "AWT201"})
    assert config.session_factories == frozenset({"app.db.new_session"})
    assert config.file_timeout == 30.0
    assert config.merged(file_timeout=5).file_timeout == 5.0
    assert config.merged().file_timeout == 30.0
    assert config.max_file_mb == 0.5
    assert config.merged(max_file_mb=0).max_file_mb == 0.0
    assert config.max_tree_mb == 64.0
    assert config.merged(max_tree_mb=1).max_tree_mb == 1.0
    assert config.merged().max_tree_mb == 64.0
    assert config.source == tmp_path / "pyproject.toml"


@pytest.mark.parametrize("body", ["", "[project]\nname='x'\n", "[tool.other]\nx=1\n"])
def test_no_table_gives_defaults(tmp_path: Path, body: str) -> None:
    config = load_config(write_pyproject(tmp_path, body))
    assert (config.include, config.exclude) == ((), ())
    assert config.disable == config.session_factories == frozenset()


def test_no_pyproject_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[tool.awaitify]\ndisable = ['AWT999']\n", "unknown rule code"),
        ("[tool.awaitify]\ndisable = 'AWT101'\n", "disable must be a list"),
        ("[tool.awaitify]\nexclude = [1]\n", "exclude must be a list of strings"),
        ("[tool.awaitify]\nsession-factories = ['not a name']\n", "dotted name"),
        ("[tool.awaitify\n", "invalid TOML"),
        ("[tool]\nawaitify = 3\n", "must be a table"),
        ("[tool.awaitify]\nfile-timeout = -1\n", "file-timeout: expected a number of seconds"),
        ("[tool.awaitify]\nfile-timeout = 'soon'\n", "file-timeout: expected a number of seconds"),
        ("[tool.awaitify]\nmax-file-mb = true\n", "max-file-mb: expected a number of megabytes"),
        ("[tool.awaitify]\nmax-tree-mb = -5\n", "max-tree-mb: expected a number of megabytes"),
        ("[tool.awaitify]\nfile-timeout = inf\n", "file-timeout: expected a finite number of seconds"),
        ("[tool.awaitify]\nfile-timeout = nan\n", "file-timeout: expected a finite number of seconds"),
        ("[tool.awaitify]\nfile-timeout = 1e10\n", "file-timeout: expected at most"),
        ("[tool.awaitify]\nmax-file-mb = nan\n", "max-file-mb: expected a finite number of megabytes"),
        ("[tool.awaitify]\nmax-tree-mb = inf\n", "max-tree-mb: expected a finite number of megabytes"),
        ("[tool.awaitify]\nmax-tree-mb = -inf\n", "max-tree-mb: expected a number of megabytes"),
    ],
)
def test_invalid_values_are_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_pyproject(tmp_path, body))


def test_unknown_key_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = parse_config({"exclude": ["x"], "excludes": ["y"]})
    assert config.exclude == ("x",)
    assert "unknown key 'excludes'" in caplog.text


def test_flags_replace_globs_and_add_rules() -> None:
    config = Config(include=("a",), exclude=("b",), disable=frozenset({"AWT101"}), session_factories=frozenset({"x.y"}))
    merged = config.merged(exclude=("c",), disable=("awt102",), session_factories=("z.w",))
    assert merged.include == ("a",)
    assert merged.exclude == ("c",)
    assert merged.disable == {"AWT101", "AWT102"}
    assert merged.session_factories == {"x.y", "z.w"}


def test_unknown_disable_flag_is_an_error() -> None:
    with pytest.raises(ConfigError, match="--disable"):
        Config().merged(disable=("AWT000",))
