"""What AWT222's review marker claims, checked on the migrated project of fixtures/coloring/
annotation_contradicted_factory: an annotation the migration overruled (`SessionLocal: AsyncSession =
async_sessionmaker(...)`) stays wrong in the migrated code, and what trusts it is misled. A type checker reports each
working use of the factory (`async with SessionLocal() as db`) as an error and accepts a use of the annotated session
(`await SessionLocal.commit()`) that raises AttributeError when it runs.

The run is on SQLite (always) and PostgreSQL (when AWAITIFY_PG_URL is set), against the databases of the rule tests.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from fixture_harness import BACKENDS, Database
from mypy import api as mypy_api
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

CASE = Path(__file__).resolve().parents[2] / "fixtures" / "coloring" / "annotation_contradicted_factory"
MIGRATED = CASE / "expected"

# a use written against the annotation: type-checks, fails at run time
_MISUSE = """\
from annot.db import SessionLocal


async def commit_through_the_annotation() -> None:
    await SessionLocal.commit()
"""


def _mypy_errors(project: Path) -> dict[str, dict[int, str]]:
    """mypy's errors on the package `annot` of `project`: file name -> line -> message."""
    config = project / "mypy.ini"
    config.write_text("[mypy]\nignore_missing_imports = True\n")
    report, _, _ = mypy_api.run(
        ["--config-file", str(config), "--no-incremental", "--cache-dir", str(project / ".mypy_cache"), "annot"]
    )
    errors: dict[str, dict[int, str]] = {}
    for match in re.finditer(r"^annot/(\w+\.py):(\d+): error: (.*)$", report, re.MULTILINE):
        errors.setdefault(match[1], {})[int(match[2])] = match[3]
    return errors


def _lines_holding(path: Path, needle: str) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line]


def test_a_type_checker_trusting_the_annotation_rejects_the_working_uses_and_accepts_the_failing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(MIGRATED / "annot", tmp_path / "annot")
    (tmp_path / "annot" / "misuse.py").write_text(_MISUSE)
    monkeypatch.chdir(tmp_path)
    errors = _mypy_errors(tmp_path)
    db = tmp_path / "annot" / "db.py"
    [marked] = _lines_holding(db, "# awaitify: review AWT222")
    assert "Incompatible types in assignment" in errors["db.py"][marked]  # the annotation names what it is not
    crud = tmp_path / "annot" / "crud.py"
    factory_calls = _lines_holding(crud, "SessionLocal()")
    assert len(factory_calls) == 2  # `async with SessionLocal() as db`, `db = SessionLocal()`
    for line in factory_calls:
        assert errors["crud.py"][line] == '"AsyncSession" not callable  [operator]'
    assert "misuse.py" not in errors  # `await SessionLocal.commit()` passes
    # the factory annotated as one (`ReportSession: async_sessionmaker[AsyncSession]`): its use type-checks
    [report_call] = _lines_holding(crud, "ReportSession()")
    assert report_call not in errors["crud.py"]
    assert not _lines_holding(db, "ReportSession: AsyncSession")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_use_it_accepts_raises_and_the_uses_it_rejects_work(backend: str, database: Database) -> None:
    engine = create_async_engine(database.async_url)
    try:
        # as the migrated db.py has it
        SessionLocal: AsyncSession = async_sessionmaker(bind=engine, expire_on_commit=False)  # type: ignore[assignment]
        with pytest.raises(AttributeError, match="'async_sessionmaker' object has no attribute 'commit'"):
            await SessionLocal.commit()
        async with SessionLocal() as db:  # type: ignore[operator]
            assert (await db.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
