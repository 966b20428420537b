"""`check` flags an unawaited commit/rollback of an async transaction object: on an AsyncSession the savepoint
of `sp = await db.begin_nested()` is neither rolled back nor released by a bare `sp.rollback()`."""

from __future__ import annotations

from codemods import engine
from codemods.model import EngineOptions

HALF_MIGRATED = """\
from sqlalchemy.ext.asyncio import AsyncSession


async def run(db: AsyncSession):
    sp = await db.begin_nested()
    sp.rollback()
    async with db.begin_nested() as inner:
        inner.commit()
    db.get_transaction().rollback()
    await sp.rollback()
"""


def test_unawaited_transaction_methods_are_flagged() -> None:
    found = engine.check_sources({"app.py": HALF_MIGRATED}, EngineOptions())["app.py"]
    assert [(f.line, f.code) for f in found] == [(6, "AWT302"), (8, "AWT302"), (9, "AWT302")]
