"""discover: which files, in which order, relative to which root."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from cli_helpers import write_tree

from codemods.discover import NOT_FOLLOWED, discover, find_project_root, matches


def keys(root: Path, *paths: Path, **kwargs: object) -> list[str]:
    return list(discover(list(paths) or [root], root=root, **kwargs).files)  # type: ignore[arg-type]


def test_only_python_files_sorted(tmp_path: Path) -> None:
    names = ["b.py", "a.py", "pkg/z.py", "pkg/a.py", "README.md", "c.pyi"]
    write_tree(tmp_path, dict.fromkeys(names, ""))
    assert keys(tmp_path) == ["a.py", "b.py", "pkg/a.py", "pkg/z.py"]


@pytest.mark.parametrize(
    "excluded",
    [
        ".git",
        ".hg",
        ".venv",
        "venv",
        "env",
        ".tox",
        ".nox",
        "__pycache__",
        "build",
        "dist",
        "node_modules",
        "lib/site-packages",
        ".mypy_cache",
        ".ruff_cache",
        "awaitify.egg-info",
        "deep/nested/.venv",
    ],
)
def test_default_excludes(tmp_path: Path, excluded: str) -> None:
    write_tree(tmp_path, {"keep.py": "", f"{excluded}/skip.py": "", f"{excluded}/sub/skip2.py": ""})
    assert keys(tmp_path) == ["keep.py"]


def test_exclude_globs_by_component_and_by_path(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "app/main.py": "",
            "app/migrations/0001.py": "",
            "app/legacy/old.py": "",
            "other/legacy/x.py": "",
            "app/models_pb2.py": "",
        },
    )
    found = keys(tmp_path, exclude=["migrations", "app/legacy", "*_pb2.py"])
    assert found == ["app/main.py", "other/legacy/x.py"]


def test_include_globs_narrow_the_selection(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app/a.py": "", "app/sub/b.py": "", "scripts/c.py": ""})
    assert keys(tmp_path, include=["app/*"]) == ["app/a.py", "app/sub/b.py"]


def test_explicit_file_is_taken_as_is(tmp_path: Path) -> None:
    write_tree(tmp_path, {"build/gen.py": "", "tool": "#!/usr/bin/env python\n"})
    found = keys(tmp_path, tmp_path / "build" / "gen.py", tmp_path / "tool")
    assert found == ["build/gen.py", "tool"]


def test_naming_an_excluded_directory_walks_it(tmp_path: Path) -> None:
    write_tree(tmp_path, {"build/gen.py": "", "build/__pycache__/x.py": ""})
    assert keys(tmp_path, tmp_path / "build") == ["build/gen.py"]


def test_symlinks_are_not_followed_out_of_the_tree(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.py": "", "pkg/mod.py": ""})
    root = write_tree(tmp_path / "root", {"a.py": ""})
    (root / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    (root / "linked.py").symlink_to(outside / "secret.py")
    assert keys(root) == ["a.py"]


def test_symlinks_named_explicitly_are_not_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.py": "", "pkg/mod.py": ""})
    root = write_tree(tmp_path / "root", {"a.py": ""})
    (root / "linked_dir").symlink_to(outside / "pkg", target_is_directory=True)
    (root / "linked.py").symlink_to(outside / "secret.py")
    given = [root / "linked.py", root / "linked_dir", root / "a.py"]
    discovery = discover(given, root=root)
    assert list(discovery.files) == ["a.py"]
    assert discovery.not_followed == {str(root / "linked.py"): NOT_FOLLOWED, str(root / "linked_dir"): NOT_FOLLOWED}


def test_paths_below_a_symlinked_directory_are_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`link/sub` goes through the link as `link` would: left out, the link named as the path was written."""
    outside = write_tree(tmp_path / "outside", {"sub/mod.py": "", "top.py": ""})
    root = write_tree(tmp_path / "root", {"pyproject.toml": "", "app/a.py": ""})
    (root / "app" / "link").symlink_to(outside, target_is_directory=True)
    monkeypatch.chdir(root)
    given = [Path("app/link/sub"), Path("app/link/top.py"), root / "app" / "link" / "sub" / "mod.py", Path("app")]
    discovery = discover(given)
    assert discovery.root == root
    assert list(discovery.files) == ["app/a.py"]
    why = "is a symlink, not followed (symlinks never are: name the directory it points to)"
    assert discovery.not_followed == {
        "app/link/sub": f"app/link {why}",
        "app/link/top.py": f"app/link {why}",
        str(root / "app" / "link" / "sub" / "mod.py"): f"{root / 'app' / 'link'} {why}",
    }


def test_a_project_reached_through_a_symlink_is_walked(tmp_path: Path) -> None:
    """Only links below the project root count: the root itself, and what is above it, may be links."""
    real = write_tree(tmp_path / "real", {"pyproject.toml": "", "app/a.py": ""})
    (tmp_path / "proj").symlink_to(real, target_is_directory=True)
    discovery = discover([tmp_path / "proj" / "app"])
    assert discovery.root == tmp_path / "proj"
    assert (list(discovery.files), discovery.not_followed) == (["app/a.py"], {})


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"pkg/a.py": ""})
    (root / "pkg" / "loop").symlink_to(root, target_is_directory=True)
    assert keys(root) == ["pkg/a.py"]


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": ""})
    discovery = discover([tmp_path / "a.py", tmp_path / "nope"], root=tmp_path)
    assert list(discovery.files) == ["a.py"]
    assert discovery.missing == [str(tmp_path / "nope")]


def test_duplicate_paths_give_each_file_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pkg/a.py": ""})
    assert keys(tmp_path, tmp_path, tmp_path / "pkg", tmp_path / "pkg" / "a.py") == ["pkg/a.py"]


@pytest.mark.parametrize(
    ("marker", "start", "expected"),
    [
        ("pyproject.toml", "proj/src/pkg", "proj"),
        (".git", "proj/src/pkg", "proj"),
        (None, "proj/src/pkg", "proj/src/pkg"),
    ],
)
def test_project_root(tmp_path: Path, marker: str | None, start: str, expected: str) -> None:
    (tmp_path / start).mkdir(parents=True)
    if marker == ".git":
        (tmp_path / "proj" / ".git").mkdir()
    elif marker:
        (tmp_path / "proj" / marker).write_text("")
    # the search must stop at the nearest marker; make sure the temp dir has none of its own
    assert not any((parent / "pyproject.toml").exists() for parent in tmp_path.parents)
    assert find_project_root([tmp_path / start]) == tmp_path / expected


def test_project_root_of_a_file_is_its_directory_without_markers(tmp_path: Path) -> None:
    write_tree(tmp_path, {"d/a.py": ""})
    assert find_project_root([tmp_path / "d" / "a.py"]) == tmp_path / "d"


def test_keys_are_posix_and_relative_to_the_root(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "", "src/pkg/mod.py": ""})
    discovery = discover([tmp_path / "src" / "pkg"])
    assert discovery.root == tmp_path
    assert list(discovery.files) == ["src/pkg/mod.py"]
    assert discovery.files["src/pkg/mod.py"] == tmp_path / "src" / "pkg" / "mod.py"


def test_relative_given_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"pyproject.toml": "", "pkg/mod.py": ""})
    monkeypatch.chdir(tmp_path / "pkg")
    discovery = discover([Path("."), Path("../pkg/mod.py")])
    assert list(discovery.files) == ["pkg/mod.py"]
    assert os.path.isabs(discovery.files["pkg/mod.py"])


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("a/migrations/x.py", ["migrations"], True),
        ("a/b.py", ["a/b.py"], True),
        ("a/b.py", ["./a/"], True),
        ("a/b.py", ["b"], False),
        ("a/bb/c.py", ["a/b"], False),
        ("a/x_pb2.py", ["*_pb2.py"], True),
        ("a/b.py", [""], False),
    ],
)
def test_matches(path: str, patterns: list[str], expected: bool) -> None:
    assert matches(path, patterns) is expected


def test_unlistable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # tests run as root, where chmod 000 does not stop a listing: make scandir refuse instead
    write_tree(tmp_path, {"ok/a.py": "", "locked/b.py": ""})
    real_scandir = os.scandir

    def scandir(path: object) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    discovery = discover([tmp_path], root=tmp_path)
    assert list(discovery.files) == ["ok/a.py"]
    assert discovery.unreadable == {str(tmp_path / "locked"): "cannot list directory: Permission denied"}


def test_a_package_given_without_a_project_marker_is_named_from_its_parent(tmp_path: Path) -> None:
    """`awaitify migrate app/` where app/ has __init__.py and no pyproject/.git above: keys keep `app/`."""
    package = tmp_path / "outer" / "app"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "db.py").write_text("x = 1\n")
    from codemods.discover import find_project_root

    root = find_project_root([package])
    assert root == tmp_path / "outer"
    assert (package / "db.py").relative_to(root).as_posix() == "app/db.py"


# -- the walk checks only what each entry adds; the reference checks every component and leading path ----------
def _reference_walk(top: Path, root: Path, excludes: list[str]) -> list[str]:
    """The walk as it was (every entry matched whole with `matches`), to compare with."""
    from codemods.discover import DEFAULT_EXCLUDES, _key, matches

    patterns = [*DEFAULT_EXCLUDES, *excludes]

    def excluded(path: Path) -> bool:
        if matches(path.relative_to(top).as_posix(), [p for p in patterns if "/" not in p.strip("/")]):
            return True
        slashed = [p for p in patterns if "/" in p.strip("/")]
        return bool(slashed) and matches(_key(path, root), slashed)

    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        current = Path(dirpath)
        dirnames[:] = [name for name in sorted(dirnames) if not excluded(current / name)]
        found += [_key(current / n, root) for n in sorted(filenames) if n.endswith(".py") and not excluded(current / n)]
    return sorted(found)


WORDS = ["app", "legacy", "build", "tests", "old_x", "gen", "migrations"]
PATTERN_PIECES = ["app", "legacy", "build", "tests", "old_*", "*_pb2.py", "gen", "migrations", "*", "**", "t*.py"]


def _random_pattern(rnd: random.Random) -> str:
    pattern = "/".join(rnd.choice(PATTERN_PIECES) for _ in range(rnd.randint(1, 3)))
    return rnd.choice(["", "./", "/"]) + pattern + rnd.choice(["", "/"])


@pytest.mark.parametrize("seed", range(40))
def test_the_walk_excludes_what_matching_every_path_whole_excludes(tmp_path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    root = tmp_path / "project"
    (root / ".git").mkdir(parents=True)
    for _ in range(25):
        directory = root.joinpath(*(rnd.choice(WORDS) for _ in range(rnd.randint(0, 3))))
        directory.mkdir(parents=True, exist_ok=True)
        (directory / rnd.choice(["m.py", "tests_x.py", "api_pb2.py", "old_y.py", "n.txt"])).write_text("x = 1\n")
    excludes = [_random_pattern(rnd) for _ in range(rnd.randint(0, 3))]
    for top in [root, *(p for p in sorted(root.rglob("*")) if p.is_dir() and ".git" not in p.parts)][:4]:
        found = sorted(discover([top], exclude=excludes, root=root).files)
        assert found == _reference_walk(top, root, excludes), (top, excludes)
