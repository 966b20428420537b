"""Helpers for the ecosystem tests: run commands, copy the fixture project, build things once per run."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SHOP = HERE / "fixtures" / "shop"
PYTHON = sys.executable
# Not a timing assertion: only turns a hung subprocess into a failure instead of a stuck suite.
HANG_GUARD_SECONDS = 600


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # shown by pytest when an assertion fails
        return f"Result(code={self.code})\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORCE_COLOR", "PYTHONPATH", "VIRTUAL_ENV"))}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra or {})
    return env


def run(argv: Sequence[str | Path], cwd: Path, env: Mapping[str, str] | None = None) -> Result:
    completed = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=HANG_GUARD_SECONDS,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def awaitify(*args: str | Path, cwd: Path) -> Result:
    """The CLI of this checkout (`python -m codemods`)."""
    return run([PYTHON, "-m", "codemods", *args], cwd, {"PYTHONPATH": str(REPO)})


def copy_shop(dest: Path) -> Path:
    """A fresh copy of the small sync FastAPI + SQLAlchemy project under tests/ecosystem/fixtures/shop."""
    shutil.copytree(SHOP, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    result = run(["git", *args], cwd, env)
    assert result.code == 0, result
    return result.stdout


def build_once(shared: Path, name: str, builder: Callable[[Path], None]) -> Path:
    """`shared/name`, built by `builder` the first time any xdist worker asks (a file lock orders them)."""
    shared.mkdir(parents=True, exist_ok=True)
    target = shared / name
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            builder(target)
            (target / ".done").touch()
    return target


def awaitify_here(*args: str | Path, cwd: Path) -> Result:
    """The CLI in this process (click's runner): no 2 s engine import per call, same exit codes and streams."""
    from click.testing import CliRunner

    from codemods.cli import main

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"}).invoke(
            main, [str(a) for a in args], catch_exceptions=False
        )
    finally:
        os.chdir(previous)
    return Result(result.exit_code, result.stdout, result.stderr)
