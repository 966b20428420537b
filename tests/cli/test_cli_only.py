"""`--only GLOB` on the command line and in `[tool.awaitify]`: the real CLI and engine on the staged fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import snapshot

REPO = Path(__file__).resolve().parents[2]
SHOP = REPO / "fixtures" / "staged" / "shop"


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.py"))}


@pytest.fixture
def shop(project: Path) -> Path:
    shutil.copytree(SHOP / "before", project, dirs_exist_ok=True)
    return project


def test_migrate_only_writes_the_first_stage(awaitify, shop: Path) -> None:
    result = awaitify("migrate", "--allow-dirty", "--only", "shop/items/**", ".", cwd=shop)
    assert result.code == 0, result
    assert _tree(shop) == _tree(SHOP / "stage1")


def test_diff_with_only_prints_only_the_stage_and_writes_nothing(awaitify, shop: Path) -> None:
    before = snapshot(shop)
    result = awaitify("migrate", "--diff", "--only", "shop/items/**", ".", cwd=shop)
    assert result.code == 1, result
    assert snapshot(shop) == before
    touched = sorted(line[6:] for line in result.stdout.splitlines() if line.startswith("+++ b/"))
    assert touched == ["shop/items/router.py", "shop/items/service.py"]


def test_config_only_is_used_and_the_command_line_replaces_it(awaitify, shop: Path) -> None:
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.awaitify]\nonly = ["shop/items/**"]\n')
    from_config = awaitify("migrate", "--diff", ".", cwd=shop)
    assert from_config.code == 1, from_config
    assert "+++ b/shop/items/router.py" in from_config.stdout and "shop/users" not in from_config.stdout
    replaced = awaitify("migrate", "--diff", "--only", "shop/users/**", "--only", "shop/admin/**", ".", cwd=shop)
    assert "+++ b/shop/users/router.py" in replaced.stdout and "+++ b/shop/items" not in replaced.stdout


def test_blocked_files_are_reported_and_left_alone(awaitify, shop: Path) -> None:
    before = snapshot(shop)
    result = awaitify("migrate", "--allow-dirty", "--only", "shop/users/**", ".", cwd=shop)
    assert result.code == 0, result
    assert snapshot(shop) == before
    assert "AWT215" in result.stdout + result.stderr
    assert "shop/admin/router.py is out of scope" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("glob", "reason"),
    [
        ("", "an empty glob"),
        ("/etc/*.py", "an absolute path"),
        ("../other/**", "`..` leaves the project"),
        ("shop/[users/**", "unbalanced"),
    ],
)
@pytest.mark.parametrize("command", ["migrate", "check"])
def test_bad_globs_are_usage_errors(awaitify, shop: Path, command: str, glob: str, reason: str) -> None:
    before = snapshot(shop)
    result = awaitify(command, "--only", glob, ".", cwd=shop)
    assert result.code == 2, result
    assert "--only" in result.stderr and reason in result.stderr
    assert snapshot(shop) == before


@pytest.mark.parametrize("command", ["migrate", "check"])
def test_a_glob_matching_nothing_is_an_error(awaitify, shop: Path, command: str) -> None:
    before = snapshot(shop)
    result = awaitify(command, "--only", "shop/user/**", "--only", "shop/items/**", ".", cwd=shop)
    assert result.code == 2, result
    assert "matching no file" in result.stderr and "'shop/user/**'" in result.stderr
    assert "'shop/items/**'" not in result.stderr
    assert snapshot(shop) == before


def test_bad_config_only_is_a_usage_error(awaitify, shop: Path) -> None:
    pyproject = shop / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.awaitify]\nonly = ["../x"]\n')
    result = awaitify("check", ".", cwd=shop)
    assert result.code == 2, result
    assert "only" in result.stderr and "`..` leaves the project" in result.stderr


def test_check_only_reports_the_files_in_scope(awaitify, shop: Path) -> None:
    result = awaitify("check", "--no-cache", "--format", "json", "--only", "shop/items/**", ".", cwd=shop)
    assert result.code == 1, result
    import json

    paths = {finding["path"] for finding in json.loads(result.stdout)["findings"]}
    assert paths and all(path.startswith("shop/items/") for path in paths)


def test_help_documents_only(awaitify, shop: Path) -> None:
    for command in ("migrate", "check"):
        result = awaitify(command, "--help", cwd=shop)
        assert "--only GLOB" in result.stdout
