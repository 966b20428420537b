"""A session entered with `with` where the function cannot become async is flagged, never left silently sync.

`SessionLocal` becomes an `async_sessionmaker`; an `AsyncSession` only supports `async with`, so a plain
`with SessionLocal()` in a dunder would fail at run time.
"""

from __future__ import annotations

from codemods.engine import migrate_sources
from codemods.model import EngineOptions

DB = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""

REPORT = """from app.db import SessionLocal


class Report:
    def __len__(self):
        with SessionLocal() as db:
            return len(db.info)

    def total(self):
        with SessionLocal() as db:
            db.commit()
"""

REASON = "database I/O that cannot be awaited here (dunder method __len__() cannot be async)"

EXPECTED = f"""from app.db import SessionLocal


class Report:
    def __len__(self):
        with SessionLocal() as db:  # awaitify: review AWT204 {REASON}
            return len(db.info)

    async def total(self):
        async with SessionLocal() as db:
            await db.commit()
"""


def test_with_session_in_a_boundary_is_flagged() -> None:
    outcome = migrate_sources({"app/db.py": DB, "app/report.py": REPORT}, EngineOptions())["app/report.py"]
    assert outcome.new_text == EXPECTED
    assert [f.code for f in outcome.findings] == ["AWT204"]
