"""Safety of the target: awaitify never imports or runs the code it migrates, never follows symlinks
out of the given roots, and never writes outside them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from rel_helpers import PYTHON, assert_no_crash, awaitify, make_project, tree_bytes, write_tree

SERVICE = "from sqlalchemy.orm import Session\n\n\ndef save(db: Session, obj):\n    db.add(obj)\n    db.commit()\n"


def _side_effect(sentinel: Path, tag: str) -> str:
    return (
        "import pathlib\n"
        f"pathlib.Path({str(sentinel)!r}).joinpath({tag!r}).write_text('ran')\n"
        "raise SystemExit('executed!')\n"
    )


@pytest.mark.parametrize("command", ["migrate", "check"])
def test_migrated_code_is_never_imported(tmp_path: Path, command: str) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    project = make_project(tmp_path / "proj")
    files = {
        "app/__init__.py": _side_effect(sentinel, "package-init"),
        "app/models.py": _side_effect(sentinel, "models") + SERVICE,
        "app/services.py": "from app.models import *  # noqa\n" + SERVICE + _side_effect(sentinel, "services"),
        "conftest.py": _side_effect(sentinel, "conftest"),
        "setup.py": _side_effect(sentinel, "setup"),
        "app/__main__.py": _side_effect(sentinel, "main"),
    }
    write_tree(project, files)
    result = (
        awaitify(command, ".", "--allow-dirty", cwd=project, env={"PYTHONPATH": str(project)})
        if command == "migrate"
        else awaitify(command, ".", cwd=project, env={"PYTHONPATH": str(project)})
    )
    assert_no_crash(result)
    assert "executed!" not in result.output
    assert sorted(p.name for p in sentinel.iterdir()) == []


def test_installed_script_does_not_import_project_modules_named_like_its_dependencies(tmp_path: Path) -> None:
    """A project with its own `click.py`, `rich.py`, `difflib.py`... at the root, run from there."""
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    names = ["click", "rich", "libcst", "difflib", "tokenize", "json", "hashlib", "tempfile", "ast", "sqlalchemy"]
    project = make_project(tmp_path / "proj", {f"{n}.py": _side_effect(sentinel, n) for n in names})
    write_tree(project, {"app/svc.py": SERVICE})
    script = Path(PYTHON).parent / "awaitify"
    import subprocess

    from rel_helpers import cli_env

    done = subprocess.run(
        [str(script), "migrate", "app", "--allow-dirty", "-q"],
        cwd=project,
        env=cli_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in sentinel.iterdir()) == []
    assert "await db.commit()" in (project / "app" / "svc.py").read_text(encoding="utf-8")


def test_python_m_does_not_import_project_modules_named_like_its_dependencies(tmp_path: Path) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    names = ["difflib", "tokenize", "tempfile", "hashlib"]
    project = make_project(tmp_path / "proj", {f"{n}.py": _side_effect(sentinel, n) for n in names})
    write_tree(project, {"app/svc.py": SERVICE})
    result = awaitify("migrate", "app", "--allow-dirty", "-q", cwd=project)
    assert sorted(p.name for p in sentinel.iterdir()) == [], result


def test_symlinks_out_of_the_root_are_not_followed_or_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"ext_svc.py": SERVICE, "pkg/deep.py": SERVICE})
    before_outside = tree_bytes(outside)
    project = make_project(tmp_path / "proj", {"app/svc.py": SERVICE})
    (project / "app" / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    (project / "app" / "linked_file.py").symlink_to(outside / "ext_svc.py")
    (project / "app" / "up").symlink_to(tmp_path, target_is_directory=True)
    result = awaitify("migrate", "app", "--allow-dirty", cwd=project)
    assert_no_crash(result)
    assert result.code == 0, result
    assert tree_bytes(outside) == before_outside
    assert (project / "app" / "linked_file.py").is_symlink()
    assert "await db.commit()" in (project / "app" / "svc.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", ["migrate", "check"])
def test_symlinks_named_explicitly_are_not_followed(tmp_path: Path, command: str) -> None:
    """A link named on the command line is skipped as the walk skips one: naming it must not get round the root. It is
    reported as a failed path (exit 2), as a missing one is."""
    outside = tmp_path / "outside"
    write_tree(outside, {"ext_svc.py": SERVICE, "pkg/deep.py": SERVICE})
    before_outside = tree_bytes(outside)
    project = make_project(tmp_path / "proj", {"app/svc.py": SERVICE})
    (project / "app" / "link_out.py").symlink_to(outside / "ext_svc.py")
    (project / "app" / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    named = ("app/link_out.py", "app/linked_dir", "app/svc.py")
    options = ("--allow-dirty",) if command == "migrate" else ()
    result = awaitify(command, *named, *options, cwd=project)
    assert_no_crash(result)
    assert tree_bytes(outside) == before_outside
    assert (project / "app" / "link_out.py").is_symlink()
    for link in ("app/link_out.py", "app/linked_dir"):
        assert f"{link}: error: a symlink, not followed" in result.stderr, result
    assert "ext_svc" not in result.output and "deep.py" not in result.output, result
    assert result.code == 2, result
    if command == "migrate":
        assert "await db.commit()" in (project / "app" / "svc.py").read_text(encoding="utf-8")
    else:
        assert "app/svc.py:" in result.stdout, result  # svc.py was checked


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
@pytest.mark.parametrize("command", ["migrate", "check"])
def test_paths_below_a_symlinked_directory_are_not_followed(tmp_path: Path, command: str) -> None:
    """`app/linked_dir/deep.py` reaches out of the repository through `app/linked_dir` as naming the link would: left
    out and reported. Followed, it rewrote a file outside the repository, which git's checks never saw (clean tree)."""
    outside = tmp_path / "outside"
    write_tree(outside, {"pkg/deep.py": SERVICE, "pkg/sub/deeper.py": SERVICE})
    before_outside = tree_bytes(outside)
    project = make_project(tmp_path / "proj", {"app/svc.py": SERVICE})
    (project / "app" / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=project, check=True)
    named = ("app/linked_dir/deep.py", "app/linked_dir/sub", "app/svc.py")
    result = awaitify(command, *named, cwd=project)
    assert_no_crash(result)
    assert result.code == 2, result
    assert tree_bytes(outside) == before_outside
    for path in named[:2]:
        assert f"{path}: error: app/linked_dir is a symlink, not followed" in result.stderr, result
    if command == "migrate":
        assert "await db.commit()" in (project / "app" / "svc.py").read_text(encoding="utf-8")
    else:
        assert "app/svc.py:" in result.stdout and "deep" not in result.stdout, result


def test_nothing_is_written_outside_the_given_paths(tmp_path: Path) -> None:
    """Only the named directory changes: siblings, the project root, the cwd and $TMPDIR stay as they were."""
    project = make_project(tmp_path / "proj", {"app/svc.py": SERVICE, "other/svc.py": SERVICE, "top.py": SERVICE})
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    before = tree_bytes(tmp_path)
    result = awaitify("migrate", "app", "--allow-dirty", "-q", cwd=project, env={"TMPDIR": str(private_tmp)})
    assert result.code == 0, result
    after = tree_bytes(tmp_path)
    assert sorted(after) == sorted(before), "files appeared or vanished"
    changed = sorted(key for key in before if before[key] != after[key])
    assert changed == ["proj/app/svc.py"]
    assert list(private_tmp.iterdir()) == []


def test_diff_and_check_write_nothing_at_all(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", {"app/svc.py": SERVICE})
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    dirs_before = sorted(str(p) for p in tmp_path.rglob("*"))
    assert awaitify("migrate", "app", "--diff", cwd=project).code == 1
    assert awaitify("check", "app", cwd=project).code == 1
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(str(p) for p in tmp_path.rglob("*")) == dirs_before
    assert not any(name.endswith(".pyc") for _d, _s, files in os.walk(tmp_path) for name in files)
