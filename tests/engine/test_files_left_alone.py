"""A file whose rewrite fails or runs out of time is left as it was, and the rest is planned without it.

Otherwise the other files would await functions that stayed sync (or call them without knowing they
changed). Calls into such a file are flagged AWT216 instead.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import time

import pytest

from codemods import engine
from codemods.deadline import FileTimeout, file_deadline, import_untimed
from codemods.model import EngineOptions, FileStatus
from codemods.transform import TransformError

CRUD = """from sqlalchemy.orm import Session

from app.models import User


def get_user(db: Session, user_id: int):
    return db.get(User, user_id)
"""

API = """from sqlalchemy.orm import Session

from app import crud


def rename(db: Session, user_id: int, name: str):
    user = crud.get_user(db, user_id)
    user.name = name
    db.commit()
    return user
"""

MODELS = """from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
"""

SOURCES = {"app/models.py": MODELS, "app/crud.py": CRUD, "app/api.py": API}


def test_all_files_migrate_together_when_nothing_fails() -> None:
    outcomes = engine.migrate_sources(SOURCES, EngineOptions())
    assert "user = await crud.get_user(db, user_id)" in outcomes["app/api.py"].new_text
    assert "async def get_user" in outcomes["app/crud.py"].new_text


def test_a_file_that_cannot_be_rewritten_is_left_alone_and_its_callers_are_flagged(monkeypatch) -> None:
    real_apply = engine.apply_plan

    def apply_failing_for_crud(text, plan, tree=None):
        if plan.module_name == "app.crud":
            raise TransformError("could not apply an edit (injected)")
        return real_apply(text, plan, tree)

    monkeypatch.setattr(engine, "apply_plan", apply_failing_for_crud)
    outcomes = engine.migrate_sources(SOURCES, EngineOptions())
    crud = outcomes["app/crud.py"]
    assert crud.status is FileStatus.FAILED
    assert crud.new_text == CRUD
    assert "injected" in (crud.error or "")
    api = outcomes["app/api.py"]
    assert api.status is FileStatus.CHANGED
    # crud.get_user stayed sync: not awaited, flagged; the session I/O of api itself is migrated
    assert "await crud.get_user" not in api.new_text
    assert (
        "    user = crud.get_user(db, user_id)  # awaitify: review AWT216 get_user() is in app.crud, left sync:"
        in api.new_text
    )
    assert "    await db.commit()" in api.new_text
    assert [f.code for f in api.findings] == ["AWT216"]


def test_file_deadline_interrupts_a_busy_loop() -> None:
    with pytest.raises(FileTimeout, match=r"gave up after 0\.05 s"), file_deadline(0.05):
        while True:
            pass


def test_file_deadline_is_disarmed_after_the_block() -> None:
    with file_deadline(0.05):
        pass
    time.sleep(0.1)  # an armed timer would raise FileTimeout here


def test_no_deadline_outside_the_main_thread() -> None:
    outcome: list[str] = []

    def work() -> None:
        with file_deadline(0.01):
            time.sleep(0.05)
        outcome.append("finished")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert outcome == ["finished"]


class _SlowModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """A module whose import takes 0.3 s."""

    name = "awaitify_test_slow_module"

    def find_spec(self, name: str, path: object, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.util.spec_from_loader(name, self) if name == self.name else None

    def exec_module(self, module: object) -> None:
        time.sleep(0.3)


def test_an_untimed_import_stops_the_clock_until_it_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "meta_path", [_SlowModule(), *sys.meta_path])
    imported = False
    try:
        with pytest.raises(FileTimeout), file_deadline(0.2):
            import_untimed(_SlowModule.name)  # 0.3 s, on a stopped clock
            imported = True
            while True:  # the clock runs again
                pass
    finally:
        sys.modules.pop(_SlowModule.name, None)
    assert imported
