"""An analysis reuses the previous one's parse of a file only while the file's text is the same.

`migrate` analyses the project twice (the second run proves the first is a fixed point), so the trees of
unchanged files are kept from one analysis to the next (in the caller's `ParseMemo`); a file whose text
changed must be read afresh.
"""

from __future__ import annotations

from codemods import engine
from codemods.model import EngineOptions, FileStatus

HELPERS = """def label(name):
    return name.title()
"""

CRUD = """from sqlalchemy.orm import Session

from app.helpers import label


def rename(db: Session, user, name: str):
    user.name = label(name)
    db.commit()
"""

# the same path, now a function that works with the session: `rename` must await it
HELPERS_WITH_SESSION = """from sqlalchemy.orm import Session


def label(db: Session, name):
    db.flush()
    return name.title()
"""

CRUD_PASSING_THE_SESSION = CRUD.replace("label(name)", "label(db, name)")


def _migrate(sources: dict[str, str], memo: engine.ParseMemo) -> dict[str, str]:
    outcomes = engine.migrate_sources(sources, EngineOptions(), memo=memo)
    assert all(o.status is not FileStatus.FAILED for o in outcomes.values())
    return {path: o.new_text for path, o in outcomes.items()}


def test_a_changed_file_is_parsed_again_and_an_unchanged_one_reused() -> None:
    memo = engine.ParseMemo()
    first = {"app/helpers.py": HELPERS, "app/crud.py": CRUD}
    before = _migrate(first, memo)
    assert "async def rename" in before["app/crud.py"] and "async def label" not in before["app/helpers.py"]
    reused_tree = memo._parsed["app/helpers.py"].tree

    second = {"app/helpers.py": HELPERS_WITH_SESSION, "app/crud.py": CRUD_PASSING_THE_SESSION}
    after = _migrate(second, memo)
    assert memo._parsed["app/helpers.py"].tree is not reused_tree
    assert "async def label" in after["app/helpers.py"]
    assert "user.name = await label(db, name)" in after["app/crud.py"]

    unchanged_tree = memo._parsed["app/crud.py"].tree
    again = _migrate(second, memo)
    assert again == after
    assert memo._parsed["app/crud.py"].tree is unchanged_tree
    assert _migrate(second, engine.ParseMemo()) == after  # the same as with nothing to reuse
