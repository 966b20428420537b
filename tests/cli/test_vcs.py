"""vcs: which target files have uncommitted changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import write_tree

from codemods.vcs import _parse_porcelain, dirty_files

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


def committed_repo(root: Path, files: dict[str, str]) -> Path:
    write_tree(root, files)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    return root


def test_clean_tree_has_no_dirty_files(tmp_path: Path) -> None:
    root = committed_repo(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 1\n"})
    assert dirty_files([root / "a.py", root / "b.py"]) == []


def test_modified_staged_and_untracked_files_are_dirty(tmp_path: Path) -> None:
    root = committed_repo(tmp_path, {"a.py": "a = 1\n", "b.py": "b = 1\n", "c.py": "c = 1\n", "d.py": ""})
    (root / "a.py").write_text("a = 2\n")
    (root / "b.py").write_text("b = 2\n")
    git(root, "add", "b.py")
    (root / "new.py").write_text("n = 1\n")
    targets = [root / name for name in ("a.py", "b.py", "c.py", "new.py")]
    assert dirty_files(targets) == [
        (root / "a.py").resolve(),
        (root / "b.py").resolve(),
        (root / "new.py").resolve(),
    ]


def test_dirty_files_outside_the_targets_do_not_count(tmp_path: Path) -> None:
    root = committed_repo(tmp_path, {"a.py": "a = 1\n", "other.py": "o = 1\n"})
    (root / "other.py").write_text("o = 2\n")
    assert dirty_files([root / "a.py"]) == []


def test_not_a_repository_is_never_dirty(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "a = 1\n"})
    assert dirty_files([tmp_path / "a.py"]) == []


def test_porcelain_renames_skip_the_original_name(tmp_path: Path) -> None:
    output = "R  new.py\0old.py\0 M a b.py\0?? dir/x.py\0"
    assert _parse_porcelain(output, tmp_path) == [
        (tmp_path / "new.py").resolve(),
        (tmp_path / "a b.py").resolve(),
        (tmp_path / "dir/x.py").resolve(),
    ]
