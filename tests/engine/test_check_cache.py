"""`check`'s cache: an unchanged tree is answered from it, any change of text or options is a miss."""

from __future__ import annotations

from pathlib import Path

from codemods import engine
from codemods.engine import check_sources
from codemods.model import EngineOptions

SOURCES = {
    "app/models.py": "from sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    pass\n",
    "app/service.py": (
        "from sqlalchemy.orm import Session\n\n\ndef count(db: Session, model):\n    return db.query(model).count()\n"
    ),
}


def test_unchanged_tree_is_served_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    assert first["app/service.py"], "the sync leftovers must be found"

    def analysis_must_not_run(*args, **kwargs):
        raise AssertionError("a cache hit must not analyse the tree again")

    monkeypatch.setattr(engine, "_check_sources", analysis_must_not_run)
    assert check_sources(SOURCES, options) == first


def test_a_changed_file_or_option_is_a_miss(tmp_path: Path) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    changed = dict(SOURCES, **{"app/service.py": SOURCES["app/service.py"] + "\n\nx = 1\n"})
    assert check_sources(changed, options) == check_sources(changed, EngineOptions())
    disabled = EngineOptions(cache_dir=str(tmp_path), disabled_rules=frozenset({"AWT301", "AWT303"}))
    assert check_sources(SOURCES, disabled) != first


def test_a_damaged_entry_is_recomputed(tmp_path: Path) -> None:
    options = EngineOptions(cache_dir=str(tmp_path))
    first = check_sources(SOURCES, options)
    for entry in tmp_path.glob("*.json"):
        entry.write_text("{not json")
    assert check_sources(SOURCES, options) == first


def test_an_unwritable_cache_is_only_slower(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    options = EngineOptions(cache_dir=str(blocker / "cache"))
    assert check_sources(SOURCES, options) == check_sources(SOURCES, EngineOptions())
