"""The hooks of .pre-commit-hooks.yaml, run by pre-commit itself from this repository (HEAD commit)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from eco_helpers import REPO, Result, copy_shop, git, run

# builds and installs into fresh environments: `-m 'not slow'` skips it in quick local loops
pytestmark = pytest.mark.slow

CLEAN = """\
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def names(db: AsyncSession, model) -> list[str]:
    return list((await db.scalars(select(model.name))).all())
"""


def _pre_commit(repo: Path, home: Path, *args: str) -> Result:
    return run([sys.executable, "-m", "pre_commit", *args], repo, {"PRE_COMMIT_HOME": str(home)})


@pytest.fixture
def hooked_repo(tmp_path: Path, shared_dir: Path) -> tuple[Path, Path]:
    """A git repository whose .pre-commit-config.yaml uses this checkout's HEAD as the hook source."""
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        pytest.fail("pre-commit is not installed: it is a dev dependency (pip install pre-commit)")
    head = git("rev-parse", "HEAD", cwd=REPO).strip()
    if git("ls-tree", "--name-only", head, ".pre-commit-hooks.yaml", cwd=REPO).strip() == "":
        pytest.fail(".pre-commit-hooks.yaml is not committed at HEAD: pre-commit clones the commit")
    repo = copy_shop(tmp_path / "repo")
    git("init", "-q", ".", cwd=repo)
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {REPO}\n"
        f"    rev: {head}\n"
        "    hooks:\n"
        "      - id: awaitify-check\n"
        "      - id: awaitify-migrate\n",
        encoding="utf-8",
    )
    git("add", ".", cwd=repo)
    # pre-commit locks its store, so the xdist workers share one hook environment
    return repo, shared_dir / "pre-commit-home"


def test_check_hook_fails_on_a_session_query(hooked_repo: tuple[Path, Path]) -> None:
    repo, home = hooked_repo
    result = _pre_commit(repo, home, "run", "awaitify-check", "--files", "app/db.py", "app/main.py")
    assert result.code == 1, result
    assert "AWT301" in result.stdout and "db.query()" in result.stdout, result
    assert "Failed" in result.stdout


def test_check_hook_passes_on_a_clean_file(hooked_repo: tuple[Path, Path]) -> None:
    repo, home = hooked_repo
    (repo / "app" / "clean.py").write_text(CLEAN, encoding="utf-8")
    git("add", "app/clean.py", cwd=repo)
    result = _pre_commit(repo, home, "run", "awaitify-check", "--files", "app/clean.py")
    assert result.code == 0, result
    assert "Passed" in result.stdout


def test_migrate_hook_rewrites_then_passes(hooked_repo: tuple[Path, Path]) -> None:
    repo, home = hooked_repo
    first = _pre_commit(repo, home, "run", "awaitify-migrate", "--all-files")
    assert first.code == 1, first  # files were modified by this hook
    assert "files were modified by this hook" in first.stdout, first
    main = (repo / "app" / "main.py").read_text(encoding="utf-8")
    assert "async def create_order" in main and "await customer_by_name(db, name)" in main
    assert "db.query(" not in main
    git("add", "-u", cwd=repo)
    second = _pre_commit(repo, home, "run", "--all-files")  # both hooks: nothing left to change or report
    assert second.code == 0, second
    assert shutil.which("git")
