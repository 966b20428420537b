"""The migration as a LibCST codemod: `python -m libcst.tool codemod` runs it, CodemodTest checks it."""

from __future__ import annotations

import sys
from pathlib import Path

from eco_helpers import REPO, Result, awaitify_here, copy_shop, run
from libcst.codemod import CodemodTest

from codemods.libcst_codemods import MigrateToAsyncSession

BEFORE = """\
from sqlalchemy.orm import Session


def rename(db: Session, user_id: int, name: str) -> None:
    user = db.get(User, user_id)
    user.name = name
    db.commit()
"""
AFTER = """\
from sqlalchemy.ext.asyncio import AsyncSession


async def rename(db: AsyncSession, user_id: int, name: str) -> None:
    user = await db.get(User, user_id)
    user.name = name
    await db.commit()
"""


class TestMigrateToAsyncSession(CodemodTest):
    TRANSFORM = MigrateToAsyncSession

    def test_rewrites_a_module(self) -> None:
        self.assertCodemod(BEFORE, AFTER)

    def test_leaves_async_code_alone(self) -> None:
        self.assertCodemod(AFTER, AFTER)

    def test_review_items_become_warnings(self) -> None:
        before = "from sqlalchemy.orm import Session\n\n\ndef drop(db: Session, user) -> None:\n    db.expire(user)\n"
        after = before.replace("Session", "AsyncSession").replace(
            "from sqlalchemy.orm import", "from sqlalchemy.ext.asyncio import"
        )
        after = after.replace(
            "    db.expire(user)\n",
            "    db.expire(user)  # awaitify: review AWT202 expire() makes the next attribute read lazy-load; "
            "use await refresh()\n",
        )
        warning = "AWT202 line 5: expire() makes the next attribute read lazy-load; use await refresh()"
        self.assertCodemod(before, after, expected_warnings=[warning])


def _libcst_tool(*args: str, cwd: Path) -> Result:
    return run([sys.executable, "-m", "libcst.tool", "codemod", *args], cwd, {"PYTHONPATH": str(REPO)})


def test_libcst_tool_finds_it_through_the_config_modules(tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    (shop / ".libcst.codemod.yaml").write_text(
        "generated_code_marker: '@generated'\nformatter: ['true']\nblacklist_patterns: []\n"
        "modules:\n  - 'libcst.codemod.commands'\n  - 'codemods'\nrepo_root: '.'\n",
        encoding="utf-8",
    )
    result = _libcst_tool("libcst_codemods.MigrateToAsyncSession", "--no-format", "-j", "1", "app/db.py", cwd=shop)
    assert result.code == 0, result
    assert "Transformed 1 files successfully" in result.stderr, result
    db = (shop / "app" / "db.py").read_text(encoding="utf-8")
    assert "async def get_db():" in db and "await db.close()" in db
    assert "(await db.scalars(select(Customer).where(Customer.name == name).limit(1))).first()" in db
    assert 'create_async_engine("sqlite+aiosqlite:///shop.db")' in db


def test_libcst_tool_runs_it_by_dotted_name_and_reports_review_items(tmp_path: Path) -> None:
    shop = copy_shop(tmp_path / "shop")
    main = shop / "app" / "main.py"
    main.write_text(main.read_text(encoding="utf-8").replace("db.refresh(order)\n", "db.expire(order)\n"))
    target = "codemods.libcst_codemods.MigrateToAsyncSession"
    result = _libcst_tool("-x", target, "--no-format", "-j", "1", "app", cwd=shop)
    assert result.code == 0, result
    assert "Transformed 3 files successfully" in result.stderr
    assert "WARNING: AWT202 line 13:" in result.stderr, result
    text = main.read_text(encoding="utf-8")
    assert "async def add_order(db: AsyncSession" in text
    assert "db.expire(order)  # awaitify: review AWT202" in text


def test_a_module_it_cannot_parse_is_a_failure(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    result = _libcst_tool("-x", "codemods.libcst_codemods.MigrateToAsyncSession", "--no-format", ".", cwd=tmp_path)
    assert "Failed to codemod 1 files" in result.stderr, result


def test_the_documented_single_module_limit_is_caught_by_check(tmp_path: Path) -> None:
    """docs/integrations.md: file by file, a cross-file call stays unawaited, and `awaitify check` says so."""
    shop = copy_shop(tmp_path / "shop")
    result = _libcst_tool(
        "-x", "codemods.libcst_codemods.MigrateToAsyncSession", "--no-format", "-j", "1", "app", cwd=shop
    )
    assert result.code == 0, result
    check = awaitify_here("check", "app", cwd=shop)
    assert check.code == 1, check
    assert "AWT304 `customer_by_name()` is async but its result is never awaited" in check.stdout


def test_libcst_tool_lists_it(tmp_path: Path) -> None:
    (tmp_path / ".libcst.codemod.yaml").write_text("modules:\n  - 'codemods'\n", encoding="utf-8")
    result = run([sys.executable, "-m", "libcst.tool", "list"], tmp_path, {"PYTHONPATH": str(REPO)})
    assert result.code == 0, result
    assert "libcst_codemods.MigrateToAsyncSession - Migrate SQLAlchemy Session code to AsyncSession" in result.stdout
