"""`awaitify check` output formats and exit codes, with the stand-in engine (LEFTOVER → AWT301)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import snapshot, validate_sarif, write_tree

from codemods.rules.registry import RULES

TREE = {
    "app/a.py": "x = 1\ny = call()  # LEFTOVER\n",
    "app/b.py": "z = 2  # LEFTOVER\n",
    "app/clean.py": "ok = True\n",
}


def test_text_lists_leftovers_and_exits_1(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    before = snapshot(project)
    result = fake_awaitify("check", "app", cwd=project)
    assert result.code == 1, result
    assert result.stdout.splitlines() == [
        "app/a.py:2:15: AWT301 leftover: sync call",
        "app/b.py:1:10: AWT301 leftover: sync call",
    ]
    assert "Found 2 leftover(s) in 2 file(s) (3 checked)." in result.stderr
    assert snapshot(project) == before


def test_clean_tree_exits_0(fake_awaitify, project: Path) -> None:
    write_tree(project, {"app/clean.py": "ok = True\n"})
    result = fake_awaitify("check", "app", cwd=project)
    assert result.code == 0, result
    assert result.stdout == ""


def test_no_python_files_warns(fake_awaitify, project: Path) -> None:
    write_tree(project, {"docs/readme.md": "# hi\n"})
    result = fake_awaitify("check", "docs", cwd=project)
    assert result.code == 0, result
    assert "no Python files found under docs" in result.stderr


def test_paths_are_relative_to_the_working_directory(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    result = fake_awaitify("check", ".", cwd=project / "app")
    assert result.code == 1, result
    assert result.stdout.splitlines()[0] == "a.py:2:15: AWT301 leftover: sync call"


def test_quiet_prints_results_only(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    result = fake_awaitify("check", "-q", "app", cwd=project)
    assert result.code == 1, result
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 2


def test_suppression_comments(fake_awaitify, project: Path) -> None:
    write_tree(
        project,
        {
            "a.py": "x = 1  # LEFTOVER  # awaitify: ignore[AWT301]\n"
            "y = 2  # LEFTOVER  # awaitify: ignore\n"
            "z = 3  # LEFTOVER  # awaitify: ignore[AWT302]\n",
        },
    )
    result = fake_awaitify("check", ".", cwd=project)
    assert result.code == 1, result
    assert result.stdout.splitlines() == ["a.py:3:10: AWT301 leftover: sync call"]


def test_disabled_rule_from_config(fake_awaitify, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.awaitify]\ndisable = ["AWT301"]\n')
    write_tree(project, TREE)
    assert fake_awaitify("check", "app", cwd=project).code == 0


def test_json(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    result = fake_awaitify("check", "--format", "json", "app", cwd=project)
    assert result.code == 1, result
    document = json.loads(result.stdout)
    assert document["summary"] == {"files": 3, "findings": 2, "failed": 0, "by_rule": {"AWT301": 2}}
    assert document["findings"][0] == {
        "path": "app/a.py",
        "line": 2,
        "col": 15,
        "code": "AWT301",
        "name": RULES["AWT301"].name,
        "message": "leftover: sync call",
    }
    assert document["errors"] == []


_GITHUB = re.compile(
    r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
    r"title=(?P<title>AWT\d{3})::(?P<msg>.+)$"
)


def test_github_annotations(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    result = fake_awaitify("check", "--format", "github", "app", cwd=project)
    assert result.code == 1, result
    matches = [_GITHUB.match(line) for line in result.stdout.splitlines()]
    assert all(matches), result.stdout
    assert [(m["file"], m["line"], m["col"], m["title"]) for m in matches if m] == [
        ("app/a.py", "2", "15", "AWT301"),
        ("app/b.py", "1", "10", "AWT301"),
    ]


@pytest.mark.parametrize("output_format", ["text", "github"])
def test_a_newline_in_a_file_name_keeps_one_line_per_finding(fake_awaitify, project: Path, output_format: str) -> None:
    write_tree(project, {"app/new\nline.py": "x = call()  # LEFTOVER\n", "app/tab\there.py": "y = 1  # LEFTOVER\n"})
    result = fake_awaitify("check", "--format", output_format, "app", cwd=project)
    assert result.code == 1, result
    if output_format == "text":  # quoted as `git diff` quotes such names
        assert result.stdout.splitlines() == [
            '"app/new\\nline.py":1:15: AWT301 leftover: sync call',
            '"app/tab\\there.py":1:10: AWT301 leftover: sync call',
        ]
    else:
        files = [match["file"] for match in map(_GITHUB.match, result.stdout.splitlines()) if match]
        assert files == ["app/new%0Aline.py", "app/tab\there.py"], result.stdout


def _validate_sarif(text: str) -> dict:
    document = json.loads(text)
    validate_sarif(document)
    return document


def test_sarif_validates_and_locates(fake_awaitify, project: Path) -> None:
    write_tree(project, TREE)
    result = fake_awaitify("check", "--format", "sarif", "app", cwd=project)
    assert result.code == 1, result
    document = _validate_sarif(result.stdout)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == list(RULES)
    first = run["results"][0]
    assert first["ruleId"] == "AWT301"
    assert rules[first["ruleIndex"]]["id"] == "AWT301"
    assert first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/a.py"
    assert location["region"] == {"startLine": 2, "startColumn": 15}
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_of_a_clean_tree_validates(fake_awaitify, project: Path) -> None:
    write_tree(project, {"ok.py": "x = 1\n"})
    result = fake_awaitify("check", "--format", "sarif", ".", cwd=project)
    assert result.code == 0, result
    assert _validate_sarif(result.stdout)["runs"][0]["results"] == []


@pytest.mark.parametrize("output_format", ["text", "json", "github", "sarif"])
def test_failed_files_exit_2_in_every_format(fake_awaitify, project: Path, output_format: str) -> None:
    """Files that cannot be read or parsed, a missing path and a symlink named on the command line (not followed)."""
    write_tree(project, {**TREE, "app/bad.py": "def f(:\n", "app/latin.py": b"s = '\xe9'\n"})
    (project / "link.py").symlink_to(project / "app" / "a.py")
    result = fake_awaitify("check", "--format", output_format, "app", "missing_dir", "link.py", cwd=project)
    assert result.code == 2, result
    assert "app/bad.py: error: syntax error" in result.stderr
    assert "app/latin.py: error: not valid utf-8" in result.stderr
    assert "missing_dir: error: no such file or directory" in result.stderr
    assert "link.py: error: a symlink, not followed" in result.stderr
    assert "Traceback" not in result.stderr
    if output_format == "json":
        errors = {e["path"] for e in json.loads(result.stdout)["errors"]}
        assert errors == {"app/bad.py", "app/latin.py", "missing_dir", "link.py"}
    elif output_format == "sarif":
        document = _validate_sarif(result.stdout)
        assert document["runs"][0]["invocations"][0]["executionSuccessful"] is False
        notified = document["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        assert {n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notified} == {
            "app/bad.py",
            "app/latin.py",
            "missing_dir",
            "link.py",
        }
        assert len(document["runs"][0]["results"]) == 2  # the readable files were still checked
    elif output_format == "github":
        assert "::error file=app/bad.py,title=awaitify::syntax error" in result.stdout
        assert "::error file=link.py,title=awaitify::a symlink, not followed" in result.stdout
    else:
        assert len(result.stdout.splitlines()) == 2


def test_check_never_writes(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = OLD_CALL(1)  # LEFTOVER\n", "b.py": b"\xef\xbb\xbfy = 1\r\n"})
    before = snapshot(project)
    fake_awaitify("check", "--format", "sarif", ".", cwd=project)
    assert snapshot(project) == before
