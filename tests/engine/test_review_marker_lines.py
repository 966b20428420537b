"""A review marker is one comment line, whatever source its reason quotes; a rewrite LibCST rejects is a failed
file, never an exception out of the engine."""

from __future__ import annotations

import libcst
import pytest

from codemods import engine
from codemods.model import EngineOptions, FileStatus

# the reason of the AWT213 marker quotes the session expression, written over three lines
REPO = """from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)


class Repo:
    def __init__(self, db: Session):
        self.db = db

    def ids(self):
        out = []
        for user in (
            self
        ).db.query(User):
            out.append(user.id)
        return out

    def __repr__(self):
        return str(self.ids())
"""


def test_a_reason_quoting_multi_line_source_makes_a_one_line_marker() -> None:
    outcome = engine.migrate_sources({"app/repo.py": REPO}, EngineOptions())["app/repo.py"]
    assert outcome.status is FileStatus.CHANGED, outcome.error
    marked = [line for line in outcome.new_text.splitlines() if "awaitify: review AWT213" in line]
    assert len(marked) == 1
    assert marked[0].strip().startswith("return str(self.ids())  # awaitify: review AWT213 calls async ids()")
    assert marked[0].endswith("path: ids -> iterates a query on ( self ).db")
    assert [f.code for f in outcome.findings] == ["AWT213"]
    again = engine.migrate_sources({"app/repo.py": outcome.new_text}, EngineOptions())["app/repo.py"]
    assert again.status is FileStatus.UNCHANGED


def test_a_rewrite_libcst_rejects_is_a_failed_file(monkeypatch: pytest.MonkeyPatch) -> None:
    def rejected(text: str, plan: object, tree: object = None) -> str:
        raise libcst.CSTValidationError("Got non-comment value for comment node")

    monkeypatch.setattr(engine, "apply_plan", rejected)
    outcome = engine.migrate_sources({"app/repo.py": REPO}, EngineOptions())["app/repo.py"]
    assert outcome.status is FileStatus.FAILED
    assert outcome.error is not None and "CSTValidationError" in outcome.error
    assert outcome.new_text == REPO
