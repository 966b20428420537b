"""vcs: which target files have uncommitted changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import write_tree

from codemods import vcs
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


def test_ignored_files_are_dirty_and_named_as_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git cannot give back a file it ignores: whether its pattern names it or one of its directories."""
    files = {".gitignore": "local_*.py\ngen/\n", "a.py": "a = 1\n", "gen/kept.py": "k = 1\n"}
    root = committed_repo(tmp_path, files)
    git(root, "add", "-f", "gen/kept.py")  # tracked although ignored: git has it
    git(root, "commit", "-q", "-m", "kept")
    write_tree(root, {"app/local_db.py": "d = 1\n", "gen/new.py": "n = 1\n", "gen/sub/deep.py": "d = 1\n"})
    names = ["a.py", "app/local_db.py", "gen/kept.py", "gen/new.py", "gen/sub/deep.py"]
    calls = _counting_git(monkeypatch)
    ignored = [(root / name).resolve() for name in ("app/local_db.py", "gen/new.py", "gen/sub/deep.py")]
    assert vcs.unsafe_files([root / name for name in names]) == {path: vcs.IGNORED for path in ignored}
    assert dirty_files([root / name for name in names]) == ignored
    assert [args[0] for _, args in calls].count("status") == 2  # one question per call, not one per file


def test_porcelain_renames_skip_the_original_name(tmp_path: Path) -> None:
    output = "R  new.py\0old.py\0 M a b.py\0?? dir/x.py\0!! gen/\0"
    assert _parse_porcelain(output, tmp_path) == [
        ("R ", (tmp_path / "new.py").resolve()),
        (" M", (tmp_path / "a b.py").resolve()),
        ("??", (tmp_path / "dir/x.py").resolve()),
        ("!!", (tmp_path / "gen").resolve()),
    ]


def _counting_git(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, tuple[str, ...]]]:
    calls: list[tuple[Path, tuple[str, ...]]] = []
    real = vcs._git

    def counted(cwd: Path, *args: str) -> str | None:
        calls.append((cwd, args))
        return real(cwd, *args)

    monkeypatch.setattr(vcs, "_git", counted)
    return calls


NESTED = {f"pkg{n}/sub/m{n}.py": "x = 1\n" for n in range(4)} | {"top.py": "t = 1\n"}


def test_one_git_question_for_a_tree_of_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """git finds a directory's repository by walking up to the first `.git`: directories with none on the way
    up to their common ancestor share its answer."""
    root = committed_repo(tmp_path / "repo", NESTED)
    (root / "pkg2" / "sub" / "m2.py").write_text("x = 2\n")
    calls = _counting_git(monkeypatch)
    assert dirty_files([root / name for name in NESTED]) == [(root / "pkg2" / "sub" / "m2.py").resolve()]
    assert [args[0] for _, args in calls] == ["rev-parse", "status"]

    plain = tmp_path / "plain"
    write_tree(plain, NESTED)
    calls.clear()
    assert dirty_files([plain / name for name in NESTED]) == []
    assert [args[0] for _, args in calls] == ["rev-parse"]


def test_nested_repositories_are_asked_on_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outer = committed_repo(tmp_path / "outer", {"a.py": "a = 1\n", "lib/b.py": "b = 1\n"})
    inner = committed_repo(outer / "vendor" / "inner", {"c.py": "c = 1\n", "deep/d.py": "d = 1\n"})
    (inner / "deep" / "d.py").write_text("d = 2\n")
    (outer / "lib" / "b.py").write_text("b = 2\n")
    targets = [outer / "a.py", outer / "lib" / "b.py", inner / "c.py", inner / "deep" / "d.py"]
    assert dirty_files(targets) == sorted([(outer / "lib" / "b.py").resolve(), (inner / "deep" / "d.py").resolve()])

    loose = tmp_path / "loose"  # not a repository, holding one
    write_tree(loose, {"e.py": "e = 1\n"})
    nested = committed_repo(loose / "nested", {"f.py": "f = 1\n"})
    (nested / "f.py").write_text("f = 2\n")
    calls = _counting_git(monkeypatch)
    assert dirty_files([loose / "e.py", nested / "f.py"]) == [(nested / "f.py").resolve()]
    assert [args[0] for _, args in calls] == ["rev-parse", "rev-parse", "status"]


def test_ceiling_directories_make_git_answer_for_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = committed_repo(tmp_path / "repo", NESTED)
    (root / "pkg1" / "sub" / "m1.py").write_text("x = 2\n")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(root / "pkg1"))  # git finds no repository from pkg1/sub
    calls = _counting_git(monkeypatch)
    dirty_files([root / name for name in NESTED])
    asked = [cwd for cwd, args in calls if args[0] == "rev-parse"]
    assert sorted(asked) == sorted({(root / name).parent.resolve() for name in NESTED})
