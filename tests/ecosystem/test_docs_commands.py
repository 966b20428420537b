"""The commands and recipes in docs/ci.md and docs/integrations.md run as written."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from eco_helpers import REPO, copy_shop, run

DOCS = REPO / "docs"
BIN = Path(sys.executable).parent  # the awaitify console script of this environment


def _blocks(doc: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / doc).read_text(encoding="utf-8"), flags=re.S)


def _awaitify_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = raw.strip().removeprefix("- ").removeprefix("run: ").strip()
        if line.startswith("awaitify "):
            lines.append(line.split("  #", 1)[0].strip())
    return lines


def _ci_commands() -> list[str]:
    return [line for block in _blocks("ci.md", "(?:sh|yaml)") for line in _awaitify_lines(block)]


def test_the_yaml_recipes_parse() -> None:
    blocks = _blocks("ci.md", "yaml") + _blocks("integrations.md", "yaml")
    assert len(blocks) >= 4
    for block in blocks:
        assert yaml.safe_load(block) is not None


def test_the_recipes_cover_every_ci_format() -> None:
    commands = " ".join(_ci_commands())
    for option in ("--format github", "--format sarif", "--format gitlab", "--baseline", "--update-baseline"):
        assert option in commands


@pytest.mark.parametrize("command", _ci_commands())
def test_each_ci_command_runs(command: str, tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    if "--baseline" in command and "--update-baseline" not in command:
        baseline = run(
            ["sh", "-c", "awaitify check --baseline awaitify-baseline.json --update-baseline app/"],
            shop,
            {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        )
        assert baseline.code == 0, baseline
    result = run(["sh", "-c", command], shop, {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"})
    expected = {0} if "|| test $? -eq 1" in command or "--update-baseline" in command else {0, 1}
    if "--baseline" in command and "--update-baseline" not in command:
        expected = {0}  # nothing new since the baseline
    assert result.code in expected, (command, result)
    assert "Error" not in result.stderr and "No such option" not in result.stderr, result


def test_the_shell_gate_script(tmp_path: Path) -> None:
    (script,) = [b for b in _blocks("ci.md", "sh") if b.startswith("#!/bin/sh")]
    shop = copy_shop(tmp_path / "shop")
    gate = shop / "gate.sh"
    gate.write_text(script, encoding="utf-8")
    env = {"PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    failing = run(["sh", str(gate)], shop, env)
    assert failing.code == 1 and "AWT301" in failing.stdout and "awaitify migrate app/" in failing.stderr, failing
    assert run(["awaitify", "migrate", "-q", "app/"], shop, env).code == 0
    passing = run(["sh", str(gate)], shop, env)
    assert (passing.code, passing.stdout) == (0, ""), passing
