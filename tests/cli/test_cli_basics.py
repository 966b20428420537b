"""The command line itself: entry points, rules/explain, usage errors, internal errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from cli_helpers import SCRIPT, run, write_tree

from codemods import __version__
from codemods.rules.registry import RULES


@pytest.mark.parametrize("entry", ["module", "script"])
def test_version_through_both_entry_points(entry: str, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "codemods"] if entry == "module" else [str(SCRIPT)]
    result = run([*argv, "--version"], tmp_path)
    assert result.code == 0, result
    assert result.stdout.strip() == f"awaitify, version {__version__}"


def test_rules_lists_every_rule(tmp_path: Path) -> None:
    result = run([str(SCRIPT), "rules"], tmp_path)
    assert result.code == 0, result
    for rule in RULES.values():
        assert rule.code in result.stdout
        assert rule.name in result.stdout


def test_rules_json_and_markdown_come_from_the_registry(tmp_path: Path) -> None:
    as_json = run([str(SCRIPT), "rules", "--format", "json"], tmp_path)
    assert as_json.code == 0, as_json
    assert [entry["code"] for entry in json.loads(as_json.stdout)] == list(RULES)
    as_markdown = run([str(SCRIPT), "rules", "--format", "markdown"], tmp_path)
    assert as_markdown.code == 0, as_markdown
    for rule in RULES.values():
        assert f"## {rule.code}\n" in as_markdown.stdout
        assert rule.why in as_markdown.stdout


@pytest.mark.parametrize("code", ["AWT102", "awt102"])
def test_explain_prints_the_rule_doc(code: str, tmp_path: Path) -> None:
    rule = RULES["AWT102"]
    result = run([str(SCRIPT), "explain", code], tmp_path)
    assert result.code == 0, result
    assert "AWT102 query-to-select" in result.stdout
    assert rule.summary in result.stdout
    assert rule.before in result.stdout
    assert rule.after in result.stdout


def test_explain_unknown_code(tmp_path: Path) -> None:
    result = run([str(SCRIPT), "explain", "AWT999"], tmp_path)
    assert result.code == 2, result
    assert "unknown rule code 'AWT999'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["migrate"], "Missing argument"),
        (["migrate", ""], "an empty path (an unset variable?)"),
        (["check", "app", ""], "an empty path (an unset variable?)"),
        (["check"], "Missing argument"),
        (["check", "--format", "xml", "."], "Invalid value for '--format'"),
        (["migrate", "--jobs", "0", "."], "Invalid value for '-j' / '--jobs'"),
        (["migrate", "--jobs", str(4 * (os.cpu_count() or 1) + 1), "."], "Invalid value for '-j' / '--jobs'"),
        (["migrate", "--diff", "--jobs", "100000", "."], "Invalid value for '-j' / '--jobs'"),
        (["check", "--jobs", "100000", "."], "Invalid value for '-j' / '--jobs'"),
        (["frobnicate"], "No such command"),
        (["check", "--disable", "AWT000", "."], "unknown rule code(s) AWT000"),
        (["check", "--file-timeout", "inf", "."], "Invalid value for '--file-timeout'"),
        (["check", "--file-timeout", "nan", "."], "Invalid value for '--file-timeout'"),
        (["check", "--file-timeout", "1e10", "."], "Invalid value for '--file-timeout'"),
        (["check", "--max-file-mb", "nan", "."], "Invalid value for '--max-file-mb'"),
        (["check", "--max-file-mb", "inf", "."], "Invalid value for '--max-file-mb'"),
        (["migrate", "--diff", "--max-tree-mb", "nan", "."], "Invalid value for '--max-tree-mb'"),
        (["migrate", "--diff", "--max-tree-mb", "inf", "."], "Invalid value for '--max-tree-mb'"),
        (["migrate", "--diff", "--max-tree-mb", "1e400", "."], "Invalid value for '--max-tree-mb'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "x = 1\n"})
    result = run([str(SCRIPT), *args], tmp_path)
    assert result.code == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("file-timeout = inf", "file-timeout: expected a finite number of seconds"),
        ("file-timeout = nan", "file-timeout: expected a finite number of seconds"),
        ("max-file-mb = inf", "max-file-mb: expected a finite number of megabytes"),
        ("max-tree-mb = nan", "max-tree-mb: expected a finite number of megabytes"),
    ],
)
def test_non_finite_limits_in_the_config_are_config_errors(setting: str, message: str, tmp_path: Path) -> None:
    """TOML allows `inf` and `nan`: they are refused as the config's negative numbers are, naming the key."""
    write_tree(tmp_path, {"a.py": "x = 1\n", "pyproject.toml": f"[tool.awaitify]\n{setting}\n"})
    for argv in (["check", "."], ["migrate", "--diff", "."]):
        result = run([str(SCRIPT), *argv], tmp_path)
        assert result.code == 2, result
        assert message in result.stderr
        assert "internal error" not in result.stderr
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["migrate", "check"])
def test_unexpected_exception_is_one_line_and_exit_2(command: str, fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    result = (
        fake_awaitify(command, "--allow-dirty", ".", cwd=project, env={"FAKE_ENGINE_CRASH": "1"})
        if command == "migrate"
        else fake_awaitify(command, ".", cwd=project, env={"FAKE_ENGINE_CRASH": "1"})
    )
    assert result.code == 2, result
    assert "internal error: RuntimeError: the fake engine crashed on purpose" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_verbose_shows_the_traceback(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    result = fake_awaitify("-v", "check", ".", cwd=project, env={"FAKE_ENGINE_CRASH": "1"})
    assert result.code == 2, result
    assert "Traceback" in result.stderr
    assert "RuntimeError" in result.stderr


def test_verbose_after_the_command_name(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    result = fake_awaitify("check", ".", "-v", cwd=project)
    assert result.code == 0, result
    assert "project root" in result.stderr
