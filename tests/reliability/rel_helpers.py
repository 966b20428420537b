"""Helpers for the reliability tests: run the real CLI, snapshot trees, sample real Python.

Every test here runs `python -m codemods` in a subprocess, on copies in temp directories, so a crash of
the tool is an exit code and a stderr to look at, never a crash of pytest.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTHON = sys.executable
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))
TRACEBACK = "Traceback (most recent call last)"
INTERNAL_ERROR = "internal error"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(code={self.code})\n--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-6000:]}"


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKE_ENGINE", "FORCE_COLOR"))}
    env.update({"NO_COLOR": "1", "COLUMNS": "250", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra or {})
    return env


def awaitify(*args: str, cwd: Path, timeout: float = 600, env: Mapping[str, str] | None = None) -> Result:
    """Run the real CLI (`python -m codemods ARGS`) in cwd."""
    completed = subprocess.run(
        [PYTHON, "-m", "codemods", *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def assert_no_crash(result: Result) -> None:
    """Exit 0/1/2 and no traceback or internal error anywhere in the output."""
    assert result.code in (0, 1, 2), result
    assert TRACEBACK not in result.output, result
    assert INTERNAL_ERROR not in result.output, result


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create files (str as UTF-8 bytes, newlines untouched) under root; returns root."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return root


def make_project(root: Path, files: Mapping[str, str | bytes] = {}) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\n', encoding="utf-8")
    return write_tree(root, files)


def tree_bytes(root: Path, suffix: str = "") -> dict[str, bytes]:
    """Every regular file under root (symlinks not followed) by POSIX relative path."""
    out: dict[str, bytes] = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_symlink() or not name.endswith(suffix):
                continue
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return dict(sorted(out.items()))


def failed_paths(result: Result) -> set[str]:
    """Display paths of the files the CLI reported as `PATH: error: ...` on stderr."""
    return {line.split(": error: ", 1)[0] for line in result.stderr.splitlines() if ": error: " in line}


def parses(data: bytes) -> bool:
    """True when CPython 3.11 parses the file (ast decodes BOM and coding cookie itself)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def mentions_sqlalchemy(rel_path: str, data: bytes) -> bool:
    """Files that could legitimately be rewritten: they name sqlalchemy, or live in its package.

    Anything else is unrelated code and must come out byte-identical.
    """
    first = rel_path.split("/", 1)[0]
    return first == "sqlalchemy" or b"sqlalchemy" in data.lower()


def site_packages_files(site: Path = SITE_PACKAGES) -> list[str]:
    """Every regular `.py` file below site-packages (symlinks skipped), sorted POSIX relative paths."""
    found = []
    for dirpath, dirnames, filenames in os.walk(site):
        dirnames[:] = sorted(d for d in dirnames if not (Path(dirpath) / d).is_symlink())
        for name in filenames:
            path = Path(dirpath) / name
            if name.endswith(".py") and not path.is_symlink() and path.is_file():
                found.append(path.relative_to(site).as_posix())
    return sorted(found)


def _rank(rel_path: str, seed: str) -> str:
    return hashlib.sha256(f"{seed}:{rel_path}".encode()).hexdigest()


def sample_site_packages(
    count: int, sqlalchemy_count: int, seed: str = "awaitify-reliability", max_bytes: int = 40_000
) -> list[str]:
    """A deterministic sample: `sqlalchemy_count` files of SQLAlchemy, the rest from everything else.

    Chosen by a hash of the path (stable across runs and machines with the same venv), big files left
    out so that the slice stays fast.
    """
    files = [rel for rel in site_packages_files() if (SITE_PACKAGES / rel).stat().st_size <= max_bytes]
    sqla = sorted((r for r in files if r.startswith("sqlalchemy/")), key=lambda r: _rank(r, seed))
    other = sorted((r for r in files if not r.startswith("sqlalchemy/")), key=lambda r: _rank(r, seed))
    return sorted(sqla[:sqlalchemy_count] + other[: count - sqlalchemy_count])


def copy_files(rel_paths: Sequence[str], source: Path, target: Path) -> None:
    for rel in rel_paths:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, dest)


def run_once(base: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Run `build(directory)` once per test session, even under pytest-xdist, and return the directory.

    `base` is a directory every worker shares (the parent of tmp_path_factory's base temp). The first
    worker to take the lock builds; the others wait, then reuse what it left (marked by a `.done` file).
    """
    import fcntl

    directory = base / f"shared-{name}"
    with open(base / f"shared-{name}.lock", "w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (directory / ".done").exists():
                if directory.exists():
                    shutil.rmtree(directory)
                directory.mkdir(parents=True)
                build(directory)
                (directory / ".done").write_text("ok", encoding="utf-8")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return directory


def shared_base(tmp_path_factory: Any) -> Path:
    """A directory shared by all xdist workers of this session (pytest's own base temp otherwise)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def save_result(directory: Path, result: Result) -> None:
    (directory / ".result.json").write_text(json.dumps(dataclasses.asdict(result)), encoding="utf-8")


def load_result(directory: Path) -> Result:
    return Result(**json.loads((directory / ".result.json").read_text(encoding="utf-8")))


SERVICE = """\
from sqlalchemy.orm import Session


def save_{i}(db: Session, obj):
    db.add(obj)
    db.commit()
    db.refresh(obj)
    return obj
"""
PLAIN = "def plain_{i}():\n    return {i}\n"


def many_files(root: Path, count: int) -> Path:
    """A project of `count` modules, three in four of them services on a sync Session, in 10 packages."""
    make_project(root)
    for i in range(count):
        path = root / "app" / f"pkg{i % 10}" / f"mod_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((SERVICE if i % 4 else PLAIN).format(i=i), encoding="utf-8")
    return root


def start_migrate(repo: Path, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    """`migrate app --allow-dirty -q --jobs 2` started in `repo`, in a process group of its own (to signal whole)."""
    return subprocess.Popen(
        [PYTHON, "-m", "codemods", "migrate", "app", "--allow-dirty", "-q", "--jobs", "2"],
        cwd=repo,
        env=cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
